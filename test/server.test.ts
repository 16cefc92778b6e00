import t from 'tap'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import readline from 'node:readline'
import { connect, type AddressInfo } from 'node:net'
import Database from 'better-sqlite3'
import pg from 'pg'
import { build, image, dialect } from './helper.js'
import { startCommand } from '../scripts/start-command.js'

const root = new URL('..', import.meta.url).pathname
const npmStart = startCommand(root)
const nodeFlags = npmStart.args.slice(0, -1)

t.test('the container runs the server as npm start does, environment and node flags included', async (t) => {
  t.strictSame([npmStart.program, npmStart.args.at(-1)], ['node', 'dist/server.js'])
  const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8')
  const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)
  t.ok(cmd, 'the Dockerfile has an exec-form CMD')
  t.strictSame(JSON.parse(cmd![1]!), [npmStart.program, ...npmStart.args])
  t.equal(npmStart.env.MALLOC_MMAP_THRESHOLD_, '131072', 'memory of 128 KiB or more goes back to the system when let go')
  const set = [...dockerfile.matchAll(/^ENV ([A-Z_]+)=(\S+)$/gm)].map((m) => [m[1], m[2]])
  t.strictSame(Object.fromEntries(set), npmStart.env, 'and the container sets the same')
})

/**
 * The server as `npm start` runs it: src/ bundled into one file as `npm run build` bundles it (scripts/bundle.mjs),
 * here from the source under test, into a folder inside the checkout (its packages and migrations are found
 * from there as they are from dist/).
 */
const bundled = path.join(root, 'node_modules', '.cache', 'cms-server-test', 'server.js')
const built = import(path.join(root, 'scripts', 'bundle.mjs')).then(({ bundle }) => bundle(bundled))

/** Starts the bundled server with the start script's node flags, and returns its JSON log lines as they come. */
async function start (env: Record<string, string>) {
  await built
  const child = spawn(process.execPath, [...nodeFlags, bundled], {
    cwd: root,
    env: { PATH: process.env.PATH, ...npmStart.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const logs: any[] = []
  const waiters: { test: (l: any) => boolean, resolve: (l: any) => void }[] = []
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    let entry: any
    try { entry = JSON.parse(line) } catch { entry = { msg: line } }
    logs.push(entry)
    for (const w of waiters.filter((w) => w.test(entry))) w.resolve(entry)
  })
  let stderr = ''
  child.stderr!.on('data', (d) => { stderr += d })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const waitFor = (test: (l: any) => boolean) => new Promise<any>((resolve) => {
    const found = logs.find(test)
    if (found) resolve(found)
    else waiters.push({ test, resolve })
  })
  return { child, logs, exited, waitFor, stderr: () => stderr }
}

t.test('the server creates its data folder, migrates, serves, and shuts down cleanly on SIGTERM', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-server-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const dataDir = path.join(dir, 'data')
  const adminKey = 'container-admin-secret-0123456789abcdef'
  const server = await start({ DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', CMS_ADMIN_KEY: adminKey })
  t.teardown(() => server.child.kill('SIGKILL'))
  const listening = await server.waitFor((l) => /listening/i.test(l.msg ?? ''))
  const url = String(listening.msg).match(/http:\/\/[\d.:]+/)![0]

  const ready = await fetch(`${url}/readyz`)
  t.equal(ready.status, 200)
  t.ok(fs.existsSync(path.join(dataDir, 'cms.sqlite')), 'database file created')
  t.ok(fs.existsSync(path.join(dataDir, 'photos')), 'photo folder created')
  const refused = await fetch(`${url}/v1/sections`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"News"}' })
  t.equal(refused.status, 401, 'writes need a key')
  const created = await fetch(`${url}/v1/sections`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` }, body: '{"name":"News"}'
  })
  t.equal(created.status, 201, 'CMS_ADMIN_KEY is an admin key')
  const section = await created.json() as { id: string }
  const first = await fetch(`${url}/v1/sections/${section.id}`)
  const again = await fetch(`${url}/v1/sections/${section.id}`, { headers: { 'if-none-match': first.headers.get('etag')! } })
  t.equal(again.status, 304)
  t.ok(Number(again.headers.get('content-length') ?? 0) === 0, 'a 304 announces no body (keep-alive clients would wait for it)')
  // what the bundle reads from node_modules: the interactive docs' files (the plugin is bundled), sharp for photos
  const docs = await fetch(`${url}/docs/static/swagger-ui.css`)
  t.equal(docs.status, 200, 'the interactive docs serve their files')
  await docs.arrayBuffer()
  const logo = await fetch(`${url}/docs/static/logo.svg`)
  t.equal(logo.headers.get('content-type'), 'image/svg+xml', 'and their logo')
  await logo.arrayBuffer()
  for (const missing of ['/docs/static/nope.js', '/docs/nope', '/docs/static/..%2f..%2fpackage.json']) {
    const res = await fetch(`${url}${missing}`)
    t.ok([403, 404].includes(res.status) && res.headers.get('content-type')?.startsWith('application/problem+json'), `${missing}: not served`)
    await res.arrayBuffer()
  }
  const photo = await fetch(`${url}/v1/photos?caption=Harbin`, {
    method: 'POST', headers: { 'content-type': 'image/png', authorization: `Bearer ${adminKey}` }, body: new Uint8Array(await image('png'))
  })
  t.equal(photo.status, 201, 'a photo is uploaded and decoded')
  t.match(await photo.json(), { mimeType: 'image/png', width: 64, height: 48 })
  const logged = await server.waitFor((l) => l.res?.statusCode === 201)
  t.type(logged.reqId, 'string', 'request logs carry the request id')

  // a key put in the URL by mistake is refused (keys go in Authorization), and neither logged nor echoed
  const inUrl = await fetch(`${url}/v1/keys?access_token=${adminKey}`)
  t.equal(inUrl.status, 401)
  t.notOk(JSON.stringify(await inUrl.json()).includes(adminKey), 'a key in the URL is not echoed')
  const logged401 = await server.waitFor((l) => l.req?.url?.startsWith('/v1/keys?'))
  t.equal(logged401.req.url, '/v1/keys?access_token=[redacted]', 'the URL is logged without it')
  t.notOk(JSON.stringify(server.logs).includes(adminKey), 'the admin key is never logged')
  server.child.kill('SIGTERM')
  t.equal(await server.exited, 0, 'exits with 0')
  t.ok(server.logs.some((l) => l.msg === 'shutting down'))
  t.notOk(fs.existsSync(path.join(dataDir, 'cms.sqlite-wal')), 'the database was closed cleanly (WAL checkpointed)')
})

t.test('a bad configuration stops the server with a clear message', async (t) => {
  const server = await start({ PORT: 'not-a-port', DATA_DIR: os.tmpdir() })
  t.equal(await server.exited, 1)
  t.match(server.stderr(), /Invalid configuration: .*PORT/)
  const inTheWay = await start({ DATA_DIR: '/etc/passwd/data' })
  t.equal(await inTheWay.exited, 1)
  t.match(inTheWay.stderr(), /^Invalid configuration: DATA_DIR: cannot use \/etc\/passwd\/data \(ENOTDIR\): a file is in the way\n$/, 'one line naming the variable, no stack')
  // a database file that is not one: found when it is opened, said the same way (it printed SQLite's stack)
  const notes = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cms-notes-')), 'notes.txt')
  t.teardown(() => fs.rmSync(path.dirname(notes), { recursive: true, force: true }))
  fs.writeFileSync(notes, 'not a database\n'.repeat(300))
  const notADatabase = await start({ DATA_DIR: os.tmpdir(), DATABASE_URL: `file:${notes}` })
  t.equal(await notADatabase.exited, 1)
  t.match(notADatabase.stderr(), /^Cannot open the database .*notes\.txt: file is not a database \(SQLITE_NOTADB\); check DATA_DIR or DATABASE_URL\n$/, 'one line, no stack')
  t.equal(fs.readFileSync(notes, 'utf8'), 'not a database\n'.repeat(300), 'the file left as it was')
})

t.test('shutting down: a request on a connection kept alive is refused with a problem document and Retry-After, the one in flight finishes', async (t) => {
  const { app, dataDir, keys, databaseUrl } = await build(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  // another process's write lock holds the first request in flight while the shutdown begins: on SQLite, the
  // database's; on PostgreSQL, the lock of the row every write turns over (the content version), taken by another
  // connection's open transaction
  const other = dialect === 'sqlite' ? new Database(path.join(dataDir, 'cms.sqlite')) : null
  const locker = dialect === 'postgres' ? new pg.Client({ connectionString: databaseUrl }) : null
  if (other) other.exec('BEGIN IMMEDIATE')
  if (locker) {
    await locker.connect()
    t.teardown(() => locker.end())
    await locker.query('begin')
    await locker.query('select number from content_version for update')
  }
  const socket = connect(port, '127.0.0.1')
  let answer = ''
  socket.on('data', (chunk) => { answer += chunk })
  const ended = new Promise((resolve) => socket.on('close', resolve))
  const body = JSON.stringify({ name: 'Written during the shutdown' })
  socket.write(`POST /v1/sections HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${keys.editor}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
  const lockWaits = async () => (await locker!.query("select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'")).rows[0].n
  // the shutdown begins once the write is in flight: on PostgreSQL, once it waits for the lock, however slow the
  // host (a fixed pause was too short on a slow one); SQLite's wait cannot be seen from outside
  if (locker) for (let i = 0; i < 400 && await lockWaits() === 0; i++) await new Promise((resolve) => setTimeout(resolve, 25))
  else await new Promise((resolve) => setTimeout(resolve, 100))
  const closed = app.close()
  // a second request on the same connection, sent once the shutdown has begun
  socket.write('GET /v1/sections HTTP/1.1\r\nHost: x\r\n\r\n')
  await new Promise((resolve) => setTimeout(resolve, 100))
  if (other) {
    other.exec('ROLLBACK')
    other.close()
  }
  if (locker) {
    t.equal(await lockWaits(), 1, 'the write in flight waits for the lock')
    await locker.query('rollback')
  }
  await ended
  await closed
  const [first, second] = answer.split(/(?=HTTP\/1\.1 )/)
  t.match(first, /^HTTP\/1\.1 201 /, 'the write in flight is answered')
  t.match(second, /^HTTP\/1\.1 503 /, 'the next request on the connection is refused')
  t.match(second, /\r\ncontent-type: application\/problem\+json/i, 'as a problem document (it was Fastify\'s own JSON)')
  t.match(second, /\r\nretry-after: 1\r\n/i)
  t.match(second, /\r\nconnection: close\r\n/i, 'and the connection closed')
  t.match(second, /"detail":"This instance is shutting down: send the request again"/)
  if (dialect === 'sqlite') {
    const check = new Database(path.join(dataDir, 'cms.sqlite'), { readonly: true })
    t.equal((check.prepare("select count(*) as n from sections where name = 'Written during the shutdown'").get() as { n: number }).n, 1, 'the write in flight was committed')
    check.close()
  } else {
    const written = await locker!.query("select count(*)::int as n from sections where name = 'Written during the shutdown'")
    t.equal(written.rows[0].n, 1, 'the write in flight was committed')
  }
})
