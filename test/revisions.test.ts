import t, { type Test } from 'tap'
import type { InjectOptions } from 'fastify'
import { build, create, req, problem, bearer, ISO, upload, image } from './helper.js'
import type { App } from '../src/app.js'

/* eslint-disable @typescript-eslint/no-explicit-any */

const MISSING = '00000000-0000-4000-8000-000000000000'
type Tap = Test

const p = (text: string) => ({ type: 'paragraph', text })

async function read (app: App, id: string) {
  const res = await req(app, { method: 'GET', url: `/v1/articles/${id}` })
  if (res.statusCode !== 200) throw new Error(`GET article answered ${res.statusCode}: ${res.body}`)
  return res.json()
}

async function revisions (app: App, id: string, query = 'limit=100') {
  const res = await req(app, { method: 'GET', url: `/v1/articles/${id}/revisions?${query}` })
  if (res.statusCode !== 200) throw new Error(`GET revisions answered ${res.statusCode}: ${res.body}`)
  return res.json()
}

async function revision (app: App, id: string, n: number) {
  const res = await req(app, { method: 'GET', url: `/v1/articles/${id}/revisions/${n}` })
  if (res.statusCode !== 200) throw new Error(`GET revision ${n} answered ${res.statusCode}: ${res.body}`)
  return res.json()
}

/** A write that must succeed; answers the parsed body. */
async function write (t: Tap, app: App, opts: InjectOptions, status = 200) {
  const res = await req(app, opts)
  t.equal(res.statusCode, status, `${opts.method} ${opts.url} answers ${status}: ${res.body.slice(0, 300)}`)
  return res.statusCode === 204 ? null : res.json()
}

/** The article's `revision` is the newest revision's number, and the list holds exactly 1..n. */
async function assertInStep (t: Tap, app: App, id: string, expected: number, action: string) {
  const a = await read(app, id)
  const list = (await revisions(app, id)).data
  t.equal(a.revision, expected, `article.revision is ${expected} after ${action}`)
  t.equal(list[0]?.number, expected, `newest revision is ${expected} after ${action}`)
  t.equal(list[0]?.action, action, `newest revision's action is ${action}`)
  t.same(list.map((r: any) => r.number), Array.from({ length: expected }, (_, i) => expected - i), 'revisions are 1..n, newest first, no gaps')
}

async function keyIds (app: App, admin: string) {
  const res = await req(app, { method: 'GET', url: '/v1/keys?limit=100', headers: bearer(admin) })
  const byName = new Map<string, string>(res.json().data.map((k: any) => [k.name, k.id]))
  return { editor: byName.get('test editor')!, writer: byName.get('test writer')! }
}

async function fixture (app: App) {
  const s1 = await create(app, '/v1/sections', { name: 'News' })
  const s2 = await create(app, '/v1/sections', { name: 'Business' })
  const b1 = await create(app, '/v1/bylines', { name: 'Xinhua', kind: 'agency' })
  const b2 = await create(app, '/v1/bylines', { name: 'Li Wei', kind: 'person' })
  const t1 = await create(app, '/v1/articles', { headline: 'Trade grows', summary: 'Exports up', status: 'published', publishedAt: '2014-06-30T00:00:00Z' })
  const t2 = await create(app, '/v1/articles', { headline: 'Rail link' })
  return { s1, s2, b1, b2, t1, t2 }
}

t.test('every write stores a revision with number, time, key and action; listed newest first', async (t) => {
  const { app, keys } = await build(t)
  const ids = await keyIds(app, keys.admin)
  const f = await fixture(app)
  const writer = bearer(keys.writer)

  const t0 = Date.now()
  const a = await write(t, app, {
    method: 'POST',
    url: '/v1/articles',
    headers: writer,
    payload: { headline: 'First headline', summary: 'First dek', body: [p('First body')], sectionId: f.s1.id, bylines: [{ bylineId: f.b1.id, role: 'agency' }], tags: ['one'] }
  }, 201)
  t.equal(a.revision, 1, 'a new article is revision 1')
  await assertInStep(t, app, a.id, 1, 'create')

  const v2 = await write(t, app, {
    method: 'PATCH',
    url: `/v1/articles/${a.id}`,
    headers: writer,
    payload: { headline: 'Second headline', slug: 'second-slug', body: [p('Second body'), p('More')], sectionId: f.s2.id, bylines: [{ bylineId: f.b2.id }], tags: ['two', 'three'] }
  })
  t.equal(v2.revision, 2)
  await assertInStep(t, app, a.id, 2, 'update')

  const rel = await write(t, app, {
    method: 'PUT',
    url: `/v1/articles/${a.id}/related`,
    headers: writer,
    payload: [{ articleId: f.t1.id }, { articleId: f.t2.id, headline: 'Our take' }, { url: 'https://example.org/s', headline: 'Elsewhere', summary: 'Outside' }]
  })
  t.equal(rel.data.length, 3)
  await assertInStep(t, app, a.id, 3, 'related')

  const pub = await write(t, app, { method: 'POST', url: `/v1/articles/${a.id}/publish` })
  t.equal(pub.revision, 4)
  await assertInStep(t, app, a.id, 4, 'publish')

  const un = await write(t, app, { method: 'POST', url: `/v1/articles/${a.id}/unpublish` })
  t.equal(un.revision, 5)
  await assertInStep(t, app, a.id, 5, 'unpublish')
  const t1 = Date.now()

  const list = await req(app, { method: 'GET', url: `/v1/articles/${a.id}/revisions` })
  t.equal(list.statusCode, 200)
  t.match(list.headers['content-type'], /^application\/json/)
  t.ok(list.headers.etag, 'the list has an ETag')
  t.equal(list.headers['cache-control'], 'private, no-store')
  const body = list.json()
  t.same(Object.keys(body).sort(), ['data', 'next'])
  t.equal(body.next, null)
  t.notOk(list.headers.link, 'no Link header on the last page')
  t.same(body.data.map((r: any) => [r.number, r.action, r.keyName, r.keyId]), [
    [5, 'unpublish', 'test editor', ids.editor],
    [4, 'publish', 'test editor', ids.editor],
    [3, 'related', 'test writer', ids.writer],
    [2, 'update', 'test writer', ids.writer],
    [1, 'create', 'test writer', ids.writer]
  ], 'newest first, each with the key that wrote it')
  let previous = Infinity
  for (const r of body.data) {
    t.match(r.createdAt, ISO, `revision ${r.number} createdAt is RFC 3339 UTC`)
    const ms = Date.parse(r.createdAt)
    t.ok(ms >= t0 - 5 && ms <= t1 + 5, `revision ${r.number} createdAt is when it was written`)
    t.ok(ms <= previous, 'times do not go backwards')
    previous = ms
    t.notOk('article' in r, 'the list leaves out the content')
  }

  // any key may read revisions: a writer too
  const byWriter = await req(app, { method: 'GET', url: `/v1/articles/${a.id}/revisions`, headers: writer })
  t.equal(byWriter.statusCode, 200)
  t.equal(byWriter.json().data.length, 5)
  // If-None-Match on the list
  const again = await req(app, { method: 'GET', url: `/v1/articles/${a.id}/revisions`, headers: { 'if-none-match': list.headers.etag as string } })
  t.equal(again.statusCode, 304)
})

t.test('every kind of write is a revision; article.revision stays in step; failed writes add none', async (t) => {
  const { app, keys } = await build(t)
  const f = await fixture(app)
  const a = await create(app, '/v1/articles', { headline: 'Story' })
  let n = 1
  const step = async (opts: InjectOptions, action: string, status = 200) => {
    await write(t, app, opts, status)
    n += 1
    await assertInStep(t, app, a.id, n, action)
  }
  const fail = async (opts: InjectOptions, status: number, what: string) => {
    const before = await read(app, a.id)
    problem(t, await req(app, opts), status, what)
    const after = await read(app, a.id)
    t.same(after, before, `${what}: the article is unchanged`)
    await assertInStep(t, app, a.id, n, (await revisions(app, a.id)).data[0].action)
  }

  await step({ method: 'PATCH', url: `/v1/articles/${a.id}`, payload: { summary: 'Dek' } }, 'update')
  await step({ method: 'POST', url: `/v1/articles/${a.id}/related`, payload: { articleId: f.t1.id } }, 'related', 201)
  const link = (await read(app, a.id)).related[0]
  await step({ method: 'DELETE', url: `/v1/articles/${a.id}/related/${link.id}` }, 'related', 204)
  await step({ method: 'PUT', url: `/v1/articles/${a.id}/related`, payload: [{ articleId: f.t2.id }] }, 'related')
  await step({ method: 'PATCH', url: `/v1/articles/${a.id}`, payload: { status: 'archived' } }, 'update')
  await step({ method: 'POST', url: `/v1/articles/${a.id}/publish`, payload: { publishedAt: '2014-07-02T00:00:00Z' } }, 'publish')
  await step({ method: 'POST', url: `/v1/articles/${a.id}/revisions/1/restore` }, 'restore')
  await step({ method: 'POST', url: `/v1/articles/${a.id}/unpublish` }, 'unpublish')

  await fail({ method: 'PATCH', url: `/v1/articles/${a.id}`, payload: { sectionId: MISSING } }, 422, 'PATCH with an unknown sectionId')
  await fail({ method: 'PATCH', url: `/v1/articles/${a.id}`, payload: { headline: 'X', bylines: [{ bylineId: MISSING }] } }, 422, 'PATCH with an unknown byline')
  await fail({ method: 'PATCH', url: `/v1/articles/${a.id}`, payload: { nope: 1 } }, 400, 'PATCH with an unknown field')
  await fail({ method: 'PUT', url: `/v1/articles/${a.id}/related`, payload: [{ articleId: a.id }] }, 422, 'PUT related with a self-link')
  await fail({ method: 'POST', url: `/v1/articles/${a.id}/related`, payload: { articleId: MISSING } }, 422, 'POST related to an unknown article')
  await fail({ method: 'POST', url: `/v1/articles/${a.id}/publish`, payload: { publishedAt: 'soon' } }, 400, 'publish with a bad date')
  await fail({ method: 'POST', url: `/v1/articles/${a.id}/revisions/99/restore` }, 404, 'restore of an unknown revision')
  await fail({ method: 'PATCH', url: `/v1/articles/${a.id}`, payload: { headline: 'Y' }, headers: { authorization: `Bearer ${keys.editor}`, 'if-match': '"stale"' } }, 412, 'PATCH with a stale If-Match')
})

t.test('pagination of revisions: limit, next and Link; tampered or foreign cursors are 400', async (t) => {
  const { app } = await build(t)
  const a = await create(app, '/v1/articles', { headline: 'Story' })
  const other = await create(app, '/v1/articles', { headline: 'Other' })
  for (let i = 2; i <= 5; i++) {
    await write(t, app, { method: 'PATCH', url: `/v1/articles/${a.id}`, payload: { summary: `Dek ${i}` } })
  }
  for (let i = 2; i <= 3; i++) {
    await write(t, app, { method: 'PATCH', url: `/v1/articles/${other.id}`, payload: { summary: `Dek ${i}` } })
  }
  const pages: number[][] = []
  let url: string | undefined = `/v1/articles/${a.id}/revisions?limit=2`
  let firstNext = ''
  while (url) {
    const res = await req(app, { method: 'GET', url })
    t.equal(res.statusCode, 200, res.body)
    const body = res.json()
    pages.push(body.data.map((r: any) => r.number))
    if (body.next) {
      firstNext ||= body.next
      t.type(body.next, 'string')
      const link = res.headers.link as string
      t.ok(link, 'a Link header points at the next page')
      const m = /^<([^>]+)>; rel="next"$/.exec(link)
      t.ok(m, `Link is <…>; rel="next": ${link}`)
      const next = new URL(m![1]!, 'http://x')
      t.equal(next.pathname, `/v1/articles/${a.id}/revisions`)
      t.equal(next.searchParams.get('cursor'), body.next, 'Link carries the same cursor')
      t.equal(next.searchParams.get('limit'), '2', 'Link keeps the limit')
      url = m![1]
    } else {
      t.notOk(res.headers.link, 'no Link on the last page')
      url = undefined
    }
    if (pages.length > 5) break
  }
  t.same(pages, [[5, 4], [3, 2], [1]], 'every revision once, newest first')

  const tampered = firstNext.slice(0, -1) + (firstNext.endsWith('A') ? 'B' : 'A')
  problem(t, await req(app, { method: 'GET', url: `/v1/articles/${a.id}/revisions?limit=2&cursor=${encodeURIComponent(tampered)}` }), 400, 'tampered cursor')
  problem(t, await req(app, { method: 'GET', url: `/v1/articles/${a.id}/revisions?cursor=garbage` }), 400, 'garbage cursor')
  problem(t, await req(app, { method: 'GET', url: `/v1/articles/${other.id}/revisions?limit=2&cursor=${encodeURIComponent(firstNext)}` }), 400, 'a cursor of another article\'s revisions')
  const articlesPage = (await req(app, { method: 'GET', url: '/v1/articles?limit=1' })).json()
  t.ok(articlesPage.next)
  problem(t, await req(app, { method: 'GET', url: `/v1/articles/${a.id}/revisions?cursor=${encodeURIComponent(articlesPage.next)}` }), 400, 'a cursor of the article list')
  for (const limit of ['0', '101', 'x']) {
    problem(t, await req(app, { method: 'GET', url: `/v1/articles/${a.id}/revisions?limit=${limit}` }), 400, `limit=${limit}`)
  }
  problem(t, await req(app, { method: 'GET', url: `/v1/articles/${a.id}/revisions?status=draft` }), 400, 'unknown query parameter')
  problem(t, await req(app, { method: 'GET', url: `/v1/articles/${MISSING}/revisions` }), 404, 'revisions of an unknown article')
})

t.test('one revision holds the whole article as it was', async (t) => {
  const { app, keys } = await build(t)
  const ids = await keyIds(app, keys.admin)
  const f = await fixture(app)
  const writer = bearer(keys.writer)
  const a = await write(t, app, {
    method: 'POST',
    url: '/v1/articles',
    headers: writer,
    payload: {
      headline: 'First headline',
      summary: 'First dek',
      body: [p('First <b>body</b><script>x</script>'), { type: 'heading', level: 2, text: 'Sub' }],
      sectionId: f.s1.id,
      bylines: [{ bylineId: f.b1.id, role: 'agency' }, { bylineId: f.b2.id }],
      tags: ['one', 'two'],
      source: 'Xinhua',
      canonicalUrl: 'https://example.org/first',
      language: 'en'
    }
  }, 201)
  await write(t, app, { method: 'PATCH', url: `/v1/articles/${a.id}`, headers: writer, payload: { headline: 'Second headline', slug: 'second-slug', body: [p('Second body')], bylines: [], tags: [] } })
  await write(t, app, {
    method: 'PUT',
    url: `/v1/articles/${a.id}/related`,
    headers: writer,
    payload: [{ articleId: f.t1.id }, { articleId: f.t2.id, headline: 'Our take', summary: 'Our dek' }, { url: 'https://example.org/s', headline: 'Elsewhere', summary: 'Outside' }]
  })
  const pub = await write(t, app, { method: 'POST', url: `/v1/articles/${a.id}/publish`, payload: { publishedAt: '2014-07-02T00:00:00Z' } })
  await write(t, app, { method: 'POST', url: `/v1/articles/${a.id}/unpublish` })

  const r1 = await req(app, { method: 'GET', url: `/v1/articles/${a.id}/revisions/1` })
  t.equal(r1.statusCode, 200, r1.body)
  t.ok(r1.headers.etag)
  t.equal(r1.headers['cache-control'], 'private, no-store')
  const one = r1.json()
  t.match(one, { number: 1, action: 'create', keyName: 'test writer', keyId: ids.writer, createdAt: ISO })
  t.same(one.article, {
    slug: 'first-headline',
    headline: 'First headline',
    summary: 'First dek',
    body: [p('First <b>body</b>'), { type: 'heading', level: 2, text: 'Sub' }],
    status: 'draft',
    publishedAt: null,
    updatedAt: a.updatedAt,
    sectionId: f.s1.id,
    bylines: [{ bylineId: f.b1.id, role: 'agency' }, { bylineId: f.b2.id, role: 'author' }],
    leadPhotoId: null,
    tags: ['one', 'two'],
    source: 'Xinhua',
    canonicalUrl: 'https://example.org/first',
    language: 'en',
    related: []
  }, 'revision 1 is the article as created (sanitized body, input form)')

  const two = await revision(app, a.id, 2)
  t.match(two, { number: 2, action: 'update', keyName: 'test writer' })
  t.match(two.article, { slug: 'second-slug', headline: 'Second headline', summary: 'First dek', body: [p('Second body')], bylines: [], tags: [], related: [], sectionId: f.s1.id })
  t.equal(two.article.body.length, 1)

  const three = await revision(app, a.id, 3)
  t.match(three, { number: 3, action: 'related' })
  t.same(three.article.related, [
    { articleId: f.t1.id, url: null, headline: null, summary: null },
    { articleId: f.t2.id, url: null, headline: 'Our take', summary: 'Our dek' },
    { articleId: null, url: 'https://example.org/s', headline: 'Elsewhere', summary: 'Outside' }
  ], 'related links in input form, in order')

  const four = await revision(app, a.id, 4)
  t.match(four, { number: 4, action: 'publish', keyName: 'test editor', keyId: ids.editor })
  t.equal(four.article.status, 'published')
  t.equal(four.article.publishedAt, '2014-07-02T00:00:00.000Z')
  t.equal(four.article.publishedAt, pub.publishedAt)
  t.equal(four.article.related.length, 3, 'later revisions keep the links')

  const five = await revision(app, a.id, 5)
  t.match(five, { number: 5, action: 'unpublish' })
  t.equal(five.article.status, 'draft')
  t.equal(five.article.publishedAt, null)

  // the stored revision does not change when the article does
  await write(t, app, { method: 'PATCH', url: `/v1/articles/${a.id}`, payload: { headline: 'Third' } })
  t.same(await revision(app, a.id, 1), one, 'revision 1 is unchanged by later writes')

  problem(t, await req(app, { method: 'GET', url: `/v1/articles/${a.id}/revisions/99` }), 404, 'unknown revision number')
  problem(t, await req(app, { method: 'GET', url: `/v1/articles/${f.t2.id}/revisions/2` }), 404, 'a number the other article does not have')
  problem(t, await req(app, { method: 'GET', url: `/v1/articles/${MISSING}/revisions/1` }), 404, 'unknown article')
  for (const n of ['0', 'abc', '-1', '1.5', '99999999999']) {
    const bad = problem(t, await req(app, { method: 'GET', url: `/v1/articles/${a.id}/revisions/${n}` }), 400, `revision ${n}`)
    t.ok(bad.errors?.length, `revision ${n}: names what is wrong`)
  }
})

t.test('restore: brings back the content of n as a new revision, keeping status, publishedAt and slug', async (t) => {
  const { app, keys, anon } = await build(t)
  const ids = await keyIds(app, keys.admin)
  const f = await fixture(app)
  const writer = bearer(keys.writer)
  const a = await write(t, app, {
    method: 'POST',
    url: '/v1/articles',
    headers: writer,
    payload: { headline: 'First headline', summary: 'First dek', body: [p('First body')], sectionId: f.s1.id, bylines: [{ bylineId: f.b1.id, role: 'agency' }], tags: ['one'] }
  }, 201)
  await write(t, app, { method: 'PUT', url: `/v1/articles/${a.id}/related`, headers: writer, payload: [{ articleId: f.t1.id }, { url: 'https://example.org/s', headline: 'Elsewhere' }] }) // 2
  await write(t, app, {
    method: 'PATCH',
    url: `/v1/articles/${a.id}`,
    headers: writer,
    payload: { headline: 'Second headline', slug: 'second-slug', summary: 'Second dek', body: [p('Second body')], sectionId: f.s2.id, bylines: [{ bylineId: f.b2.id }], tags: ['two'] }
  }) // 3
  await write(t, app, { method: 'PUT', url: `/v1/articles/${a.id}/related`, headers: writer, payload: [{ articleId: f.t2.id, headline: 'Rail' }] }) // 4
  const pub = await write(t, app, { method: 'POST', url: `/v1/articles/${a.id}/publish`, payload: { publishedAt: '2014-07-02T00:00:00Z' } }) // 5
  t.equal(pub.revision, 5)

  const before = Date.now()
  const res = await req(app, { method: 'POST', url: `/v1/articles/${a.id}/revisions/2/restore` })
  t.equal(res.statusCode, 200, res.body)
  t.ok(res.headers.etag, 'the answer carries the new ETag')
  const restored = res.json()
  t.equal(restored.revision, 6, 'a new revision: previous + 1')
  t.equal(restored.headline, 'First headline')
  t.equal(restored.summary, 'First dek')
  t.same(restored.body, [p('First body')])
  t.equal(restored.sectionId, f.s1.id)
  t.same(restored.bylines.map((b: any) => [b.bylineId, b.role]), [[f.b1.id, 'agency']])
  t.same(restored.tags, ['one'])
  t.same(restored.related.map((l: any) => [l.articleId, l.url, l.headline]), [[f.t1.id, null, 'Trade grows'], [null, 'https://example.org/s', 'Elsewhere']], 'related links of revision 2 are back, resolved')
  t.equal(restored.status, 'published', 'status is kept')
  t.equal(restored.publishedAt, '2014-07-02T00:00:00.000Z', 'publishedAt is kept')
  t.equal(restored.slug, 'second-slug', 'slug is kept')
  t.ok(Date.parse(restored.updatedAt) >= before - 5, 'restoring is a content edit: updatedAt moves')
  t.same(await read(app, a.id), restored, 'a read answers the same document')

  const list = (await revisions(app, a.id)).data
  t.same(list.map((r: any) => r.number), [6, 5, 4, 3, 2, 1], 'revisions are kept; the restore is added on top')
  t.match(list[0], { number: 6, action: 'restore', keyName: 'test editor', keyId: ids.editor })
  const six = await revision(app, a.id, 6)
  t.match(six.article, { headline: 'First headline', status: 'published', publishedAt: '2014-07-02T00:00:00.000Z', slug: 'second-slug', tags: ['one'] })
  t.same(six.article.related, [
    { articleId: f.t1.id, url: null, headline: null, summary: null },
    { articleId: null, url: 'https://example.org/s', headline: 'Elsewhere', summary: null }
  ])
  t.equal((await revision(app, a.id, 4)).article.headline, 'Second headline', 'older revisions are untouched')

  // restoring the latest content again: still a new revision
  const back = await write(t, app, { method: 'POST', url: `/v1/articles/${a.id}/revisions/4/restore` })
  t.equal(back.revision, 7)
  t.equal(back.headline, 'Second headline')
  t.same(back.related.map((l: any) => [l.articleId, l.headline]), [[f.t2.id, 'Rail']], 'link with its headline override')
  t.same(back.bylines.map((b: any) => [b.bylineId, b.role]), [[f.b2.id, 'author']])
  t.equal(back.status, 'published')
  await assertInStep(t, app, a.id, 7, 'restore')

  // restoring never unpublishes: anonymous readers still get it, by its unchanged slug
  const open = await anon({ method: 'GET', url: '/v1/articles/slug/second-slug' })
  t.equal(open.statusCode, 200)
  t.equal(open.json().revision, 7)
})

t.test('restore drops links to articles deleted since', async (t) => {
  const { app } = await build(t)
  const f = await fixture(app)
  const gone = await create(app, '/v1/articles', { headline: 'Soon gone', summary: 'Deleted later' })
  const a = await create(app, '/v1/articles', { headline: 'Story' })
  await write(t, app, { method: 'PUT', url: `/v1/articles/${a.id}/related`, payload: [{ articleId: gone.id, headline: 'Gone' }, { articleId: f.t1.id }, { url: 'https://example.org/s', headline: 'Elsewhere' }] }) // 2
  await write(t, app, { method: 'PUT', url: `/v1/articles/${a.id}/related`, payload: [] }) // 3
  await write(t, app, { method: 'DELETE', url: `/v1/articles/${gone.id}` }, 204)

  const two = await revision(app, a.id, 2)
  t.equal(two.article.related.length, 3, 'the revision still records the link as it was')
  t.equal(two.article.related[0].articleId, gone.id)

  const res = await req(app, { method: 'POST', url: `/v1/articles/${a.id}/revisions/2/restore` })
  t.equal(res.statusCode, 200, res.body)
  const restored = res.json()
  t.equal(restored.revision, 4)
  t.same(restored.related.map((l: any) => [l.articleId, l.url]), [[f.t1.id, null], [null, 'https://example.org/s']], 'the deleted target is left out, the others kept in order')
  const list = await req(app, { method: 'GET', url: `/v1/articles/${a.id}/related` })
  t.same(list.json().data, restored.related)
  const four = await revision(app, a.id, 4)
  t.equal(four.action, 'restore')
  t.same(four.article.related.map((l: any) => l.articleId), [f.t1.id, null])
  await assertInStep(t, app, a.id, 4, 'restore')
})

t.test('restore brings back what still exists: bylines, photo blocks, section and lead photo deleted since are left out', async (t) => {
  const { app } = await build(t)
  const f = await fixture(app)
  const [lead, inBody, kept] = [await upload(app, { caption: 'Lead' }), await upload(app, { caption: 'Body' }, await image('jpeg', 64, 48, 1)), await upload(app, { caption: 'Kept' }, await image('jpeg', 64, 48, 2))]
  const gone = await create(app, '/v1/sections', { name: 'Gone soon' })
  const byline = await create(app, '/v1/bylines', { name: 'Gone Too', kind: 'person' })
  const a = await create(app, '/v1/articles', {
    headline: 'As it was', sectionId: gone.id, leadPhotoId: lead.id,
    body: [p('One'), { type: 'photo', photoId: inBody.id }, p('Two'), { type: 'photo', photoId: kept.id, caption: 'Mine' }],
    bylines: [{ bylineId: byline.id, role: 'author' }, { bylineId: f.b2.id, role: 'contributor' }]
  }) // 1
  const now = await write(t, app, { method: 'PATCH', url: `/v1/articles/${a.id}`, payload: { headline: 'As it is', sectionId: f.s1.id, leadPhotoId: kept.id, body: [p('New')], bylines: [] } }) // 2
  t.equal(now.revision, 2)
  for (const url of [`/v1/photos/${lead.id}`, `/v1/photos/${inBody.id}`, `/v1/bylines/${byline.id}`, `/v1/sections/${gone.id}`]) {
    await write(t, app, { method: 'DELETE', url }, 204)
  }
  const res = await req(app, { method: 'POST', url: `/v1/articles/${a.id}/revisions/1/restore` })
  t.equal(res.statusCode, 200, res.body)
  const restored = res.json()
  t.equal(restored.headline, 'As it was', 'the text comes back')
  t.same(restored.body.map((b: any) => b.type === 'photo' ? [b.photoId, b.caption] : b.text), ['One', 'Two', [kept.id, 'Mine']], 'the deleted photo\'s block is left out, the others kept in order')
  t.same(restored.bylines.map((b: any) => [b.bylineId, b.role]), [[f.b2.id, 'contributor']], 'the deleted byline is left out')
  t.equal(restored.section.id, f.s1.id, 'the deleted section leaves the current one')
  t.equal(restored.leadPhoto.id, kept.id, 'the deleted lead photo leaves the current one')
  const three = await revision(app, a.id, 3)
  t.equal(three.action, 'restore')
  t.same([three.article.sectionId, three.article.leadPhotoId, three.article.bylines.length, three.article.body.length], [f.s1.id, kept.id, 1, 3], 'the revision holds what was restored')
  await assertInStep(t, app, a.id, 3, 'restore')
})

t.test('restore: stale If-Match, roles and unknown targets are refused and add no revision', async (t) => {
  const { app, keys, anon } = await build(t)
  const writer = bearer(keys.writer)
  const a = await create(app, '/v1/articles', { headline: 'First' })
  const first = await req(app, { method: 'GET', url: `/v1/articles/${a.id}` })
  const staleTag = first.headers.etag as string
  t.ok(staleTag)
  await write(t, app, { method: 'PATCH', url: `/v1/articles/${a.id}`, payload: { headline: 'Second' } }) // 2

  problem(t, await req(app, { method: 'POST', url: `/v1/articles/${a.id}/revisions/1/restore`, headers: { authorization: `Bearer ${keys.editor}`, 'if-match': staleTag } }), 412, 'restore with a stale If-Match')
  await assertInStep(t, app, a.id, 2, 'update')
  t.equal((await read(app, a.id)).headline, 'Second')

  const current = await req(app, { method: 'GET', url: `/v1/articles/${a.id}` })
  const ok = await req(app, { method: 'POST', url: `/v1/articles/${a.id}/revisions/1/restore`, headers: { authorization: `Bearer ${keys.editor}`, 'if-match': current.headers.etag as string } })
  t.equal(ok.statusCode, 200, `a fresh If-Match is accepted: ${ok.body}`)
  t.equal(ok.json().headline, 'First')
  t.not(ok.headers.etag, current.headers.etag, 'the new ETag differs')

  // writers may restore drafts
  const byWriter = await req(app, { method: 'POST', url: `/v1/articles/${a.id}/revisions/2/restore`, headers: writer })
  t.equal(byWriter.statusCode, 200, byWriter.body)
  t.equal(byWriter.json().revision, 4)
  t.equal((await revisions(app, a.id)).data[0].keyName, 'test writer')

  // but not published (or scheduled, or archived) articles
  await write(t, app, { method: 'POST', url: `/v1/articles/${a.id}/publish` }) // 5
  problem(t, await req(app, { method: 'POST', url: `/v1/articles/${a.id}/revisions/1/restore`, headers: writer }), 403, 'writer restoring a published article')
  await assertInStep(t, app, a.id, 5, 'publish')
  t.equal((await read(app, a.id)).headline, 'Second')
  await write(t, app, { method: 'POST', url: `/v1/articles/${a.id}/publish`, payload: { publishedAt: new Date(Date.now() + 3600_000).toISOString() } }) // 6
  problem(t, await req(app, { method: 'POST', url: `/v1/articles/${a.id}/revisions/1/restore`, headers: writer }), 403, 'writer restoring a scheduled article')
  await write(t, app, { method: 'PATCH', url: `/v1/articles/${a.id}`, payload: { status: 'archived' } }) // 7
  problem(t, await req(app, { method: 'POST', url: `/v1/articles/${a.id}/revisions/1/restore`, headers: writer }), 403, 'writer restoring an archived article')
  problem(t, await anon({ method: 'POST', url: `/v1/articles/${a.id}/revisions/1/restore` }), 401, 'anonymous restore')
  await assertInStep(t, app, a.id, 7, 'update')

  problem(t, await req(app, { method: 'POST', url: `/v1/articles/${a.id}/revisions/99/restore` }), 404, 'restore unknown revision')
  problem(t, await req(app, { method: 'POST', url: `/v1/articles/${MISSING}/revisions/1/restore` }), 404, 'restore on unknown article')
  problem(t, await req(app, { method: 'POST', url: `/v1/articles/${a.id}/revisions/0/restore` }), 400, 'restore revision 0')
  problem(t, await req(app, { method: 'POST', url: `/v1/articles/${a.id}/revisions/abc/restore` }), 400, 'restore revision abc')
  await assertInStep(t, app, a.id, 7, 'update')

  // unknown body fields are rejected, not silently dropped (SPEC §4), and the refusal changes nothing
  const unknown = await req(app, { method: 'POST', url: `/v1/articles/${a.id}/revisions/1/restore`, payload: { status: 'published' } })
  problem(t, unknown, 400, 'restore with an unknown body field')
  t.equal((await read(app, a.id)).revision, 7, 'a refused restore adds no revision')
})

t.test('a write that changes nothing records nothing: no revision, the same Updated date and ETag', async (t) => {
  const { app } = await build(t)
  const section = await create(app, '/v1/sections', { name: 'World' })
  const byline = await create(app, '/v1/bylines', { name: 'Li Wei' })
  const article = await create(app, '/v1/articles', {
    headline: 'Gas deal signed', summary: 'A pipeline', sectionId: section.id, tags: ['energy', 'russia'],
    bylines: [{ bylineId: byline.id, role: 'author' }], body: [{ type: 'paragraph', text: 'It was <b>signed</b>.' }, { type: 'quote', text: 'A good day', attribution: 'The minister' }],
    status: 'published', publishedAt: '2024-03-01T08:00:00Z', updatedAt: '2024-03-01T09:00:00Z'
  })
  const etagOf = async () => (await req(app, { method: 'GET', url: `/v1/articles/${article.id}` })).headers.etag
  const etag = await etagOf()
  const count = async () => (await revisions(app, article.id)).data.length
  const n = await count()

  const resent = {
    headline: article.headline, summary: article.summary, sectionId: article.sectionId, tags: article.tags,
    bylines: article.bylines.map((b: any) => ({ bylineId: b.bylineId, role: b.role })), body: article.body.map(({ ...b }: any) => b),
    slug: article.slug, status: article.status, publishedAt: article.publishedAt, leadPhotoId: null, source: null
  }
  for (const [what, write] of [
    ['the same headline', { method: 'PATCH', url: `/v1/articles/${article.id}`, payload: { headline: 'Gas deal signed' } }],
    ['the whole article as it stands', { method: 'PATCH', url: `/v1/articles/${article.id}`, payload: resent }],
    ['the same tags, given again', { method: 'PATCH', url: `/v1/articles/${article.id}`, payload: { tags: ['energy', ' russia', 'energy'] } }],
    ['publish again', { method: 'POST', url: `/v1/articles/${article.id}/publish` }],
    ['publish again at its date', { method: 'POST', url: `/v1/articles/${article.id}/publish`, payload: { publishedAt: '2024-03-01T08:00:00.000Z' } }]
  ] as const) {
    const res = await req(app, { ...write, headers: { 'if-match': etag } } as InjectOptions)
    t.equal(res.statusCode, 200, `${what}: ${res.statusCode === 200 ? 'answered' : res.body}`)
    t.same([res.json().revision, res.json().updatedAt, res.headers.etag], [article.revision, '2024-03-01T09:00:00.000Z', etag], `${what}: the article stands as it was`)
    t.equal(await count(), n, `${what}: no revision recorded`)
  }

  const draft = await create(app, '/v1/articles', { headline: 'A draft' })
  const unpublished = await req(app, { method: 'POST', url: `/v1/articles/${draft.id}/unpublish` })
  t.same([unpublished.json().revision, (await revisions(app, draft.id)).data.length], [1, 1], 'unpublishing a draft records nothing')

  const edited = await req(app, { method: 'PATCH', url: `/v1/articles/${article.id}`, headers: { 'if-match': etag }, payload: { headline: 'Gas deal signed at last' } })
  t.equal(edited.json().revision, article.revision + 1, 'a real change is a new revision')
  t.not(edited.json().updatedAt, '2024-03-01T09:00:00.000Z', 'and moves the Updated date')
  t.equal(await count(), n + 1)
  const restored = await req(app, { method: 'POST', url: `/v1/articles/${article.id}/revisions/${article.revision + 1}/restore` })
  t.equal(restored.json().revision, article.revision + 2, 'a restore is always recorded, even of the content as it stands')
})
