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

/** A string of JSON text, escapes and all. */
const STRING = /"[^"\\]*(?:\\.[^"\\]*)*"/g
/** The tokens of JSON text that shape it: strings (keys among them), brackets, colons and commas. */
const SHAPE = new RegExp(`${STRING.source}|[{}[\\]:,]`, 'g')

/** How many keys a parsed body's objects hold, in all. */
function keyCount (body: unknown): number {
  let count = 0
  const stack: unknown[] = [body]
  while (stack.length > 0) {
    const value = stack.pop()
    if (value === null || typeof value !== 'object') continue
    if (Array.isArray(value)) {
      for (const item of value) stack.push(item)
    } else {
      const keys = Object.keys(value)
      count += keys.length
      for (const key of keys) stack.push((value as Record<string, unknown>)[key])
    }
  }
  return count
}

/** Where valid JSON text first gives a key twice in one object, as a JSON Pointer to the second. */
function repeatedKey (text: string): string {
  const frames: { keys: Set<string> | null, at: string | number }[] = []
  let last = ''
  const pointer = (key: string | number) => [...frames.slice(0, -1).map((f) => f.at), key].map((k) => `/${String(k).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('')
  for (const [token] of text.matchAll(SHAPE)) {
    const frame = frames[frames.length - 1]
    if (token === '{' || token === '[') frames.push({ keys: token === '{' ? new Set() : null, at: 0 })
    else if (token === '}' || token === ']') frames.pop()
    else if (token === ',') { if (frame && !frame.keys) frame.at = (frame.at as number) + 1 }
    else if (token === ':') {
      const key = JSON.parse(last) as string
      if (frame!.keys!.has(key)) return pointer(key)
      frame!.keys!.add(key)
      frame!.at = key
    } else last = token
  }
  return '/'
}

/**
 * JSON bodies (and merge patches), read strictly: UTF-8 only (another declared charset is a 415; bytes that are
 * not UTF-8 are a 400, not text with U+FFFD in place of what was sent), no `__proto__` or `constructor.prototype`
 * keys (a 400 saying so), no key given twice in one object (a 400 naming it), and no string holding half a surrogate pair, which JSON's `\uD800` escapes can express
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
  // a key given twice in one object: JSON.parse keeps the last, which a proxy or validator reading the first would not
  // see (RFC 8259 leaves it to the reader). Valid JSON has a colon outside strings for each key it gives, so a count
  // of both finds it (~35 µs for a 20 KB article, ~20 ms for 10 MB); only then is the text walked to name the key.
  if ((text.replace(STRING, '').match(/:/g)?.length ?? 0) !== keyCount(value)) {
    const path = repeatedKey(text)
    throw invalid(`The body gives a key twice in one object (${path.length > 200 ? `${path.slice(0, 200)}…` : path}): send each field once`, [{ path, message: 'Is given twice in one object' }])
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
