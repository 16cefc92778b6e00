import type { FastifyInstance, FastifyRequest } from 'fastify'
import sjson from 'secure-json-parse'
import { BadRequest, UnsupportedMediaType, invalid } from '../errors.js'
import type { FieldError } from '../errors.js'

const utf8 = new TextDecoder('utf-8', { fatal: true })
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)"?/i
/** A `\uD800`–`\uDFFF` escape: only then can a parsed string hold half a surrogate pair. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/
const LONE_SURROGATE = /\p{Cs}/u

/** At most this many places are named in one answer. */
const NAMED = 20

/**
 * Where in a parsed body a string (or a key) holds half a surrogate pair, as JSON Pointers (the first NAMED); none
 * when well formed. A walk with its own stack: a body nested 100,000 deep is valid JSON, and deeper than a
 * recursive walk can go.
 */
function unpaired (body: unknown): FieldError[] {
  const found: FieldError[] = []
  const stack: [unknown, string][] = [[body, '']]
  while (stack.length > 0 && found.length < NAMED) {
    const [value, path] = stack.pop()!
    if (typeof value === 'string') {
      if (LONE_SURROGATE.test(value)) found.push({ path: path || '/', message: 'Holds half a surrogate pair (\\uD800–\\uDFFF alone): not text' })
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push([value[i], `${path}/${i}`])
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value).reverse()) {
        const at = `${path}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`
        if (LONE_SURROGATE.test(k)) found.push({ path: at, message: 'The key holds half a surrogate pair: not text' })
        stack.push([v, at])
      }
    }
  }
  return found
}

/**
 * JSON bodies (and merge patches), read strictly: UTF-8 only (another declared charset is a 415; bytes that are
 * not UTF-8 are a 400, not text with U+FFFD in place of what was sent), no `__proto__` or `constructor.prototype`
 * keys (a 400 saying so), and no string holding half a surrogate pair, which JSON's `\uD800` escapes can express
 * but no stored text can hold (it came back as U+FFFD, its ETag different from the one answered). An empty body
 * is no body: a bare POST of an action; validation then says what is missing.
 */
export function parseJsonBody (request: FastifyRequest, body: Buffer): unknown {
  const charset = CHARSET.exec(request.headers['content-type'] ?? '')?.[1]?.toLowerCase()
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new UnsupportedMediaType(`JSON is read as UTF-8 only, not ${charset}: send it as UTF-8 (or declare no charset)`)
  }
  if (body.length === 0) return undefined
  let text: string
  try {
    text = utf8.decode(body)
  } catch {
    throw new BadRequest('The body is not valid UTF-8: send JSON as UTF-8 text')
  }
  let value: unknown
  try {
    value = sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' })
  } catch (err) {
    throw new BadRequest(/forbidden (prototype|constructor) property/.test((err as Error).message)
      ? 'The body holds a forbidden key (__proto__, or constructor with prototype): no field of this API has that name'
      : `The body is not valid JSON: ${(err as Error).message}`)
  }
  if (SURROGATE_ESCAPE.test(text)) {
    const errors = unpaired(value)
    if (errors.length) {
      const where = errors.map((e) => e.path.length > 200 ? `${e.path.slice(0, 200)}…` : e.path).join(', ')
      throw invalid(`Invalid text: ${where} ${errors.length > 1 ? 'hold' : 'holds'} half a surrogate pair`, errors)
    }
  }
  return value
}

/** Registers the parser for JSON and merge-patch bodies in place of Fastify's own. */
export function jsonBodies (app: FastifyInstance) {
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser(['application/json', 'application/merge-patch+json'], { parseAs: 'buffer' }, (request, body, done) => {
    try {
      done(null, parseJsonBody(request, body as Buffer))
    } catch (err) {
      done(err as Error, undefined)
    }
  })
}
