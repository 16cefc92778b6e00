import { createHash, randomUUID } from 'node:crypto'
import sharp from 'sharp'
import { fileTypeFromBuffer } from 'file-type'
import type { Store } from '../db/index.js'
import type { PhotoRow, PhotoKey } from '../db/repositories/photos.js'
import type { Storage } from '../storage/index.js'
import type { Photo, PhotoPatch, PhotoUploadFields } from '../schemas/photos.js'
import { NotFound, Conflict, BadRequest, UnsupportedMediaType, Forbidden } from '../errors.js'
import { decodeCursor, paginate } from './cursor.js'
import { iso } from './time.js'
import { assertMatch } from './etag.js'
import type { Write } from './context.js'

/** The image types a newsroom uploads, by the type sniffed from the bytes. */
export const ACCEPTED_TYPES: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'image/avif': 'avif'
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

export function photosService (store: Store, storage: Storage, options: { publicUrl?: string }) {
  const withLock = keyedLock()
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
      url: fileUrl(row),
      createdAt: iso(row.createdAt),
      updatedAt: iso(row.updatedAt)
    }
  }

  /** The original's URL carries a version, so it can be cached forever and changes when the file is replaced. */
  function fileUrl (row: PhotoRow): string {
    return `${base}/v1/photos/${row.id}/file?v=${row.sha256.slice(0, 16)}`
  }

  /** Decides the type from the bytes, reads the size from the image, and stores the bytes under their hash. */
  async function inspect (file: PhotoFile) {
    if (file.data.length === 0) throw new BadRequest('The upload is empty: send the image bytes')
    const type = await fileTypeFromBuffer(file.data)
    const ext = type && ACCEPTED_TYPES[type.mime]
    if (!type || !ext) {
      throw new UnsupportedMediaType(`Unsupported image type${type ? ` ${type.mime}` : ''}: upload JPEG, PNG, WebP, GIF or AVIF`)
    }
    let width: number | undefined
    let height: number | undefined
    try {
      const meta = await sharp(file.data, { failOn: 'error' }).metadata()
      // EXIF orientations 5-8 swap the axes: report the size the photo is displayed at
      const swap = (meta.orientation ?? 1) >= 5
      width = swap ? meta.height : meta.width
      height = swap ? meta.width : meta.height
    } catch {
      throw new BadRequest('The image could not be read: it is damaged or truncated')
    }
    if (!width || !height) throw new BadRequest('The image has no readable dimensions')
    const sha256 = createHash('sha256').update(file.data).digest('hex')
    return { mimeType: type.mime, width, height, sha256, bytes: file.data.length, storageKey: `${sha256}.${ext}` }
  }

  /** Removes the bytes behind a key once no record uses them. */
  async function collect (storageKey: string) {
    await withLock(storageKey, () => collectLocked(storageKey))
  }
  async function collectLocked (storageKey: string) {
    if (!(await store.photos.storageKeyInUse(storageKey))) await storage.delete(storageKey)
  }

  /**
   * Bytes first, record second: `write` commits the record only once the file is safely stored, so a
   * crash in between leaves an unreferenced file, never a record without one. A failed write takes
   * back bytes nothing else uses.
   */
  async function storeThen<T> (storageKey: string, data: Buffer, write: () => Promise<T>): Promise<T> {
    return withLock(storageKey, async () => {
      if (!(await storage.exists(storageKey))) await storage.put(storageKey, data)
      try {
        return await store.transaction(write)
      } catch (err) {
        await collectLocked(storageKey)
        throw err
      }
    })
  }

  /** If-Match, and the writer rule: a photo that published articles show is changed by editors only. */
  async function checkWrite (current: PhotoRow, w: Write) {
    await assertMatch(w.ifMatch, () => present(current))
    if (w.actor.role === 'writer' && await store.photos.shownByPublished(current.id)) {
      throw new Forbidden('This photo is shown by published articles: ask an editor to change it')
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
        throw new BadRequest('Send both focalX and focalY, or neither')
      }
      const info = await inspect(file)
      const now = new Date()
      const row: PhotoRow = {
        id: randomUUID(),
        caption: fields.caption ?? null,
        credit: fields.credit ?? null,
        altText: fields.altText ?? null,
        focalX: fields.focalX ?? null,
        focalY: fields.focalY ?? null,
        originalFilename: file.filename ?? fields.filename ?? null,
        ...info,
        createdAt: now,
        updatedAt: now
      }
      await storeThen(info.storageKey, file.data, () => store.photos.insert(row))
      return present(row)
    },

    async replaceFile (id: string, file: PhotoFile, w: Write): Promise<Photo> {
      const info = await inspect(file)
      await get(id)
      const { updated, oldKey } = await storeThen(info.storageKey, file.data, async () => {
        const current = await get(id)
        await checkWrite(current, w)
        const fields = { ...info, originalFilename: file.filename ?? current.originalFilename, updatedAt: new Date() }
        await store.photos.update(id, fields)
        return { updated: { ...current, ...fields }, oldKey: current.storageKey }
      })
      if (oldKey !== info.storageKey) await collect(oldKey)
      return present(updated)
    },

    async get (id: string): Promise<Photo> {
      return present(await get(id))
    },

    /** The record and a stream of its original bytes. */
    async file (id: string) {
      const row = await get(id)
      const file = await storage.get(row.storageKey)
      if (!file) throw new NotFound('File of photo', id)
      return { row, ...file }
    },

    async list (query: { limit: number, cursor?: string }) {
      const scope = 'photos'
      const afterKey: PhotoKey | undefined = query.cursor ? decodeCursor(scope, query.cursor, ['date', 'string'] as const) : undefined
      const rows = await store.photos.list({ after: afterKey, limit: query.limit + 1 })
      const page = paginate(rows, query.limit, (r) => [r.createdAt, r.id], scope)
      return { data: page.rows.map(present), next: page.next }
    },

    async update (id: string, patch: PhotoPatch, w: Write): Promise<Photo> {
      return present(await store.transaction(async () => {
        const current = await get(id)
        await checkWrite(current, w)
        const fields: Partial<PhotoRow> = { updatedAt: new Date() }
        if (patch.caption !== undefined) fields.caption = patch.caption
        if (patch.credit !== undefined) fields.credit = patch.credit
        if (patch.altText !== undefined) fields.altText = patch.altText
        if (patch.focalPoint !== undefined) {
          fields.focalX = patch.focalPoint?.x ?? null
          fields.focalY = patch.focalPoint?.y ?? null
        }
        await store.photos.update(id, fields)
        return { ...current, ...fields }
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

export type PhotosService = ReturnType<typeof photosService>
