import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { problems } from '../schemas/common.js'

const Status = Type.Object({ status: Type.String() }, { $id: 'ServiceStatus' })

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/healthz', {
    config: { cache: 'no-store', rateLimit: false },
    schema: {
      tags: ['service'],
      operationId: 'getHealth',
      summary: 'Liveness: the process is up',
      response: { 200: Status }
    }
  }, async () => ({ status: 'ok' }))

  app.get('/readyz', {
    config: { cache: 'no-store', rateLimit: false },
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
