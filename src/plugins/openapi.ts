import fs from 'node:fs'
import { STATUS_CODES } from 'node:http'
import { createRequire } from 'node:module'
import path from 'node:path'
import fp from 'fastify-plugin'
import type { RouteOptions } from 'fastify'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { Type } from '@sinclair/typebox'
import pkg from '../../package.json' with { type: 'json' }
import { problems, grouped } from '../schemas/common.js'
import { PAGE_TEXT_MAX } from '../services/articles.js'
import { optionalBody } from '../routes/context.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route honours If-Match (412 when stale). */
    conditional?: boolean
  }
}

export const openapiInfo = {
  title: 'Newsroom CMS API',
  version: pkg.version,
  description: 'A headless CMS for newsrooms: sections, bylines, photos, articles and related-story links as JSON.\n\n' +
    `**Conventions.** Lists answer \`{data, next}\` with a \`Link: <…>; rel="next"\` header (keyset cursors; \`limit\` 1..100, default 20; a page of articles may be ` +
    `shorter than \`limit\` when its stories are long, at most ${grouped(PAGE_TEXT_MAX)} characters of text: follow \`next\` until it is null). ` +
    'Errors are `application/problem+json` (RFC 9457) with `errors[{path, message}]` for validation. Unknown body fields are rejected. ' +
    '`PATCH` takes a JSON merge patch (`application/merge-patch+json` or `application/json`). Creates answer 201 with `Location`. ' +
    'Dates are RFC 3339, answered in UTC. Slugs are generated from the name or headline when absent, transliterating non-Latin text.\n\n' +
    '**Access.** Reads need no key and show published content only (a draft, scheduled or archived article is a 404 to ' +
    'anonymous readers everywhere). Writes need `Authorization: Bearer <key>`; each operation says the least role it needs ' +
    '(`writer` < `editor` < `admin`). Writers work on drafts only.\n\n' +
    '**Caching.** Every JSON answer has an `ETag` (a hash of what it shows); send it back in `If-None-Match` for a 304, or in ' +
    '`If-Match` on a write to make it conditional (412 when someone changed the resource since). Anonymous reads are ' +
    '`Cache-Control: public` with a max-age; reads with a key are `private, no-store`.\n\n' +
    '**Text.** Headlines, summaries, captions and names are plain text: render them escaped. Body `text` and list `items` are HTML ' +
    'fragments limited to `<b> <i> <em> <strong> <a href>`; everything else is removed on write.'
}

/**
 * What every /v1 route shares is documented here, from the route's own config, so that no route can
 * forget it: who may call it (bearer security and 401/403), conditional requests (If-None-Match and
 * 304 on reads, If-Match, If-None-Match and 412 on conditional writes) and rate limiting (429).
 */
function documentConventions (route: RouteOptions) {
  const schema = route.schema as Record<string, any> | undefined
  if (!schema) return
  // the service's probes and this document need no key, and say so (an empty requirement)
  if (!route.url.startsWith('/v1')) {
    schema.security ??= []
    return
  }
  const methods = [route.method].flat()
  if (methods.includes('HEAD') && !methods.includes('GET')) return
  const responses: Record<string, unknown> = schema.response ??= {}
  const add = (...statuses: number[]) => {
    for (const [status, response] of Object.entries(problems(...statuses))) if (!(status in responses)) responses[status] = response
  }
  const headers: Record<string, unknown> = {}
  const access = route.config?.access
  if (access) {
    schema.security = [{ bearerAuth: [] }]
    schema.description = `${schema.description ? `${schema.description}\n\n` : ''}Requires an API key with role \`${access}\` or higher.`
    add(401, 403)
  } else {
    // a route that checks the key itself (revisions) says so with its own `security`
    schema.security ??= [{}, { bearerAuth: [] }]
    add(401)
  }
  if (schema.body) add(413, 415)
  // read by documentHeaders, which marks the request body optional and drops the marker
  if ([route.preValidation].flat().includes(optionalBody)) schema['x-optional-body'] = true
  if (methods.includes('GET')) {
    responses[304] ??= { description: 'Not modified: the ETag in If-None-Match is still current', type: 'null' }
    headers['if-none-match'] = Type.Optional(Type.String({ description: 'ETag(s) from an earlier response: answered 304 while still current' }))
  }
  if (route.config?.conditional) {
    headers['if-match'] = Type.Optional(Type.String({ description: 'ETag of the representation you read, in its double quotes: the write happens only if it is still current (412 otherwise; a value that is not * or entity tags, or sent empty, is a 400)' }))
    headers['if-none-match'] = Type.Optional(Type.String({ description: 'ETags, or `*`: the write happens only if none of them is current (412 otherwise); `*` stands for any, so it fails wherever the resource exists' }))
    add(412)
  }
  // a write waits for the database's write lock (another process's write) for 5 s at most, and photo writes for S3
  if (methods.some((m) => m !== 'GET' && m !== 'HEAD')) add(503)
  add(429)
  if (Object.keys(headers).length) {
    schema.headers = Type.Object({ ...(schema.headers?.properties ?? {}), ...headers })
  }
}

const header = (description: string) => ({ description, schema: { type: 'string' } })
const HEADERS = {
  etag: header('A hash of everything the answer shows: send it back in `If-None-Match` (304 while current) or `If-Match` (a conditional write)'),
  location: header('Where the created resource is read'),
  moved: header('Where the resource is read now'),
  link: header('`<…>; rel="next"`: the next page, when there is one'),
  authenticate: header('`Bearer realm="cms"` (with `error="invalid_token"` for a refused key)'),
  retryAfter: header('Seconds to wait before trying again'),
  contentRange: header('`bytes <first>-<last>/<size>`: which bytes of the file the answer holds'),
  size: header('`bytes */<size>`: the size of the file'),
  lastModified: header('When the file last changed (to the second): send it back in `If-Modified-Since` for a 304'),
  acceptRanges: header('`bytes`: a `Range` of the file may be asked for'),
  requestId: header('The request\'s id (a problem\'s `requestId` too): quote it when reporting a problem'),
  cacheControl: header('`public, max-age=…, stale-while-revalidate=…` on anonymous reads (a photo file at a versioned URL: a year, ' +
    '`immutable`); `private, no-store` on reads with a key; `no-store` on writes, errors and the probes'),
  vary: header('`Authorization` (and `Origin` when CORS is on): a shared cache keeps anonymous and keyed answers apart')
}

type Operation = {
  'x-optional-body'?: boolean
  requestBody?: { required?: boolean, content: Record<string, { schema?: Record<string, unknown> }> }
  responses?: Record<string, { description?: string, headers?: Record<string, unknown>, content?: Record<string, { schema?: { $ref?: string } }> }>
}

/**
 * What the generated document cannot say from the route schemas alone: the headers answers carry (X-Request-Id and
 * Cache-Control on every answer, Vary on every read, an ETag on every
 * JSON answer, file and 304, Last-Modified and Accept-Ranges on a file, Content-Range on a 206 and 416, Location on a 201, Link on a page of a list, WWW-Authenticate on a 401, Retry-After on a
 * 429 and a busy 503), merge patches as a PATCH body type, and bodies that may be left out (publish, unpublish, restore: see
 * optionalBody).
 */
export function documentHeaders ({ openapiObject }: { openapiObject: Record<string, any> }) {
  for (const [path, item] of Object.entries<Record<string, Operation>>(openapiObject.paths ?? {})) {
    for (const [method, operation] of Object.entries(item)) {
      const body = operation.requestBody
      if (body && operation['x-optional-body']) body.required = false
      delete operation['x-optional-body']
      const json = body?.content['application/json']
      if (method === 'patch' && body && json) body.content['application/merge-patch+json'] = json
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        // a response schema without a description of its own: the status's name, rather than the plugin's placeholder
        if (response.description === 'Default Response') response.description = STATUS_CODES[status]!
        const add = (name: string, value: unknown) => { response.headers = { ...response.headers, [name]: value } }
        add('X-Request-Id', HEADERS.requestId)
        add('Cache-Control', HEADERS.cacheControl)
        if (method === 'get' && path.startsWith('/v1')) add('Vary', HEADERS.vary)
        const content = response.content?.['application/json']
        if (content || status === '304' || response.content?.['image/*']) add('ETag', HEADERS.etag)
        // removing a related link leaves a list, whose new tag the 204 carries for the next conditional write
        if (status === '204' && path.endsWith('/related/{linkId}')) add('ETag', HEADERS.etag)
        if (response.content?.['image/*']) {
          add('Last-Modified', HEADERS.lastModified)
          add('Accept-Ranges', HEADERS.acceptRanges)
        }
        if (status === '206') add('Content-Range', HEADERS.contentRange)
        if (status === '416') add('Content-Range', HEADERS.size)
        if (status === '201') add('Location', HEADERS.location)
        if (status === '301') add('Location', HEADERS.moved)
        if (method === 'get' && status === '200' && content?.schema?.$ref?.endsWith('Page')) add('Link', HEADERS.link)
        if (status === '401') add('WWW-Authenticate', HEADERS.authenticate)
        // a busy /v1 route says when to retry (the readiness probe's 503 does not)
        if (status === '429' || (status === '503' && path.startsWith('/v1'))) add('Retry-After', HEADERS.retryAfter)
      }
    }
  }
  return openapiObject
}

/** The OpenAPI 3.1 document, generated from the route schemas; components are named by each schema's `$id`. */
export default fp(async (app) => {
  app.addHook('onRoute', documentConventions)
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: openapiInfo,
      // relative: the server that serves this document, wherever it is deployed (PUBLIC_URL names it for photo URLs)
      servers: [{ url: '/', description: 'The server this document is served from' }],
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            description: 'An API key: `Authorization: Bearer <key>`, in one such header (never in the URL: keys there are not read, and left out of logs). Reads work without one (published content only); writes need a key whose role allows them.'
          }
        }
      },
      tags: [
        { name: 'sections', description: 'The section tree and section fronts' },
        { name: 'bylines', description: 'People, agencies and organizations credited on articles' },
        { name: 'photos', description: 'Uploaded images with caption, credit and focal point' },
        { name: 'articles', description: 'Stories, with everything their page shows resolved' },
        { name: 'related links', description: 'An article\'s ordered related stories' },
        { name: 'revisions', description: 'Every write to an article, readable and restorable' },
        { name: 'keys', description: 'API keys and their roles (admin only)' },
        { name: 'service', description: 'Health and documentation' }
      ]
    },
    transformObject: documentHeaders as never,
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`)
    }
  })
  // the page's files, served from the package's own folder (the plugin itself is bundled with the server: loaded
  // from node_modules with @fastify/static and yaml, it was ~60 ms of every start)
  const assets = path.join(path.dirname(createRequire(import.meta.url).resolve('@fastify/swagger-ui')), 'static')
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    baseDir: assets,
    logo: { type: 'image/svg+xml', content: fs.readFileSync(path.join(assets, 'logo.svg')) },
    uiConfig: { deepLinking: true },
    // the reference page runs scripts, unlike the API: it gets its own policy (over plain http too)
    staticCSP: true,
    transformStaticCSP: (header) => header.replace(/\s*upgrade-insecure-requests;/, '')
  })

  app.get('/openapi.json', {
    // (rate-limited like the API, unlike the probes)
    schema: { tags: ['service'], operationId: 'getOpenApi', summary: 'This API\'s OpenAPI 3.1 document', response: { 200: { type: 'object', additionalProperties: true }, ...problems(429) } }
  }, async () => app.swagger())
}, { name: 'openapi' })
