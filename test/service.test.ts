import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { build, dialect } from './helper.js'
import { loadConfig, prepareFolders, ConfigError } from '../src/config.js'
import { openStore } from '../src/db/index.js'

t.test('health and readiness', async (t) => {
  const { app } = await build(t)
  t.match((await app.inject({ url: '/healthz' })).json(), { status: 'ok' })
  const ready = await app.inject({ url: '/readyz' })
  t.equal(ready.statusCode, 200)
  t.match(ready.json(), { status: 'ready' })
})

t.test('readiness fails with 503 when the database is gone, and server errors hide their details', async (t) => {
  const { app, anon, databaseUrl } = await build(t)
  if (dialect === 'postgres') {
    // the database dropped under the running app (from the server's maintenance database): readiness and every
    // request that needs it are 503s to retry, that say nothing of the database's name, its server or the error
    const url = new URL(databaseUrl!)
    const name = url.pathname.slice(1)
    url.pathname = '/postgres'
    const admin = new pg.Client({ connectionString: url.href })
    await admin.connect()
    try {
      await admin.query(`drop database ${name} with (force)`)
    } finally {
      await admin.end()
    }
    const ready = await anon({ url: '/readyz' })
    t.equal(ready.statusCode, 503, 'readiness')
    t.equal(ready.headers['content-type'], 'application/problem+json; charset=utf-8')
    for (const [method, path] of [['GET', '/v1/sections'], ['POST', '/v1/sections']] as const) {
      const res = await app.inject({ method, url: path, headers: { 'x-request-id': 'trace-456' }, ...method === 'POST' ? { payload: { name: 'News' } } : {} })
      t.equal(res.statusCode, 503, `${method} ${path}: ${res.body}`)
      t.equal(res.headers['retry-after'], '5', `${method}: Retry-After`)
      t.equal(res.headers['x-request-id'], 'trace-456')
      t.match(res.json(), { type: 'about:blank', title: 'Service Unavailable', status: 503, instance: path, code: 'CMS_UNAVAILABLE', requestId: 'trace-456' })
      t.notMatch(res.body, new RegExp(`${name}|${url.host}|postgres|does not exist|3D000|stack`, 'i'), `${method}: no details`)
    }
  }
  app.store.close()
  const ready = await anon({ url: '/readyz' })
  t.equal(ready.statusCode, 503)
  t.equal(ready.headers['content-type'], 'application/problem+json; charset=utf-8')
  const res = await anon({ url: '/v1/sections', headers: { 'x-request-id': 'trace-123' } })
  t.equal(res.statusCode, 500)
  t.equal(res.headers['x-request-id'], 'trace-123')
  t.same(res.json(), {
    type: 'about:blank',
    title: 'Internal Server Error',
    status: 500,
    detail: 'An unexpected error occurred; quote the request id when reporting it',
    instance: '/v1/sections',
    code: 'CMS_INTERNAL',
    requestId: 'trace-123'
  })
  t.notMatch(res.body, /sqlite|database|stack/i)
})

t.test('every response carries a request id; a hostile one is replaced', async (t) => {
  const { app } = await build(t)
  const own = await app.inject({ url: '/healthz' })
  t.match(own.headers['x-request-id'], /^[0-9a-f-]{36}$/)
  const hostile = await app.inject({ url: '/healthz', headers: { 'x-request-id': 'a b<script>' } })
  t.not(hostile.headers['x-request-id'], 'a b<script>')
})

t.test('unknown routes, bad JSON, wrong media types and oversized bodies are problem documents', async (t) => {
  const { app } = await build(t, { BODY_MAX_BYTES: '2048' })
  const cases = [
    { req: { url: '/v1/nope' }, status: 404 },
    { req: { method: 'POST' as const, url: '/v1/sections', headers: { 'content-type': 'application/json' }, payload: '{"name":' }, status: 400 },
    { req: { method: 'POST' as const, url: '/v1/sections', headers: { 'content-type': 'application/json' }, payload: '{"__proto__":{"x":1},"name":"A"}' }, status: 400 },
    { req: { method: 'POST' as const, url: '/v1/sections', headers: { 'content-type': 'text/plain' }, payload: 'name=A' }, status: 415 },
    { req: { method: 'POST' as const, url: '/v1/sections', payload: { name: 'x'.repeat(4000) } }, status: 413 }
  ]
  for (const { req, status } of cases) {
    const res = await app.inject(req)
    t.equal(res.statusCode, status, `${req.method ?? 'GET'} ${req.url} -> ${status}`)
    t.match(res.headers['content-type'], /^application\/problem\+json/)
    t.match(res.json(), { type: String, title: String, status, detail: String })
  }
  t.same((await app.inject({ url: '/v1/sections' })).json().data, [], 'nothing was created')
})

t.test('configuration is validated with a message naming the variable', async (t) => {
  t.throws(() => loadConfig({ PORT: 'abc' }), /Invalid configuration: .*PORT/)
  t.throws(() => loadConfig({ PORT: '70000' }), /PORT/)
  t.throws(() => loadConfig({ LOG_LEVEL: 'loud' }), /^Invalid configuration: LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent$/, 'the levels are named')
  t.throws(() => loadConfig({ CORS_ORIGINS: 'example.com' }), /CORS_ORIGINS must be \* or comma-separated http or https origins/, 'what it takes, in words')
  // whole numbers only: a fraction, an exponent or hex is not read as some other number
  for (const port of ['abc', '3.5', '1e3', '0x10', '99999999999999999999']) {
    t.throws(() => loadConfig({ PORT: port }), /^Invalid configuration: PORT must be a whole number from 0 to 65535$/, `PORT=${port}`)
  }
  t.equal(loadConfig({ PORT: ' 8080 ' }).PORT, 8080, 'spaces around a number are fine')
  t.throws(() => loadConfig({ PORT: '-1', RATE_LIMIT_KEY: '0', HOST: '\u0000' }),
    /^Invalid configuration: PORT must be a whole number from 0 to 65535; RATE_LIMIT_KEY must be a whole number of at least 1$/, 'every bad variable, once')
  // set but empty is unset (a compose file's VAR=${VAR} for a variable its shell does not have)
  t.match(loadConfig({ HOST: '', PORT: '', PUBLIC_URL: '', CMS_ADMIN_KEY: ' ', TRUST_PROXY: '', DATABASE_URL: '', CORS_ORIGINS: '' }),
    { HOST: '0.0.0.0', PORT: 3000, PUBLIC_URL: undefined, CMS_ADMIN_KEY: undefined, TRUST_PROXY: false, DATABASE_URL: undefined, CORS_ORIGINS: '' })
  const secret = 'not a key: has spaces'
  const refused = (() => { try { loadConfig({ CMS_ADMIN_KEY: secret }) } catch (err) { return (err as Error).message } })()
  t.match(refused, /CMS_ADMIN_KEY must be 32 to 512 printable ASCII characters/)
  t.notOk(refused?.includes(secret), 'a bad key is never echoed')
  t.equal(loadConfig({ UNKNOWN_VARIABLE: 'x' } as never).PORT, 3000, 'other variables are left alone')
  t.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }), /DATABASE_URL/)
  t.same(loadConfig({ DATABASE_URL: 'postgres://cms:secret@db:5432/cms' }).database, { url: 'postgres://cms:secret@db:5432/cms' }, 'postgres:// switches to PostgreSQL')
  t.same(loadConfig({ DATABASE_URL: 'postgresql://db/cms' }).database, { url: 'postgresql://db/cms' })
  for (const bad of ['postgres://', 'postgres://db', 'postgres://db/', 'postgres://:5432/cms', 'postgres://cms:p4ss@/cms']) {
    const message = (() => { try { loadConfig({ DATABASE_URL: bad }) } catch (err) { return (err as Error).message } })()
    t.match(message, /^Invalid configuration: DATABASE_URL must be postgres:\/\/user:password@host:port\/database \(a host and a database name\)$/, bad)
    t.notOk(message?.includes('p4ss'), 'the password is never echoed')
  }
  // a path, as the server opens it: `file::memory:` made a file called `:memory:`, `file:` opened the working folder
  for (const bad of ['file:', 'file::memory:', 'file:cms.sqlite?mode=ro', 'file:cms.sqlite#x']) {
    t.throws(() => loadConfig({ DATABASE_URL: bad }), /^Invalid configuration: DATABASE_URL must be file:PATH, the path of a database file/, bad)
  }
  t.same(loadConfig({ DATABASE_URL: 'file:data/my cms.sqlite' }).database, { file: path.resolve('data/my cms.sqlite') })
  t.throws(() => loadConfig({ PUBLIC_URL: 'cms.example.com' }), /PUBLIC_URL/)
  // an origin alone: a path or a query would be written before every photo's path
  for (const bad of ['https://x?y', 'https://cms.example.com/path', 'https://cms.example.com#a', 'https://user@cms.example.com']) {
    t.throws(() => loadConfig({ PUBLIC_URL: bad }), /^Invalid configuration: PUBLIC_URL must be an http or https origin/, bad)
  }
  t.equal(loadConfig({ PUBLIC_URL: 'https://CMS.example.com:443' }).PUBLIC_URL, 'https://cms.example.com', 'written as its origin')
  t.equal(loadConfig({ PUBLIC_URL: 'http://localhost:8080' }).PUBLIC_URL, 'http://localhost:8080')
  const config = loadConfig({ DATA_DIR: '/tmp/x', PORT: '8080' })
  t.match(config, { PORT: 8080, HOST: '0.0.0.0', database: { file: '/tmp/x/cms.sqlite' }, photoDir: '/tmp/x/photos' })
  // proxies' addresses and ranges, read as Fastify reads them: a bad one stopped the server at its first request
  t.throws(() => loadConfig({ TRUST_PROXY: '10.0.0.0/99' }), /Invalid configuration: TRUST_PROXY: invalid range on address: 10\.0\.0\.0\/99/)
  t.throws(() => loadConfig({ TRUST_PROXY: '10.0.0.1,:::' }), /TRUST_PROXY: invalid IP address: :::/)
  t.equal(loadConfig({ TRUST_PROXY: '10.0.0.1,10.0.0.0/8,::1' }).TRUST_PROXY, '10.0.0.1,10.0.0.0/8,::1')
  t.equal(loadConfig({ TRUST_PROXY: 'true' }).TRUST_PROXY, true)
  t.equal(loadConfig({ TRUST_PROXY: 'FALSE' }).TRUST_PROXY, false)
  t.equal(loadConfig({}).TRUST_PROXY, false, 'no proxy is trusted by default')
  t.throws(() => loadConfig({ TRUST_PROXY: 'yes' }), /TRUST_PROXY must be true, false, or comma-separated IP addresses and CIDR ranges/)
  // a count of hops, as other servers take it: proxy-addr read `1` as the address 0.0.0.1, and trusted no one
  for (const hops of ['1', '2', '10.0.0.1,1']) t.throws(() => loadConfig({ TRUST_PROXY: hops }), /TRUST_PROXY .*a number of proxies is not taken, name their addresses/, hops)
})

t.test('the data folders are made and checked at start: a file in the way or a folder that cannot be written is named', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-folders-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const nested = path.join(dir, 'a', 'b', 'data')
  prepareFolders(loadConfig({ DATA_DIR: nested }))
  t.ok(fs.statSync(path.join(nested, 'photos')).isDirectory(), 'every missing level made')
  prepareFolders(loadConfig({ DATA_DIR: nested }))
  t.pass('and made again without complaint')
  fs.writeFileSync(path.join(dir, 'file'), 'x')
  t.throws(() => prepareFolders(loadConfig({ DATA_DIR: path.join(dir, 'file', 'data') })), /Invalid configuration: DATA_DIR: cannot use .*file.* a file is in the way/)
  t.throws(() => prepareFolders(loadConfig({ DATA_DIR: path.join(dir, 'file') })), /DATA_DIR: .*a file is in the way/, 'DATA_DIR itself a file')
  t.throws(() => prepareFolders(loadConfig({ DATA_DIR: dir, DATABASE_URL: `file:${path.join(dir, 'file', 'cms.sqlite')}` })), /DATABASE_URL: cannot use/)
  fs.mkdirSync(path.join(dir, 'cms.sqlite'))
  t.throws(() => prepareFolders(loadConfig({ DATA_DIR: dir })), /^Invalid configuration: DATA_DIR: .*cms\.sqlite is a folder, not a database file$/, 'the database a folder')
  // a file that is not a database: said in one line, no stack (the server and the maintenance commands print it)
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'not a database\n'.repeat(300))
  await t.rejects(openStore({ file: path.join(dir, 'notes.txt') }), { constructor: ConfigError, message: /^Cannot open the database .*notes\.txt: file is not a database \(SQLITE_NOTADB\); check DATA_DIR or DATABASE_URL$/ })
  // a virtual file system: Node's recursive mkdir never returned under /proc
  t.throws(() => prepareFolders(loadConfig({ DATA_DIR: '/proc/cms-data' })), /DATA_DIR: cannot use \/proc\/cms-data/)
})

t.test('readiness fails with 503 when photos cannot be written', async (t) => {
  const { anon, dataDir } = await build(t)
  t.equal((await anon({ url: '/readyz' })).statusCode, 200)
  const photos = path.join(dataDir, 'photos')
  fs.renameSync(photos, `${photos}.moved`)
  fs.writeFileSync(photos, 'not a folder')
  const ready = await anon({ url: '/readyz' })
  t.equal(ready.statusCode, 503, 'a file where the photo folder was: not ready (even for root, whom file modes do not stop)')
  t.equal(ready.headers['content-type'], 'application/problem+json; charset=utf-8')
  fs.rmSync(photos)
  fs.renameSync(`${photos}.moved`, photos)
  t.equal((await anon({ url: '/readyz' })).statusCode, 200, 'ready again once it is back')
  t.same(fs.readdirSync(path.join(photos, '.tmp')), [], 'the probe leaves nothing behind')
})
