import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { IdParams, IdOrSlugParams, SlugParams, ListQuery, Line, problems } from '../../schemas/common.js'
import { Byline, BylineCreate, BylinePatch, BylinePage, BylineKind } from '../../schemas/bylines.js'
import { ArticlePage } from '../../schemas/articles.js'
import { sendPage } from '../pagination.js'
import { byIdOrSlug, writeOf } from '../context.js'

const tags = ['bylines']

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { bylines, articles } = app.services

  app.get('/bylines', {
    schema: {
      tags,
      operationId: 'listBylines',
      summary: 'List bylines',
      description: 'Bylines in alphabetical order of name, ignoring case and diacritics (Émile between beta and zeta). `kind` filters by kind; `q` matches any part of the name, ignoring case and diacritics (`jose muller` finds José Müller), typographic apostrophes and hyphens (`o\'brien` finds O’Brien) and invisible characters.',
      querystring: Type.Object({
        kind: Type.Optional(BylineKind),
        q: Type.Optional(Line(200, { description: 'Part of the name; at least one visible character' })),
        ...ListQuery
      }, { additionalProperties: false }),
      response: { 200: Type.Ref(BylinePage), ...problems(400) }
    }
  }, async (request, reply) => sendPage(request, reply, await bylines.list(request.query)))

  app.post('/bylines', {
    config: { access: 'writer' },
    schema: {
      tags,
      operationId: 'createByline',
      summary: 'Create a byline',
      body: Type.Ref(BylineCreate),
      response: { 201: Type.Ref(Byline), ...problems(400, 409, 415, 422) }
    }
  }, async (request, reply) => {
    const byline = await bylines.create(request.body)
    return reply.code(201).header('location', `/v1/bylines/${byline.id}`).send(byline)
  })

  app.get('/bylines/:id', {
    schema: {
      tags,
      operationId: 'getByline',
      summary: 'Read a byline',
      params: IdParams,
      response: { 200: Type.Ref(Byline), ...problems(404) }
    }
  }, async (request) => bylines.get(request.params.id))

  app.get('/bylines/slug/:slug', {
    schema: {
      tags,
      operationId: 'getBylineBySlug',
      summary: 'Read a byline by slug',
      params: SlugParams,
      response: { 200: Type.Ref(Byline), ...problems(404) }
    }
  }, async (request) => bylines.getBySlug(request.params.slug))

  app.patch('/bylines/:id', {
    config: { access: 'writer', conditional: true },
    schema: {
      tags,
      operationId: 'updateByline',
      summary: 'Update a byline (JSON merge patch)',
      description: 'Writers may not change a byline credited on a published or scheduled article.',
      params: IdParams,
      body: Type.Ref(BylinePatch),
      response: { 200: Type.Ref(Byline), ...problems(400, 404, 409, 415, 422) }
    }
  }, async (request) => bylines.update(request.params.id, request.body, writeOf(request)))

  app.delete('/bylines/:id', {
    config: { access: 'editor', conditional: true },
    schema: {
      tags,
      operationId: 'deleteByline',
      summary: 'Delete a byline',
      description: 'Refused with 409 while any article carries the byline.',
      params: IdParams,
      response: { 204: Type.Null({ description: 'Deleted' }), ...problems(404, 409) }
    }
  }, async (request, reply) => {
    await bylines.delete(request.params.id, writeOf(request))
    return reply.code(204).send(null)
  })

  app.get('/bylines/:id/articles', {
    schema: {
      tags,
      operationId: 'getBylineArchive',
      summary: 'Byline archive: published articles, newest first',
      description: 'By the byline\'s id or its slug (`/v1/bylines/li-wei/articles`).',
      params: IdOrSlugParams,
      querystring: Type.Object(ListQuery, { additionalProperties: false }),
      response: { 200: Type.Ref(ArticlePage), ...problems(400, 404) }
    }
  }, async (request, reply) => {
    const { id } = await byIdOrSlug(request.params.id, bylines.get, bylines.getBySlug)
    return sendPage(request, reply, await articles.list({ byline: id, ...request.query }, { publicOnly: true }))
  })
}

export default routes
