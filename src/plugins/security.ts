import fp from 'fastify-plugin'
import cors from '@fastify/cors'
import helmet from 'helmet'
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
  // every request (re-parsing the policy), which was ~4% of a cached read's time.
  const secure = helmet({
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
  app.addHook('onRequest', (request, reply, done) => { secure(request.raw, reply.raw, (err?: unknown) => done(err as Error | undefined)) })

  const origins = CORS_ORIGINS === '' ? false : CORS_ORIGINS === '*' ? '*' : CORS_ORIGINS.split(',')
  await app.register(cors, {
    origin: origins,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'If-Match', 'If-None-Match', 'X-Request-Id'],
    exposedHeaders: ['ETag', 'Link', 'Location', 'Retry-After', 'X-Request-Id', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset'],
    maxAge: 600
  })

  await app.register(rateLimit, {
    global: true,
    timeWindow: 60_000,
    keyGenerator: (request) => request.principal ? `key:${request.principal.keyId}` : `ip:${request.ip}`,
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
