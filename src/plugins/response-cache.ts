import fp from 'fastify-plugin'
import { noneMatch } from '../services/etag.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The content version an anonymous read was answered under, to file its answer in the cache. */
    cacheVersion: string | null
  }
}

interface Entry { body: string, etag: string, type: string, version: string, size: number }

/**
 * Anonymous reads, answered from memory while nothing they could show has changed.
 * An answer is kept with the content version it was made under and reused only while the version is the
 * same: the version changes with every commit, by this process or by any other process writing to the same
 * database, so a cached answer can never be stale because of a write anywhere. Scheduled articles change
 * what readers see without a write: the version also turns over at the next scheduled publication time.
 * Keyed reads are never cached.
 */
export default fp(async (app) => {
  const { store } = app
  const maxBytes = app.config.RESPONSE_CACHE_MB * 2 ** 20
  if (maxBytes === 0) return
  const entries = new Map<string, Entry>()
  let bytes = 0
  let state = { stored: '', version: '', until: 0 }

  /** The current content version: the database's, plus the epoch of the next scheduled publication. */
  async function version (now: number) {
    const stored = await store.version()
    if (stored !== state.stored || now >= state.until) {
      const next = await store.articles.nextPublication(new Date(now))
      const until = next ? next.getTime() : Number.POSITIVE_INFINITY
      state = { stored, version: `${stored}:${until}`, until }
    }
    return state.version
  }

  app.decorateRequest('cacheVersion', null)

  app.addHook('preHandler', async (request, reply) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return
    if (request.principal || request.headers.authorization || !request.url.startsWith('/v1/')) return
    if (request.routeOptions.config?.cache === 'no-store') return
    const current = await version(Date.now())
    const hit = entries.get(request.url)
    if (hit && hit.version === current) {
      entries.delete(request.url)
      entries.set(request.url, hit)
      reply.header('etag', hit.etag).header('x-cache', 'hit')
      if (noneMatch(request.headers['if-none-match'], hit.etag)) return reply.code(304).send('')
      return reply.type(hit.type).send(hit.body)
    }
    request.cacheVersion = current
  })

  app.addHook('onSend', async (request, reply, payload) => {
    if (request.cacheVersion === null || reply.statusCode !== 200 || typeof payload !== 'string') return payload
    const etag = reply.getHeader('etag')
    if (typeof etag !== 'string') return payload
    const old = entries.get(request.url)
    if (old) { entries.delete(request.url); bytes -= old.size }
    // V8 keeps ASCII strings (JSON mostly is) at a byte a character
    const size = payload.length + request.url.length + 200
    entries.set(request.url, { body: payload, etag, type: String(reply.getHeader('content-type')), version: request.cacheVersion, size })
    bytes += size
    for (const [url, entry] of entries) {
      if (bytes <= maxBytes) break
      entries.delete(url)
      bytes -= entry.size
    }
    return payload
  })
}, { name: 'response-cache', dependencies: ['services', 'auth', 'http-cache'] })
