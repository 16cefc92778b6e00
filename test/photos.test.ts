import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { createHash } from 'node:crypto'
import sharp from 'sharp'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import Database from 'better-sqlite3'
import pg from 'pg'
import { build, image, multipart, upload, create, problem, paths, storedFiles, cli, dialect } from './helper.js'
import type { App } from '../src/app.js'
import os from 'node:os'
import zlib from 'node:zlib'
import { openStore } from '../src/db/index.js'
import { filesystemStorage } from '../src/storage/filesystem.js'
import type { Storage } from '../src/storage/index.js'
import type { Write } from '../src/services/context.js'
import { fileVersion, photosService } from '../src/services/photos.js'

type Test = import('tap').Test

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex')
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/
const PHOTO_KEYS = [
  'id', 'caption', 'credit', 'altText', 'width', 'height', 'mimeType', 'bytes', 'sha256', 'focalPoint',
  'originalFilename', 'placeholder', 'dominantColor', 'url', 'createdAt', 'updatedAt'
].sort()

/** Every request goes through here: whatever the input, the answer is never a 5xx. */
async function send (t: Test, app: App, options: InjectOptions): Promise<LightMyRequestResponse> {
  const res = await app.inject(options)
  t.ok(res.statusCode < 500, `${options.method ?? 'GET'} ${options.url} is not a server error (got ${res.statusCode}: ${res.statusCode >= 500 ? res.body : ''})`)
  return res
}


function tmpFiles (dataDir: string): string[] {
  const dir = path.join(dataDir, 'photos', '.tmp')
  return fs.existsSync(dir) ? fs.readdirSync(dir) : []
}

/** Nothing of a refused upload is left: no record, no stored bytes, no temporary file. */
async function nothingStored (t: Test, app: App, dataDir: string, what: string) {
  const list = await send(t, app, { url: '/v1/photos' })
  t.equal(list.statusCode, 200)
  t.same(list.json().data, [], `${what}: no photo record`)
  t.same(storedFiles(dataDir), [], `${what}: no stored file`)
  t.same(tmpFiles(dataDir), [], `${what}: no temporary file`)
}

function checkPhoto (t: Test, photo: any) {
  t.same(Object.keys(photo).sort(), PHOTO_KEYS, 'a photo has exactly the documented fields')
  t.match(photo.id, /^[0-9a-f-]{36}$/, 'id is a UUID')
  t.match(photo.createdAt, RFC3339_UTC)
  t.match(photo.updatedAt, RFC3339_UTC)
  const version = fileVersion({ sha256: photo.sha256, focalX: photo.focalPoint?.x ?? null, focalY: photo.focalPoint?.y ?? null })
  t.equal(photo.url, `/v1/photos/${photo.id}/file?v=${version}`, 'url points at the versioned original')
}

/** A noisy image: does not compress, so it is reliably large. */
async function noisy (width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 60 } } })
    .png().toBuffer()
}

t.test('multipart upload with every field', async (t) => {
  const { app, dataDir } = await build(t)
  const data = await image('jpeg', 80, 30, 1)
  const form = multipart(
    { caption: 'Expo opens in Harbin', credit: 'Xinhua', altText: 'Crowds at the gate', focalX: '0.25', focalY: '0.75' },
    { filename: 'expo.jpg', type: 'image/jpeg', data }
  )
  const res = await send(t, app, { method: 'POST', url: '/v1/photos', ...form })
  t.equal(res.statusCode, 201, res.body)
  t.match(res.headers['content-type'], /^application\/json/)
  const photo = res.json()
  checkPhoto(t, photo)
  t.equal(res.headers.location, `/v1/photos/${photo.id}`)
  t.match(photo, {
    caption: 'Expo opens in Harbin',
    credit: 'Xinhua',
    altText: 'Crowds at the gate',
    width: 80,
    height: 30,
    mimeType: 'image/jpeg',
    bytes: data.length,
    sha256: sha256(data),
    originalFilename: 'expo.jpg'
  })
  t.same(photo.focalPoint, { x: 0.25, y: 0.75 })
  t.equal(photo.createdAt, photo.updatedAt)

  const got = await send(t, app, { url: res.headers.location as string })
  t.equal(got.statusCode, 200)
  t.same(got.json(), photo, 'GET by id answers the created record')
  t.equal(storedFiles(dataDir).length, 1, 'one stored file')
  t.same(tmpFiles(dataDir), [], 'no temporary file left')
})

t.test('multipart upload without optional fields', async (t) => {
  const { app } = await build(t)
  const data = await image('png', 10, 20)
  const res = await send(t, app, { method: 'POST', url: '/v1/photos', ...multipart({}, { filename: 'x.png', data }) })
  t.equal(res.statusCode, 201, res.body)
  const photo = res.json()
  checkPhoto(t, photo)
  t.match(photo, { caption: null, credit: null, altText: null, focalPoint: null, width: 10, height: 20, mimeType: 'image/png', originalFilename: 'x.png' })

  // the form's file name is kept as a name: no control characters, no bidirectional controls (a right-to-left
  // override makes `e‮gpj.exe` read `eexe.jpg`), no path, at most 255 characters, an image extension of the bytes' type
  const names: [string, string | null][] = [
    ['nul\u0001x\u007f.png', 'nulx.png'],
    ['e\u0308\u202Egpj.exe', '\u00EBgpj.exe'],
    ['a\u2066b\u2069\u200F.png', 'ab.png'],
    ['photo.JPG', 'photo.png'],
    ['scan.jpeg.webp', 'scan.jpeg.png'],
    ['chart.PNG', 'chart.PNG'],
    ['notes.txt', 'notes.txt'],
    ['..\\..\\windows\\evil.png', 'evil.png'],
    [`${'é'.repeat(300)}.png`, 'é'.repeat(255)],
    ['\u0002', null]
  ]
  for (const [sent, kept] of names) {
    const up = await send(t, app, { method: 'POST', url: '/v1/photos', ...multipart({}, { filename: sent, data }) })
    t.equal(up.statusCode, 201, up.body)
    t.equal(up.json().originalFilename, kept, JSON.stringify(sent))
  }
})

t.test('raw body upload with fields in the query string', async (t) => {
  // a type's parameters (a charset some clients add to every body) do not change what it is
  for (const contentType of ['image/jpeg', 'application/octet-stream', 'Image/JPEG; charset=utf-8', 'application/octet-stream;q=1']) {
    t.test(contentType, async (t) => {
      const { app, dataDir } = await build(t)
      const data = await image('jpeg', 33, 77, 2)
      const query = new URLSearchParams({ caption: 'Ice festival', credit: 'Xinhua', altText: 'Ice castle', focalX: '0', focalY: '1', filename: 'ice.jpg' })
      const res = await send(t, app, { method: 'POST', url: `/v1/photos?${query}`, headers: { 'content-type': contentType }, payload: data })
      t.equal(res.statusCode, 201, res.body)
      const photo = res.json()
      checkPhoto(t, photo)
      t.equal(res.headers.location, `/v1/photos/${photo.id}`)
      t.match(photo, {
        caption: 'Ice festival',
        credit: 'Xinhua',
        altText: 'Ice castle',
        width: 33,
        height: 77,
        mimeType: 'image/jpeg',
        bytes: data.length,
        sha256: sha256(data),
        originalFilename: 'ice.jpg'
      })
      t.same(photo.focalPoint, { x: 0, y: 1 })
      t.equal(storedFiles(dataDir).length, 1)
    })
  }
})

t.test('the type comes from the bytes, not the declared content type', async (t) => {
  const { app } = await build(t)
  const png = await image('png', 12, 8)
  const raw = await send(t, app, { method: 'POST', url: '/v1/photos', headers: { 'content-type': 'image/jpeg' }, payload: png })
  t.equal(raw.statusCode, 201, raw.body)
  t.equal(raw.json().mimeType, 'image/png')
  const file = await send(t, app, { url: raw.json().url })
  t.equal(file.headers['content-type'], 'image/png', 'served with the sniffed type')

  const form = multipart({}, { filename: 'photo.jpg', type: 'image/jpeg', data: await image('png', 12, 8, 3) })
  const mp = await send(t, app, { method: 'POST', url: '/v1/photos', ...form })
  t.equal(mp.statusCode, 201, mp.body)
  t.equal(mp.json().mimeType, 'image/png')
})

t.test('each accepted format', async (t) => {
  const { app } = await build(t)
  for (const format of ['jpeg', 'png', 'webp', 'gif', 'avif'] as const) {
    const data = await image(format, 40, 24, 5)
    const res = await send(t, app, { method: 'POST', url: '/v1/photos', ...multipart({ caption: format }, { filename: `p.${format}`, data }) })
    t.equal(res.statusCode, 201, `${format}: ${res.body}`)
    const photo = res.json()
    t.match(photo, { mimeType: `image/${format}`, width: 40, height: 24, bytes: data.length, sha256: sha256(data), caption: format }, format)
    const file = await send(t, app, { url: photo.url })
    t.equal(file.statusCode, 200)
    t.equal(file.headers['content-type'], `image/${format}`, `${format} served with its type`)
    t.ok(file.rawPayload.equals(data), `${format} served byte for byte`)
  }
})

/** A GPS position for EXIF (Harbin), and its latitude as the EXIF block holds it: three rationals, little-endian as libvips writes them. */
const GPS = { GPSLatitudeRef: 'N', GPSLatitude: '45/1 45/1 17/1', GPSLongitudeRef: 'E', GPSLongitude: '126/1 38/1 29/1' }
const LATITUDE = Buffer.alloc(24)
for (const [i, v] of [45, 1, 45, 1, 17, 1].entries()) LATITUDE.writeUInt32LE(v, i * 4)

t.test('the GPS position is taken out of every original before it is stored; pixels and the rest of the metadata stay', async (t) => {
  const { app, anon } = await build(t)
  const exif = { IFD0: { Make: 'Canon', Model: 'EOS R5' }, IFD3: GPS }
  const xmp = '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">' +
    '<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" ' +
    'exif:GPSLatitude="45,45.28N" photoshop:City="Harbin"><exif:GPSLongitude>126,38.48E</exif:GPSLongitude></rdf:Description></rdf:RDF></x:xmpmeta>'
  const latitude = LATITUDE
  for (const format of ['jpeg', 'png', 'webp', 'avif'] as const) {
    // 40×20 stored, shown turned a quarter (orientation 6): 20×40
    const data = await sharp({ create: { width: 40, height: 20, channels: 3, background: '#36a' } })[format]()
      .withExif(exif).withXmp(xmp).withMetadata({ orientation: 6 }).toBuffer()
    t.ok(data.includes(latitude) && data.includes('Canon'), `${format}: the upload carries its position`)
    const res = await send(t, app, { method: 'POST', url: '/v1/photos', ...multipart({ caption: format }, { filename: `p.${format}`, data }) })
    t.equal(res.statusCode, 201, `${format}: ${res.body}`)
    const photo = res.json()
    const file = await anon({ url: photo.url })
    t.equal(file.statusCode, 200)
    const stored = file.rawPayload
    t.notOk(stored.includes(latitude), `${format}: the EXIF position is gone`)
    t.notOk(stored.includes('45,45.28N') || stored.includes('126,38.48E'), `${format}: and the XMP's`)
    t.ok(stored.includes('Canon') && stored.includes('EOS R5'), `${format}: the camera stays`)
    t.match(photo, { bytes: stored.length, sha256: sha256(stored) }, `${format}: the record describes the stored bytes`)
    if (format !== 'avif') {
      t.equal((await sharp(stored).metadata()).orientation, 6, `${format}: the orientation stays`)
      t.match(photo, { width: 20, height: 40 }, `${format}: shown turned`)
    }
    const pixels = (b: Buffer) => sharp(b, { failOn: 'warning' }).raw().toBuffer()
    t.ok((await pixels(stored)).equals(await pixels(data)), `${format}: the same pixels, read without a warning`)
    if (format !== 'png') t.equal(stored.length, data.length, `${format}: changed in place`)
    const rendition = await anon({ url: `${photo.url}${photo.url.includes('?') ? '&' : '?'}width=160` })
    t.equal(rendition.statusCode, 200, `${format}: a rendition is made from it`)
  }

  // without a position, the original is stored as it came
  const plain = await sharp({ create: { width: 40, height: 20, channels: 3, background: '#36a' } }).jpeg().withExif({ IFD0: { Make: 'Canon' } }).toBuffer()
  const photo = (await send(t, app, { method: 'POST', url: '/v1/photos', ...multipart({}, { filename: 'p.jpg', data: plain }) })).json()
  t.ok((await anon({ url: photo.url })).rawPayload.equals(plain), 'an original without a position is stored byte for byte')

  // an EXIF block too damaged to walk is zeroed whole: no reader can find a position in it
  const damaged = Buffer.from(await sharp({ create: { width: 40, height: 20, channels: 3, background: '#36a' } }).jpeg().withExif(exif).toBuffer())
  const tiff = damaged.indexOf('Exif\0\0') + 6
  damaged.writeUInt32LE(0xfffffff0, tiff + 4) // the first directory's offset points far outside the block
  const refused = await send(t, app, { method: 'POST', url: '/v1/photos', ...multipart({}, { filename: 'd.jpg', data: damaged }) })
  t.equal(refused.statusCode, 201, refused.body)
  t.notOk((await anon({ url: refused.json().url })).rawPayload.includes(latitude), 'a damaged EXIF block does not keep its position')
})

t.test('a position kept where libvips does not look is taken out too: EXIF in a PNG raw profile, XMP in a GIF', async (t) => {
  const { app, anon } = await build(t)
  const pixels = (b: Buffer) => sharp(b, { failOn: 'warning' }).raw().toBuffer()
  const store = async (filename: string, data: Buffer) => {
    const res = await send(t, app, { method: 'POST', url: '/v1/photos', ...multipart({}, { filename, data }) })
    t.equal(res.statusCode, 201, res.body)
    return (await anon({ url: res.json().url })).rawPayload
  }

  // a JPEG's EXIF as ImageMagick and exiftool keep it in a PNG: its APP1 bytes in hex, in a text chunk
  const jpeg = await sharp({ create: { width: 40, height: 20, channels: 3, background: '#36a' } }).jpeg().withExif({ IFD0: { Make: 'Canon' }, IFD3: GPS }).toBuffer()
  const app1 = jpeg.subarray(jpeg.indexOf('Exif\0\0'), jpeg.indexOf('Exif\0\0') - 2 + jpeg.readUInt16BE(jpeg.indexOf('Exif\0\0') - 2))
  t.ok(app1.includes(LATITUDE), 'the profile holds the position')
  const rawProfile = (name: string, bytes: Buffer) => `\n${name}\n${String(bytes.length).padStart(8)}\n${bytes.toString('hex').replace(/.{1,72}/g, '$&\n')}`
  const png = await sharp({ create: { width: 40, height: 20, channels: 3, background: '#36a' } }).png().toBuffer()
  const withText = (type: 'tEXt' | 'zTXt', keyword: string, text: string) => {
    const data = Buffer.concat([Buffer.from(keyword + '\0', 'latin1'), type === 'zTXt' ? Buffer.concat([Buffer.from([0]), zlib.deflateSync(Buffer.from(text, 'latin1'))]) : Buffer.from(text, 'latin1')])
    const head = Buffer.alloc(8)
    head.writeUInt32BE(data.length)
    head.write(type, 4, 'latin1')
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(zlib.crc32(Buffer.concat([head.subarray(4), data])))
    const iend = png.length - 12
    return Buffer.concat([png.subarray(0, iend), head, data, crc, png.subarray(iend)])
  }
  for (const type of ['tEXt', 'zTXt'] as const) {
    const located = withText(type, 'Raw profile type exif', rawProfile('exif', app1))
    const stored = await store('p.png', located)
    t.ok(stored.equals(png), `${type}: the raw profile is left out, the rest stored as it came`)
    t.ok((await pixels(stored)).equals(await pixels(located)), `${type}: the same pixels`)
  }
  const other = withText('tEXt', 'Raw profile type exif', rawProfile('exif', Buffer.from('Exif\0\0II*\0\x08\0\0\0\0\0', 'latin1')))
  t.ok((await store('q.png', other)).equals(other), 'a raw profile without a position stays')
  const named = withText('tEXt', 'exif:GPSLatitude', '45/1, 45/1, 17/1')
  t.ok((await store('r.png', named)).equals(png), 'a text property named after a position is left out')

  // XMP in a GIF: an application extension before the trailer, the packet written as it is and ended by the
  // 258 bytes (1, 255, 254 … 0, 0) that make any packet readable as sub-blocks
  const gif = await sharp({ create: { width: 40, height: 20, channels: 3, background: '#36a' } }).gif().toBuffer()
  const packet = '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description ' +
    'xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="45,45.28N" exif:GPSLongitude="126,38.48E" dc:title="Ice"/></rdf:RDF></x:xmpmeta>'
  const xmp = Buffer.concat([Buffer.from([0x21, 0xff, 0x0b]), Buffer.from('XMP DataXMP' + packet, 'latin1'), Buffer.from([1, ...Array.from({ length: 256 }, (_, i) => 255 - i), 0])])
  const located = Buffer.concat([gif.subarray(0, gif.length - 1), xmp, gif.subarray(gif.length - 1)])
  const stored = await store('p.gif', located)
  t.notOk(stored.includes('45,45.28N') || stored.includes('126,38.48E'), 'the XMP position is gone')
  t.ok(stored.includes('dc:title="Ice"'), 'the rest of the packet stays')
  t.equal(stored.length, located.length, 'changed in place')
  t.ok((await pixels(stored)).equals(await pixels(located)), 'the same pixels, read without a warning')
})

t.test('photos:clear-location takes the position out of originals stored before uploads lost theirs', async (t) => {
  const { app, anon, dataDir, databaseUrl } = await build(t)
  const exif = { IFD0: { Make: 'Canon' }, IFD3: GPS }
  const latitude = LATITUDE
  const located = await sharp({ create: { width: 40, height: 20, channels: 3, background: '#36a' } }).jpeg().withExif(exif).toBuffer()
  const plain = await image('png', 30, 20, 2)
  const old = await upload(app, { caption: 'stored long ago' }, await image('jpeg', 40, 20, 9))
  const untouched = await upload(app, { caption: 'never had a position' }, plain)
  // as an older version stored it: the upload's bytes, position and all
  const key = `${sha256(located)}.jpg`
  await app.storage.put(key, located)
  // (on PostgreSQL, as a database copied from such an install holds it; the write turns the content version over, as
  // the README asks of writes made around the API)
  if (dialect === 'sqlite') {
    const db = new Database(path.join(dataDir, 'cms.sqlite'))
    t.teardown(() => db.close())
    db.prepare('update photos set storage_key = ?, sha256 = ?, bytes = ? where id = ?').run(key, sha256(located), located.length, old.id)
  } else {
    const db = new pg.Client({ connectionString: databaseUrl })
    await db.connect()
    try {
      await db.query('begin')
      await db.query('update photos set storage_key = $1, sha256 = $2, bytes = $3 where id = $4', [key, sha256(located), located.length, old.id])
      await db.query('update content_version set number = number + 1')
      await db.query('commit')
    } finally {
      await db.end()
    }
  }
  const before = (await anon({ url: `/v1/photos/${old.id}` })).json()
  t.ok((await anon({ url: before.url })).rawPayload.includes(latitude), 'the stored original carries its position')

  const run = await cli(dataDir, ['clear-photo-locations'])
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, /Done: 2 originals checked, 1 had a GPS position, now taken out\./)
  await new Promise((resolve) => setImmediate(resolve))
  const after = (await anon({ url: `/v1/photos/${old.id}` })).json()
  t.not(after.sha256, before.sha256, 'the record describes the new bytes')
  t.not(after.url, before.url, 'under a new url')
  const file = (await anon({ url: after.url })).rawPayload
  t.notOk(file.includes(latitude), 'the position is gone')
  t.ok(file.includes('Canon'), 'the camera stays')
  t.equal(after.caption, 'stored long ago', 'the record is kept')
  t.notOk(storedFiles(dataDir).some((f) => f.endsWith(key)), 'the old bytes are removed')
  t.ok((await anon({ url: (await anon({ url: `/v1/photos/${untouched.id}` })).json().url })).rawPayload.equals(plain), 'a photo without a position is left as it was')

  const again = await cli(dataDir, ['clear-photo-locations'])
  t.match(again.stdout, /Done: 2 originals checked, 0 had a GPS position/, 'a second run finds nothing to do')

  // an original missing from storage is said, not passed over in silence
  await app.storage.delete(untouched.sha256 + '.png')
  const gone = await cli(dataDir, ['clear-photo-locations'])
  t.equal(gone.code, 0)
  t.match(gone.stdout, new RegExp(`${untouched.id}: its original \\(${untouched.sha256}\\.png\\) is not in photo storage`))
  t.match(gone.stdout, /Done: 1 originals checked, 0 had a GPS position, now taken out\. 1 not in photo storage \(listed above\)\./)
})

t.test('refused uploads answer 4xx and leave nothing behind', async (t) => {
  const jpeg = await image('jpeg', 200, 150, 7)
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script><rect width="10" height="10"/></svg>')
  const html = Buffer.from('<!DOCTYPE html><html><head><title>x</title></head><body><script>alert(1)</script></body></html>')
  const text = Buffer.from('This is not a photo, just some text that pretends to be one.\n')
  const cases: { name: string, data: Buffer, type: string, status: number[] }[] = [
    { name: 'a text file named photo.jpg', data: text, type: 'image/jpeg', status: [415] },
    { name: 'an SVG', data: svg, type: 'image/svg+xml', status: [415] },
    { name: 'HTML', data: html, type: 'image/jpeg', status: [415] },
    { name: 'an empty file', data: Buffer.alloc(0), type: 'image/jpeg', status: [400] },
    { name: 'a truncated JPEG', data: jpeg.subarray(0, Math.floor(jpeg.length / 2)), type: 'image/jpeg', status: [400, 415] }
  ]
  for (const c of cases) {
    t.test(`${c.name}, multipart`, async (t) => {
      const { app, dataDir } = await build(t)
      const res = await send(t, app, { method: 'POST', url: '/v1/photos', ...multipart({ caption: 'x' }, { filename: 'photo.jpg', type: c.type, data: c.data }) })
      t.ok(c.status.includes(res.statusCode), `answers ${c.status.join(' or ')}, got ${res.statusCode}: ${res.body}`)
      problem(t, res, res.statusCode, c.name)
      await nothingStored(t, app, dataDir, c.name)
    })
    t.test(`${c.name}, raw body`, async (t) => {
      const { app, dataDir } = await build(t)
      const res = await send(t, app, { method: 'POST', url: '/v1/photos?caption=x', headers: { 'content-type': c.type }, payload: c.data })
      t.ok(c.status.includes(res.statusCode), `answers ${c.status.join(' or ')}, got ${res.statusCode}: ${res.body}`)
      problem(t, res, res.statusCode, c.name)
      await nothingStored(t, app, dataDir, c.name)
    })
  }
})

t.test('with a form, upload fields may come in the query string too; the same field in both is given twice', async (t) => {
  const { app } = await build(t)
  const data = await image()
  const both = await send(t, app, { method: 'POST', url: '/v1/photos?caption=From%20the%20query&focalX=0.5', ...multipart({ credit: 'Xinhua', focalY: '0.25' }, { data }) })
  t.equal(both.statusCode, 201, both.body)
  t.match(both.json(), { caption: 'From the query', credit: 'Xinhua', focalPoint: { x: 0.5, y: 0.25 } }, 'query and form fields are both read')
  const twice = problem(t, await send(t, app, { method: 'POST', url: '/v1/photos?caption=a', ...multipart({ caption: 'b' }, { data }) }), 400, 'a field in the query and the form')
  t.match(twice.errors, [{ path: '/caption' }])
  const put = problem(t, await send(t, app, { method: 'PUT', url: `/v1/photos/${both.json().id}/file?caption=x`, ...multipart({}, { data }) }), 400, 'PUT file with a field in the query, as a form')
  t.match(put.errors, [{ path: '/caption', message: 'Unknown field' }])
  // a name given in the query is kept as a name, like a form's
  const named = await send(t, app, { method: 'POST', url: `/v1/photos?filename=${encodeURIComponent('../../etc/x.jpg')}`, headers: { 'content-type': 'image/jpeg' }, payload: data })
  t.equal(named.json().originalFilename, 'x.jpg')
  const misnamed = await send(t, app, { method: 'POST', url: '/v1/photos?filename=x.jpeg', headers: { 'content-type': 'image/jpeg' }, payload: await image('png') })
  t.equal(misnamed.json().originalFilename, 'x.png', 'PNG bytes named x.jpeg are kept as x.png')
})

t.test('a "file" part without a file name is a 400 that says so, not a text field that is not UTF-8', async (t) => {
  const { app } = await build(t)
  const data = await image()
  const boundary = '----cmsnofilename'
  const payload = Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"\r\nContent-Type: image/jpeg\r\n\r\n`), data, Buffer.from(`\r\n--${boundary}--\r\n`)])
  const res = await send(t, app, { method: 'POST', url: '/v1/photos', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, payload })
  t.match(problem(t, res, 400, 'no file name'), { detail: /"file" part has no file name/ })
})

t.test('a form of more parts than an upload takes is a 400 naming what it takes, not the parser\'s 413', async (t) => {
  const { app, dataDir } = await build(t)
  const data = await image()
  const many = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`f${i}`, 'x']))
  for (const [what, fields] of [['300 text fields', many], ['25 text fields', Object.fromEntries(Object.entries(many).slice(0, 25))]] as const) {
    const res = await send(t, app, { method: 'POST', url: '/v1/photos', ...multipart(fields, { data }) })
    const body = problem(t, res, 400, what)
    t.equal(body.code, 'CMS_BAD_REQUEST', what)
    t.match(body.detail, /more parts than an upload takes: the image as "file" and at most the fields caption, credit, altText, focalX, focalY/, what)
  }
  await nothingStored(t, app, dataDir, 'too many parts')
})

t.test('upload fields left blank are not given, in a form as in the query string', async (t) => {
  const { app } = await build(t)
  const data = await image()
  const blank = { caption: '', credit: '', altText: '', focalX: '', focalY: '', filename: '' }
  const mp = await send(t, app, { method: 'POST', url: '/v1/photos', ...multipart(blank, { data, filename: 'x.jpg' }) })
  t.equal(mp.statusCode, 201, mp.body)
  t.match(mp.json(), { caption: null, credit: null, altText: null, focalPoint: null, originalFilename: 'x.jpg' }, 'a form\'s blank fields')
  const raw = await send(t, app, { method: 'POST', url: `/v1/photos?${new URLSearchParams(blank)}`, headers: { 'content-type': 'image/jpeg' }, payload: data })
  t.equal(raw.statusCode, 201, raw.body)
  t.match(raw.json(), { caption: null, credit: null, altText: null, focalPoint: null, originalFilename: null }, 'the query string\'s blank fields')
  const some = await send(t, app, { method: 'POST', url: '/v1/photos?caption=&credit=Xinhua', headers: { 'content-type': 'image/jpeg' }, payload: data })
  t.match(some.json(), { caption: null, credit: 'Xinhua' }, 'beside a field given')
  // a caption or alt text of white space only is none, sent in a form, a query or a patch
  const spaces = await send(t, app, { method: 'POST', url: '/v1/photos', ...multipart({ caption: '   ', altText: '\n\t' }, { data }) })
  t.match(spaces.json(), { caption: null, altText: null }, 'white space in a form')
  const patched = await send(t, app, { method: 'PATCH', url: `/v1/photos/${some.json().id}`, payload: { caption: ' ', altText: '' } })
  t.equal(patched.statusCode, 200, patched.body)
  t.match(patched.json(), { caption: null, altText: null, credit: 'Xinhua' }, 'blank in a patch')
})

t.test('upload fields are validated', async (t) => {
  const { app, dataDir } = await build(t)
  const data = await image()
  const bad: [string, Record<string, string>][] = [
    ['only focalX', { focalX: '0.5' }],
    ['only focalY', { focalY: '0.5' }],
    ['focalX=2', { focalX: '2', focalY: '0.5' }],
    ['negative focalY', { focalX: '0.5', focalY: '-0.1' }],
    ['non-numeric focalX', { focalX: 'left', focalY: '0.5' }],
    ['empty focalX', { focalX: '', focalY: '0.5' }],
    ['unknown field', { caption: 'x', photographer: 'Li' }],
    ['control character in credit', { credit: 'Xin\u0001hua' }],
    ['caption over 2000 characters', { caption: 'x'.repeat(2001) }],
    ['focalX Infinity', { focalX: 'Infinity', focalY: '0.5' }],
    ['focalX in exponent form', { focalX: '5e-1', focalY: '0.5' }],
    ['focalY in hexadecimal', { focalX: '0.5', focalY: '0x1' }],
    ['focalX with spaces', { focalX: ' 0.5', focalY: '0.5' }]
  ]
  for (const [name, fields] of bad) {
    const mp = await send(t, app, { method: 'POST', url: '/v1/photos', ...multipart(fields, { data }) })
    const inForm = problem(t, mp, 400, `multipart, ${name}`)
    const raw = await send(t, app, { method: 'POST', url: `/v1/photos?${new URLSearchParams(fields)}`, headers: { 'content-type': 'image/jpeg' }, payload: data })
    const inQuery = problem(t, raw, 400, `raw, ${name}`)
    // one set of rules in one set of words, wherever the fields come (the form's field is /caption, the query's /query/caption)
    t.equal(inForm.code, inQuery.code, `${name}: the same code either way`)
    t.same(inForm.errors, inQuery.errors.map((e: any) => ({ ...e, path: e.path.replace(/^\/query/, '') })), `${name}: the same errors either way`)
  }
  // a form field in Latin-1 (an old newsroom script): its é is no UTF-8, and would be stored as U+FFFD
  const form = multipart({ caption: 'Caf\u00e9 M\u00fcller' }, { data })
  const latin1 = Buffer.concat([form.payload.subarray(0, form.payload.indexOf('Caf')), Buffer.from('Caf\u00e9 M\u00fcller', 'latin1'), form.payload.subarray(form.payload.indexOf('ller') + 4)])
  t.match(problem(t, await send(t, app, { method: 'POST', url: '/v1/photos', headers: form.headers, payload: latin1 }), 400, 'a field that is not UTF-8').errors, [{ path: '/caption', message: 'Is not UTF-8 text' }])
  // and a file name that is not UTF-8 (a lone surrogate's bytes): not kept as a�.jpg
  const named = multipart({}, { data, filename: 'aXYZ.jpg' })
  const badName = Buffer.concat([named.payload.subarray(0, named.payload.indexOf('aXYZ.jpg') + 1), Buffer.from([0xed, 0xa0, 0x80]), named.payload.subarray(named.payload.indexOf('aXYZ.jpg') + 4)])
  t.match(problem(t, await send(t, app, { method: 'POST', url: '/v1/photos', headers: named.headers, payload: badName }), 400, 'a file name that is not UTF-8').errors, [{ path: '/filename', message: 'Is not UTF-8 text' }])
  const unknown = problem(t, await send(t, app, { method: 'POST', url: '/v1/photos', ...multipart({ photographer: 'Li' }, { data }) }), 400, 'unknown multipart field')
  t.ok(Array.isArray(unknown.errors) && unknown.errors.some((e: any) => /photographer/.test(e.path) || /photographer/.test(e.message)),
    'the error names the unknown field')
  const unknownQuery = problem(t, await send(t, app, { method: 'POST', url: '/v1/photos?photographer=Li', headers: { 'content-type': 'image/jpeg' }, payload: data }), 400, 'unknown query field')
  t.match(unknownQuery.errors, [{ path: '/query/photographer', message: String }])
  problem(t, await send(t, app, { method: 'POST', url: '/v1/photos?caption=a&caption=b', headers: { 'content-type': 'image/jpeg' }, payload: data }), 400, 'caption twice in the query')
  const onlyX = problem(t, await send(t, app, { method: 'POST', url: '/v1/photos?focalX=0.5', headers: { 'content-type': 'image/jpeg' }, payload: data }), 400, 'focalX alone')
  t.match(onlyX.errors, [{ path: '/focalY', message: String }], 'the error names the missing focalY')
  const onlyY = problem(t, await send(t, app, { method: 'POST', url: '/v1/photos', ...multipart({ focalY: '0.5' }, { data }) }), 400, 'focalY alone')
  t.match(onlyY.errors, [{ path: '/focalX', message: String }], 'the error names the missing focalX')
  const focal = problem(t, await send(t, app, { method: 'POST', url: '/v1/photos', ...multipart({ focalX: '2', focalY: '0' }, { data }) }), 400, 'focalX=2')
  t.ok(Array.isArray(focal.errors) && focal.errors.some((e: any) => /focalX/.test(e.path)), 'the error points at focalX')
  const control = problem(t, await send(t, app, { method: 'POST', url: '/v1/photos', ...multipart({ credit: 'Xin\u0001hua' }, { data }) }), 400, 'a control character')
  t.same(control.errors, [{ path: '/credit', message: 'Must be one line of text that shows something: not blank or only invisible characters, no control characters, line breaks or direction overrides (U+202D, U+202E)' }], 'the rule in words, not "Expected union value"')
  // an invisible credit fails in a form as in the query string and in JSON bodies
  for (const credit of ['\u2800', '\u{e0020}', '\u200b']) {
    const invisible = problem(t, await send(t, app, { method: 'POST', url: '/v1/photos', ...multipart({ credit }, { data }) }), 400, 'an invisible credit in a form')
    t.same(invisible.errors.map((e: any) => e.path), ['/credit'])
  }
  const long = problem(t, await send(t, app, { method: 'POST', url: '/v1/photos', ...multipart({ caption: 'x'.repeat(2001) }, { data }) }), 400, 'a caption too long')
  t.match(long.errors, [{ path: '/caption', message: /2000/ }])
  await nothingStored(t, app, dataDir, 'invalid fields')
  const declared = Buffer.from(latin1.toString('latin1').replace('name="caption"\r\n', 'name="caption"\r\nContent-Type: text/plain; charset=iso-8859-1\r\n'), 'latin1')
  const decoded = await send(t, app, { method: 'POST', url: '/v1/photos', headers: form.headers, payload: declared })
  t.equal(decoded.statusCode, 201, decoded.body)
  t.equal(decoded.json().caption, 'Caf\u00e9 M\u00fcller', 'a part that declares its charset is read in it')
})

t.test('malformed multipart requests', async (t) => {
  const { app, dataDir } = await build(t)
  const data = await image()

  problem(t, await send(t, app, { method: 'POST', url: '/v1/photos', ...multipart({ caption: 'no file' }) }), 400, 'missing file part')
  problem(t, await send(t, app, { method: 'POST', url: '/v1/photos', ...multipart({}, { name: 'image', data }) }), 400, 'file under another name')

  // the same field twice
  const boundary = '----cmsdup'
  const dup = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="caption"\r\n\r\none\r\n`),
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="caption"\r\n\r\ntwo\r\n`),
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`),
    data, Buffer.from(`\r\n--${boundary}--\r\n`)
  ])
  problem(t, await send(t, app, { method: 'POST', url: '/v1/photos', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, payload: dup }), 400, 'duplicate field')

  // two files
  const two = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`),
    data,
    Buffer.from(`\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="b.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`),
    data, Buffer.from(`\r\n--${boundary}--\r\n`)
  ])
  const twoRes = await send(t, app, { method: 'POST', url: '/v1/photos', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, payload: two })
  t.ok(twoRes.statusCode >= 400 && twoRes.statusCode < 500, `two files answer 4xx, got ${twoRes.statusCode}`)

  // broken multipart bodies: the client's mistake, a 400, never a 500
  const cut = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`),
    data.subarray(0, 100)
  ])
  const brokenBodies: [string, string, Buffer][] = [
    ['garbage instead of parts', `multipart/form-data; boundary=${boundary}`, Buffer.from('garbage')],
    ['a body cut off inside the file part', `multipart/form-data; boundary=${boundary}`, cut],
    ['no boundary parameter', 'multipart/form-data', multipart({}, { data }).payload]
  ]
  for (const [name, contentType, payload] of brokenBodies) {
    for (const method of ['POST', 'PUT'] as const) {
      const url = method === 'POST' ? '/v1/photos' : '/v1/photos/00000000-0000-4000-8000-000000000000/file'
      problem(t, await send(t, app, { method, url, headers: { 'content-type': contentType }, payload }), 400, `${method} multipart with ${name}`)
    }
  }

  // not an image content type at all
  const json = await send(t, app, { method: 'POST', url: '/v1/photos', payload: { caption: 'x' } })
  t.equal(json.statusCode, 415, 'a JSON body answers 415')
  const textPlain = await send(t, app, { method: 'POST', url: '/v1/photos', headers: { 'content-type': 'text/plain' }, payload: 'hello' })
  t.equal(textPlain.statusCode, 415, 'a text/plain body answers 415')
  t.match(textPlain.json(), { code: 'CMS_UNSUPPORTED_MEDIA_TYPE', detail: 'Content-Type "text/plain" is not accepted here: send multipart/form-data or image/*' })
  t.match(textPlain.headers['content-type'], /^application\/problem\+json/)
  const htmlType = await send(t, app, { method: 'POST', url: '/v1/photos', headers: { 'content-type': 'text/html' }, payload: '<p>hi</p>' })
  t.equal(htmlType.statusCode, 415, 'a non-image content type answers 415')
  const noBody = await send(t, app, { method: 'POST', url: '/v1/photos' })
  t.equal(noBody.statusCode, 400, `no body at all answers 400, got ${noBody.statusCode}`)

  await nothingStored(t, app, dataDir, 'malformed multipart')
})

t.test('uploads over UPLOAD_MAX_BYTES answer 413', async (t) => {
  const { app, dataDir } = await build(t, { UPLOAD_MAX_BYTES: '2048' })
  const big = await noisy(64, 64)
  t.ok(big.length > 2048, `the test image is over the limit (${big.length} bytes)`)
  const form = problem(t, await send(t, app, { method: 'POST', url: '/v1/photos', ...multipart({ caption: 'big' }, { data: big }) }), 413, 'multipart')
  t.match(form, { code: 'CMS_PAYLOAD_TOO_LARGE', detail: 'The image is larger than the 2,048 bytes accepted here (UPLOAD_MAX_BYTES)' }, 'the same code, and the limit, as a raw body')
  const raw = problem(t, await send(t, app, { method: 'POST', url: '/v1/photos?caption=big', headers: { 'content-type': 'image/png' }, payload: big }), 413, 'raw')
  t.match(raw, { code: 'CMS_PAYLOAD_TOO_LARGE', detail: 'The body is larger than the 2,048 bytes accepted here' })
  await nothingStored(t, app, dataDir, 'too large')

  const small = await image('jpeg', 16, 16)
  t.ok(small.length < 2048)
  const ok = await send(t, app, { method: 'POST', url: '/v1/photos', ...multipart({}, { data: small }) })
  t.equal(ok.statusCode, 201, 'an image under the limit is accepted')

  // replacing the file is limited the same way
  problem(t, await send(t, app, { method: 'PUT', url: `/v1/photos/${ok.json().id}/file`, headers: { 'content-type': 'image/png' }, payload: big }), 413, 'PUT raw')
  problem(t, await send(t, app, { method: 'PUT', url: `/v1/photos/${ok.json().id}/file`, ...multipart({}, { data: big }) }), 413, 'PUT multipart')
  t.equal(storedFiles(dataDir).length, 1)
})

t.test('the same bytes uploaded twice: two records, one stored file', async (t) => {
  const { app, dataDir } = await build(t)
  const data = await image('jpeg', 50, 50, 9)
  const a = await upload(app, { caption: 'First' }, data)
  const b = await upload(app, { caption: 'Second', credit: 'AP' }, data)
  t.not(a.id, b.id)
  t.equal(a.sha256, b.sha256)
  t.equal(a.caption, 'First')
  t.equal(b.caption, 'Second')
  t.equal(a.credit, null)
  t.equal(b.credit, 'AP')
  t.equal(storedFiles(dataDir).length, 1, 'one stored file')
  t.equal((await send(t, app, { url: `/v1/photos/${a.id}` })).json().caption, 'First')
  t.equal((await send(t, app, { url: `/v1/photos/${b.id}` })).json().caption, 'Second')

  // deleting one keeps the shared file
  const del = await send(t, app, { method: 'DELETE', url: `/v1/photos/${a.id}` })
  t.equal(del.statusCode, 204)
  t.equal(storedFiles(dataDir).length, 1, 'the file is kept while another record uses it')
  const file = await send(t, app, { url: b.url })
  t.equal(file.statusCode, 200)
  t.ok(file.rawPayload.equals(data))

  // deleting the last one removes it
  t.equal((await send(t, app, { method: 'DELETE', url: `/v1/photos/${b.id}` })).statusCode, 204)
  t.same(storedFiles(dataDir), [], 'the file is removed with its last record')
})

t.test('GET a photo by id', async (t) => {
  const { app } = await build(t)
  const photo = await upload(app, { caption: 'c' })
  const res = await send(t, app, { url: `/v1/photos/${photo.id}` })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  t.same(res.json(), photo)
  problem(t, await send(t, app, { url: '/v1/photos/00000000-0000-4000-8000-000000000000' }), 404, 'unknown id')
  problem(t, await send(t, app, { url: '/v1/photos/not-a-photo' }), 404, 'non-uuid id')
  problem(t, await send(t, app, { url: `/v1/photos/${'a'.repeat(65)}` }), 400, 'over-long id')
})

t.test('GET /v1/photos lists newest first with keyset pagination', async (t) => {
  const { app } = await build(t)
  const empty = await send(t, app, { url: '/v1/photos' })
  t.equal(empty.statusCode, 200)
  t.same(empty.json(), { data: [], next: null })
  t.notOk(empty.headers.link, 'no Link header on the last page')

  const ids: string[] = []
  for (let i = 0; i < 5; i++) {
    ids.push((await upload(app, { caption: `photo ${i}` }, await image('jpeg', 20, 20, i))).id)
    await sleep(3) // distinct creation times
  }
  const newestFirst = [...ids].reverse()

  const all = await send(t, app, { url: '/v1/photos' })
  t.same(all.json().data.map((p: any) => p.id), newestFirst, 'newest first')
  t.equal(all.json().next, null)
  checkPhoto(t, all.json().data[0])

  const seen: string[] = []
  let url: string | undefined = '/v1/photos?limit=2'
  let pages = 0
  while (url) {
    const res = await send(t, app, { url })
    t.equal(res.statusCode, 200, res.body)
    const page = res.json()
    t.same(Object.keys(page).sort(), ['data', 'next'])
    t.ok(page.data.length <= 2)
    seen.push(...page.data.map((p: any) => p.id))
    pages++
    if (page.next) {
      t.type(page.next, 'string')
      const link = res.headers.link as string
      t.match(link, /^<\/v1\/photos\?[^>]+>; rel="next"$/, 'Link header to the next page')
      const target = new URL(link.slice(1, link.indexOf('>')), 'http://x')
      t.equal(target.searchParams.get('cursor'), page.next, 'the Link carries the cursor')
      t.equal(target.searchParams.get('limit'), '2', 'the Link keeps the limit')
      url = `${target.pathname}${target.search}`
      // a photo uploaded meanwhile does not disturb the following pages
      if (pages === 1) await upload(app, { caption: 'late' }, await image('jpeg', 20, 20, 99))
    } else {
      t.notOk(res.headers.link, 'no Link header on the last page')
      url = undefined
    }
    if (pages > 10) break
  }
  t.equal(pages, 3)
  t.same(seen, newestFirst, 'every photo once, in order, across pages')

  // limit bounds
  problem(t, await send(t, app, { url: '/v1/photos?limit=0' }), 400, 'limit=0')
  problem(t, await send(t, app, { url: '/v1/photos?limit=101' }), 400, 'limit=101')
  problem(t, await send(t, app, { url: '/v1/photos?limit=abc' }), 400, 'limit=abc')
  t.equal((await send(t, app, { url: '/v1/photos?limit=100' })).statusCode, 200)
  problem(t, await send(t, app, { url: '/v1/photos?sort=oldest' }), 400, 'unknown query parameter')

  // tampered cursors
  const first = (await send(t, app, { url: '/v1/photos?limit=1' })).json()
  const cursor: string = first.next
  t.type(cursor, 'string')
  const [payload, sum] = cursor.split('.') as [string, string]
  const decoded = Buffer.from(payload, 'base64url').toString('utf8')
  const forged = Buffer.from(decoded.replace(/\d(?=\D*$)/, (d) => String((Number(d) + 1) % 10))).toString('base64url')
  const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1)
  for (const bad of [`${forged}.${sum}`, `${flip(payload, 2)}.${sum}`, `${payload}.${flip(sum, 0)}`, payload, 'garbage', `${cursor}.x`, cursor.slice(0, -1)]) {
    problem(t, await send(t, app, { url: `/v1/photos?cursor=${encodeURIComponent(bad)}` }), 400, `tampered cursor ${bad}`)
  }
  t.equal((await send(t, app, { url: `/v1/photos?cursor=${encodeURIComponent(cursor)}` })).statusCode, 200, 'the untampered cursor works')
})

t.test('PATCH a photo', async (t) => {
  const { app, dataDir } = await build(t)
  const photo = await upload(app, { caption: 'Old caption', credit: 'Xinhua', altText: 'alt' })
  await sleep(3)

  const res = await send(t, app, { method: 'PATCH', url: `/v1/photos/${photo.id}`, payload: { caption: 'New caption', credit: 'AFP' } })
  t.equal(res.statusCode, 200, res.body)
  const patched = res.json()
  checkPhoto(t, patched)
  t.match(patched, { id: photo.id, caption: 'New caption', credit: 'AFP', altText: 'alt', sha256: photo.sha256, url: photo.url, createdAt: photo.createdAt })
  t.ok(Date.parse(patched.updatedAt) > Date.parse(photo.updatedAt), 'updatedAt moves forward')

  const focal = await send(t, app, {
    method: 'PATCH', url: `/v1/photos/${photo.id}`, headers: { 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify({ focalPoint: { x: 0.1, y: 0.9 } })
  })
  t.equal(focal.statusCode, 200, focal.body)
  t.same(focal.json().focalPoint, { x: 0.1, y: 0.9 })
  t.equal(focal.json().caption, 'New caption', 'fields not in the patch are kept')
  // a merge patch merges objects: one coordinate moves, the other stays
  const moved = await send(t, app, {
    method: 'PATCH', url: `/v1/photos/${photo.id}`, headers: { 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify({ focalPoint: { x: 0.3 } })
  })
  t.equal(moved.statusCode, 200, moved.body)
  t.same(moved.json().focalPoint, { x: 0.3, y: 0.9 }, 'y kept')
  const movedY = await send(t, app, { method: 'PATCH', url: `/v1/photos/${photo.id}`, payload: { focalPoint: { y: 0.4 } } })
  t.same(movedY.json().focalPoint, { x: 0.3, y: 0.4 }, 'x kept')

  const cleared = await send(t, app, { method: 'PATCH', url: `/v1/photos/${photo.id}`, payload: { focalPoint: null, altText: null } })
  t.equal(cleared.statusCode, 200, cleared.body)
  t.equal(cleared.json().focalPoint, null, 'null clears the focal point')
  t.equal(cleared.json().altText, null)
  t.same((await send(t, app, { url: `/v1/photos/${photo.id}` })).json(), cleared.json(), 'the change is stored')

  const before = (await send(t, app, { url: `/v1/photos/${photo.id}` })).json()
  const bad: [string, unknown][] = [
    ['unknown field', { caption: 'x', photographer: 'Li' }],
    ['read-only field', { width: 10 }],
    ['empty patch', {}],
    ['focalPoint out of range', { focalPoint: { x: 2, y: 0.5 } }],
    ['focalPoint without y', { focalPoint: { x: 0.5 } }],
    ['focalPoint with extra key', { focalPoint: { x: 0.5, y: 0.5, z: 1 } }],
    ['caption not a string', { caption: 42 }],
    ['an array', [{ caption: 'x' }]]
  ]
  for (const [name, body] of bad) {
    problem(t, await send(t, app, { method: 'PATCH', url: `/v1/photos/${photo.id}`, payload: body as object }), 400, `PATCH ${name}`)
  }
  const half = (await send(t, app, { method: 'PATCH', url: `/v1/photos/${photo.id}`, payload: { focalPoint: { x: 0.5 } } })).json()
  t.match(half.errors, [{ path: '/focalPoint/y', message: String }], 'a photo without a focal point needs both coordinates')
  const unknown = (await send(t, app, { method: 'PATCH', url: `/v1/photos/${photo.id}`, payload: { photographer: 'Li' } })).json()
  t.match(unknown.errors, [{ path: /\/photographer$/, message: String }], 'the unknown field is named')
  problem(t, await send(t, app, { method: 'PATCH', url: `/v1/photos/${photo.id}`, headers: { 'content-type': 'application/json' }, payload: '{"caption":' }), 400, 'malformed JSON')
  t.same((await send(t, app, { url: `/v1/photos/${photo.id}` })).json(), before, 'refused patches change nothing')

  problem(t, await send(t, app, { method: 'PATCH', url: '/v1/photos/00000000-0000-4000-8000-000000000000', payload: { caption: 'x' } }), 404, 'PATCH unknown id')
  t.equal(storedFiles(dataDir).length, 1)
})

t.test('GET the original file', async (t) => {
  const { app, anon } = await build(t)
  const data = await image('jpeg', 64, 48, 11)
  const photo = await upload(app, {}, data)

  const res = await anon({ url: photo.url })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'image/jpeg')
  t.ok(res.rawPayload.equals(data), 'the same bytes')
  t.equal(Number(res.headers['content-length']), data.length)
  t.equal(res.headers.etag, `"${sha256(data)}"`)
  t.match(res.headers['cache-control'], /immutable/, 'the versioned url is immutable')
  t.match(res.headers['cache-control'], /max-age=\d{7,}/, 'and cached for long')
  t.equal(res.headers['x-content-type-options'], 'nosniff')
  const keyed = await app.inject({ url: photo.url })
  t.equal(keyed.headers['cache-control'], 'private, no-store', 'read with a key: never kept by shared caches')

  const plain = await anon({ url: `/v1/photos/${photo.id}/file` })
  t.equal(plain.statusCode, 200)
  t.ok(plain.rawPayload.equals(data))
  t.equal(plain.headers.etag, res.headers.etag)
  const cc = String(plain.headers['cache-control'])
  t.notMatch(cc, /immutable/, 'without ?v not immutable')
  const maxAge = Number(/max-age=(\d+)/.exec(cc)?.[1])
  t.ok(maxAge > 0 && maxAge <= 3600, `without ?v a short max-age (${cc})`)

  const wrong = await anon({ url: `/v1/photos/${photo.id}/file?v=0000000000000000` })
  t.equal(wrong.statusCode, 200)
  t.notMatch(String(wrong.headers['cache-control']), /immutable/, 'a ?v that does not match is not immutable')

  const notModified = await anon({ url: photo.url, headers: { 'if-none-match': res.headers.etag as string } })
  t.equal(notModified.statusCode, 304)
  t.equal(notModified.rawPayload.length, 0, '304 has no body')
  t.equal(notModified.headers.etag, res.headers.etag)
  const weak = await anon({ url: photo.url, headers: { 'if-none-match': `"other", W/${res.headers.etag}` } })
  t.equal(weak.statusCode, 304, 'a list holding the (weak) ETag answers 304')
  const other = await anon({ url: photo.url, headers: { 'if-none-match': '"something-else"' } })
  t.equal(other.statusCode, 200)
  t.ok(other.rawPayload.equals(data))

  // without If-None-Match, If-Modified-Since decides (HTTP dates are to the second)
  const lastModified = res.headers['last-modified'] as string
  t.equal((await anon({ url: photo.url, headers: { 'if-modified-since': lastModified } })).statusCode, 304, 'the Last-Modified sent back: 304')
  t.equal((await anon({ url: photo.url, headers: { 'if-modified-since': new Date(Date.parse(lastModified) + 86400_000).toUTCString() } })).statusCode, 304, 'a later date: 304')
  const older = await anon({ url: photo.url, headers: { 'if-modified-since': new Date(Date.parse(lastModified) - 1000).toUTCString() } })
  t.equal(older.statusCode, 200, 'a date before the last change: the file')
  t.ok(older.rawPayload.equals(data))
  t.equal((await anon({ url: photo.url, headers: { 'if-modified-since': 'yesterday' } })).statusCode, 200, 'a date that is no date is ignored')
  t.equal((await anon({ url: photo.url, headers: { 'if-modified-since': lastModified, 'if-none-match': '"something-else"' } })).statusCode, 200,
    'If-None-Match wins over If-Modified-Since')

  problem(t, await anon({ url: '/v1/photos/00000000-0000-4000-8000-000000000000/file' }), 404, 'file of unknown photo')
  problem(t, await anon({ url: `/v1/photos/${photo.id}/file?v=${'a'.repeat(100)}` }), 400, 'over-long v')
})

t.test('a Range of the file answers 206 with those bytes only; a range past the end a 416', async (t) => {
  const { app, anon } = await build(t)
  const data = await image('png', 300, 200, 21)
  const photo = await upload(app, {}, data)
  const size = data.length
  const rendition = `/v1/photos/${photo.id}/file?width=320&format=webp`
  // the first request for a rendition makes it (its bytes are in memory), the next reads it from storage
  const made = await anon({ url: rendition, headers: { range: 'bytes=0-9' } })
  const stored = await anon({ url: rendition })
  t.equal(stored.statusCode, 200)
  t.equal(made.statusCode, 206, 'a rendition just made serves the range')
  t.ok(made.rawPayload.equals(stored.rawPayload.subarray(0, 10)), 'the range of the rendition')
  t.ok((await anon({ url: rendition, headers: { range: 'bytes=-4' } })).rawPayload.equals(stored.rawPayload.subarray(-4)), 'and of the stored one')

  for (const [range, start, end] of [['bytes=0-99', 0, 99], ['bytes=100-', 100, size - 1], ['bytes=-50', size - 50, size - 1],
    [`bytes=10-${size + 1000}`, 10, size - 1], ['bytes=0-9, 10-19', 0, 19], ['bytes=5-5', 5, 5],
    // a suffix longer than the file is the whole of it (RFC 9110 14.1.3); empty list elements and spaces are allowed
    [`bytes=-${size + 5000}`, 0, size - 1], ['bytes=0-9,', 0, 9], ['bytes=,0-9', 0, 9], ['bytes= 0-9', 0, 9], ['bytes=0-9 ,10-19', 0, 19],
    ['bytes=20-29,0-25', 0, 29], ['BYTES=0-9', 0, 9], [`bytes=0-${'9'.repeat(30)}`, 0, size - 1]] as const) {
    const res = await anon({ url: photo.url, headers: { range } })
    t.equal(res.statusCode, 206, `${range}: 206`)
    t.equal(res.headers['content-range'], `bytes ${start}-${end}/${size}`, `${range}: Content-Range`)
    t.equal(Number(res.headers['content-length']), end - start + 1, `${range}: Content-Length`)
    t.ok(res.rawPayload.equals(data.subarray(start, end + 1)), `${range}: those bytes`)
    t.equal(res.headers['content-type'], 'image/png')
    t.equal(res.headers.etag, `"${photo.sha256}"`, `${range}: the file's ETag`)
  }
  const whole = await anon({ url: photo.url })
  t.equal(whole.headers['accept-ranges'], 'bytes', 'the file says ranges are served')

  // asked in another unit, malformed, or as several ranges: the whole file (RFC 9110 allows ignoring the header)
  for (const range of ['items=0-5', 'bytes=abc', 'bytes 0-5', 'bytes=1-2-3', 'bytes=0-9,20-29', `bytes=${'0-1,'.repeat(400)}0-1`, 'bytes=-', 'bytes=',
    'bytes=9-5', 'bytes=--1', 'bytes=0x1-5', 'bytes=+1-5']) {
    const res = await anon({ url: photo.url, headers: { range } })
    t.equal(res.statusCode, 200, `${range.slice(0, 30)}: the whole file`)
    t.ok(res.rawPayload.equals(data), `${range.slice(0, 30)}: every byte`)
  }
  for (const range of [`bytes=${size}-`, `bytes=${size + 10}-${size + 20}`, 'bytes=-0', `bytes=${size}-, -0`]) {
    const res = problem(t, await anon({ url: photo.url, headers: { range } }), 416, range)
    t.equal((await anon({ url: photo.url, headers: { range } })).headers['content-range'], `bytes */${size}`, `${range}: the size in Content-Range`)
    t.match(res.detail, String(size))
  }

  // If-Range: the range only while the file is the one the client holds part of, which only its ETag says for sure
  const lastModified = whole.headers['last-modified'] as string
  t.equal((await anon({ url: photo.url, headers: { range: 'bytes=0-9', 'if-range': whole.headers.etag as string } })).statusCode, 206, 'If-Range with the ETag: the range')
  for (const ifRange of ['"other"', `W/${whole.headers.etag}`, lastModified, new Date(Date.parse(lastModified) - 1000).toUTCString()]) {
    const res = await anon({ url: photo.url, headers: { range: 'bytes=0-9', 'if-range': ifRange } })
    t.equal(res.statusCode, 200, `If-Range ${ifRange}: another file, the whole of it`)
    t.ok(res.rawPayload.equals(data))
  }
  // a 304 is decided before the range
  t.equal((await anon({ url: photo.url, headers: { range: 'bytes=0-9', 'if-none-match': whole.headers.etag as string } })).statusCode, 304)
  const head = await anon({ method: 'HEAD', url: photo.url, headers: { range: 'bytes=0-9' } })
  t.equal(head.statusCode, 206, 'HEAD with a range')
  t.equal(head.headers['content-range'], `bytes 0-9/${size}`)
  t.equal(head.rawPayload.length, 0)
  t.equal(head.headers['content-length'], '10')

  // a HEAD opens the file for its size and reads none of it (from S3, the whole object was fetched and thrown away)
  const storage = app.storage
  const get = storage.get.bind(storage)
  let reads = 0
  storage.get = async (key) => {
    const file = await get(key)
    return file && { ...file, read: (range) => { reads++; return file.read(range) } }
  }
  t.teardown(() => { storage.get = get })
  const bare = await anon({ method: 'HEAD', url: photo.url })
  t.equal(bare.statusCode, 200)
  t.equal(bare.headers['content-length'], String(size), 'the size, as a GET would send')
  t.equal(reads, 0, 'no byte read')
  await anon({ url: photo.url })
  t.equal(reads, 1, 'a GET reads')
})

t.test('PUT /v1/photos/{id}/file replaces the bytes and keeps the record', async (t) => {
  const { app, dataDir, anon } = await build(t)
  const first = await image('jpeg', 64, 48, 12)
  const photo = await upload(app, { caption: 'Keep me', credit: 'Xinhua', focalX: '0.5', focalY: '0.5' }, first)
  const [oldFile] = storedFiles(dataDir)
  t.ok(oldFile?.includes(photo.sha256), 'stored under its hash')

  const second = await image('png', 30, 90, 13)
  const res = await send(t, app, { method: 'PUT', url: `/v1/photos/${photo.id}/file`, headers: { 'content-type': 'image/png' }, payload: second })
  t.equal(res.statusCode, 200, res.body)
  const replaced = res.json()
  checkPhoto(t, replaced)
  t.match(replaced, {
    id: photo.id,
    caption: 'Keep me',
    credit: 'Xinhua',
    width: 30,
    height: 90,
    mimeType: 'image/png',
    bytes: second.length,
    sha256: sha256(second),
    createdAt: photo.createdAt
  })
  t.same(replaced.focalPoint, { x: 0.5, y: 0.5 })
  t.not(replaced.url, photo.url, 'a new url')
  t.not(replaced.sha256, photo.sha256)
  t.same((await send(t, app, { url: `/v1/photos/${photo.id}` })).json(), replaced, 'the record is stored')

  const files = storedFiles(dataDir)
  t.equal(files.length, 1, 'the old file is removed when unused')
  t.ok(files[0]?.includes(replaced.sha256), 'only the new file remains')
  const file = await anon({ url: replaced.url })
  t.equal(file.statusCode, 200)
  t.equal(file.headers['content-type'], 'image/png')
  t.ok(file.rawPayload.equals(second), 'serves the new bytes')
  t.match(file.headers['cache-control'], /immutable/)
  const stale = await anon({ url: photo.url })
  t.notMatch(String(stale.headers['cache-control']), /immutable/, 'the old url is no longer cached forever')
  t.equal(stale.statusCode, 200)
  t.ok(stale.rawPayload.equals(second), 'the old url serves the current bytes')

  // multipart replace
  const third = await image('webp', 20, 10, 14)
  const mp = await send(t, app, { method: 'PUT', url: `/v1/photos/${photo.id}/file`, ...multipart({}, { filename: 'third.webp', data: third }) })
  t.equal(mp.statusCode, 200, mp.body)
  t.match(mp.json(), { id: photo.id, mimeType: 'image/webp', width: 20, height: 10, sha256: sha256(third), caption: 'Keep me', originalFilename: 'third.webp' })
  t.equal(storedFiles(dataDir).length, 1)
  // a raw body has no name: the old one stays for a file of its type, and is dropped for another (no PNG called a .webp)
  const sameType = await send(t, app, { method: 'PUT', url: `/v1/photos/${photo.id}/file`, headers: { 'content-type': 'image/webp' }, payload: await image('webp', 20, 10, 17) })
  t.equal(sameType.json().originalFilename, 'third.webp', 'a WebP for a WebP keeps its name')
  const otherType = await send(t, app, { method: 'PUT', url: `/v1/photos/${photo.id}/file`, headers: { 'content-type': 'image/png' }, payload: await image('png', 20, 10, 18) })
  t.match(otherType.json(), { mimeType: 'image/png', originalFilename: null }, 'a PNG for a WebP drops it')
  const back = await send(t, app, { method: 'PUT', url: `/v1/photos/${photo.id}/file`, ...multipart({}, { filename: 'third.webp', data: third }) })
  t.equal(back.statusCode, 200, back.body)
  t.equal(storedFiles(dataDir).length, 1)

  // refused replacements change nothing
  const current = (await send(t, app, { url: `/v1/photos/${photo.id}` })).json()
  problem(t, await send(t, app, { method: 'PUT', url: `/v1/photos/${photo.id}/file`, headers: { 'content-type': 'image/jpeg' }, payload: Buffer.from('not an image') }), 415, 'PUT text')
  problem(t, await send(t, app, { method: 'PUT', url: `/v1/photos/${photo.id}/file`, headers: { 'content-type': 'image/jpeg' }, payload: Buffer.alloc(0) }), 400, 'PUT empty')
  for (const type of ['application/json', 'application/merge-patch+json', 'text/plain; charset=utf-8']) {
    for (const [method, url] of [['PUT', `/v1/photos/${photo.id}/file`], ['POST', '/v1/photos']] as const) {
      const body = problem(t, await send(t, app, { method, url, headers: { 'content-type': type }, payload: first }), 415, `${method} image bytes as ${type}`)
      t.match(body, { code: 'CMS_UNSUPPORTED_MEDIA_TYPE', detail: /not accepted here: send multipart\/form-data or image\/\* or application\/octet-stream$/ }, `${method} as ${type}: what is accepted`)
    }
  }
  const withFields = problem(t, await send(t, app, { method: 'PUT', url: `/v1/photos/${photo.id}/file`, ...multipart({ caption: 'x' }, { data: first }) }), 400, 'PUT with fields')
  t.same(withFields.errors, [{ path: '/caption', message: 'Unknown field' }], 'errors[] names the field')
  const queryFields = problem(t, await send(t, app, { method: 'PUT', url: `/v1/photos/${photo.id}/file?caption=x&credit=y`, headers: { 'content-type': 'image/jpeg' }, payload: first }), 400, 'PUT with query fields')
  t.same(paths(queryFields), ['/query/caption'], 'a query parameter the route does not take, as on every route')
  problem(t, await send(t, app, { method: 'PUT', url: `/v1/photos/${photo.id}/file`, ...multipart({}) }), 400, 'PUT without file')
  t.same((await send(t, app, { url: `/v1/photos/${photo.id}` })).json(), current, 'unchanged')
  t.equal(storedFiles(dataDir).length, 1)
  t.same(tmpFiles(dataDir), [])

  problem(t, await send(t, app, { method: 'PUT', url: '/v1/photos/00000000-0000-4000-8000-000000000000/file', headers: { 'content-type': 'image/jpeg' }, payload: first }), 404, 'PUT unknown id')
  problem(t, await send(t, app, { method: 'PUT', url: '/v1/photos/00000000-0000-4000-8000-000000000000/file', headers: { 'content-type': 'image/svg+xml' }, payload: '<svg xmlns="http://www.w3.org/2000/svg"/>' }), 404, 'PUT unknown id: a 404 before the bytes are looked at')
  t.equal(storedFiles(dataDir).length, 1, 'a replace of an unknown photo stores nothing')
})

t.test('PUT file keeps the old bytes while another record uses them', async (t) => {
  const { app, dataDir } = await build(t)
  const shared = await image('jpeg', 64, 48, 15)
  const a = await upload(app, { caption: 'a' }, shared)
  const b = await upload(app, { caption: 'b' }, shared)
  const res = await send(t, app, { method: 'PUT', url: `/v1/photos/${a.id}/file`, headers: { 'content-type': 'image/gif' }, payload: await image('gif', 8, 8, 16) })
  t.equal(res.statusCode, 200, res.body)
  t.equal(storedFiles(dataDir).length, 2, 'old bytes kept for the other record, new bytes added')
  const file = await send(t, app, { url: b.url })
  t.equal(file.statusCode, 200)
  t.ok(file.rawPayload.equals(shared))

  // replacing with the same bytes it already has is harmless
  const same = await send(t, app, { method: 'PUT', url: `/v1/photos/${b.id}/file`, headers: { 'content-type': 'image/jpeg' }, payload: shared })
  t.equal(same.statusCode, 200, same.body)
  t.equal(same.json().sha256, b.sha256)
  t.equal(storedFiles(dataDir).length, 2)
  t.equal((await send(t, app, { url: b.url })).statusCode, 200, 'the file is still there')
})

t.test('DELETE a photo', async (t) => {
  const { app, dataDir } = await build(t)
  const photo = await upload(app, { caption: 'gone' })
  t.equal(storedFiles(dataDir).length, 1)
  const res = await send(t, app, { method: 'DELETE', url: `/v1/photos/${photo.id}` })
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  t.same(storedFiles(dataDir), [], 'the file is removed from disk')
  problem(t, await send(t, app, { url: `/v1/photos/${photo.id}` }), 404, 'GET after delete')
  problem(t, await send(t, app, { url: photo.url }), 404, 'file after delete')
  problem(t, await send(t, app, { method: 'DELETE', url: `/v1/photos/${photo.id}` }), 404, 'second delete')
  t.same((await send(t, app, { url: '/v1/photos' })).json().data, [])
})

t.test('DELETE a photo still in use is a 409', async (t) => {
  const { app, dataDir } = await build(t)
  const lead = await upload(app, { caption: 'lead' }, await image('jpeg', 20, 20, 20))
  const inBody = await upload(app, { caption: 'body' }, await image('jpeg', 20, 20, 21))
  const portrait = await upload(app, { caption: 'portrait' }, await image('jpeg', 20, 20, 22))

  const article = await create(app, '/v1/articles', { headline: 'Harbin expo opens', leadPhotoId: lead.id })
  t.equal(article.leadPhotoId, lead.id)
  await create(app, '/v1/articles', { headline: 'Ice festival', body: [{ type: 'photo', photoId: inBody.id }] })
  const byline = await create(app, '/v1/bylines', { name: 'Li Wei', photoId: portrait.id })
  t.equal(byline.photoId, portrait.id)

  for (const [name, photo] of [['lead photo', lead], ['body photo', inBody], ['byline portrait', portrait]] as const) {
    const res = await send(t, app, { method: 'DELETE', url: `/v1/photos/${photo.id}` })
    problem(t, res, 409, `DELETE ${name}`)
    t.equal((await send(t, app, { url: `/v1/photos/${photo.id}` })).statusCode, 200, `${name} is kept`)
    t.equal((await send(t, app, { url: photo.url })).statusCode, 200, `${name} file is kept`)
  }
  t.equal(storedFiles(dataDir).length, 3, 'no file removed')

  // once the article lets go, the photo can be deleted
  const patch = await send(t, app, { method: 'PATCH', url: `/v1/articles/${article.id}`, payload: { leadPhotoId: null } })
  t.equal(patch.statusCode, 200, patch.body)
  t.equal((await send(t, app, { method: 'DELETE', url: `/v1/photos/${lead.id}` })).statusCode, 204)
  t.equal(storedFiles(dataDir).length, 2)
})

t.test('two instances on one database: a photo deleted on one while its bytes are uploaded again on the other keeps a file for every record', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-two-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const files = filesystemStorage(path.join(dir, 'photos'))
  const options = { maxPixels: 100_000_000, widths: [320], aspects: [1] }
  /** A storage whose `exists` and `withdraw` wait, once each, for the test to let them go on (each instance has its own). */
  const held = () => {
    const waits: Partial<Record<'exists' | 'withdraw', { reached: Promise<void>, go: () => void }>> = {}
    const hold = (name: 'exists' | 'withdraw') => {
      let reached!: () => void; let go!: () => void
      const entered = new Promise<void>((resolve) => { reached = resolve })
      const released = new Promise<void>((resolve) => { go = resolve })
      waits[name] = { reached: entered, go }
      return async () => { reached(); await released }
    }
    const gates: Partial<Record<'exists' | 'withdraw', () => Promise<void>>> = {}
    const storage: Storage = {
      ...files,
      exists: async (key) => { const gate = gates.exists; delete gates.exists; const found = await files.exists(key); if (gate) await gate(); return found },
      withdraw: async (key) => { const gate = gates.withdraw; delete gates.withdraw; if (gate) await gate(); return files.withdraw(key) }
    }
    return { storage, hold: (name: 'exists' | 'withdraw') => { gates[name] = hold(name); return waits[name]! } }
  }
  const [a, b] = [held(), held()]
  const storeA = await openStore({ file: path.join(dir, 'cms.sqlite') })
  const storeB = await openStore({ file: path.join(dir, 'cms.sqlite') })
  t.teardown(() => { storeA.close(); storeB.close() })
  const onA = photosService(storeA, a.storage, options)
  const onB = photosService(storeB, b.storage, options)
  const editor: Write = { actor: { keyId: 'k', name: 'editor', role: 'editor' } }
  // 1. B finds the file there and, before it commits its record, A deletes the only other record and its bytes
  let data = await image('png', 8, 8, 1)
  let first = await onA.create({ data }, {})
  let gate = b.hold('exists')
  let uploading = onB.create({ data }, {})
  await gate.reached
  await onA.delete(first.id, editor)
  t.notOk(await files.exists(`${first.sha256}.png`), 'A took the bytes nobody used')
  gate.go()
  let again = await uploading
  t.ok(await files.exists(`${again.sha256}.png`), 'B, finding them gone once committed, put them back')

  // 2. A finds no record using the bytes, then B commits one before A takes them out: A puts them back
  data = await image('png', 8, 8, 2)
  first = await onA.create({ data }, {})
  gate = a.hold('withdraw')
  const deleting = onA.delete(first.id, editor)
  await gate.reached
  again = await onB.create({ data }, {})
  gate.go()
  await deleting
  t.ok(await files.exists(`${again.sha256}.png`), 'A, finding a record using them once taken out, put them back')
  t.equal((await onA.delete(again.id, editor), await files.exists(`${again.sha256}.png`)), false, 'and the last record deleted takes them')
})
