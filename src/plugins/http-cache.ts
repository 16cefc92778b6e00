import fp from 'fastify-plugin'
import { etagOf, noneMatch } from '../services/etag.js'

/**
 * Conditional requests and caching headers.
 * - Every success carries an ETag: a hash of everything the response shows (of a JSON answer's value, of a text
 *   page's bytes); a GET whose If-None-Match matches is answered 304 with no body.
 * - Anonymous reads (which only ever show published content) are `public` for CACHE_MAX_AGE seconds
 *   with stale-while-revalidate; anything read with a key is `private, no-store`, so a shared cache
 *   never keeps a response that could show unpublished content. Errors and writes are `no-store`; a route
 *   that sets its own Cache-Control keeps it (the health probes: `no-store`).
 * - `Vary: Authorization` keeps caches from answering a keyed request with an anonymous copy.
 */
export default fp(async (app) => {
  const { CACHE_MAX_AGE, CACHE_STALE_WHILE_REVALIDATE } = app.config
  const publicCache = `public, max-age=${CACHE_MAX_AGE}, stale-while-revalidate=${CACHE_STALE_WHILE_REVALIDATE}`
  const isRead = (method: string) => method === 'GET' || method === 'HEAD'

  app.addHook('preSerialization', async (request, reply, payload) => {
    if (reply.statusCode < 200 || reply.statusCode >= 300 || payload === null || typeof payload !== 'object') return payload
    const etag = etagOf(payload)
    reply.header('etag', etag)
    if (isRead(request.method) && noneMatch(request.headers['if-none-match'], etag)) {
      reply.code(304)
      return null
    }
    return payload
  })

  app.addHook('onSend', (request, reply, payload, done) => {
    if (!isRead(request.method) || reply.statusCode >= 400) {
      reply.header('cache-control', 'no-store')
    } else if (request.principal || request.headers.authorization) {
      reply.header('cache-control', 'private, no-store')
    } else if (!reply.hasHeader('cache-control')) {
      reply.header('cache-control', publicCache)
    }
    if (isRead(request.method)) {
      const vary = reply.getHeader('vary')
      reply.header('vary', vary ? `${vary}, Authorization` : 'Authorization')
    }
    // a page written as text, not JSON (the interactive reference at /docs): its ETag from those bytes
    if (isRead(request.method) && reply.statusCode === 200 && typeof payload === 'string' && !reply.hasHeader('etag')) {
      const etag = etagOf(payload)
      reply.header('etag', etag)
      if (noneMatch(request.headers['if-none-match'], etag)) reply.code(304)
    }
    if (reply.statusCode === 304) {
      // a 304 has no body: not a serialized "null" whose length would be announced (keep-alive clients
      // would wait for it), nor a Content-Type describing one
      reply.removeHeader('content-type')
      return done(null, '')
    }
    done(null, payload)
  })
}, { name: 'http-cache', dependencies: ['services'] })
