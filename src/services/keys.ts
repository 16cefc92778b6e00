import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { newId } from './ids.js'
import type { Store, KeyRow } from '../db/index.js'
import type { ApiKey, ApiKeyCreate, ApiKeyCreated, Role } from '../schemas/keys.js'
import { Conflict, NotFound } from '../errors.js'
import { assertMatch, type Conditions } from './etag.js'
import { keysetPage } from './cursor.js'
import { iso, isoOrNull } from './time.js'

/** Who is making a request: the key's id and name (recorded in revisions) and its role. */
export interface Principal { keyId: string, name: string, role: Role }

const RANK: Record<Role, number> = { writer: 1, editor: 2, admin: 3 }
export const hasRole = (principal: Principal, role: Role) => RANK[principal.role] >= RANK[role]

/** Secrets carry 256 random bits, so a fast hash is enough: nothing to brute-force. */
const hash = (secret: string) => createHash('sha256').update(secret).digest('hex')

export function keysService (store: Store, options: { adminSecret?: string }) {
  const adminHash = options.adminSecret ? Buffer.from(hash(options.adminSecret), 'hex') : undefined

  function present (row: KeyRow): ApiKey {
    return { id: row.id, name: row.name, role: row.role, prefix: row.prefix, createdAt: iso(row.createdAt), revokedAt: isoOrNull(row.revokedAt) }
  }

  return {
    /** The principal behind a bearer token, or undefined for an unknown or revoked key. */
    async authenticate (token: string): Promise<Principal | undefined> {
      const digest = hash(token)
      if (adminHash && timingSafeEqual(adminHash, Buffer.from(digest, 'hex'))) {
        return { keyId: 'env:CMS_ADMIN_KEY', name: 'CMS_ADMIN_KEY', role: 'admin' }
      }
      const row = await store.keys.findActiveByHash(digest)
      return row && { keyId: row.id, name: row.name, role: row.role }
    },

    async create (input: ApiKeyCreate): Promise<ApiKeyCreated> {
      const secret = `cms_${randomBytes(32).toString('base64url')}`
      const row: KeyRow = {
        id: newId(),
        name: input.name,
        role: input.role,
        prefix: secret.slice(0, 12),
        hash: hash(secret),
        createdAt: new Date(),
        revokedAt: null
      }
      await store.transaction(() => store.keys.insert(row))
      return { ...present(row), secret }
    },

    async get (id: string) {
      const row = await store.keys.findById(id)
      if (!row) throw new NotFound('Key', id)
      return present(row)
    },

    async list (query: { limit: number, cursor?: string }) {
      const page = await keysetPage({
        scope: 'keys',
        cursor: query.cursor,
        limit: query.limit,
        kinds: ['date', 'string'] as const,
        fetch: (after, limit) => store.keys.list({ after, limit }),
        key: (r) => [r.createdAt, r.id]
      })
      return { data: page.rows.map(present), next: page.next }
    },

    /**
     * Revokes at once: the next request with the key is a 401. Revoking twice is harmless. Preconditions are honoured.
     * The last admin key is not revoked (a 409) unless CMS_ADMIN_KEY is set: nobody could manage keys over HTTP after it.
     */
    async revoke (id: string, conditions: Conditions = {}) {
      await store.transaction(async () => {
        const row = await store.keys.findById(id)
        if (!row) throw new NotFound('Key', id)
        await assertMatch(conditions, () => present(row))
        if (row.role === 'admin' && row.revokedAt === null && !adminHash) {
          const admins = await store.keys.activeAdminIds()
          if (admins.length === 1 && admins[0] === id) {
            throw new Conflict('This is the last admin key: revoked, no one could manage keys over HTTP. Create another admin key first, or set CMS_ADMIN_KEY')
          }
        }
        await store.keys.revoke(id, new Date())
      })
    }
  }
}

export type KeysService = ReturnType<typeof keysService>
