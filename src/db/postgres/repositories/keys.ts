import { eq, and, isNull } from 'drizzle-orm'
import { apiKeys } from '../schema.js'
import type { PgDb } from '../client.js'
import { after, orderBy } from '../../keyset.js'

export type KeyRow = typeof apiKeys.$inferSelect
export type KeyKey = [Date, string]

/** The API keys repository on PostgreSQL: the same functions as the SQLite one. */
export function keysRepository (db: () => PgDb) {
  return {
    /** The live (not revoked) key with this secret hash. */
    async findActiveByHash (hash: string) {
      return (await db().select({ id: apiKeys.id, name: apiKeys.name, role: apiKeys.role }).from(apiKeys)
        .where(and(eq(apiKeys.hash, hash), isNull(apiKeys.revokedAt))).limit(1))[0]
    },
    async findById (id: string) {
      return (await db().select().from(apiKeys).where(eq(apiKeys.id, id)).limit(1))[0]
    },
    /** Newest first. */
    async list (options: { after?: KeyKey, limit: number }) {
      const key = [apiKeys.createdAt, apiKeys.id]
      return db().select().from(apiKeys).where(options.after ? after(key, options.after, true) : undefined)
        .orderBy(...orderBy(key, true)).limit(options.limit)
    },
    async insert (row: KeyRow) {
      await db().insert(apiKeys).values(row)
    },
    async revoke (id: string, at: Date) {
      await db().update(apiKeys).set({ revokedAt: at }).where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
    },
    async count () {
      return db().$count(apiKeys)
    },
    /**
     * The ids of the admin keys not revoked, locked to the end of the transaction: two admins revoking each other at
     * once are taken in turn, and the second sees the first one's revocation.
     */
    async activeAdminIds () {
      return (await db().select({ id: apiKeys.id }).from(apiKeys).where(and(eq(apiKeys.role, 'admin'), isNull(apiKeys.revokedAt))).for('update')).map((r) => r.id)
    }
  }
}
