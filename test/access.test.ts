import t from 'tap'
import { randomUUID } from 'node:crypto'
import type { InjectOptions } from 'fastify'
import { build, bearer, create, upload, image, multipart, req, problem, type Response } from './helper.js'
import type { App } from '../src/app.js'

/* eslint-disable @typescript-eslint/no-explicit-any */

const HTTP_METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options', 'trace']
const DAY = 24 * 3600 * 1000

t.test('every write operation in the OpenAPI document needs a key: anonymous is a 401 with WWW-Authenticate: Bearer', async (t) => {
  const { anon } = await build(t)
  const res = await anon({ method: 'GET', url: '/openapi.json' })
  t.equal(res.statusCode, 200)
  const doc = res.json()
  t.match(doc.components?.securitySchemes?.bearerAuth, { type: 'http', scheme: 'bearer' }, 'bearerAuth is declared')

  let operations = 0
  const writes: string[] = []
  for (const [template, item] of Object.entries<any>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      if (!HTTP_METHODS.includes(method)) continue
      operations++
      if (method === 'get' || method === 'head') continue
      const what = `${method.toUpperCase()} ${template} (${op.operationId})`
      writes.push(what)
      t.same(op.security, [{ bearerAuth: [] }], `${what} declares bearer security, without an anonymous alternative`)
      t.ok(op.responses?.['401'], `${what} documents 401`)
      t.ok(op.responses?.['403'], `${what} documents 403`)

      const url = template.replace(/\{(\w+)\}/g, (_m, name: string) => (name === 'n' ? '1' : randomUUID()))
      t.notMatch(url, /[{}]/, `${what}: every path parameter substituted`)
      const answer = await anon({ method: method.toUpperCase() as InjectOptions['method'], url, headers: { 'content-type': 'application/json' }, payload: '{}' })
      problem(t, answer, 401, `anonymous ${what}`)
      t.match(answer.headers['www-authenticate'], /^Bearer/, `${what}: WWW-Authenticate: Bearer`)
    }
  }
  t.ok(operations > 20, `the walk saw ${operations} operations`)
  t.ok(writes.length > 15, `and ${writes.length} writes`)
  for (const op of ['createArticle', 'updateArticle', 'deleteArticle', 'publishArticle', 'unpublishArticle', 'restoreRevision',
    'replaceRelatedLinks', 'appendRelatedLink', 'deleteRelatedLink', 'uploadPhoto', 'updatePhoto', 'deletePhoto', 'replacePhotoFile',
    'createSection', 'updateSection', 'deleteSection', 'createByline', 'updateByline', 'deleteByline', 'createKey', 'revokeKey']) {
    t.ok(writes.some((w) => w.endsWith(`(${op})`)), `the walk covered ${op}`)
  }
})

/* ------------------------------------------------------------------ roles ------------------------------------------------------------------ */

type Headers = Record<string, string>

/** Asserts a 403 problem document and returns it. */
function forbidden (t: any, res: Response, what: string) {
  const body = problem(t, res, 403, what)
  t.notOk(res.headers['www-authenticate'], `${what}: a 403 does not ask for other credentials`)
  return body
}

/** Everything the staff can see, to compare before and after a refused write. */
async function snapshot (app: App, keys: { admin: string }) {
  const get = async (url: string) => {
    const res = await app.inject({ method: 'GET', url, headers: bearer(keys.admin) })
    return res.statusCode === 200 ? res.json() : res.statusCode
  }
  const articles = await get('/v1/articles?limit=100')
  const revisions: Record<string, unknown> = {}
  for (const a of articles.data) revisions[a.id] = await get(`/v1/articles/${a.id}/revisions?limit=100`)
  return {
    articles,
    revisions,
    sections: await get('/v1/sections?limit=100'),
    bylines: await get('/v1/bylines?limit=100'),
    photos: await get('/v1/photos?limit=100'),
    keys: await get('/v1/keys?limit=100')
  }
}

async function fixtures (app: App) {
  const section = await create(app, '/v1/sections', { name: 'World' })
  const byline = await create(app, '/v1/bylines', { name: 'Wang Wei' })
  const photo = await upload(app, { caption: 'Editor photo' })
  const published = await create(app, '/v1/articles', { headline: 'Published story', status: 'published', sectionId: section.id })
  await req(app, { method: 'PATCH', url: `/v1/articles/${published.id}`, payload: { summary: 'Edited after publishing' } })
  const linked = await create(app, '/v1/articles', { headline: 'Another published story', status: 'published' })
  const archived = await create(app, '/v1/articles', { headline: 'Archived story', status: 'archived', publishedAt: '2014-07-01T00:00:00Z' })
  const editorDraft = await create(app, '/v1/articles', { headline: 'Editor draft' })
  return { section, byline, photo, published, linked, archived, editorDraft }
}

t.test('a writer creates and edits drafts, related links, photos and bylines', async (t) => {
  const { app, keys } = await build(t)
  const { published, editorDraft } = await fixtures(app)
  const w: Headers = bearer(keys.writer)
  const as = (opts: InjectOptions) => req(app, { ...opts, headers: { ...(opts.headers as Headers ?? {}), ...w } })

  const created = await as({ method: 'POST', url: '/v1/articles', payload: { headline: 'Writer draft', summary: 'First go' } })
  t.equal(created.statusCode, 201, `writer creates a draft: ${created.body}`)
  const draft = created.json()
  t.equal(draft.status, 'draft')
  const explicit = await as({ method: 'POST', url: '/v1/articles', payload: { headline: 'Explicit draft', status: 'draft' } })
  t.equal(explicit.statusCode, 201, 'status: draft is allowed')

  const patched = await as({ method: 'PATCH', url: `/v1/articles/${draft.id}`, payload: { headline: 'Writer draft, revised', status: 'draft' } })
  t.equal(patched.statusCode, 200, `writer edits own draft: ${patched.body}`)
  t.equal(patched.json().headline, 'Writer draft, revised')
  t.equal(patched.json().revision, 2)
  const merge = await as({ method: 'PATCH', url: `/v1/articles/${draft.id}`, headers: { 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify({ summary: null }) })
  t.equal(merge.statusCode, 200, 'a merge patch too')
  t.equal(merge.json().summary, null)
  const other = await as({ method: 'PATCH', url: `/v1/articles/${editorDraft.id}`, payload: { summary: 'Writer help' } })
  t.equal(other.statusCode, 200, 'writer edits an editor\'s draft (drafts are shared work)')

  const appended = await as({ method: 'POST', url: `/v1/articles/${draft.id}/related`, payload: { articleId: published.id } })
  t.equal(appended.statusCode, 201, `writer appends a related link: ${appended.body}`)
  const replaced = await as({ method: 'PUT', url: `/v1/articles/${draft.id}/related`, payload: [{ articleId: published.id }, { url: 'https://example.org/x', headline: 'Elsewhere' }] })
  t.equal(replaced.statusCode, 200, `writer replaces related links: ${replaced.body}`)
  const linkId = replaced.json().data[1].id
  const removed = await as({ method: 'DELETE', url: `/v1/articles/${draft.id}/related/${linkId}` })
  t.equal(removed.statusCode, 204, 'writer removes a related link')
  t.equal((await req(app, { method: 'GET', url: `/v1/articles/${draft.id}/related` })).json().data.length, 1)

  const form = multipart({ caption: 'Writer photo', credit: 'Stringer' }, { data: await image('png') })
  const photoRes = await req(app, { method: 'POST', url: '/v1/photos', payload: form.payload, headers: { ...form.headers, ...w } })
  t.equal(photoRes.statusCode, 201, `writer uploads a photo: ${photoRes.body}`)
  const photo = photoRes.json()
  const raw = await req(app, { method: 'POST', url: '/v1/photos?caption=Raw', payload: await image('jpeg'), headers: { 'content-type': 'image/jpeg', ...w } })
  t.equal(raw.statusCode, 201, 'and a raw upload')
  const photoPatch = await as({ method: 'PATCH', url: `/v1/photos/${photo.id}`, payload: { caption: 'Better caption', focalPoint: { x: 0.5, y: 0.25 } } })
  t.equal(photoPatch.statusCode, 200, `writer edits a photo: ${photoPatch.body}`)
  t.equal(photoPatch.json().caption, 'Better caption')
  const replacedFile = await req(app, { method: 'PUT', url: `/v1/photos/${photo.id}/file`, payload: await image('webp'), headers: { 'content-type': 'image/webp', ...w } })
  t.equal(replacedFile.statusCode, 200, `writer replaces a photo file: ${replacedFile.body}`)

  const bylineRes = await as({ method: 'POST', url: '/v1/bylines', payload: { name: 'Li Na', title: 'Correspondent' } })
  t.equal(bylineRes.statusCode, 201, `writer creates a byline: ${bylineRes.body}`)
  const bylinePatch = await as({ method: 'PATCH', url: `/v1/bylines/${bylineRes.json().id}`, payload: { title: 'Senior correspondent', photoId: photo.id } })
  t.equal(bylinePatch.statusCode, 200, `writer edits a byline: ${bylinePatch.body}`)

  const credited = await as({
    method: 'PATCH',
    url: `/v1/articles/${draft.id}`,
    payload: { bylines: [{ bylineId: bylineRes.json().id }], leadPhotoId: photo.id, body: [{ type: 'photo', photoId: photo.id }] }
  })
  t.equal(credited.statusCode, 200, `writer credits and illustrates the draft: ${credited.body}`)

  const revs = (await as({ method: 'GET', url: `/v1/articles/${draft.id}/revisions` })).json()
  t.equal(revs.data[0].keyName, 'test writer', 'revisions name the writer key')
  const restored = await as({ method: 'POST', url: `/v1/articles/${draft.id}/revisions/1/restore` })
  t.equal(restored.statusCode, 200, `writer restores a draft's revision: ${restored.body}`)
  t.equal(restored.json().headline, 'Writer draft')
  t.equal(restored.json().status, 'draft')

  const deleted = await as({ method: 'DELETE', url: `/v1/articles/${explicit.json().id}` })
  t.equal(deleted.statusCode, 204, 'writer deletes a draft')
  t.equal((await req(app, { method: 'GET', url: `/v1/articles/${explicit.json().id}` })).statusCode, 404)
})

t.test('a writer cannot publish, unpublish, archive or touch published content; 403 changes nothing', async (t) => {
  const { app, keys } = await build(t)
  const { section, byline, photo, published, linked, archived } = await fixtures(app)
  const w: Headers = bearer(keys.writer)
  const draft = (await req(app, { method: 'POST', url: '/v1/articles', headers: w, payload: { headline: 'Writer draft' } })).json()
  const relatedOfPublished = (await req(app, { method: 'PUT', url: `/v1/articles/${published.id}/related`, payload: [{ articleId: linked.id }] })).json()
  const linkId = relatedOfPublished.data[0].id
  // a story taken down for a correction: a draft that keeps its date, to go back out under it
  const takenDown = await create(app, '/v1/articles', { headline: 'Taken down', status: 'published', publishedAt: '2014-07-01T00:00:00Z' })
  await req(app, { method: 'PATCH', url: `/v1/articles/${takenDown.id}`, payload: { status: 'draft' } })
  const before = await snapshot(app, keys)

  const refusedWrites: Array<[string, InjectOptions]> = [
    ['create published', { method: 'POST', url: '/v1/articles', payload: { headline: 'Sneaky', status: 'published' } }],
    ['create scheduled', { method: 'POST', url: '/v1/articles', payload: { headline: 'Sneaky', status: 'published', publishedAt: new Date(Date.now() + DAY).toISOString() } }],
    ['create archived', { method: 'POST', url: '/v1/articles', payload: { headline: 'Sneaky', status: 'archived' } }],
    ['PATCH draft to published', { method: 'PATCH', url: `/v1/articles/${draft.id}`, payload: { status: 'published' } }],
    ['PATCH draft to archived', { method: 'PATCH', url: `/v1/articles/${draft.id}`, payload: { status: 'archived' } }],
    ['PATCH draft to published with an edit', { method: 'PATCH', url: `/v1/articles/${draft.id}`, payload: { headline: 'Now live', status: 'published' } }],
    // the date a story goes out under is the desk's to set
    ['create a draft with a publication date', { method: 'POST', url: '/v1/articles', payload: { headline: 'Dated', publishedAt: '2020-01-01T00:00:00Z' } }],
    ['PATCH a date onto a draft', { method: 'PATCH', url: `/v1/articles/${draft.id}`, payload: { publishedAt: '2020-01-01T00:00:00Z' } }],
    ['PATCH another date onto a draft taken down', { method: 'PATCH', url: `/v1/articles/${takenDown.id}`, payload: { headline: 'Corrected', publishedAt: '2020-01-01T00:00:00Z' } }],
    ['PATCH away the date of a draft taken down', { method: 'PATCH', url: `/v1/articles/${takenDown.id}`, payload: { publishedAt: null } }],
    ['POST /publish on a draft', { method: 'POST', url: `/v1/articles/${draft.id}/publish` }],
    ['POST /publish on a draft, scheduled', { method: 'POST', url: `/v1/articles/${draft.id}/publish`, payload: { publishedAt: new Date(Date.now() + DAY).toISOString() } }],
    ['PATCH a published article', { method: 'PATCH', url: `/v1/articles/${published.id}`, payload: { headline: 'Rewritten' } }],
    ['PATCH a published article to draft', { method: 'PATCH', url: `/v1/articles/${published.id}`, payload: { status: 'draft' } }],
    ['DELETE a published article', { method: 'DELETE', url: `/v1/articles/${published.id}` }],
    ['POST /unpublish', { method: 'POST', url: `/v1/articles/${published.id}/unpublish` }],
    ['POST /publish on a published article', { method: 'POST', url: `/v1/articles/${published.id}/publish`, payload: { publishedAt: '2020-01-01T00:00:00Z' } }],
    ['PUT related of a published article', { method: 'PUT', url: `/v1/articles/${published.id}/related`, payload: [] }],
    ['POST related of a published article', { method: 'POST', url: `/v1/articles/${published.id}/related`, payload: { url: 'https://example.org/y', headline: 'Y' } }],
    ['DELETE related of a published article', { method: 'DELETE', url: `/v1/articles/${published.id}/related/${linkId}` }],
    ['restore a revision of a published article', { method: 'POST', url: `/v1/articles/${published.id}/revisions/1/restore` }],
    ['PATCH an archived article', { method: 'PATCH', url: `/v1/articles/${archived.id}`, payload: { headline: 'Rewritten' } }],
    ['DELETE an archived article', { method: 'DELETE', url: `/v1/articles/${archived.id}` }],
    ['POST /unpublish an archived article', { method: 'POST', url: `/v1/articles/${archived.id}/unpublish` }],
    ['DELETE a photo', { method: 'DELETE', url: `/v1/photos/${photo.id}` }],
    ['DELETE a byline', { method: 'DELETE', url: `/v1/bylines/${byline.id}` }],
    ['POST a section', { method: 'POST', url: '/v1/sections', payload: { name: 'Opinion' } }],
    ['PATCH a section', { method: 'PATCH', url: `/v1/sections/${section.id}`, payload: { name: 'Planet' } }],
    ['DELETE a section', { method: 'DELETE', url: `/v1/sections/${section.id}` }],
    ['GET /v1/keys', { method: 'GET', url: '/v1/keys' }],
    ['POST /v1/keys', { method: 'POST', url: '/v1/keys', payload: { name: 'Mine', role: 'admin' } }],
    ['DELETE /v1/keys/{id}', { method: 'DELETE', url: `/v1/keys/${before.keys.data[0].id}` }]
  ]
  for (const [what, opts] of refusedWrites) {
    const res = await req(app, { ...opts, headers: { ...(opts.headers as Headers ?? {}), ...w } })
    forbidden(t, res, `writer: ${what}`)
  }
  const keyId = before.keys.data[0].id
  forbidden(t, await req(app, { method: 'GET', url: `/v1/keys/${keyId}`, headers: w }), 'writer: GET /v1/keys/{id}')

  t.same(await snapshot(app, keys), before, 'nothing changed: articles, revisions, related links, sections, bylines, photos, keys')
  const stillDraft = (await req(app, { method: 'GET', url: `/v1/articles/${draft.id}`, headers: w })).json()
  t.equal(stillDraft.status, 'draft')
  t.equal(stillDraft.revision, 1)
  t.equal(stillDraft.publishedAt, null)
  // the article sent back with its date as it stands (a script writing the whole story again) changes nothing of it
  for (const publishedAt of ['2014-07-01T00:00:00.000Z', '2014-07-01T08:00:00+08:00']) {
    const same = await req(app, { method: 'PATCH', url: `/v1/articles/${takenDown.id}`, headers: w, payload: { headline: 'Corrected', publishedAt } })
    t.equal(same.statusCode, 200, `writer sends the date back unchanged (${publishedAt}): ${same.body}`)
    t.equal(same.json().publishedAt, '2014-07-01T00:00:00.000Z')
  }
  t.equal((await req(app, { method: 'PATCH', url: `/v1/articles/${draft.id}`, headers: w, payload: { publishedAt: null } })).statusCode, 200, 'nor does null on a draft with no date')

  // the route-level refusal comes first: a writer cannot learn whether an article exists through /publish
  const missing = randomUUID()
  forbidden(t, await req(app, { method: 'POST', url: `/v1/articles/${missing}/publish`, headers: w }), 'writer: /publish of an unknown article')
  forbidden(t, await req(app, { method: 'DELETE', url: `/v1/sections/${missing}`, headers: w }), 'writer: DELETE of an unknown section')
})

t.test('a writer may not change a photo published content shows: lead, body or the portrait of a byline it credits', async (t) => {
  const { app, keys } = await build(t)
  const w: Headers = bearer(keys.writer)
  const lead = await upload(app, { caption: 'Lead' })
  const inBody = await upload(app, { caption: 'In the body' })
  const portrait = await upload(app, { caption: 'Portrait' })
  const draftOnly = await upload(app, { caption: 'Only a draft shows it' })
  const byline = await create(app, '/v1/bylines', { name: 'Li Na', photoId: portrait.id })
  await create(app, '/v1/articles', {
    headline: 'Published story', status: 'published', leadPhotoId: lead.id, bylines: [{ bylineId: byline.id }], body: [{ type: 'photo', photoId: inBody.id }]
  })
  await create(app, '/v1/articles', { headline: 'A draft', leadPhotoId: draftOnly.id })
  const png = await image('png', 40, 30, 5)
  for (const [what, photo] of [['the lead', lead], ['a body photo', inBody], ['a credited byline\'s portrait', portrait]] as const) {
    const before = (await req(app, { method: 'GET', url: `/v1/photos/${photo.id}` })).json()
    forbidden(t, await req(app, { method: 'PATCH', url: `/v1/photos/${photo.id}`, headers: w, payload: { caption: 'Changed' } }), `writer: PATCH ${what}`)
    forbidden(t, await req(app, { method: 'PUT', url: `/v1/photos/${photo.id}/file`, headers: { ...w, 'content-type': 'image/png' }, payload: png }), `writer: PUT the file of ${what}`)
    t.same((await req(app, { method: 'GET', url: `/v1/photos/${photo.id}` })).json(), before, `${what} is unchanged`)
    t.equal((await req(app, { method: 'PATCH', url: `/v1/photos/${photo.id}`, payload: { credit: 'Desk' } })).statusCode, 200, `an editor changes ${what}`)
  }
  const ok = await req(app, { method: 'PATCH', url: `/v1/photos/${draftOnly.id}`, headers: w, payload: { caption: 'Better' } })
  t.equal(ok.statusCode, 200, `a photo only drafts show stays the writer's to change: ${ok.body}`)
})

t.test('a scheduled article is not editable by a writer', async (t) => {
  const { app, anon, keys } = await build(t)
  const w: Headers = bearer(keys.writer)
  const future = new Date(Date.now() + 7 * DAY).toISOString()
  const draft = (await req(app, { method: 'POST', url: '/v1/articles', headers: w, payload: { headline: 'Embargoed story' } })).json()
  const scheduledRes = await req(app, { method: 'POST', url: `/v1/articles/${draft.id}/publish`, payload: { publishedAt: future } })
  t.equal(scheduledRes.statusCode, 200, 'the editor schedules it')
  const direct = await create(app, '/v1/articles', { headline: 'Scheduled at creation', status: 'published', publishedAt: future })
  for (const scheduled of [scheduledRes.json(), direct]) {
    t.equal(scheduled.status, 'published')
    t.equal(Date.parse(scheduled.publishedAt), Date.parse(future))
    const read = async () => (await req(app, { method: 'GET', url: `/v1/articles/${scheduled.id}`, headers: bearer(keys.admin) })).json()
    const before = await read()
    const revisions = (await req(app, { method: 'GET', url: `/v1/articles/${scheduled.id}/revisions`, headers: bearer(keys.admin) })).json()
    const attempts: Array<[string, InjectOptions]> = [
      ['PATCH headline', { method: 'PATCH', url: `/v1/articles/${scheduled.id}`, payload: { headline: 'Leaked early' } }],
      ['PATCH publishedAt', { method: 'PATCH', url: `/v1/articles/${scheduled.id}`, payload: { publishedAt: new Date().toISOString() } }],
      ['PATCH back to draft', { method: 'PATCH', url: `/v1/articles/${scheduled.id}`, payload: { status: 'draft' } }],
      ['DELETE', { method: 'DELETE', url: `/v1/articles/${scheduled.id}` }],
      ['POST related', { method: 'POST', url: `/v1/articles/${scheduled.id}/related`, payload: { url: 'https://example.org/z', headline: 'Z' } }],
      ['PUT related', { method: 'PUT', url: `/v1/articles/${scheduled.id}/related`, payload: [] }],
      ['restore', { method: 'POST', url: `/v1/articles/${scheduled.id}/revisions/1/restore` }],
      ['publish now', { method: 'POST', url: `/v1/articles/${scheduled.id}/publish` }],
      ['unpublish', { method: 'POST', url: `/v1/articles/${scheduled.id}/unpublish` }]
    ]
    for (const [what, opts] of attempts) {
      forbidden(t, await req(app, { ...opts, headers: w }), `writer on a scheduled article: ${what}`)
    }
    t.same(await read(), before, 'the scheduled article is unchanged')
    t.same((await req(app, { method: 'GET', url: `/v1/articles/${scheduled.id}/revisions`, headers: bearer(keys.admin) })).json(), revisions, 'no revision added')
  }
  // still invisible to readers, still editable by the editor
  t.equal((await anon({ method: 'GET', url: `/v1/articles/${direct.id}` })).statusCode, 404, 'readers do not see it yet')
  const edit = await req(app, { method: 'PATCH', url: `/v1/articles/${direct.id}`, payload: { headline: 'Embargo lifted early by the editor' } })
  t.equal(edit.statusCode, 200, 'the editor may edit a scheduled article')
})

t.test('an editor does all content work but is refused on /v1/keys', async (t) => {
  const { app, keys } = await build(t)
  const e: Headers = bearer(keys.editor)
  const as = async (opts: InjectOptions, status: number, what: string) => {
    const res = await req(app, { ...opts, headers: { ...(opts.headers as Headers ?? {}), ...e } })
    t.equal(res.statusCode, status, `editor: ${what}: ${res.body.slice(0, 200)}`)
    return res.statusCode < 300 && res.body ? res.json() : undefined
  }
  const section = await as({ method: 'POST', url: '/v1/sections', payload: { name: 'Business' } }, 201, 'create section')
  await as({ method: 'PATCH', url: `/v1/sections/${section.id}`, payload: { description: 'Money' } }, 200, 'edit section')
  const byline = await as({ method: 'POST', url: '/v1/bylines', payload: { name: 'Zhang San' } }, 201, 'create byline')
  await as({ method: 'PATCH', url: `/v1/bylines/${byline.id}`, payload: { title: 'Editor' } }, 200, 'edit byline')
  const form = multipart({ caption: 'x' }, { data: await image() })
  const photo = await as({ method: 'POST', url: '/v1/photos', payload: form.payload, headers: form.headers }, 201, 'upload photo')
  await as({ method: 'PATCH', url: `/v1/photos/${photo.id}`, payload: { credit: 'AP' } }, 200, 'edit photo')

  const live = await as({ method: 'POST', url: '/v1/articles', payload: { headline: 'Live now', status: 'published', sectionId: section.id } }, 201, 'create published')
  const draft = await as({ method: 'POST', url: '/v1/articles', payload: { headline: 'Draft' } }, 201, 'create draft')
  await as({ method: 'POST', url: `/v1/articles/${draft.id}/publish` }, 200, 'publish')
  await as({ method: 'PATCH', url: `/v1/articles/${live.id}`, payload: { headline: 'Live now, updated' } }, 200, 'edit published')
  await as({ method: 'PUT', url: `/v1/articles/${live.id}/related`, payload: [{ articleId: draft.id }] }, 200, 'related of published')
  await as({ method: 'POST', url: `/v1/articles/${live.id}/revisions/1/restore` }, 200, 'restore a published article')
  await as({ method: 'PATCH', url: `/v1/articles/${draft.id}`, payload: { status: 'archived' } }, 200, 'archive')
  await as({ method: 'POST', url: `/v1/articles/${draft.id}/unpublish` }, 200, 'unpublish')
  await as({ method: 'DELETE', url: `/v1/articles/${live.id}` }, 204, 'delete published')
  await as({ method: 'DELETE', url: `/v1/articles/${draft.id}` }, 204, 'delete draft')
  await as({ method: 'DELETE', url: `/v1/sections/${section.id}` }, 204, 'delete section')
  await as({ method: 'DELETE', url: `/v1/bylines/${byline.id}` }, 204, 'delete byline')
  await as({ method: 'DELETE', url: `/v1/photos/${photo.id}` }, 204, 'delete photo')

  const keyList = (await req(app, { method: 'GET', url: '/v1/keys', headers: bearer(keys.admin) })).json()
  for (const [what, opts] of [
    ['list keys', { method: 'GET', url: '/v1/keys' }],
    ['read a key', { method: 'GET', url: `/v1/keys/${keyList.data[0].id}` }],
    ['create a key', { method: 'POST', url: '/v1/keys', payload: { name: 'Promote me', role: 'admin' } }],
    ['revoke a key', { method: 'DELETE', url: `/v1/keys/${keyList.data[0].id}` }]
  ] as Array<[string, InjectOptions]>) {
    forbidden(t, await req(app, { ...opts, headers: e }), `editor: ${what}`)
  }
  t.same((await req(app, { method: 'GET', url: '/v1/keys', headers: bearer(keys.admin) })).json(), keyList, 'keys unchanged')

  // the admin does content work too
  const a = await req(app, { method: 'POST', url: '/v1/articles', headers: bearer(keys.admin), payload: { headline: 'By admin', status: 'published' } })
  t.equal(a.statusCode, 201, 'admin: everything')
  t.equal((await req(app, { method: 'DELETE', url: `/v1/articles/${a.json().id}`, headers: bearer(keys.admin) })).statusCode, 204)
})

t.test('anonymous reads work, anonymous writes are 401 and change nothing', async (t) => {
  const { app, anon, keys } = await build(t)
  const { published, section, photo } = await fixtures(app)
  const before = await snapshot(app, keys)
  t.equal((await anon({ method: 'GET', url: `/v1/articles/${published.id}` })).statusCode, 200, 'anonymous reads published')
  t.equal((await anon({ method: 'GET', url: `/v1/sections/${section.id}` })).statusCode, 200)
  for (const opts of [
    { method: 'PATCH', url: `/v1/articles/${published.id}`, payload: { headline: 'Defaced' } },
    { method: 'DELETE', url: `/v1/articles/${published.id}` },
    { method: 'POST', url: `/v1/articles/${published.id}/unpublish` },
    { method: 'DELETE', url: `/v1/photos/${photo.id}` },
    { method: 'DELETE', url: `/v1/sections/${section.id}` }
  ] as InjectOptions[]) {
    const res = await anon(opts)
    problem(t, res, 401, `anonymous ${opts.method} ${opts.url}`)
    t.match(res.headers['www-authenticate'], /^Bearer\b/, 'WWW-Authenticate: Bearer')
    t.notMatch(res.headers['www-authenticate'], /error=/, 'no error code without a token (RFC 6750 §3.1)')
  }
  t.same(await snapshot(app, keys), before, 'nothing changed')
})

t.test('anonymous readers are listed only the photos they can see in use; a key lists every photo', async (t) => {
  const { app, anon } = await build(t)
  const photo = async (caption: string, seed: number) => upload(app, { caption }, await image('jpeg', 64, 48, seed))
  const lead = await photo('Lead of a published story', 1)
  const inBody = await photo('In the body of a published story', 2)
  const portrait = await photo('Portrait of a byline', 3)
  const embargoed = await photo('Lead of a scheduled story', 4)
  const draftOnly = await photo('In a draft', 5)
  const unused = await photo('Not used yet', 6)
  const archivedOnly = await photo('Lead of an archived story', 7)
  await create(app, '/v1/bylines', { name: 'Ma Li', photoId: portrait.id })
  await create(app, '/v1/articles', { headline: 'Out', status: 'published', leadPhotoId: lead.id, body: [{ type: 'photo', photoId: inBody.id }] })
  const scheduled = await create(app, '/v1/articles', { headline: 'Embargoed', status: 'published', publishedAt: new Date(Date.now() + DAY).toISOString(), leadPhotoId: embargoed.id })
  await create(app, '/v1/articles', { headline: 'Draft', body: [{ type: 'photo', photoId: draftOnly.id }] })
  await create(app, '/v1/articles', { headline: 'Archived', status: 'archived', publishedAt: '2014-07-01T00:00:00Z', leadPhotoId: archivedOnly.id })

  const listed = async (page: (o: { url: string }) => Promise<Response>, limit = 100) => {
    const ids: string[] = []
    let url: string | null = `/v1/photos?limit=${limit}`
    while (url) {
      const res = await page({ url })
      t.equal(res.statusCode, 200, url)
      ids.push(...res.json().data.map((p: any) => p.id))
      url = res.json().next ? `/v1/photos?limit=${limit}&cursor=${encodeURIComponent(res.json().next)}` : null
    }
    return ids
  }
  const shown = [portrait.id, inBody.id, lead.id]
  t.same(await listed(anon), shown, 'anonymous: the photos of published stories and bylines, newest first')
  t.same(await listed(anon, 1), shown, 'and so page by page, one at a time')
  t.same((await listed((o) => req(app, o))).length, 7, 'with a key: every photo')
  for (const hidden of [embargoed, draftOnly, unused, archivedOnly]) {
    t.equal((await anon({ url: `/v1/photos/${hidden.id}` })).statusCode, 200, `"${hidden.caption}" is still readable by its id`)
  }

  // the embargo lifts: the photo is listed from then on (a write turns over the cached answers' version)
  t.equal((await req(app, { method: 'POST', url: `/v1/articles/${scheduled.id}/publish`, payload: { publishedAt: new Date(Date.now() - 1000).toISOString() } })).statusCode, 200)
  t.same(await listed(anon), [embargoed.id, ...shown], 'once its story is out, its photo is listed')
})

t.test('a writer deletes drafts never published; a story unpublished to be corrected is an editor\'s to delete', async (t) => {
  const { app, keys } = await build(t)
  const w = bearer(keys.writer)
  const fresh = await req(app, { method: 'POST', url: '/v1/articles', headers: w, payload: { headline: 'Never out' } })
  t.equal((await req(app, { method: 'DELETE', url: `/v1/articles/${fresh.json().id}`, headers: w })).statusCode, 204, 'a draft never published')

  for (const [what, published] of [
    ['published, then unpublished', async () => {
      const a = await create(app, '/v1/articles', { headline: 'Was out', status: 'published', publishedAt: '2023-03-03T00:00:00Z' })
      await req(app, { method: 'POST', url: `/v1/articles/${a.id}/unpublish` })
      return a
    }],
    ['scheduled, then unpublished', async () => {
      const a = await create(app, '/v1/articles', { headline: 'Was scheduled' })
      await req(app, { method: 'POST', url: `/v1/articles/${a.id}/publish`, payload: { publishedAt: new Date(Date.now() + DAY).toISOString() } })
      await req(app, { method: 'POST', url: `/v1/articles/${a.id}/unpublish` })
      return a
    }],
    ['archived, then made a draft', async () => {
      const a = await create(app, '/v1/articles', { headline: 'Was archived', status: 'archived', publishedAt: '2014-07-01T00:00:00Z' })
      await req(app, { method: 'PATCH', url: `/v1/articles/${a.id}`, payload: { status: 'draft', publishedAt: null } })
      return a
    }]
  ] as const) {
    const article = await published()
    const before = (await req(app, { method: 'GET', url: `/v1/articles/${article.id}/revisions?limit=100` })).json()
    t.equal((await req(app, { method: 'GET', url: `/v1/articles/${article.id}` })).json().status, 'draft', `${what}: a draft now`)
    const refused = forbidden(t, await req(app, { method: 'DELETE', url: `/v1/articles/${article.id}`, headers: w }), `writer deletes a story ${what}`)
    t.match(refused.detail, /published before/)
    t.same((await req(app, { method: 'GET', url: `/v1/articles/${article.id}/revisions?limit=100` })).json(), before, 'the story and its history are kept')
    t.equal((await req(app, { method: 'DELETE', url: `/v1/articles/${article.id}` })).statusCode, 204, 'an editor may delete it')
  }
})
