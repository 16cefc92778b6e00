import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Database from 'better-sqlite3'
import { openStore } from '../src/db/index.js'
import { build, create, ok } from './helper.js'
import { DependencyUnavailable } from '../src/errors.js'

type Tap = { teardown: (fn: () => unknown) => void }

/** Writes are committed in groups (src/db/sqlite/client.ts): each still stands or falls on its own. */
async function tempStore (t: Tap) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-tx-'))
  const file = path.join(dir, 'cms.sqlite')
  const store = await openStore({ file })
  t.teardown(() => { store.close(); fs.rmSync(dir, { recursive: true, force: true }) })
  return { store, file }
}

const section = (id: string) => ({ id, slug: id, name: id, description: null, parentId: null, position: 0, createdAt: new Date(), updatedAt: new Date() })
const names = (file: string) => {
  const db = new Database(file, { readonly: true })
  try { return db.prepare('select id from sections order by id').pluck().all() } finally { db.close() }
}

t.test('writes queued together commit together, and one that throws is undone alone', async (t) => {
  const { store, file } = await tempStore(t)
  const before = await store.version()
  const results = await Promise.allSettled([
    store.transaction(async () => { await store.sections.insert(section('a')) }),
    store.transaction(async () => { await store.sections.insert(section('b')); throw new Error('b fails') }),
    store.transaction(async () => { await store.sections.insert(section('c')) })
  ])
  t.same(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled'])
  t.equal((results[1] as PromiseRejectedResult).reason.message, 'b fails', 'the failing write hears its own error')
  t.same(names(file), ['a', 'c'], 'a second connection sees the two that stood, committed, and nothing of the one that failed')
  const [, commitsBefore] = before.split(':').map(Number)
  const [, commitsAfter] = (await store.version()).split(':').map(Number)
  t.equal(commitsAfter! - commitsBefore!, 1, 'three writes queued in one turn of the event loop: one commit')
})

t.test('a large write undone alone keeps its pages in memory, not in a temporary file', { skip: !fs.existsSync('/proc/self/fd') && 'needs /proc' }, async (t) => {
  const { store, file } = await tempStore(t)
  const ids = Array.from({ length: 60 }, (_, i) => `s${String(i).padStart(2, '0')}`)
  await store.transaction(async () => { for (const id of ids) await store.sections.insert({ ...section(id), description: 'x'.repeat(3000) }) })
  // SQLite names its temporary files etilqs_*: a savepoint's sub-journal past 64 KiB went to one on disk
  const temporaryFiles = () => fs.readdirSync('/proc/self/fd').flatMap((fd) => {
    try { return /etilqs_/.test(fs.readlinkSync(`/proc/self/fd/${fd}`)) ? [fd] : [] } catch { return [] }
  })
  let seen: string[] | undefined
  const results = await Promise.allSettled([
    store.transaction(async () => {
      for (const id of ids) await store.sections.update(id, { description: 'y'.repeat(3000) })
      seen = temporaryFiles()
      throw new Error('undo')
    }),
    store.transaction(async () => { await store.sections.insert(section('t')) })
  ])
  t.same(results.map((r) => r.status), ['rejected', 'fulfilled'])
  t.same(seen, [], 'the ~180 KiB the first write changed were kept in memory')
  const db = new Database(file, { readonly: true })
  t.teardown(() => db.close())
  t.same(db.prepare("select distinct substr(description, 1, 1) from sections where id like 's%'").pluck().all(), ['x'], 'the write that threw is undone')
  t.same(names(file).length, 61, 'the other write of its group stands')
})

t.test('a caller hears back only once its write is committed', async (t) => {
  const { store, file } = await tempStore(t)
  await store.transaction(async () => { await store.sections.insert(section('x')) })
  t.same(names(file), ['x'], 'visible to another connection as soon as the promise settles')
})

t.test('work left for the end of the group runs once per key, for writes that stood', async (t) => {
  const { store } = await tempStore(t)
  const ran: string[] = []
  await Promise.allSettled([
    store.transaction(async () => { store.afterWrites('k1', async () => { ran.push('k1 from first') }) }),
    store.transaction(async () => { store.afterWrites('k1', async () => { ran.push('k1 from second') }) }),
    store.transaction(async () => { store.afterWrites('k2', async () => { ran.push('k2') }); throw new Error('rolled back') }),
    store.transaction(async () => { store.afterWrites('k3', async () => { ran.push('k3') }) })
  ])
  t.same(ran, ['k1 from second', 'k3'], 'one run per key (the latest), none for the write that was undone')
  t.throws(() => store.afterWrites('k', async () => {}), /only for work inside a transaction/)
})

t.test('when the work at the end fails, the whole group fails and nothing of it stands', async (t) => {
  const { store, file } = await tempStore(t)
  const results = await Promise.allSettled([
    store.transaction(async () => { await store.sections.insert(section('p')) }),
    store.transaction(async () => {
      await store.sections.insert(section('q'))
      store.afterWrites('boom', async () => { throw new Error('index failed') })
    })
  ])
  t.same(results.map((r) => r.status), ['rejected', 'rejected'], 'every write in the group is told it failed')
  t.same(names(file), [], 'nothing was committed')
  await store.transaction(async () => { await store.sections.insert(section('r')) })
  t.same(names(file), ['r'], 'the next write works')
})

t.test('many concurrent article writes over HTTP: invalid ones fail alone, valid ones are stored and searchable', async (t) => {
  const { app } = await build(t)
  const sectionId = (await create(app, '/v1/sections', { name: 'News' })).id
  const writes = Array.from({ length: 30 }, (_, i) => app.inject({
    method: 'POST',
    url: '/v1/articles',
    payload: {
      headline: `Concurrent zebra story ${i}`,
      status: 'published',
      // every third one refers to a section that does not exist: a 422 from inside its transaction
      sectionId: i % 3 === 0 ? '00000000-0000-7000-8000-000000000000' : sectionId
    }
  }))
  const responses = await Promise.all(writes)
  t.same(responses.map((r) => r.statusCode), Array.from({ length: 30 }, (_, i) => i % 3 === 0 ? 422 : 201))
  const found = ok(t, await app.inject({ url: '/v1/articles?q=zebra&limit=100' }))
  t.same(found.data.map((a: any) => a.headline).sort(),
    Array.from({ length: 30 }, (_, i) => i).filter((i) => i % 3 !== 0).map((i) => `Concurrent zebra story ${i}`).sort(),
    'exactly the stored articles are in the search index')
  const listed = ok(t, await app.inject({ url: '/v1/articles?limit=100' }))
  t.equal(listed.data.length, 20, 'and in the list')
})

t.test('another process holding the write lock: writes wait for it without stopping the event loop, then a 503', async (t) => {
  const { store, file } = await tempStore(t)
  const other = new Database(file)
  t.teardown(() => { if (other.inTransaction) other.exec('ROLLBACK'); other.close() })
  other.exec('BEGIN IMMEDIATE')
  let settled = false
  const waiting = store.transaction(async () => { await store.sections.insert(section('waited')) }).finally(() => { settled = true })
  // the event loop turns while the write waits (SQLite's busy_timeout slept inside the call, and everything with it)
  let turns = 0
  const started = Date.now()
  while (Date.now() - started < 300) { await new Promise((resolve) => setTimeout(resolve, 10)); turns++ }
  t.ok(turns >= 10, `timers ran while the write waited (${turns})`)
  t.notOk(settled, 'the write still waits')
  other.exec('COMMIT')
  await waiting
  t.same(names(file), ['waited'], 'and is written once the lock is free')

  other.exec('BEGIN IMMEDIATE')
  const refused = await store.transaction(async () => { await store.sections.insert(section('refused')) }).catch((err) => err)
  other.exec('ROLLBACK')
  t.match(refused, { statusCode: 503, code: 'CMS_BUSY', headers: { 'retry-after': '2' } }, 'held past the wait: a 503 to retry, not a 500')
  t.same(names(file), ['waited'], 'nothing of it written')
  await store.transaction(async () => { await store.sections.insert(section('after')) })
  t.same(names(file), ['after', 'waited'], 'writes go on once it is free')
})

t.test('instances starting at once on a new database: one applies the migrations, every one starts', async (t) => {
  const { fork } = await import('node:child_process')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-start-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'cms.sqlite')
  const opener = path.join(dir, 'open.mts')
  fs.writeFileSync(opener, `import { openStore } from ${JSON.stringify(new URL('../src/db/index.js', import.meta.url).pathname)}\nawait (await openStore({ file: ${JSON.stringify(file)} })).close()\n`)
  const codes = await Promise.all(Array.from({ length: 4 }, () => new Promise<number | null>((resolve) => {
    fork(opener, [], { execArgv: ['--import', 'tsx'], stdio: 'ignore' }).once('exit', resolve)
  })))
  t.same(codes, [0, 0, 0, 0], 'no start failed')
  const db = new Database(file, { readonly: true })
  t.teardown(() => db.close())
  const journal = JSON.parse(fs.readFileSync(new URL('../migrations/sqlite/meta/_journal.json', import.meta.url), 'utf8')) as { entries: unknown[] }
  t.equal(db.prepare('select count(*) from __drizzle_migrations').pluck().get(), journal.entries.length, 'each migration applied once')
  t.equal(db.prepare('select count(*) from secrets').pluck().get(), 1, 'one cursor key')
})

t.test('a write whose answer cannot be read is not made: the 503 says so, and sending it again writes it once', async (t) => {
  const { app } = await build(t)
  const store = app.store
  /** The next read of `name` fails as a connection lost to the database does (after the write's own statements). */
  const failNext = <K extends 'relatedOf' | 'withAncestors'>(repo: 'articles' | 'sections', name: K) => {
    const target = store[repo] as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>
    const real = target[name]!
    target[name] = async () => {
      target[name] = real
      throw Object.assign(new DependencyUnavailable('The database is unavailable; retry in a few seconds'), { headers: { 'retry-after': '5' } })
    }
  }
  const count = async (q: string) => (await app.inject({ url: `/v1/articles?q=${q}&limit=100` })).json().data.length

  failNext('articles', 'relatedOf')
  const lost = await app.inject({ method: 'POST', url: '/v1/articles', payload: { headline: 'Quokka census' } })
  t.equal(lost.statusCode, 503, lost.body)
  t.equal(lost.headers['retry-after'], '5')
  t.equal(await count('quokka'), 0, 'the create answered 503 was not made')
  const again = await app.inject({ method: 'POST', url: '/v1/articles', payload: { headline: 'Quokka census' } })
  t.equal(again.statusCode, 201, again.body)
  t.equal(again.json().slug, 'quokka-census', 'sent again: the one article, with the slug it asked for')
  t.equal(await count('quokka'), 1)

  const etag = again.headers.etag as string
  failNext('articles', 'relatedOf')
  const patch = { method: 'PATCH' as const, url: `/v1/articles/${again.json().id}`, headers: { 'if-match': etag }, payload: { summary: 'Counted' } }
  t.equal((await app.inject(patch)).statusCode, 503)
  t.match((await app.inject({ url: `/v1/articles/${again.json().id}` })).json(), { summary: null, revision: 1 }, 'the edit answered 503 was not made')
  const patched = await app.inject(patch)
  t.equal(patched.statusCode, 200, `sent again with the same If-Match: made, not a 412 (${patched.body})`)
  t.match(patched.json(), { summary: 'Counted', revision: 2 })

  failNext('articles', 'relatedOf')
  const link = { method: 'POST' as const, url: `/v1/articles/${again.json().id}/related`, payload: { url: 'https://example.com/quokkas', headline: 'More quokkas' } }
  t.equal((await app.inject(link)).statusCode, 503)
  t.same((await app.inject({ url: `/v1/articles/${again.json().id}/related` })).json().data, [], 'the link answered 503 was not added')
  t.equal((await app.inject(link)).statusCode, 201, 'sent again: added once')
  t.equal((await app.inject({ url: `/v1/articles/${again.json().id}/related` })).json().data.length, 1)

  failNext('sections', 'withAncestors')
  const section = { method: 'POST' as const, url: '/v1/sections', payload: { name: 'Marsupials' } }
  t.equal((await app.inject(section)).statusCode, 503)
  t.same((await app.inject({ url: '/v1/sections?limit=100' })).json().data.map((s: { name: string }) => s.name), [], 'the section answered 503 was not made')
  t.equal((await app.inject(section)).statusCode, 201)
})
