import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { S3Client, ListObjectsV2Command, HeadObjectCommand, CreateBucketCommand, DeleteBucketCommand } from '@aws-sdk/client-s3'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { createServer as createHttpServer } from 'node:http'
import { build, cli, image, multipart, problem, storedFiles } from './helper.js'
import { loadConfig, ConfigError } from '../src/config.js'
import { filesystemStorage } from '../src/storage/filesystem.js'
import { s3Storage } from '../src/storage/s3.js'
import type { Storage } from '../src/storage/index.js'

type Test = import('tap').Test

/**
 * Photo storage, both drivers held to one contract: the filesystem's, and S3's against a real S3 server speaking the
 * protocol over HTTP (s3rver, in this process). Then the photo API end to end with its photos in S3.
 */

const sha = (text: string) => createHash('sha256').update(text).digest('hex')
const bytesOf = async (stream: Readable) => { const parts: Buffer[] = []; for await (const part of stream) parts.push(part as Buffer); return Buffer.concat(parts) }
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }

async function s3Server (t: Test, buckets = ['photos']) {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-s3-'))
  const server = fork(fileURLToPath(new URL('s3-server.mjs', import.meta.url)), [directory, ...buckets], { execArgv: ['--openssl-legacy-provider'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const { port } = await new Promise<{ port: number }>((resolve, reject) => { server.once('message', resolve as never); server.once('exit', (code) => reject(new Error(`the S3 server exited (${code})`))) })
  const close = async () => {
    if (server.exitCode !== null || server.signalCode !== null) return
    const exited = new Promise((resolve) => server.once('exit', resolve))
    server.kill()
    await exited
  }
  t.teardown(async () => { await close(); fs.rmSync(directory, { recursive: true, force: true }) })
  const endpoint = `http://127.0.0.1:${port}`
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: CREDENTIALS })
  t.teardown(() => client.destroy())
  /** Every object in a bucket, by key. */
  const objects = async (bucket = 'photos') => ((await client.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key!).sort()
  return { endpoint, client, objects, close }
}

const original = (n: number) => `${sha(`original ${n}`)}.jpg`
const rendition = (n: number, variant: string) => `r/${sha(`original ${n}`)}/${variant}.webp`

/** What every driver must do, as the photos service relies on it. */
async function contract (t: Test, storage: Storage) {
  const key = original(1)
  const data = Buffer.from('0123456789'.repeat(100))
  t.equal(await storage.get(key), undefined, 'a key never written holds nothing')
  t.equal(await storage.exists(key), false)
  await storage.put(key, data)
  t.equal(await storage.exists(key), true)
  const file = await storage.get(key)
  t.equal(file?.size, 1000, 'the size is known before any byte is read')
  t.same(await bytesOf(file!.read()), data, 'the bytes read back are those written')
  const ranged = await storage.get(key)
  t.same(await bytesOf(ranged!.read({ start: 10, end: 24 })), data.subarray(10, 25), 'a range reads those bytes only, both ends included')
  const unread = await storage.get(key)
  unread!.discard()

  // a reader that goes away part-way: the rest is not waited for, nothing breaks
  const big = Buffer.alloc(4 * 1024 * 1024, 7)
  await storage.put(original(2), big)
  const partial = (await storage.get(original(2)))!.read()
  await new Promise<void>((resolve) => partial.once('data', () => { partial.destroy(); resolve() }))
  t.equal(await storage.exists(original(2)), true)

  await storage.put(key, data)
  t.same(await bytesOf((await storage.get(key))!.read()), data, 'the same bytes written again under their key')

  for (const bad of ['../etc/passwd', `${sha('x')}.jpg/../../y`, 'r/../../x.jpg', '', `${sha('x').toUpperCase()}.jpg`]) {
    await t.rejects(storage.put(bad, data), { message: /Invalid storage key/ }, `a key that is not ours is refused: ${JSON.stringify(bad)}`)
  }

  // taken out, then put back; taken out, then discarded
  const withdrawn = await storage.withdraw(key)
  t.ok(withdrawn, 'a key holding bytes can be withdrawn')
  t.equal(await storage.exists(key), false, 'withdrawn bytes are no longer under their key')
  t.equal(await storage.get(key), undefined)
  await withdrawn!.restore()
  t.same(await bytesOf((await storage.get(key))!.read()), data, 'restored bytes are back under their key, whole')
  const again = await storage.withdraw(key)
  await again!.discard()
  t.equal(await storage.exists(key), false, 'discarded bytes are gone')
  t.equal(await storage.withdraw(key), undefined, 'withdrawing a key holding nothing gives nothing')
  await storage.delete(key)
  await storage.delete(original(2))
  t.equal(await storage.exists(original(2)), false)

  // renditions of one original cleared together, the others' left
  const variants = ['w160', 'w320', 'w480', 'w640', 'w800', 'w1024', 'w1280']
  for (const v of variants) await storage.put(rendition(3, v), Buffer.from(v))
  await storage.put(rendition(4, 'w160'), Buffer.from('kept'))
  await storage.deletePrefix(`r/${sha('original 3')}/`)
  for (const v of variants) t.equal(await storage.exists(rendition(3, v)), false, `rendition ${v} removed with its prefix`)
  t.equal(await storage.exists(rendition(4, 'w160')), true, 'another original\'s rendition is kept')
  await storage.deletePrefix(`r/${sha('original 5')}/`)
  await t.rejects(storage.deletePrefix('r/'), { message: /Invalid storage prefix/ }, 'a prefix wider than one original\'s renditions is refused')
  await storage.check()
}

t.test('the filesystem driver keeps the contract', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-fs-'))
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }))
  await contract(t, filesystemStorage(root))
})

t.test('the S3 driver keeps the contract, under its prefix, listing a page at a time', async (t) => {
  const s3 = await s3Server(t)
  // pages of 2 keys: clearing 7 renditions takes 4 listings
  const storage = await s3Storage({ bucket: 'photos', prefix: 'cms/photos/', endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, pageSize: 2, client: { credentials: CREDENTIALS } })
  await contract(t, storage)
  const left = await s3.objects()
  t.same(left.filter((k) => !k.endsWith('.ready')), [`cms/photos/${rendition(4, 'w160')}`], 'only what the contract left, under the prefix; nothing withdrawn is left aside')
  t.ok(left.every((k) => k.startsWith('cms/photos/')), 'nothing outside the prefix')
  await storage.put(original(6), Buffer.from('jpeg bytes'))
  const head = await s3.client.send(new HeadObjectCommand({ Bucket: 'photos', Key: `cms/photos/${original(6)}` }))
  t.equal(head.ContentType, 'image/jpeg', 'objects carry their image type, for anyone reading the bucket directly')
})

t.test('a bucket that is not there stops the start with one line; one gone later is a 503, not a 500 nor a missing photo', async (t) => {
  const s3 = await s3Server(t)
  const options = { prefix: '', endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, client: { credentials: CREDENTIALS, maxAttempts: 1 } }
  await t.rejects(s3Storage({ ...options, bucket: 'nope' }), new ConfigError(`Invalid configuration: S3_BUCKET: the bucket nope at ${s3.endpoint} does not exist`),
    'a typo in S3_BUCKET: every photo read would have been a 404 (a HEAD cannot tell a missing bucket from a missing object)')
  await s3.client.send(new CreateBucketCommand({ Bucket: 'gone' }))
  const storage = await s3Storage({ ...options, bucket: 'gone' })
  await s3.client.send(new DeleteBucketCommand({ Bucket: 'gone' }))
  await t.rejects(storage.put(original(1), Buffer.from('x')), { statusCode: 503, code: 'CMS_UNAVAILABLE' }, 'a write into a bucket gone: 503 (a 404 on a write was a 500)')
  await t.rejects(storage.deletePrefix(`r/${sha('original 1')}/`), { statusCode: 503, code: 'CMS_UNAVAILABLE' }, 'a listing too')
  await t.rejects(storage.check(), { statusCode: 503, code: 'CMS_UNAVAILABLE' }, 'the readiness check')
})

t.test('a 404 is an answer about the object for a read only: for a write, the storage is not as it should be (503)', async (t) => {
  // a service that has the bucket, and answers every other request with a bodiless 404
  const odd = createHttpServer((req, res) => { res.statusCode = req.method === 'HEAD' && /^\/photos\/?(\?|$)/.test(req.url!) ? 200 : 404; res.end() })
  await new Promise<void>((resolve) => odd.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { odd.close(); odd.closeAllConnections() })
  const storage = await s3Storage({ bucket: 'photos', prefix: '', endpoint: `http://127.0.0.1:${(odd.address() as AddressInfo).port}`, region: 'us-east-1', forcePathStyle: true, client: { credentials: CREDENTIALS, maxAttempts: 1 } })
  t.equal(await storage.exists(original(1)), false, 'a HEAD\'s 404: no such object')
  t.equal(await storage.get(original(1)), undefined)
  await t.rejects(storage.put(original(1), Buffer.from('x')), { statusCode: 503, code: 'CMS_UNAVAILABLE' }, 'a PUT\'s 404 (it was passed on as a missing object: a 500)')
  await t.rejects(storage.delete(original(1)), { statusCode: 503, code: 'CMS_UNAVAILABLE' })
})

t.test('an S3 that stops answering fails the request with a 503 once the timeout passes, rather than holding it', async (t) => {
  // accepts connections, reads the requests, never answers
  const silent = createServer((socket) => { socket.on('data', () => {}) })
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { silent.close(); silent.unref() })
  const sockets: Socket[] = []
  silent.on('connection', (socket) => sockets.push(socket))
  t.teardown(() => { for (const socket of sockets) socket.destroy() })
  const endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`
  const started = Date.now()
  const storage = await s3Storage({ bucket: 'photos', prefix: '', endpoint, region: 'us-east-1', forcePathStyle: true, timeoutMs: 300, client: { credentials: CREDENTIALS, maxAttempts: 1 } })
  t.ok(Date.now() - started < 4_000, 'the start goes on without the bucket\'s answer')
  for (const [what, call] of [['a HEAD', async () => { await storage.exists(original(1)) }], ['a write', () => storage.put(original(1), Buffer.from('x'))], ['the readiness check', () => storage.check()]] as const) {
    const asked = Date.now()
    await t.rejects(call(), { statusCode: 503, code: 'CMS_UNAVAILABLE' }, what)
    t.ok(Date.now() - asked < 4_000, `${what} given up after the timeout (${Date.now() - asked} ms; it waited for ever)`)
  }
})

t.test('configuration: S3_ variables', async (t) => {
  const base = { DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'cms-cfg-')) }
  t.teardown(() => fs.rmSync(base.DATA_DIR, { recursive: true, force: true }))
  t.equal(loadConfig(base).s3, undefined, 'photos on disk by default')
  t.same(loadConfig({ ...base, S3_BUCKET: 'newsroom-photos' }).s3, { bucket: 'newsroom-photos', prefix: '', endpoint: undefined, region: 'us-east-1', forcePathStyle: false })
  t.same(loadConfig({ ...base, S3_BUCKET: 'b12', S3_PREFIX: 'cms/photos', S3_ENDPOINT: 'http://127.0.0.1:9000/', S3_FORCE_PATH_STYLE: 'TRUE', AWS_REGION: 'eu-west-3' }).s3,
    { bucket: 'b12', prefix: 'cms/photos/', endpoint: 'http://127.0.0.1:9000', region: 'eu-west-3', forcePathStyle: true }, 'a folder ends with /; the region from AWS_REGION')
  t.equal(loadConfig({ ...base, S3_BUCKET: 'b12', S3_REGION: 'auto', AWS_REGION: 'eu-west-3' }).s3?.region, 'auto', 'S3_REGION first')
  const refused: [Record<string, string>, RegExp][] = [
    [{ S3_BUCKET: 'Photos' }, /S3_BUCKET must be an S3 bucket name/],
    [{ S3_BUCKET: 'a' }, /S3_BUCKET must be/],
    [{ S3_BUCKET: 'b12', S3_PREFIX: '/abs' }, /S3_PREFIX must be/],
    [{ S3_BUCKET: 'b12', S3_PREFIX: 'a/../b' }, /S3_PREFIX must be/],
    [{ S3_BUCKET: 'b12', S3_PREFIX: 'a//b' }, /S3_PREFIX must be/],
    [{ S3_BUCKET: 'b12', S3_ENDPOINT: 'http://minio:9000/bucket' }, /S3_ENDPOINT must be an http or https origin/],
    [{ S3_BUCKET: 'b12', S3_ENDPOINT: 'minio:9000' }, /S3_ENDPOINT must be/],
    [{ S3_BUCKET: 'b12', S3_FORCE_PATH_STYLE: 'yes' }, /S3_FORCE_PATH_STYLE must be true or false/],
    [{ S3_PREFIX: 'cms', S3_ENDPOINT: 'http://minio:9000' }, /S3_PREFIX, S3_ENDPOINT are set but S3_BUCKET is not/],
    [{ S3_FORCE_PATH_STYLE: 'true' }, /S3_FORCE_PATH_STYLE is set but S3_BUCKET is not/]
  ]
  for (const [env, message] of refused) t.throws(() => loadConfig({ ...base, ...env }), { message }, JSON.stringify(env))
})

t.test('the photo API with its photos in S3: upload, read whole and in part, renditions, replace, delete', async (t) => {
  const s3 = await s3Server(t)
  process.env.AWS_ACCESS_KEY_ID = CREDENTIALS.accessKeyId
  process.env.AWS_SECRET_ACCESS_KEY = CREDENTIALS.secretAccessKey
  const { app, dataDir } = await build(t, { S3_BUCKET: 'photos', S3_PREFIX: 'newsroom', S3_ENDPOINT: s3.endpoint, S3_FORCE_PATH_STYLE: 'true' })
  t.equal((await app.inject({ url: '/readyz' })).statusCode, 200, 'ready: the bucket takes writes')

  const jpeg = await image('jpeg', 640, 480, 3)
  const body = multipart({ caption: 'Exposition', credit: 'Xinhua' }, { filename: 'expo.jpg', type: 'image/jpeg', data: jpeg })
  const created = await app.inject({ method: 'POST', url: '/v1/photos', headers: body.headers, payload: body.payload })
  t.equal(created.statusCode, 201, 'uploaded')
  const photo = created.json()
  const stored = `newsroom/${photo.sha256}.jpg`
  t.ok((await s3.objects()).includes(stored), 'the original is an object of the bucket, under the prefix')
  t.same(storedFiles(dataDir), [], 'and nothing in the data folder')

  const whole = await app.inject({ url: photo.url })
  t.equal(whole.statusCode, 200)
  t.same(whole.rawPayload, jpeg, 'read back whole, byte for byte')
  t.equal(whole.headers['content-length'], String(jpeg.length))
  const part = await app.inject({ url: photo.url, headers: { range: 'bytes=100-199' } })
  t.equal(part.statusCode, 206)
  t.same(part.rawPayload, jpeg.subarray(100, 200), 'a range, from S3\'s ranged read')
  t.equal(part.headers['content-range'], `bytes 100-199/${jpeg.length}`)
  t.equal((await app.inject({ url: photo.url, headers: { 'if-none-match': whole.headers.etag as string } })).statusCode, 304)
  problem(t, await app.inject({ url: photo.url, headers: { range: `bytes=${jpeg.length}-` } }), 416)

  const webp = await app.inject({ url: `/v1/photos/${photo.id}/file?width=320&format=webp` })
  t.equal(webp.statusCode, 200, 'a rendition made')
  t.equal(webp.headers['content-type'], 'image/webp')
  const renditions = (await s3.objects()).filter((k) => k.startsWith(`newsroom/r/${photo.sha256}/`))
  t.equal(renditions.length, 1, 'the rendition is stored in the bucket once made')
  const again = await app.inject({ url: `/v1/photos/${photo.id}/file?width=320&format=webp` })
  t.same(again.rawPayload, webp.rawPayload, 'and served from there')

  // the file replaced: the old bytes and their renditions leave the bucket
  const png = await image('png', 320, 240, 9)
  const replaced = await app.inject({ method: 'PUT', url: `/v1/photos/${photo.id}/file`, headers: { 'content-type': 'image/png' }, payload: png })
  t.equal(replaced.statusCode, 200, 'the file replaced')
  const now = await s3.objects()
  t.notOk(now.includes(stored), 'the replaced original is gone')
  t.notOk(now.some((k) => k.startsWith(`newsroom/r/${photo.sha256}/`)), 'its renditions too')
  t.ok(now.includes(`newsroom/${replaced.json().sha256}.png`), 'the new one is there')

  t.equal((await app.inject({ method: 'DELETE', url: `/v1/photos/${photo.id}` })).statusCode, 204)
  t.same((await s3.objects()).filter((k) => !k.endsWith('.ready')), [], 'a deleted photo leaves nothing in the bucket')

  // S3 gone: a photo read is a 503 with Retry-After, and the service is not ready
  const kept = (await app.inject({ method: 'POST', url: '/v1/photos', headers: body.headers, payload: body.payload })).json()
  const other = (await app.inject({ method: 'POST', url: '/v1/photos', headers: { 'content-type': 'image/png' }, payload: await image('png', 50, 40, 31) })).json()
  await s3.close()
  const down = await app.inject({ url: kept.url })
  problem(t, down, 503)
  t.equal(down.headers['retry-after'], '5')
  t.equal((await app.inject({ url: '/readyz' })).statusCode, 503)
  // a delete is made once committed: the bytes left behind are the log's to tell, not a 503 saying to try again
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/photos/${other.id}` })).statusCode, 204, 'deleted while S3 is away (it said 503, having deleted it)')
  t.equal((await app.inject({ url: `/v1/photos/${other.id}` })).statusCode, 404)
  // the maintenance command says it in one line, no stack
  const run = await cli(dataDir, ['clear-photo-locations'], { S3_BUCKET: 'photos', S3_PREFIX: 'newsroom', S3_ENDPOINT: s3.endpoint, S3_FORCE_PATH_STYLE: 'true' })
  t.equal(run.code, 1)
  // (before it, on Node.js 20, the SDK's one warning that its releases after January 2027 need Node.js 22)
  t.match(run.stderr.trim().split('\n').at(-1), /^Photo storage did not answer as it should \(\w+: [^\n]*\): run the command again later$/, 'photos:clear-location with S3 away: one line')
  t.notMatch(run.stderr, /\n\s+at /, 'no stack')
})
