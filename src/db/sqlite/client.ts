import Database from 'better-sqlite3'
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3'
import { migrate } from 'drizzle-orm/better-sqlite3/migrator'
import { sql } from 'drizzle-orm'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import * as schema from './schema.js'

export type SqliteDb = BetterSQLite3Database<typeof schema>

const migrationsFolder = fileURLToPath(new URL('../../../migrations', import.meta.url))

export interface OpenOptions {
  /** Called once per SQL statement the data layer runs (tests count them to catch N+1 queries). */
  onQuery?: (sql: string, params: unknown[]) => void
}

/**
 * Opens (creating if needed) the SQLite database file and applies pending migrations.
 * WAL lets readers in other processes (the CLI, a backup) work while the server writes.
 */
export function openSqlite (file: string, options: OpenOptions = {}) {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  const client = new Database(file)
  client.pragma('journal_mode = WAL')
  client.pragma('synchronous = NORMAL')
  client.pragma('foreign_keys = ON')
  client.pragma('busy_timeout = 5000')
  // keep the planner's statistics current (SQLite's advice for long-lived connections), within a bounded time:
  // with them it drives a byline archive from the byline's rows instead of walking every article
  client.pragma('analysis_limit = 1000')
  // SQLite's lower() folds ASCII only; case-insensitive matching must work for "Émile" and "Øystein" too
  client.function('lower', { deterministic: true }, (text: unknown) => typeof text === 'string' ? text.toLowerCase() : text)
  // Drizzle prepares every query it runs; preparing is a large share of a read's cost in SQLite, and the
  // service runs the same few statement shapes again and again, so prepared statements are kept by their SQL
  const prepared = new Map<string, Database.Statement>()
  const prepare = client.prepare.bind(client)
  client.prepare = ((source: string) => {
    let statement = prepared.get(source)
    if (!statement) {
      if (prepared.size >= 500) prepared.delete(prepared.keys().next().value!)
      statement = prepare(source)
      prepared.set(source, statement)
    }
    return statement
  }) as typeof client.prepare
  const db = drizzle(client, {
    schema,
    logger: options.onQuery ? { logQuery: (query, params) => options.onQuery!(query, params) } : false
  })
  migrate(db, { migrationsFolder })
  client.pragma('optimize = 0x10002')
  const optimizer = setInterval(() => { if (client.open) client.pragma('optimize') }, 3_600_000).unref()

  let queue: Promise<unknown> = Promise.resolve()
  let commits = 0
  const dataVersion = client.prepare('pragma data_version').pluck()

  return {
    db,
    /**
     * Runs `fn` as one atomic, isolated write. Writers are queued in this process (one connection),
     * BEGIN IMMEDIATE takes SQLite's write lock up front (other processes wait up to busy_timeout),
     * and any throw rolls everything back. `fn` must only use the data layer: no network or file I/O
     * inside a transaction, so that reads from other requests never see uncommitted rows.
     */
    transaction<T> (fn: () => Promise<T>): Promise<T> {
      const run = queue.then(async () => {
        db.run(sql`BEGIN IMMEDIATE`)
        try {
          const result = await fn()
          db.run(sql`COMMIT`)
          commits++
          return result
        } catch (err) {
          db.run(sql`ROLLBACK`)
          throw err
        }
      })
      queue = run.catch(() => undefined)
      return run
    },
    /**
     * Changes whenever the database may have changed: on every commit of this process, and (SQLite's
     * data_version) on every commit by any other connection to the same file.
     */
    async version (): Promise<string> {
      return `${dataVersion.get() as number}:${commits}`
    },
    async ping (): Promise<void> {
      db.get(sql`select 1`)
    },
    close (): void {
      clearInterval(optimizer)
      if (client.open) client.close()
    }
  }
}

export type SqliteHandle = ReturnType<typeof openSqlite>
