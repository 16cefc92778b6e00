import { eq, and, isNull, sql } from 'drizzle-orm'
import { apiKeys } from '../schema.js'
import type { SqliteDb } from '../client.js'
import { after, orderBy } from '../../keyset.js'

export type KeyRow = typeof apiKeys.$inferSelect
export type KeyKey = [Date, string]

export function keysRepository (db: SqliteDb) {
  // every keyed request looks its key up: built and prepared once (see ../prepared.ts)
  const activeByHash = db.select({ id: apiKeys.id, name: apiKeys.name, role: apiKeys.role }).from(apiKeys)
    .where(and(eq(apiKeys.hash, sql.placeholder('hash')), isNull(apiKeys.revokedAt))).prepare()
  return {
    /** The live (not revoked) key with this secret hash. */
    async findActiveByHash (hash: string) {
      return activeByHash.get({ hash })
    },
    async findById (id: string) {
      return db.select().from(apiKeys).where(eq(apiKeys.id, id)).get()
    },
    /** Newest first. */
    async list (options: { after?: KeyKey, limit: number }) {
      const key = [apiKeys.createdAt, apiKeys.id]
      return db.select().from(apiKeys).where(options.after ? after(key, options.after, true) : undefined)
        .orderBy(...orderBy(key, true)).limit(options.limit).all()
    },
    async insert (row: KeyRow) {
      db.insert(apiKeys).values(row).run()
    },
    async revoke (id: string, at: Date) {
      db.update(apiKeys).set({ revokedAt: at }).where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt))).run()
    },
    async count () {
      return db.$count(apiKeys)
    },
    /** The ids of the admin keys not revoked (the write transaction they are read in holds the database's one write lock). */
    async activeAdminIds () {
      return db.select({ id: apiKeys.id }).from(apiKeys).where(and(eq(apiKeys.role, 'admin'), isNull(apiKeys.revokedAt))).all().map((r) => r.id)
    }
  }
}

