import t from 'tap'
import path from 'node:path'
import Database from 'better-sqlite3'
import { build, create, req, ok, problem, paths, upload, image, forgetMigrationsFrom, sqliteOnly, type TestApp } from './helper.js'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'

/* eslint-disable @typescript-eslint/no-explicit-any */

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * A copy kept elsewhere following the archive: the ids of every article changed since `since` (every page, oldest
 * change first), anonymously or with the editor's key.
 */
async function changedSince (ctx: TestApp, since: string, anonymous = true): Promise<string[]> {
  const ids: string[] = []
  for (let cursor: string | null | undefined; cursor !== null;) {
    const url = `/v1/articles?sort=changedAt&changedSince=${encodeURIComponent(since)}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`
    const page = ok(t, anonymous ? await ctx.anon({ url }) : await ctx.app.inject({ url }))
    ids.push(...page.data.map((a: any) => a.id))
    cursor = page.next
  }
  return ids
}

async function removed (ctx: TestApp, since?: string, anonymous = true): Promise<any[]> {
  const url = `/v1/articles/removed?limit=100${since ? `&since=${encodeURIComponent(since)}` : ''}`
  return ok(t, anonymous ? await ctx.anon({ url }) : await ctx.app.inject({ url })).data
}

/** The time now, after the writes before it (a change is stamped in milliseconds). */
async function mark () {
  await sleep(3)
  const at = new Date().toISOString()
  await sleep(3)
  return at
}

/**
 * A section tree (News > Harbin), a byline and a photo shown by a published story, a second published story with a
 * related link to the first, and an unrelated published story.
 */
async function fixture (ctx: TestApp) {
  const { app } = ctx
  const news = await create(app, '/v1/sections', { name: 'News' })
  const harbin = await create(app, '/v1/sections', { name: 'Harbin', parentId: news.id })
  const xinhua = await create(app, '/v1/bylines', { name: 'Xinhua', kind: 'agency' })
  const photo = await upload(app, { caption: 'The opening' })
  const story = await create(app, '/v1/articles', {
    headline: 'Expo opens', status: 'published', sectionId: harbin.id, leadPhotoId: photo.id, bylines: [{ bylineId: xinhua.id, role: 'agency' }]
  })
  const linking = await create(app, '/v1/articles', { headline: 'Trade talks', status: 'published' })
  ok(t, await req(app, { method: 'PUT', url: `/v1/articles/${linking.id}/related`, payload: [{ articleId: story.id }] }))
  const other = await create(app, '/v1/articles', { headline: 'Weather', status: 'published' })
  return { news, harbin, xinhua, photo, story, linking, other }
}

t.test('changedSince with sort=changedAt follows every change a reader sees', async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  const f = await fixture(ctx)

  let since = await mark()
  t.same(await changedSince(ctx, since), [], 'nothing changed since')

  ok(t, await req(app, { method: 'PATCH', url: `/v1/photos/${f.photo.id}`, payload: { caption: 'The opening day' } }))
  t.same(await changedSince(ctx, since), [f.story.id], 'a photo\'s new caption changes the story showing it')
  since = await mark()
  ok(t, await req(app, { method: 'PUT', url: `/v1/photos/${f.photo.id}/file`, headers: { 'content-type': 'image/png' }, payload: await image('png', 80, 40, 3) }))
  t.same(await changedSince(ctx, since), [f.story.id], 'so does its file replaced (its size, type and URL)')

  since = await mark()
  ok(t, await req(app, { method: 'PATCH', url: `/v1/bylines/${f.xinhua.id}`, payload: { bio: 'Not shown on articles' } }))
  t.same(await changedSince(ctx, since), [], 'a byline field articles do not show changes none of them')
  ok(t, await req(app, { method: 'PATCH', url: `/v1/bylines/${f.xinhua.id}`, payload: { name: 'Xinhua News Agency' } }))
  t.same(await changedSince(ctx, since), [f.story.id], 'a renamed byline changes its stories')

  since = await mark()
  ok(t, await req(app, { method: 'PATCH', url: `/v1/sections/${f.news.id}`, payload: { position: 3 } }))
  t.same(await changedSince(ctx, since), [], 'a section\'s place among its siblings is not on article pages')
  ok(t, await req(app, { method: 'PATCH', url: `/v1/sections/${f.news.id}`, payload: { name: 'World News' } }))
  t.same(await changedSince(ctx, since), [f.story.id], 'a renamed parent section changes the stories of its subsections (their breadcrumbs)')

  since = await mark()
  const sent = ok(t, await app.inject({ url: `/v1/articles/${f.story.id}` }))
  ok(t, await req(app, { method: 'PATCH', url: `/v1/articles/${f.story.id}`, payload: { headline: sent.headline } }))
  t.same(await changedSince(ctx, since), [], 'a patch that changes nothing is no change')
  ok(t, await req(app, { method: 'PATCH', url: `/v1/articles/${f.story.id}`, payload: { headline: 'Expo opens to crowds' } }))
  t.same((await changedSince(ctx, since)).sort(), [f.story.id, f.linking.id].sort(), 'a new headline changes the story and the story whose related list shows it')

  since = await mark()
  ok(t, await req(app, { method: 'POST', url: `/v1/articles/${f.other.id}/related`, payload: { url: 'https://example.org/x', headline: 'Elsewhere' } }), 201)
  t.same(await changedSince(ctx, since), [f.other.id], 'a related link added')

  // publishing does not move the editorial "Updated" date: updatedSince misses it, changedSince does not
  const draft = await create(app, '/v1/articles', { headline: 'Late story' })
  since = await mark()
  ok(t, await req(app, { method: 'POST', url: `/v1/articles/${draft.id}/publish` }))
  t.same(await changedSince(ctx, since), [draft.id], 'a story published')
  t.same(ok(t, await ctx.anon({ url: `/v1/articles?updatedSince=${encodeURIComponent(since)}` })).data, [], 'which updatedSince, on the "Updated" date, does not list')

  // oldest change first, across pages; -changedAt newest first
  since = await mark()
  for (const a of [f.other, f.story, draft]) {
    ok(t, await req(app, { method: 'PATCH', url: `/v1/articles/${a.id}`, payload: { summary: `Changed ${a.id}` } }))
    await sleep(2)
  }
  const inOrder = await changedSince(ctx, since)
  // (the story and the story linking to it change in one write, in either order)
  t.same([inOrder[0], inOrder.slice(1, 3).sort(), inOrder[3]], [f.other.id, [f.story.id, f.linking.id].sort(), draft.id], 'in the order they changed, page after page')
  t.same(ok(t, await ctx.anon({ url: `/v1/articles?sort=-changedAt&changedSince=${encodeURIComponent(since)}&limit=4` })).data.map((a: any) => a.id),
    [...inOrder].reverse(), 'newest change first')

  // unpublished: gone from what readers see changed, listed as removed; the editor still sees it change
  since = await mark()
  ok(t, await req(app, { method: 'POST', url: `/v1/articles/${f.story.id}/unpublish` }))
  t.same(await changedSince(ctx, since), [f.linking.id], 'readers: the story is not theirs to see; the story linking to it lost its link')
  t.same((await changedSince(ctx, since, false)).sort(), [f.story.id, f.linking.id].sort(), 'editors: both changed')
  const gone = await removed(ctx, since)
  t.same(gone.map((r) => [r.id, r.slug, r.deleted]), [[f.story.id, f.story.slug, false]], 'readers: the story is removed, not deleted')
  t.ok(Date.parse(gone[0].removedAt) >= Date.parse(since), 'at the time it was taken down')
  t.same(await removed(ctx, since, false), [], 'editors: nothing deleted')

  since = await mark()
  ok(t, await req(app, { method: 'POST', url: `/v1/articles/${f.story.id}/publish` }))
  t.same((await changedSince(ctx, since)).sort(), [f.story.id, f.linking.id].sort(), 'out again: changed')
  t.same(await removed(ctx), [], 'and no longer removed')

  // deleted
  const neverOut = await create(app, '/v1/articles', { headline: 'Never out' })
  since = await mark()
  t.equal((await req(app, { method: 'DELETE', url: `/v1/articles/${neverOut.id}` })).statusCode, 204)
  t.equal((await req(app, { method: 'DELETE', url: `/v1/articles/${f.story.id}` })).statusCode, 204)
  t.same((await removed(ctx, since)).map((r) => [r.id, r.deleted]), [[f.story.id, true]], 'readers: the deleted story they had, not a draft they never saw')
  t.same((await removed(ctx, since, false)).map((r) => r.id), [neverOut.id, f.story.id], 'editors: every deletion, oldest first')
  t.same(await changedSince(ctx, since), [f.linking.id], 'the story that linked to it changed')
  t.same(await removed(ctx, new Date(Date.now() + 60_000).toISOString()), [], 'since a later time: none')
})

t.test('a scheduled story is marked changed when it goes live, and so are the stories linking to it', async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  // (far enough ahead for the checks before its time on a slow machine)
  const soon = new Date(Date.now() + 1500).toISOString()
  const scheduled = await create(app, '/v1/articles', { headline: 'Embargoed', status: 'published', publishedAt: soon })
  const host = await create(app, '/v1/articles', { headline: 'Host', status: 'published' })
  ok(t, await req(app, { method: 'PUT', url: `/v1/articles/${host.id}/related`, payload: [{ articleId: scheduled.id }] }))
  const since = await mark()
  t.same(await changedSince(ctx, since), [], 'before its time: nothing for readers')
  t.same(await app.services.articles.markGoneLive(), 0, 'nothing has gone live yet')
  // the server marks it within a second of its time, on its own
  let seen: string[] = []
  for (let i = 0; i < 200 && seen.length < 2; i++) {
    await sleep(50)
    seen = await changedSince(ctx, since)
  }
  t.same(seen.sort(), [scheduled.id, host.id].sort(), 'once live: the story, and the story whose related list now shows it')
  t.same(await app.services.articles.markGoneLive(), 0, 'marked once')

  // taken back to a later time after being out: removed for readers; out again at its new time
  const later = new Date(Date.now() + 300).toISOString()
  ok(t, await req(app, { method: 'POST', url: `/v1/articles/${scheduled.id}/publish`, payload: { publishedAt: later } }))
  t.same((await removed(ctx)).map((r) => r.id), [scheduled.id], 'put off: removed for readers')
  await sleep(350)
  // marked by this call, or by the server's own check if that ran since the new time
  await app.services.articles.markGoneLive()
  t.equal(await app.services.articles.markGoneLive(), 0, 'marked once: nothing left')
  t.same(await removed(ctx), [], 'out again: no longer removed')
})

t.test('bad feed requests are 400s', async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  await create(app, '/v1/articles', { headline: 'One', status: 'published' })
  await create(app, '/v1/articles', { headline: 'Two', status: 'published' })
  t.same(paths(problem(t, await ctx.anon({ url: '/v1/articles?q=one&changedSince=2020-01-01T00:00:00Z' }), 400, 'changedSince')), ['/query/changedSince'], 'not with a search')
  t.same(paths(problem(t, await ctx.anon({ url: '/v1/articles?q=one&sort=changedAt' }), 400, 'sort=changedAt')), ['/query/sort'])
  problem(t, await ctx.anon({ url: '/v1/articles?changedSince=yesterday' }), 400, 'not a date')
  problem(t, await ctx.anon({ url: '/v1/articles/removed?since=2020-13-01T00:00:00Z' }), 400, 'not a date')
  problem(t, await ctx.anon({ url: '/v1/articles/removed?until=x' }), 400, 'unknown parameter')
  const page = ok(t, await ctx.anon({ url: '/v1/articles?sort=changedAt&changedSince=2020-01-01T00:00:00Z&limit=1' }))
  t.type(page.next, 'string')
  problem(t, await ctx.anon({ url: `/v1/articles?sort=changedAt&changedSince=2021-01-01T00:00:00Z&limit=1&cursor=${encodeURIComponent(page.next)}` }), 400, 'a cursor of another list')
  problem(t, await ctx.anon({ url: `/v1/articles?sort=changedAt&changedSince=2020-01-01T00:00:00Z&limit=1&cursor=${encodeURIComponent(page.next.slice(0, -2) + 'xx')}` }), 400, 'a tampered cursor')
  // removals paginate; a reader's cursor is not an editor's list
  for (const a of ok(t, await app.inject({ url: '/v1/articles' })).data) t.equal((await req(app, { method: 'DELETE', url: `/v1/articles/${a.id}` })).statusCode, 204)
  const first = ok(t, await ctx.anon({ url: '/v1/articles/removed?limit=1' }))
  t.equal(first.data.length, 1)
  const second = ok(t, await ctx.anon({ url: `/v1/articles/removed?limit=1&cursor=${encodeURIComponent(first.next)}` }))
  t.same([...first.data, ...second.data].map((r: any) => r.deleted), [true, true], 'both deletions, page by page')
  t.not(first.data[0].id, second.data[0].id)
  problem(t, await app.inject({ url: `/v1/articles/removed?limit=1&cursor=${encodeURIComponent(first.next)}` }), 400, 'a reader\'s cursor, with a key')
})

// SQLite's upgrade (migration 0020 replayed on an SQLite file): PostgreSQL's schema started with the change feed
t.test('an archive from before the change feed: each article changed at its latest date past', sqliteOnly, async (t) => {
  const ctx = await build(t)
  const { app, dataDir } = ctx
  const old = await create(app, '/v1/articles', { headline: 'Old story', status: 'published', publishedAt: '2014-07-01T00:00:00Z' })
  const future = new Date(Date.now() + 3_600_000)
  const scheduled = await create(app, '/v1/articles', { headline: 'Embargoed', status: 'published', publishedAt: future.toISOString() })
  await app.close()
  const db = new Database(path.join(dataDir, 'cms.sqlite'))
  forgetMigrationsFrom(db, '0020_')
  t.notOk((db.prepare('pragma table_info(articles)').all() as { name: string }[]).some((col) => col.name === 'changed_at'), 'no time of change')
  // an out story last edited before it went out (the time of change is worked out from its search row's copies)
  db.prepare('update articles set updated_at = ?, created_at = ?, published_at = ? where id = ?').run(Date.parse('2014-06-30T00:00:00Z'), Date.parse('2014-06-29T00:00:00Z'), Date.parse('2014-07-01T00:00:00Z'), old.id)
  db.prepare('update article_search set updated_at = ?, published_at = ? where article_id = ?').run(Date.parse('2014-06-30T00:00:00Z'), Date.parse('2014-07-01T00:00:00Z'), old.id)
  db.close()
  const upgraded = await buildApp({ config: loadConfig({ DATA_DIR: dataDir }) })
  t.teardown(() => upgraded.close())
  const changed = (url: string) => upgraded.inject({ url }).then((res) => ok(t, res).data.map((a: any) => a.id))
  t.same(await changed('/v1/articles?sort=changedAt&changedSince=2014-07-01T00:00:00Z'), [old.id], 'the out story changed when it went out')
  t.same(await changed('/v1/articles?sort=changedAt&changedSince=2014-07-01T00:00:00.001Z'), [], 'not after')
  t.same(await upgraded.store.articles.goneLive(new Date(future.getTime() + 1)), [scheduled.id], 'the scheduled story waits to be marked when it goes live')
})

t.test('a removal keeps the slug readers last saw; a hidden story\'s edits do not mark the stories linking to it', async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  const story = await create(app, '/v1/articles', { headline: 'Mayor resigns', slug: 'mayor-resigns', status: 'published' })
  ok(t, await req(app, { method: 'POST', url: `/v1/articles/${story.id}/unpublish` }))
  ok(t, await req(app, { method: 'PATCH', url: `/v1/articles/${story.id}`, payload: { slug: 'mayor-arrested-exclusive' } }))
  t.equal((await req(app, { method: 'DELETE', url: `/v1/articles/${story.id}` })).statusCode, 204)
  t.same((await removed(ctx)).map((r) => [r.slug, r.deleted]), [['mayor-resigns', true]], 'readers: deleted, under the slug they had (the draft\'s new one was never out)')

  const host = await create(app, '/v1/articles', { headline: 'Host', status: 'published' })
  const draft = await create(app, '/v1/articles', { headline: 'Draft' })
  ok(t, await req(app, { method: 'PUT', url: `/v1/articles/${host.id}/related`, payload: [{ articleId: draft.id }] }))
  const since = await mark()
  ok(t, await req(app, { method: 'PATCH', url: `/v1/articles/${draft.id}`, payload: { headline: 'Draft, retitled', slug: 'draft-retitled' } }))
  t.same(await changedSince(ctx, since), [], 'readers: the story linking to a draft does not change for them (its related list leaves the draft out), nor tells them when the draft was edited')
  t.same(await changedSince(ctx, since, false), [draft.id], 'editors: the draft changed')
})

t.test('a story touched after its time but before the check for stories gone live is marked gone live all the same', async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  const host = await create(app, '/v1/articles', { headline: 'Host', status: 'published' })
  // out, then put off to later: a removal for readers, until it goes live again
  const story = await create(app, '/v1/articles', { headline: 'Embargoed', status: 'published' })
  ok(t, await req(app, { method: 'PUT', url: `/v1/articles/${host.id}/related`, payload: [{ articleId: story.id }] }))
  const at = Date.now() + 1000
  ok(t, await req(app, { method: 'POST', url: `/v1/articles/${story.id}/publish`, payload: { publishedAt: new Date(at).toISOString() } }))
  t.same((await removed(ctx)).map((r) => r.id), [story.id], 'put off: removed for readers')
  const since = await mark()
  await sleep(Math.max(0, at - Date.now()) + 5)
  // an edit of the story at once (the check runs each second: it has most likely not run yet)
  ok(t, await req(app, { method: 'PATCH', url: `/v1/articles/${story.id}`, payload: { summary: 'Out now' } }))
  t.same((await changedSince(ctx, since)).sort(), [host.id, story.id].sort(), 'the story, and the story whose related list shows it again')
  t.same(await removed(ctx), [], 'out again: no longer removed')
})

// SQLite's write lock, taken by another connection to its file (PostgreSQL has no database-wide write lock)
t.test('a story going live while another process holds the write lock is stamped with the time of its write', sqliteOnly, async (t) => {
  const ctx = await build(t)
  const { app, dataDir } = ctx
  const at = Date.now() + 1000
  const story = await create(app, '/v1/articles', { headline: 'Embargoed', status: 'published', publishedAt: new Date(at).toISOString() })
  // another process takes the lock before the story's time (so that nothing marks it before the lock is free)
  const other = new Database(path.join(dataDir, 'cms.sqlite'))
  t.teardown(() => other.close())
  other.exec('begin immediate')
  await sleep(Math.max(0, at - Date.now()) + 30)
  const marking = app.services.articles.markGoneLive()
  await sleep(1000)
  const released = new Date().toISOString()
  other.exec('commit')
  // (marked by this call, or by the server's own check each second, also waiting: either way, once the lock was free)
  await marking
  t.same(await changedSince(ctx, released), [story.id], 'at the time of its write, not before the wait: a copy that followed the changes before then does not miss it')
})
