import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { IdParams, ListQuery, problems } from '../../schemas/common.js'
import { ApiKey, ApiKeyCreate, ApiKeyCreated, ApiKeyPage } from '../../schemas/keys.js'
import { sendPage } from '../pagination.js'
import { conditionsOf } from '../context.js'

const tags = ['keys']
const config = { access: 'admin' as const }

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { keys } = app.services

  app.get('/keys', {
    config,
    schema: {
      tags,
      operationId: 'listKeys',
      summary: 'List API keys (never their secrets), newest first',
      querystring: Type.Object(ListQuery, { additionalProperties: false }),
      response: { 200: Type.Ref(ApiKeyPage), ...problems(400) }
    }
  }, async (request, reply) => sendPage(request, reply, await keys.list(request.query)))

  app.post('/keys', {
    config,
    schema: {
      tags,
      operationId: 'createKey',
      summary: 'Create an API key',
      description: 'The answer holds the secret, shown this once; only its hash is stored.',
      body: Type.Ref(ApiKeyCreate),
      response: { 201: Type.Ref(ApiKeyCreated), ...problems(400, 415) }
    }
  }, async (request, reply) => {
    const key = await keys.create(request.body)
    return reply.code(201).header('location', `/v1/keys/${key.id}`).send(key)
  })

  app.get('/keys/:id', {
    config,
    schema: {
      tags,
      operationId: 'getKey',
      summary: 'Read an API key (never its secret)',
      params: IdParams,
      response: { 200: Type.Ref(ApiKey), ...problems(404) }
    }
  }, async (request) => keys.get(request.params.id))

  app.delete('/keys/:id', {
    config: { ...config, conditional: true },
    schema: {
      tags,
      operationId: 'revokeKey',
      summary: 'Revoke an API key, effective at once',
      description: 'The key stays listed with `revokedAt` (revisions still name it); any request with it is a 401 from now on. ' +
        'The last admin key not revoked is a 409 (no one could manage keys after it), unless the server has `CMS_ADMIN_KEY`.',
      params: IdParams,
      response: { 204: Type.Null({ description: 'Revoked' }), ...problems(404, 409) }
    }
  }, async (request, reply) => {
    await keys.revoke(request.params.id, conditionsOf(request))
    return reply.code(204).send(null)
  })
}

export default routes
