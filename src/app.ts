import Fastify, { type FastifyServerOptions } from 'fastify'
import { randomUUID } from 'node:crypto'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Config } from './config.js'
import { Problem } from './schemas/common.js'
import { Section, SectionRef, SectionCreate, SectionPatch, SectionPage } from './schemas/sections.js'
import { Byline, BylineCreate, BylinePatch, BylinePage } from './schemas/bylines.js'
import { Photo, FocalPoint, FocalPointPatch, PhotoPatch, PhotoPage } from './schemas/photos.js'
import {
  Article, ArticleCreate, ArticlePatch, ArticlePage, ArticleByline, ArticleSection, Block, BlockInput, PhotoBlock,
  RelatedLink, RelatedLinkInput, RelatedList, RelatedListInput, PublishInput, RevisionContent, RevisionSummary, Revision, RevisionPage
} from './schemas/articles.js'
import { ApiKey, ApiKeyCreate, ApiKeyCreated, ApiKeyPage } from './schemas/keys.js'
import validation from './plugins/validation.js'
import problems, { sendProblem, notFound } from './plugins/problems.js'
import openapi from './plugins/openapi.js'
import services from './plugins/services.js'
import security from './plugins/security.js'
import auth from './plugins/auth.js'
import httpCache from './plugins/http-cache.js'
import responseCache from './plugins/response-cache.js'
import serviceRoutes from './routes/service.js'
import sectionRoutes from './routes/v1/sections.js'
import bylineRoutes from './routes/v1/bylines.js'
import photoRoutes from './routes/v1/photos.js'
import articleRoutes from './routes/v1/articles.js'
import keyRoutes from './routes/v1/keys.js'

/** Shared schemas, registered once: they become the OpenAPI components, named by `$id`. */
const schemas = [
  Problem, SectionRef, Section, SectionCreate, SectionPatch, SectionPage,
  FocalPoint, FocalPointPatch, Photo, PhotoPatch, PhotoPage,
  Byline, BylineCreate, BylinePatch, BylinePage,
  BlockInput, PhotoBlock, Block, ArticleByline, ArticleSection, RelatedLinkInput, RelatedLink, RelatedList, RelatedListInput,
  Article, ArticleCreate, ArticlePatch, ArticlePage,
  PublishInput, RevisionContent, RevisionSummary, Revision, RevisionPage,
  ApiKey, ApiKeyCreate, ApiKeyCreated, ApiKeyPage
]

export interface AppOptions {
  config: Config
  logger?: FastifyServerOptions['logger']
  onQuery?: (sql: string, params: unknown[]) => void
}

const REQUEST_ID = /^[\w.:-]{1,128}$/

/** Builds the application: cross-cutting plugins first, then the data layer and services, then routes. */
export async function buildApp ({ config, logger = false, onQuery }: AppOptions) {
  const app = Fastify({
    logger,
    bodyLimit: config.BODY_MAX_BYTES,
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
    },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
    return503OnClosing: true,
    trustProxy: config.TRUST_PROXY,
    // errors raised before routing (a malformed %-escape in the URL) are problem documents too
    frameworkErrors: (error, request, reply) => sendProblem(request, reply, error.statusCode ?? 400, error.message, { code: error.code })
  }).withTypeProvider<TypeBoxTypeProvider>()

  // hooks on every request are callbacks, not async functions: no promise per request for work that never waits
  app.addHook('onRequest', (request, reply, done) => { reply.header('x-request-id', request.id); done() })
  for (const schema of schemas) app.addSchema(schema)
  // JSON in, JSON out: merge patches are JSON; plain text is not accepted anywhere (415)
  app.removeContentTypeParser('text/plain')
  // an empty JSON body is no body (a bare POST of an action); validation then says what is missing
  const json = app.getDefaultJsonParser('error', 'error')
  const jsonOrNothing: typeof json = (request, body, done) => body === '' ? done(null, undefined) : json(request, body, done)
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser(['application/json', 'application/merge-patch+json'], { parseAs: 'string' }, jsonOrNothing)

  await app.register(validation)
  await app.register(problems)
  await app.register(services, { config, onQuery })
  // every route registered from here on is rate-limited and authenticated, unknown ones included
  await app.register(security)
  app.setNotFoundHandler({ preHandler: app.rateLimit() }, notFound)
  await app.register(auth)
  await app.register(httpCache)
  await app.register(responseCache)
  await app.register(openapi)

  await app.register(serviceRoutes)
  await app.register(async (v1) => {
    await v1.register(sectionRoutes)
    await v1.register(bylineRoutes)
    await v1.register(photoRoutes)
    await v1.register(articleRoutes)
    await v1.register(keyRoutes)
  }, { prefix: '/v1' })
  return app
}

export type App = Awaited<ReturnType<typeof buildApp>>
