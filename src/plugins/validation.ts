import fp from 'fastify-plugin'
import { Ajv, type Options } from 'ajv'
import addFormatsModule from 'ajv-formats'
import { FIRST_TIME, LAST_TIME } from '../schemas/common.js'
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler'
import { bytesOf } from '../services/etag.js'

const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Compiles every route schema not compiled yet (they otherwise compile on first use), one per turn of the
     * event loop so that requests are served in between; rejects if one cannot be compiled.
     */
    compileSchemas: () => Promise<void>
  }
}

type Compiled = ((...args: any[]) => any) & { errors?: unknown, schemaEnv?: unknown }

/**
 * Compiling every route's validators and serializers at startup took most of the time to ready: each schema is
 * compiled when a request first needs it, or by compileSchemas() (the server runs it once listening), once per
 * distinct schema. Fastify compiles each route's schemas on their own (every status, content type and request
 * part), though most are the same few: the problem document, declared by every route for several statuses,
 * `Type.Ref(Article)` in each route, header schemas rebuilt per route. So they are keyed by content.
 */
function compiler<T extends { schema?: unknown }, F extends Compiled> (compile: (route: T) => F, all: Array<() => unknown>) {
  const compiled = new Map<string, F>()
  return (route: T): F => {
    const key = JSON.stringify(route.schema)
    let lazy = compiled.get(key)
    if (!lazy) {
      let fn: F | undefined
      // from the content as it was at startup: nothing that reads the route schemas later can change what is compiled
      const get = () => (fn ??= compile({ ...route, schema: JSON.parse(key) }))
      lazy = function (this: unknown, ...args: unknown[]) { return get().apply(this, args) } as F
      // what Fastify reads off an Ajv validator: its errors after a failure, and schemaEnv, which makes Fastify
      // pass the parent object so that the root value itself can be coerced (read before the call: a schema
      // that cannot compile fails in the call, where Fastify answers the error)
      Object.defineProperties(lazy, {
        errors: { get: () => get().errors },
        schemaEnv: { get: () => { try { return get().schemaEnv } catch { return undefined } } }
      })
      compiled.set(key, lazy)
      all.push(get)
    }
    return lazy
  }
}

/**
 * Formats as ajv-formats checks them, but a date-time must also be a time JavaScript can hold: RFC 3339 allows a
 * leap second (`23:59:60Z`), which Date cannot represent (it reached the database as NULL: a 500). It is a 400.
 */
function withFormats (ajv: Ajv): Ajv {
  addFormats(ajv)
  const rfc3339 = ajv.formats['date-time'] as { validate: (s: string) => boolean, compare: (a: string, b: string) => number | undefined }
  // a URI must also be one a browser can follow: RFC 3986's grammar lets through a port past 65535 and an address
  // such as 256.256.256.256, which WHATWG URL parsing (every frontend's) refuses, and a web address's host must
  // name something (`https://.` parses, to a host of one dot)
  const rfc3986 = ajv.formats.uri as RegExp | ((s: string) => boolean)
  const uri = typeof rfc3986 === 'function' ? rfc3986 : (s: string) => rfc3986.test(s)
  const followable = (s: string) => URL.canParse(s) && (!/^https?:/i.test(s) || /[a-z0-9]/i.test(new URL(s).hostname))
  const inYears = (t: number) => t >= FIRST_TIME && t <= LAST_TIME
  return ajv.addFormat('date-time', { ...rfc3339, validate: (s: string) => rfc3339.validate(s) && inYears(Date.parse(s)) })
    .addFormat('uri', (s: string) => uri(s) && followable(s))
}

/** How a number is written in a URL or a form field: decimal digits, as the OpenAPI document's integers and numbers are read. */
export const WRITTEN = { integer: /^-?[0-9]+$/, number: /^-?[0-9]+(\.[0-9]+)?$/ }

type NumberKind = keyof typeof WRITTEN
const numberKind = (schema: { type?: unknown, anyOf?: Array<{ type?: unknown }> }): NumberKind | undefined =>
  schema.type === 'integer' || schema.type === 'number' ? schema.type : schema.anyOf?.map(numberKind).find(Boolean)

/**
 * A query string's or path's numbers, held to decimal digits before Ajv coerces them: Ajv takes any text
 * JavaScript reads as a number, so `limit=1e1`, `0x10`, `0b101` and ` 7` were a page of 10, 16, 5 and 7. They are a 400
 * naming the field, in the same form as any other validation error. Other parts and schemas without numbers
 * are validated as compiled.
 */
function numbersInDigits<F extends Compiled> (schema: { properties?: Record<string, object> }, validate: F): F {
  const numbers = Object.entries(schema.properties ?? {})
    .map(([name, property]) => [name, numberKind(property)] as const)
    .filter((entry): entry is readonly [string, NumberKind] => entry[1] !== undefined)
  if (numbers.length === 0) return validate
  return checkedFirst(validate, (data) => {
    for (const [name, kind] of numbers) {
      const raw = data?.[name]
      for (const text of Array.isArray(raw) ? raw : [raw]) {
        if (typeof text === 'string' && !WRITTEN[kind].test(text)) {
          const message = `must be ${kind === 'integer' ? 'an integer' : 'a number'} written in decimal digits`
          return { error: [{ instancePath: `/${name}`, schemaPath: `#/properties/${name}/type`, keyword: 'type', params: { type: kind }, message }] }
        }
      }
    }
    return undefined
  })
}

/** A compiled validator that first runs `check` on the data, which may change it or answer an error of its own. */
function checkedFirst<F extends Compiled> (validate: F, check: (data: Record<string, unknown> | null) => unknown): F {
  return standingFor(validate, function (this: unknown, data: Record<string, unknown> | null, ...rest: unknown[]) {
    return check(data) ?? validate.apply(this, [data, ...rest])
  })
}

/** `wrapper` as the compiled validator it calls: the validator's errors and schema are the wrapper's. */
function standingFor<F extends Compiled> (validate: F, wrapper: (...args: any[]) => unknown): F {
  return Object.defineProperties(wrapper, {
    errors: { get: () => validate.errors },
    schemaEnv: { get: () => validate.schemaEnv }
  }) as F
}

/** A UUID with an upper-case hex digit anywhere, as some platforms write every one (Swift's `uuidString`). */
const UPPER_UUID = /^(?=.*[A-F])[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/
/** The parameters of a path or a query string that name a record by id (or by a slug, which is lower case). */
const NAMING = ['id', 'linkId', 'section', 'byline', 'parent']

/**
 * A path's or a query string's ids read in any case, as RFC 9562 asks of a UUID given as input: the service writes
 * them in lower case, and a client that writes every UUID in upper case (Swift's `uuidString`) was answered 404.
 */
function idsInAnyCase<F extends Compiled> (validate: F): F {
  return checkedFirst(validate, (data) => {
    if (data === null || typeof data !== 'object') return undefined
    for (const name of NAMING) {
      const value = data[name]
      if (typeof value === 'string' && UPPER_UUID.test(value)) data[name] = value.toLowerCase()
    }
    return undefined
  })
}

/**
 * A body's references read in any case, as a path's are (see idsInAnyCase): once the body is valid, every field
 * that names a record by id (`sectionId`, `bylineId`, `photoId`, `articleId`, `parentId`, `leadPhotoId`) holding a
 * UUID in upper case is written in lower case, so that `"sectionId": "0194F3A0-…"` files the story in that section
 * instead of answering that no such section exists, and is stored as the service writes ids.
 */
function idsLowered<F extends Compiled> (validate: F): F {
  return standingFor(validate, function (this: unknown, data: unknown, ...rest: unknown[]) {
    const valid = validate.apply(this, [data, ...rest])
    if (valid === true) lowerIds(data, 0)
    return valid
  })
}
/** How deep in a body a reference can be (a photo block in an article's body is two levels down). */
const ID_DEPTH = 4
function lowerIds (value: unknown, depth: number): void {
  if (value === null || typeof value !== 'object' || depth > ID_DEPTH) return
  if (Array.isArray(value)) {
    for (const item of value) lowerIds(item, depth + 1)
    return
  }
  const fields = value as Record<string, unknown>
  for (const key of Object.keys(fields)) {
    const field = fields[key]
    if (typeof field === 'string') {
      if (key.endsWith('Id') && UPPER_UUID.test(field)) fields[key] = field.toLowerCase()
    } else lowerIds(field, depth + 1)
  }
}

function ajvInstances (schemas: object[]) {
  // patterns without the Unicode flag: the text patterns count UTF-16 units (see INVISIBLE in schemas/common.ts)
  const common: Options = { allErrors: false, removeAdditional: false, useDefaults: true, discriminator: true, strict: false, unicodeRegExp: false }
  const body = withFormats(new Ajv({ ...common, coerceTypes: false }))
  const url = withFormats(new Ajv({ ...common, coerceTypes: 'array' }))
  for (const schema of schemas) {
    body.addSchema(schema)
    // checked against the JSON Schema meta-schema once (compiling it is most of the cost of adding them)
    url.addSchema(schema, undefined, undefined, false)
  }
  return { body, url }
}

/**
 * Answers written with JSON.stringify instead of fast-json-stringify: articles and pages of them, the largest
 * answers, are built field by field by the articles service (present), and fast-json-stringify took four
 * times as long for them, checking every body block against each block type of the union. A test holds
 * every such answer to be exactly what fast-json-stringify would write.
 */
const PLAIN = new Set(['Article', 'ArticlePage'])

/**
 * Two validators: bodies are taken exactly as sent (no type coercion, unknown fields are an error,
 * never silently dropped); query strings, params and headers coerce "20" to 20, as URLs are text.
 * Responses are serialized by fast-json-stringify, as Fastify does by default, with the same shared schemas.
 */
export default fp(async (app) => {
  const schemas = app.getSchemas()
  // made with the first validator, like the validators themselves (adding the shared schemas takes ~0.07 s)
  let instances: { body: Ajv, url: Ajv } | undefined
  const ajv = () => instances ??= ajvInstances(Object.values(schemas) as object[])
  const all: Array<() => unknown> = []
  const bodyValidator = compiler(({ schema }: { schema: object }) => ajv().body.compile(schema), all)
  const urlValidator = compiler(({ schema }: { schema: object }) => ajv().url.compile(schema), all)
  // multipart and raw image bodies are documented with a schema but checked by their handler (bytes are sniffed)
  const handlerChecked = () => true
  app.setValidatorCompiler(({ schema, httpPart, contentType }) => {
    if (httpPart !== 'body') return numbersInDigits(schema as object, httpPart === 'headers' ? urlValidator({ schema }) : idsInAnyCase(urlValidator({ schema })))
    if (contentType && !contentType.endsWith('json')) return handlerChecked
    return idsLowered(bodyValidator({ schema }))
  })

  const serialize = SerializerSelector()(schemas, {})
  // the bytes the ETag was made from are the answer (Fastify sends a serializer's Buffer as it is, as it sends a
  // Buffer handed to reply.send; its types only speak of strings)
  const plain = bytesOf as unknown as (value: unknown) => string
  app.setSerializerCompiler(compiler((route) => {
    const ref = (route.schema as { $ref?: string }).$ref
    return ref !== undefined && PLAIN.has(ref) ? plain : serialize(route as Parameters<typeof serialize>[0])
  }, all))

  let closing = false
  app.addHook('onClose', async () => { closing = true })
  app.decorate('compileSchemas', async () => {
    for (const get of all) {
      await new Promise(setImmediate)
      if (closing) return
      get()
    }
  })
}, { name: 'validation' })
