import t from 'tap'
import fs from 'node:fs'
import { Validator } from '@seriousme/openapi-schema-validator'
import { build, problem, req, paths } from './helper.js'
import { generateOpenApi } from '../scripts/openapi.js'

t.test('the committed openapi/openapi.json is what the routes generate (run `npm run openapi` after an API change)', async (t) => {
  const committed = fs.readFileSync(new URL('../openapi/openapi.json', import.meta.url), 'utf8')
  t.equal(committed, await generateOpenApi(), 'openapi/openapi.json is stale')
})

t.test('GET /openapi.json is a valid OpenAPI 3.1 document', async (t) => {
  const { app } = await build(t)
  const res = await app.inject({ url: '/openapi.json' })
  t.equal(res.statusCode, 200)
  const doc = res.json()
  t.equal(doc.openapi, '3.1.0')
  const result = await new Validator().validate(doc)
  t.same(result.errors ?? [], [], 'no schema violations')
  t.ok(result.valid)
})

t.test('every operation is documented: operationId, summary, tags, and its error responses as problem+json', async (t) => {
  const { app } = await build(t)
  const doc = (await app.inject({ url: '/openapi.json' })).json()
  const ids = new Set<string>()
  t.match(doc.servers, [{ url: '/' }], 'a server for generated clients: the one serving the document')
  for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      const name = `${method.toUpperCase()} ${path}`
      t.type(op.operationId, 'string', `${name} has an operationId`)
      t.notOk(ids.has(op.operationId), `${name} operationId is unique`)
      ids.add(op.operationId)
      t.type(op.summary, 'string', `${name} has a summary`)
      t.ok(op.tags?.length, `${name} has tags`)
      t.ok(Array.isArray(op.security), `${name} says who may call it (security; [] for no key)`)
      for (const [status, response] of Object.entries<any>(op.responses)) {
        t.ok(response.headers?.['X-Request-Id'] && response.headers?.['Cache-Control'], `${name} ${status} declares X-Request-Id and Cache-Control`)
        t.ok(response.description && response.description !== 'Default Response', `${name} ${status} has a description of its own`)
      }
      // a form has no null: the fields of a multipart body are strings or numbers
      for (const [field, schema] of Object.entries<any>(op.requestBody?.content?.['multipart/form-data']?.schema?.properties ?? {})) {
        t.notMatch(JSON.stringify(schema), /"null"/, `${name}: the form field ${field} cannot be null`)
      }
      const statuses = Object.keys(op.responses)
      t.ok(statuses.some((s) => s.startsWith('2')), `${name} declares its success response`)
      // every route is rate-limited but the probes (an orchestrator's checks must not be refused)
      if (path !== '/healthz' && path !== '/readyz') t.ok(statuses.includes('429'), `${name} declares 429`)
      for (const parameter of op.parameters ?? []) {
        // a generated client must not ask for what the server fills in (limit, descendants)
        if (parameter.in !== 'path') t.notOk(parameter.required, `${name}: the ${parameter.in} parameter ${parameter.name} is optional`)
      }
      if (path.startsWith('/v1/')) {
        t.ok(statuses.includes('500'), `${name} declares 500`)
        t.ok(statuses.includes('400'), `${name} declares 400 (any request may be malformed)`)
        for (const s of statuses.filter((s) => Number(s) >= 400)) {
          t.same(op.responses[s].content?.['application/problem+json']?.schema, { $ref: '#/components/schemas/Problem' }, `${name} ${s} is problem+json`)
        }
      }
      if (path.includes('{id}')) t.ok(statuses.includes('404'), `${name} declares 404`)
      if (op.requestBody?.content?.['application/json']) t.ok(statuses.includes('400'), `${name} declares 400 for a bad body`)
      if (op.requestBody) t.ok(statuses.includes('413') && statuses.includes('415'), `${name} declares 413 and 415 for its body`)
      // the headers a generated client needs to read: ETag for conditional requests, Location, Link to page on
      for (const [status, response] of Object.entries<any>(op.responses)) {
        const headers = Object.keys(response.headers ?? {})
        if (response.content?.['application/json'] || status === '304') t.ok(headers.includes('ETag'), `${name} ${status} declares ETag`)
        if (status === '201' || status === '301') t.ok(headers.includes('Location'), `${name} ${status} declares Location`)
        if (status === '401') t.ok(headers.includes('WWW-Authenticate'), `${name} 401 declares WWW-Authenticate`)
        if (status === '429') t.ok(headers.includes('Retry-After'), `${name} 429 declares Retry-After`)
      }
      if (method === 'get' && /Page$/.test(op.responses['200']?.content?.['application/json']?.schema?.$ref ?? '')) {
        t.ok(op.responses['200'].headers?.Link, `${name} declares Link`)
      }
      if (method === 'patch') t.ok(op.requestBody.content['application/merge-patch+json'], `${name} takes a merge patch`)
    }
  }
  // what the routes check themselves is said too: revisions need a key; action bodies may be left out
  for (const path of ['/v1/articles/{id}/revisions', '/v1/articles/{id}/revisions/{n}']) t.same(doc.paths[path].get.security, [{ bearerAuth: [] }], `${path} needs a key`)
  for (const action of ['publish', 'unpublish', 'revisions/{n}/restore']) t.equal(doc.paths[`/v1/articles/{id}/${action}`].post.requestBody.required, false, `${action}: the body may be left out`)
  t.equal(doc.paths['/v1/articles'].post.requestBody.required, true)
  t.ok(doc.paths['/v1/keys/{id}'].delete.responses['412'], 'revoking a key honours If-Match')
  t.notMatch(JSON.stringify(doc), /x-optional-body/, 'no internal marker left')
  for (const schema of [doc.components.schemas.Photo, doc.components.schemas.PhotoBlock]) {
    t.same(schema.properties.mimeType.enum, ['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/avif'], 'a photo\'s type is one of those accepted')
  }
  for (const name of ['Article', 'Section', 'Byline', 'Photo', 'RelatedLink', 'Problem', 'ArticlePage']) {
    t.ok(doc.components.schemas[name], `component ${name} has a stable name`)
  }
})

t.test('GET /docs serves the interactive reference', async (t) => {
  const { app } = await build(t)
  const res = await app.inject({ url: '/docs/' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /text\/html/)
  // an ETag like every other read, and a 304 for it
  t.match(res.headers.etag, /^"[\w-]+"$/, 'the page has an ETag')
  t.equal((await app.inject({ url: '/docs/' })).headers.etag, res.headers.etag, 'the same page, the same tag')
  const again = await app.inject({ url: '/docs/', headers: { 'if-none-match': String(res.headers.etag) } })
  t.equal(again.statusCode, 304)
  t.equal(again.body, '', 'no body')
  t.equal((await app.inject({ url: '/docs/', headers: { 'if-none-match': '"other"' } })).statusCode, 200, 'another tag: the page')
  const logo = await app.inject({ url: '/docs/static/logo.svg' })
  t.equal(logo.headers['content-type'], 'image/svg+xml')
  // a file the page does not have is a 404 (its route serves GET: not a 405)
  const missing = await app.inject({ url: '/docs/static/nope.js' })
  t.equal(missing.statusCode, 404)
  t.match(missing.json(), { status: 404 })
})

t.test('every route schema compiles (startup leaves them to their first request)', async (t) => {
  const { app } = await build(t)
  await t.resolves(app.compileSchemas())
})

t.test('every schema of the document compiles in Ajv\'s strict mode, as an integrator\'s validator may read it', async (t) => {
  const { Ajv2020 } = await import('ajv/dist/2020.js')
  const { default: addFormats } = await import('ajv-formats')
  const document = JSON.parse(fs.readFileSync(new URL('../openapi/openapi.json', import.meta.url), 'utf8'))
  const ajv = new Ajv2020({ strict: true, strictRequired: true, discriminator: true })
  ;(addFormats as unknown as (a: unknown) => void)(ajv)
  ajv.addKeyword('example').addKeyword('components')
  ajv.addSchema({ $id: 'doc', components: document.components })
  for (const name of Object.keys(document.components.schemas)) {
    t.doesNotThrow(() => ajv.compile({ $ref: `doc#/components/schemas/${name}` }), name)
  }
  // the examples an integrator copies are valid: every one validates against its schema (with its formats)
  const withExamples = Object.entries<any>(document.components.schemas).filter(([, schema]) => schema.examples)
  for (const name of ['ArticleCreate', 'ArticlePatch', 'RelatedListInput', 'SectionCreate', 'BylineCreate', 'PhotoPatch', 'ApiKeyCreate', 'Problem']) {
    t.ok(withExamples.some(([n]) => n === name), `${name} has examples`)
  }
  for (const [name, schema] of withExamples) {
    const validate = ajv.compile({ $ref: `doc#/components/schemas/${name}` })
    schema.examples.forEach((example: unknown, i: number) => t.ok(validate(example), `${name} example ${i} is valid: ${JSON.stringify(validate.errors)}`))
  }
  const article = ajv.compile({ $ref: 'doc#/components/schemas/ArticleCreate' })
  t.ok(article({ headline: 'x', body: [{ type: 'quote', text: 'y' }] }), 'a block validates')
  t.notOk(article({ headline: 'x', body: [{ type: 'poem', text: 'y' }] }), 'an unknown block type does not')
})

t.test('every pattern of the document is a regular expression with and without the Unicode flag', async (t) => {
  // the server reads patterns without the flag (TypeBox's compiler, its ajv); JSON Schema readers, the serializer's
  // ajv and generated clients read them with it, where an escaped surrogate pair makes one code point
  const document = JSON.parse(fs.readFileSync(new URL('../openapi/openapi.json', import.meta.url), 'utf8'))
  const patterns = new Set<string>()
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk)
    else if (value !== null && typeof value === 'object') {
      for (const [key, v] of Object.entries(value)) {
        if (key === 'pattern' && typeof v === 'string') patterns.add(v)
        else walk(v)
      }
    }
  }
  walk(document)
  t.ok(patterns.size >= 5, `the document has patterns (${patterns.size})`)
  for (const pattern of patterns) {
    for (const flags of ['', 'u']) t.doesNotThrow(() => new RegExp(pattern, flags), `/${pattern.slice(0, 60)}…/${flags}`)
  }
})

t.test('the headers the document declares on every answer are on every answer', async (t) => {
  const { app, anon } = await build(t)
  for (const [url, status] of [['/v1/articles', 200], ['/v1/articles/00000000-0000-4000-8000-000000000000', 404], ['/healthz', 200], ['/openapi.json', 200], ['/v1/sections?limit=0', 400]] as const) {
    const res = await anon({ url })
    t.equal(res.statusCode, status, url)
    t.match(res.headers, { 'x-request-id': /\S/, 'cache-control': /\S/ }, `${url}: X-Request-Id and Cache-Control`)
    if (url.startsWith('/v1')) t.match(res.headers.vary, /Authorization/, `${url}: Vary`)
  }
  const keyed = await app.inject({ url: '/v1/articles' })
  t.equal(keyed.headers['cache-control'], 'private, no-store')
})

t.test('every /v1 operation refuses a query parameter it does not take, those that take none included; nothing changes', async (t) => {
  const { app } = await build(t)
  const doc = (await app.inject({ url: '/openapi.json' })).json()
  const article = (await app.inject({ method: 'POST', url: '/v1/articles', payload: { headline: 'Kept' } })).json()
  const admin = { authorization: `Bearer ${(await app.services.keys.create({ name: 'query admin', role: 'admin' })).secret}` }
  // any well-formed value of each path parameter: the query string is checked before anything is looked up
  const values: Record<string, string> = { id: article.id, slug: article.slug, n: '1', linkId: '0192a6a0-0000-7000-8000-000000000000' }
  let routes = 0
  for (const [template, item] of Object.entries<Record<string, any>>(doc.paths)) {
    if (!template.startsWith('/v1/')) continue
    for (const [method, op] of Object.entries<any>(item)) {
      // (a body is checked before the query string: those with one to send are left to their own tests)
      if (method === 'head' || method === 'options' || op.requestBody?.required) continue
      const url = template.replace(/\{(\w+)\}/g, (_, name: string) => {
        t.ok(values[name], `a value for {${name}}`)
        return values[name]!
      })
      const name = `${method.toUpperCase()} ${template}`
      const res = await req(app, { method: method.toUpperCase() as 'GET', url: `${url}?colour=red`, headers: admin })
      const body = problem(t, res, 400, `${name}?colour=red`)
      t.same(paths(body), ['/query/colour'], `${name}: errors[] names the parameter`)
      if (!(op.parameters ?? []).some((p: { in: string }) => p.in === 'query')) routes++
    }
  }
  t.ok(routes >= 15, `operations that take no query parameter were asked too (${routes})`)
  // a write with a good body and a parameter it does not take: refused whole
  const patched = await req(app, { method: 'PATCH', url: `/v1/articles/${article.id}?force=true`, payload: { headline: 'Changed' } })
  t.same(paths(problem(t, patched, 400, 'PATCH with ?force=true')), ['/query/force'])
  const kept = await app.inject({ url: `/v1/articles/${article.id}` })
  t.match(kept.json(), { headline: 'Kept', revision: article.revision }, 'nothing was written')
  t.equal((await app.inject({ url: `/v1/articles/${article.id}` })).statusCode, 200, 'a read without one still answers')
})
