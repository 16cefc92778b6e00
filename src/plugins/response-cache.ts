import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { noneMatch } from '../services/etag.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The content version an anonymous read was answered under, to file its answer in the cache. */
    cacheVersion: string | null
  }
}

/** A kept answer: its bytes and the headers it was made with (a list's `Link` to its next page among them). */
interface Entry { body: Buffer, etag: string, type: string, link: string | undefined, version: string, size: number }

declare module 'fastify' {
  interface FastifyInstance {
    /** What the response cache holds now: answers and their bytes (all 0 when it is off). */
    responseCache: { readonly entries: number, readonly bytes: number }
  }
  interface FastifyRequest {
    /** Set on the one request making an answer that others asked for at the same time: it hands it to them. */
    cacheLeader: ((entry: Entry | null) => void) | null
  }
}

/** What an answer is kept under: its URL, but for a trailing slash on the path, which the router serves as one path. */
function keyOf (url: string) {
  const query = url.indexOf('?')
  const end = query === -1 ? url.length : query
  return end > 1 && url.charCodeAt(end - 1) === 47 ? url.slice(0, end - 1) + url.slice(end) : url
}

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
  const entries = new Map<string, Entry>()
  let bytes = 0
  app.decorate('responseCache', { get entries () { return entries.size }, get bytes () { return bytes } })
  if (maxBytes === 0) return
  /**
   * The version the kept answers were made under. Versions only move on, so once it turns no kept answer can be
   * served again: they are all let go at once (under writes, memory held for nothing until the next answers pushed
   * them out: after the benchmark's reads, ~50 MiB through its creations).
   */
  let live = ''
  /**
   * URLs answered once and not kept. An answer is kept the second time its URL is asked for (or at once when an
   * answer for it was kept before the version turned): a URL asked for once — a long tail of searches, a crawler
   * walking cursors — would otherwise push out the front pages everyone reads. Forgotten all at once at 1 MiB.
   */
  let seen = new Set<string>()
  let seenChars = 0
  function remember (key: string) {
    if (seenChars > 2 ** 20) { seen = new Set(); seenChars = 0 }
    seen.add(key)
    seenChars += key.length
  }
  let state = { stored: '', version: '', until: 0 }
  /** The next publication being looked up for a database version: the requests that need it meanwhile wait for the one look-up. */
  let looking: { stored: string, version: Promise<string> } | null = null

  /** The current content version: the database's, plus the epoch of the next scheduled publication. */
  async function version (now: number) {
    const stored = await store.version()
    if (stored === state.stored && now < state.until) return state.version
    if (looking?.stored !== stored) {
      const lookup = {
        stored,
        version: store.articles.nextPublication(new Date(now)).then((next) => {
          const until = next ? next.getTime() : Number.POSITIVE_INFINITY
          state = { stored, version: `${stored}:${until}`, until }
          return state.version
        }).finally(() => { if (looking === lookup) looking = null })
      }
      looking = lookup
    }
    return looking.version
  }

  /**
   * Answers being made right now, by URL and version: concurrent misses for the same URL wait for the one
   * request making it instead of each running the same queries (a cold front page under load, a popular
   * search right after a publish).
   */
  const making = new Map<string, { version: string, answer: Promise<Entry | null> }>()

  /** The current version, the kept answers let go if it has turned (see live). */
  async function moveOn () {
    const current = await version(Date.now())
    if (current !== live) {
      live = current
      // URLs read again and again: their next answers are kept at once, as they were while replaced one by one
      for (const key of entries.keys()) remember(key)
      entries.clear()
      bytes = 0
    }
    return current
  }

  app.decorateRequest('cacheVersion', null)
  app.decorateRequest('cacheLeader', null)

  function answer (request: FastifyRequest, reply: FastifyReply, entry: Entry, how: 'hit' | 'shared') {
    reply.header('etag', entry.etag).header('x-cache', how)
    if (entry.link !== undefined) reply.header('link', entry.link)
    if (noneMatch(request.headers['if-none-match'], entry.etag)) return reply.code(304).send('')
    return reply.type(entry.type).send(entry.body)
  }

  app.addHook('preHandler', async (request, reply) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return
    if (request.principal || request.headers.authorization || !request.url.startsWith('/v1/')) return
    const current = await moveOn()
    const key = keyOf(request.url)
    const hit = entries.get(key)
    if (hit && hit.version === current) {
      entries.delete(key)
      entries.set(key, hit)
      return answer(request, reply, hit, 'hit')
    }
    const pending = making.get(key)
    if (pending && pending.version === current) {
      const shared = await pending.answer
      if (shared) return answer(request, reply, shared, 'shared')
    } else {
      let lead!: (entry: Entry | null) => void
      const slot = { version: current, answer: new Promise<Entry | null>((resolve) => { lead = resolve }) }
      making.set(key, slot)
      request.cacheLeader = (entry) => {
        request.cacheLeader = null
        if (making.get(key) === slot) making.delete(key)
        lead(entry)
      }
    }
    request.cacheVersion = current
  })

  app.addHook('onResponse', (request, _reply, done) => {
    // whatever became of the request (an error, a 404, a client gone), those waiting on it are let go
    request.cacheLeader?.(null)
    // a write of this process: the answers it made dead are let go now, not at the next anonymous read (another
    // process's writes are seen then, as are this one's if the database cannot be asked now)
    if (request.method !== 'GET' && request.method !== 'HEAD' && entries.size > 0) moveOn().catch(() => {})
    done()
  })
  app.addHook('onRequestAbort', (request, done) => { request.cacheLeader?.(null); done() })

  app.addHook('onSend', (request, reply, payload, done) => {
    const etag = reply.getHeader('etag')
    if (request.cacheVersion === null || reply.statusCode !== 200 || (typeof payload !== 'string' && !Buffer.isBuffer(payload)) || typeof etag !== 'string') {
      // not kept: those waiting go their own way now, not once it is all written (a photo's file, streamed to a
      // slow reader, held every other reader of that URL until it was done)
      request.cacheLeader?.(null)
      return done(null, payload)
    }
    // kept as bytes, outside the JavaScript heap: the collector neither walks them nor sizes the heap by them,
    // and a hit is written to the socket as it is, with no string to encode
    const key = keyOf(request.url)
    const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload
    const size = body.length + key.length + 200
    const link = reply.getHeader('link')
    const entry = { body, etag, type: String(reply.getHeader('content-type')), link: link === undefined ? undefined : String(link), version: request.cacheVersion, size }
    request.cacheLeader?.(entry)
    // made under a version that has turned since: it could never be served
    if (entry.version !== live) return done(null, body)
    const old = entries.get(key)
    if (!old && !seen.has(key)) {
      remember(key)
      return done(null, body)
    }
    if (old) { entries.delete(key); bytes -= old.size }
    seen.delete(key)
    entries.set(key, entry)
    bytes += size
    for (const [url, entry] of entries) {
      if (bytes <= maxBytes) break
      entries.delete(url)
      bytes -= entry.size
    }
    done(null, body)
  })
}, { name: 'response-cache', dependencies: ['services', 'auth', 'http-cache'] })
