import closeWithGrace from 'close-with-grace'
import type { FastifyRequest } from 'fastify'
import { buildApp } from './app.js'
import { loadConfig, prepareFolders, ConfigError } from './config.js'
import { withoutSecrets } from './plugins/problems.js'

/** The service on its configuration; a bad value (a variable, a file that is not a database) is said in one line. */
async function start () {
  try {
    const config = loadConfig()
    prepareFolders(config)
    return await buildApp({
      config,
      logger: {
        level: config.LOG_LEVEL,
        redact: ['req.headers.authorization'],
        // Fastify's own request fields, with a key sent in the URL by mistake left out (see withoutSecrets)
        serializers: {
          req: (request: FastifyRequest) => ({ method: request.method, url: withoutSecrets(request.url), host: request.host, remoteAddress: request.ip, remotePort: request.socket?.remotePort })
        }
      }
    })
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    console.error(err.message)
    process.exit(1)
  }
}

const app = await start()
const { config } = app

// SIGINT/SIGTERM: stop accepting, let in-flight requests finish, close the database; give up after 10 s
closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'closing after an error')
  else app.log.info({ signal }, 'shutting down')
  await app.close()
})

await app.listen({ port: config.PORT, host: config.HOST })
// ready without having compiled the route schemas: compile them now, between the first requests, rather than in them
app.compileSchemas().catch((err) => app.log.error({ err }, 'a route schema does not compile'))
