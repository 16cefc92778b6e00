import t, { type Test } from 'tap'
import { build, create, req, problem, bearer, ISO, type Response } from './helper.js'
import type { App } from '../src/app.js'

/* eslint-disable @typescript-eslint/no-explicit-any */

const MISSING = '00000000-0000-4000-8000-000000000000'
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
type Anon = (opts: { method?: 'GET' | 'POST', url: string }) => Promise<Response>
type Tap = Test

/**
 * A section tree (News > Harbin Today), a byline, a published "host" article in the subsection that links
 * to the story under test, and the story itself (a draft in the subsection, by the byline, tagged).
 */
async function fixture (app: App) {
  const parent = await create(app, '/v1/sections', { name: 'News', slug: 'news' })
  const child = await create(app, '/v1/sections', { name: 'Harbin Today', slug: 'harbin-today', parentId: parent.id })
  const byline = await create(app, '/v1/bylines', { name: 'Xinhua', kind: 'agency' })
  const story = await create(app, '/v1/articles', {
    headline: 'Harbin expo opens', summary: 'Trade fair draws crowds', sectionId: child.id,
    bylines: [{ bylineId: byline.id, role: 'agency' }], tags: ['expo'], body: [{ type: 'paragraph', text: 'Text.' }]
  })
  const host = await create(app, '/v1/articles', {
    headline: 'Host story', status: 'published', publishedAt: '2014-07-01T00:00:00Z', sectionId: child.id,
    bylines: [{ bylineId: byline.id, role: 'agency' }], tags: ['expo']
  })
  const put = await req(app, { method: 'PUT', url: `/v1/articles/${host.id}/related`, payload: [{ articleId: story.id }, { url: 'https://example.org/x', headline: 'Outside' }] })
  if (put.statusCode !== 200) throw new Error(`PUT related answered ${put.statusCode}: ${put.body}`)
  return { parent, child, byline, story, host }
}

type Fixture = Awaited<ReturnType<typeof fixture>> & { app: App }

/** Every anonymous list in which a published story of the fixture shows up. */
const anonLists = (f: Fixture) => [
  '/v1/articles?limit=100',
  '/v1/articles?limit=100&status=published',
  '/v1/articles?limit=100&status=draft',
  '/v1/articles?limit=100&status=archived',
  `/v1/articles?limit=100&section=${f.child.id}`,
  `/v1/articles?limit=100&section=${f.child.slug}`,
  `/v1/articles?limit=100&section=${f.parent.slug}&descendants=true`,
  `/v1/articles?limit=100&byline=${f.byline.id}`,
  '/v1/articles?limit=100&tag=expo',
  '/v1/articles?limit=100&sort=-updatedAt',
  '/v1/articles?limit=100&publishedAfter=2000-01-01T00:00:00Z',
  `/v1/sections/${f.child.id}/articles?limit=100`,
  `/v1/sections/${f.parent.id}/articles?limit=100&descendants=true`,
  `/v1/bylines/${f.byline.id}/articles?limit=100`
]

const idsOf = (list: any[]) => list.map((a: any) => a.id)
const linkTargets = (links: any[]) => links.map((l: any) => l.articleId)

/** The story is a 404 or absent for anonymous readers in every place, while the host stays readable. */
async function assertHidden (t: Tap, anon: Anon, f: Fixture, what: string) {
  const id = f.story.id
  const slug = (await (await req(f.app, { method: 'GET', url: `/v1/articles/${id}` })).json()).slug
  for (const url of [`/v1/articles/${id}`, `/v1/articles/slug/${slug}`, `/v1/articles/${id}/related`, `/v1/articles/${id}/revisions`, `/v1/articles/${id}/revisions/1`]) {
    const res = await anon({ method: 'GET', url })
    problem(t, res, 404, `${what}: anonymous GET ${url}`)
    t.equal(res.headers['cache-control'], 'no-store', `${what}: anonymous 404 of ${url} is not cached`)
  }
  for (const url of anonLists(f)) {
    const res = await anon({ method: 'GET', url })
    t.equal(res.statusCode, 200, `${what}: anonymous ${url} answers 200: ${res.body.slice(0, 200)}`)
    t.match(res.headers['cache-control'], /^public/, `${what}: anonymous ${url} is public`)
    const data = res.json().data
    t.notOk(idsOf(data).includes(id), `${what}: absent from ${url}`)
    for (const a of data) t.notOk(linkTargets(a.related).includes(id), `${what}: absent from related of ${a.id} in ${url}`)
  }
  // the published host still shows, without its link to the hidden story
  const lists = await anon({ method: 'GET', url: `/v1/sections/${f.child.id}/articles` })
  t.ok(idsOf(lists.json().data).includes(f.host.id), `${what}: the host is on the section front (the check above is not vacuous)`)
  const related = await anon({ method: 'GET', url: `/v1/articles/${f.host.id}/related` })
  t.equal(related.statusCode, 200)
  t.same(related.json().data.map((l: any) => l.url), ['https://example.org/x'], `${what}: host's related list keeps only the outside link`)
  const host = await anon({ method: 'GET', url: `/v1/articles/${f.host.id}` })
  t.equal(host.statusCode, 200)
  t.same(host.json().related.map((l: any) => l.url), ['https://example.org/x'], `${what}: host's embedded related keeps only the outside link`)
  const hostBySlug = await anon({ method: 'GET', url: `/v1/articles/slug/${f.host.slug}` })
  t.notOk(linkTargets(hostBySlug.json().related).includes(id), `${what}: host read by slug does not link it`)
}

/** The story is readable by anonymous readers in every place. */
async function assertVisible (t: Tap, anon: Anon, f: Fixture, what: string) {
  const id = f.story.id
  const slug = (await (await req(f.app, { method: 'GET', url: `/v1/articles/${id}` })).json()).slug
  for (const url of [`/v1/articles/${id}`, `/v1/articles/slug/${slug}`]) {
    const res = await anon({ method: 'GET', url })
    t.equal(res.statusCode, 200, `${what}: anonymous GET ${url}: ${res.body.slice(0, 200)}`)
    t.match(res.headers['cache-control'], /^public, max-age=\d+/, `${what}: anonymous read of ${url} is public`)
    t.equal(res.json().id, id)
  }
  const rel = await anon({ method: 'GET', url: `/v1/articles/${id}/related` })
  t.equal(rel.statusCode, 200, `${what}: its own related list is readable`)
  const revs = await anon({ method: 'GET', url: `/v1/articles/${id}/revisions` })
  problem(t, revs, 401, `${what}: anonymous revisions of a visible article`)
  t.match(revs.headers['www-authenticate'], /^Bearer/)
  for (const url of anonLists(f)) {
    if (url.includes('status=draft') || url.includes('status=archived')) continue
    const res = await anon({ method: 'GET', url })
    t.equal(res.statusCode, 200)
    t.ok(idsOf(res.json().data).includes(id), `${what}: listed in ${url}`)
    const host = res.json().data.find((a: any) => a.id === f.host.id)
    t.ok(host && linkTargets(host.related).includes(id), `${what}: the host in ${url} links it`)
  }
  const related = await anon({ method: 'GET', url: `/v1/articles/${f.host.id}/related` })
  t.same(linkTargets(related.json().data), [id, null], `${what}: host's related list shows it first`)
  const host = await anon({ method: 'GET', url: `/v1/articles/${f.host.id}` })
  t.same(linkTargets(host.json().related), [id, null], `${what}: host's embedded related shows it first`)
  t.equal(host.json().related[0].slug, slug)
}

/** Editors (any key) see the story everywhere staff look. */
async function assertStaffSees (t: Tap, app: App, f: Fixture, what: string) {
  const id = f.story.id
  const byId = await req(app, { method: 'GET', url: `/v1/articles/${id}` })
  t.equal(byId.statusCode, 200, `${what}: editor reads it by id`)
  t.equal(byId.headers['cache-control'], 'private, no-store', `${what}: keyed read is private`)
  const bySlug = await req(app, { method: 'GET', url: `/v1/articles/slug/${byId.json().slug}` })
  t.equal(bySlug.statusCode, 200, `${what}: editor reads it by slug`)
  t.equal(bySlug.headers['cache-control'], 'private, no-store')
  const list = await req(app, { method: 'GET', url: '/v1/articles?limit=100' })
  t.ok(idsOf(list.json().data).includes(id), `${what}: editor lists it`)
  t.equal(list.headers['cache-control'], 'private, no-store')
  const related = await req(app, { method: 'GET', url: `/v1/articles/${f.host.id}/related` })
  t.same(linkTargets(related.json().data), [id, null], `${what}: editor sees the host's link to it`)
  const revs = await req(app, { method: 'GET', url: `/v1/articles/${id}/revisions` })
  t.equal(revs.statusCode, 200, `${what}: editor lists its revisions`)
}

async function setup (t: Tap) {
  const built = await build(t)
  const f = { ...(await fixture(built.app)), app: built.app }
  return { ...built, f }
}

t.test('a draft is a 404 or absent for anonymous readers everywhere; editors still see it', async (t) => {
  const { app, anon, f } = await setup(t)
  await assertHidden(t, anon, f, 'draft')
  await assertStaffSees(t, app, f, 'draft')
})

t.test('a draft with a past publishedAt is still hidden: status decides, not the date', async (t) => {
  const { app, anon, f } = await setup(t)
  const res = await req(app, { method: 'PATCH', url: `/v1/articles/${f.story.id}`, payload: { publishedAt: '2014-07-02T00:00:00Z' } })
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.json().status, 'draft')
  t.equal(res.json().publishedAt, '2014-07-02T00:00:00.000Z')
  await assertHidden(t, anon, f, 'dated draft')
})

t.test('publish with no body: published now, visible to anonymous readers everywhere', async (t) => {
  const { app, anon, f } = await setup(t)
  await assertHidden(t, anon, f, 'before publishing')
  // a body that is JSON null is a body, and not the object the action takes: a 400 that publishes nothing
  const nullBody = await app.inject({ method: 'POST', url: `/v1/articles/${f.story.id}/publish`, headers: { 'content-type': 'application/json' }, payload: 'null' })
  problem(t, nullBody, 400, 'a null body')
  await assertHidden(t, anon, f, 'after a null body')
  const before = Date.now()
  const res = await app.inject({ method: 'POST', url: `/v1/articles/${f.story.id}/publish` })
  const after = Date.now()
  t.equal(res.statusCode, 200, res.body)
  t.match(res.headers['content-type'], /^application\/json/)
  t.equal(res.headers['cache-control'], 'no-store', 'a write is not cached')
  t.ok(res.headers.etag, 'the answer carries the new ETag')
  const a = res.json()
  t.equal(a.status, 'published')
  t.match(a.publishedAt, ISO)
  const ms = Date.parse(a.publishedAt)
  t.ok(ms >= before - 5 && ms <= after + 5, `publishedAt ${a.publishedAt} is now`)
  t.equal(a.updatedAt, f.story.updatedAt, 'publishing alone leaves the editorial updatedAt')
  t.equal(a.revision, f.story.revision + 1, 'publishing is a write: revision bumped')
  t.equal(a.slug, f.story.slug)
  t.equal(a.headline, f.story.headline)
  await assertVisible(t, anon, f, 'published now')

  // an empty JSON body and an empty object publish now too
  const other = await create(app, '/v1/articles', { headline: 'Second' })
  const empty = await app.inject({ method: 'POST', url: `/v1/articles/${other.id}/publish`, payload: {} })
  t.equal(empty.statusCode, 200, empty.body)
  t.equal(empty.json().status, 'published')
  t.ok(Math.abs(Date.parse(empty.json().publishedAt) - Date.now()) < 5000)
  t.equal((await anon({ method: 'GET', url: `/v1/articles/${other.id}` })).statusCode, 200)
})

t.test('publish with a past publishedAt keeps that date', async (t) => {
  const { app, anon, f } = await setup(t)
  const res = await app.inject({ method: 'POST', url: `/v1/articles/${f.story.id}/publish`, payload: { publishedAt: '2014-07-02T08:00:00+08:00' } })
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.json().status, 'published')
  t.equal(res.json().publishedAt, '2014-07-02T00:00:00.000Z', 'given date kept, in UTC')
  await assertVisible(t, anon, f, 'published in the past')
  const list = await anon({ method: 'GET', url: '/v1/articles?limit=100' })
  t.same(idsOf(list.json().data), [f.story.id, f.host.id], 'newest first by publishedAt')
  const read = await anon({ method: 'GET', url: `/v1/articles/${f.story.id}` })
  t.equal(read.json().publishedAt, '2014-07-02T00:00:00.000Z')
})

t.test('scheduled: hidden until publishedAt, then shown with no write in between, decided at read time', async (t) => {
  const { app, anon, f } = await setup(t)
  const at = new Date(Date.now() + 2000)
  const res = await app.inject({ method: 'POST', url: `/v1/articles/${f.story.id}/publish`, payload: { publishedAt: at.toISOString() } })
  t.equal(res.statusCode, 200, res.body)
  const scheduled = res.json()
  t.equal(scheduled.status, 'published')
  t.equal(scheduled.publishedAt, at.toISOString())

  await assertHidden(t, anon, f, 'scheduled')
  t.ok(Date.now() < at.getTime(), 'the hidden checks ran before the scheduled time (else they proved nothing)')
  await assertStaffSees(t, app, f, 'scheduled')

  // poll by id, anonymously, until it appears; bounded
  let first: number | undefined
  const deadline = at.getTime() + 4000
  while (Date.now() < deadline) {
    const r = await anon({ method: 'GET', url: `/v1/articles/${f.story.id}` })
    if (r.statusCode === 200) { first = Date.now(); break }
    t.equal(r.statusCode, 404, 'hidden until its time')
    await sleep(100)
  }
  t.ok(first !== undefined, 'it appeared')
  t.ok(first! >= at.getTime(), 'not before its time')
  t.ok(first! < at.getTime() + 1000, 'promptly once its time came')
  await assertVisible(t, anon, f, 'after the scheduled time')

  const now = (await req(app, { method: 'GET', url: `/v1/articles/${f.story.id}` })).json()
  t.equal(now.revision, scheduled.revision, 'no write happened in between')
  t.equal(now.status, 'published')
  t.equal(now.publishedAt, at.toISOString())
  const revs = (await req(app, { method: 'GET', url: `/v1/articles/${f.story.id}/revisions` })).json().data
  t.equal(revs[0].number, scheduled.revision, 'no revision added by a job')
})

t.test('unpublish: back to draft, publishedAt cleared, hidden everywhere again', async (t) => {
  const { app, anon, f } = await setup(t)
  const pub = await app.inject({ method: 'POST', url: `/v1/articles/${f.story.id}/publish` })
  t.equal(pub.statusCode, 200, pub.body)
  await assertVisible(t, anon, f, 'published')
  const res = await app.inject({ method: 'POST', url: `/v1/articles/${f.story.id}/unpublish` })
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.headers['cache-control'], 'no-store')
  const a = res.json()
  t.equal(a.status, 'draft')
  t.equal(a.publishedAt, null)
  t.equal(a.revision, pub.json().revision + 1)
  await assertHidden(t, anon, f, 'unpublished')
  await assertStaffSees(t, app, f, 'unpublished')

  // unpublishing a scheduled article cancels the schedule
  const soon = new Date(Date.now() + 300).toISOString()
  t.equal((await app.inject({ method: 'POST', url: `/v1/articles/${f.story.id}/publish`, payload: { publishedAt: soon } })).statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: `/v1/articles/${f.story.id}/unpublish` })).statusCode, 200)
  await sleep(400)
  t.equal((await anon({ method: 'GET', url: `/v1/articles/${f.story.id}` })).statusCode, 404, 'a cancelled schedule never shows')
})

t.test('archived: hidden everywhere for anonymous readers, still there for editors', async (t) => {
  const { app, anon, f } = await setup(t)
  t.equal((await app.inject({ method: 'POST', url: `/v1/articles/${f.story.id}/publish`, payload: { publishedAt: '2014-07-02T00:00:00Z' } })).statusCode, 200)
  await assertVisible(t, anon, f, 'published')
  const res = await req(app, { method: 'PATCH', url: `/v1/articles/${f.story.id}`, payload: { status: 'archived' } })
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.json().status, 'archived')
  await assertHidden(t, anon, f, 'archived')
  await assertStaffSees(t, app, f, 'archived')
  const staffArchived = await req(app, { method: 'GET', url: '/v1/articles?status=archived' })
  t.same(idsOf(staffArchived.json().data), [f.story.id], 'editors filter by status=archived')
  // publishing it again brings it back
  t.equal((await app.inject({ method: 'POST', url: `/v1/articles/${f.story.id}/publish`, payload: { publishedAt: '2014-07-02T00:00:00Z' } })).statusCode, 200)
  await assertVisible(t, anon, f, 'republished')
})

t.test('editors filter drafts by status; anonymous status=draft is empty', async (t) => {
  const { app, anon, keys, f } = await setup(t)
  const staff = await req(app, { method: 'GET', url: '/v1/articles?status=draft' })
  t.same(idsOf(staff.json().data), [f.story.id])
  const writer = await req(app, { method: 'GET', url: '/v1/articles?status=draft', headers: bearer(keys.writer) })
  t.same(idsOf(writer.json().data), [f.story.id], 'writers see drafts too')
  t.equal(writer.headers['cache-control'], 'private, no-store')
  const pub = await anon({ method: 'GET', url: '/v1/articles?status=draft' })
  t.equal(pub.statusCode, 200)
  t.same(pub.json().data, [], 'no drafts leak to anonymous readers')
  t.equal(pub.json().next, null)
})

t.test('publish and unpublish: errors change nothing', async (t) => {
  const { app, anon, keys, f } = await setup(t)
  const id = f.story.id
  problem(t, await app.inject({ method: 'POST', url: `/v1/articles/${MISSING}/publish` }), 404, 'publish unknown id')
  problem(t, await app.inject({ method: 'POST', url: `/v1/articles/${MISSING}/unpublish` }), 404, 'unpublish unknown id')
  problem(t, await app.inject({ method: 'POST', url: '/v1/articles/not-an-id/publish' }), 404, 'publish an id that names nothing (ids are opaque)')

  const unknownField = problem(t, await app.inject({ method: 'POST', url: `/v1/articles/${id}/publish`, payload: { publishedAt: '2014-07-02T00:00:00Z', status: 'published' } }), 400, 'unknown field')
  t.ok(unknownField.errors?.length, 'names what is wrong')
  const badDate = problem(t, await app.inject({ method: 'POST', url: `/v1/articles/${id}/publish`, payload: { publishedAt: 'tomorrow' } }), 400, 'bad date')
  t.match(JSON.stringify(badDate.errors), /publishedAt/, 'names publishedAt')
  problem(t, await app.inject({ method: 'POST', url: `/v1/articles/${id}/publish`, payload: { publishedAt: '2014-13-45T99:00:00Z' } }), 400, 'impossible date')
  problem(t, await app.inject({ method: 'POST', url: `/v1/articles/${id}/publish`, payload: { publishedAt: '2014-07-02T00:00:00' } }), 400, 'date without offset')
  problem(t, await app.inject({ method: 'POST', url: `/v1/articles/${id}/publish`, payload: { publishedAt: null } }), 400, 'null date')
  problem(t, await app.inject({ method: 'POST', url: `/v1/articles/${id}/publish`, payload: [] as any }), 400, 'array body')

  problem(t, await anon({ method: 'POST', url: `/v1/articles/${id}/publish` }), 401, 'anonymous publish')
  const writer = problem(t, await app.inject({ method: 'POST', url: `/v1/articles/${id}/publish`, headers: bearer(keys.writer) }), 403, 'writer publish')
  t.ok(writer.detail)

  // stale If-Match
  const read = await req(app, { method: 'GET', url: `/v1/articles/${id}` })
  const etag = read.headers.etag as string
  t.equal((await req(app, { method: 'PATCH', url: `/v1/articles/${id}`, payload: { summary: 'Changed' } })).statusCode, 200)
  problem(t, await app.inject({ method: 'POST', url: `/v1/articles/${id}/publish`, headers: { 'if-match': etag } }), 412, 'stale If-Match on publish')

  const now = (await req(app, { method: 'GET', url: `/v1/articles/${id}` })).json()
  t.equal(now.status, 'draft', 'still a draft after every refusal')
  t.equal(now.publishedAt, null)
  t.equal(now.revision, f.story.revision + 1, 'only the PATCH made a revision')
  t.equal((await anon({ method: 'GET', url: `/v1/articles/${id}` })).statusCode, 404)

  // unpublish needs an editor too
  t.equal((await app.inject({ method: 'POST', url: `/v1/articles/${id}/publish` })).statusCode, 200)
  problem(t, await app.inject({ method: 'POST', url: `/v1/articles/${id}/unpublish`, headers: bearer(keys.writer) }), 403, 'writer unpublish')
  problem(t, await anon({ method: 'POST', url: `/v1/articles/${id}/unpublish` }), 401, 'anonymous unpublish')
  t.equal((await anon({ method: 'GET', url: `/v1/articles/${id}` })).statusCode, 200, 'still published')
  // unknown body fields are rejected, not silently dropped (SPEC §4), on unpublish too
  const unknownUnpublish = await app.inject({ method: 'POST', url: `/v1/articles/${id}/unpublish`, payload: { publishedAt: '2030-01-01T00:00:00Z' } })
  problem(t, unknownUnpublish, 400, 'unpublish with an unknown body field')
  t.equal((await anon({ method: 'GET', url: `/v1/articles/${id}` })).statusCode, 200, 'still published after the refused unpublish')
  // a fresh If-Match is accepted
  const fresh = await req(app, { method: 'GET', url: `/v1/articles/${id}` })
  const un = await app.inject({ method: 'POST', url: `/v1/articles/${id}/unpublish`, headers: { 'if-match': fresh.headers.etag as string } })
  t.equal(un.statusCode, 200, un.body)
})

t.test('anonymous revision endpoints: 404 for hidden articles, 401 for published ones, 404 for unknown', async (t) => {
  const { app, anon, f } = await setup(t)
  for (const url of [`/v1/articles/${MISSING}/revisions`, `/v1/articles/${MISSING}/revisions/1`]) {
    problem(t, await anon({ method: 'GET', url }), 404, `anonymous ${url}`)
  }
  for (const url of [`/v1/articles/${f.story.id}/revisions`, `/v1/articles/${f.story.id}/revisions/1`]) {
    problem(t, await anon({ method: 'GET', url }), 404, `anonymous ${url} of a draft`)
  }
  for (const url of [`/v1/articles/${f.host.id}/revisions`, `/v1/articles/${f.host.id}/revisions/1`, `/v1/articles/${f.host.id}/revisions/99`]) {
    const res = await anon({ method: 'GET', url })
    problem(t, res, 401, `anonymous ${url} of a published article`)
    t.match(res.headers['www-authenticate'], /^Bearer/)
    t.equal(res.headers['cache-control'], 'no-store')
  }
  problem(t, await anon({ method: 'POST', url: `/v1/articles/${f.story.id}/revisions/1/restore` }), 401, 'anonymous restore')
  const keyed = await req(app, { method: 'GET', url: `/v1/articles/${f.host.id}/revisions` })
  t.equal(keyed.statusCode, 200)
  t.equal(keyed.headers['cache-control'], 'private, no-store')
})

t.test('publishing again keeps the publication date; without one, a draft or a scheduled article is published now', async (t) => {
  const { app, f } = await setup(t)
  const publish = async (payload?: object) => {
    const res = await app.inject({ method: 'POST', url: `/v1/articles/${f.story.id}/publish`, ...(payload ? { payload } : {}) })
    t.equal(res.statusCode, 200, res.body)
    return res.json()
  }
  const before = Date.now()
  const first = await publish()
  t.ok(Date.parse(first.publishedAt) >= before - 1000 && Date.parse(first.publishedAt) <= Date.now(), 'a draft without a date: now')
  t.equal((await publish()).publishedAt, first.publishedAt, 'published again: the date stays')

  await publish({ publishedAt: '2019-01-01T00:00:00Z' })
  const again = await publish()
  t.equal(again.publishedAt, '2019-01-01T00:00:00.000Z', 'a back-dated story published again keeps its date (it does not jump to the top of fronts)')
  t.equal(again.status, 'published')

  const archived = await req(app, { method: 'PATCH', url: `/v1/articles/${f.story.id}`, payload: { status: 'archived' } })
  t.equal(archived.statusCode, 200)
  t.equal((await publish()).publishedAt, '2019-01-01T00:00:00.000Z', 'an archived story published again keeps its date')

  const future = new Date(Date.now() + 3_600_000).toISOString()
  t.equal((await publish({ publishedAt: future })).publishedAt, future, 'scheduled')
  const now = await publish()
  t.ok(Date.parse(now.publishedAt) <= Date.now(), 'a scheduled article published without a date: now, not at its scheduled time')

  t.equal((await app.inject({ method: 'POST', url: `/v1/articles/${f.story.id}/unpublish` })).statusCode, 200)
  const later = Date.now()
  t.ok(Date.parse((await publish()).publishedAt) >= later - 1000, 'unpublished (its date cleared), then published: now')
})

t.test('removing the publication date of a published or scheduled story is a 422: it would publish it now', async (t) => {
  const { app, anon, f } = await setup(t)
  const later = new Date(Date.now() + 3_600_000).toISOString()
  const patch = (payload: object) => req(app, { method: 'PATCH', url: `/v1/articles/${f.story.id}`, payload })
  const read = async () => (await req(app, { method: 'GET', url: `/v1/articles/${f.story.id}` })).json()

  t.equal((await app.inject({ method: 'POST', url: `/v1/articles/${f.story.id}/publish`, payload: { publishedAt: later } })).statusCode, 200)
  const scheduled = await read()
  for (const payload of [{ publishedAt: null }, { status: 'published', publishedAt: null }, { headline: 'Embargo broken', publishedAt: null }]) {
    const body = problem(t, await patch(payload), 422, `scheduled, ${JSON.stringify(payload)}`)
    t.same(body.errors.map((e: any) => e.path), ['/publishedAt'])
    t.same(await read(), scheduled, 'nothing changed: still scheduled, no revision')
    t.equal((await anon({ url: `/v1/articles/${f.story.id}` })).statusCode, 404, 'still hidden from readers')
  }

  const past = await req(app, { method: 'POST', url: `/v1/articles/${f.story.id}/publish`, payload: { publishedAt: '2019-05-01T08:00:00Z' } })
  t.equal(past.statusCode, 200)
  problem(t, await patch({ publishedAt: null }), 422, 'published in 2019')
  t.equal((await read()).publishedAt, '2019-05-01T08:00:00.000Z', 'the original date is kept: the story does not jump to the top of fronts')

  const down = await patch({ status: 'draft', publishedAt: null })
  t.equal(down.statusCode, 200, 'taking it down and removing the date in one patch is fine')
  t.same([down.json().status, down.json().publishedAt], ['draft', null])
  t.equal((await anon({ url: `/v1/articles/${f.story.id}` })).statusCode, 404)
})
