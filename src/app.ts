import Fastify, { type FastifyServerOptions } from 'fastify'
import { Type } from '@sinclair/typebox'
import { randomUUID } from 'node:crypto'
import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Config } from './config.js'
import { Problem } from './schemas/common.js'
import { Section, SectionRef, SectionCreate, SectionPatch, SectionPage } from './schemas/sections.js'
import { Byline, BylineCreate, BylinePatch, BylinePage } from './schemas/bylines.js'
import { Photo, FocalPoint, FocalPointPatch, PhotoPatch, PhotoPage } from './schemas/photos.js'
import {
  Article, ArticleCreate, ArticlePatch, ArticlePage, ArticleByline, ArticleSection, Block, BlockInput, PhotoBlock,
  RelatedLink, RelatedLinkInput, RelatedList, RelatedListInput, PublishInput, RevisionContent, RevisionSummary, Revision, RevisionPage,
  ArticleRemoval, ArticleRemovalPage
} from './schemas/articles.js'
import { ApiKey, ApiKeyCreate, ApiKeyCreated, ApiKeyPage } from './schemas/keys.js'
import validation from './plugins/validation.js'
import problems, { sendProblem, inOurWords } from './plugins/problems.js'
import { methodAware } from './plugins/methods.js'
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
import { BadRequest, ServiceUnavailable, UnsupportedMediaType } from './errors.js'
import { jsonBodies } from './plugins/json-body.js'

/** The query string of a route that takes no parameters. */
const NO_QUERY = Type.Object({}, { additionalProperties: false })

/** Shared schemas, registered once: they become the OpenAPI components, named by `$id`. */
const schemas = [
  Problem, SectionRef, Section, SectionCreate, SectionPatch, SectionPage,
  FocalPoint, FocalPointPatch, Photo, PhotoPatch, PhotoPage,
  Byline, BylineCreate, BylinePatch, BylinePage,
  BlockInput, PhotoBlock, Block, ArticleByline, ArticleSection, RelatedLinkInput, RelatedLink, RelatedList, RelatedListInput,
  Article, ArticleCreate, ArticlePatch, ArticlePage,
  PublishInput, RevisionContent, RevisionSummary, Revision, RevisionPage, ArticleRemoval, ArticleRemovalPage,
  ApiKey, ApiKeyCreate, ApiKeyCreated, ApiKeyPage
]

export interface AppOptions {
  config: Config
  logger?: FastifyServerOptions['logger']
  onQuery?: (sql: string, params: unknown[]) => void
}

const REQUEST_ID = /^[\w.:-]{1,128}$/

/**
 * What Node's HTTP parser refuses before any route sees it (a malformed request line or header, an unknown method,
 * both Content-Length and Transfer-Encoding, headers over the size limit, a request too slow to arrive) is answered
 * as a problem document too, like every other error, then the connection is closed: nothing after it can be read.
 */
function clientError (error: Error & { code?: string }, socket: Duplex) {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const [status, detail] = error.code === 'HPE_HEADER_OVERFLOW'
    ? [431, 'The request\'s headers are larger than the server reads']
    : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'The request did not arrive in time']
      : [400, `The request is not valid HTTP/1.1 (${error.code ?? 'malformed'})`]
  // with the headers every answer carries: a request id to quote (none could be read from the request), no caching
  const requestId = randomUUID()
  const body = JSON.stringify({ type: 'about:blank', title: STATUS_CODES[status], status, detail, code: 'CMS_BAD_HTTP', requestId })
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/problem+json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestId}\r\nCache-Control: no-store\r\n` +
      `X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`)
  }
  socket.destroy(error)
}

/** Whether %-escapes decode to UTF-8 text. */
function decodable (text: string): boolean {
  try {
    decodeURIComponent(text)
    return true
  } catch {
    return false
  }
}

/** Builds the application: cross-cutting plugins first, then the data layer and services, then routes. */
/** A %-escaped NUL character, in a path or a query. */
const NUL_ESCAPE = /%00/

export async function buildApp ({ config, logger = false, onQuery }: AppOptions) {
  const app = Fastify({
    logger,
    bodyLimit: config.BODY_MAX_BYTES,
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
    },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
    // refused below, as a problem document (Fastify's own is JSON of another shape, without Retry-After)
    return503OnClosing: false,
    trustProxy: config.TRUST_PROXY,
    // errors raised before routing (a malformed %-escape in the URL) are problem documents too
    // a URL the router cannot read (`/v1/articles/%FF`) is answered before any hook runs: the headers they set are set here
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', request.id).header('cache-control', 'no-store')
        .header('x-content-type-options', 'nosniff').header('content-security-policy', "default-src 'none'")
      const [code, detail] = inOurWords(error, request)
      return sendProblem(request, reply, error.statusCode ?? 400, detail, { code })
    },
    clientErrorHandler: clientError,
    // an HTTP/1.1 request without Host is refused below, as a problem document (node's own answer has no body)
    http: { requireHostHeader: false }
  }).withTypeProvider<TypeBoxTypeProvider>()

  // hooks on every request are callbacks, not async functions: no promise per request for work that never waits
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    done()
  })
  for (const schema of schemas) app.addSchema(schema)
  // JSON in, JSON out: merge patches are JSON; plain text is not accepted anywhere (415)
  app.removeContentTypeParser('text/plain')
  jsonBodies(app)
  const notServed = methodAware(app)

  await app.register(validation)
  await app.register(problems)
  await app.register(services, { config, onQuery })
  // every route registered from here on is rate-limited and authenticated, unknown ones included
  await app.register(security)
  // shutting down: a request that comes on a connection kept alive is refused, to be sent again (to another
  // instance behind the load balancer); Fastify closes the connection after the answer
  let closing = false
  app.addHook('preClose', (done) => { closing = true; done() })
  // what no route can read is refused here, after the security headers are set (every answer carries them)
  app.addHook('onRequest', (request, _reply, done) => {
    if (closing) {
      return done(Object.assign(new ServiceUnavailable('This instance is shutting down: send the request again'), { headers: { 'retry-after': '1' } }))
    }
    if (request.headers.host === undefined && request.raw.httpVersion === '1.1') {
      return done(new BadRequest('An HTTP/1.1 request must name the host it is for in a Host header (RFC 9112 3.2)'))
    }
    // bodies are read as sent: a compressed one would be misread, so it is refused (RFC 9110 15.5.16)
    const coding = request.headers['content-encoding']
    if (coding !== undefined && coding.trim().toLowerCase() !== 'identity') {
      return done(Object.assign(new UnsupportedMediaType(`Content-Encoding "${coding}" is not accepted: send the body uncompressed`), { headers: { 'accept-encoding': 'identity' } }))
    }
    // a %-escape in the query that is no UTF-8 text (`q=%FF`, `q=100%`) would be read as the escape itself, and a
    // search for it find nothing: refused, as the same escape in the path is
    const query = request.url.indexOf('?')
    if (query >= 0 && request.url.includes('%', query) && !decodable(request.url.slice(query + 1))) {
      return done(new BadRequest('The query string holds a %-escape that is not UTF-8 text: escape a literal % as %25'))
    }
    // no field holds a NUL (they are refused in bodies), and PostgreSQL cannot even compare text holding one
    if (NUL_ESCAPE.test(request.url)) {
      return done(new BadRequest('The URL holds a NUL character (%00), which nothing here holds: leave it out'))
    }
    done()
  })
  app.setNotFoundHandler({ preHandler: app.rateLimit() }, notServed)
  await app.register(auth)
  await app.register(httpCache)
  await app.register(responseCache)
  await app.register(openapi)

  await app.register(serviceRoutes)
  await app.register(async (v1) => {
    // a route that takes no query parameters refuses them, as the others refuse unknown ones: a misspelt parameter
    // is said, not ignored on one route and refused on the next (and each junk one another URL for caches to keep)
    v1.addHook('onRoute', (route) => {
      if (route.schema?.querystring === undefined) route.schema = { ...route.schema, querystring: NO_QUERY }
    })
    await v1.register(sectionRoutes)
    await v1.register(bylineRoutes)
    await v1.register(photoRoutes)
    await v1.register(articleRoutes)
    await v1.register(keyRoutes)
  }, { prefix: '/v1' })
  return app
}

export type App = Awaited<ReturnType<typeof buildApp>>
