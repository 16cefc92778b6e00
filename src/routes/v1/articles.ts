import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Id, IdParams, SlugParams, ListQuery, Timestamp, problems } from '../../schemas/common.js'
import { Article, ArticleCreate, ArticlePatch, ArticlePage, ArticleStatus, RelatedList, RelatedListInput, RelatedLinkInput } from '../../schemas/articles.js'
import type { Viewer } from '../../services/articles.js'
import { sendPage } from '../pagination.js'

const tags = ['articles']
const relatedTags = ['related links']

/** Until API keys arrive, the API is an editor's tool: every read sees drafts too. */
const editor: Viewer = { publicOnly: false }

export const ArticleListQuery = Type.Object({
  section: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Section id or slug' })),
  descendants: Type.Boolean({ default: false, description: 'With `section`, include articles of its subsections' }),
  byline: Type.Optional(Id),
  status: Type.Optional(ArticleStatus),
  tag: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  publishedAfter: Type.Optional(Timestamp),
  publishedBefore: Type.Optional(Timestamp),
  updatedSince: Type.Optional(Timestamp),
  sort: Type.Optional(Type.Union(
    [Type.Literal('-publishedAt'), Type.Literal('publishedAt'), Type.Literal('-updatedAt'), Type.Literal('updatedAt')],
    { description: 'Default `-publishedAt` (newest first; unpublished drafts last)' }
  )),
  ...ListQuery
}, { additionalProperties: false })

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { articles } = app.services

  app.get('/articles', {
    schema: {
      tags,
      operationId: 'listArticles',
      summary: 'List articles',
      description: 'Full articles (section, bylines, photos and related links resolved), filtered and sorted, one page at a time. ' +
        '`publishedAfter` is inclusive, `publishedBefore` exclusive.',
      querystring: ArticleListQuery,
      response: { 200: Type.Ref(ArticlePage), ...problems(400) }
    }
  }, async (request, reply) => sendPage(request, reply, await articles.list(request.query, editor)))

  app.post('/articles', {
    schema: {
      tags,
      operationId: 'createArticle',
      summary: 'Create an article',
      body: Type.Ref(ArticleCreate),
      response: { 201: Type.Ref(Article), ...problems(400, 409, 415, 422) }
    }
  }, async (request, reply) => {
    const article = await articles.create(request.body)
    return reply.code(201).header('location', `/v1/articles/${article.id}`).send(article)
  })

  app.get('/articles/:id', {
    schema: {
      tags,
      operationId: 'getArticle',
      summary: 'Read an article with everything its page shows',
      params: IdParams,
      response: { 200: Type.Ref(Article), ...problems(404) }
    }
  }, async (request) => articles.get(request.params.id, editor))

  app.get('/articles/slug/:slug', {
    schema: {
      tags,
      operationId: 'getArticleBySlug',
      summary: 'Read an article by slug',
      params: SlugParams,
      response: { 200: Type.Ref(Article), ...problems(404) }
    }
  }, async (request) => articles.getBySlug(request.params.slug, editor))

  app.patch('/articles/:id', {
    schema: {
      tags,
      operationId: 'updateArticle',
      summary: 'Update an article (JSON merge patch)',
      params: IdParams,
      body: Type.Ref(ArticlePatch),
      response: { 200: Type.Ref(Article), ...problems(400, 404, 409, 415, 422) }
    }
  }, async (request) => articles.update(request.params.id, request.body))

  app.delete('/articles/:id', {
    schema: {
      tags,
      operationId: 'deleteArticle',
      summary: 'Delete an article',
      description: 'Also removes every related link pointing at it.',
      params: IdParams,
      response: { 204: Type.Null({ description: 'Deleted' }), ...problems(404) }
    }
  }, async (request, reply) => {
    await articles.delete(request.params.id)
    return reply.code(204).send(null)
  })

  app.get('/articles/:id/related', {
    schema: {
      tags: relatedTags,
      operationId: 'listRelatedLinks',
      summary: 'An article\'s related stories, resolved, in order',
      params: IdParams,
      response: { 200: Type.Ref(RelatedList), ...problems(404) }
    }
  }, async (request) => articles.relatedList(request.params.id, editor))

  app.put('/articles/:id/related', {
    schema: {
      tags: relatedTags,
      operationId: 'replaceRelatedLinks',
      summary: 'Replace the ordered list of related stories',
      description: 'At most 20 links, no duplicates, no link to the article itself.',
      params: IdParams,
      body: Type.Ref(RelatedListInput),
      response: { 200: Type.Ref(RelatedList), ...problems(400, 404, 415, 422) }
    }
  }, async (request) => articles.replaceRelated(request.params.id, request.body))

  app.post('/articles/:id/related', {
    schema: {
      tags: relatedTags,
      operationId: 'appendRelatedLink',
      summary: 'Append one related story',
      params: IdParams,
      body: Type.Ref(RelatedLinkInput),
      response: { 201: Type.Ref(RelatedList), ...problems(400, 404, 415, 422) }
    }
  }, async (request, reply) => {
    const list = await articles.appendRelated(request.params.id, request.body)
    return reply.code(201).header('location', `/v1/articles/${request.params.id}/related`).send(list)
  })

  app.delete('/articles/:id/related/:linkId', {
    schema: {
      tags: relatedTags,
      operationId: 'deleteRelatedLink',
      summary: 'Remove one related story',
      params: Type.Object({ id: Id, linkId: Id }, { additionalProperties: false }),
      response: { 204: Type.Null({ description: 'Removed' }), ...problems(404) }
    }
  }, async (request, reply) => {
    await articles.deleteRelated(request.params.id, request.params.linkId)
    return reply.code(204).send(null)
  })
}

export default routes
