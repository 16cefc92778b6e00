import t from 'tap'
import path from 'node:path'
import Database from 'better-sqlite3'
import { build, create, req, problem, paths, indexAsBefore0012, forgetMigrationsFrom, dialect, around } from './helper.js'
import { buildApp, type App } from '../src/app.js'
import { loadConfig } from '../src/config.js'

/* eslint-disable @typescript-eslint/no-explicit-any */



const MISSING = '00000000-0000-4000-8000-000000000000'

async function article (app: App, id: string) {
  const res = await req(app, { method: 'GET', url: `/v1/articles/${id}` })
  if (res.statusCode !== 200) throw new Error(`GET article answered ${res.statusCode}`)
  return res.json()
}

const put = (app: App, id: string, payload: unknown) => req(app, { method: 'PUT', url: `/v1/articles/${id}/related`, payload: payload as object })
const post = (app: App, id: string, payload: unknown) => req(app, { method: 'POST', url: `/v1/articles/${id}/related`, payload: payload as object })
const get = (app: App, id: string) => req(app, { method: 'GET', url: `/v1/articles/${id}/related` })

/** A source article and some targets: published, draft with a summary, and one without a summary. */
async function fixture (app: App) {
  const source = await create(app, '/v1/articles', { headline: 'Harbin expo opens' })
  const t1 = await create(app, '/v1/articles', { headline: 'Trade with Russia grows', summary: 'Exports up 20%', status: 'published', publishedAt: '2014-06-30T00:00:00Z' })
  const t2 = await create(app, '/v1/articles', { headline: 'Ice festival record', summary: 'Two million visitors' })
  const t3 = await create(app, '/v1/articles', { headline: 'New rail link', status: 'published', publishedAt: '2014-07-01T12:00:00Z' })
  return { source, t1, t2, t3 }
}

t.test('PUT replaces the list and answers it resolved, in order; GET answers the same', async (t) => {
  const { app } = await build(t)
  const { source, t1, t2, t3 } = await fixture(app)
  const res = await put(app, source.id, [
    { articleId: t1.id },
    { articleId: t2.id, headline: 'Our headline' },
    { url: 'https://example.org/story', headline: 'Elsewhere', summary: 'An outside take' },
    { articleId: t3.id, summary: 'Our summary' }
  ])
  t.equal(res.statusCode, 200, res.body)
  t.match(res.headers['content-type'], /^application\/json/)
  const body = res.json()
  t.same(Object.keys(body), ['data'])
  t.equal(body.data.length, 4)
  const withoutIds = body.data.map(({ id, ...rest }: any) => rest)
  t.same(withoutIds, [
    { articleId: t1.id, url: null, slug: t1.slug, headline: 'Trade with Russia grows', summary: 'Exports up 20%', publishedAt: '2014-06-30T00:00:00.000Z' },
    { articleId: t2.id, url: null, slug: t2.slug, headline: 'Our headline', summary: 'Two million visitors', publishedAt: null },
    { articleId: null, url: 'https://example.org/story', slug: null, headline: 'Elsewhere', summary: 'An outside take', publishedAt: null },
    { articleId: t3.id, url: null, slug: t3.slug, headline: 'New rail link', summary: 'Our summary', publishedAt: '2014-07-01T12:00:00.000Z' }
  ])
  const ids = body.data.map((l: any) => l.id)
  for (const id of ids) t.type(id, 'string')
  t.equal(new Set(ids).size, 4, 'each link has its own id')

  const again = await get(app, source.id)
  t.equal(again.statusCode, 200)
  t.same(again.json(), body, 'GET answers the same list')
  t.same((await article(app, source.id)).related, body.data, 'the article embeds the same list')

  const reordered = await put(app, source.id, [{ articleId: t3.id }, { articleId: t1.id }])
  t.same(reordered.json().data.map((l: any) => l.articleId), [t3.id, t1.id], 'PUT replaces the whole list in its new order')
  t.same((await get(app, source.id)).json().data.map((l: any) => l.articleId), [t3.id, t1.id])

  const empty = await put(app, source.id, [])
  t.equal(empty.statusCode, 200)
  t.same(empty.json(), { data: [] }, 'an empty PUT clears the list')
  t.same((await article(app, source.id)).related, [])
})

t.test('POST appends one link (201); DELETE removes one (204, then 404)', async (t) => {
  const { app } = await build(t)
  const { source, t1, t2, t3 } = await fixture(app)
  await put(app, source.id, [{ articleId: t1.id }])

  const appended = await post(app, source.id, { articleId: t2.id, summary: 'Override' })
  t.equal(appended.statusCode, 201, appended.body)
  t.equal(appended.headers.location, `/v1/articles/${source.id}/related`)
  const list = appended.json().data
  t.same(list.map((l: any) => l.articleId), [t1.id, t2.id], 'appended at the end')
  t.match(list[1], { headline: 'Ice festival record', summary: 'Override', slug: t2.slug })

  const ext = await post(app, source.id, { url: 'https://example.org/a', headline: 'Outside' })
  t.equal(ext.statusCode, 201)
  t.match(ext.json().data[2], { articleId: null, url: 'https://example.org/a', headline: 'Outside', summary: null, slug: null, publishedAt: null })
  const again = problem(t, await post(app, source.id, { url: 'HTTPS://EXAMPLE.org/a', headline: 'Outside again' }), 422, 'the same page, its scheme and host in capitals')
  t.same(paths(again), ['/url'])
  const upper = await post(app, source.id, { url: 'HTTP://Example.org/B', headline: 'Shouted' })
  t.equal(upper.statusCode, 201, `a scheme in capitals is a URL too: ${upper.body}`)
  t.equal(upper.json().data[3].url, 'HTTP://Example.org/B', 'kept as written')
  await req(app, { method: 'DELETE', url: `/v1/articles/${source.id}/related/${upper.json().data[3].id}` })

  const linkId = list[0].id
  const del = await req(app, { method: 'DELETE', url: `/v1/articles/${source.id}/related/${linkId}` })
  t.equal(del.statusCode, 204)
  t.equal(del.body, '')
  const listed = await get(app, source.id)
  t.equal(del.headers.etag, listed.headers.etag, 'the 204 carries the list\'s new ETag')
  const stale = await req(app, { method: 'DELETE', url: `/v1/articles/${source.id}/related/${list[1].id}`, headers: { 'if-match': appended.headers.etag as string } })
  problem(t, stale, 412, 'a DELETE with the ETag from before the last change')
  t.same((await get(app, source.id)).json().data.map((l: any) => l.articleId ?? l.url), [t2.id, 'https://example.org/a'], 'the others stay, in order')
  problem(t, await req(app, { method: 'DELETE', url: `/v1/articles/${source.id}/related/${linkId}` }), 404, 'deleting it again')

  const after = await post(app, source.id, { articleId: t3.id })
  t.same(after.json().data.map((l: any) => l.articleId ?? l.url), [t2.id, 'https://example.org/a', t3.id], 'appending after a delete keeps the order')
  const relinked = await post(app, source.id, { articleId: t1.id })
  t.equal(relinked.statusCode, 201, 'a removed target can be linked again')

  // a link id of another article's list is not this article's link
  const other = await create(app, '/v1/articles', { headline: 'Other' })
  const otherList = (await put(app, other.id, [{ articleId: t1.id }])).json().data
  problem(t, await req(app, { method: 'DELETE', url: `/v1/articles/${source.id}/related/${otherList[0].id}` }), 404, 'foreign link id')
  t.equal((await get(app, other.id)).json().data.length, 1, 'the other article keeps its link')
  problem(t, await req(app, { method: 'DELETE', url: `/v1/articles/${source.id}/related/${MISSING}` }), 404, 'unknown link id')
})

t.test('rules: self links, duplicates, url links need a headline, exactly one target, known targets', async (t) => {
  const { app } = await build(t)
  const { source, t1, t2 } = await fixture(app)
  const cases: [string, unknown[], string[]][] = [
    ['self link', [{ articleId: source.id }], ['/0/articleId']],
    ['duplicate target', [{ articleId: t1.id }, { articleId: t1.id, headline: 'Again' }], ['/1/articleId']],
    ['duplicate url', [{ url: 'https://example.org/x', headline: 'A' }, { url: 'https://example.org/x', headline: 'B' }], ['/1/url']],
    ['the same url written otherwise', [{ url: 'https://example.org/x', headline: 'A' }, { url: 'HTTPS://Example.ORG:443/a/../x', headline: 'B' }], ['/1/url']],
    ['url without headline', [{ url: 'https://example.org/x' }], ['/0/headline']],
    ['url with null headline', [{ url: 'https://example.org/x', headline: null }], ['/0/headline']],
    ['both articleId and url', [{ articleId: t1.id, url: 'https://example.org/x', headline: 'X' }], ['/0']],
    ['neither', [{ headline: 'Nothing' }], ['/0']],
    ['unknown target', [{ articleId: t2.id }, { articleId: MISSING }], ['/1/articleId']]
  ]
  for (const [label, links, expected] of cases) {
    const res = await put(app, source.id, links)
    const body = problem(t, res, 422, label)
    t.same(paths(body), expected, `${label}: the path is named`)
    for (const e of body.errors ?? []) t.type(e.message, 'string')
  }
  t.same((await get(app, source.id)).json(), { data: [] }, 'none of them stored anything')

  for (const [label, link] of [
    ['self', { articleId: source.id }],
    ['unknown', { articleId: MISSING }],
    ['no headline', { url: 'https://example.org/y' }],
    ['both', { articleId: t1.id, url: 'https://example.org/y', headline: 'Y' }]
  ] as const) {
    const body = problem(t, await post(app, source.id, link), 422, `append ${label}`)
    t.ok(body.errors?.length, `append ${label}: errors named`)
  }
  t.same((await get(app, source.id)).json(), { data: [] })

  for (const [label, payload] of [
    ['not an array', { articleId: t1.id }],
    ['a string', 'x'],
    ['null item', [null]],
    ['number item', [1]],
    ['unknown field', [{ articleId: t1.id, position: 1 }]],
    ['bad url', [{ url: 'javascript:alert(1)', headline: 'x' }]],
    ['ftp url', [{ url: 'ftp://example.org/x', headline: 'x' }]],
    // URIs by RFC 3986's grammar that no browser can follow
    ['a port past 65535', [{ url: 'https://example.org:99999/', headline: 'x' }]],
    ['an address past 255', [{ url: 'http://256.256.256.256/', headline: 'x' }]],
    // a link every reader is shown carries no credentials, nor an address that hides its host behind a user name
    ['a user name and password', [{ url: 'https://editor:secret@example.org/x', headline: 'x' }]],
    ['a user name alone', [{ url: 'https://example.org@evil.example/x', headline: 'x' }]],
    ['a host of dots', [{ url: 'https://./', headline: 'x' }]],
    ['a host of a hyphen', [{ url: 'https://-/', headline: 'x' }]],
    ['articleId number', [{ articleId: 5 }]],
    ['headline too long', [{ url: 'https://example.org', headline: 'x'.repeat(301) }]],
    ['control char in headline', [{ url: 'https://example.org', headline: 'a\u0007b' }]]
  ] as const) {
    const res = await req(app, { method: 'PUT', url: `/v1/articles/${source.id}/related`, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(payload) })
    problem(t, res, 400, `PUT ${label}`)
  }
  problem(t, await post(app, source.id, [{ articleId: t1.id }]), 400, 'POST of an array')
  problem(t, await post(app, source.id, { articleId: t1.id, extra: true }), 400, 'POST with an unknown field')
  problem(t, await req(app, { method: 'PUT', url: `/v1/articles/${source.id}/related`, headers: { 'content-type': 'application/json' }, payload: '[{"articleId":' }), 400, 'malformed JSON')
  t.same((await get(app, source.id)).json(), { data: [] })
})

t.test('at most 20 links', async (t) => {
  const { app } = await build(t)
  const source = await create(app, '/v1/articles', { headline: 'Source' })
  const targets: any[] = []
  for (let i = 0; i < 21; i++) targets.push(await create(app, '/v1/articles', { headline: `Target ${i}` }))

  const tooMany = await put(app, source.id, targets.map((x) => ({ articleId: x.id })))
  problem(t, tooMany, tooMany.statusCode === 422 ? 422 : 400, '21 links')
  t.ok([400, 422].includes(tooMany.statusCode), '21 links: 400 or 422')
  t.same((await get(app, source.id)).json(), { data: [] })

  const twenty = await put(app, source.id, targets.slice(0, 19).map((x) => ({ articleId: x.id })).concat([{ url: 'https://example.org', headline: 'Out' } as any]))
  t.equal(twenty.statusCode, 200, '20 links are fine')
  t.equal(twenty.json().data.length, 20)
  const rev = (await article(app, source.id)).revision

  problem(t, await post(app, source.id, { articleId: targets[20].id }), 422, 'appending a 21st')
  problem(t, await post(app, source.id, { url: 'https://example.org/more', headline: 'More' }), 422, 'appending a 21st url')
  t.equal((await get(app, source.id)).json().data.length, 20, 'still 20')
  t.equal((await article(app, source.id)).revision, rev, 'revision unchanged by the refused appends')
})

t.test('appending checks the links already there', async (t) => {
  const { app } = await build(t)
  const { source, t1 } = await fixture(app)
  await put(app, source.id, [{ articleId: t1.id }, { url: 'https://example.org/x', headline: 'X' }])
  const dupTarget = problem(t, await post(app, source.id, { articleId: t1.id }), 422, 'duplicate target')
  t.ok(paths(dupTarget).some((p) => p.endsWith('articleId')), 'names articleId')
  problem(t, await post(app, source.id, { url: 'https://example.org/x', headline: 'Same url again' }), 422, 'duplicate url')
  t.equal((await get(app, source.id)).json().data.length, 2, 'nothing appended')
})

t.test('unknown article: 404 on every related endpoint', async (t) => {
  const { app } = await build(t)
  const { t1 } = await fixture(app)
  problem(t, await get(app, MISSING), 404, 'GET')
  problem(t, await put(app, MISSING, [{ articleId: t1.id }]), 404, 'PUT')
  problem(t, await put(app, MISSING, []), 404, 'PUT empty')
  problem(t, await post(app, MISSING, { articleId: t1.id }), 404, 'POST')
  problem(t, await req(app, { method: 'DELETE', url: `/v1/articles/${MISSING}/related/${MISSING}` }), 404, 'DELETE')
})

t.test('links follow their targets: edits show, deletes remove', async (t) => {
  const { app } = await build(t)
  const { source, t1, t2, t3 } = await fixture(app)
  await put(app, source.id, [{ articleId: t1.id }, { articleId: t2.id, headline: 'Kept override' }, { articleId: t3.id }])

  const patched = await req(app, { method: 'PATCH', url: `/v1/articles/${t1.id}`, payload: { headline: 'Trade with Russia booms', summary: 'Exports up 30%', slug: 'trade-booms' } })
  t.equal(patched.statusCode, 200)
  await req(app, { method: 'PATCH', url: `/v1/articles/${t2.id}`, payload: { headline: 'Ignored by the override', summary: 'New summary' } })

  for (const [label, links] of [
    ['related list', (await get(app, source.id)).json().data],
    ['article', (await article(app, source.id)).related],
    ['article by slug', (await req(app, { method: 'GET', url: `/v1/articles/slug/${source.slug}` })).json().related],
    ['article list', (await req(app, { method: 'GET', url: '/v1/articles?limit=100' })).json().data.find((a: any) => a.id === source.id).related]
  ] as const) {
    t.match(links[0], { articleId: t1.id, headline: 'Trade with Russia booms', summary: 'Exports up 30%', slug: 'trade-booms' }, `${label}: the target's edits show`)
    t.match(links[1], { articleId: t2.id, headline: 'Kept override', summary: 'New summary' }, `${label}: the override still wins`)
  }

  // a second article links to t1 twice over (as a link, and t1 links back to it), a third does not link to it
  const second = await create(app, '/v1/articles', { headline: 'Also linking' })
  await put(app, second.id, [{ articleId: t1.id }])
  await put(app, t1.id, [{ articleId: second.id }])
  const unrelated = await create(app, '/v1/articles', { headline: 'Not linking' })
  const before = { source: await article(app, source.id), second: await article(app, second.id), unrelated: await article(app, unrelated.id) }
  const del = await req(app, { method: 'DELETE', url: `/v1/articles/${t1.id}` })
  t.equal(del.statusCode, 204)
  const left = (await get(app, source.id)).json().data
  t.same(left.map((l: any) => l.articleId), [t2.id, t3.id], 'the link to the deleted target is gone')
  for (const name of ['source', 'second'] as const) {
    const now = await article(app, before[name].id)
    t.equal(now.revision, before[name].revision + 1, `${name}: losing its link is a new revision`)
    const revisions = (await req(app, { method: 'GET', url: `/v1/articles/${now.id}/revisions` })).json().data
    t.match(revisions[0], { number: now.revision, action: 'related' }, `${name}: recorded as a related-links change`)
    const stored = (await req(app, { method: 'GET', url: `/v1/articles/${now.id}/revisions/${now.revision}` })).json()
    t.notOk(JSON.stringify(stored).includes(t1.id), `${name}: the revision holds the links without it`)
  }
  t.same(await article(app, unrelated.id), before.unrelated, 'an article without a link to it is untouched')
  t.same((await article(app, source.id)).related.map((l: any) => l.articleId), [t2.id, t3.id])
  const appended = await post(app, source.id, { url: 'https://example.org/after', headline: 'After' })
  t.equal(appended.statusCode, 201, 'appending still works after a target vanished')
  t.same(appended.json().data.map((l: any) => l.articleId ?? l.url), [t2.id, t3.id, 'https://example.org/after'])

  // deleting the source removes its own list; targets are untouched
  t.equal((await req(app, { method: 'DELETE', url: `/v1/articles/${source.id}` })).statusCode, 204)
  t.equal((await req(app, { method: 'GET', url: `/v1/articles/${t2.id}` })).statusCode, 200)
  problem(t, await get(app, source.id), 404)
})

t.test('a writer may not delete a draft a published story links to: it would rewrite that story in their name', async (t) => {
  const { app, keys } = await build(t)
  const writer = { authorization: `Bearer ${keys.writer}` }
  const draft = (await req(app, { method: 'POST', url: '/v1/articles', headers: writer, payload: { headline: 'Writer draft' } })).json()
  const published = await create(app, '/v1/articles', { headline: 'Front page story', status: 'published' })
  const otherDraft = await create(app, '/v1/articles', { headline: 'Another draft' })
  await put(app, published.id, [{ articleId: draft.id }])
  await put(app, otherDraft.id, [{ articleId: draft.id }])
  const before = await article(app, published.id)
  const refused = await req(app, { method: 'DELETE', url: `/v1/articles/${draft.id}`, headers: writer })
  t.match(problem(t, refused, 403, 'writer deleting a draft a published story links to').detail, /ask an editor/)
  t.same(await article(app, published.id), before, 'the published story is untouched')
  t.equal((await req(app, { method: 'GET', url: `/v1/articles/${draft.id}` })).statusCode, 200, 'the draft is still there')
  // linked from drafts only, the writer may
  await put(app, published.id, [])
  t.equal((await req(app, { method: 'DELETE', url: `/v1/articles/${draft.id}`, headers: writer })).statusCode, 204, 'linked from a draft only: deleted')
  t.same((await get(app, otherDraft.id)).json().data, [], 'and the draft\'s link went with it')
})

t.test('related changes are writes: the source revision increases; a failing PUT changes nothing', async (t) => {
  const { app } = await build(t)
  const { source, t1, t2, t3 } = await fixture(app)
  t.equal(source.revision, 1)
  await put(app, source.id, [{ articleId: t1.id }, { articleId: t2.id }])
  const r2 = (await article(app, source.id)).revision
  t.equal(r2, 2, 'PUT bumps the revision')
  const appended = await post(app, source.id, { articleId: t3.id })
  const r3 = (await article(app, source.id)).revision
  t.equal(r3, 3, 'POST bumps the revision')
  await req(app, { method: 'DELETE', url: `/v1/articles/${source.id}/related/${appended.json().data[0].id}` })
  const r4 = (await article(app, source.id)).revision
  t.equal(r4, 4, 'DELETE bumps the revision')
  t.equal((await article(app, t1.id)).revision, 1, 'targets are not written')

  const before = await article(app, source.id)
  const listBefore = (await get(app, source.id)).json()
  for (const bad of [
    [{ articleId: t1.id }, { articleId: MISSING }],
    [{ articleId: t3.id }, { articleId: source.id }],
    [{ url: 'https://example.org/z', headline: 'Z' }, { url: 'https://example.org/z' }],
    // one page however its unreserved characters are encoded (RFC 3986 6.2.2.2), or its other encodings' hex cased
    [{ url: 'https://example.org/x', headline: 'X' }, { url: 'https://example.org/%78', headline: 'X again' }],
    [{ url: 'https://example.org/a%2fb', headline: 'A' }, { url: 'https://example.org/a%2Fb', headline: 'A again' }],
    [{ articleId: t1.id }, { articleId: t1.id }]
  ]) {
    problem(t, await put(app, source.id, bad), 422, JSON.stringify(bad))
    t.same((await get(app, source.id)).json(), listBefore, 'the list is unchanged')
    t.same(await article(app, source.id), before, 'the article, revision included, is unchanged')
  }
  problem(t, await put(app, source.id, [{ articleId: t1.id, color: 'red' }]), 400)
  t.same(await article(app, source.id), before, 'a 400 changes nothing either')
  problem(t, await req(app, { method: 'DELETE', url: `/v1/articles/${source.id}/related/${MISSING}` }), 404)
  t.same(await article(app, source.id), before, 'a 404 delete changes nothing')

  // the list as it stands, sent again (as a sync script would): nothing written, the links keep their ids
  const again = await put(app, source.id, listBefore.data.map((l: any) => l.articleId ? { articleId: l.articleId } : { url: l.url, headline: l.headline }))
  t.equal(again.statusCode, 200)
  t.same(again.json(), listBefore, 'the same list, the same link ids')
  t.same(await article(app, source.id), before, 'no new revision')
  t.equal((await revisionsOf(app, source.id)).length, before.revision, 'none recorded')
  const reordered = await put(app, source.id, [...listBefore.data].reverse().map((l: any) => ({ articleId: l.articleId })))
  t.equal((await article(app, source.id)).revision, before.revision + 1, 'another order is a change')
  t.same(reordered.json().data.map((l: any) => l.articleId), [...listBefore.data].reverse().map((l: any) => l.articleId))
  t.same(reordered.json().data.map((l: any) => l.id), [...listBefore.data].reverse().map((l: any) => l.id), 'reordered, each link keeps its id')
})

t.test('a list written again keeps the ids of the links it keeps, a PUT as a restore', async (t) => {
  const { app } = await build(t)
  const { source, t1, t2, t3 } = await fixture(app)
  const first = (await put(app, source.id, [{ articleId: t1.id }, { url: 'https://example.org/a', headline: 'A' }, { articleId: t2.id }])).json().data
  const idOf = (list: any[], key: string) => list.find((l) => l.articleId === key || l.url === key)?.id
  // another order, another headline on the URL (the same page, written another way), one link gone and one new
  const second = (await put(app, source.id, [{ url: 'HTTPS://Example.org:443/a', headline: 'A, again' }, { articleId: t1.id, headline: 'Over' }, { articleId: t3.id }])).json().data
  t.equal(second.length, 3)
  t.equal(idOf(second, t1.id), idOf(first, t1.id), 'the article still linked keeps its id')
  t.equal(second[0].id, idOf(first, 'https://example.org/a'), 'the page still linked keeps its id, its URL and headline as now written')
  t.match(second[0], { url: 'HTTPS://Example.org:443/a', headline: 'A, again' })
  t.notOk(first.some((l: any) => l.id === idOf(second, t3.id)), 'a new link has a new id')
  t.equal(new Set(second.map((l: any) => l.id)).size, 3)
  // the link to t2, removed, and back in a restore of the first list: a new id, as it was gone; the others keep theirs
  const firstRevision = (await article(app, source.id)).revision - 1
  const restored = await req(app, { method: 'POST', url: `/v1/articles/${source.id}/revisions/${firstRevision}/restore` })
  t.equal(restored.statusCode, 200, restored.body)
  const third = (await get(app, source.id)).json().data
  t.same(third.map((l: any) => l.articleId ?? l.url), [t1.id, 'https://example.org/a', t2.id], 'the first list restored')
  t.equal(idOf(third, t1.id), idOf(first, t1.id), 'restored: t1 kept its id')
  t.equal(third[1].id, idOf(first, 'https://example.org/a'), 'restored: the page kept its id')
  t.notOk([...first, ...second].some((l: any) => l.id === idOf(third, t2.id)), 'a link put back is a new link')
  // removing a link by the id a script held since the first write still works
  const removed = await req(app, { method: 'DELETE', url: `/v1/articles/${source.id}/related/${idOf(first, t1.id)}` })
  t.equal(removed.statusCode, 204, removed.body)
  t.same((await get(app, source.id)).json().data.map((l: any) => l.articleId ?? l.url), ['https://example.org/a', t2.id])
})

async function revisionsOf (app: App, id: string) {
  return (await req(app, { method: 'GET', url: `/v1/articles/${id}/revisions?limit=100` })).json().data
}

t.test('what a link shows of its target is copied into the link and kept by the database: every write, any writer, and the upgrade', async (t) => {
  const ctx = await build(t)
  const { app, dataDir } = ctx
  const { source, t1, t2, t3 } = await fixture(app)
  await put(app, source.id, [{ articleId: t1.id }, { articleId: t2.id }, { url: 'https://example.org/x', headline: 'Outside' }])
  const db = await around(t, ctx)
  const copies = () => db.all(`select target_id as id, target_slug as slug, target_headline as headline, target_summary as summary,
    target_status as status, target_published_at as "publishedAt" from article_related where article_id = ? order by position`, source.id)
  const targets = () => db.all(`select a.id, a.slug, a.headline, a.summary, a.status, a.published_at as "publishedAt"
    from article_related r left join articles a on a.id = r.target_id where r.article_id = ? order by r.position`, source.id)
  const inStep = async (what: string) => t.same(await copies(), await targets(), `${what}: each link holds its target's slug, headline, summary, status and publication time`)
  await inStep('links written')
  t.equal(((await copies())[0] as any).headline, 'Trade with Russia grows', 'a real copy, not nulls on both sides')

  const write = async (opts: Parameters<typeof req>[1], status = 200) => {
    const res = await req(app, opts)
    t.equal(res.statusCode, status, `${opts.method} ${opts.url}: ${res.body.slice(0, 200)}`)
  }
  await write({ method: 'PATCH', url: `/v1/articles/${t1.id}`, payload: { headline: 'Trade booms', slug: 'trade-booms', summary: null } })
  await inStep('target edited')
  await write({ method: 'POST', url: `/v1/articles/${t2.id}/publish` })
  await inStep('target published')
  await write({ method: 'POST', url: `/v1/articles/${t1.id}/unpublish` })
  await inStep('target unpublished')
  await write({ method: 'POST', url: `/v1/articles/${t1.id}/revisions/1/restore` })
  await inStep('target restored to an old revision')
  await write({ method: 'POST', url: `/v1/articles/${source.id}/related`, payload: { articleId: t3.id } }, 201)
  await write({ method: 'POST', url: `/v1/articles/${t3.id}/publish`, payload: { publishedAt: '2099-01-01T00:00:00Z' } })
  await inStep('link appended, then its target scheduled')
  t.same((await get(app, source.id)).json().data.map((l: any) => l.headline), ['Trade with Russia grows', 'Ice festival record', 'Outside', 'New rail link'], 'the list shows the copies')

  // another process writing straight to the database (a script, a second instance)
  await db.run('update articles set headline = ? where id = ?', 'Edited elsewhere', t2.id)
  await inStep('target changed by another writer')
  t.equal((await get(app, source.id)).json().data[1].headline, 'Edited elsewhere')

  // a database from before the copies (migration 0010 not yet applied, nor those after it): the upgrade fills them
  // (SQLite's upgrade: PostgreSQL's schema started with the copies)
  if (dialect !== 'sqlite') return
  await indexAsBefore0012(dataDir)
  const file = new Database(path.join(dataDir, 'cms.sqlite'))
  t.teardown(() => file.close())
  file.exec(`update article_related set target_slug = null, target_headline = null, target_summary = null, target_status = null, target_published_at = null;
    drop trigger article_related_target_insert; drop trigger article_related_target_update; drop trigger articles_related_copies`)
  forgetMigrationsFrom(file, '0010_')
  const upgraded = await buildApp({ config: loadConfig({ DATA_DIR: dataDir }) })
  t.teardown(() => upgraded.close())
  await upgraded.ready()
  await inStep('after the upgrade')
  t.equal(((await copies())[1] as any).headline, 'Edited elsewhere')
  await db.run('update articles set summary = ? where id = ?', 'Kept after the upgrade', t2.id)
  await inStep('and kept after it')
})
