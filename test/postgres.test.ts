/**
 * What only PostgreSQL has: several instances on one database (the scale-out SPEC §6 describes), writes that
 * PostgreSQL runs at once and retries, and a database server that can go away. Runs when the suite runs on
 * PostgreSQL (TEST_POSTGRES_URL; see test/helper.ts); the rest of the suite runs on it too.
 */
import t, { type Test as Tap } from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import net from 'node:net'
import pg from 'pg'
import { build, create, dialect, postgresDatabase, TEST_POSTGRES_URL } from './helper.js'
import { openStore } from '../src/db/index.js'
import { WRITE_LOCK } from '../src/db/postgres/client.js'
import { ConfigError } from '../src/config.js'

const onPostgres = { skip: dialect === 'postgres' ? false : 'PostgreSQL only: set TEST_POSTGRES_URL (npm run test:postgres)' }

/** A session of its own on a database (another instance, an administrator), closed when the test ends. */
async function session (t: Tap, url: string) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  t.teardown(() => client.end())
  return client
}

/** Runs SQL on a database of the test server as its owner (outside the app). */
async function sql (url: string, text: string, values: unknown[] = []) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query(text, values)).rows
  } finally {
    await client.end()
  }
}

t.test('two instances on one database: what one writes, the other serves at once, its kept answers included', onPostgres, async (t) => {
  const a = await build(t)
  const b = await build(t, { DATABASE_URL: a.databaseUrl! })
  const url = '/v1/articles?limit=5'
  t.equal((await b.anon({ url })).json().data.length, 0)
  await b.anon({ url }) // (a URL is kept from its second asking)
  t.equal((await b.anon({ url })).headers['x-cache'], 'hit', 'B keeps its answer while nothing changes')
  const story = await create(a.app, '/v1/articles', { headline: 'Written on A', status: 'published' })
  const after = await b.anon({ url })
  t.equal(after.headers['x-cache'], undefined, 'B does not serve its kept answer once A has written')
  t.same(after.json().data.map((x: any) => x.id), [story.id], 'B serves the story A wrote')
  const readOnA = await a.app.inject({ url: `/v1/articles/${story.id}` })
  const edited = await b.app.inject({ method: 'PATCH', url: `/v1/articles/${story.id}`, headers: { 'if-match': readOnA.headers.etag as string }, payload: { headline: 'Edited on B' } })
  t.equal(edited.statusCode, 200, 'B edits with the ETag A gave')
  t.equal((await a.anon({ url: `/v1/articles/${story.id}` })).json().headline, 'Edited on B', 'and A serves what B wrote')
  // an edit on A with the ETag read before B's edit is refused: concurrent edits are detected across instances
  const stale = await a.app.inject({ method: 'PATCH', url: `/v1/articles/${story.id}`, headers: { 'if-match': readOnA.headers.etag as string }, payload: { headline: 'Lost update' } })
  t.equal(stale.statusCode, 412, 'a stale If-Match from another instance is a 412')
  t.equal((await b.app.inject({ url: `/v1/articles/${story.id}` })).json().headline, 'Edited on B', 'nothing lost')
})

t.test('writes from two instances at once: each one made as if alone (the same headline gets a slug each), none lost', onPostgres, async (t) => {
  const a = await build(t)
  const b = await build(t, { DATABASE_URL: a.databaseUrl! })
  const section = await create(a.app, '/v1/sections', { name: 'Harbin' })
  const writes = Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).app.inject({
    method: 'POST', url: '/v1/articles', payload: { headline: 'Ice festival opens', sectionId: section.id, status: 'published', tags: ['ice'] }
  }))
  const answers = await Promise.all(writes)
  t.same(answers.map((r) => r.statusCode), Array(30).fill(201), 'every write succeeds')
  const slugs = answers.map((r) => r.json().slug)
  t.equal(new Set(slugs).size, 30, 'each with a slug of its own')
  const listed = (await a.anon({ url: `/v1/sections/${section.id}/articles?limit=100` })).json().data
  t.equal(listed.length, 30, 'all of them listed')
  const found = (await b.anon({ url: '/v1/articles?q=festival&limit=100' })).json().data
  t.equal(found.length, 30, 'and all of them searchable')
  // the same revision of one article edited on both at once: one edit wins, the other is told
  const story = answers[0]!.json()
  const edits = await Promise.all([a, b].map((x, i) => x.app.inject({
    method: 'PATCH', url: `/v1/articles/${story.id}`, headers: { 'if-match': answers[0]!.headers.etag as string }, payload: { headline: `Edit ${i}` }
  })))
  t.same(edits.map((r) => r.statusCode).sort(), [200, 412], 'exactly one of two concurrent edits of one version succeeds')
})

t.test('instances starting at once on a new database: the migrations are applied once, every one starts', onPostgres, async (t) => {
  const url = await postgresDatabase(t)
  const stores = await Promise.all(Array.from({ length: 4 }, () => openStore({ url })))
  t.teardown(() => Promise.all(stores.map((s) => s.close())))
  const journal = JSON.parse(fs.readFileSync(new URL('../migrations/postgres/meta/_journal.json', import.meta.url), 'utf8')) as { entries: unknown[] }
  t.same(await sql(url, 'select count(*)::int as n from drizzle.__drizzle_migrations'), [{ n: journal.entries.length }], 'each migration applied once')
  t.same(await sql(url, 'select count(*)::int as n from secrets'), [{ n: 1 }], 'one cursor key')
  t.same(new Set(stores.map((s) => s.cursorKey.toString('hex'))).size, 1, 'every instance seals cursors with it')
})

t.test('PostgreSQL going away: reads and writes are 503s with Retry-After, not 500s; the start says what is wrong in one line', onPostgres, async (t) => {
  const ctx = await build(t)
  await create(ctx.app, '/v1/articles', { headline: 'Before', status: 'published' })
  const name = new URL(ctx.databaseUrl!).pathname.slice(1)
  await sql(TEST_POSTGRES_URL!, `drop database ${name} with (force)`)
  for (const [method, url, payload] of [['GET', '/v1/articles?limit=3'], ['GET', '/v1/articles?q=before'], ['POST', '/v1/articles', { headline: 'After' }]] as const) {
    const res = await ctx.app.inject({ method, url, payload })
    t.equal(res.statusCode, 503, `${method} ${url}: 503`)
    t.equal(res.headers['retry-after'], '5', `${method} ${url}: Retry-After`)
    t.match(res.json(), { status: 503, detail: /database is unavailable/ })
  }
  t.equal((await ctx.app.inject({ url: '/readyz' })).statusCode, 503, 'not ready')

  const server = new URL(TEST_POSTGRES_URL!)
  const refused = async (url: string) => {
    const err = await openStore({ url }).then(() => null, (e: unknown) => e)
    t.type(err, ConfigError, url.replace(/:[^:@/]*@/, ':…@'))
    return String((err as Error).message)
  }
  const missing = new URL(server.href)
  missing.pathname = '/no_such_database'
  t.match(await refused(missing.href), /^Cannot open the database at DATABASE_URL \(.*\): database "no_such_database" does not exist \(3D000\)$/)
  const nobody = new URL(server.href)
  nobody.port = '1'
  nobody.password = 'hunter2'
  nobody.username = 'cms'
  const message = await refused(nobody.href)
  t.match(message, /^Cannot open the database at DATABASE_URL \(127\.0\.0\.1:1\): .*ECONNREFUSED/, 'a server that is not there')
  t.notOk(message.includes('hunter2'), 'the password is never said')
  // a server that takes the connection and never answers: the start gives up after 5 s, in one line
  const silent = net.createServer(() => {})
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => { silent.close(resolve); for (const s of sockets) s.destroy() }))
  const sockets: net.Socket[] = []
  silent.on('connection', (s) => sockets.push(s))
  const started = Date.now()
  t.match(await refused(`postgres://cms@127.0.0.1:${(silent.address() as net.AddressInfo).port}/cms`), /^Cannot open the database at DATABASE_URL \(127\.0\.0\.1:\d+\): .*timeout/, 'a server that never answers')
  t.ok(Date.now() - started < 15_000, 'within seconds')
})

t.test('the command line works on PostgreSQL: a key made, the search index rebuilt', onPostgres, async (t) => {
  const { cli } = await import('./helper.js')
  const ctx = await build(t)
  await create(ctx.app, '/v1/articles', { headline: 'Reindexed story', status: 'published' })
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-pg-cli-'))
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }))
  const key = await cli(dataDir, ['create-key', '--name', 'Night desk', '--role', 'editor'], { DATABASE_URL: ctx.databaseUrl! })
  t.equal(key.code, 0, key.stderr)
  const secret = key.stdout.match(/cms_[A-Za-z0-9_-]+/)![0]
  t.equal((await ctx.app.inject({ url: '/v1/articles', headers: { authorization: `Bearer ${secret}` } })).statusCode, 200, 'the key works on the server')
  await sql(ctx.databaseUrl!, 'update article_search set document = null, summary_document = null')
  t.equal((await ctx.anon({ url: '/v1/articles?q=reindexed' })).json().data.length, 0, 'an index emptied behind the app finds nothing')
  const reindex = await cli(dataDir, ['reindex-search'], { DATABASE_URL: ctx.databaseUrl! })
  t.equal(reindex.code, 0, reindex.stderr)
  t.same((await ctx.anon({ url: '/v1/articles?q=reindexed' })).json().data.map((a: any) => a.headline), ['Reindexed story'], 'rebuilt, it finds the story again')
})

t.test('an article of more different words than a tsvector holds (1 MiB) is stored; its headline, bylines and first words are found', onPostgres, async (t) => {
  const ctx = await build(t, { BODY_MAX_BYTES: String(4 * 1024 * 1024) })
  const desk = await create(ctx.app, '/v1/bylines', { name: 'Archive Desk', kind: 'organization' })
  const words = Array.from({ length: 200_000 }, (_, i) => `w${i.toString(36).padStart(6, 'q')}`)
  const body = Array.from({ length: 100 }, (_, k) => ({ type: 'paragraph', text: words.slice(k * 2000, (k + 1) * 2000).join(' ') }))
  const res = await ctx.app.inject({ method: 'POST', url: '/v1/articles', payload: { headline: 'Complete archive', body, tags: ['archive'], bylines: [{ bylineId: desk.id }], status: 'published' } })
  t.equal(res.statusCode, 201, res.body.slice(0, 200))
  for (const q of ['complete', 'archive', words[0]!, words[10_000]!]) {
    t.same((await ctx.anon({ url: `/v1/articles?q=${q}` })).json().data.map((a: any) => a.headline), ['Complete archive'], `${q} finds it`)
  }
  t.same((await ctx.anon({ url: `/v1/articles?q=${words[199_999]}` })).json().data, [], 'words past what the index holds are not found')
})

t.test('writes take turns across instances: one waits for the other\'s write lock, after 5 s a 503; the change feed stamps in commit order', onPostgres, async (t) => {
  const ctx = await build(t)
  // another instance's write in progress: a session holding the write lock
  const other = await session(t, ctx.databaseUrl!)
  await other.query('select pg_advisory_lock($1)', [WRITE_LOCK])
  const started = Date.now()
  const refused = await ctx.app.inject({ method: 'POST', url: '/v1/articles', payload: { headline: 'Waits' } })
  t.equal(refused.statusCode, 503, 'a write that waited 5 s is a 503')
  t.equal(refused.headers['retry-after'], '2')
  t.match(refused.json(), { code: 'CMS_BUSY', detail: /busy with another process's write/ })
  t.ok(Date.now() - started >= 4900, `after the wait (${Date.now() - started} ms)`)
  t.equal((await ctx.anon({ url: '/v1/articles?q=waits' })).json().data.length, 0, 'and wrote nothing')

  // a scheduled story goes live while the lock is held: it is stamped when its write gets the lock, not before
  await other.query('select pg_advisory_unlock($1)', [WRITE_LOCK])
  const story = await create(ctx.app, '/v1/articles', { headline: 'Scheduled', status: 'published', publishedAt: new Date(Date.now() + 300).toISOString() })
  await new Promise((resolve) => setTimeout(resolve, 400))
  await other.query('select pg_advisory_lock($1)', [WRITE_LOCK])
  const marking = ctx.app.services.articles.markGoneLive()
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const released = new Date()
  await other.query('select pg_advisory_unlock($1)', [WRITE_LOCK])
  t.equal(await marking, 1, 'marked once it had the lock')
  const feed = (await ctx.anon({ url: `/v1/articles?changedSince=${released.toISOString()}&limit=10` })).json().data.map((a: any) => a.id)
  t.same(feed, [story.id], 'a reader that followed the changes up to the release does not miss it')
})

t.test('a write that changes nothing leaves the kept answers kept (the hourly upkeep, a PATCH of nothing)', onPostgres, async (t) => {
  const ctx = await build(t)
  const story = await create(ctx.app, '/v1/articles', { headline: 'Kept', status: 'published' })
  const url = `/v1/articles/${story.id}`
  await ctx.anon({ url })
  await ctx.anon({ url })
  t.equal((await ctx.anon({ url })).headers['x-cache'], 'hit', 'kept')
  await ctx.app.store.mergeSearchIndex()
  t.equal((await ctx.anon({ url })).headers['x-cache'], 'hit', 'after the upkeep, still kept')
  await ctx.app.store.transaction(async () => ctx.app.store.articles.findById(story.id, false, new Date()))
  t.equal((await ctx.anon({ url })).headers['x-cache'], 'hit', 'after a write that only read, still kept')
  t.equal((await ctx.app.inject({ method: 'PATCH', url, payload: { headline: 'Kept' } })).statusCode, 200)
  t.equal((await ctx.anon({ url })).headers['x-cache'], 'hit', 'after a PATCH that changes nothing, still kept')
  await ctx.app.inject({ method: 'PATCH', url, payload: { headline: 'Changed' } })
  const after = await ctx.anon({ url })
  t.equal(after.headers['x-cache'], undefined, 'a write that changed something: made again')
  t.equal(after.json().headline, 'Changed')
})

t.test('a write whose connection PostgreSQL ends (a restart, an administrator) is a 503, and the instance goes on', onPostgres, async (t) => {
  const ctx = await build(t)
  const holder = await session(t, ctx.databaseUrl!)
  // the write waits at its last statement for a row another session holds, and its session is ended meanwhile
  await holder.query('begin')
  await holder.query('select * from content_version for update')
  const writing = ctx.app.inject({ method: 'POST', url: '/v1/articles', payload: { headline: 'Cut off' } })
  let waiting: { pid: number }[] = []
  for (let i = 0; i < 100 && waiting.length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    waiting = (await holder.query("select pid from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()")).rows
  }
  t.equal(waiting.length, 1, 'the write waits on the row')
  await holder.query('select pg_terminate_backend($1)', [waiting[0]!.pid])
  const cut = await writing
  t.equal(cut.statusCode, 503, cut.body.slice(0, 200))
  t.equal(cut.headers['retry-after'], '5')
  await holder.query('rollback')
  t.equal((await ctx.app.inject({ method: 'POST', url: '/v1/articles', payload: { headline: 'After' } })).statusCode, 201, 'the next write is made')
  t.same((await ctx.app.inject({ url: '/v1/articles?limit=10' })).json().data.map((a: any) => a.headline), ['After'], 'and the cut one left nothing')
})

t.test('writes queued behind another instance\'s long write: each waits 5 s from when it was asked, not 5 s more than the one before', onPostgres, async (t) => {
  const ctx = await build(t)
  const other = await session(t, ctx.databaseUrl!)
  await other.query('select pg_advisory_lock($1)', [WRITE_LOCK])
  const started = Date.now()
  const answers = await Promise.all(Array.from({ length: 4 }, (_, i) => ctx.app.inject({ method: 'POST', url: '/v1/sections', payload: { name: `Desk ${i}` } }).then((r) => ({ status: r.statusCode, ms: Date.now() - started }))))
  t.same(answers.map((a) => a.status), [503, 503, 503, 503], 'all refused while the other write goes on')
  t.ok(answers.every((a) => a.ms < 8000), `all within the wait (${answers.map((a) => a.ms).join(', ')} ms)`)
  await other.query('select pg_advisory_unlock($1)', [WRITE_LOCK])
  t.equal((await ctx.app.inject({ method: 'POST', url: '/v1/sections', payload: { name: 'Desk' } })).statusCode, 201, 'then writes are made')
})

t.test('a database the role may not use stops the start in one line', onPostgres, async (t) => {
  const url = await postgresDatabase(t)
  const name = `noright_${process.pid}`
  await sql(TEST_POSTGRES_URL!, `drop role if exists ${name}`)
  await sql(TEST_POSTGRES_URL!, `create role ${name} login`)
  await sql(url, `revoke connect on database ${new URL(url).pathname.slice(1)} from public`)
  t.teardown(() => sql(TEST_POSTGRES_URL!, `drop role if exists ${name}`))
  const denied = new URL(url)
  denied.username = name
  const err = await openStore({ url: denied.href }).then(() => null, (e: unknown) => e)
  t.type(err, ConfigError)
  t.match(String((err as Error).message), /^Cannot open the database at DATABASE_URL \(.*\): permission denied for database .* \(42501\)$/)
})
