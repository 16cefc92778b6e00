import { createCipheriv, createDecipheriv, createHash, createHmac } from 'node:crypto'
import { invalid as invalidField } from '../errors.js'
import { FIRST_TIME, LAST_TIME } from '../schemas/common.js'

/** `ids?`: a few ids, as the last value; a cursor made before it was added has none (an empty list). */
type Kind = 'string' | 'number' | 'float' | 'date' | 'date?' | 'ids?'
type Value<K extends Kind> = K extends 'string' ? string : K extends 'number' | 'float' ? number : K extends 'date' ? Date : K extends 'ids?' ? string[] : Date | null
type Values<K extends readonly Kind[]> = { -readonly [I in keyof K]: Value<K[I]> }

const checksum = (scope: string, payload: string) =>
  createHash('sha256').update(scope).update('\0').update(payload).digest('base64url').slice(0, 12)

/** Base64url that reads back to exactly itself (Node's decoder skips stray characters and ignores spare bits). */
function strictBase64 (text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64url')
  return bytes.toString('base64url') === text ? bytes : undefined
}

/** The two keys a database's cursor key gives (one to seal, one to derive nonces), worked out once per key. */
const subkeys = new WeakMap<Buffer, { seal: Buffer, iv: Buffer }>()
function keysOf (key: Buffer) {
  let derived = subkeys.get(key)
  if (!derived) {
    const subkey = (use: string) => createHmac('sha256', key).update(use).digest()
    derived = { seal: subkey('cursor-seal'), iv: subkey('cursor-iv') }
    subkeys.set(key, derived)
  }
  return derived
}

/**
 * A cursor's text sealed with the database's key (AES-256-GCM, the list's scope as associated data): a search's
 * relevance score is computed over the whole index, hidden articles included, so a readable one would tell an
 * anonymous reader when a draft or an embargoed story holding their word was saved. The nonce is derived from
 * the text (a synthetic IV): the same page always gets the same cursor, so its ETag and the caches hold.
 */
function sealCursor (key: Buffer, scope: string, text: string): string {
  const keys = keysOf(key)
  const iv = createHmac('sha256', keys.iv).update(scope).update('\0').update(text).digest().subarray(0, 12)
  const cipher = createCipheriv('aes-256-gcm', keys.seal, iv).setAAD(Buffer.from(scope))
  const sealed = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()])
  return `${sealed.toString('base64url')}.${Buffer.concat([iv, cipher.getAuthTag()]).toString('base64url')}`
}

function unsealCursor (key: Buffer, scope: string, sealed: Buffer, tail: Buffer): string | undefined {
  if (tail.length !== 28) return undefined
  try {
    const decipher = createDecipheriv('aes-256-gcm', keysOf(key).seal, tail.subarray(0, 12)).setAAD(Buffer.from(scope))
    decipher.setAuthTag(tail.subarray(12))
    return Buffer.concat([decipher.update(sealed), decipher.final()]).toString('utf8')
  } catch {
    return undefined
  }
}

/**
 * Opaque keyset cursors: the sort key of the last row, bound to the list it came from (`scope`,
 * e.g. "articles:-publishedAt") by a checksum, so an edited, truncated or foreign cursor is a 400; with a
 * `key`, sealed instead (see sealCursor), for sort keys a reader may not see.
 * A cursor only says where to resume, never what may be seen: visibility is decided by each query.
 */
export function encodeCursor (scope: string, values: (string | number | Date | null | string[])[], key?: Buffer): string {
  const text = JSON.stringify(values.map((v) => v instanceof Date ? v.getTime() : v))
  if (key) return sealCursor(key, scope, text)
  const payload = Buffer.from(text).toString('base64url')
  return `${payload}.${checksum(scope, payload)}`
}

export function decodeCursor<const K extends readonly Kind[]> (scope: string, cursor: string, kinds: K, key?: Buffer): Values<K> {
  const invalid = () => {
    const message = 'Invalid cursor: pass back the `next` value of the previous page unchanged, with the same filters and sort'
    return invalidField(message, [{ path: '/query/cursor', message }])
  }
  const [payload, sum, extra] = cursor.split('.')
  if (!payload || !sum || extra !== undefined) throw invalid()
  const text = key
    ? ((sealed, tail) => sealed && tail && unsealCursor(key, scope, sealed, tail))(strictBase64(payload), strictBase64(sum))
    : checksum(scope, payload) === sum ? Buffer.from(payload, 'base64url').toString('utf8') : undefined
  if (!text) throw invalid()
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    throw invalid()
  }
  const optional = kinds[kinds.length - 1] === 'ids?' ? 1 : 0
  if (!Array.isArray(raw) || raw.length > kinds.length || raw.length < kinds.length - optional) throw invalid()
  const comparable = (v: unknown): v is string => typeof v === 'string' && v.length <= 500 && !v.includes('\u0000')
  return kinds.map((kind, i) => {
    const v = raw[i]
    // what either database can compare: text without a NUL, a 32-bit whole number, a time in the years 0001–9999
    if (kind === 'string' && comparable(v)) return v
    if (kind === 'ids?' && v === undefined) return []
    if (kind === 'ids?' && Array.isArray(v) && v.length <= 4 && v.every(comparable)) return v
    if (kind === 'number' && Number.isSafeInteger(v) && Math.abs(v as number) <= 2 ** 31 - 1) return v
    if (kind === 'float' && typeof v === 'number' && Number.isFinite(v)) return v
    if ((kind === 'date' || kind === 'date?') && Number.isSafeInteger(v) && (v as number) >= FIRST_TIME && (v as number) <= LAST_TIME) return new Date(v as number)
    if (kind === 'date?' && v === null) return null
    throw invalid()
  }) as Values<K>
}

/**
 * One page of a keyset-paginated list: decodes the cursor (400 when it is not one of this list's), fetches
 * limit + 1 rows after it, and encodes the next cursor from the last row kept.
 */
export async function keysetPage<const K extends readonly Kind[], R> (o: {
  scope: string
  cursor?: string
  limit: number
  kinds: K
  fetch: (after: Values<K> | undefined, limit: number) => Promise<R[]>
  key: (row: R) => (string | number | Date | null)[]
}) {
  const after = o.cursor === undefined ? undefined : decodeCursor(o.scope, o.cursor, o.kinds)
  return paginate(await o.fetch(after, o.limit + 1), o.limit, o.key, o.scope)
}

/**
 * One page of rows, fetched with limit + 1 to learn whether another page follows. With a `budget`, the page also
 * ends before the row that would take the rows' sizes over it (never before the first row): the page is shorter than
 * `limit` and its cursor goes on from there.
 */
export function paginate<R> (rows: R[], limit: number, key: (row: R, page: R[]) => (string | number | Date | null | string[])[], scope: string,
  budget?: { max: number, size: (row: R) => number }, sealWith?: Buffer) {
  let end = Math.min(rows.length, limit)
  if (budget) {
    let total = 0
    for (let i = 0; i < end; i++) {
      total += budget.size(rows[i]!)
      if (total > budget.max && i > 0) { end = i; break }
    }
  }
  const more = rows.length > end
  const page = more ? rows.slice(0, end) : rows
  const last = page[page.length - 1]
  return { rows: page, next: more && last ? encodeCursor(scope, key(last, page), sealWith) : null }
}
