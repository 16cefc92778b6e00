import { createHash } from 'node:crypto'
import { PreconditionFailed } from '../errors.js'

/**
 * The entity tag of a representation: a hash of everything it shows. Anything that changes what a
 * response shows (a renamed section, a related story's new headline) changes its tag, with no
 * bookkeeping to forget.
 */
export function etagOf (representation: unknown): string {
  return `"${createHash('sha256').update(jsonOf(representation)).digest('base64url').slice(0, 27)}"`
}

const made = new WeakMap<object, string>()

/**
 * The JSON text of a value, made once per object: the ETag of an answer hashes its JSON, and answers written
 * with plain JSON.stringify (articles, see the validation plugin) are then sent as that same text.
 */
export function jsonOf (value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  let json = made.get(value)
  if (json === undefined) {
    json = JSON.stringify(value)
    made.set(value, json)
  }
  return json
}

const tags = (header: string) => header.split(',').map((t) => t.trim()).filter(Boolean)

/** If-None-Match: weak comparison, so `W/"x"` matches `"x"`. */
export function noneMatch (header: string | undefined, etag: string): boolean {
  if (!header) return false
  return tags(header).some((t) => t === '*' || t.replace(/^W\//, '') === etag)
}

/**
 * If-Match on a write: strong comparison against the current representation, built only when a
 * condition was sent. A stale tag is a 412 and the write does not happen.
 */
export async function assertMatch (header: string | undefined, current: () => unknown): Promise<void> {
  if (!header) return
  const wanted = tags(header)
  if (wanted.includes('*')) return
  const etag = etagOf(await current())
  if (!wanted.includes(etag)) {
    throw new PreconditionFailed('The resource changed since you read it (If-Match does not match its ETag): read it again and reapply your change')
  }
}
