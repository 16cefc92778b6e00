import t from 'tap'
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler'
import { build, create, upload } from './helper.js'

/* eslint-disable @typescript-eslint/no-explicit-any */

/**
 * Articles and pages of articles are written with JSON.stringify, not with the fast-json-stringify serializer
 * of their response schema (src/plugins/validation.ts). Nothing then strips a field the schema does not
 * declare, or turns a value into the declared type: every such answer must be exactly what the schema's
 * serializer writes, with every kind of block, photo, byline and related link in it.
 */
t.test('article answers are exactly what their response schema serializes: nothing more, nothing coerced', async (t) => {
  const { app, anon } = await build(t)
  const serializers = SerializerSelector()(app.getSchemas(), {})
  const schemaOf = (ref: string) => serializers({ schema: { $ref: ref }, method: 'GET', url: '/', httpStatus: '200' } as any)
  const article = schemaOf('Article')
  const page = schemaOf('ArticlePage')

  const parent = await create(app, '/v1/sections', { name: 'World' })
  const section = await create(app, '/v1/sections', { name: 'Asia', parentId: parent.id })
  const author = await create(app, '/v1/bylines', { name: 'Li Wei', kind: 'person', title: 'Correspondent' })
  const agency = await create(app, '/v1/bylines', { name: 'Xinhua', kind: 'agency' })
  const photo = await upload(app, { caption: 'The river port', credit: 'Xinhua', altText: 'Cranes over a port', focalX: '0.3', focalY: '0.6' })
  const target = await create(app, '/v1/articles', { headline: 'Earlier gas talks', summary: 'Background', status: 'published' })
  const full = await create(app, '/v1/articles', {
    headline: 'Gas deal <signed> & "sealed"',
    summary: 'Pipeline deal — with odd text: \u2028 \u{1F600} \\ "quotes"',
    sectionId: section.id,
    leadPhotoId: photo.id,
    bylines: [{ bylineId: author.id }, { bylineId: agency.id, role: 'agency' }],
    tags: ['energy', 'Russia'],
    source: 'Xinhua',
    canonicalUrl: 'https://example.com/gas-deal',
    language: 'en',
    status: 'published',
    body: [
      { type: 'paragraph', text: 'The <b>gas</b> deal was <i>signed</i>.' },
      { type: 'heading', text: 'What it means', level: 2 },
      { type: 'photo', photoId: photo.id },
      { type: 'photo', photoId: photo.id, caption: 'An override caption' },
      { type: 'quote', text: 'A good day', attribution: 'The minister' },
      { type: 'quote', text: 'Unattributed' },
      { type: 'list', ordered: true, items: ['one', 'two'] },
      { type: 'embed', url: 'https://example.com/video', title: 'Video' },
      { type: 'embed', url: 'https://example.com/map' }
    ]
  })
  await create(app, `/v1/articles/${full.id}/related`, { articleId: target.id })
  await create(app, `/v1/articles/${full.id}/related`, { url: 'https://example.com/elsewhere', headline: 'Elsewhere', summary: 'Off-site' })
  const draft = await create(app, '/v1/articles', { headline: 'A draft without anything' })

  const exact = (res: any, serialize: (x: unknown) => string, what: string) => {
    // (no bodies in messages: the U+2028 in the summary below would cut the TAP output short)
    t.equal(res.statusCode, 200, `${what} answers 200`)
    // the same values and fields, however ordered (a stored block keeps its own key order)
    t.strictSame(JSON.parse(res.body), JSON.parse(serialize(JSON.parse(res.body))), `${what}: the answer is what the schema's serializer writes`)
    // sent as the UTF-8 bytes its ETag was made from (text beyond Latin-1 above: a dash, U+2028, an emoji)
    t.equal(res.headers['content-type'], 'application/json; charset=utf-8', `${what}: JSON in UTF-8`)
    t.equal(Number(res.headers['content-length']), res.rawPayload.length, `${what}: Content-Length counts the bytes sent`)
    t.ok(res.rawPayload.equals(Buffer.from(JSON.stringify(JSON.parse(res.body)))), `${what}: the bytes are the JSON of the answer`)
  }
  for (const [url, who] of [
    [`/v1/articles/${full.id}`, 'anon'], [`/v1/articles/slug/${full.slug}`, 'anon'], [`/v1/articles/${draft.id}`, 'editor']
  ] as const) {
    exact(who === 'anon' ? await anon({ method: 'GET', url }) : await app.inject({ method: 'GET', url }), article, `GET ${url}`)
  }
  for (const url of [
    '/v1/articles', '/v1/articles?q=gas', '/v1/articles?q=%22gas%20deal%22', '/v1/articles?q=gas&sort=-publishedAt',
    `/v1/sections/${parent.id}/articles?descendants=true`, `/v1/bylines/${author.id}/articles`
  ]) {
    const res = await anon({ method: 'GET', url })
    exact(res, page, `GET ${url}`)
    t.ok(res.json().data.length > 0, `GET ${url} shows articles`)
  }
  exact(await app.inject({ method: 'GET', url: '/v1/articles?status=draft' }), page, 'a page of drafts')
  exact(await app.inject({ method: 'PATCH', url: `/v1/articles/${full.id}`, payload: { summary: null } }), article, 'PATCH')
  exact(await app.inject({ method: 'POST', url: `/v1/articles/${draft.id}/publish`, payload: {} }), article, 'publish')
  const made = await app.inject({ method: 'POST', url: '/v1/articles', payload: { headline: 'Made now' } })
  t.equal(made.statusCode, 201)
  t.strictSame(made.json(), JSON.parse(article(made.json())), 'POST: the answer is what the schema\'s serializer writes')
})

t.test('the bytes an answer is sent as (and its ETag hashed from) are JSON.stringify\'s, whatever the value', async (t) => {
  const { bytesOf } = await import('../src/services/etag.js')
  class Box { constructor (readonly inside: number) {} }
  const values: unknown[] = [
    { data: [], next: null },
    { data: [{ id: 'a', text: 'é — \u2028 \u{1F600} "q" \\ <b>' }, { id: 'b', n: 1.5e-7, no: undefined, f: () => 1 }], next: 'c' },
    { data: [undefined, null, () => 1, Symbol('s'), new Date(0), [1, [2]], 'x'], next: undefined, extra: { nested: [1, 2] } },
    { skipped: undefined, fn: () => 1, sym: Symbol('s'), 2: 'two', 1: 'one', list: [{ a: [1] }], date: new Date(86400000) },
    [{ a: 1 }, [], 'text', 3, null],
    [],
    {},
    Object.assign(Object.create(null), { data: [1, 2], bare: true }),
    { toJSON: () => ({ replaced: [1, 2] }) },
    { data: [{ toJSON: (key: string) => `item ${key}` }] },
    new Box(3),
    { '"quoted" key\n': [true, false] },
    // eslint-disable-next-line no-sparse-arrays
    { data: [1, , 3], sparse: [, 'b'] },
    Object.assign([1, 2], { named: 'not written' }),
    { data: Object.assign([{ a: 1 }], { named: 'not written' }) }
  ]
  values.forEach((value, i) => {
    // the message names the value by its place: raw U+2028 in a TAP line breaks it
    t.equal(bytesOf(value).toString('utf8'), JSON.stringify(value), `value #${i}`)
  })
})
