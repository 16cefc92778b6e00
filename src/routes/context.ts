import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Viewer, Write } from '../services/context.js'
import type { Conditions } from '../services/etag.js'

/** Anonymous readers see published content only; any valid key sees everything it may edit. */
export const viewerOf = (request: FastifyRequest): Viewer => ({ publicOnly: request.principal === null })

/** The writer (routes with `config.access` guarantee one) and the preconditions they sent. */
export const writeOf = (request: FastifyRequest): Write => ({ actor: request.principal!, ...conditionsOf(request) })

/** A write's preconditions: If-Match and If-None-Match. */
export const conditionsOf = (request: FastifyRequest): Conditions => ({ ifMatch: request.headers['if-match'], ifNoneMatch: request.headers['if-none-match'] })

/** For action routes (`preValidation`), whose body may be left out: a bare POST (no body, or an empty one) is `{}`. */
export const optionalBody = async (request: FastifyRequest) => { if (request.body === undefined) request.body = {} }

/** Aborts when the client goes away before its answer is sent (the connection closed), for work it alone waits for. */
export function givenUpBy (reply: FastifyReply): AbortSignal {
  const controller = new AbortController()
  reply.raw.once('close', () => { if (!reply.raw.writableFinished) controller.abort() })
  return controller.signal
}

/** The record an id or a slug names: by id first, then by slug (a 404 names what was asked for). */
export async function byIdOrSlug<T> (idOrSlug: string, byId: (id: string) => Promise<T>, bySlug: (slug: string) => Promise<T>): Promise<T> {
  try {
    return await byId(idOrSlug)
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return bySlug(idOrSlug)
    throw err
  }
}
