import fp from 'fastify-plugin'
import { Ajv, type Options } from 'ajv'
import addFormatsModule from 'ajv-formats'
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler'

const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default

/**
 * One compiled function per distinct schema. Fastify compiles every route's schemas, each status and content
 * type on its own, though most are the same few (the problem document is declared by every route for several
 * statuses): the same schema compiles to the same function, so it is compiled once. Keyed by content, as the
 * same schema often arrives as different objects (`Type.Ref(Article)` in each route, header schemas rebuilt
 * per route).
 */
function once<T extends { schema?: unknown }, F> (compile: (route: T) => F) {
  const compiled = new Map<string, F>()
  return (route: T) => {
    const key = JSON.stringify(route.schema)
    let fn = compiled.get(key)
    if (!fn) {
      fn = compile(route)
      compiled.set(key, fn)
    }
    return fn
  }
}

/**
 * Two validators: bodies are taken exactly as sent (no type coercion, unknown fields are an error,
 * never silently dropped); query strings, params and headers coerce "20" to 20, as URLs are text.
 * Responses are serialized by fast-json-stringify, as Fastify does by default, with the same shared schemas.
 */
export default fp(async (app) => {
  const common: Options = { allErrors: false, removeAdditional: false, useDefaults: true, discriminator: true, strict: false }
  const body = addFormats(new Ajv({ ...common, coerceTypes: false }))
  const url = addFormats(new Ajv({ ...common, coerceTypes: 'array' }))
  const schemas = app.getSchemas()
  for (const schema of Object.values(schemas)) {
    body.addSchema(schema as object)
    url.addSchema(schema as object)
  }
  const compileBody = once(({ schema }: { schema: object }) => body.compile(schema))
  const compileUrl = once(({ schema }: { schema: object }) => url.compile(schema))
  // multipart and raw image bodies are documented with a schema but checked by their handler (bytes are sniffed)
  const handlerChecked = () => true
  app.setValidatorCompiler(({ schema, httpPart, contentType }) => {
    if (httpPart !== 'body') return compileUrl({ schema })
    if (contentType && !contentType.endsWith('json')) return handlerChecked
    return compileBody({ schema })
  })

  const serializer = SerializerSelector()(schemas, {})
  app.setSerializerCompiler(once((route) => serializer(route as Parameters<typeof serializer>[0])))
}, { name: 'validation' })
