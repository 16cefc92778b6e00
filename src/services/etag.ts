import { createHash } from 'node:crypto'
import { PreconditionFailed } from '../errors.js'

/**
 * The entity tag of a representation: a hash of everything it shows. Anything that changes what a
 * response shows (a renamed section, a related story's new headline) changes its tag, with no
 * bookkeeping to forget.
 */
export function etagOf (representation: unknown): string {
  return `"${createHash('sha256').update(JSON.stringify(representation)).digest('base64url').slice(0, 27)}"`
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
