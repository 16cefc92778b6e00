import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { NotFound } from '../../errors.js'
import { etagOf } from '../../services/etag.js'
import { Id, IdParams, SlugParams, ListQuery, Timestamp, TimestampParam, Defaulted, problems } from '../../schemas/common.js'
import {
  Article, ArticleCreate, ArticlePatch, ArticlePage, ArticleStatus, RelatedList, RelatedListInput, RelatedLinkInput,
  PublishInput, Revision, RevisionPage, ArticleRemovalPage
} from '../../schemas/articles.js'
import { sendPage } from '../pagination.js'
import { viewerOf, writeOf, optionalBody } from '../context.js'
import { unauthorized } from '../../plugins/auth.js'

const tags = ['articles']
const relatedTags = ['related links']
const revisionTags = ['revisions']
const NoBody = Type.Object({}, { additionalProperties: false, description: 'Nothing, or an empty object' })
const RevisionParams = Type.Object({ id: Id, n: Type.Integer({ minimum: 1, maximum: 2147483647 }) }, { additionalProperties: false })

export const ArticleListQuery = Type.Object({
  q: Type.Optional(Type.String({
    minLength: 1,
    maxLength: 500,
    description: 'Full-text search over headline, summary, body (photo captions included, as shown), tags and byline names, ranked by relevance (headline weighs most). ' +
      'Words must all match; `"gas deal"` matches the phrase, `Heilongjia*` the prefix (two letters or digits or more: `e*` is a 400; at most 4 prefixes; on the embedded SQLite database, prefixes standing for more than 512 words of the archive together, such as `ti*`, are a 400 saying so). Each hit carries a `snippet`. ' +
      'Relevance ranks the newest 500 matches that pass the other filters (BM25, where a word in most articles is matched but only rarer words are weighed; ' +
      'with a phrase, a prefix or only such common words, by the fields they are found in, then newest); date sorts reach every match.'
  })),
  section: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Section id or slug' })),
  descendants: Defaulted(Type.Boolean({ default: false, description: 'With `section`, include articles of its subsections' })),
  byline: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Byline id or slug' })),
  status: Type.Optional(ArticleStatus),
  tag: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Articles with this tag, however it is cased or written (`china` finds China and full-width ＣＨＩＮＡ, `strasse` Straße)' })),
  publishedAfter: Type.Optional(Timestamp),
  publishedBefore: Type.Optional(Timestamp),
  updatedSince: Type.Optional(TimestampParam('Articles whose editorial "Updated" date (`updatedAt`) is at or after this time. ' +
    'To follow every change (publishing, a scheduled story going live, an edited photo, byline, section or linked story), use `changedSince`.')),
  changedSince: Type.Optional(TimestampParam('Articles whose page changed at or after this time, by the system\'s clock: any write to the article, ' +
    'its bylines or related links; an edit of a section (or a parent section), byline, photo or linked story it shows; and a scheduled story going live ' +
    '(marked within a second of its time). With `sort=changedAt`, a copy kept elsewhere follows the archive: see `GET /v1/articles/removed` for what to drop. Not with `q`. ' +
    'A filtered list cannot show an article leaving the filter (moved to another section): to keep a copy, follow the whole archive.')),
  sort: Type.Optional(Type.Union(
    [Type.Literal('-publishedAt'), Type.Literal('publishedAt'), Type.Literal('-updatedAt'), Type.Literal('updatedAt'), Type.Literal('changedAt'), Type.Literal('-changedAt'), Type.Literal('relevance')],
    { description: 'Default `-publishedAt` (newest first; drafts without a date last; `publishedAt`: oldest first, those drafts first), or `relevance` when searching with `q`. `changedAt` (oldest change first: follow the archive with it) and `-changedAt` ' +
      '(a recently-changed view: an article changed during the walk moves ahead of it) sort by when the page last changed (see `changedSince`), not with `q`' }
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
        '`publishedAfter` is inclusive, `publishedBefore` exclusive; given both, the first must be earlier (a 400 otherwise).',
      querystring: ArticleListQuery,
      response: { 200: Type.Ref(ArticlePage), ...problems(400) }
    }
  }, async (request, reply) => sendPage(request, reply, await articles.list(request.query, viewerOf(request))))

  app.get('/articles/removed', {
    schema: {
      tags,
      operationId: 'listRemovedArticles',
      summary: 'Articles readers can no longer see',
      description: 'What a copy kept elsewhere (a static site, a search service) drops, oldest removal first; with `GET /v1/articles?changedSince=…&sort=changedAt` ' +
        'it follows the archive. Without a key: the articles deleted, unpublished, made drafts, archived or put off to a later time after having been out (one ' +
        'never out is not listed). With a key: the articles deleted (one taken down is still there, changed). One entry per article, its latest removal; an ' +
        'article out again leaves the list. Follow it by asking, next time, for `since` a few seconds before the `Date` of the answer\'s first page.',
      querystring: Type.Object({
        since: Type.Optional(TimestampParam('Removals at or after this time')),
        ...ListQuery
      }, { additionalProperties: false }),
      response: { 200: Type.Ref(ArticleRemovalPage), ...problems(400) }
    }
  }, async (request, reply) => sendPage(request, reply, await articles.removals(request.query, viewerOf(request))))

  app.post('/articles', {
    config: { access: 'writer' },
    schema: {
      tags,
      operationId: 'createArticle',
      summary: 'Create an article',
      description: 'Writers create drafts, without a `publishedAt`: the date a story goes out under is an editor\'s to set.',
      body: Type.Ref(ArticleCreate),
      response: { 201: Type.Ref(Article), ...problems(400, 403, 409, 415, 422) }
    }
  }, async (request, reply) => {
    const article = await articles.create(request.body, writeOf(request))
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
  }, async (request) => articles.get(request.params.id, viewerOf(request)))

  app.get('/articles/slug/:slug', {
    schema: {
      tags,
      operationId: 'getArticleBySlug',
      summary: 'Read an article by slug',
      description: 'A slug the article had before (its slug was changed since) answers 301, its `Location` the article\'s current ' +
        'slug, so links shared with the old URL still find the story (clients following redirects get the article). No other ' +
        'article may take a former slug while the story exists. Only slugs the story has been out with are kept: a draft\'s, ' +
        'changed before it went out, is free at once.',
      params: SlugParams,
      response: {
        200: Type.Ref(Article),
        301: Type.Null({ description: 'The slug is one the article had before: `Location` reads it by its current slug' }),
        ...problems(404)
      }
    }
  }, async (request, reply) => {
    const found = await articles.getBySlug(request.params.slug, viewerOf(request))
    return 'article' in found ? found.article : reply.redirect(`/v1/articles/slug/${encodeURIComponent(found.movedTo)}`, 301)
  })

  app.patch('/articles/:id', {
    config: { access: 'writer', conditional: true },
    schema: {
      tags,
      operationId: 'updateArticle',
      summary: 'Update an article (JSON merge patch)',
      description: 'Writers may change drafts only, and cannot set `status` to published or archived, nor set or remove `publishedAt` (sent back as it stands, it is no change).',
      params: IdParams,
      body: Type.Ref(ArticlePatch),
      response: { 200: Type.Ref(Article), ...problems(400, 404, 409, 415, 422) }
    }
  }, async (request) => articles.update(request.params.id, request.body, writeOf(request)))

  app.delete('/articles/:id', {
    config: { access: 'writer', conditional: true },
    schema: {
      tags,
      operationId: 'deleteArticle',
      summary: 'Delete an article',
      description: 'Also removes every related link pointing at it (each article that had one gets a new revision, action `related`), and the article\'s own revisions. Writers may delete only drafts that were never ' +
        'published, scheduled or archived (a story unpublished to be corrected is an editor\'s to delete), and not one a published, scheduled or archived story links to.',
      params: IdParams,
      response: { 204: Type.Null({ description: 'Deleted' }), ...problems(404) }
    }
  }, async (request, reply) => {
    await articles.delete(request.params.id, writeOf(request))
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
  }, async (request) => articles.relatedList(request.params.id, viewerOf(request)))

  app.put('/articles/:id/related', {
    config: { access: 'writer', conditional: true },
    schema: {
      tags: relatedTags,
      operationId: 'replaceRelatedLinks',
      summary: 'Replace the ordered list of related stories',
      description: 'At most 20 links, no duplicates, no link to the article itself. A link to a target already linked (the same article, or the ' +
        'same page however its URL is written) keeps its id, in its new place and with its overrides as sent; a new one gets a new id. ' +
        'The list as it stands, sent again, writes nothing and records no revision.',
      params: IdParams,
      body: Type.Ref(RelatedListInput),
      response: { 200: Type.Ref(RelatedList), ...problems(400, 404, 415, 422) }
    }
  }, async (request) => articles.replaceRelated(request.params.id, request.body, writeOf(request)))

  app.post('/articles/:id/related', {
    config: { access: 'writer', conditional: true },
    schema: {
      tags: relatedTags,
      operationId: 'appendRelatedLink',
      summary: 'Append one related story',
      params: IdParams,
      body: Type.Ref(RelatedLinkInput),
      response: { 201: Type.Ref(RelatedList), ...problems(400, 404, 415, 422) }
    }
  }, async (request, reply) => {
    const list = await articles.appendRelated(request.params.id, request.body, writeOf(request))
    return reply.code(201).header('location', `/v1/articles/${request.params.id}/related`).send(list)
  })

  app.delete('/articles/:id/related/:linkId', {
    config: { access: 'writer', conditional: true },
    schema: {
      tags: relatedTags,
      operationId: 'deleteRelatedLink',
      summary: 'Remove one related story',
      description: 'The answer\'s `ETag` is the related list\'s as it now stands, for the next conditional write.',
      params: Type.Object({ id: Id, linkId: Id }, { additionalProperties: false }),
      response: { 204: Type.Null({ description: 'Removed' }), ...problems(404) }
    }
  }, async (request, reply) => {
    const list = await articles.deleteRelated(request.params.id, request.params.linkId, writeOf(request))
    return reply.code(204).header('etag', etagOf(list)).send(null)
  })
  app.post('/articles/:id/publish', {
    config: { access: 'editor', conditional: true },
    preValidation: optionalBody,
    schema: {
      tags,
      operationId: 'publishArticle',
      summary: 'Publish an article now, or schedule it',
      description: 'With a future `publishedAt` the article is scheduled: anonymous readers see it from that moment on, decided ' +
        'at read time (nothing has to run). Without a body or `publishedAt`, it is published now, unless it already has a ' +
        'publication date in the past (published, archived, or given its original date): that date is kept, so publishing ' +
        'again never moves a story to the top of its fronts.',
      params: IdParams,
      body: Type.Ref(PublishInput),
      response: { 200: Type.Ref(Article), ...problems(400, 404, 415) }
    }
  }, async (request) => articles.publish(request.params.id, request.body, writeOf(request)))

  app.post('/articles/:id/unpublish', {
    config: { access: 'editor', conditional: true },
    preValidation: optionalBody,
    schema: {
      tags,
      operationId: 'unpublishArticle',
      summary: 'Take an article back to draft',
      description: 'Readers no longer see it anywhere; `publishedAt` is cleared (the revisions keep it).',
      params: IdParams,
      body: NoBody,
      response: { 200: Type.Ref(Article), ...problems(400, 404, 415) }
    }
  }, async (request) => articles.unpublish(request.params.id, writeOf(request)))

  /** Revisions need a key; for an article readers cannot see, anonymous requests get the same 404 as everywhere else. */
  const revisionReader = async (request: FastifyRequest) => {
    if (request.principal) return
    const { id } = request.params as { id: string }
    if (await articles.visible(id, viewerOf(request))) throw unauthorized('Revisions need an API key')
    throw new NotFound('Article', id)
  }

  app.get('/articles/:id/revisions', {
    preHandler: revisionReader,
    schema: {
      tags: revisionTags,
      operationId: 'listRevisions',
      security: [{ bearerAuth: [] }],
      summary: 'An article\'s revisions, newest first',
      description: 'Every write to an article stores a revision: its number, time, the key that made it and the whole article. Needs an API key (any role).',
      params: IdParams,
      querystring: Type.Object(ListQuery, { additionalProperties: false }),
      response: { 200: Type.Ref(RevisionPage), ...problems(400, 401, 404) }
    }
  }, async (request, reply) => sendPage(request, reply, await articles.listRevisions(request.params.id, request.query)))

  app.get('/articles/:id/revisions/:n', {
    preHandler: revisionReader,
    schema: {
      tags: revisionTags,
      operationId: 'getRevision',
      security: [{ bearerAuth: [] }],
      summary: 'One revision, with the whole article as it was',
      description: 'Needs an API key (any role).',
      params: RevisionParams,
      response: { 200: Type.Ref(Revision), ...problems(400, 401, 404) }
    }
  }, async (request) => articles.getRevision(request.params.id, request.params.n))

  app.post('/articles/:id/revisions/:n/restore', {
    config: { access: 'writer', conditional: true },
    preValidation: optionalBody,
    schema: {
      tags: revisionTags,
      operationId: 'restoreRevision',
      summary: 'Restore a revision\'s content as a new revision',
      description: 'Brings back the text, body, section, bylines, photos, tags and related links of revision `n`. Status, ' +
        '`publishedAt` and slug stay as they are: restoring never publishes, unpublishes or moves an article. What the ' +
        'revision points at and was deleted since is left out, so that the rest comes back: related links to articles, bylines, ' +
        'photo blocks; a section or lead photo deleted since leaves the article\'s current one. Writers may restore drafts only.',
      params: RevisionParams,
      body: NoBody,
      response: { 200: Type.Ref(Article), ...problems(400, 404, 409, 415, 422) }
    }
  }, async (request) => articles.restore(request.params.id, request.params.n, writeOf(request)))
}

export default routes
