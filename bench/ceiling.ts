/**
 * The ceiling: a bare Fastify server answering the same URLs with the same pre-rendered bytes (and 304s for
 * matching If-None-Match), doing no work at all. The API's requests/s are reported as a ratio of this.
 */
import fs from 'node:fs'
import Fastify from 'fastify'

interface Canned { status: number, type: string, etag?: string, body: string }
const canned = new Map<string, Canned>(Object.entries(JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8'))))
const created = canned.get('POST /v1/articles')!

const app = Fastify({ logger: false })
app.removeContentTypeParser('application/json')
app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => done(null, body))
app.get('/*', async (request, reply) => {
  const hit = canned.get(request.url)
  if (!hit) return reply.code(404).send()
  if (hit.etag) {
    reply.header('etag', hit.etag)
    if (request.headers['if-none-match'] === hit.etag) return reply.code(304).send()
  }
  return reply.code(hit.status).type(hit.type).send(Buffer.from(hit.body, 'base64'))
})
app.post('/v1/articles', async (_request, reply) => reply.code(201).type(created.type).send(Buffer.from(created.body, 'base64')))
await app.listen({ port: Number(process.argv[3]), host: '127.0.0.1' })
process.send?.('ready')
