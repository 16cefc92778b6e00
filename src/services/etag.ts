import { createHash } from 'node:crypto'
import { BadRequest, PreconditionFailed } from '../errors.js'

/**
 * The entity tag of a representation: a hash of everything it shows. Anything that changes what a
 * response shows (a renamed section, a related story's new headline) changes its tag, with no
 * bookkeeping to forget.
 */
export function etagOf (representation: unknown): string {
  return `"${createHash('sha256').update(bytesOf(representation)).digest('base64url').slice(0, 27)}"`
}

const made = new WeakMap<object, Buffer>()

/**
 * The JSON of a value as UTF-8 bytes, made once per object: the ETag of an answer hashes them, and answers
 * written with plain JSON.stringify (articles, see the validation plugin) are sent as those same bytes. Text with
 * any character beyond Latin-1 (a curly quote, a snippet's ellipsis, any non-Latin script) is encoded in ~2 ms
 * per MB: once, not once to hash it and again to send it.
 */
export function bytesOf (value: unknown): Buffer {
  if (value === null || typeof value !== 'object') return Buffer.from(JSON.stringify(value) ?? 'null')
  let bytes = made.get(value)
  if (bytes === undefined) {
    bytes = jsonBytes(value)
    made.set(value, bytes)
  }
  return bytes
}

/** A value JSON.stringify would turn with its toJSON(key): left to JSON.stringify whole, which knows the key. */
const turned = (value: unknown) => typeof (value as { toJSON?: unknown } | null)?.toJSON === 'function'

/**
 * JSON.stringify's bytes; a page's items (`data`) each stringified on their own, and the pieces encoded into one
 * buffer made to their measure. The string JSON.stringify returns for a whole page is built in pieces, and a long
 * one (past ~128 KB, in V8's large-object space) is slow to copy into one piece to encode: in the server, a search
 * page of 20 articles (172 KB) took 15% of its CPU to stringify, encode and hash whole, 8% item by item (~1.2 ms less
 * per search). Encoding each piece into a buffer of its own and joining them copied the page twice more (~0.1 ms).
 * A single article (~9 KB) is faster whole: 35 µs, against 110 µs written field by field.
 */
function jsonBytes (value: object): Buffer {
  const data = (value as { data?: unknown }).data
  const proto = Object.getPrototypeOf(value)
  if (!Array.isArray(data) || (proto !== Object.prototype && proto !== null) || turned(value) || data.some(turned)) {
    return Buffer.from(JSON.stringify(value))
  }
  const pieces: string[] = ['{']
  for (const [key, field] of Object.entries(value)) {
    const json = field === data ? '' : JSON.stringify(field)
    // left out as JSON.stringify leaves them out: undefined, functions, symbols
    if (json === undefined) continue
    pieces.push(`${pieces.length > 1 ? ',' : ''}${JSON.stringify(key)}:${json}`)
    if (field !== data) continue
    pieces.push('[')
    // every item, holes as null, as JSON.stringify writes them
    // (the comma a piece of its own: joined to an item, the item's text would be copied once more)
    for (let i = 0; i < data.length; i++) {
      if (i > 0) pieces.push(',')
      pieces.push(JSON.stringify(data[i]) ?? 'null')
    }
    pieces.push(']')
  }
  pieces.push('}')
  let size = 0
  for (const piece of pieces) size += Buffer.byteLength(piece)
  const bytes = Buffer.allocUnsafe(size)
  let at = 0
  for (const piece of pieces) at += bytes.write(piece, at)
  return bytes
}

const tags = (header: string) => header.split(',').map((t) => t.trim()).filter(Boolean)

/** An entity tag as RFC 9110 writes it: in double quotes, optionally marked weak. */
const ENTITY_TAG = /^(W\/)?"[\x21\x23-\x7e\x80-\xff]*"$/

/**
 * A write's precondition header as a list of tags; one that is not `*` or an entity tag is a 400 saying so: an
 * ETag with its quotes stripped (as shell scripts often do) would otherwise be a 412 telling the editor that
 * someone else changed the resource, however many times they read it again.
 */
function entityTags (header: string, name: string): string[] {
  const list = tags(header)
  const bad = list.find((t) => t !== '*' && !ENTITY_TAG.test(t))
  if (bad !== undefined || list.length === 0) {
    throw new BadRequest(`${name} must be * or entity tags in double quotes, as the ETag header gives them (${list.length === 0 ? 'it was sent empty' : `${JSON.stringify(header.slice(0, 80))} is not`})`)
  }
  return list
}

/** If-None-Match: weak comparison, so `W/"x"` matches `"x"`. */
export function noneMatch (header: string | undefined, etag: string): boolean {
  if (!header) return false
  return tags(header).some((t) => t === '*' || t.replace(/^W\//, '') === etag)
}

/** The preconditions a write may be sent with (RFC 9110 13.1). */
export interface Conditions { ifMatch?: string, ifNoneMatch?: string }

/**
 * The preconditions of a write, checked against the current representation (built only when one was sent) and
 * `also`, other ETags the target is currently known by; a failed one is a 412 and the write does not happen.
 * If-Match, first: strong comparison, so a stale tag fails. If-None-Match: weak comparison, so `*` fails (the
 * target exists) and so does a tag that is still current.
 */
export async function assertMatch ({ ifMatch, ifNoneMatch }: Conditions, current: () => unknown, also: string[] = []): Promise<void> {
  // a header sent empty is a precondition too, and a bad one (a script that failed to capture the ETag must not
  // overwrite a colleague's edit)
  if (ifMatch === undefined && ifNoneMatch === undefined) return
  let etag: string | undefined
  const isCurrent = async (test: (e: string) => boolean) => also.some(test) || test(etag ??= etagOf(await current()))
  if (ifMatch !== undefined) {
    const wanted = entityTags(ifMatch, 'If-Match')
    if (!wanted.includes('*') && !(await isCurrent((e) => wanted.includes(e)))) {
      throw new PreconditionFailed(wanted.every((t) => t.startsWith('W/'))
        ? 'If-Match compares strongly, so a weak tag (W/"…") never matches: send the ETag as the write or a read with a key gave it'
        : 'The resource changed since you read it (If-Match does not match its ETag): read it again and reapply your change')
    }
  }
  if (ifNoneMatch !== undefined && entityTags(ifNoneMatch, 'If-None-Match') && await isCurrent((e) => noneMatch(ifNoneMatch, e))) {
    throw new PreconditionFailed(ifNoneMatch.trim() === '*'
      ? 'The resource exists (If-None-Match: *)'
      : 'The resource is still the one If-None-Match names')
  }
}
