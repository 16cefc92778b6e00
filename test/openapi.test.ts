import t from 'tap'
import fs from 'node:fs'
import { Validator } from '@seriousme/openapi-schema-validator'
import { build } from './helper.js'
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
  for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      const name = `${method.toUpperCase()} ${path}`
      t.type(op.operationId, 'string', `${name} has an operationId`)
      t.notOk(ids.has(op.operationId), `${name} operationId is unique`)
      ids.add(op.operationId)
      t.type(op.summary, 'string', `${name} has a summary`)
      t.ok(op.tags?.length, `${name} has tags`)
      const statuses = Object.keys(op.responses)
      t.ok(statuses.some((s) => s.startsWith('2')), `${name} declares its success response`)
      if (path.startsWith('/v1/')) {
        t.ok(statuses.includes('500'), `${name} declares 500`)
        for (const s of statuses.filter((s) => Number(s) >= 400)) {
          t.same(op.responses[s].content?.['application/problem+json']?.schema, { $ref: '#/components/schemas/Problem' }, `${name} ${s} is problem+json`)
        }
      }
      if (path.includes('{id}')) t.ok(statuses.includes('404'), `${name} declares 404`)
      if (op.requestBody?.content?.['application/json']) t.ok(statuses.includes('400'), `${name} declares 400 for a bad body`)
    }
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
})

t.test('every route schema compiles (startup leaves them to their first request)', async (t) => {
  const { app } = await build(t)
  await t.resolves(app.compileSchemas())
})
