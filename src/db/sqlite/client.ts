import Database from 'better-sqlite3'
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3'
import { migrate } from 'drizzle-orm/better-sqlite3/migrator'
import { sql } from 'drizzle-orm'
import fs from 'node:fs'
import path from 'node:path'
import * as schema from './schema.js'
import { ServiceUnavailable } from '../../errors.js'
import { ConfigError } from '../../config.js'
import { migrationsFolder } from '../migrations.js'
import { foldedForMatching, tagKey } from '../names.js'

export type SqliteDb = BetterSQLite3Database<typeof schema>


/**
 * How long a statement waits, inside the call (the event loop with it), for a lock another connection holds: only
 * the rare reads that need one (a WAL being recovered or restarted). Writes wait for the write lock on a timer, up
 * to WRITE_LOCK_WAIT_MS (see writeLock).
 */
const BUSY_TIMEOUT_MS = 100
const WRITE_LOCK_WAIT_MS = 5000
/** How long a start waits for another instance applying the migrations (a backfill over a large archive takes a while). */
const STARTUP_WAIT_MS = 120_000

/** Another connection holds a lock this one needs (SQLITE_BUSY, or one of its extended codes). */
const busy = (err: unknown) => String((err as { code?: unknown }).code).startsWith('SQLITE_BUSY')

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
  try {
    client.pragma('journal_mode = WAL')
  } catch (err) {
    client.close()
    // the file named is not a database (or not one SQLite can open): said as configuration, not as a stack
    const code = String((err as { code?: unknown }).code)
    if (/^SQLITE_(NOTADB|CORRUPT|CANTOPEN|READONLY|PERM)/.test(code)) throw new ConfigError(`Cannot open the database ${file}: ${(err as Error).message} (${code}); check DATA_DIR or DATABASE_URL`)
    throw err
  }
  client.pragma('synchronous = NORMAL')
  client.pragma('foreign_keys = ON')
  client.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`)
  // checkpoint the WAL into the database every 4,000 pages (16 MiB) rather than SQLite's 1,000: pages written
  // again and again (index roots, the full-text index's structure) are copied once per checkpoint, so a
  // sustained stream of article writes ran ~23% faster; the file is cut back to 64 MiB after a checkpoint
  client.pragma('wal_autocheckpoint = 4000')
  client.pragma('journal_size_limit = 67108864')
  // keep the planner's statistics current (SQLite's advice for long-lived connections), within a bounded time:
  // with them it drives a byline archive from the byline's rows instead of walking every article
  client.pragma('analysis_limit = 1000')
  // text as a finder matches it (see foldedForMatching); SQLite's lower() folds ASCII only
  client.function('fold', { deterministic: true }, (text: unknown) => typeof text === 'string' ? foldedForMatching(text) : text)
  // a tag's key, as the index rows hold it (see tagKey; the upgrade that made them keys calls it)
  client.function('tag_key', { deterministic: true }, (text: unknown) => typeof text === 'string' ? tagKey(text) : text)
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
  for (let attempt = 1; ; attempt++) {
    try {
      migrate(db, { migrationsFolder: migrationsFolder('sqlite') })
      // made by whichever instance opens the database first; the others read the same
      client.prepare("insert or ignore into secrets (name, value) values ('cursor', randomblob(32))").run()
      break
    } catch (err) {
      // several instances starting at once on a database with migrations to apply: one applies them while the
      // others wait for its write lock, or find the tables it made (a migration commits whole) and read again
      if (busy(err) ? attempt * 100 >= STARTUP_WAIT_MS : attempt >= 3) throw err
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100)
    }
  }
  // SQLite's temporary files in memory: above all the sub-journal, where a savepoint keeps the pages its write
  // changes (each write of a group has one, see commitGroups). On disk it was a file made, written a page at a time
  // (two system calls each) and deleted in every group: a quarter of an article creation's CPU on a 2-core VM.
  // A sub-journal holds one write's pages at most; set after the migrations, whose index builds may sort much
  client.pragma('temp_store = MEMORY')
  // the words of the full-text index, one row per occurrence, read lazily: what a prefix stands for is listed by
  // reading each word's first occurrence only (see expandedPrefixes in the articles repository). A table of this
  // connection's own, made on every open: nothing is stored, and no other process or upgrade depends on it
  client.exec("create virtual table if not exists temp.articles_fts_words using fts5vocab(main, articles_fts, 'instance')")
  const cursorKey = client.prepare("select value from secrets where name = 'cursor'").pluck().get() as Buffer
  // the planner's statistics, kept current: work for when the write lock is free (ANALYZE writes them), skipped
  // when another process holds it, not a failed start or an exception thrown from a timer
  const optimize = (pragma: string) => {
    try {
      client.pragma(pragma)
    } catch (err) {
      if (!busy(err)) throw err
    }
  }
  optimize('optimize = 0x10002')
  const optimizer = setInterval(() => { if (client.open) optimize('optimize') }, 3_600_000).unref()

  let commits = 0
  const dataVersion = client.prepare('pragma data_version').pluck()
  let otherCommits: number | null = null

  /**
   * Group commit. Writes queue up; at the end of the event-loop turn every write queued so far runs in one
   * SQLite transaction, each inside its own savepoint: a write that throws is rolled back alone, the others
   * stand, and every caller hears back only once COMMIT has returned. Committing (flushing the full-text
   * index's new segment, appending to the WAL) is the largest part of a small write's cost; under load it is
   * paid once for many writes instead of once each.
   */
  interface Write { fn: () => Promise<unknown>, resolve: (value: unknown) => void, reject: (err: unknown) => void }
  const queued: Write[] = []
  let scheduled = false
  const MAX_GROUP = 64
  /** Work the running write left for the end of its group (see afterWrites), by key. */
  let deferred: Map<string, () => Promise<void>> | null = null

  /**
   * Takes SQLite's write lock (BEGIN IMMEDIATE) without blocking the event loop: while another process holds it (a
   * second instance's write, `npm run search:reindex`), the attempt fails at once and is retried on a timer, reads
   * and other requests running meanwhile; after WRITE_LOCK_WAIT_MS the group's writes are refused with a 503 and
   * Retry-After. (SQLite's own busy_timeout sleeps inside the call: every request of the process waited with it,
   * and then got a 500.)
   */
  async function writeLock () {
    const deadline = Date.now() + WRITE_LOCK_WAIT_MS
    for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
      client.pragma('busy_timeout = 0')
      try {
        client.exec('BEGIN IMMEDIATE')
        return
      } catch (err) {
        if (!busy(err)) throw err
        if (Date.now() >= deadline) {
          throw Object.assign(new ServiceUnavailable('The database is busy with another process\'s write; retry in 2 s'), { headers: { 'retry-after': '2' } })
        }
      } finally {
        client.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`)
      }
      await new Promise((resolve) => setTimeout(resolve, pause))
    }
  }

  async function commitGroups () {
    while (queued.length) {
      const group = queued.splice(0, MAX_GROUP)
      const outcomes = new Map<Write, { ok: boolean, value: unknown }>()
      const work = new Map<string, () => Promise<void>>()
      let failed: { err: unknown } | null = null
      try {
        await writeLock()
        for (const write of group) {
          client.exec('SAVEPOINT write')
          deferred = new Map()
          try {
            outcomes.set(write, { ok: true, value: await write.fn() })
            client.exec('RELEASE write')
            for (const [key, fn] of deferred) work.set(key, fn)
          } catch (err) {
            // SQLite ends the whole transaction itself on some errors (disk full, I/O): then nothing stands
            if (!client.inTransaction) throw err
            client.exec('ROLLBACK TO write; RELEASE write')
            outcomes.set(write, { ok: false, value: err })
          } finally {
            deferred = null
          }
        }
        for (const key of [...work.keys()].sort()) await work.get(key)!()
        client.exec('COMMIT')
        commits++
      } catch (err) {
        failed = { err }
        // if even the rollback fails the connection is unusable: every write of the group is still told below
        try { if (client.inTransaction) client.exec('ROLLBACK') } catch {}
      }
      for (const write of group) {
        const outcome = outcomes.get(write)
        if (failed) write.reject(failed.err)
        else if (outcome!.ok) write.resolve(outcome!.value)
        else write.reject(outcome!.value)
      }
    }
    scheduled = false
  }

  return {
    db,
    /** The key search cursors are sealed with (see sealCursor): this database's, the same in every instance. */
    cursorKey,
    /**
     * Runs `fn` as one atomic, isolated write: any throw undoes all it did. Writes are serialized in this
     * process (one connection) and committed in groups (see commitGroups); BEGIN IMMEDIATE takes SQLite's
     * write lock up front (other processes wait up to busy_timeout). `fn` must only use the data layer: no
     * network or file I/O inside a transaction, so that reads from other requests never see uncommitted rows.
     */
    transaction<T> (fn: () => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queued.push({ fn, resolve: resolve as (value: unknown) => void, reject })
        if (!scheduled) {
          scheduled = true
          // once the requests that arrived in this turn of the event loop have queued their writes too
          setImmediate(() => { void commitGroups() })
        }
      })
    },
    /**
     * Leaves work for the end of the running write's group, before it commits, once per key however many
     * writes in the group ask (the last one asking wins); dropped if the write is rolled back, and a failure
     * fails the whole group. The group's work runs in the order of its keys. Used for the full-text index:
     * FTS5 writes its pending entries to disk at every savepoint, including the one SQLite opens around each
     * later write statement, so entries written inside each write would cost a segment each instead of one
     * for the group.
     */
    afterWrites (key: string, fn: () => Promise<void>): void {
      if (!deferred) throw new Error('afterWrites is only for work inside a transaction')
      deferred.set(key, fn)
    },
    /**
     * Changes whenever the database may have changed: on every commit of this process, and (SQLite's
     * data_version) on every commit by any other connection to the same file.
     */
    async version (): Promise<string> {
      // SQLite is asked once per turn of the event loop (the requests handled in one turn share the answer:
      // a commit elsewhere during the turn is seen by the next); this process's own commits count at once
      if (otherCommits === null) {
        otherCommits = dataVersion.get() as number
        setImmediate(() => { otherCommits = null })
      }
      return `${otherCommits}:${commits}`
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
