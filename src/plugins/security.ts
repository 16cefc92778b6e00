import fp from 'fastify-plugin'
import cors from '@fastify/cors'
import helmet from 'helmet'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyRequest } from 'fastify'
import rateLimit from '@fastify/rate-limit'

/**
 * What a service on the internet needs before its routes: security headers, CORS for the configured
 * origins, and request-rate limits per API key (or per client address without one), answered with
 * 429 and Retry-After. Counters live in each process: with several instances, each enforces its own
 * share (see README, scaling out).
 */
export default fp(async (app) => {
  const { CORS_ORIGINS, RATE_LIMIT_ANONYMOUS, RATE_LIMIT_KEY } = app.config

  // The headers OWASP's REST Security Cheat Sheet asks of an API, and a referrer policy (the interactive
  // docs are a page): a JSON API has nothing to run and nothing to frame, and photos may be shown by pages
  // on other origins. Helmet's headers for HTML documents (opener policy, DNS prefetch, IE download options,
  // Flash policies, XSS auditor, origin-keyed agent clusters) say nothing about JSON and would be sent, and
  // cached, with every answer. Helmet's middleware is built once here: @fastify/helmet builds it again for
  // every request (re-parsing the policy). The headers are the same for every answer, so helmet is asked for them
  // once and they are set as the reply's own: a header set on the raw response instead makes Node take its slow
  // path for every other header of the answer (set and checked one by one, then written).
  const secure = helmetHeaders({
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    crossOriginResourcePolicy: { policy: 'cross-origin' },
    frameguard: { action: 'deny' },
    crossOriginEmbedderPolicy: false,
    crossOriginOpenerPolicy: false,
    originAgentCluster: false,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false
  })
  app.addHook('onRequest', (_request, reply, done) => {
    for (const [name, value] of secure) reply.header(name, value)
    done()
  })

  // no origins, no CORS plugin: it would run on every request to add nothing (a preflight is a 404 either way)
  if (CORS_ORIGINS !== '') {
    const options = {
      origin: CORS_ORIGINS === '*' ? '*' : CORS_ORIGINS.split(','),
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['Authorization', 'Content-Type', 'If-Match', 'If-None-Match', 'If-Modified-Since', 'If-Range', 'Range', 'X-Request-Id'],
      exposedHeaders: ['ETag', 'Link', 'Location', 'Retry-After', 'Content-Range', 'Accept-Ranges', 'X-Request-Id', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset'],
      maxAge: 600
    }
    // only a preflight (an OPTIONS with Origin and Access-Control-Request-Method) is answered by the CORS plugin;
    // any other OPTIONS goes on to the 204 with Allow every OPTIONS gets (see methods.ts), not the plugin's 400
    const preflight = { ...options, preflight: true }
    const other = { ...options, preflight: false }
    await app.register(cors, {
      delegator: (request, callback) => callback(null, request.method === 'OPTIONS' && request.headers.origin && request.headers['access-control-request-method'] ? preflight : other)
    })
  }

  await app.register(rateLimit, {
    global: true,
    timeWindow: 60_000,
    keyGenerator: clientOf,
    max: (_request, key) => key.startsWith('key:') ? RATE_LIMIT_KEY : RATE_LIMIT_ANONYMOUS,
    // the counters go out with the 429 only: on an anonymous answer, which CDNs cache and replay to everyone,
    // one client's remaining budget would be shown to all (and setting them was ~10% of a cached read)
    addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
    errorResponseBuilder: (_request, context) => Object.assign(
      new Error(`Too many requests: at most ${context.max} a minute; retry in ${Math.ceil(context.ttl / 1000)} s`),
      { statusCode: 429, code: 'CMS_RATE_LIMITED' }
    )
  })
}, { name: 'security', dependencies: ['services'] })

/** Who a request comes from, for the limits each client has: its key, or else its address (see TRUST_PROXY). */
export const clientOf = (request: FastifyRequest) => request.principal ? `key:${request.principal.keyId}` : `ip:${request.ip}`

/** The headers helmet sets with these options, read once from a response that only records them. */
function helmetHeaders (options: Parameters<typeof helmet>[0]): Array<[string, string]> {
  const headers = new Map<string, string>()
  const recorder = {
    setHeader: (name: string, value: string) => { headers.set(name.toLowerCase(), value) },
    removeHeader: (name: string) => { headers.delete(name.toLowerCase()) }
  }
  let failed: unknown
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (err?: unknown) => { failed = err })
  if (failed) throw failed
  return [...headers]
}
