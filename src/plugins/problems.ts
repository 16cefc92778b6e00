import fp from 'fastify-plugin'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { STATUS_CODES } from 'node:http'
import type { FieldError } from '../errors.js'
import { PATTERN_MESSAGES, grouped } from '../schemas/common.js'

const PROBLEM = 'application/problem+json'

/**
 * Where a field is: a JSON Pointer (RFC 6901) into the JSON body ("/body/2/photoId" is the article's third
 * block), or into the query string or path parameters, prefixed "/query" or "/params" ("/query/limit").
 */
function pointer (context: string | undefined, instancePath: string, missing?: string) {
  const tail = missing ? `${instancePath}/${missing.replace(/~/g, '~0').replace(/\//g, '~1')}` : instancePath
  if (context === 'querystring') return `/query${tail}`
  if (context === 'params' || context === 'headers') return `/${context}${tail}`
  return tail || '/'
}

function validationErrors (error: FastifyError): FieldError[] {
  const all = error.validation ?? []
  // a union fails once per branch: say it once. "must be one of: a, b" for constants, "must be string or null"
  // for types; when a branch failed on something more telling (too long, bad pattern), keep only that
  const merged: typeof all = []
  const byPath = new Map<string, typeof all>()
  for (const v of all) byPath.set(v.instancePath, [...(byPath.get(v.instancePath) ?? []), v])
  for (const [path, errors] of byPath) {
    const union = errors.find((v) => v.keyword === 'anyOf')
    if (!union) { merged.push(...errors); continue }
    const telling = errors.filter((v) => !['anyOf', 'type', 'const'].includes(v.keyword))
    if (telling.length) { merged.push(...telling); continue }
    // a branch that took the value failed inside it (`tags: [""]` is a list, with a blank tag): those errors say it,
    // not "must be null" from the branch it was never meant for
    if (all.some((v) => v.instancePath.startsWith(`${path}/`))) continue
    const allowed = errors.filter((v) => v.keyword === 'const').map((v) => (v.params as { allowedValue: unknown }).allowedValue)
    const consts = allowed.map((value) => JSON.stringify(value))
    // the type of each literal says nothing more than the literal (an array sent for one fails both, once each)
    const types = [...new Set(errors.filter((v) => v.keyword === 'type').map((v) => String((v.params as { type: unknown }).type)))]
      .filter((type) => !allowed.some((value) => typeof value === type))
    const message = consts.length
      ? `must be one of: ${[...consts, ...types].join(', ')}`
      : `must be ${types.join(' or ')}`
    merged.push({ ...union, message })
  }
  return merged.map((v) => {
    const params = v.params as Record<string, unknown>
    if (v.keyword === 'additionalProperties') {
      return { path: pointer(error.validationContext, v.instancePath, String(params.additionalProperty)), message: 'Unknown field' }
    }
    if (v.keyword === 'discriminator') {
      const { tag, tagValue } = params as { tag: string, tagValue: unknown }
      return { path: pointer(error.validationContext, v.instancePath, tag), message: tagValue === undefined ? 'Is required' : `${JSON.stringify(tagValue)} is not a known ${tag}` }
    }
    if (v.keyword === 'required') {
      return { path: pointer(error.validationContext, v.instancePath, String(params.missingProperty)), message: 'Is required' }
    }
    const words = v.keyword === 'pattern' ? PATTERN_MESSAGES[String(params.pattern)] : undefined
    return { path: pointer(error.validationContext, v.instancePath), message: words ?? v.message ?? 'Is not valid' }
  })
}

/** Longest URL a problem repeats: a 10,000-character query is not echoed back (the path alone is, cut to this). */
const URL_ECHO_MAX = 1024

/** An API key's shape, and the query parameters a client might put one in by mistake. */
const KEY_IN_URL = /cms_[\w-]{8,}|([?&](?:access_token|api_?key|key|token)=)[^&#]*/gi

/**
 * The URL without what looks like a secret: a key sent in the query string (refused: keys go in Authorization)
 * would otherwise be written to the logs and echoed in the problem's `instance`.
 */
export function withoutSecrets (url: string): string {
  return url.includes('?') || url.includes('cms_') ? url.replace(KEY_IN_URL, (_, param?: string) => `${param ?? ''}[redacted]`) : url
}

function echoed (url: string): string {
  return withoutSecrets(url.length <= URL_ECHO_MAX ? url : url.split('?')[0]!).slice(0, URL_ECHO_MAX)
}

export function sendProblem (request: FastifyRequest, reply: FastifyReply, status: number, detail: string, extra: object = {}) {
  return reply.code(status).type(PROBLEM).send({
    type: 'about:blank',
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    instance: echoed(request.url),
    requestId: request.id,
    ...extra
  })
}

/** The answer for a URL no route serves. */
export function notFound (request: FastifyRequest, reply: FastifyReply) {
  return sendProblem(request, reply, 404, `No route ${request.method} ${echoed(request.url.split('?')[0]!)}`, { code: 'CMS_NO_ROUTE' })
}

/** Fastify's own refusals of a body or a path, said in this API's words and codes: what is accepted, and how much. */
const FRAMEWORK: Record<string, (request: FastifyRequest) => [code: string, detail: string]> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: (request) => {
    const sent = request.headers['content-type']
    const body = request.routeOptions.schema?.body as { content?: Record<string, unknown> } | undefined
    const accepted = body?.content ? Object.keys(body.content) : ['application/json', ...(request.method === 'PATCH' ? ['application/merge-patch+json'] : [])]
    return ['CMS_UNSUPPORTED_MEDIA_TYPE', `${sent ? `Content-Type "${sent}" is` : 'A body without a Content-Type is'} not accepted here: send ${accepted.join(' or ')}`]
  },
  FST_ERR_CTP_BODY_TOO_LARGE: (request) =>
    ['CMS_PAYLOAD_TOO_LARGE', `The body is larger than the ${grouped(request.routeOptions.bodyLimit)} bytes accepted here`],
  FST_ERR_BAD_URL: () => ['CMS_BAD_REQUEST', 'The path holds a %-escape that is not UTF-8 text: escape a literal % as %25']
}

/** An error's code and detail as this API says them: Fastify's own in this API's words (see FRAMEWORK). */
export const inOurWords = (error: { code?: string, message: string }, request: FastifyRequest): [code: string | undefined, detail: string] =>
  (error.code !== undefined && FRAMEWORK[error.code]?.(request)) || [error.code, error.message]

/**
 * Every error leaves as RFC 9457 problem details. Client errors say what is wrong; server errors
 * say nothing about internals to the client and everything to the log, under the request id.
 */
export default fp(async (app) => {
  app.setErrorHandler((thrown: FastifyError & { errors?: FieldError[], headers?: Record<string, string> }, request, reply) => {
    // one of ours inside a library's error (the database driver's wrapper around a failed query) is answered as ours
    const error = thrown.statusCode === undefined && (thrown.cause as FastifyError | undefined)?.statusCode !== undefined ? thrown.cause as typeof thrown : thrown
    if (error.headers) reply.headers(error.headers)
    if (error.validation) {
      const errors = validationErrors(error)
      return sendProblem(request, reply, 400, `Invalid request: ${errors.map((e) => `${e.path} ${e.message.charAt(0).toLowerCase()}${e.message.slice(1)}`).join('; ')}`, { code: 'CMS_VALIDATION', errors })
    }
    const status = error.statusCode ?? 500
    if ((status >= 400 && status < 500) || error.code === 'CMS_BUSY') {
      request.log.info({ err: error }, 'client error')
      const [code, detail] = inOurWords(error, request)
      return sendProblem(request, reply, status, detail, { code, ...(error.errors ? { errors: error.errors } : {}) })
    }
    request.log.error({ err: error }, 'request failed')
    if (error.code === 'CMS_UNAVAILABLE') return sendProblem(request, reply, 503, error.message, { code: error.code })
    return sendProblem(request, reply, 500, 'An unexpected error occurred; quote the request id when reporting it', { code: 'CMS_INTERNAL' })
  })

}, { name: 'problems' })
