import t from 'tap'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import zlib from 'node:zlib'
import { Readable } from 'node:stream'
import sharp, { type Sharp } from 'sharp'
import { thumbHashToRGBA } from 'thumbhash'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import { build, image, multipart, upload, create, problem, storedFiles } from './helper.js'
import type { App } from '../src/app.js'
import { loadConfig, ConfigError } from '../src/config.js'

/* eslint-disable @typescript-eslint/no-explicit-any */

type Test = import('tap').Test
type RGB = [number, number, number]

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000'
const DEFAULT_WIDTHS = [160, 320, 480, 640, 800, 1024, 1280, 1600, 1920, 2560]
const SHARP_FORMAT: Record<string, string> = { jpeg: 'jpeg', png: 'png', webp: 'webp', avif: 'heif' }

/** Every request goes through here: whatever the input, the answer is never a 5xx. */
async function send (t: Test, call: (o: InjectOptions) => Promise<LightMyRequestResponse>, options: InjectOptions): Promise<LightMyRequestResponse> {
  const res = await call(options)
  t.ok(res.statusCode < 500, `${options.method ?? 'GET'} ${options.url} is not a server error (got ${res.statusCode}${res.statusCode >= 500 ? `: ${res.body}` : ''})`)
  return res
}


const renditionDir = (dataDir: string, sha: string) => path.join(dataDir, 'photos', 'r', sha)
function renditionFiles (dataDir: string, sha: string): string[] {
  const dir = renditionDir(dataDir, sha)
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []
}
function originalFile (dataDir: string, sha: string): string {
  const dir = path.join(dataDir, 'photos', sha.slice(0, 2), sha.slice(2, 4))
  const name = fs.existsSync(dir) ? fs.readdirSync(dir).find((f) => f.startsWith(sha)) : undefined
  return name ? path.join(dir, name) : ''
}
function tmpFiles (dataDir: string): string[] {
  const dir = path.join(dataDir, 'photos', '.tmp')
  return fs.existsSync(dir) ? fs.readdirSync(dir) : []
}

/** Nothing of a refused upload is left: no record, no stored bytes, no temporary file. */
async function nothingStored (t: Test, app: App, dataDir: string, what: string) {
  const list = await send(t, app.inject.bind(app), { url: '/v1/photos' })
  t.same(list.json().data, [], `${what}: no photo record`)
  t.same(storedFiles(dataDir), [], `${what}: no stored file`)
  t.same(tmpFiles(dataDir), [], `${what}: no temporary file`)
}

/** A solid rectangle of one colour, for compositing. */
const block = (width: number, height: number, background: string, left: number, top: number) =>
  ({ input: { create: { width, height, channels: 3 as const, background } }, left, top })

/** Left half `left`, right half `right`. */
function halves (width: number, height: number, left: string, right: string) {
  return sharp({ create: { width, height, channels: 3, background: right } }).composite([block(width / 2, height, left, 0, 0)])
}
/** Top half `top`, bottom half `bottom`. */
function stacked (width: number, height: number, top: string, bottom: string) {
  return sharp({ create: { width, height, channels: 3, background: bottom } }).composite([block(width, height / 2, top, 0, 0)])
}
/** Quadrants: red top-left, green top-right, blue bottom-left, yellow bottom-right. */
function quadrants (width: number, height: number) {
  const w = width / 2
  const h = height / 2
  return sharp({ create: { width, height, channels: 3, background: '#000000' } })
    .composite([block(w, h, '#ff0000', 0, 0), block(w, h, '#00ff00', w, 0), block(w, h, '#0000ff', 0, h), block(w, h, '#ffff00', w, h)])
}
const solid = (width: number, height: number, background: string) => sharp({ create: { width, height, channels: 3, background } })

const RED: RGB = [255, 0, 0]
const GREEN: RGB = [0, 255, 0]
const BLUE: RGB = [0, 0, 255]
const YELLOW: RGB = [255, 255, 0]
const close = (a: RGB, b: RGB, tolerance = 70) => a.every((v, i) => Math.abs(v - b[i]!) <= tolerance)

/** The RGB colour of one pixel of an encoded image. */
async function rgbAt (data: Buffer, x: number, y: number): Promise<RGB> {
  const { data: raw, info } = await sharp(data).removeAlpha().raw().toBuffer({ resolveWithObject: true })
  const i = (y * info.width + x) * info.channels
  return [raw[i]!, raw[i + 1]!, raw[i + 2]!]
}
/** The mean colour of an encoded image. */
async function meanColour (data: Buffer): Promise<RGB> {
  const { channels } = await sharp(data).removeAlpha().stats()
  return [channels[0]!.mean, channels[1]!.mean, channels[2]!.mean]
}
const hexToRgb = (hex: string): RGB => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as RGB

async function uploadRaw (t: Test, app: App, data: Buffer, query = ''): Promise<LightMyRequestResponse> {
  return send(t, app.inject.bind(app), { method: 'POST', url: `/v1/photos${query}`, headers: { 'content-type': 'application/octet-stream' }, payload: data })
}

/** Counts what the storage is asked to do, by wrapping the app's storage driver (which the photo service uses). */
function spyStorage (app: App) {
  const counts = { renditionPuts: 0, originalGets: 0, renditionGets: 0 }
  const storage = app.storage
  const put = storage.put.bind(storage)
  const get = storage.get.bind(storage)
  storage.put = async (key, data) => {
    if (key.startsWith('r/')) counts.renditionPuts++
    return put(key, data)
  }
  storage.get = async (key) => {
    if (key.startsWith('r/')) counts.renditionGets++
    else counts.originalGets++
    return get(key)
  }
  return counts
}

/**
 * Holds the first read of an original (a rendition then holds the decoder, reading it) until `release`; later reads
 * wait for `later`, when given. `reads` counts them all.
 */
function holdFirstOriginalRead (app: App, later?: Promise<unknown>) {
  const storage = app.storage
  const get = storage.get.bind(storage)
  const held = { reads: 0, release: () => {}, atFirst: Promise.resolve() }
  let reached!: () => void
  held.atFirst = new Promise<void>((resolve) => { reached = resolve })
  const gate = new Promise<void>((resolve) => { held.release = resolve })
  storage.get = async (key) => {
    if (!key.startsWith('r/')) {
      if (++held.reads === 1) {
        reached()
        await gate
      } else if (later) {
        await later
      }
    }
    return get(key)
  }
  return held
}

/** A PNG declaring other dimensions in its IHDR, with the chunk's CRC recomputed so the header is valid. */
function patchPngSize (png: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(png)
  if (out.toString('latin1', 12, 16) !== 'IHDR') throw new Error('the first chunk is not IHDR')
  out.writeUInt32BE(width, 16)
  out.writeUInt32BE(height, 20)
  out.writeUInt32BE(zlib.crc32(out.subarray(12, 29)) >>> 0, 29)
  return out
}

/** A JPEG declaring other dimensions in its SOF marker. */
function patchJpegSize (jpeg: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(jpeg)
  let i = 2
  while (i < out.length) {
    if (out[i] !== 0xff) throw new Error('not a marker')
    const marker = out[i + 1]!
    const length = out.readUInt16BE(i + 2)
    if (marker >= 0xc0 && marker <= 0xc3) {
      out.writeUInt16BE(height, i + 5)
      out.writeUInt16BE(width, i + 7)
      return out
    }
    i += 2 + length
  }
  throw new Error('no SOF marker')
}

t.test('each rendition format: content type, decodable bytes of that format, expected size, headers', async (t) => {
  const { app, anon } = await build(t)
  const photo = await upload(app, {}, await halves(1000, 500, '#ff0000', '#0000ff').png().toBuffer())
  const etags = new Set<string>()
  for (const format of ['webp', 'avif', 'jpeg', 'png'] as const) {
    const res = await send(t, anon, { url: `/v1/photos/${photo.id}/file?width=640&format=${format}` })
    t.equal(res.statusCode, 200, `${format}: ${res.statusCode === 200 ? '' : res.body}`)
    t.equal(res.headers['content-type'], `image/${format}`, `${format}: content type`)
    t.equal(Number(res.headers['content-length']), res.rawPayload.length, `${format}: content-length is the body's`)
    const meta = await sharp(res.rawPayload).metadata()
    t.equal(meta.format, SHARP_FORMAT[format], `${format}: the bytes decode as ${format}`)
    if (format === 'avif') t.equal(meta.compression, 'av1', 'avif: AV1-compressed HEIF')
    t.equal(meta.width, 640, `${format}: 640 wide`)
    t.equal(meta.height, 320, `${format}: aspect kept (320 high)`)
    t.ok(close(await rgbAt(res.rawPayload, 80, 160), RED), `${format}: left is still red`)
    t.ok(close(await rgbAt(res.rawPayload, 560, 160), BLUE), `${format}: right is still blue`)
    t.match(res.headers.etag, /^"[^"]+"$/, `${format}: a strong ETag`)
    t.not(res.headers.etag, `"${photo.sha256}"`, `${format}: not the original's ETag`)
    etags.add(res.headers.etag as string)
    t.equal(res.headers['x-content-type-options'], 'nosniff')
    t.match(String(res.headers['content-security-policy']), /default-src 'none'/)
  }
  t.equal(etags.size, 4, 'each format has its own ETag')
  // jpg, as image services and file names write it, is jpeg: the same rendition and ETag
  const jpg = await send(t, anon, { url: `/v1/photos/${photo.id}/file?width=640&format=jpg` })
  t.equal(jpg.statusCode, 200, jpg.statusCode === 200 ? 'format=jpg' : jpg.body)
  t.equal(jpg.headers['content-type'], 'image/jpeg')
  t.ok(etags.has(jpg.headers.etag as string), 'the jpeg rendition\'s ETag')

  // without format: the original's format (PNG here); a GIF's renditions are PNG
  const same = await send(t, anon, { url: `/v1/photos/${photo.id}/file?width=320` })
  t.equal(same.statusCode, 200)
  t.equal(same.headers['content-type'], 'image/png')
  t.equal((await sharp(same.rawPayload).metadata()).width, 320)
  const gif = await upload(app, {}, await image('gif', 400, 200, 3))
  const fromGif = await send(t, anon, { url: `/v1/photos/${gif.id}/file?width=160` })
  t.equal(fromGif.statusCode, 200, fromGif.body.slice(0, 200))
  t.equal(fromGif.headers['content-type'], 'image/png', 'a GIF renders as PNG by default')
  t.match(await sharp(fromGif.rawPayload).metadata(), { format: 'png', width: 160, height: 80 })
  for (const [src, expected] of [['jpeg', 'image/jpeg'], ['webp', 'image/webp'], ['avif', 'image/avif']] as const) {
    const p = await upload(app, {}, await image(src, 400, 200, 4))
    const r = await send(t, anon, { url: `/v1/photos/${p.id}/file?width=160` })
    t.equal(r.statusCode, 200)
    t.equal(r.headers['content-type'], expected, `a ${src} original renders as ${src} by default`)
    t.match(await sharp(r.rawPayload).metadata(), { format: SHARP_FORMAT[src], width: 160, height: 80 })
  }
})

t.test('widths snap to the configured set and are never upscaled', async (t) => {
  const { app, anon, dataDir } = await build(t)
  const photo = await upload(app, {}, await image('jpeg', 2000, 1000, 5))
  const size = async (query: string) => {
    const res = await send(t, anon, { url: `/v1/photos/${photo.id}/file?${query}` })
    t.equal(res.statusCode, 200, `${query}: ${res.statusCode === 200 ? '' : res.body}`)
    const meta = await sharp(res.rawPayload).metadata()
    return [meta.width, meta.height]
  }
  t.same(await size('width=700'), [800, 400], 'width=700 snaps up to 800')
  t.same(await size('width=640'), [640, 320], 'a configured width is kept')
  t.same(await size('width=641'), [800, 400], 'one over a configured width snaps to the next')
  t.same(await size('width=1'), [160, 80], 'the smallest configured width at least')
  t.same(await size('width=1921'), [2000, 1000], 'between 1920 and 2560: capped at the image width, not upscaled')
  t.same(await size('width=5000'), [2000, 1000], 'width=5000: the image width, never upscaled')
  t.same(await size('format=webp'), [2000, 1000], 'no width: the full width')

  // many different requested widths make only a handful of files
  const requested = new Set<number>()
  for (let w = 1; w <= 6000; w += 53) requested.add(w)
  for (const w of [159, 160, 161, 319, 320, 321, 999, 1000, 1001, 1999, 2000, 2001, 2559, 2560, 2561, 9999, 10000]) requested.add(w)
  for (const w of requested) {
    const res = await send(t, anon, { url: `/v1/photos/${photo.id}/file?width=${w}` })
    if (res.statusCode !== 200) t.fail(`width=${w} answered ${res.statusCode}: ${res.body}`)
  }
  const files = renditionFiles(dataDir, photo.sha256).filter((f) => f.endsWith('.jpg'))
  t.ok(files.length <= DEFAULT_WIDTHS.length, `${requested.size} requested widths make at most ${DEFAULT_WIDTHS.length} files (got ${files.length})`)
  t.same(files.map((f) => Number(f.split('x')[0])).sort((a, b) => a - b), [160, 320, 480, 640, 800, 1024, 1280, 1600, 1920, 2000],
    'exactly the configured widths below the image width, and the image width')

  // an image wider than the largest configured width stops at that width
  const wide = await upload(app, {}, await image('png', 3000, 30, 6))
  const res = await send(t, anon, { url: `/v1/photos/${wide.id}/file?width=5000` })
  t.equal(res.statusCode, 200)
  t.match(await sharp(res.rawPayload).metadata(), { width: 2560, height: 26 }, 'never more than the largest configured width')
  const noWidth = await send(t, anon, { url: `/v1/photos/${wide.id}/file?format=png` })
  t.equal((await sharp(noWidth.rawPayload).metadata()).width, 2560, 'without width, the largest configured width')

  // a small image is never upscaled
  const small = await upload(app, {}, await image('png', 100, 50, 7))
  const up = await send(t, anon, { url: `/v1/photos/${small.id}/file?width=640` })
  t.equal(up.statusCode, 200)
  t.match(await sharp(up.rawPayload).metadata(), { width: 100, height: 50 }, 'a 100px image asked at 640 stays 100px')
})

t.test('RENDITION_WIDTHS is configurable', async (t) => {
  const { app, anon, dataDir } = await build(t, { RENDITION_WIDTHS: '200,100' })
  const photo = await upload(app, {}, await image('png', 500, 250, 8))
  const cases: [string, number][] = [['width=50', 100], ['width=100', 100], ['width=101', 200], ['width=150', 200], ['width=1000', 200], ['format=webp', 200]]
  for (const [query, width] of cases) {
    const res = await send(t, anon, { url: `/v1/photos/${photo.id}/file?${query}` })
    t.equal(res.statusCode, 200)
    t.match(await sharp(res.rawPayload).metadata(), { width, height: width / 2 }, `${query} → ${width}`)
  }
  for (let w = 1; w <= 3000; w += 97) await send(t, anon, { url: `/v1/photos/${photo.id}/file?width=${w}` })
  const widths = new Set(renditionFiles(dataDir, photo.sha256).map((f) => f.split('x')[0]))
  t.same([...widths].sort(), ['100', '200'], 'only the two configured widths are ever stored')
})

t.test('rendition caching: ETag, 304, versioned immutable URLs, new ETag after a replace', async (t) => {
  const { app, anon, dataDir } = await build(t)
  const photo = await upload(app, {}, await image('jpeg', 1000, 500, 9))
  const v = new URL(photo.url, 'http://x').searchParams.get('v')!
  t.match(v, /^[0-9a-f]{16}$/)
  const base = `/v1/photos/${photo.id}/file`

  const res = await send(t, anon, { url: `${base}?width=640&v=${v}` })
  t.equal(res.statusCode, 200)
  const etag = res.headers.etag as string
  t.match(etag, /^"[^"]+"$/)
  t.match(res.headers['cache-control'], /immutable/, 'a versioned rendition is immutable')
  t.ok(Number(/max-age=(\d+)/.exec(String(res.headers['cache-control']))?.[1]) >= 31536000, 'and cached for a year')
  t.ok(Date.parse(String(res.headers['last-modified'])) > 0, 'Last-Modified')

  const plain = await send(t, anon, { url: `${base}?width=640` })
  t.equal(plain.statusCode, 200)
  t.equal(plain.headers.etag, etag, 'the same rendition has the same ETag with or without v')
  t.ok(plain.rawPayload.equals(res.rawPayload), 'and the same bytes')
  const cc = String(plain.headers['cache-control'])
  t.notMatch(cc, /immutable/, 'without v, not immutable')
  const maxAge = Number(/max-age=(\d+)/.exec(cc)?.[1])
  t.ok(maxAge > 0 && maxAge <= 3600, `without v, a short max-age (${cc})`)
  const wrongV = await send(t, anon, { url: `${base}?width=640&v=0000000000000000` })
  t.notMatch(String(wrongV.headers['cache-control']), /immutable/, 'a v that is not the current file is not immutable')
  const shortV = await send(t, anon, { url: `${base}?width=640&v=${v.slice(0, 8)}` })
  t.notMatch(String(shortV.headers['cache-control']), /immutable/, 'a prefix of v is not immutable')

  // moving the focal point moves every crop: the version changes, so no cache keeps the old crop under an immutable URL
  const crop = await send(t, anon, { url: `${base}?aspect=1:1&width=320&v=${v}` })
  t.match(crop.headers['cache-control'], /immutable/)
  const moved = await send(t, app.inject.bind(app), { method: 'PATCH', url: `/v1/photos/${photo.id}`, payload: { focalPoint: { x: 0.9, y: 0.5 } } })
  const v2 = new URL(moved.json().url, 'http://x').searchParams.get('v')!
  t.not(v2, v, 'a new version with the focal point')
  t.notMatch(String((await send(t, anon, { url: `${base}?aspect=1:1&width=320&v=${v}` })).headers['cache-control']), /immutable/, 'the old one is no longer immutable')
  const recropped = await send(t, anon, { url: `${base}?aspect=1:1&width=320&v=${v2}` })
  t.match(recropped.headers['cache-control'], /immutable/)
  t.not(recropped.headers.etag, crop.headers.etag, 'and shows the new crop')
  const captioned = await send(t, app.inject.bind(app), { method: 'PATCH', url: `/v1/photos/${photo.id}`, payload: { caption: 'New caption' } })
  t.equal(new URL(captioned.json().url, 'http://x').searchParams.get('v'), v2, 'a caption does not change the pixels, nor the version')
  await send(t, app.inject.bind(app), { method: 'PATCH', url: `/v1/photos/${photo.id}`, payload: { focalPoint: null } })

  const notModified = await send(t, anon, { url: `${base}?width=640&v=${v}`, headers: { 'if-none-match': etag } })
  t.equal(notModified.statusCode, 304, 'If-None-Match answers 304')
  t.equal(notModified.rawPayload.length, 0, 'with no body')
  t.equal(notModified.headers.etag, etag)
  t.equal((await send(t, anon, { url: `${base}?width=640`, headers: { 'if-none-match': `W/${etag}` } })).statusCode, 304, 'weak comparison')
  const otherSize = await send(t, anon, { url: `${base}?width=320`, headers: { 'if-none-match': etag } })
  t.equal(otherSize.statusCode, 200, 'another rendition does not match that ETag')
  t.not(otherSize.headers.etag, etag)
  const original = await send(t, anon, { url: base, headers: { 'if-none-match': etag } })
  t.equal(original.statusCode, 200, 'nor does the original')

  // replacing the file keeps the id but changes the rendition, its ETag and its version
  const put = await send(t, app.inject.bind(app), { method: 'PUT', url: `${base}`, headers: { 'content-type': 'image/png' }, payload: await image('png', 800, 800, 10) })
  t.equal(put.statusCode, 200, put.body)
  const replaced = put.json()
  t.equal(replaced.id, photo.id)
  const after = await send(t, anon, { url: `${base}?width=640`, headers: { 'if-none-match': etag } })
  t.equal(after.statusCode, 200, 'the old ETag no longer matches')
  t.not(after.headers.etag, etag, 'a new ETag')
  t.match(await sharp(after.rawPayload).metadata(), { format: 'png', width: 640, height: 640 }, 'the new image is rendered')
  const stale = await send(t, anon, { url: `${base}?width=640&v=${v}` })
  t.notMatch(String(stale.headers['cache-control']), /immutable/, 'the old version is no longer immutable')
  t.same(renditionFiles(dataDir, photo.sha256), [], 'the old renditions went with the old bytes')
  t.equal(renditionFiles(dataDir, replaced.sha256).length, 1)
})

t.test('a rendition is made once and then served from storage', async (t) => {
  const { app, anon, dataDir } = await build(t)
  const photo = await upload(app, {}, await image('jpeg', 1200, 600, 11))
  const counts = spyStorage(app)
  const url = `/v1/photos/${photo.id}/file?width=320&format=webp`

  const first = await send(t, anon, { url })
  t.equal(first.statusCode, 200)
  t.equal(counts.renditionPuts, 1, 'the first request stores the rendition')
  t.equal(counts.originalGets, 1, 'and reads the original once')
  const [file] = renditionFiles(dataDir, photo.sha256)
  t.ok(file, 'stored under r/<sha256>/')
  const stored = path.join(renditionDir(dataDir, photo.sha256), file!)
  t.ok(fs.readFileSync(stored).equals(first.rawPayload), 'the stored file is what was served')
  const mtime = fs.statSync(stored).mtimeMs

  // take the original away: only a stored rendition can still be served
  const orig = originalFile(dataDir, photo.sha256)
  t.ok(orig, 'the original is on disk')
  fs.rmSync(orig)
  const second = await send(t, anon, { url })
  t.equal(second.statusCode, 200, `the same rendition is served without the original: ${second.statusCode === 200 ? '' : second.body}`)
  t.ok(second.rawPayload.equals(first.rawPayload), 'identical bytes')
  t.equal(second.headers.etag, first.headers.etag)
  t.equal(counts.renditionPuts, 1, 'nothing rendered again')
  t.equal(counts.originalGets, 1, 'the original was not read again')
  t.equal(fs.statSync(stored).mtimeMs, mtime, 'the stored file was not rewritten')
  const fresh = await send(t, anon, { url: `/v1/photos/${photo.id}/file?width=640&format=webp` })
  problem(t, fresh, 404, 'a new rendition needs the original')
  t.equal(renditionFiles(dataDir, photo.sha256).length, 1, 'a failed render stores nothing')
})

t.test('concurrent first requests for one rendition render it once', async (t) => {
  const { app, anon, dataDir } = await build(t)
  const photo = await upload(app, {}, await image('jpeg', 1600, 900, 12))
  const counts = spyStorage(app)
  const url = `/v1/photos/${photo.id}/file?width=1024&format=avif`
  const responses = await Promise.all(Array.from({ length: 6 }, () => send(t, anon, { url })))
  for (const res of responses) {
    t.equal(res.statusCode, 200)
    t.equal(res.headers['content-type'], 'image/avif')
    t.ok(res.rawPayload.equals(responses[0]!.rawPayload), 'identical bytes')
    t.equal(res.headers.etag, responses[0]!.headers.etag)
  }
  t.match(await sharp(responses[0]!.rawPayload).metadata(), { width: 1024, height: 576 })
  t.same(renditionFiles(dataDir, photo.sha256).length, 1, 'one stored file')
  t.equal(counts.renditionPuts, 1, 'stored once')
  t.equal(counts.originalGets, 1, 'the original was read (and decoded) once')
  t.same(tmpFiles(dataDir), [], 'no temporary file left')
})

t.test('renditions wait their turn: clients in turn, a bounded number each, the original read only once its turn comes', async (t) => {
  const { app, anon, dataDir } = await build(t)
  const photo = await upload(app, {}, await image('jpeg', 1200, 800, 31))
  const held = holdFirstOriginalRead(app)
  const urls = [160, 320, 480].flatMap((width) => ['1:1', '5:4', '4:3', '16:9', '2:1', '21:9', '4:5', '3:4', '2:3', '9:16'].flatMap((aspect) =>
    ['jpeg', 'png', 'webp', 'avif'].map((format) => `/v1/photos/${photo.id}/file?width=${width}&aspect=${aspect}&format=${format}`)))
  const made: string[] = []
  const ask = (url: string, from: string) => send(t, anon, { url, remoteAddress: from }).then((res) => {
    if (res.statusCode === 200) made.push(from)
    return res
  })
  const first = ask(urls[0]!, '192.0.2.1')
  await held.atFirst
  // one reader asks for 39 more: 32 wait (RENDER_WAITING), 7 are refused at once
  const many = urls.slice(1, 40).map((url) => ask(url, '192.0.2.1'))
  const refusedAll = new Promise<LightMyRequestResponse[]>((resolve) => {
    const refused: LightMyRequestResponse[] = []
    for (const p of many) {
      p.then((res) => { if (res.statusCode === 429 && refused.push(res) === 7) resolve(refused) })
    }
  })
  const refused = await refusedAll
  for (const res of refused) {
    problem(t, res, 429, 'a reader with 32 renditions waiting')
    t.equal(res.headers['retry-after'], '2')
    t.equal(res.headers['cache-control'], 'no-store', 'a refusal is not cached')
  }
  t.equal(held.reads, 1, 'the renditions waiting hold nothing: none has read its original yet')
  // another reader is not refused, and is served after one of the first reader's, not after all of them
  const other = ask(urls[41]!, '192.0.2.2')
  held.release()
  const answers = await Promise.all([first, ...many, other])
  t.equal(answers.filter((res) => res.statusCode === 200).length, 34, 'every rendition let in is made')
  t.equal(answers.filter((res) => res.statusCode === 429).length, 7)
  t.equal(made.indexOf('192.0.2.2'), 2, `the other reader's rendition was the third made, after the first reader's running one and one more (${made.length} made)`)
  t.equal(renditionFiles(dataDir, photo.sha256).length, 34, 'and stored')
  t.equal((await send(t, anon, { url: urls[45]!, remoteAddress: '192.0.2.1' })).statusCode, 200, 'once its renditions are made, the first reader is served again')
})

t.test('a rendition waiting its turn is given up when every client asking for it has gone away', async (t) => {
  const { app, anon, dataDir, keys } = await build(t)
  const photo = await upload(app, {}, await image('jpeg', 1200, 800, 34))
  const held = holdFirstOriginalRead(app)
  const counts = spyStorage(app)
  const urls = [160, 320, 480, 640].flatMap((width) => ['1:1', '5:4', '4:3', '16:9', '2:1', '21:9', '4:5', '3:4', '2:3', '9:16'].map((aspect) =>
    `/v1/photos/${photo.id}/file?width=${width}&aspect=${aspect}&format=webp`))
  const first = send(t, anon, { url: `/v1/photos/${photo.id}/file?width=800`, remoteAddress: '192.0.2.9' })
  await held.atFirst
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as import('node:net').AddressInfo
  const until = async (what: string, done: () => boolean | Promise<boolean>) => {
    let ok = await done()
    for (let i = 0; i < 500 && !ok; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10))
      ok = await done()
    }
    t.ok(ok, what)
  }
  // a reader over real connections asks for as many renditions as may wait (32), then closes them all; an editor
  // asks for the first of them too (with a key, past the cache that would have it wait for the reader's answer), and stays
  const gone = urls.slice(0, 32).map((url) => http.get({ host: '127.0.0.1', port, path: url }).on('error', () => {}))
  await until('the 32 renditions are waiting', () => counts.renditionGets === 1 + 32)
  const staying = new Promise<{ status: number, body: Buffer }>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: urls[0], headers: { authorization: `Bearer ${keys.editor}` } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk)).on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }))
    }).on('error', reject)
  })
  await until('so is the one asked for twice', () => counts.renditionGets === 1 + 33)
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal((await send(t, anon, { url: urls[32]!, remoteAddress: '127.0.0.1' })).statusCode, 429, 'the reader has 32 renditions waiting')
  for (const req of gone) req.destroy()
  // once the server has seen the connections close, the reader's place in line is free again
  let probe: Promise<LightMyRequestResponse> | undefined
  await until('the reader may ask again without waiting for renditions nobody reads', async () => {
    const res = send(t, anon, { url: urls[33]!, remoteAddress: '127.0.0.1' })
    const early = await Promise.race([res, new Promise((resolve) => setTimeout(resolve, 20))])
    if ((early as LightMyRequestResponse | undefined)?.statusCode === 429) return false
    probe = res
    return true
  })
  held.release()
  t.equal((await first).statusCode, 200)
  const kept = await staying
  t.equal(kept.status, 200, 'the rendition a connection still waited for is made')
  t.match(await sharp(kept.body).metadata(), { width: 160, height: 160, format: 'webp' })
  t.equal((await probe!).statusCode, 200, 'and so is the one asked for afterwards')
  t.equal(renditionFiles(dataDir, photo.sha256).length, 3, 'the 31 given up were neither made nor stored')
  t.equal(held.reads, 3, 'nor was the original read for them')
})

t.test('a render under way whose client goes away is finished once, and shared with whoever asks for it next', async (t) => {
  const { app, anon, dataDir } = await build(t)
  const photo = await upload(app, {}, await image('jpeg', 1200, 800, 35))
  const held = holdFirstOriginalRead(app)
  const counts = spyStorage(app)
  const url = `/v1/photos/${photo.id}/file?width=320&format=webp`
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as import('node:net').AddressInfo
  const gone = http.get({ host: '127.0.0.1', port, path: url }).on('error', () => {})
  await held.atFirst
  gone.destroy()
  await new Promise((resolve) => setTimeout(resolve, 100))
  // a second reader asks while it renders (the response cache let go of the first request when it was aborted)
  const next = send(t, anon, { url, remoteAddress: '192.0.2.7' })
  await new Promise((resolve) => setTimeout(resolve, 100))
  held.release()
  const res = await next
  t.equal(res.statusCode, 200)
  t.match(await sharp(res.rawPayload).metadata(), { width: 320, format: 'webp' })
  t.equal(held.reads, 1, 'the original was read once: one render')
  t.equal(counts.renditionPuts, 1, 'and stored once')
  t.equal(renditionFiles(dataDir, photo.sha256).length, 1)
})

t.test('renditions waiting their turn while the photo\'s file is replaced are made from the new file, not refused', async (t) => {
  const { app, anon, dataDir } = await build(t)
  const photo = await upload(app, {}, await image('jpeg', 1200, 800, 32))
  // the first rendition holds the decoder until released; the ones after it read the old original only once the
  // replacement has answered (its image is checked in its own turn, between the first rendition and theirs)
  let replaced!: () => void
  const held = holdFirstOriginalRead(app, new Promise<void>((resolve) => { replaced = resolve }))
  const first = send(t, anon, { url: `/v1/photos/${photo.id}/file?width=160&format=webp` })
  await held.atFirst
  const replacing = send(t, app.inject.bind(app), { method: 'PUT', url: `/v1/photos/${photo.id}/file`, headers: { 'content-type': 'image/png' }, payload: await image('png', 400, 600, 33) })
    .then((res) => { replaced(); return res })
  await new Promise((resolve) => setTimeout(resolve, 200))
  const waiting = ['jpeg', 'png', 'webp', 'avif'].map((format) => send(t, anon, { url: `/v1/photos/${photo.id}/file?width=320&format=${format}` }))
  await new Promise((resolve) => setTimeout(resolve, 200))
  held.release()
  t.equal((await replacing).statusCode, 200)
  t.equal((await first).statusCode, 200, 'the rendition under way when the file was replaced is made from the file it read')
  for (const res of await Promise.all(waiting)) {
    t.equal(res.statusCode, 200, `a rendition waiting its turn is made (${res.statusCode === 200 ? '' : res.body})`)
    t.match(await sharp(res.rawPayload).metadata(), { width: 320, height: 480 }, 'from the new file')
  }
  t.ok(held.reads > 1, 'the old original was looked for after the replacement')
  t.same(renditionFiles(dataDir, photo.sha256), [], 'nothing stored for the old file')
})

t.test('crops: aspect and width+height give the right shape', async (t) => {
  const { app, anon, dataDir } = await build(t)
  const photo = await upload(app, {}, await image('jpeg', 1200, 800, 13))
  const cases: [string, number, number][] = [
    ['aspect=16:9&width=640', 640, 360],
    ['aspect=16:9', 1200, 675],
    ['aspect=1:1', 800, 800],
    ['aspect=1:1&width=300', 320, 320],
    ['width=300&height=300', 320, 320],
    ['width=640&height=480', 640, 480],
    ['width=800&height=200', 800, 343], // 4:1 snaps to 21:9, the nearest of RENDITION_ASPECTS
    ['aspect=9:16&width=5000', 450, 800],
    ['aspect=3:2', 1200, 800],
    ['aspect=1:10', 450, 800], // to 9:16
    ['aspect=10:1&width=160', 160, 69] // to 21:9
  ]
  for (const [query, width, height] of cases) {
    const res = await send(t, anon, { url: `/v1/photos/${photo.id}/file?${query}` })
    t.equal(res.statusCode, 200, `${query}: ${res.statusCode === 200 ? '' : res.body}`)
    t.match(await sharp(res.rawPayload).metadata(), { width, height }, `${query} → ${width}×${height}`)
  }
  const a = await send(t, anon, { url: `/v1/photos/${photo.id}/file?aspect=16:9&width=640` })
  const b = await send(t, anon, { url: `/v1/photos/${photo.id}/file?width=640` })
  t.not(a.headers.etag, b.headers.etag, 'a crop is a rendition of its own')
  t.ok(renditionFiles(dataDir, photo.sha256).length <= cases.length, 'crops are stored too, and reused')
  // whatever shape is asked for, a crop is one of the configured aspects: a client cannot make a rendition per ratio
  for (const [asked, snapped] of [['aspect=17:10', 'aspect=16:9'], ['aspect=7:3', 'aspect=21:9'], ['height=350', 'aspect=16:9'], ['aspect=99:100', 'aspect=1:1']]) {
    const one = await send(t, anon, { url: `/v1/photos/${photo.id}/file?${asked}&width=640` })
    const other = await send(t, anon, { url: `/v1/photos/${photo.id}/file?${snapped}&width=640` })
    t.equal(one.statusCode, 200)
    t.equal(one.headers.etag, other.headers.etag, `${asked} is ${snapped}`)
  }
})

t.test('crops are centred on the focal point', async (t) => {
  // narrow and flat shapes, configured (RENDITION_ASPECTS): crops small enough to fall within one colour
  const { app, anon } = await build(t, { RENDITION_ASPECTS: '1:1,1:4,4:1' })
  const inject = app.inject.bind(app)
  const focus = async (id: string, focalPoint: { x: number, y: number } | null) => {
    const res = await send(t, inject, { method: 'PATCH', url: `/v1/photos/${id}`, payload: { focalPoint } })
    t.equal(res.statusCode, 200, res.body)
  }

  // left half red, right half blue; narrow crops
  const wide = await upload(app, {}, await halves(400, 200, '#ff0000', '#0000ff').png().toBuffer())
  const narrow = async () => {
    const res = await send(t, anon, { url: `/v1/photos/${wide.id}/file?aspect=1:4` })
    t.equal(res.statusCode, 200, res.body.slice(0, 200))
    t.match(await sharp(res.rawPayload).metadata(), { width: 50, height: 200 })
    return res
  }
  const centred = await narrow()
  t.ok(close(await rgbAt(centred.rawPayload, 2, 100), RED), 'no focal point: the centre (left edge red)')
  t.ok(close(await rgbAt(centred.rawPayload, 47, 100), BLUE), 'no focal point: the centre (right edge blue)')

  await focus(wide.id, { x: 0.1, y: 0.5 })
  const left = await narrow()
  const leftMean = await meanColour(left.rawPayload)
  t.ok(close(leftMean, RED, 30), `focalX=0.1: a red crop (mean ${leftMean.map(Math.round)})`)
  t.not(left.headers.etag, centred.headers.etag, 'a new focal point is a new rendition')

  await focus(wide.id, { x: 0.9, y: 0.5 })
  const right = await narrow()
  const rightMean = await meanColour(right.rawPayload)
  t.ok(close(rightMean, BLUE, 30), `focalX=0.9: a blue crop (mean ${rightMean.map(Math.round)})`)

  await focus(wide.id, { x: 0, y: 0 })
  const edge = await narrow()
  t.ok(close(await meanColour(edge.rawPayload), RED, 30), 'focalX=0: the crop stops at the left edge')
  await focus(wide.id, { x: 1, y: 1 })
  const otherEdge = await narrow()
  t.ok(close(await meanColour(otherEdge.rawPayload), BLUE, 30), 'focalX=1: the crop stops at the right edge')

  // top half red, bottom half blue; flat crops
  const tall = await upload(app, {}, await stacked(200, 400, '#ff0000', '#0000ff').png().toBuffer())
  const flat = async () => {
    const res = await send(t, anon, { url: `/v1/photos/${tall.id}/file?width=160&height=40` })
    t.equal(res.statusCode, 200, res.body.slice(0, 200))
    t.match(await sharp(res.rawPayload).metadata(), { width: 160, height: 40 })
    return meanColour(res.rawPayload)
  }
  await focus(tall.id, { x: 0.5, y: 0.1 })
  t.ok(close(await flat(), RED, 30), 'focalY=0.1: a red crop')
  await focus(tall.id, { x: 0.5, y: 0.9 })
  t.ok(close(await flat(), BLUE, 30), 'focalY=0.9: a blue crop')

  // the focal point given at upload counts too
  const atUpload = await upload(app, { focalX: '0.9', focalY: '0.5' }, await halves(400, 200, '#00ff00', '#ffff00').png().toBuffer())
  const res = await send(t, anon, { url: `/v1/photos/${atUpload.id}/file?aspect=1:4&format=png` })
  t.ok(close(await meanColour(res.rawPayload), YELLOW, 30), 'focal point from the upload fields')
})

t.test('EXIF orientation is applied and metadata never leaves the server in renditions', async (t) => {
  const { app, anon } = await build(t)
  // stored 200×100 with orientation 6 (rotate 90° clockwise to display): displayed 100×200
  const data = await quadrants(200, 100).jpeg({ quality: 95 }).withMetadata({
    orientation: 6,
    exif: {
      IFD0: { Make: 'Nikon', Model: 'Z9', Copyright: 'SecretCopyright' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '52/1 31/1 0/1', GPSLongitudeRef: 'E', GPSLongitude: '13/1 24/1 0/1' }
    }
  }).toBuffer()
  const meta = await sharp(data).metadata()
  t.match(meta, { width: 200, height: 100, orientation: 6 }, 'the test image is stored sideways')
  t.ok(data.includes('Nikon') && data.includes('Z9'), 'the test image carries camera metadata')
  t.ok(meta.exif!.includes('N\0') && meta.exif!.includes('E\0'), 'and GPS references')

  const photo = await upload(app, { caption: 'rotated' }, data)
  t.equal(photo.width, 100, 'the record reports the displayed width')
  t.equal(photo.height, 200, 'and the displayed height')
  const original = await send(t, anon, { url: photo.url })
  // the original keeps its length, camera and orientation; its GPS position is taken out (see photos.test.ts)
  const kept = await sharp(original.rawPayload).metadata()
  t.equal(original.rawPayload.length, data.length, 'the original keeps its length')
  t.ok(original.rawPayload.includes('Nikon') && original.rawPayload.includes('SecretCopyright'), 'and its camera and copyright')
  t.equal(kept.orientation, 6, 'and its orientation')
  t.notOk(kept.exif!.includes('N\0') || kept.exif!.includes('E\0'), 'not its GPS references')

  for (const format of ['png', 'jpeg', 'webp', 'avif'] as const) {
    const res = await send(t, anon, { url: `/v1/photos/${photo.id}/file?width=640&format=${format}` })
    t.equal(res.statusCode, 200, `${format}: ${res.statusCode === 200 ? '' : res.body}`)
    const out = await sharp(res.rawPayload).metadata()
    t.match(out, { width: 100, height: 200 }, `${format}: upright, not upscaled`)
    t.ok(out.orientation === undefined || out.orientation === 1, `${format}: no orientation left to apply (${out.orientation})`)
    t.equal(out.exif, undefined, `${format}: no EXIF`)
    t.equal(out.xmp, undefined, `${format}: no XMP`)
    for (const secret of ['Nikon', 'Z9', 'SecretCopyright', 'Exif\0']) {
      t.notOk(res.rawPayload.includes(secret), `${format}: the bytes do not contain ${JSON.stringify(secret)}`)
    }
    // displayed: blue top-left, red top-right, yellow bottom-left, green bottom-right
    t.ok(close(await rgbAt(res.rawPayload, 25, 50), BLUE), `${format}: top-left is blue`)
    t.ok(close(await rgbAt(res.rawPayload, 75, 50), RED), `${format}: top-right is red`)
    t.ok(close(await rgbAt(res.rawPayload, 25, 150), YELLOW), `${format}: bottom-left is yellow`)
    t.ok(close(await rgbAt(res.rawPayload, 75, 150), GREEN), `${format}: bottom-right is green`)
  }

  // crops of a rotated photo are taken from the upright image, around the (upright) focal point
  const patch = await send(t, app.inject.bind(app), { method: 'PATCH', url: `/v1/photos/${photo.id}`, payload: { focalPoint: { x: 0.5, y: 0.9 } } })
  t.equal(patch.statusCode, 200)
  const bottom = await send(t, anon, { url: `/v1/photos/${photo.id}/file?aspect=1:1&format=png` })
  t.equal(bottom.statusCode, 200, bottom.body.slice(0, 200))
  t.match(await sharp(bottom.rawPayload).metadata(), { width: 100, height: 100 }, 'a square of the upright image')
  t.ok(close(await rgbAt(bottom.rawPayload, 25, 50), YELLOW), 'focalY=0.9: the bottom half (yellow left)')
  t.ok(close(await rgbAt(bottom.rawPayload, 75, 50), GREEN), 'focalY=0.9: the bottom half (green right)')
  await send(t, app.inject.bind(app), { method: 'PATCH', url: `/v1/photos/${photo.id}`, payload: { focalPoint: { x: 0.5, y: 0.1 } } })
  const top = await send(t, anon, { url: `/v1/photos/${photo.id}/file?aspect=1:1&format=png` })
  t.ok(close(await rgbAt(top.rawPayload, 25, 50), BLUE), 'focalY=0.1: the top half (blue left)')
  t.ok(close(await rgbAt(top.rawPayload, 75, 50), RED), 'focalY=0.1: the top half (red right)')

  // the placeholder is of the upright image too
  const hash = thumbHashToRGBA(Buffer.from(photo.placeholder, 'base64'))
  t.ok(hash.h > hash.w, `the placeholder is portrait (${hash.w}×${hash.h})`)
})

t.test('decompression bombs are refused quickly, nothing stored', async (t) => {
  const png = await solid(16, 16, '#336699').png().toBuffer()
  const pngBomb = patchPngSize(png, 60000, 60000)
  t.same((await sharp(pngBomb, { limitInputPixels: false }).metadata()).width, 60000, 'the bomb declares 60000×60000')
  const jpegBomb = patchJpegSize(await solid(16, 16, '#336699').jpeg().toBuffer(), 60000, 60000)
  t.same((await sharp(jpegBomb, { limitInputPixels: false }).metadata()).height, 60000, 'the JPEG bomb declares 60000×60000')

  for (const [name, bomb] of [['PNG', pngBomb], ['JPEG', jpegBomb]] as const) {
    t.test(`${name}, multipart`, async (t) => {
      const { app, dataDir } = await build(t)
      const started = performance.now()
      const res = await send(t, app.inject.bind(app), { method: 'POST', url: '/v1/photos', ...multipart({ caption: 'bomb' }, { filename: 'bomb.png', data: bomb }) })
      const elapsed = performance.now() - started
      const body = problem(t, res, 400, `${name} bomb`)
      t.match(body.detail, /limit|IMAGE_MAX_PIXELS/i, `the message names the pixel limit: ${body.detail}`)
      t.ok(elapsed < 1000, `refused in ${Math.round(elapsed)} ms`)
      await nothingStored(t, app, dataDir, `${name} bomb`)
    })
    t.test(`${name}, raw body and replacing a file`, async (t) => {
      const { app, dataDir } = await build(t)
      const started = performance.now()
      const res = await uploadRaw(t, app, bomb)
      t.ok(performance.now() - started < 1000, 'refused quickly')
      problem(t, res, 400, `${name} bomb raw`)
      await nothingStored(t, app, dataDir, `${name} bomb raw`)
      const photo = await upload(app, {}, await image('png', 20, 20, 14))
      const put = await send(t, app.inject.bind(app), { method: 'PUT', url: `/v1/photos/${photo.id}/file`, headers: { 'content-type': 'image/png' }, payload: bomb })
      problem(t, put, 400, 'PUT bomb')
      t.equal((await send(t, app.inject.bind(app), { url: `/v1/photos/${photo.id}` })).json().sha256, photo.sha256, 'the photo is unchanged')
      t.equal(storedFiles(dataDir).length, 1)
    })
  }
})

t.test('IMAGE_MAX_PIXELS is configurable', async (t) => {
  const { app, dataDir } = await build(t, { IMAGE_MAX_PIXELS: '1000000' })
  const over = await uploadRaw(t, app, await solid(1200, 1000, '#808080').png().toBuffer())
  const body = problem(t, over, 400, '1200×1000 over a 1000000 limit')
  t.match(body.detail, /1000000|1,000,000|IMAGE_MAX_PIXELS/, `the message names the limit: ${body.detail}`)
  await nothingStored(t, app, dataDir, 'over the limit')
  const at = await uploadRaw(t, app, await solid(1000, 1000, '#808080').png().toBuffer())
  t.equal(at.statusCode, 201, `1000×1000 is exactly the limit: ${at.body}`)
  t.match(at.json(), { width: 1000, height: 1000 })
  const tall = await uploadRaw(t, app, await solid(10, 100001, '#808080').png().toBuffer())
  problem(t, tall, 400, '10×100001 is over too')

  // the default limit accepts that image
  const { app: app2 } = await build(t)
  const ok = await uploadRaw(t, app2, await solid(1200, 1000, '#808080').png().toBuffer())
  t.equal(ok.statusCode, 201, 'the default limit is higher')
})

t.test('polyglots', async (t) => {
  const payload = '<html><body><script>alert("polyglot")</script></body></html>'

  t.test('a valid PNG with HTML appended is accepted, served as an image, and renditions drop the payload', async (t) => {
    const { app, anon } = await build(t)
    const png = await halves(200, 100, '#ff0000', '#0000ff').png().toBuffer()
    const data = Buffer.concat([png, Buffer.from(payload)])
    const res = await send(t, app.inject.bind(app), { method: 'POST', url: '/v1/photos', ...multipart({}, { filename: 'x.html', type: 'text/html', data }) })
    t.equal(res.statusCode, 201, res.body)
    const photo = res.json()
    t.match(photo, { mimeType: 'image/png', width: 200, height: 100 })
    const file = await send(t, anon, { url: photo.url })
    t.equal(file.statusCode, 200)
    t.equal(file.headers['content-type'], 'image/png', 'served as image/png')
    t.equal(file.headers['x-content-type-options'], 'nosniff', 'never sniffed')
    t.match(String(file.headers['content-security-policy']), /default-src 'none'/, 'nothing in it could run')
    t.notOk(file.headers['content-disposition']?.toString().includes('.html'), 'not offered as an HTML file')
    for (const format of ['png', 'webp', 'jpeg']) {
      const r = await send(t, anon, { url: `/v1/photos/${photo.id}/file?width=160&format=${format}` })
      t.equal(r.statusCode, 200)
      t.equal(r.headers['content-type'], `image/${format}`)
      t.notOk(r.rawPayload.includes('<script'), `${format} rendition: no payload`)
      t.notOk(r.rawPayload.includes('polyglot'), `${format} rendition: no payload text`)
    }
  })

  const refused: [string, () => Promise<Buffer>][] = [
    ['GIF89a followed by HTML', async () => Buffer.from(`GIF89a${payload}`)],
    ['a PNG signature followed by HTML', async () => Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from(payload)])],
    ['a JPEG marker followed by HTML', async () => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from(payload)])],
    ['a PNG cut inside its image data', async () => {
      const png = await sharp({ create: { width: 300, height: 300, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 60 } } }).png().toBuffer()
      return png.subarray(0, Math.floor(png.length * 0.7))
    }],
    ['a PNG cut right after its header (no image data)', async () => (await quadrants(300, 300).png().toBuffer()).subarray(0, 33)],
    ['a JPEG cut at 80%', async () => {
      const jpeg = await sharp({ create: { width: 300, height: 300, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 60 } } }).jpeg().toBuffer()
      return jpeg.subarray(0, Math.floor(jpeg.length * 0.8))
    }],
    ['a WebP cut in half', async () => {
      const webp = await sharp({ create: { width: 300, height: 300, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 60 } } }).webp().toBuffer()
      return webp.subarray(0, Math.floor(webp.length / 2))
    }]
  ]
  for (const [name, make] of refused) {
    t.test(`${name} is refused, nothing stored`, async (t) => {
      const { app, dataDir } = await build(t)
      const data = await make()
      for (const [how, res] of [
        ['multipart', await send(t, app.inject.bind(app), { method: 'POST', url: '/v1/photos', ...multipart({}, { filename: 'a.gif', data }) })],
        ['raw', await uploadRaw(t, app, data)]
      ] as const) {
        t.ok([400, 415].includes(res.statusCode), `${how}: 400 or 415, got ${res.statusCode}: ${res.body}`)
        const body = problem(t, res, res.statusCode, `${name} (${how})`)
        t.ok(body.detail.length > 10, `a message: ${body.detail}`)
      }
      await nothingStored(t, app, dataDir, name)
    })
  }
})

t.test('placeholder and dominant colour', async (t) => {
  const { app, anon } = await build(t)
  const red = await upload(app, {}, await solid(120, 80, '#ff0000').png().toBuffer())
  t.match(red.dominantColor, /^#[0-9a-f]{6}$/, 'dominantColor is #rrggbb')
  t.ok(close(hexToRgb(red.dominantColor), RED, 10), `a pure red image is #ff0000 or very close (${red.dominantColor})`)
  t.match(red.placeholder, /^[A-Za-z0-9+/]+=*$/, 'placeholder is base64')
  const hash = thumbHashToRGBA(Buffer.from(red.placeholder, 'base64'))
  t.ok(hash.w > hash.h, `a landscape placeholder (${hash.w}×${hash.h})`)
  t.equal(hash.rgba.length, hash.w * hash.h * 4)
  const avg = [0, 1, 2].map((c) => {
    let sum = 0
    for (let i = c; i < hash.rgba.length; i += 4) sum += hash.rgba[i]!
    return sum / (hash.w * hash.h)
  }) as RGB
  t.ok(close(avg, RED, 40), `the placeholder decodes to red (${avg.map(Math.round)})`)

  const green = await upload(app, {}, await solid(50, 50, '#00ff00').jpeg().toBuffer())
  t.ok(close(hexToRgb(green.dominantColor), GREEN, 12), `green JPEG: ${green.dominantColor}`)
  t.not(green.placeholder, red.placeholder, 'each image its own placeholder')

  // a two-colour image: the placeholder keeps the layout
  const split = await upload(app, {}, await halves(200, 100, '#ff0000', '#0000ff').webp({ lossless: true }).toBuffer())
  const sh = thumbHashToRGBA(Buffer.from(split.placeholder, 'base64'))
  const px = (x: number, y: number): RGB => {
    const i = (y * sh.w + x) * 4
    return [sh.rgba[i]!, sh.rgba[i + 1]!, sh.rgba[i + 2]!]
  }
  const l = px(1, Math.floor(sh.h / 2))
  const r = px(sh.w - 2, Math.floor(sh.h / 2))
  t.ok(l[0] > l[2] + 60, `the placeholder's left is red (${l})`)
  t.ok(r[2] > r[0] + 60, `the placeholder's right is blue (${r})`)
  t.ok(['#ff0000', '#0000ff'].some((c) => close(hexToRgb(split.dominantColor), hexToRgb(c), 12)), `dominant is one of the two (${split.dominantColor})`)

  // a replaced file gets a new placeholder
  const put = await send(t, app.inject.bind(app), { method: 'PUT', url: `/v1/photos/${red.id}/file`, headers: { 'content-type': 'image/png' }, payload: await solid(80, 120, '#0000ff').png().toBuffer() })
  t.equal(put.statusCode, 200)
  t.ok(close(hexToRgb(put.json().dominantColor), BLUE, 10), `replaced: ${put.json().dominantColor}`)
  t.not(put.json().placeholder, red.placeholder)

  // the article read embeds both, for the lead photo and photo blocks
  const article = await create(app, '/v1/articles', {
    headline: 'Placeholders',
    leadPhotoId: green.id,
    body: [{ type: 'paragraph', text: 'x' }, { type: 'photo', photoId: split.id }],
    status: 'published',
    publishedAt: '2020-01-01T00:00:00Z'
  })
  for (const read of [await send(t, app.inject.bind(app), { url: `/v1/articles/${article.id}` }), await send(t, anon, { url: `/v1/articles/${article.id}` })]) {
    t.equal(read.statusCode, 200, read.body.slice(0, 200))
    const a = read.json()
    t.equal(a.leadPhoto.placeholder, green.placeholder, 'leadPhoto.placeholder')
    t.equal(a.leadPhoto.dominantColor, green.dominantColor, 'leadPhoto.dominantColor')
    const photoBlock = a.body.find((b: any) => b.type === 'photo')
    t.equal(photoBlock.placeholder, split.placeholder, 'photo block placeholder')
    t.equal(photoBlock.dominantColor, split.dominantColor, 'photo block dominantColor')
  }
  const listed = await send(t, app.inject.bind(app), { url: '/v1/photos' })
  t.ok(listed.json().data.every((p: any) => typeof p.placeholder === 'string' && /^#[0-9a-f]{6}$/.test(p.dominantColor)), 'every listed photo has both')
})

t.test('deleting photos removes unused originals and their renditions', async (t) => {
  const { app, anon, dataDir } = await build(t)
  const inject = app.inject.bind(app)
  const data = await image('jpeg', 800, 400, 15)
  const a = await upload(app, { caption: 'a', credit: 'AP' }, data)
  const b = await upload(app, { caption: 'b', credit: 'Reuters' }, data)
  t.equal(a.sha256, b.sha256)
  t.not(a.id, b.id)
  t.match([a.caption, a.credit, b.caption, b.credit], ['a', 'AP', 'b', 'Reuters'], 'each record keeps its own caption and credit')
  const other = await upload(app, {}, await image('jpeg', 800, 400, 16))
  for (const q of ['width=160', 'width=320&format=webp', 'aspect=1:1&width=160']) {
    t.equal((await send(t, anon, { url: `/v1/photos/${a.id}/file?${q}` })).statusCode, 200)
  }
  t.equal((await send(t, anon, { url: `/v1/photos/${other.id}/file?width=160` })).statusCode, 200)
  t.equal(renditionFiles(dataDir, a.sha256).length, 3)
  t.equal(storedFiles(dataDir).filter((f) => !f.startsWith('r/')).length, 2, 'shared bytes are stored once')
  // the two records share renditions too
  const viaB = await send(t, anon, { url: `/v1/photos/${b.id}/file?width=160` })
  t.equal(renditionFiles(dataDir, a.sha256).length, 3, 'the other record uses the same stored rendition')

  t.equal((await send(t, inject, { method: 'DELETE', url: `/v1/photos/${a.id}` })).statusCode, 204)
  t.ok(originalFile(dataDir, a.sha256), 'the original is kept while another record uses it')
  t.equal(renditionFiles(dataDir, a.sha256).length, 3, 'and its renditions')
  const still = await send(t, anon, { url: `/v1/photos/${b.id}/file?width=160` })
  t.equal(still.statusCode, 200)
  t.ok(still.rawPayload.equals(viaB.rawPayload))

  t.equal((await send(t, inject, { method: 'DELETE', url: `/v1/photos/${b.id}` })).statusCode, 204)
  t.equal(originalFile(dataDir, a.sha256), '', 'the last record takes the original with it')
  t.notOk(fs.existsSync(renditionDir(dataDir, a.sha256)), 'and its renditions directory')
  problem(t, await send(t, anon, { url: `/v1/photos/${b.id}/file?width=160` }), 404, 'rendition of a deleted photo')
  t.ok(originalFile(dataDir, other.sha256), 'other photos are untouched')
  t.equal(renditionFiles(dataDir, other.sha256).length, 1)
  t.same(storedFiles(dataDir).filter((f) => !f.includes(other.sha256)), [], 'nothing else is left')
})

t.test('a delete racing an upload of the same bytes never loses the referenced file', async (t) => {
  const { app, anon, dataDir } = await build(t)
  const inject = app.inject.bind(app)
  const data = await image('png', 300, 200, 17)
  let current = await upload(app, { caption: 'v0' }, data)
  for (let i = 1; i <= 8; i++) {
    const [del, up] = await Promise.all([
      send(t, inject, { method: 'DELETE', url: `/v1/photos/${current.id}` }),
      send(t, inject, { method: 'POST', url: '/v1/photos', ...multipart({ caption: `v${i}` }, { data }) })
    ])
    t.equal(del.statusCode, 204)
    t.equal(up.statusCode, 201, up.body)
    current = up.json()
    const file = await send(t, anon, { url: current.url })
    t.equal(file.statusCode, 200, `round ${i}: the new record's file is there`)
    t.ok(file.rawPayload.equals(data))
  }
  t.ok(originalFile(dataDir, current.sha256))
})

for (const op of ['deleted', 'replaced'] as const) {
  t.test(`a rendition finishing after its photo is ${op} leaves no orphaned file behind`, async (t) => {
    const { app, anon, dataDir } = await build(t)
    const photo = await upload(app, {}, await image('jpeg', 800, 400, 18))
    // the original is read, then the photo is deleted or replaced while the rendition is still being decoded (a slow render)
    const storage = app.storage
    const get = storage.get.bind(storage)
    let reached!: () => void
    const atRender = new Promise<void>((resolve) => { reached = resolve })
    let release!: () => void
    const gate = new Promise<void>((resolve) => { release = resolve })
    storage.get = async (key) => {
      const file = await get(key)
      if (!file || key.startsWith('r/')) return file
      const chunks: Buffer[] = []
      for await (const chunk of file.read()) chunks.push(chunk as Buffer)
      reached()
      return { size: file.size, read: () => Readable.from((async function * () { await gate; yield Buffer.concat(chunks) })()), discard () {} }
    }
    const rendering = send(t, anon, { url: `/v1/photos/${photo.id}/file?width=320` })
    await atRender
    const changing = op === 'deleted'
      ? send(t, app.inject.bind(app), { method: 'DELETE', url: `/v1/photos/${photo.id}` })
      : send(t, app.inject.bind(app), { method: 'PUT', url: `/v1/photos/${photo.id}/file`, headers: { 'content-type': 'image/png' }, payload: await image('png', 300, 300, 19) })
    // a delete goes through while the render is under way; a replacement's image is checked in the decoder's turn
    // (see takingTurns), after the render's: it is written as the render stores what it made
    if (op === 'deleted') t.equal((await changing).statusCode, 204)
    release()
    const change = await changing
    t.equal(change.statusCode, op === 'deleted' ? 204 : 200, change.body)
    const res = await rendering
    t.ok([200, 404].includes(res.statusCode), `the racing rendition request answers 200 or 404 (${res.statusCode})`)
    t.equal(originalFile(dataDir, photo.sha256), '', 'the old original is gone')
    t.same(renditionFiles(dataDir, photo.sha256), [], 'no orphaned rendition of bytes no record uses is left on disk')
  })
}

t.test('bad rendition parameters are 400, an unknown photo 404', async (t) => {
  const { app, anon, dataDir } = await build(t)
  const photo = await upload(app, {}, await image('jpeg', 400, 200, 19))
  const base = `/v1/photos/${photo.id}/file`
  const bad = [
    'width=0', 'width=-5', 'width=abc', 'width=1.5', 'width=', 'width=10001', 'width=99999999999', 'width=0x140', 'width=3.2e2',
    'format=gif', 'format=svg', 'format=WEBP', 'format=',
    'aspect=0:1', 'aspect=1:0', 'aspect=100:1', 'aspect=1:100', 'aspect=16', 'aspect=16:9:1', 'aspect=a:b', 'aspect=-16:9', 'aspect=16/9',
    'height=100', 'height=0&width=100', 'width=640&height=1', 'width=10&height=1000', 'aspect=16:9&height=5', 'width=640&aspect=1:1&height=640',
    'foo=1', 'width=640&quality=100', 'width=640&width=320'
  ]
  for (const query of bad) {
    const res = await send(t, anon, { url: `${base}?${query}` })
    problem(t, res, 400, query)
  }
  const heightAlone = (await send(t, anon, { url: `${base}?height=100` })).json()
  t.match(heightAlone.detail, /width|aspect/i, `height alone says what is missing: ${heightAlone.detail}`)
  const unknown = (await send(t, anon, { url: `${base}?foo=1` })).json()
  t.match(JSON.stringify(unknown), /foo|additional/i, 'the unknown parameter is named')
  t.same(renditionFiles(dataDir, photo.sha256), [], 'bad requests render nothing')

  problem(t, await send(t, anon, { url: `/v1/photos/${UNKNOWN_ID}/file?width=320` }), 404, 'rendition of an unknown photo')
  problem(t, await send(t, anon, { url: `/v1/photos/${UNKNOWN_ID}/file?aspect=16:9&format=webp` }), 404, 'crop of an unknown photo')
  t.equal((await send(t, anon, { url: `${base}?width=320` })).statusCode, 200, 'a good request still works')
})

t.test('a rendition a format cannot hold is a 400 that says so, never a 500', async (t) => {
  const { app, anon } = await build(t)
  // a long infographic: 1000 × 20000
  const long = await upload(app, {}, await sharp({ create: { width: 1000, height: 20000, channels: 3, background: '#336699' } }).png().toBuffer())
  for (const format of ['webp', 'avif']) {
    const res = await send(t, anon, { url: `/v1/photos/${long.id}/file?format=${format}` })
    const body = problem(t, res, 400, `1000×20000 as ${format}`)
    t.match(body.detail, new RegExp(`${format} rendition is at most \\d+ pixels a side.*: ask for a smaller width or another format$`))
    t.match(body.errors, [{ path: '/query/format' }])
  }
  // 100 × 20000: every width is 100 wide (widths snap up to 160, then stop at the photo's own), so only a crop helps
  const thin = await upload(app, {}, await sharp({ create: { width: 100, height: 20000, channels: 3, background: '#336699' } }).png().toBuffer())
  for (const query of ['format=webp', 'format=webp&width=50']) {
    const body = problem(t, await send(t, anon, { url: `/v1/photos/${thin.id}/file?${query}` }), 400, `100×20000, ${query}`)
    t.match(body.detail, /: crop it with `aspect` \(9:16, say\) or another format$/, `${query}: the advice that can work`)
  }
  t.equal((await send(t, anon, { url: `/v1/photos/${thin.id}/file?format=webp&aspect=9:16` })).statusCode, 200, 'and it does')
  const narrow = await send(t, anon, { url: `/v1/photos/${long.id}/file?format=webp&width=640` })
  t.equal(narrow.statusCode, 200, 'at 640 wide it is 12,800 tall: a WebP holds it')
  t.match(await sharp(narrow.rawPayload).metadata(), { format: 'webp', width: 640, height: 12800 })
  t.equal((await send(t, anon, { url: `/v1/photos/${long.id}/file?format=jpeg` })).statusCode, 200, 'JPEG holds 20000')
})

t.test('formats decoded whole (WebP, GIF, AVIF) are refused above 4096 × 4096 pixels; JPEG and PNG are read in strips', async (t) => {
  const { app, dataDir } = await build(t)
  for (const format of ['webp', 'gif'] as const) {
    const big = await sharp({ create: { width: 4097, height: 4096, channels: 3, background: '#777777' } })[format]().toBuffer()
    const res = await uploadRaw(t, app, big)
    const body = problem(t, res, 400, `a 4097 × 4096 ${format}`)
    t.match(body.detail, /decoded whole/)
    const fits = await uploadRaw(t, app, await sharp({ create: { width: 4096, height: 4096, channels: 3, background: '#777777' } })[format]().toBuffer())
    t.equal(fits.statusCode, 201, `a 4096 × 4096 ${format} is accepted`)
  }
  const png = await uploadRaw(t, app, await sharp({ create: { width: 6000, height: 4000, channels: 3, background: '#777777' } }).png().toBuffer())
  t.equal(png.statusCode, 201, 'a 24-megapixel PNG is accepted')
  t.equal(storedFiles(dataDir).length, 3, 'the refused uploads stored nothing')
})

t.test('a progressive JPEG or an interlaced PNG, decoded whole too, is refused above 40 megapixels', async (t) => {
  const { app, dataDir } = await build(t)
  const plain = (width: number, height: number) => sharp({ create: { width, height, channels: 3, background: '#777777' } })
  for (const [name, encode] of [['progressive JPEG', (s: Sharp) => s.jpeg({ progressive: true })], ['interlaced PNG', (s: Sharp) => s.png({ progressive: true })]] as const) {
    const body = problem(t, await uploadRaw(t, app, await encode(plain(8000, 5001)).toBuffer()), 400, `an 8000 × 5001 ${name}`)
    t.match(body.detail, new RegExp(`more than the 40000000 an? ${name} may have \\(it is decoded whole\\)`))
  }
  t.equal((await uploadRaw(t, app, await plain(8000, 5001).jpeg().toBuffer())).statusCode, 201, 'the same pixels as a baseline JPEG are read in strips: accepted')
  t.equal((await uploadRaw(t, app, await plain(6000, 4000).jpeg({ progressive: true }).toBuffer())).statusCode, 201, 'a 24-megapixel progressive JPEG is accepted')
  t.equal(storedFiles(dataDir).length, 2, 'the refused uploads stored nothing')
})

t.test('a transparent image rendered as JPEG is on white, not black', async (t) => {
  const { app, anon } = await build(t)
  const logo = await upload(app, {}, await sharp({ create: { width: 200, height: 100, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toBuffer())
  const res = await send(t, anon, { url: `/v1/photos/${logo.id}/file?format=jpeg&width=160` })
  t.equal(res.statusCode, 200)
  t.ok(close(await rgbAt(res.rawPayload, 10, 10), [255, 255, 255]), 'transparent became white')
})

t.test('RENDITION_ASPECTS is read as ratios between 1:10 and 10:1', async (t) => {
  t.same(loadConfig({ RENDITION_ASPECTS: '16:9,1:1' }).renditionAspects, [16 / 9, 1])
  for (const bad of ['1:20', '20:1', '16/9', '0:1', '16:9,', '1:1:1']) {
    let error: unknown
    try { loadConfig({ RENDITION_ASPECTS: bad }) } catch (err) { error = err }
    t.ok(error instanceof ConfigError && /RENDITION_ASPECTS/.test(error.message), `${JSON.stringify(bad)} is refused, naming the variable`)
  }
})
