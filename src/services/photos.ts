import { newId } from './ids.js'
import { Readable } from 'node:stream'
import { createHash } from 'node:crypto'
import type { Store, PhotoRow } from '../db/index.js'
import { inMemory, type Storage, type StoredFile } from '../storage/index.js'
import { ACCEPTED_TYPES, type Photo, type PhotoPatch, type PhotoUploadFields } from '../schemas/photos.js'
import { NotFound, Conflict, Forbidden, ClientClosed, invalid } from '../errors.js'
import { inspectImage, planRendition, renderVariant, variantKey, RENDITION_FORMATS, type RenditionRequest } from './images.js'
import { keysetPage } from './cursor.js'
import { iso } from './time.js'
import { assertMatch } from './etag.js'
import { changesTo, type Viewer, type Write } from './context.js'
import { reindex } from './search.js'

/**
 * The version in a photo's file URL: what its renditions are made from, the bytes and the focal point that centres
 * its crops. It changes when either does, so a URL answered `immutable` always shows the same pixels: with the bytes'
 * hash alone, a crop kept showing the old focal point from caches for a year after an editor moved it. Without a focal
 * point it is the bytes' hash, as it always was (crops are centred), so those URLs stay what caches hold.
 */
export function fileVersion (row: Pick<PhotoRow, 'sha256' | 'focalX' | 'focalY'>): string {
  if (row.focalX === null || row.focalY === null) return row.sha256.slice(0, 16)
  return createHash('sha256').update(`${row.sha256}:${row.focalX}:${row.focalY}`).digest('hex').slice(0, 16)
}

/** Serializes work on one storage key in this process (upload vs. garbage collection of the same bytes). */
function keyedLock () {
  const tails = new Map<string, Promise<unknown>>()
  return async function withLock<T> (key: string, fn: () => Promise<T>): Promise<T> {
    const previous = tails.get(key) ?? Promise.resolve()
    const run = previous.then(fn, fn)
    const tail = run.catch(() => undefined)
    tails.set(key, tail)
    try {
      return await run
    } finally {
      if (tails.get(key) === tail) tails.delete(key)
    }
  }
}

export interface PhotoFile { data: Buffer, filename?: string | null }

/** The file extensions that name an image of some type: one of them on a file of another type is replaced. */
const IMAGE_EXTENSION = /\.(?:jpe?g|jpe|jfif|png|apng|webp|gif|avif|heic|heif|tiff?|bmp)$/i

/**
 * A file name as a form sent it, as kept: its last path segment, without control characters or the bidirectional
 * controls that make `photo‮gpj.exe` read `photoexe.jpg`, at most 255 characters (as a raw upload's `filename` field
 * must be); an image extension of another type than the bytes' is theirs (a PNG sent as `a.jpg` is kept as `a.png`);
 * nothing left is none.
 */
function fileName (name: string | null | undefined, mimeType: string): string | null {
  const base = (name ?? '').normalize('NFC').replace(/[\p{Cc}\p{Bidi_Control}]/gu, '').split(/[\\/]/).pop()!.trim()
  const ext = ACCEPTED_TYPES[mimeType]!
  const named = IMAGE_EXTENSION.test(base) && !(mimeType === 'image/jpeg' ? /\.(?:jpe?g|jpe|jfif)$/i : new RegExp(`\\.${ext}$`, 'i')).test(base)
    ? base.replace(IMAGE_EXTENSION, `.${ext}`)
    : base
  return Array.from(named).slice(0, 255).join('') || null
}

export interface PhotoOptions {
  publicUrl?: string
  /** Largest image accepted, in pixels (width × height). */
  maxPixels: number
  /** The widths renditions snap to, ascending. */
  widths: number[]
  /** The crop shapes (width / height) renditions snap to. */
  aspects: number[]
  /** Where a clean-up that failed after its change was committed is told (the answer stands: the change is made). */
  log?: { error: (details: object, message: string) => void }
}

/** The original a rendition was to be made from is gone: the photo's file was replaced (or the photo deleted). */
class SourceGone extends Error {}

/** A render that requests for one rendition share, and how many of them still ask for it. */
interface Render { bytes: Promise<Buffer>, asking: number, leave: () => void }

/** A caption or alt text of nothing but white space is none: null, as a blank upload field is (a credit must show something). */
const unlessBlank = (text: string | null | undefined): string | null => text === null || text === undefined || text.trim() === '' ? null : text

export function photosService (store: Store, storage: Storage, options: PhotoOptions) {
  const withLock = keyedLock()
  /** Renditions being made right now: concurrent first requests for one rendition wait for a single render. */
  const rendering = new Map<string, Render>()
  const base = options.publicUrl ?? ''

  function present (row: PhotoRow): Photo {
    return {
      id: row.id,
      caption: row.caption,
      credit: row.credit,
      altText: row.altText,
      width: row.width,
      height: row.height,
      mimeType: row.mimeType,
      bytes: row.bytes,
      sha256: row.sha256,
      focalPoint: row.focalX === null || row.focalY === null ? null : { x: row.focalX, y: row.focalY },
      originalFilename: row.originalFilename,
      placeholder: row.placeholder,
      dominantColor: row.dominantColor,
      url: fileUrl(row),
      createdAt: iso(row.createdAt),
      updatedAt: iso(row.updatedAt)
    }
  }

  /** The original's URL carries a version, so it can be cached forever (see fileVersion). */
  function fileUrl (row: PhotoRow): string {
    return `${base}/v1/photos/${row.id}/file?v=${fileVersion(row)}`
  }

  /**
   * Removes the bytes behind a key once no record uses them: after the change that let go of them is committed, so a
   * storage failing now (S3 unreachable) fails nothing the client asked for. The bytes stay, and the log says where.
   */
  async function collect (storageKey: string) {
    try {
      await withLock(storageKey, () => collectLocked(storageKey))
    } catch (err) {
      const withdrawnTo = (err as { withdrawnTo?: string }).withdrawnTo
      options.log?.error({ err, storageKey, withdrawnTo }, withdrawnTo
        ? `a photo's bytes, taken out of ${storageKey} while a record came to use them, could not be put back: they are at ${withdrawnTo}`
        : 'the bytes no photo uses any more could not be removed from photo storage: they stay there')
    }
  }
  /**
   * Removes bytes no record uses. Another instance on the same database may commit a record of the same bytes at
   * any moment (the lock above is this process's only), having found the file there before it was removed: the
   * bytes are taken out of their key first and looked for again, and put back if a record has come to use them
   * (an upload committing after they were taken out finds them missing, and puts them back itself: see storeThen).
   */
  async function collectLocked (storageKey: string) {
    if (await store.photos.storageKeyInUse(storageKey)) return
    const withdrawn = await storage.withdraw(storageKey)
    if (await store.photos.storageKeyInUse(storageKey)) {
      // a record has come to use them meanwhile: they go back, tried again while the storage fails (withdrawn bytes
      // are never discarded but here); still failing, the error says where they are
      for (let attempt = 1; withdrawn; attempt++) {
        try {
          await withdrawn.restore()
          break
        } catch (err) {
          if (attempt === 5) throw Object.assign(err as Error, { withdrawnTo: withdrawn.where })
          await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt))
        }
      }
      return
    }
    await withdrawn?.discard()
    await storage.deletePrefix(`r/${storageKey.split('.')[0]}/`)
  }

  /**
   * Bytes first, record second: `write` commits the record only once the file is safely stored, so a
   * crash in between leaves an unreferenced file, never a record without one. A failed write takes
   * back bytes nothing else uses. Once committed, the file is looked for again: another instance may have
   * collected the bytes in between (see collectLocked), and they are put back.
   */
  async function storeThen<T> (storageKey: string, data: Buffer, write: () => Promise<T>): Promise<T> {
    return withLock(storageKey, async () => {
      if (!(await storage.exists(storageKey))) await storage.put(storageKey, data)
      let written: T
      try {
        written = await store.transaction(write)
      } catch (err) {
        await collectLocked(storageKey)
        throw err
      }
      if (!(await storage.exists(storageKey))) await storage.put(storageKey, data)
      return written
    })
  }

  /**
   * If-Match, and the writer rule: a photo that published articles show is changed by editors only. A write to the
   * file (`PUT …/file`) also takes the ETag its GET answers (`"<sha256>"`), as HTTP has it, besides the record's.
   */
  async function checkWrite (current: PhotoRow, w: Write, file = false) {
    await assertMatch(w, () => present(current), file ? [`"${current.sha256}"`] : [])
    if (w.actor.role === 'writer' && await store.photos.shownByPublished(current.id)) {
      throw new Forbidden('This photo is shown by published articles: ask an editor to change it')
    }
  }

  /**
   * A rendition of the photo as `row` has it (see rendition). The requests asking for one rendition at once share
   * its render; while it waits its turn, it is given up when every one of them is (their `signal`s abort).
   */
  async function renditionOf (row: PhotoRow, request: RenditionRequest, client: string, signal?: AbortSignal) {
    const variant = planRendition(row, request, options)
    const key = variantKey(row.sha256, variant)
    const contentType = RENDITION_FORMATS[variant.format]
    const stored = await storage.get(key)
    if (stored) return { row, key, contentType, file: stored }
    if (signal?.aborted) throw new ClientClosed('The request was given up before its rendition was made')
    let render = rendering.get(key)
    if (!render) {
      const givenUp = new AbortController()
      let started = false
      const bytes: Promise<Buffer> = (async () => {
        const made = await renderVariant(client, async () => {
          started = true
          const source = await storage.get(row.storageKey)
          if (!source) throw new SourceGone()
          return buffer(source.read())
        }, variant, options.maxPixels, givenUp.signal)
        // stored under the original's lock, and only while a record still uses it: a photo deleted or
        // replaced during the render leaves no rendition behind
        await withLock(row.storageKey, async () => {
          if (await store.photos.storageKeyInUse(row.storageKey)) await storage.put(key, made)
        })
        return made
      })().finally(() => { if (rendering.get(key) === shared) rendering.delete(key) })
      const shared: Render = {
        bytes,
        asking: 0,
        leave () {
          // once its turn has come it is made and stored anyway: it stays shared, for the next request to wait on
          if (--shared.asking > 0 || started) return
          // nobody waits for it any more: it leaves the decoder's line, and a later request starts afresh
          if (rendering.get(key) === shared) rendering.delete(key)
          givenUp.abort()
        }
      }
      rendering.set(key, render = shared)
    }
    const joined = render
    joined.asking++
    signal?.addEventListener('abort', joined.leave, { once: true })
    try {
      return { row, key, contentType, file: inMemory(await joined.bytes) }
    } finally {
      signal?.removeEventListener('abort', joined.leave)
    }
  }

  async function get (id: string): Promise<PhotoRow> {
    const row = await store.photos.findById(id)
    if (!row) throw new NotFound('Photo', id)
    return row
  }

  return {
    present,
    fileUrl,

    async create (file: PhotoFile, fields: PhotoUploadFields): Promise<Photo> {
      if ((fields.focalX === undefined) !== (fields.focalY === undefined)) {
        const missing = fields.focalX === undefined ? 'focalX' : 'focalY'
        throw invalid('Send both focalX and focalY, or neither', [{ path: `/${missing}`, message: `Is required with ${missing === 'focalX' ? 'focalY' : 'focalX'}` }])
      }
      const { data, info } = await inspectImage(file.data, options.maxPixels)
      const now = new Date()
      const row: PhotoRow = {
        id: newId(),
        caption: unlessBlank(fields.caption),
        credit: fields.credit ?? null,
        altText: unlessBlank(fields.altText),
        focalX: fields.focalX ?? null,
        focalY: fields.focalY ?? null,
        originalFilename: fileName(file.filename, info.mimeType) ?? fileName(fields.filename, info.mimeType),
        ...info,
        createdAt: now,
        updatedAt: now
      }
      await storeThen(info.storageKey, data, () => store.photos.insert(row))
      return present(row)
    },

    async replaceFile (id: string, file: PhotoFile, w: Write): Promise<Photo> {
      // an unknown photo is a 404 before any bytes are read (and again inside: it may go meanwhile)
      await get(id)
      const { data, info } = await inspectImage(file.data, options.maxPixels)
      const { updated, oldKey } = await storeThen(info.storageKey, data, async () => {
        const current = await get(id)
        await checkWrite(current, w, true)
        // a raw body has no name: the old one stays while it names the same type of file, not a PNG as a.jpg
        const kept = info.mimeType === current.mimeType ? current.originalFilename : null
        const fields = { ...info, originalFilename: fileName(file.filename, info.mimeType) ?? kept, updatedAt: new Date() }
        await store.photos.update(id, fields)
        await store.articles.changedWith({ photoId: id }, fields.updatedAt)
        return { updated: { ...current, ...fields }, oldKey: current.storageKey }
      })
      if (oldKey !== info.storageKey) await collect(oldKey)
      return present(updated)
    },

    async get (id: string): Promise<Photo> {
      return present(await get(id))
    },

    /** The record and its original bytes, opened. */
    async file (id: string) {
      const row = await get(id)
      const file = await storage.get(row.storageKey)
      if (!file) throw new NotFound('File of photo', id)
      return { row, file }
    },

    /**
     * A rendition of the photo: made once with sharp and kept in storage beside the original, so later
     * requests (on any instance) stream the stored bytes without decoding anything. A render is made in the
     * turn of the client that first asks for it (see renderVariant).
     */
    async rendition (id: string, request: RenditionRequest, client: string, signal?: AbortSignal): Promise<{ row: PhotoRow, key: string, contentType: string, file: StoredFile }> {
      for (let attempt = 1; ; attempt++) {
        try {
          return await renditionOf(await get(id), request, client, signal)
        } catch (err) {
          // the file was replaced while the rendition waited its turn: it is made again, from the file as it is now
          if (!(err instanceof SourceGone)) throw err
          if (attempt === 3) throw new NotFound('File of photo', id)
        }
      }
    },

    /**
     * Anonymous readers are listed only the photos they can see in use (see the route): a photo uploaded for a story
     * still under embargo is readable by its id, but its id and caption are not handed out before the story is.
     */
    async list (query: { limit: number, cursor?: string }, viewer: Viewer) {
      const shownAt = viewer.publicOnly ? new Date() : undefined
      const page = await keysetPage({
        scope: 'photos',
        cursor: query.cursor,
        limit: query.limit,
        kinds: ['date', 'string'] as const,
        fetch: (after, limit) => store.photos.list({ after, limit, shownAt }),
        key: (r) => [r.createdAt, r.id]
      })
      return { data: page.rows.map(present), next: page.next }
    },

    async update (id: string, patch: PhotoPatch, w: Write): Promise<Photo> {
      return present(await store.transaction(async () => {
        const current = await get(id)
        await checkWrite(current, w)
        const fields: Partial<PhotoRow> = {}
        if (patch.caption !== undefined) fields.caption = unlessBlank(patch.caption)
        if (patch.credit !== undefined) fields.credit = patch.credit
        if (patch.altText !== undefined) fields.altText = unlessBlank(patch.altText)
        if (patch.focalPoint !== undefined) {
          // a merge patch merges objects: {"focalPoint": {"x": 0.9}} keeps y
          fields.focalX = patch.focalPoint === null ? null : patch.focalPoint.x ?? current.focalX
          fields.focalY = patch.focalPoint === null ? null : patch.focalPoint.y ?? current.focalY
          const missing = (['x', 'y'] as const).filter((c) => patch.focalPoint !== null && fields[c === 'x' ? 'focalX' : 'focalY'] === null)
          if (missing.length) {
            throw invalid('The photo has no focal point yet: send both x and y', missing.map((c) => ({ path: `/focalPoint/${c}`, message: 'Is required' })))
          }
        }
        const changed = changesTo(current, fields)
        if (!changed) return current
        await store.photos.update(id, changed)
        await store.articles.changedWith({ photoId: id }, new Date())
        // articles are found by the captions they show: keep the search index in step with a new one
        if (changed.caption !== undefined) {
          for (const articleId of await store.articles.idsWithPhoto(id)) reindex(store, articleId)
        }
        return { ...current, ...changed }
      }))
    },

    async delete (id: string, w: Write): Promise<void> {
      const row = await store.transaction(async () => {
        const current = await get(id)
        await checkWrite(current, w)
        const user = await store.photos.usedBy(id)
        if (user) throw new Conflict(`Photo ${id} is still shown by ${user === 'article' ? 'an article' : 'a byline'}; remove it there first`)
        await store.photos.delete(id)
        return current
      })
      await collect(row.storageKey)
    }
  }
}

async function buffer (stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

export type PhotosService = ReturnType<typeof photosService>
