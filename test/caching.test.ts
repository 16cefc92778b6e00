import t from 'tap'
import type { InjectOptions } from 'fastify'
import { build, create, upload, image, multipart, bearer, problem, type Response } from './helper.js'
import type { App } from '../src/app.js'

/* eslint-disable @typescript-eslint/no-explicit-any */

const p = (text: string) => ({ type: 'paragraph', text })
const JSON_TAG = /^"[\w-]+"$/
const PUBLIC = 'public, max-age=60, stale-while-revalidate=300'
const PRIVATE = 'private, no-store'


/**
 * A small newsroom: News > Harbin Today, an agency byline, a photo used in the body, a published
 * article linking a published story and a draft, and an unrelated published story.
 */
async function newsroom (app: App) {
  const news = await create(app, '/v1/sections', { name: 'News', slug: 'news' })
  const harbin = await create(app, '/v1/sections', { name: 'Harbin Today', parentId: news.id })
  const sport = await create(app, '/v1/sections', { name: 'Sport' })
  const xinhua = await create(app, '/v1/bylines', { name: 'Xinhua', kind: 'agency' })
  const other = await create(app, '/v1/bylines', { name: 'Li Wei' })
  const photo = await upload(app, { caption: 'The expo at night', credit: 'Xinhua' })
  const lead = await upload(app, { caption: 'Lead', credit: 'Xinhua' }, await image('jpeg', 64, 48, 3))
  const target = await create(app, '/v1/articles', {
    headline: 'Trade with Russia grows', summary: 'Exports up', status: 'published', publishedAt: '2014-06-30T00:00:00Z', sectionId: harbin.id
  })
  const draft = await create(app, '/v1/articles', { headline: 'Ice festival record (draft)', summary: 'Secret numbers', sectionId: harbin.id })
  const article = await create(app, '/v1/articles', {
    headline: 'More economic interactions between Harbin and Russia',
    summary: 'The expo opens',
    sectionId: harbin.id,
    bylines: [{ bylineId: xinhua.id, role: 'agency' }],
    leadPhotoId: lead.id,
    body: [p('One.'), p('Two.'), { type: 'photo', photoId: photo.id }, p('Three.')],
    tags: ['harbin'],
    status: 'published',
    publishedAt: '2014-07-02T08:00:00Z'
  })
  const put = await app.inject({ method: 'PUT', url: `/v1/articles/${article.id}/related`, payload: [{ articleId: target.id }, { articleId: draft.id }] })
  if (put.statusCode !== 200) throw new Error(`PUT related answered ${put.statusCode}: ${put.body}`)
  const unrelated = await create(app, '/v1/articles', {
    headline: 'Football results', sectionId: sport.id, bylines: [{ bylineId: other.id }], status: 'published', publishedAt: '2014-07-01T00:00:00Z'
  })
  return { news, harbin, sport, xinhua, other, photo, lead, target, draft, article, unrelated, links: put.json().data }
}

const get = (app: App, url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers })

async function tagOf (send: (o: InjectOptions) => Promise<Response>, url: string): Promise<string> {
  const res = await send({ method: 'GET', url })
  if (res.statusCode !== 200) throw new Error(`GET ${url} answered ${res.statusCode}: ${res.body}`)
  const etag = res.headers.etag
  if (typeof etag !== 'string') throw new Error(`GET ${url} has no ETag`)
  return etag
}

/** 200 with an ETag; the same tag back is 304 with no body (strong, weak and in a list); another tag is a 200. */
async function conditionalGet (t: any, send: (o: InjectOptions) => Promise<Response>, url: string, who: string, extra: Record<string, string> = {}) {
  const what = `${who} GET ${url}`
  const first = await send({ method: 'GET', url, headers: { ...extra } })
  t.equal(first.statusCode, 200, `${what} answers 200: ${first.body.slice(0, 200)}`)
  const etag = first.headers.etag as string
  t.match(etag, /^"[^"]+"$/, `${what} carries a strong ETag`)
  const again = await send({ method: 'GET', url, headers: { ...extra } })
  t.equal(again.headers.etag, etag, `${what}: the ETag is stable while nothing changes`)

  for (const [form, header] of [['exact', etag], ['weak', `W/${etag}`], ['list', `"not-this-one", ${etag}, "nor-this"`], ['star', '*']] as const) {
    const res = await send({ method: 'GET', url, headers: { ...extra, 'if-none-match': header } })
    t.equal(res.statusCode, 304, `${what} with If-None-Match (${form}) is 304`)
    t.equal(res.rawPayload.length, 0, `${what} 304 (${form}) has an empty body`)
    t.equal(res.headers.etag, etag, `${what} 304 (${form}) repeats the ETag`)
    t.equal(res.headers['cache-control'], first.headers['cache-control'], `${what} 304 (${form}) repeats Cache-Control`)
  }
  const other = await send({ method: 'GET', url, headers: { ...extra, 'if-none-match': '"something-else", W/"another"' } })
  t.equal(other.statusCode, 200, `${what} with a different If-None-Match is 200`)
  t.ok(other.body.length > 0, `${what} with a different If-None-Match has a body`)
  t.same(other.body, first.body, `${what}: same body`)
  t.equal(other.headers.etag, etag)
  return first
}

t.test('every GET route answers an ETag and honours If-None-Match, anonymous and with a key', async (t) => {
  const { app, anon, keys } = await build(t)
  const n = await newsroom(app)
  const keyId = (await get(app, '/v1/keys', bearer(keys.admin))).json().data[0].id

  // one concrete URL per GET route of the OpenAPI document (a new route must be added here)
  const urls: Record<string, string[]> = {
    '/v1/sections': ['/v1/sections', '/v1/sections?parent=root', `/v1/sections?parent=${n.news.id}`, '/v1/sections?limit=1'],
    '/v1/sections/{id}': [`/v1/sections/${n.harbin.id}`],
    '/v1/sections/slug/{slug}': [`/v1/sections/slug/${n.harbin.slug}`],
    '/v1/sections/{id}/articles': [`/v1/sections/${n.harbin.id}/articles`, `/v1/sections/${n.news.id}/articles?descendants=true`],
    '/v1/bylines': ['/v1/bylines', '/v1/bylines?kind=agency', '/v1/bylines?q=xin'],
    '/v1/bylines/{id}': [`/v1/bylines/${n.xinhua.id}`],
    '/v1/bylines/slug/{slug}': [`/v1/bylines/slug/${n.xinhua.slug}`],
    '/v1/bylines/{id}/articles': [`/v1/bylines/${n.xinhua.id}/articles`],
    '/v1/photos': ['/v1/photos', '/v1/photos?limit=1'],
    '/v1/photos/{id}': [`/v1/photos/${n.photo.id}`],
    '/v1/photos/{id}/file': [`/v1/photos/${n.photo.id}/file`],
    '/v1/articles': [
      '/v1/articles',
      '/v1/articles?limit=1',
      '/v1/articles?section=news&descendants=true',
      // a date archive
      '/v1/articles?publishedAfter=2014-07-01T00:00:00Z&publishedBefore=2014-08-01T00:00:00Z',
      '/v1/articles?tag=harbin',
      '/v1/articles?sort=-updatedAt',
      '/v1/articles?sort=changedAt&changedSince=2014-07-01T00:00:00Z'
    ],
    '/v1/articles/removed': ['/v1/articles/removed', '/v1/articles/removed?since=2014-07-01T00:00:00Z'],
    '/v1/articles/{id}': [`/v1/articles/${n.article.id}`],
    '/v1/articles/slug/{slug}': [`/v1/articles/slug/${n.article.slug}`],
    '/v1/articles/{id}/related': [`/v1/articles/${n.article.id}/related`],
    '/v1/articles/{id}/revisions': [`/v1/articles/${n.article.id}/revisions`],
    '/v1/articles/{id}/revisions/{n}': [`/v1/articles/${n.article.id}/revisions/1`],
    '/v1/keys': ['/v1/keys'],
    '/v1/keys/{id}': [`/v1/keys/${keyId}`]
  }
  const keyedOnly = new Set(['/v1/articles/{id}/revisions', '/v1/articles/{id}/revisions/{n}', '/v1/keys', '/v1/keys/{id}'])
  const adminOnly = new Set(['/v1/keys', '/v1/keys/{id}'])

  const doc = (await get(app, '/openapi.json')).json()
  const getRoutes = Object.entries(doc.paths).filter(([path, ops]: [string, any]) => path.startsWith('/v1') && ops.get).map(([path]) => path)
  t.ok(getRoutes.length >= 19, 'the OpenAPI document lists the GET routes')
  for (const route of getRoutes) t.ok(urls[route], `GET ${route} is covered by this test`)

  for (const [route, list] of Object.entries(urls)) {
    for (const url of list) {
      const key = adminOnly.has(route) ? keys.admin : keys.editor
      const keyed = await conditionalGet(t, (o) => app.inject({ ...o, headers: { ...o.headers, ...bearer(key) } }), url, 'keyed')
      if (route !== '/v1/photos/{id}/file') t.match(keyed.headers.etag, JSON_TAG)
      if (!keyedOnly.has(route)) {
        const pub = await conditionalGet(t, anon, url, 'anonymous')
        if (route !== '/v1/photos/{id}/file') t.match(pub.headers.etag, JSON_TAG)
      }
    }
  }
})

t.test('the ETag is the same whichever URL shows the same thing, and differs when the content differs', async (t) => {
  const { app, anon } = await build(t)
  const n = await newsroom(app)
  const byId = await tagOf(anon, `/v1/articles/${n.article.id}`)
  t.equal(await tagOf(anon, `/v1/articles/slug/${n.article.slug}`), byId, 'by id and by slug: same representation, same tag')
  t.not(await tagOf(anon, `/v1/articles/${n.unrelated.id}`), byId, 'another article has another tag')
  // the editor sees the draft related link: another representation, another tag
  const keyed = await tagOf(app.inject.bind(app), `/v1/articles/${n.article.id}`)
  t.not(keyed, byId, 'the keyed view (showing the draft link) has its own tag')
  const res = await anon({ method: 'GET', url: `/v1/articles/${n.article.id}`, headers: { 'if-none-match': keyed } })
  t.equal(res.statusCode, 200, "the editor's tag does not validate the anonymous copy")
})

t.test('the photo file answers ETag and Last-Modified, and 304 to either', async (t) => {
  const { app, anon } = await build(t)
  const photo = await upload(app, { caption: 'x' })
  const res = await anon({ method: 'GET', url: `/v1/photos/${photo.id}/file` })
  t.equal(res.statusCode, 200)
  t.equal(res.headers.etag, `"${photo.sha256}"`)
  t.ok(res.headers['last-modified'], 'Last-Modified')
  t.ok(Date.parse(res.headers['last-modified'] as string) > 0)
  const nm = await anon({ method: 'GET', url: `/v1/photos/${photo.id}/file`, headers: { 'if-none-match': `W/"${photo.sha256}"` } })
  t.equal(nm.statusCode, 304)
  t.equal(nm.rawPayload.length, 0)
})

t.test('the anonymous article ETag changes when anything the page shows changes, and only then', async (t) => {
  const { app, anon } = await build(t)
  const n = await newsroom(app)
  const url = `/v1/articles/${n.article.id}`
  const slugUrl = `/v1/articles/slug/${n.article.slug}`
  const read = async () => {
    const res = await anon({ method: 'GET', url })
    t.equal(res.statusCode, 200)
    const bySlug = await anon({ method: 'GET', url: slugUrl })
    t.equal(bySlug.headers.etag, res.headers.etag, 'by slug, the same tag')
    return { etag: res.headers.etag as string, body: res.json() }
  }
  let last = await read()
  t.same(last.body.related.map((l: any) => l.articleId), [n.target.id], 'anonymous readers do not see the draft link')

  const unchanged = async (what: string) => {
    const now = await read()
    t.equal(now.etag, last.etag, `unchanged by ${what}`)
    const res = await anon({ method: 'GET', url, headers: { 'if-none-match': last.etag } })
    t.equal(res.statusCode, 304, `still 304 after ${what}`)
  }
  const changed = async (what: string, check: (body: any) => void) => {
    const now = await read()
    t.not(now.etag, last.etag, `changed by ${what}`)
    check(now.body)
    const res = await anon({ method: 'GET', url, headers: { 'if-none-match': last.etag } })
    t.equal(res.statusCode, 200, `the old tag is no longer current after ${what}`)
    t.equal(res.headers.etag, now.etag)
    last = now
  }
  const patch = async (path: string, payload: object) => {
    const res = await app.inject({ method: 'PATCH', url: path, payload })
    t.equal(res.statusCode, 200, `PATCH ${path}: ${res.body.slice(0, 200)}`)
  }

  // things the page does not show
  await patch(`/v1/articles/${n.unrelated.id}`, { headline: 'Football results, updated' })
  await unchanged('editing an unrelated article')
  await create(app, '/v1/articles', { headline: 'Another draft', sectionId: n.harbin.id })
  await unchanged('a new draft in the same section')
  await patch(`/v1/sections/${n.sport.id}`, { name: 'Sports' })
  await unchanged('renaming another section')
  await patch(`/v1/bylines/${n.other.id}`, { name: 'Li Wei Jr.' })
  await unchanged("editing another article's byline")
  await patch(`/v1/articles/${n.draft.id}`, { headline: 'Ice festival record, still a draft' })
  await unchanged('editing a draft link target readers cannot see')
  await upload(app, { caption: 'Unused' }, await image('png', 20, 20, 9))
  await unchanged('uploading an unrelated photo')

  // things it does show
  await patch(`/v1/sections/${n.news.id}`, { name: 'World News' })
  await changed("renaming the section's parent (breadcrumb)", (a) => {
    t.equal(a.section.breadcrumb[0].name, 'World News')
    t.equal(a.section.id, n.harbin.id)
  })
  await patch(`/v1/sections/${n.harbin.id}`, { name: 'Harbin Now' })
  await changed('renaming its own section', (a) => t.equal(a.section.name, 'Harbin Now'))
  await patch(`/v1/bylines/${n.xinhua.id}`, { name: 'Xinhua News Agency' })
  await changed("editing its byline's name", (a) => t.equal(a.bylines[0].name, 'Xinhua News Agency'))
  await patch(`/v1/photos/${n.photo.id}`, { caption: 'The expo by night' })
  await changed("changing a body photo's caption", (a) => t.equal(a.body[2].caption, 'The expo by night'))
  await patch(`/v1/photos/${n.lead.id}`, { credit: 'Photo/Xinhua' })
  await changed("changing the lead photo's credit", (a) => t.equal(a.leadPhoto.credit, 'Photo/Xinhua'))
  await patch(`/v1/articles/${n.target.id}`, { headline: 'Trade with Russia soars' })
  await changed("a related story's new headline", (a) => t.equal(a.related[0].headline, 'Trade with Russia soars'))
  const pub = await app.inject({ method: 'POST', url: `/v1/articles/${n.draft.id}/publish` })
  t.equal(pub.statusCode, 200, pub.body)
  await changed('publishing a related draft target', (a) => {
    t.same(a.related.map((l: any) => l.articleId), [n.target.id, n.draft.id], 'the published target now appears')
    t.equal(a.related[1].headline, 'Ice festival record, still a draft')
  })
  const unpub = await app.inject({ method: 'POST', url: `/v1/articles/${n.target.id}/unpublish` })
  t.equal(unpub.statusCode, 200, unpub.body)
  await changed('unpublishing a related target', (a) => t.same(a.related.map((l: any) => l.articleId), [n.draft.id]))
  await patch(`/v1/articles/${n.draft.id}`, { summary: 'A new one-line dek' })
  await changed("a related story's new summary", (a) => t.equal(a.related[0].summary, 'A new one-line dek'))
  const png = await image('png', 80, 60, 7)
  const form = multipart({}, { data: png, filename: 'new.png' })
  const replaced = await app.inject({ method: 'PUT', url: `/v1/photos/${n.photo.id}/file`, ...form })
  t.equal(replaced.statusCode, 200, replaced.body)
  await changed("replacing a body photo's image", (a) => {
    t.equal(a.body[2].width, 80)
    t.equal(a.body[2].mimeType, 'image/png')
  })
  const soon = new Date(Date.now() + 1500).toISOString()
  const scheduled = await app.inject({ method: 'POST', url: `/v1/articles/${n.target.id}/publish`, payload: { publishedAt: soon } })
  t.equal(scheduled.statusCode, 200, scheduled.body)
  await unchanged('scheduling a related target (not visible yet)')
  await new Promise((resolve) => setTimeout(resolve, Date.parse(soon) - Date.now() + 300))
  await changed('a scheduled related target coming out', (a) => t.same(a.related.map((l: any) => l.articleId), [n.target.id, n.draft.id]))
  const gone = await app.inject({ method: 'DELETE', url: `/v1/articles/${n.draft.id}` })
  t.equal(gone.statusCode, 204)
  await changed('deleting a related target', (a) => t.same(a.related.map((l: any) => l.articleId), [n.target.id]))
  await patch(url, { summary: 'New dek' })
  await changed('editing the article itself', (a) => t.equal(a.summary, 'New dek'))
})

t.test('HEAD answers the ETag of GET and honours If-None-Match', async (t) => {
  const { app, anon } = await build(t)
  const n = await newsroom(app)
  for (const url of [`/v1/articles/${n.article.id}`, '/v1/articles', `/v1/sections/${n.harbin.id}`]) {
    const got = await anon({ method: 'GET', url })
    const head = await anon({ method: 'HEAD', url })
    t.equal(head.statusCode, 200)
    t.equal(head.body, '')
    t.equal(head.headers.etag, got.headers.etag, `HEAD ${url}: same ETag as GET`)
    t.equal(head.headers['cache-control'], PUBLIC)
    const nm = await anon({ method: 'HEAD', url, headers: { 'if-none-match': got.headers.etag as string } })
    t.equal(nm.statusCode, 304, `HEAD ${url} with If-None-Match is 304`)
  }
})

t.test('list and front ETags change when a listed article changes', async (t) => {
  const { app, anon } = await build(t)
  const n = await newsroom(app)
  const urls = ['/v1/articles', `/v1/sections/${n.news.id}/articles?descendants=true`, `/v1/bylines/${n.xinhua.id}/articles`, '/v1/sections']
  const before = await Promise.all(urls.map((u) => tagOf(anon, u)))
  const res = await app.inject({ method: 'PATCH', url: `/v1/sections/${n.news.id}`, payload: { name: 'World News' } })
  t.equal(res.statusCode, 200)
  const after = await Promise.all(urls.map((u) => tagOf(anon, u)))
  urls.forEach((u, i) => t.not(after[i], before[i], `${u}: a renamed ancestor section changes the tag`))
  const photos = await tagOf(anon, '/v1/photos')
  await app.inject({ method: 'PATCH', url: `/v1/photos/${n.photo.id}`, payload: { altText: 'Crowds at the expo' } })
  t.not(await tagOf(anon, '/v1/photos'), photos, 'the photo list tag changes with a photo')
  const bylines = await tagOf(anon, '/v1/bylines')
  await app.inject({ method: 'PATCH', url: `/v1/bylines/${n.other.id}`, payload: { title: 'Staff reporter' } })
  t.not(await tagOf(anon, '/v1/bylines'), bylines, 'the byline list tag changes with a byline')
})

/** A stale If-Match is a 412 problem that changes nothing. */
async function stale (t: any, app: App, opts: InjectOptions, readUrl: string, expectTag: string, what: string) {
  const res = await app.inject(opts)
  problem(t, res, 412, what)
  t.equal(res.headers['cache-control'], 'no-store', `${what}: a 412 is not cached`)
  const now = await get(app, readUrl)
  t.equal(now.statusCode, 200, `${what}: still there`)
  t.equal(now.headers.etag, expectTag, `${what}: nothing changed`)
}

/** A current If-Match succeeds; the answer's ETag is what the same key reads next. */
async function current (t: any, app: App, opts: InjectOptions, readUrl: string, status: number, what: string) {
  const res = await app.inject(opts)
  t.equal(res.statusCode, status, `${what} with a current If-Match: ${res.body.slice(0, 300)}`)
  t.equal(res.headers['cache-control'], 'no-store', `${what}: a write is not cached`)
  const next = await app.inject({ method: 'GET', url: readUrl, headers: opts.headers?.authorization ? { authorization: opts.headers.authorization as string } : {} })
  if (status === 204) {
    if (next.statusCode === 404) {
      t.notOk(res.headers.etag, `${what}: nothing left to tag`)
    } else {
      // a part removed (a related link): the 204 tags what is left
      t.match(res.headers.etag, JSON_TAG, `${what} answers the new ETag`)
      t.equal(next.headers.etag, res.headers.etag, `${what}: the answered ETag is the one a following GET gets`)
    }
    return res
  }
  t.match(res.headers.etag, JSON_TAG, `${what} answers the new ETag`)
  t.equal(next.statusCode, 200)
  t.equal(next.headers.etag, res.headers.etag, `${what}: the answered ETag is the one a following GET gets`)
  t.same(next.json(), res.json(), `${what}: the answered document is the one a following GET gets`)
  return res
}

t.test('sections: If-Match on PATCH and DELETE', async (t) => {
  const { app } = await build(t)
  const s = await create(app, '/v1/sections', { name: 'World' })
  const url = `/v1/sections/${s.id}`
  const old = await tagOf(app.inject.bind(app), url)
  const res = await current(t, app, { method: 'PATCH', url, headers: { 'if-match': old }, payload: { name: 'World news' } }, url, 200, 'PATCH section')
  const tag = res.headers.etag as string
  t.not(tag, old)
  await stale(t, app, { method: 'PATCH', url, headers: { 'if-match': old }, payload: { name: 'Lost update' } }, url, tag, 'PATCH section with a stale tag')
  await stale(t, app, { method: 'PATCH', url, headers: { 'if-match': `W/${tag}` }, payload: { name: 'Weak' } }, url, tag, 'PATCH section with a weak tag (If-Match compares strongly)')
  await stale(t, app, { method: 'DELETE', url, headers: { 'if-match': old } }, url, tag, 'DELETE section with a stale tag')
  const weak = await app.inject({ method: 'PATCH', url, headers: { 'if-match': `W/${tag}` }, payload: { name: 'Weak' } })
  t.match(weak.json().detail, /a weak tag \(W\/"…"\) never matches/, 'a weak tag is told why it fails')
  // not an entity tag (its quotes stripped, as shell scripts do; garbage; an empty list): a 400 saying what is wanted,
  // not a 412 telling the editor someone else changed it
  // sent empty, as a script sends an ETag it failed to capture: a precondition all the same, not none
  for (const header of [tag.slice(1, -1), 'garbage', ',', `"a" b`, '', '  ']) {
    for (const [method, payload] of [['PATCH', { name: 'Unquoted' }], ['DELETE', undefined]] as const) {
      const res = await app.inject({ method, url, headers: { 'if-match': header }, payload })
      const body = problem(t, res, 400, `${method} with If-Match: ${header}`)
      t.match(body.detail, /^If-Match must be \* or entity tags in double quotes, as the ETag header gives them/)
    }
    problem(t, await app.inject({ method: 'PATCH', url, headers: { 'if-none-match': header }, payload: { name: 'x' } }), 400, `If-None-Match: ${header}`)
  }
  t.equal((await get(app, url)).headers.etag, tag, 'none of them changed anything')
  const star = await current(t, app, { method: 'PATCH', url, headers: { 'if-match': '*' }, payload: { description: 'All of it' } }, url, 200, 'PATCH section with If-Match: *')
  const listed = await current(t, app, { method: 'PATCH', url, headers: { 'if-match': `"nope", ${star.headers.etag}` }, payload: { position: 3 } }, url, 200, 'PATCH section with a list holding the current tag')
  await current(t, app, { method: 'DELETE', url, headers: { 'if-match': listed.headers.etag as string } }, url, 204, 'DELETE section')
  t.equal((await get(app, url)).statusCode, 404, 'deleted')
})

t.test('bylines: If-Match on PATCH and DELETE', async (t) => {
  const { app } = await build(t)
  const b = await create(app, '/v1/bylines', { name: 'Wang Fang' })
  const url = `/v1/bylines/${b.id}`
  const old = await tagOf(app.inject.bind(app), url)
  const res = await current(t, app, { method: 'PATCH', url, headers: { 'if-match': old }, payload: { title: 'Staff reporter' } }, url, 200, 'PATCH byline')
  const tag = res.headers.etag as string
  await stale(t, app, { method: 'PATCH', url, headers: { 'if-match': old }, payload: { title: 'Lost update' } }, url, tag, 'PATCH byline with a stale tag')
  await stale(t, app, { method: 'DELETE', url, headers: { 'if-match': old } }, url, tag, 'DELETE byline with a stale tag')
  await current(t, app, { method: 'PATCH', url, headers: { 'if-match': '*' }, payload: { bio: 'Covers Harbin' } }, url, 200, 'PATCH byline with If-Match: *')
  await current(t, app, { method: 'DELETE', url, headers: { 'if-match': await tagOf(app.inject.bind(app), url) } }, url, 204, 'DELETE byline')
  t.equal((await get(app, url)).statusCode, 404)
})

t.test('photos: If-Match on PATCH, PUT file and DELETE', async (t) => {
  const { app } = await build(t)
  const photo = await upload(app, { caption: 'Before' })
  const url = `/v1/photos/${photo.id}`
  const old = await tagOf(app.inject.bind(app), url)
  const res = await current(t, app, { method: 'PATCH', url, headers: { 'if-match': old }, payload: { caption: 'After' } }, url, 200, 'PATCH photo')
  const tag = res.headers.etag as string
  await stale(t, app, { method: 'PATCH', url, headers: { 'if-match': old }, payload: { caption: 'Lost' } }, url, tag, 'PATCH photo with a stale tag')

  const png = await image('png', 30, 20, 5)
  const form = multipart({}, { data: png, filename: 'new.png' })
  await stale(t, app, { method: 'PUT', url: `${url}/file`, ...form, headers: { ...form.headers, 'if-match': old } }, url, tag, 'PUT photo file with a stale tag')
  const file = await get(app, `${url}/file`)
  t.equal(file.headers.etag, `"${photo.sha256}"`, 'the old bytes are still served')
  await stale(t, app, { method: 'PUT', url: `${url}/file`, payload: png, headers: { 'content-type': 'image/png', 'if-match': old } }, url, tag, 'PUT raw photo file with a stale tag')

  const form2 = multipart({}, { data: png, filename: 'new.png' })
  const replaced = await current(t, app, { method: 'PUT', url: `${url}/file`, ...form2, headers: { ...form2.headers, 'if-match': tag } }, url, 200, 'PUT photo file')
  t.equal(replaced.json().width, 30)
  // the file's own ETag (what GET …/file answers) is as good a condition for replacing it as the record's
  const fileTag = (await get(app, `${url}/file`)).headers.etag as string
  t.equal(fileTag, `"${replaced.json().sha256}"`)
  const wider = await image('png', 40, 20, 6)
  await stale(t, app, { method: 'PUT', url: `${url}/file`, payload: wider, headers: { 'content-type': 'image/png', 'if-match': `"${photo.sha256}"` } }, url, replaced.headers.etag as string, 'PUT photo file with the old file\'s ETag')
  const byFile = await current(t, app, { method: 'PUT', url: `${url}/file`, payload: wider, headers: { 'content-type': 'image/png', 'if-match': fileTag } }, url, 200, 'PUT photo file with the file\'s ETag')
  t.equal(byFile.json().width, 40)
  await stale(t, app, { method: 'PATCH', url, headers: { 'if-match': fileTag }, payload: { caption: 'Lost' } }, url, byFile.headers.etag as string, 'the file\'s ETag does not stand for the record on a PATCH')
  const tag2 = byFile.headers.etag as string
  await stale(t, app, { method: 'DELETE', url, headers: { 'if-match': tag } }, url, tag2, 'DELETE photo with a stale tag')
  await current(t, app, { method: 'DELETE', url, headers: { 'if-match': tag2 } }, url, 204, 'DELETE photo')
  t.equal((await get(app, url)).statusCode, 404)
})

t.test('sections, bylines, photos: a PATCH that changes nothing keeps the ETag and Updated date, so others\' If-Match stays good', async (t) => {
  const { app } = await build(t)
  const parent = await create(app, '/v1/sections', { name: 'News' })
  const section = await create(app, '/v1/sections', { name: 'World', slug: 'world', description: 'Abroad', parentId: parent.id })
  const byline = await create(app, '/v1/bylines', { name: 'Wang Fang', kind: 'person', title: 'Reporter' })
  const photo = await upload(app, { caption: 'Harbin', credit: 'Xinhua' })
  await app.inject({ method: 'PATCH', url: `/v1/photos/${photo.id}`, payload: { focalPoint: { x: 0.25, y: 0.5 } } })
  const cases: [string, Record<string, unknown>, Record<string, unknown>][] = [
    [`/v1/sections/${section.id}`, { name: 'World', slug: 'world', description: 'Abroad', parentId: parent.id, position: section.position }, { description: 'Elsewhere' }],
    [`/v1/bylines/${byline.id}`, { name: 'Wang Fang', kind: 'person', title: 'Reporter', bio: null }, { title: 'Staff reporter' }],
    [`/v1/photos/${photo.id}`, { caption: 'Harbin', credit: 'Xinhua', altText: null, focalPoint: { x: 0.25 } }, { credit: 'AP' }]
  ]
  for (const [url, same, change] of cases) {
    const before = await get(app, url)
    const tag = before.headers.etag as string
    const res = await app.inject({ method: 'PATCH', url, headers: { 'if-match': tag }, payload: same })
    t.equal(res.statusCode, 200, `${url}: ${res.body}`)
    t.equal(res.headers.etag, tag, `${url}: a PATCH of the values it has keeps the ETag`)
    t.same(res.json(), before.json(), `${url}: and everything shown, the Updated date included`)
    const edit = await app.inject({ method: 'PATCH', url, headers: { 'if-match': tag }, payload: change })
    t.equal(edit.statusCode, 200, `${url}: a colleague's If-Match read before it is still good`)
    t.not(edit.headers.etag, tag, `${url}: a real change is a new ETag`)
    t.not(edit.json().updatedAt, before.json().updatedAt, `${url}: and a new Updated date`)
  }
})

t.test('articles: If-Match on PATCH, publish, unpublish, restore and DELETE', async (t) => {
  const { app, keys } = await build(t)
  const a = await create(app, '/v1/articles', { headline: 'Harbin expo opens', body: [p('One.')] })
  const url = `/v1/articles/${a.id}`
  const read = () => tagOf(app.inject.bind(app), url)
  const v1 = await read()
  const patched = await current(t, app, { method: 'PATCH', url, headers: { 'if-match': v1 }, payload: { summary: 'Dek' } }, url, 200, 'PATCH article')
  const v2 = patched.headers.etag as string
  t.equal(patched.json().revision, 2)
  await stale(t, app, { method: 'PATCH', url, headers: { 'if-match': v1 }, payload: { headline: 'Lost update' } }, url, v2, 'PATCH article with a stale tag')
  await stale(t, app, { method: 'PATCH', url, headers: { 'if-match': v1, 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify({ headline: 'Lost' }) }, url, v2, 'merge-patch with a stale tag')
  await stale(t, app, { method: 'POST', url: `${url}/publish`, headers: { 'if-match': v1 } }, url, v2, 'publish with a stale tag')
  await stale(t, app, { method: 'POST', url: `${url}/revisions/1/restore`, headers: { 'if-match': v1 } }, url, v2, 'restore with a stale tag')
  await stale(t, app, { method: 'DELETE', url, headers: { 'if-match': v1 } }, url, v2, 'DELETE article with a stale tag')

  const published = await current(t, app, { method: 'POST', url: `${url}/publish`, headers: { 'if-match': v2 } }, url, 200, 'publish')
  t.equal(published.json().status, 'published')
  const v3 = published.headers.etag as string
  await stale(t, app, { method: 'POST', url: `${url}/unpublish`, headers: { 'if-match': v2 } }, url, v3, 'unpublish with a stale tag')
  const unpublished = await current(t, app, { method: 'POST', url: `${url}/unpublish`, headers: { 'if-match': v3 } }, url, 200, 'unpublish')
  t.equal(unpublished.json().status, 'draft')
  const v4 = unpublished.headers.etag as string
  const restored = await current(t, app, { method: 'POST', url: `${url}/revisions/1/restore`, headers: { 'if-match': v4 } }, url, 200, 'restore')
  t.equal(restored.json().summary, null)
  const v5 = restored.headers.etag as string

  // a writer saving the draft they read: the tag they get back is the one they read next
  const w = bearer(keys.writer)
  const wTag = await tagOf((o) => app.inject({ ...o, headers: { ...o.headers, ...w } }), url)
  t.equal(wTag, v5, 'every key with access sees the same representation')
  const byWriter = await current(t, app, { method: 'PATCH', url, headers: { ...w, 'if-match': wTag }, payload: { headline: 'By the writer' } }, url, 200, 'PATCH article as writer')
  const v6 = byWriter.headers.etag as string
  await stale(t, app, { method: 'PATCH', url, headers: { ...w, 'if-match': wTag }, payload: { headline: 'Lost' } }, url, v6, 'writer PATCH with a stale tag')

  await current(t, app, { method: 'PATCH', url, headers: { 'if-match': '*' }, payload: { tags: ['x'] } }, url, 200, 'PATCH with If-Match: *')
  await stale(t, app, { method: 'DELETE', url, headers: { 'if-match': v6 } }, url, await read(), 'DELETE with a stale tag')
  await current(t, app, { method: 'DELETE', url, headers: { 'if-match': await read() } }, url, 204, 'DELETE article')
  t.equal((await get(app, url)).statusCode, 404)
  const revs = await get(app, `${url}/revisions`)
  t.equal(revs.statusCode, 404, 'gone entirely')
})

t.test('related links: If-Match compares against the ETag of GET /v1/articles/{id}/related', async (t) => {
  const { app } = await build(t)
  const src = await create(app, '/v1/articles', { headline: 'Source' })
  const t1 = await create(app, '/v1/articles', { headline: 'Target one' })
  const t2 = await create(app, '/v1/articles', { headline: 'Target two' })
  const t3 = await create(app, '/v1/articles', { headline: 'Target three' })
  const url = `/v1/articles/${src.id}/related`
  const r0 = await tagOf(app.inject.bind(app), url)

  const put = await current(t, app, { method: 'PUT', url, headers: { 'if-match': r0 }, payload: [{ articleId: t1.id }] }, url, 200, 'PUT related')
  const r1 = put.headers.etag as string
  await stale(t, app, { method: 'PUT', url, headers: { 'if-match': r0 }, payload: [{ articleId: t2.id }] }, url, r1, 'PUT related with a stale tag')
  await stale(t, app, { method: 'POST', url, headers: { 'if-match': r0 }, payload: { articleId: t2.id } }, url, r1, 'POST related with a stale tag')
  const posted = await current(t, app, { method: 'POST', url, headers: { 'if-match': r1 }, payload: { articleId: t2.id } }, url, 201, 'POST related')
  const r2 = posted.headers.etag as string
  const links = posted.json().data
  t.equal(links.length, 2)
  await stale(t, app, { method: 'DELETE', url: `${url}/${links[0].id}`, headers: { 'if-match': r1 } }, url, r2, 'DELETE related with a stale tag')

  // the related list is its own representation: a related target's new headline makes its tag stale
  const renamed = await app.inject({ method: 'PATCH', url: `/v1/articles/${t2.id}`, payload: { headline: 'Target two, renamed' } })
  t.equal(renamed.statusCode, 200)
  const r3 = await tagOf(app.inject.bind(app), url)
  t.not(r3, r2, "a target's new headline changes the related list's tag")
  await stale(t, app, { method: 'POST', url, headers: { 'if-match': r2 }, payload: { articleId: t3.id } }, url, r3, 'POST related after a target was renamed')

  const articleTag = await tagOf(app.inject.bind(app), `/v1/articles/${src.id}`)
  await stale(t, app, { method: 'PUT', url, headers: { 'if-match': articleTag }, payload: [] }, url, r3, "PUT related with the article's tag (not the list's)")

  await current(t, app, { method: 'DELETE', url: `${url}/${links[0].id}`, headers: { 'if-match': r3 } }, url, 204, 'DELETE related')
  const after = (await get(app, url)).json().data
  t.same(after.map((l: any) => l.articleId), [t2.id])
  await current(t, app, { method: 'PUT', url, headers: { 'if-match': '*' }, payload: [] }, url, 200, 'PUT related with If-Match: *')
})

t.test('If-None-Match on a write: * (the target exists) and a current tag are a 412; other tags let it through', async (t) => {
  const { app, keys } = await build(t)
  const s = await create(app, '/v1/sections', { name: 'World' })
  const sectionUrl = `/v1/sections/${s.id}`
  let tag = await tagOf(app.inject.bind(app), sectionUrl)
  await stale(t, app, { method: 'PATCH', url: sectionUrl, headers: { 'if-none-match': '*' }, payload: { name: 'Planet' } }, sectionUrl, tag, 'PATCH section with If-None-Match: *')
  await stale(t, app, { method: 'PATCH', url: sectionUrl, headers: { 'if-none-match': `"other", W/${tag}` }, payload: { name: 'Planet' } }, sectionUrl, tag, 'PATCH section with If-None-Match naming its current tag (weakly)')
  await stale(t, app, { method: 'DELETE', url: sectionUrl, headers: { 'if-none-match': '*' } }, sectionUrl, tag, 'DELETE section with If-None-Match: *')
  tag = (await current(t, app, { method: 'PATCH', url: sectionUrl, headers: { 'if-none-match': '"an-old-tag"' }, payload: { name: 'Planet' } }, sectionUrl, 200, 'PATCH section with If-None-Match naming another tag')).headers.etag as string
  // both sent: If-Match first (RFC 9110 13.2.2), then If-None-Match
  await stale(t, app, { method: 'PATCH', url: sectionUrl, headers: { 'if-match': tag, 'if-none-match': '*' }, payload: { name: 'Earth' } }, sectionUrl, tag, 'If-Match holds, If-None-Match: * does not')

  const a = await create(app, '/v1/articles', { headline: 'Harbin expo opens' })
  const articleUrl = `/v1/articles/${a.id}`
  const articleTag = await tagOf(app.inject.bind(app), articleUrl)
  await stale(t, app, { method: 'POST', url: `${articleUrl}/publish`, headers: { 'if-none-match': '*' } }, articleUrl, articleTag, 'publish with If-None-Match: *')
  await stale(t, app, { method: 'PUT', url: `${articleUrl}/related`, headers: { 'if-none-match': '*' }, payload: [] }, articleUrl, articleTag, 'PUT related with If-None-Match: *')

  const photo = await upload(app, { caption: 'x' })
  const photoUrl = `/v1/photos/${photo.id}`
  const photoTag = await tagOf(app.inject.bind(app), photoUrl)
  await stale(t, app, { method: 'PUT', url: `${photoUrl}/file`, payload: await image('png', 30, 20, 5), headers: { 'content-type': 'image/png', 'if-none-match': `"${photo.sha256}"` } },
    photoUrl, photoTag, "PUT photo file with If-None-Match naming the file's own ETag")

  const key = (await app.inject({ method: 'POST', url: '/v1/keys', headers: bearer(keys.admin), payload: { name: 'Temp', role: 'writer' } })).json()
  const revoke = await app.inject({ method: 'DELETE', url: `/v1/keys/${key.id}`, headers: { ...bearer(keys.admin), 'if-none-match': '*' } })
  problem(t, revoke, 412, 'revoke a key with If-None-Match: *')
  t.equal((await app.inject({ url: '/v1/sections', headers: bearer(key.secret) })).statusCode, 200, 'the key still works')
})

t.test('concurrency: two saves of the same version, exactly one succeeds (10 rounds)', async (t) => {
  const { app, keys } = await build(t)
  for (let round = 0; round < 10; round++) {
    const a = await create(app, '/v1/articles', { headline: `Story ${round}`, body: [p('Text.')] })
    const url = `/v1/articles/${a.id}`
    const tag = await tagOf(app.inject.bind(app), url)
    // two editors, each saving the version they read
    const [one, two] = await Promise.all([
      app.inject({ method: 'PATCH', url, headers: { 'if-match': tag }, payload: { headline: `First editor ${round}` } }),
      app.inject({ method: 'PATCH', url, headers: { ...bearer(keys.admin), 'if-match': tag }, payload: { headline: `Second editor ${round}` } })
    ])
    const statuses = [one.statusCode, two.statusCode].sort()
    t.same(statuses, [200, 412], `round ${round}: one 200 and one 412 (got ${one.statusCode}, ${two.statusCode})`)
    const winner = one.statusCode === 200 ? one : two
    const loser = one.statusCode === 200 ? two : one
    t.match(loser.headers['content-type'], /^application\/problem\+json/)
    const now = await get(app, url)
    t.equal(now.json().headline, winner.json().headline, `round ${round}: the stored headline is the winner's`)
    t.equal(now.json().revision, 2, `round ${round}: exactly one write happened`)
    t.equal(now.headers.etag, winner.headers.etag)
    const revs = (await get(app, `${url}/revisions`)).json().data
    t.equal(revs.length, 2, `round ${round}: two revisions (create, one update)`)
  }
})

t.test('concurrency: publish and edit of the same version race, exactly one succeeds (10 rounds)', async (t) => {
  const { app, keys, anon } = await build(t)
  const wins = { publish: 0, edit: 0 }
  for (let round = 0; round < 10; round++) {
    const a = await create(app, '/v1/articles', { headline: `Draft ${round}` })
    const url = `/v1/articles/${a.id}`
    const tag = await tagOf(app.inject.bind(app), url)
    const requests = [
      app.inject({ method: 'POST', url: `${url}/publish`, headers: { 'if-match': tag } }),
      app.inject({ method: 'PATCH', url, headers: { ...bearer(keys.writer), 'if-match': tag }, payload: { headline: `Edited ${round}` } })
    ]
    // alternate which one is sent first
    const [publish, edit] = round % 2 === 0 ? await Promise.all(requests) : (await Promise.all(requests.reverse())).reverse()
    t.same([publish!.statusCode, edit!.statusCode].sort(), [200, 412], `round ${round}: one succeeds (publish ${publish!.statusCode}, edit ${edit!.statusCode})`)
    const now = (await get(app, url)).json()
    t.equal(now.revision, 2, `round ${round}: exactly one write happened`)
    if (publish!.statusCode === 200) {
      wins.publish++
      t.equal(now.status, 'published')
      t.equal(now.headline, `Draft ${round}`, 'the edit was not applied on top of the published version')
      t.equal((await anon({ method: 'GET', url })).json().headline, `Draft ${round}`, 'readers see what the editor published')
    } else {
      wins.edit++
      t.equal(now.status, 'draft', 'the publish of the stale version did not happen')
      t.equal(now.headline, `Edited ${round}`)
      t.equal((await anon({ method: 'GET', url })).statusCode, 404, 'readers see nothing')
    }
  }
  t.equal(wins.publish + wins.edit, 10)
})

t.test('Cache-Control: public for anonymous reads, private for keyed ones, no-store for writes and errors', async (t) => {
  const { app, anon, keys } = await build(t)
  const n = await newsroom(app)
  const reads = [
    '/v1/articles', `/v1/articles/${n.article.id}`, `/v1/articles/slug/${n.article.slug}`, `/v1/articles/${n.article.id}/related`,
    `/v1/sections/${n.harbin.id}/articles`, '/v1/sections', `/v1/sections/${n.harbin.id}`, '/v1/bylines', `/v1/bylines/${n.xinhua.id}`,
    `/v1/bylines/${n.xinhua.id}/articles`, '/v1/photos', `/v1/photos/${n.photo.id}`
  ]
  for (const url of reads) {
    const pub = await anon({ method: 'GET', url })
    t.equal(pub.statusCode, 200, url)
    t.equal(pub.headers['cache-control'], PUBLIC, `anonymous GET ${url} is public`)
    t.match(pub.headers.vary, /\bAuthorization\b/i, `anonymous GET ${url} varies on Authorization`)
    const nm = await anon({ method: 'GET', url, headers: { 'if-none-match': pub.headers.etag as string } })
    t.equal(nm.headers['cache-control'], PUBLIC, `304 for ${url} keeps the policy`)
    t.match(nm.headers.vary, /\bAuthorization\b/i)
    for (const key of [keys.writer, keys.editor, keys.admin]) {
      const priv = await app.inject({ method: 'GET', url, headers: bearer(key) })
      t.equal(priv.statusCode, 200)
      t.equal(priv.headers['cache-control'], PRIVATE, `keyed GET ${url} is private, no-store`)
      t.match(priv.headers.vary, /\bAuthorization\b/i, `keyed GET ${url} varies on Authorization`)
    }
    const nmKeyed = await app.inject({ method: 'GET', url, headers: { 'if-none-match': (await get(app, url)).headers.etag as string } })
    t.equal(nmKeyed.statusCode, 304)
    t.equal(nmKeyed.headers['cache-control'], PRIVATE, `keyed 304 for ${url} stays private`)
  }
  // the photo file: anonymous copies may be kept, keyed ones not
  const file = await anon({ method: 'GET', url: `/v1/photos/${n.photo.id}/file` })
  t.match(file.headers['cache-control'], /^public, max-age=\d+/)
  t.match(file.headers.vary, /\bAuthorization\b/i)
  t.equal((await get(app, `/v1/photos/${n.photo.id}/file`)).headers['cache-control'], PRIVATE)
  // revisions always need a key
  t.equal((await get(app, `/v1/articles/${n.article.id}/revisions`)).headers['cache-control'], PRIVATE)

  // writes
  const post = await app.inject({ method: 'POST', url: '/v1/sections', payload: { name: 'Opinion' } })
  t.equal(post.statusCode, 201)
  t.equal(post.headers['cache-control'], 'no-store', 'a create is no-store')
  const patch = await app.inject({ method: 'PATCH', url: `/v1/sections/${post.json().id}`, payload: { name: 'Opinions' } })
  t.equal(patch.statusCode, 200)
  t.equal(patch.headers['cache-control'], 'no-store', 'a PATCH is no-store')
  const pub = await app.inject({ method: 'POST', url: `/v1/articles/${n.draft.id}/publish` })
  t.equal(pub.headers['cache-control'], 'no-store', 'a publish is no-store')
  const del = await app.inject({ method: 'DELETE', url: `/v1/sections/${post.json().id}` })
  t.equal(del.statusCode, 204)
  t.equal(del.headers['cache-control'], 'no-store', 'a DELETE is no-store')

  // errors
  const hidden = await create(app, '/v1/articles', { headline: 'Secret draft' })
  const errors: [string, Response][] = [
    ['anonymous GET of a draft (404)', await anon({ method: 'GET', url: `/v1/articles/${hidden.id}` })],
    ['anonymous GET of a draft by slug (404)', await anon({ method: 'GET', url: `/v1/articles/slug/${hidden.slug}` })],
    ['unknown section (404)', await anon({ method: 'GET', url: '/v1/sections/00000000-0000-4000-8000-000000000000' })],
    ['bad query (400)', await anon({ method: 'GET', url: '/v1/articles?limit=1000' })],
    ['tampered cursor (400)', await anon({ method: 'GET', url: '/v1/articles?cursor=nonsense' })],
    ['unknown route (404)', await anon({ method: 'GET', url: '/v1/nothing' })],
    ['invalid key (401)', await anon({ method: 'GET', url: '/v1/articles', headers: bearer('not-a-key-at-all-0123456789') })],
    ['anonymous revisions (401)', await anon({ method: 'GET', url: `/v1/articles/${n.article.id}/revisions` })],
    ['anonymous write (401)', await anon({ method: 'POST', url: '/v1/sections', payload: { name: 'X' } })],
    ['keyed 404', await get(app, '/v1/articles/00000000-0000-4000-8000-000000000000')]
  ]
  for (const [what, res] of errors) {
    t.ok(res.statusCode >= 400 && res.statusCode < 500, `${what}: ${res.statusCode}`)
    t.equal(res.headers['cache-control'], 'no-store', `${what} is no-store`)
  }

  for (const url of ['/healthz', '/readyz']) {
    const res = await anon({ method: 'GET', url })
    t.equal(res.statusCode, 200)
    t.equal(res.headers['cache-control'], 'no-store', `${url} is never cached`)
  }
})

t.test('CACHE_MAX_AGE and CACHE_STALE_WHILE_REVALIDATE set the public policy', async (t) => {
  const { app, anon } = await build(t, { CACHE_MAX_AGE: '120', CACHE_STALE_WHILE_REVALIDATE: '30' })
  const a = await create(app, '/v1/articles', { headline: 'Out now', status: 'published' })
  for (const url of ['/v1/articles', `/v1/articles/${a.id}`, '/v1/sections']) {
    const res = await anon({ method: 'GET', url })
    t.equal(res.headers['cache-control'], 'public, max-age=120, stale-while-revalidate=30', url)
  }
  t.equal((await get(app, '/v1/articles')).headers['cache-control'], PRIVATE)
})

t.test('anonymous responses never show unpublished content', async (t) => {
  const { app, anon } = await build(t)
  const n = await newsroom(app)
  const future = new Date(Date.now() + 3600_000).toISOString()
  const scheduled = await create(app, '/v1/articles', { headline: 'Tomorrow', sectionId: n.harbin.id, bylines: [{ bylineId: n.xinhua.id }], tags: ['harbin'], status: 'published', publishedAt: future })
  const archived = await create(app, '/v1/articles', { headline: 'Old harbin', sectionId: n.harbin.id, bylines: [{ bylineId: n.xinhua.id }], tags: ['harbin'], status: 'archived', publishedAt: '2010-01-01T00:00:00Z' })
  const draft2 = await create(app, '/v1/articles', { headline: 'Harbin draft', sectionId: n.harbin.id, bylines: [{ bylineId: n.xinhua.id }], tags: ['harbin'] })
  const hidden = [n.draft.id, scheduled.id, archived.id, draft2.id]
  const published = new Set([n.article.id, n.target.id, n.unrelated.id])

  const lists = [
    '/v1/articles?limit=100', '/v1/articles?limit=100&sort=-updatedAt', '/v1/articles?limit=100&sort=publishedAt',
    '/v1/articles?status=draft', '/v1/articles?status=archived', '/v1/articles?tag=harbin', '/v1/articles?section=news&descendants=true',
    `/v1/articles?byline=${n.xinhua.id}`, `/v1/articles?updatedSince=${encodeURIComponent('2000-01-01T00:00:00Z')}`,
    `/v1/sections/${n.harbin.id}/articles`, `/v1/sections/${n.news.id}/articles?descendants=true`, `/v1/bylines/${n.xinhua.id}/articles`
  ]
  for (const url of lists) {
    const res = await anon({ method: 'GET', url })
    t.equal(res.statusCode, 200, `${url}: ${res.body.slice(0, 200)}`)
    if (res.statusCode !== 200) continue
    t.equal(res.headers['cache-control'], PUBLIC)
    const ids = res.json().data.map((a: any) => a.id)
    t.ok(ids.every((id: string) => published.has(id)), `${url} shows published articles only (got ${ids.length})`)
    for (const id of hidden) t.notOk(res.body.includes(id), `${url} never mentions a hidden article`)
    t.notOk(res.body.includes('Secret numbers'), `${url} never shows draft text`)
  }
  // the keyed list shows the drafts, privately
  const keyed = await get(app, '/v1/articles?limit=100')
  t.equal(keyed.headers['cache-control'], PRIVATE)
  for (const id of hidden) t.ok(keyed.json().data.some((a: any) => a.id === id), 'the editor sees every article')

  for (const id of hidden) {
    for (const url of [`/v1/articles/${id}`, `/v1/articles/${id}/related`, `/v1/articles/${id}/revisions`]) {
      const res = await anon({ method: 'GET', url })
      t.equal(res.statusCode, 404, `anonymous ${url} is a 404`)
      t.equal(res.headers['cache-control'], 'no-store')
    }
  }
  const page = await anon({ method: 'GET', url: `/v1/articles/${n.article.id}` })
  t.notOk(page.body.includes(n.draft.id), 'the page does not link the draft')
  t.notOk(page.body.includes('Ice festival record'), "the page does not show the draft's headline")
  const related = await anon({ method: 'GET', url: `/v1/articles/${n.article.id}/related` })
  t.same(related.json().data.map((l: any) => l.articleId), [n.target.id])
  t.equal(related.headers['cache-control'], PUBLIC)
})
