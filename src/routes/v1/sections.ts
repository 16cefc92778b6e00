import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { IdParams, IdOrSlugParams, SlugParams, ListQuery, Defaulted, problems } from '../../schemas/common.js'
import { Section, SectionCreate, SectionPatch, SectionPage } from '../../schemas/sections.js'
import { ArticlePage } from '../../schemas/articles.js'
import { sendPage } from '../pagination.js'
import { byIdOrSlug, writeOf } from '../context.js'

const tags = ['sections']

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { sections, articles } = app.services

  app.get('/sections', {
    schema: {
      tags,
      operationId: 'listSections',
      summary: 'List sections',
      description: 'Sections ordered by position, then alphabetically by name, ignoring case and diacritics. `parent` (a section\'s id or slug) narrows the list to that section\'s children, `root` to the top level.',
      querystring: Type.Object({ parent: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })), ...ListQuery }, { additionalProperties: false }),
      response: { 200: Type.Ref(SectionPage), ...problems(400) }
    }
  }, async (request, reply) => sendPage(request, reply, await sections.list(request.query)))

  app.post('/sections', {
    config: { access: 'editor' },
    schema: {
      tags,
      operationId: 'createSection',
      summary: 'Create a section',
      body: Type.Ref(SectionCreate),
      response: { 201: Type.Ref(Section), ...problems(400, 409, 415, 422) }
    }
  }, async (request, reply) => {
    const section = await sections.create(request.body)
    return reply.code(201).header('location', `/v1/sections/${section.id}`).send(section)
  })

  app.get('/sections/:id', {
    schema: {
      tags,
      operationId: 'getSection',
      summary: 'Read a section',
      params: IdParams,
      response: { 200: Type.Ref(Section), ...problems(404) }
    }
  }, async (request) => sections.get(request.params.id))

  app.get('/sections/slug/:slug', {
    schema: {
      tags,
      operationId: 'getSectionBySlug',
      summary: 'Read a section by slug',
      params: SlugParams,
      response: { 200: Type.Ref(Section), ...problems(404) }
    }
  }, async (request) => sections.getBySlug(request.params.slug))

  app.patch('/sections/:id', {
    config: { access: 'editor', conditional: true },
    schema: {
      tags,
      operationId: 'updateSection',
      summary: 'Update a section (JSON merge patch)',
      params: IdParams,
      body: Type.Ref(SectionPatch),
      response: { 200: Type.Ref(Section), ...problems(400, 404, 409, 415, 422) }
    }
  }, async (request) => sections.update(request.params.id, request.body, writeOf(request)))

  app.delete('/sections/:id', {
    config: { access: 'editor', conditional: true },
    schema: {
      tags,
      operationId: 'deleteSection',
      summary: 'Delete a section',
      description: 'Refused with 409 while the section has subsections or articles.',
      params: IdParams,
      response: { 204: Type.Null({ description: 'Deleted' }), ...problems(404, 409) }
    }
  }, async (request, reply) => {
    await sections.delete(request.params.id, writeOf(request))
    return reply.code(204).send(null)
  })

  app.get('/sections/:id/articles', {
    schema: {
      tags,
      operationId: 'getSectionFront',
      summary: 'Section front: published articles, newest first',
      description: 'Published articles of the section (by its id or its slug: `/v1/sections/world/articles`), newest first; `descendants=true` adds those of every subsection.',
      params: IdOrSlugParams,
      querystring: Type.Object({ descendants: Defaulted(Type.Boolean({ default: false, description: 'Include articles of its subsections' })), ...ListQuery }, { additionalProperties: false }),
      response: { 200: Type.Ref(ArticlePage), ...problems(400, 404) }
    }
  }, async (request, reply) => {
    const { id } = await byIdOrSlug(request.params.id, sections.get, sections.getBySlug)
    const { descendants, limit, cursor } = request.query
    return sendPage(request, reply, await articles.list({ section: id, descendants, limit, cursor }, { publicOnly: true }))
  })
}

export default routes
