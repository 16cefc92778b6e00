import { Readable } from 'node:stream'

/**
 * Where photo bytes live. Keys are content addresses ("<sha256>.<ext>"): a key's bytes never change,
 * so a record can never point at different bytes than it was written with.
 * The filesystem driver is the default; an S3-compatible driver implements the same calls.
 */
export interface Storage {
  /** Stores the bytes under the key, atomically: readers see the whole file or nothing. */
  put (key: string, data: Buffer): Promise<void>
  /** The bytes stored under the key, opened to be read, or undefined when the key holds nothing. */
  get (key: string): Promise<StoredFile | undefined>
  exists (key: string): Promise<boolean>
  /** Removes the bytes; removing a missing key is not an error. */
  delete (key: string): Promise<void>
  /**
   * Takes the bytes out of the key at once, to be put back or removed for good: a deletion another instance can
   * undo in between (see the photos service's collect). Undefined when the key held nothing.
   */
  withdraw (key: string): Promise<Withdrawn | undefined>
  /** Removes every key under a prefix ("r/<sha256>/": the renditions of one original). */
  deletePrefix (prefix: string): Promise<void>
  /** Throws when the storage cannot be written (used by /readyz). */
  check (): Promise<void>
}

/** Bytes taken out of their key (see Storage.withdraw): exactly one of the two is called. */
export interface Withdrawn {
  /** Where the bytes are kept meanwhile, for the log when they cannot be put back. */
  where: string
  /** Puts them back under their key (over the same bytes put there meanwhile). */
  restore (): Promise<void>
  /** Removes them for good. */
  discard (): Promise<void>
}

/** An inclusive range of byte positions, as an HTTP `Range` asks for them. */
export interface ByteRange { start: number, end: number }

/**
 * A stored file, opened: its size is known before any byte is read, so a `Range` can be checked against it.
 * Exactly one of `read` or `discard` is called.
 */
export interface StoredFile {
  size: number
  /** A stream of the bytes, or of the range's only. */
  read (range?: ByteRange): Readable
  /** Lets go of the file unread (a 304, a 416). */
  discard (): void
}

/** Bytes held in memory (a rendition just made) as a stored file. */
export function inMemory (bytes: Buffer): StoredFile {
  return {
    size: bytes.length,
    read: (range) => Readable.from([range ? bytes.subarray(range.start, range.end + 1) : bytes]),
    discard: () => {}
  }
}

/** Originals: "<sha256>.<ext>". Renditions: "r/<sha256 of the original>/<variant>.<ext>". */
const ORIGINAL = /^[a-f0-9]{64}\.[a-z0-9]{2,5}$/
const RENDITION = /^r\/[a-f0-9]{64}\/[a-z0-9,_-]{1,100}\.[a-z0-9]{2,5}$/
const PREFIX = /^r\/[a-f0-9]{64}\/$/

export const isRenditionKey = (key: string) => RENDITION.test(key)

/** Keys come from our own hashes; anything else (path tricks included) is a programming error. */
export function assertKey (key: string): void {
  if (!ORIGINAL.test(key) && !RENDITION.test(key)) throw new Error(`Invalid storage key: ${JSON.stringify(key)}`)
}

export function assertPrefix (prefix: string): void {
  if (!PREFIX.test(prefix)) throw new Error(`Invalid storage prefix: ${JSON.stringify(prefix)}`)
}
