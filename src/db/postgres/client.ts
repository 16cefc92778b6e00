import { AsyncLocalStorage } from 'node:async_hooks'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres'
import { migrate } from 'drizzle-orm/node-postgres/migrator'
import { sql } from 'drizzle-orm'
import * as schema from './schema.js'
import { DependencyUnavailable, ServiceUnavailable } from '../../errors.js'
import { ConfigError } from '../../config.js'
import { migrationsFolder } from '../migrations.js'
import type { OpenOptions } from '../sqlite/client.js'

export type PgDb = NodePgDatabase<typeof schema>

/** How many times a write is tried when PostgreSQL finds it could not run as if alone (a serialization failure, a deadlock). */
const WRITE_ATTEMPTS = 10
/** The advisory locks instances take to apply the migrations one at a time, and to write one at a time. */
const MIGRATIONS_LOCK = 0x636d73 // 'cms'
export const WRITE_LOCK = 0x636d7377 // 'cmsw'
/** How long a write waits for another instance's (then a 503 with Retry-After, as on SQLite). */
const WRITE_LOCK_WAIT_MS = 5000
/** SQLSTATE of a lock not had within lock_timeout. */
const LOCK_NOT_AVAILABLE = '55P03'

/** SQLSTATEs of a write to try again: serialization_failure, deadlock_detected. */
const RETRIED = new Set(['40001', '40P01'])
/** SQLSTATE classes of a database that is not there to answer: connection exceptions, insufficient resources, operator intervention, no such database (dropped). */
const UNAVAILABLE = /^(08|53|57|3D)/
/** The driver's error code (a SQLSTATE, or node's for a failed connection), also under Drizzle's DrizzleQueryError. */
const sqlState = (err: unknown): string => {
  const e = err as { code?: unknown, cause?: unknown } | null
  return e?.code !== undefined ? String(e.code) : e?.cause !== undefined ? sqlState(e.cause) : ''
}
/** The connection failed below SQL (refused, reset, timed out, DNS): node's error codes, not SQLSTATEs. */
const network = (err: unknown): boolean => /^E[A-Z]+$/.test(sqlState(err)) ||
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Query read timeout/.test(String((err as Error)?.message)) ||
  ((err as { cause?: unknown } | null)?.cause !== undefined && network((err as { cause: unknown }).cause))

/** PostgreSQL not answering, as the API says it: a 503 to retry, the cause in the log. */
function unavailable (err: unknown): never {
  throw Object.assign(new DependencyUnavailable('The database is unavailable; retry in a few seconds'), { headers: { 'retry-after': '5' }, cause: err })
}

interface Write { tx: PgDb, deferred: Map<string, () => Promise<void>> }

/**
 * Opens a pool of connections to the PostgreSQL database of `url` and applies pending migrations (one instance at a
 * time: the others wait for its advisory lock). The handle has the same shape as the SQLite one (see openSqlite), so
 * that the repositories and the services above them are the same on either.
 */
export async function openPostgres (url: string, options: OpenOptions & { poolSize?: number } = {}) {
  // 5 s to connect, 30 s for an answer: a server that stops answering (a network partition) is a 503, not a request
  // held for ever
  // held for ever; a lock (another instance's write) waited for WRITE_LOCK_WAIT_MS at most
  const pool = new pg.Pool({
    connectionString: url, max: options.poolSize ?? 10, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30_000, query_timeout: 30_000, keepAlive: true,
    lock_timeout: WRITE_LOCK_WAIT_MS,
    // times are written back in UTC, whatever the server's zone (see timestamp in schema.ts)
    options: '-c TimeZone=UTC'
  })
  // an idle connection that fails (the server restarted) is dropped by the pool; without a listener it would end the process
  pool.on('error', () => {})
  // a read outside a write that cannot reach PostgreSQL is a 503 to retry, as a write's is (see transaction)
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>
  pool.query = ((...args: unknown[]) => query(...args).catch((err: unknown) => {
    if (network(err) || UNAVAILABLE.test(sqlState(err))) unavailable(err)
    throw err
  })) as typeof pool.query
  const logger = options.onQuery ? { logQuery: (query: string, params: unknown[]) => options.onQuery!(query, params) } : false
  const db: PgDb = drizzle(pool, { schema, logger })
  try {
    const client = await pool.connect()
    try {
      // as long as another instance takes to apply them (a backfill over a large archive takes a while)
      await client.query('set lock_timeout = 0')
      await client.query('select pg_advisory_lock($1)', [MIGRATIONS_LOCK])
      try {
        await migrate(drizzle(client, { schema }), { migrationsFolder: migrationsFolder('postgres') })
        await client.query("insert into secrets (name, value) values ('cursor', $1) on conflict do nothing", [randomBytes(32)])
        await client.query('insert into content_version (id, number) values (1, 0) on conflict do nothing')
      } finally {
        await client.query('select pg_advisory_unlock($1)', [MIGRATIONS_LOCK])
        await client.query(`set lock_timeout = ${WRITE_LOCK_WAIT_MS}`)
      }
    } finally {
      client.release()
    }
  } catch (err) {
    await pool.end()
    // refused, unknown host, a bad password, no such database, no right to it, no TLS where asked for, a migration
    // PostgreSQL refused: said as configuration, in one line, not as a stack
    const said = (err as Error).message ?? String(err)
    throw new ConfigError(`Cannot open the database at DATABASE_URL (${new URL(url).host}): ${said}${/^[0-9A-Z]{5}$/.test(sqlState(err)) ? ` (${sqlState(err)})` : ''}`)
  }
  const cursorKey = (await db.select({ value: schema.secrets.value }).from(schema.secrets).where(sql`${schema.secrets.name} = 'cursor'`))[0]!.value

  const writes = new AsyncLocalStorage<Write>()
  /** The connection a statement runs on: the running write's, or any of the pool's. */
  const current = (): PgDb => writes.getStore()?.tx ?? db

  let asked: Promise<string> | null = null
  /** The end of the last write queued in this process (see transaction). */
  let queue: Promise<unknown> = Promise.resolve()

  /**
   * One try at a write, on a connection of its own holding the database's write lock (an advisory lock every
   * instance's writes take, before their transaction begins, so that its snapshot holds every write before it).
   */
  async function attempt<T> (fn: () => Promise<T>, deadline: number): Promise<T> {
    const client = await pool.connect().catch(unavailable)
    let failed: unknown
    // the connection failing between two statements (PostgreSQL restarting, the session ended by an administrator) is
    // said by the statement that follows; without a listener of its own while checked out, it would end the process
    const dropped = (err: Error) => { failed ??= err }
    client.on('error', dropped)
    try {
      // the wait for the lock counts from when the write was asked for: writes queued behind one that waited are not
      // each given the whole wait again
      const wait = deadline - Date.now()
      if (wait < WRITE_LOCK_WAIT_MS - 50) {
        const got = await client.query<{ got: boolean }>('select pg_try_advisory_lock($1) as got', [WRITE_LOCK])
        if (!got.rows[0]!.got) {
          if (wait <= 0) throw Object.assign(new Error('the write lock was not had in time'), { code: LOCK_NOT_AVAILABLE })
          await client.query(`set lock_timeout = ${Math.ceil(wait)}`)
          try {
            await client.query('select pg_advisory_lock($1)', [WRITE_LOCK])
          } finally {
            await client.query(`set lock_timeout = ${WRITE_LOCK_WAIT_MS}`)
          }
        }
      } else {
        await client.query('select pg_advisory_lock($1)', [WRITE_LOCK])
      }
      try {
        return await drizzle(client, { logger }).transaction(async (tx) => {
          const write: Write = { tx: tx as unknown as PgDb, deferred: new Map() }
          const result = await writes.run(write, fn)
          for (const key of [...write.deferred.keys()].sort()) await writes.run(write, write.deferred.get(key)!)
          // (a write that wrote nothing, which has no transaction id, leaves what readers see as it was)
          await tx.update(schema.contentVersion).set({ number: sql`${schema.contentVersion.number} + 1` }).where(sql`txid_current_if_assigned() is not null`)
          return result
        }, { isolationLevel: 'serializable' })
      } finally {
        // (a connection gone has let go of its session's lock already: the failure that matters is the write's)
        await client.query('select pg_advisory_unlock($1)', [WRITE_LOCK]).catch((err: unknown) => { failed ??= err })
      }
    } catch (err) {
      failed ??= err
      throw err
    } finally {
      // a connection that failed is closed (its session's lock with it), not handed out again
      client.off('error', dropped)
      client.release(failed !== undefined && (network(failed) || UNAVAILABLE.test(sqlState(failed))) ? failed as Error : undefined)
    }
  }

  /** A write tried until it is not in the way of another one (which writes outside the lock may be: SQL of someone else's). */
  async function write<T> (fn: () => Promise<T>, deadline: number): Promise<T> {
    for (let tries = 1; ; tries++) {
      try {
        return await attempt(fn, deadline)
      } catch (err) {
        if (RETRIED.has(sqlState(err)) && tries < WRITE_ATTEMPTS) {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 ** tries, 200)))
          continue
        }
        if (sqlState(err) === LOCK_NOT_AVAILABLE) {
          // the write lock, or a row another connection holds, not had within lock_timeout
          throw Object.assign(new ServiceUnavailable('The database is busy with another process\'s write; retry in 2 s'), { headers: { 'retry-after': '2' }, cause: err })
        }
        if (network(err) || UNAVAILABLE.test(sqlState(err))) unavailable(err)
        throw err
      }
    }
  }

  return {
    db: current,
    cursorKey,
    /**
     * Runs `fn` as one atomic, isolated write: any throw undoes all it did. Writes run one at a time, across every
     * instance, as on SQLite: each holds the database's write lock (an advisory lock; another instance's write is
     * waited for up to 5 s, then a 503 with Retry-After), so that its reads see every write before it and the times
     * it stamps follow the order of the commits (what the change feed's readers rely on). SERIALIZABLE as well, for
     * writes made around the API; when PostgreSQL finds the write could not run as if alone, it runs again from the
     * start, up to WRITE_ATTEMPTS times. `fn` must only use the data layer (it may run more than once).
     */
    async transaction<T> (fn: () => Promise<T>): Promise<T> {
      if (writes.getStore()) return fn()
      const deadline = Date.now() + WRITE_LOCK_WAIT_MS
      const done = queue.then(() => write(fn, deadline))
      queue = done.catch(() => {})
      return done
    },
    /** Leaves work for the end of the running write, before it commits, once per key (see the SQLite handle's). */
    afterWrites (key: string, fn: () => Promise<void>): void {
      const write = writes.getStore()
      if (!write) throw new Error('afterWrites is only for work inside a transaction')
      write.deferred.set(key, fn)
    },
    /**
     * Changes whenever the database may have changed: the number every write adds one to in its transaction (see
     * contentVersion), so that it moves exactly when what readers see does, whichever instance wrote. Asked once per
     * turn of the event loop, as the SQLite handle asks its data_version.
     */
    async version (): Promise<string> {
      if (asked === null) {
        const answer = asked = db.select({ number: schema.contentVersion.number }).from(schema.contentVersion).then((rows) => String(rows[0]!.number))
        setImmediate(() => { if (asked === answer) asked = null })
      }
      return asked
    },
    async ping (): Promise<void> {
      await db.execute(sql`select 1`).catch(unavailable)
    },
    async close (): Promise<void> {
      if (!pool.ended) await pool.end()
    }
  }
}

export type PostgresHandle = Awaited<ReturnType<typeof openPostgres>>
