import type { FastifyReply, FastifyRequest } from 'fastify'

/** Sends one page of a list with `Link: <…>; rel="next"` pointing at the following page. */
export function sendPage<T extends { next: string | null }> (request: FastifyRequest, reply: FastifyReply, page: T): T {
  if (page.next) {
    const url = new URL(request.url, 'http://placeholder')
    url.searchParams.set('cursor', page.next)
    reply.header('link', `<${url.pathname}${url.search}>; rel="next"`)
  }
  return page
}
