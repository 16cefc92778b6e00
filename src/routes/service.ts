import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { problems } from '../schemas/common.js'

const Status = Type.Object({ status: Type.String() }, { $id: 'ServiceStatus' })

const routes: FastifyPluginAsyncTypebox = async (app) => {
  // a probe's answer is about this process at this moment: never kept by a cache (nor by the response cache,
  // which keeps only /v1 reads)
  app.addHook('onRequest', (_request, reply, done) => { reply.header('cache-control', 'no-store'); done() })

  app.get('/healthz', {
    config: { rateLimit: false },
    schema: {
      tags: ['service'],
      operationId: 'getHealth',
      summary: 'Liveness: the process is up',
      response: { 200: Status }
    }
  }, async () => ({ status: 'ok' }))

  app.get('/readyz', {
    config: { rateLimit: false },
    schema: {
      tags: ['service'],
      operationId: 'getReadiness',
      summary: 'Readiness: the database answers and photo storage is writable',
      response: { 200: Status, 503: problems(503)[503] }
    }
  }, async (request, reply) => {
    try {
      await app.store.ping()
      await app.storage.check()
      return { status: 'ready' }
    } catch (err) {
      request.log.error({ err }, 'not ready')
      return reply.code(503).type('application/problem+json').send({ type: 'about:blank', title: 'Service Unavailable', status: 503, detail: 'Database or photo storage unavailable' })
    }
  })
}

export default routes
