/**
 * Command line for the operator of an install:
 *   npm run key:create -- --name "First admin" [--role admin|editor|writer]
 * creates an API key in the database under DATA_DIR (or DATABASE_URL) and prints its secret once.
 */
import { parseArgs } from 'node:util'
import { Value } from '@sinclair/typebox/value'
import { loadConfig, ConfigError } from './config.js'
import { openStore } from './db/index.js'
import { keysService } from './services/keys.js'
import { ApiKeyCreate } from './schemas/keys.js'

const usage = 'usage: npm run key:create -- --name "First admin" [--role admin|editor|writer]'

async function main (argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command !== 'create-key') {
    console.error(usage)
    return 2
  }
  let values: { name?: string, role?: string }
  try {
    values = parseArgs({ args: rest, options: { name: { type: 'string' }, role: { type: 'string', default: 'admin' } } }).values
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`)
    return 2
  }
  const input = { name: values.name ?? '', role: values.role }
  if (!Value.Check(ApiKeyCreate, input)) {
    console.error(`${[...Value.Errors(ApiKeyCreate, input)].map((e) => `--${e.path.slice(1)}: ${e.message}`).join('\n')}\n${usage}`)
    return 2
  }
  const config = loadConfig()
  const store = openStore(config.databaseFile)
  try {
    const key = await keysService(store, {}).create(input)
    console.log(`Created ${key.role} key "${key.name}" (id ${key.id}).`)
    console.log('Its secret is shown this once; store it now. Send it as "Authorization: Bearer <secret>":')
    console.log(key.secret)
  } finally {
    store.close()
  }
  return 0
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code }, (err) => {
  console.error(err instanceof ConfigError ? err.message : err)
  process.exitCode = 1
})
