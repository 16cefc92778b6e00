import { createHash } from 'node:crypto'
import { invalid as invalidField } from '../errors.js'

type Kind = 'string' | 'number' | 'float' | 'date' | 'date?'
type Value<K extends Kind> = K extends 'string' ? string : K extends 'number' | 'float' ? number : K extends 'date' ? Date : Date | null
type Values<K extends readonly Kind[]> = { -readonly [I in keyof K]: Value<K[I]> }

const checksum = (scope: string, payload: string) =>
  createHash('sha256').update(scope).update('\0').update(payload).digest('base64url').slice(0, 12)

/**
 * Opaque keyset cursors: the sort key of the last row, bound to the list it came from (`scope`,
 * e.g. "articles:-publishedAt") by a checksum, so an edited, truncated or foreign cursor is a 400.
 * A cursor only says where to resume, never what may be seen: visibility is decided by each query.
 */
export function encodeCursor (scope: string, values: (string | number | Date | null)[]): string {
  const payload = Buffer.from(JSON.stringify(values.map((v) => v instanceof Date ? v.getTime() : v))).toString('base64url')
  return `${payload}.${checksum(scope, payload)}`
}

export function decodeCursor<const K extends readonly Kind[]> (scope: string, cursor: string, kinds: K): Values<K> {
  const invalid = () => {
    const message = 'Invalid cursor: pass back the `next` value of the previous page unchanged, with the same filters and sort'
    return invalidField(message, [{ path: '/query/cursor', message }])
  }
  const [payload, sum, extra] = cursor.split('.')
  if (!payload || !sum || extra !== undefined || checksum(scope, payload) !== sum) throw invalid()
  let raw: unknown
  try {
    raw = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
  } catch {
    throw invalid()
  }
  if (!Array.isArray(raw) || raw.length !== kinds.length) throw invalid()
  return kinds.map((kind, i) => {
    const v = raw[i]
    if (kind === 'string' && typeof v === 'string' && v.length <= 500) return v
    if (kind === 'number' && Number.isSafeInteger(v)) return v
    if (kind === 'float' && typeof v === 'number' && Number.isFinite(v)) return v
    // a time JavaScript can represent (±8.64e15 ms), not any integer
    if ((kind === 'date' || kind === 'date?') && Number.isSafeInteger(v) && Math.abs(v as number) <= 8.64e15) return new Date(v as number)
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
export function paginate<R> (rows: R[], limit: number, key: (row: R) => (string | number | Date | null)[], scope: string,
  budget?: { max: number, size: (row: R) => number }) {
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
  return { rows: page, next: more && last ? encodeCursor(scope, key(last)) : null }
}
