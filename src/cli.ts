/**
 * Command line for the operator of an install, on the database under DATA_DIR (or DATABASE_URL):
 *   npm run key:create -- --name "First admin" [--role admin|editor|writer]
 *     creates an API key and prints its secret once;
 *   npm run search:reindex
 *     writes every article's full-text entry again from the article as it stands (after an upgrade that
 *     indexes more of it), in transactions of a quarter second at most, while the server may keep running, then merges the index;
 *   npm run photos:clear-location
 *     takes the GPS position out of every stored original that still has one (uploaded before uploads lost
 *     theirs): each is replaced as PUT /v1/photos/{id}/file would, by an admin, while the server may keep running.
 */
import fs from 'node:fs'
import { parseArgs } from 'node:util'
import { buffer } from 'node:stream/consumers'
import { Value } from '@sinclair/typebox/value'
import { loadConfig, prepareFolders, ConfigError } from './config.js'
import { openStore } from './db/index.js'
import { keysService } from './services/keys.js'
import { reindex } from './services/search.js'
import { ApiKeyCreate } from './schemas/keys.js'
import { buildApp } from './app.js'
import { imaging } from './services/images.js'
import { withoutLocation } from './services/location.js'
import type { PhotoKey } from './db/index.js'

const usage = 'usage: npm run key:create -- --name "First admin" [--role admin|editor|writer]\n       npm run search:reindex\n       npm run photos:clear-location'

/** The configuration, its folders made and checked (a bad value is a ConfigError: its message, no stack). */
function configured (env: Record<string, string | undefined> = process.env) {
  const config = loadConfig(env)
  prepareFolders(config)
  return config
}

/** The configuration of a command that maintains an existing database: a mistyped DATA_DIR is not a new, empty one. */
function existing (env: Record<string, string | undefined> = process.env) {
  const config = loadConfig(env)
  if ('file' in config.database && !fs.existsSync(config.database.file)) {
    throw new ConfigError(`No database at ${config.database.file}: set DATA_DIR (or DATABASE_URL) as the server has it`)
  }
  prepareFolders(config)
  return config
}

async function main (argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  // asked for: the usage on standard output, and success
  if (argv.some((a) => a === '--help' || a === '-h')) {
    console.log(usage)
    return 0
  }
  if (command === 'reindex-search' && rest.length === 0) return reindexSearch()
  if (command === 'clear-photo-locations' && rest.length === 0) return clearPhotoLocations()
  if (command !== 'create-key') {
    console.error(usage)
    return 2
  }
  let values: { name?: string[], role?: string[] }
  try {
    values = parseArgs({ args: rest, options: { name: { type: 'string', multiple: true }, role: { type: 'string', multiple: true } } }).values
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`)
    return 2
  }
  // an option given twice is a mistake to say, not one value to drop (the last would win)
  const twice = (['name', 'role'] as const).filter((option) => (values[option]?.length ?? 0) > 1)
  const input = { name: values.name?.[0] ?? '', role: values.role?.[0] ?? 'admin' }
  if (twice.length > 0 || !Value.Check(ApiKeyCreate, input)) {
    // said in words, as the API says them (TypeBox's own are "Expected union value" and a regular expression)
    const line = 'one line of visible text, at most 200 characters ("Night desk")'
    const wrong = [
      ...twice.map((option) => `--${option} is given ${values[option]!.length} times: give it once`),
      ...twice.includes('name') || Value.Check(ApiKeyCreate.properties.name, input.name) ? [] : [values.name ? `--name must be ${line}` : `--name is required: ${line}`],
      ...twice.includes('role') || Value.Check(ApiKeyCreate.properties.role, input.role) ? [] : [`--role must be one of ${ApiKeyCreate.properties.role.anyOf.map((r) => r.const).join(', ')}`]
    ]
    console.error(`${wrong.join('\n')}\n${usage}`)
    return 2
  }
  const store = await openStore(configured().database, { poolSize: 2 })
  try {
    const key = await keysService(store, {}).create(input)
    console.log(`Created ${key.role} key "${key.name}" (id ${key.id}).`)
    console.log('Its secret is shown this once; store it now. Send it as "Authorization: Bearer <secret>":')
    console.log(key.secret)
  } finally {
    await store.close()
  }
  return 0
}

async function reindexSearch (): Promise<number> {
  const store = await openStore(existing().database, { poolSize: 2 })
  try {
    let after = ''
    let done = 0
    // transactions kept short, the server's writes waiting on their lock meanwhile (up to 5 s, then a 503): as many
    // articles as took ~0.1–0.25 s the time before, from 1 to 500 (long articles: fewer)
    let batch = 100
    for (;;) {
      const ids = await store.articles.idsAfter(after, batch)
      if (ids.length === 0) break
      const started = performance.now()
      await store.transaction(async () => { for (const id of ids) reindex(store, id) })
      const ms = performance.now() - started
      batch = ms > 250 ? Math.max(1, Math.floor(batch / 2)) : ms < 100 ? Math.min(500, batch * 2) : batch
      done += ids.length
      after = ids[ids.length - 1]!
      console.log(`${done} articles reindexed`)
    }
    await store.mergeSearchIndex()
    console.log(`Done: ${done} articles reindexed, the index merged.`)
  } finally {
    await store.close()
  }
  return 0
}

async function clearPhotoLocations (): Promise<number> {
  const app = await buildApp({ config: existing({ ...process.env, LOG_LEVEL: 'warn' }) })
  await app.ready()
  const { sharp } = await imaging()
  const actor = { keyId: 'cli', name: 'photos:clear-location', role: 'admin' as const }
  try {
    let after: PhotoKey | undefined
    let checked = 0
    let cleared = 0
    let missing = 0
    for (;;) {
      const rows = await app.store.photos.list({ after, limit: 100 })
      if (rows.length === 0) break
      for (const row of rows) {
        const file = await app.storage.get(row.storageKey)
        if (!file) {
          missing++
          console.log(`${row.id}: its original (${row.storageKey}) is not in photo storage`)
          continue
        }
        const bytes = await buffer(file.read())
        checked++
        // a copy: withoutLocation changes the bytes it is given
        if (!withoutLocation(Buffer.from(bytes), await sharp(bytes).metadata()).cleared) continue
        await app.services.photos.replaceFile(row.id, { data: bytes }, { actor })
        cleared++
        console.log(`${row.id}: its position taken out`)
      }
      const last = rows[rows.length - 1]!
      after = [last.createdAt, last.id]
    }
    console.log(`Done: ${checked} originals checked, ${cleared} had a GPS position, now taken out.${missing ? ` ${missing} not in photo storage (listed above).` : ''}`)
  } finally {
    await app.close()
  }
  return 0
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code }, (err) => {
  // what the API would answer with a 503 (photo storage away, another process's write lock held) is said in one line
  const unavailable = ['CMS_UNAVAILABLE', 'CMS_BUSY'].includes((err as { code?: string }).code ?? '')
  const cause = (err as { cause?: Error }).cause
  console.error(err instanceof ConfigError ? err.message : unavailable ? `${(err as Error).message.replace(/; retry.*$/, '')}${cause ? ` (${cause.name}: ${cause.message})` : ''}: run the command again later` : err)
  process.exitCode = 1
})
