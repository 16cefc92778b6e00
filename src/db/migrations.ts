import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * A dialect's migrations folder (`migrations/sqlite`, `migrations/postgres`): the first one up from this module,
 * wherever it runs from (src/ under tsx, dist/'s modules, or the server bundled into one file: see scripts/bundle.mjs).
 */
export function migrationsFolder (dialect: 'sqlite' | 'postgres'): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'migrations', dialect)
    if (fs.existsSync(path.join(candidate, 'meta', '_journal.json'))) return candidate
    if (path.dirname(dir) === dir) throw new Error(`No migrations folder (migrations/${dialect}/meta/_journal.json) above ${fileURLToPath(import.meta.url)}`)
  }
}
