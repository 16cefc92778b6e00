import fp from 'fastify-plugin'
import type { FastifyRequest, onRequestHookHandler } from 'fastify'
import { Unauthorized, Forbidden } from '../errors.js'
import { hasRole, type Principal } from '../services/keys.js'
import type { Role } from '../schemas/keys.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The API key behind the request; null for anonymous readers. */
    principal: Principal | null
    /** Why the presented credentials were refused, answered as a 401 once rate limits have counted the request. */
    authFailure: string | null
  }
  interface FastifyContextConfig {
    /** The least role a route needs; routes without one are open to anonymous readers. */
    access?: Role
  }
}

const BEARER = /^Bearer +([\x21-\x7e]{1,512})$/i

/** The 401 every refused request gets: `WWW-Authenticate: Bearer` tells clients what to send. */
export function unauthorized (message: string, error?: 'invalid_request' | 'invalid_token') {
  return Object.assign(new Unauthorized(message), {
    headers: { 'www-authenticate': error ? `Bearer realm="cms", error="${error}"` : 'Bearer realm="cms"' }
  })
}

/** Throws unless the request carries a key with at least `role`. */
export function requireRole (request: FastifyRequest, role: Role) {
  if (request.authFailure) throw unauthorized(request.authFailure, 'invalid_token')
  if (!request.principal) throw unauthorized(`This needs an API key with role ${role} or higher: send "Authorization: Bearer <key>"`)
  if (!hasRole(request.principal, role)) {
    throw new Forbidden(`Your key has role ${request.principal.role}; this needs ${role} or higher`)
  }
}

/** Whether the request's raw headers (name, value, name, value...) hold Authorization more than once. */
function twice (raw: string[]): boolean {
  let seen = false
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 13 && raw[i]!.toLowerCase() === 'authorization') {
      if (seen) return true
      seen = true
    }
  }
  return false
}

/**
 * Bearer API keys. Every request is authenticated first (a key that is malformed, unknown or revoked
 * is refused, never treated as anonymous); each route's `config.access` is checked after rate
 * limiting, so refused attempts are counted too.
 */
export default fp(async (app) => {
  app.decorateRequest('principal', null)
  app.decorateRequest('authFailure', null)

  app.addHook('onRequest', (request, _reply, done) => {
    const header = request.headers.authorization
    if (header === undefined) return done()
    const match = BEARER.exec(header)
    if (!match || twice(request.raw.rawHeaders)) {
      // node keeps the first of two Authorization headers; a proxy may act on the last: neither is guessed
      request.authFailure = match ? 'Send one Authorization header, not several' : 'Send the API key as "Authorization: Bearer <key>"'
      return done()
    }
    app.services.keys.authenticate(match[1]!).then((principal) => {
      if (principal) request.principal = principal
      else request.authFailure = 'Unknown or revoked API key'
      done()
    }, done)
  })

  // route-level hooks run after the app-level ones above, and after the rate limiter's (registered earlier)
  app.addHook('onRoute', (route) => {
    const role = route.config?.access
    const hooks = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest]
    const check: onRequestHookHandler = role
      ? (request, _reply, done) => { try { requireRole(request, role) } catch (err) { return done(err as Error) } done() }
      : (request, _reply, done) => { done(request.authFailure ? unauthorized(request.authFailure, 'invalid_token') : undefined) }
    route.onRequest = [...hooks, check]
  })
}, { name: 'auth', dependencies: ['services'] })
