import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { notFound, sendProblem } from './problems.js'

/**
 * Answers for a path the API serves, asked with a method it does not serve there: 405 with `Allow` (RFC 9110
 * 15.5.6), and `OPTIONS` answered 204 with `Allow`, instead of the 404 Fastify gives any method-and-path pair it
 * has no route for. The routes' paths are collected as they are added (call this before any route is).
 */
export function methodAware (app: FastifyInstance) {
  const paths = new Map<string, { pattern: RegExp, methods: Set<string> }>()
  app.addHook('onRoute', (route) => {
    // a catch-all (the CORS preflight route, when configured) would make every path look served
    if (route.url === '*' || route.url === '/*') return
    const pattern = new RegExp(`^${route.url.split('/').map((part) =>
      part.startsWith(':') ? '[^/]+' : part === '*' ? '.*' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('/')}/?$`)
    const entry = paths.get(route.url) ?? { pattern, methods: new Set<string>() }
    for (const method of [route.method].flat()) entry.methods.add(method)
    if (entry.methods.has('GET')) entry.methods.add('HEAD')
    paths.set(route.url, entry)
  })

  return function notServed (request: FastifyRequest, reply: FastifyReply) {
    const path = request.url.split('?')[0]!
    const allowed = new Set<string>()
    for (const { pattern, methods } of paths.values()) if (pattern.test(path)) for (const m of methods) allowed.add(m)
    // no route here, or one for this method that found nothing to serve (a file the docs do not have)
    if (allowed.size === 0 || allowed.has(request.method)) return notFound(request, reply)
    const allow = [...allowed, 'OPTIONS'].sort().join(', ')
    reply.header('allow', allow)
    if (request.method === 'OPTIONS') return reply.code(204).send()
    return sendProblem(request, reply, 405, `${request.method} is not served at ${path}: use ${allow}`, { code: 'CMS_METHOD_NOT_ALLOWED' })
  }
}
