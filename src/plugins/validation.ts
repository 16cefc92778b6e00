import fp from 'fastify-plugin'
import { Ajv, type Options } from 'ajv'
import addFormatsModule from 'ajv-formats'

const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default

/**
 * Two validators: bodies are taken exactly as sent (no type coercion, unknown fields are an error,
 * never silently dropped); query strings, params and headers coerce "20" to 20, as URLs are text.
 */
export default fp(async (app) => {
  const common: Options = { allErrors: false, removeAdditional: false, useDefaults: true, discriminator: true, strict: false }
  const body = addFormats(new Ajv({ ...common, coerceTypes: false }))
  const url = addFormats(new Ajv({ ...common, coerceTypes: 'array' }))
  for (const schema of Object.values(app.getSchemas())) {
    body.addSchema(schema as object)
    url.addSchema(schema as object)
  }
  // multipart and raw image bodies are documented with a schema but checked by their handler (bytes are sniffed)
  const handlerChecked = () => true
  app.setValidatorCompiler(({ schema, httpPart, contentType }) => {
    if (httpPart !== 'body') return url.compile(schema)
    if (contentType && !contentType.endsWith('json')) return handlerChecked
    return body.compile(schema)
  })
}, { name: 'validation' })
