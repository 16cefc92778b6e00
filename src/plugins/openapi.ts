import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import pkg from '../../package.json' with { type: 'json' }

export const openapiInfo = {
  title: 'Newsroom CMS API',
  version: pkg.version,
  description: 'A headless CMS for newsrooms: sections, bylines, photos, articles and related-story links as JSON.\n\n' +
    '**Conventions.** Lists answer `{data, next}` with a `Link: <…>; rel="next"` header (keyset cursors; `limit` 1..100, default 20). ' +
    'Errors are `application/problem+json` (RFC 9457) with `errors[{path, message}]` for validation. Unknown body fields are rejected. ' +
    '`PATCH` takes a JSON merge patch (`application/merge-patch+json` or `application/json`). Creates answer 201 with `Location`. ' +
    'Dates are RFC 3339, answered in UTC. Slugs are generated from the name or headline when absent, transliterating non-Latin text.\n\n' +
    '**Text.** Headlines, summaries, captions and names are plain text: render them escaped. Body `text` and list `items` are HTML ' +
    'fragments limited to `<b> <i> <em> <strong> <a href>`; everything else is removed on write.'
}

/** The OpenAPI 3.1 document, generated from the route schemas; components are named by each schema's `$id`. */
export default fp(async (app) => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: openapiInfo,
      tags: [
        { name: 'sections', description: 'The section tree and section fronts' },
        { name: 'bylines', description: 'People, agencies and organizations credited on articles' },
        { name: 'photos', description: 'Uploaded images with caption, credit and focal point' },
        { name: 'articles', description: 'Stories, with everything their page shows resolved' },
        { name: 'related links', description: 'An article\'s ordered related stories' },
        { name: 'service', description: 'Health and documentation' }
      ]
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`)
    }
  })
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: true } })

  app.get('/openapi.json', {
    schema: { tags: ['service'], operationId: 'getOpenApi', summary: 'This API\'s OpenAPI 3.1 document', response: { 200: { type: 'object', additionalProperties: true } } }
  }, async () => app.swagger())
}, { name: 'openapi' })
