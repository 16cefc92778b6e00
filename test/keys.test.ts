import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createHash } from 'node:crypto'
import Database from 'better-sqlite3'
import pg from 'pg'
import { build, bearer, req, problem, paths, ISO, cli, dialect, rawHttp, type Response } from './helper.js'
import { buildApp } from '../src/app.js'
import { loadConfig, ConfigError } from '../src/config.js'
import type { App } from '../src/app.js'

/* eslint-disable @typescript-eslint/no-explicit-any */

const MISSING = '00000000-0000-4000-8000-000000000000'
const KEY_FIELDS = ['createdAt', 'id', 'name', 'prefix', 'revokedAt', 'role']
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex')

function tmpDir (t: { teardown: (fn: () => unknown) => void }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-keys-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** An app on an existing data folder (as `npm start` would open it after the CLI ran). */
async function appOn (t: { teardown: (fn: () => unknown) => void }, dataDir: string, env: Record<string, string> = {}): Promise<App> {
  const app = await buildApp({ config: loadConfig({ DATA_DIR: dataDir, RATE_LIMIT_ANONYMOUS: '100000', RATE_LIMIT_KEY: '100000', ...env }) })
  await app.ready()
  t.teardown(() => app.close())
  return app
}

/** Asserts the 401 every refused credential gets. */
function refused (t: any, res: Response, what: string, invalidToken = true) {
  problem(t, res, 401, what)
  t.match(res.headers['www-authenticate'], /^Bearer\b/, `${what}: WWW-Authenticate: Bearer`)
  if (invalidToken) t.match(res.headers['www-authenticate'], /error="invalid_token"/, `${what}: error="invalid_token"`)
}

/** Every byte stored under the data folder (database, WAL, anything else), as one latin1 string. */
function storedBytes (dir: string): string {
  let out = ''
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out += fs.readFileSync(path.join(entry.parentPath, entry.name)).toString('latin1')
  }
  return out
}

/** Every row of every table, as JSON text. */
function allRows (file: string): string {
  const db = new Database(file, { readonly: true, fileMustExist: true })
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>
    return JSON.stringify(tables.map(({ name }) => db.prepare(`SELECT * FROM "${name.replace(/"/g, '""')}"`).all()))
  } finally {
    db.close()
  }
}

t.test('CLI: create-key makes a usable admin key on a new install (secret on the last line)', async (t) => {
  const dataDir = tmpDir(t)
  const run = await cli(dataDir, ['create-key', '--name', 'First admin'])
  t.equal(run.code, 0, `exits 0: ${run.stderr}`)
  const lines = run.stdout.trim().split('\n')
  const secret = lines.at(-1)!.trim()
  t.match(secret, /^cms_[A-Za-z0-9_-]{40,}$/, 'the last line is the secret')
  t.match(run.stdout, /admin/, 'says the role')
  t.match(run.stdout, /First admin/, 'says the name')
  t.notOk(run.stdout.includes(sha256(secret)), 'the hash is not printed')

  const app = await appOn(t, dataDir)
  const list = await req(app, { method: 'GET', url: '/v1/keys', headers: bearer(secret) })
  t.equal(list.statusCode, 200, `the key reads /v1/keys: ${list.body}`)
  const keys = list.json().data
  t.equal(keys.length, 1)
  t.match(keys[0], { name: 'First admin', role: 'admin', revokedAt: null, prefix: secret.slice(0, keys[0].prefix.length) })
  t.match(run.stdout, keys[0].id, 'prints the key id')

  const made = await req(app, { method: 'POST', url: '/v1/keys', headers: bearer(secret), payload: { name: 'Night desk', role: 'editor' } })
  t.equal(made.statusCode, 201, 'the admin key creates keys')
  const article = await req(app, { method: 'POST', url: '/v1/articles', headers: bearer(secret), payload: { headline: 'First story' } })
  t.equal(article.statusCode, 201, 'and writes content')

  t.notOk(storedBytes(dataDir).includes(secret), 'the secret is nowhere on disk')
  t.ok(allRows(path.join(dataDir, 'cms.sqlite')).includes(sha256(secret)), 'its sha256 is stored')
})

t.test('CLI: --role picks the role', async (t) => {
  const dataDir = tmpDir(t)
  const run = await cli(dataDir, ['create-key', '--name', 'Stringer', '--role', 'writer'])
  t.equal(run.code, 0, run.stderr)
  const secret = run.stdout.trim().split('\n').at(-1)!.trim()
  const app = await appOn(t, dataDir)
  problem(t, await req(app, { method: 'GET', url: '/v1/keys', headers: bearer(secret) }), 403, 'a writer key on /v1/keys')
  const draft = await req(app, { method: 'POST', url: '/v1/articles', headers: bearer(secret), payload: { headline: 'Draft' } })
  t.equal(draft.statusCode, 201, 'a writer key writes drafts')
  problem(t, await req(app, { method: 'POST', url: `/v1/articles/${draft.json().id}/publish`, headers: bearer(secret) }), 403, 'but does not publish')
})

t.test('CLI: a bad role, a missing or empty name, an unknown command exit 2 with a message and create nothing', async (t) => {
  const dataDir = tmpDir(t)
  const cases: Array<[string, string[], RegExp]> = [
    ['bad role', ['create-key', '--name', 'X', '--role', 'superuser'], /^--role must be one of admin, editor, writer$/m],
    ['missing name', ['create-key'], /^--name is required: one line of visible text/m],
    ['empty name', ['create-key', '--name', ''], /^--name must be one line of visible text/m],
    ['blank name', ['create-key', '--name', '   '], /^--name must be one line of visible text/m],
    ['name too long', ['create-key', '--name', 'x'.repeat(201)], /^--name must be one line of visible text, at most 200 characters/m],
    ['name twice', ['create-key', '--name', 'Night desk', '--name', 'Day desk'], /^--name is given 2 times: give it once$/m],
    ['role twice', ['create-key', '--name', 'X', '--role', 'writer', '--role', 'admin'], /^--role is given 2 times: give it once$/m],
    ['unknown option', ['create-key', '--name', 'X', '--admin'], /admin/],
    ['unknown command', ['make-key', '--name', 'X'], /usage/]
  ]
  for (const [what, args, message] of cases) {
    const run = await cli(dataDir, args)
    t.equal(run.code, 2, `${what}: exits 2`)
    t.match(run.stderr, message, `${what}: says what is wrong`)
    t.match(run.stderr, /key:create/, `${what}: shows the usage`)
    t.notMatch(run.stdout, /cms_/, `${what}: prints no secret`)
  }
  for (const args of [['--help'], ['create-key', '--help'], ['-h']]) {
    const help = await cli(dataDir, args)
    t.equal(help.code, 0, `${args.join(' ')}: asked for, the usage is a success`)
    t.match(help.stdout, /^usage: npm run key:create/, 'on standard output')
  }
  const db = path.join(dataDir, 'cms.sqlite')
  if (fs.existsSync(db)) {
    const sqlite = new Database(db, { readonly: true })
    const tables = sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%key%'").all() as Array<{ name: string }>
    for (const { name } of tables) t.equal((sqlite.prepare(`SELECT count(*) AS n FROM "${name}"`).get() as any).n, 0, `no row in ${name}`)
    sqlite.close()
  } else {
    t.pass('no database was even created')
  }
})

t.test('POST /v1/keys: 201 with Location and the secret, shown once; the secret works as a Bearer key', async (t) => {
  const { app, anon, keys } = await build(t)
  const admin = bearer(keys.admin)
  const before = Date.now()
  const res = await req(app, { method: 'POST', url: '/v1/keys', headers: admin, payload: { name: 'Night desk', role: 'editor' } })
  t.equal(res.statusCode, 201, res.body)
  t.match(res.headers['content-type'], /^application\/json/)
  const key = res.json()
  t.same(Object.keys(key).sort(), [...KEY_FIELDS, 'secret'].sort(), 'exactly the documented fields')
  t.equal(res.headers.location, `/v1/keys/${key.id}`)
  t.match(key, { name: 'Night desk', role: 'editor', revokedAt: null })
  t.match(key.secret, /^cms_[A-Za-z0-9_-]{40,}$/, 'a cms_ secret with plenty of randomness')
  t.ok(key.secret.startsWith(key.prefix) && key.prefix.length >= 6 && key.prefix.length < key.secret.length - 20, 'prefix is a short start of the secret')
  t.match(key.createdAt, ISO)
  t.ok(Date.parse(key.createdAt) >= before - 1000 && Date.parse(key.createdAt) <= Date.now() + 1000, 'createdAt is now')

  // the new key works, with its role
  const article = await req(app, { method: 'POST', url: '/v1/articles', headers: bearer(key.secret), payload: { headline: 'Filed by night desk' } })
  t.equal(article.statusCode, 201, 'the new editor key writes')
  const published = await req(app, { method: 'POST', url: `/v1/articles/${article.json().id}/publish`, headers: bearer(key.secret) })
  t.equal(published.statusCode, 200, 'and publishes (editor)')
  problem(t, await req(app, { method: 'GET', url: '/v1/keys', headers: bearer(key.secret) }), 403, 'but is not an admin')
  const revisions = await req(app, { method: 'GET', url: `/v1/articles/${article.json().id}/revisions`, headers: bearer(key.secret) })
  t.equal(revisions.json().data[0].keyName, 'Night desk', 'revisions name the key')
  t.equal(revisions.json().data[0].keyId, key.id)

  // shown once: reading the key back never answers the secret
  const again = await req(app, { method: 'GET', url: res.headers.location as string, headers: admin })
  t.equal(again.statusCode, 200)
  const { secret, ...rest } = key
  t.same(again.json(), rest, 'GET answers the same key without its secret')
  t.notOk(again.body.includes(secret))

  const other = (await req(app, { method: 'POST', url: '/v1/keys', headers: admin, payload: { name: 'Night desk', role: 'editor' } })).json()
  t.not(other.secret, key.secret, 'every key gets its own secret, even with the same name')
  t.not(other.id, key.id)

  // a writer key, made over the API, is a writer
  const writer = (await req(app, { method: 'POST', url: '/v1/keys', headers: admin, payload: { name: 'Stringer', role: 'writer' } })).json()
  t.equal(writer.role, 'writer')
  const draft = await req(app, { method: 'POST', url: '/v1/articles', headers: bearer(writer.secret), payload: { headline: 'Stringer draft' } })
  t.equal(draft.statusCode, 201)
  problem(t, await req(app, { method: 'POST', url: `/v1/articles/${draft.json().id}/publish`, headers: bearer(writer.secret) }), 403)

  // the key scheme is case-insensitive (RFC 9110)
  const lower = await anon({ method: 'GET', url: '/v1/keys', headers: { authorization: `bearer ${keys.admin}` } })
  t.equal(lower.statusCode, 200, '"bearer" in lower case works too')
})

t.test('GET /v1/keys lists keys without secrets or hashes; GET /v1/keys/{id}', async (t) => {
  const { app, keys } = await build(t)
  const admin = bearer(keys.admin)
  const made = (await req(app, { method: 'POST', url: '/v1/keys', headers: admin, payload: { name: 'Wire importer', role: 'writer' } })).json()
  const res = await req(app, { method: 'GET', url: '/v1/keys', headers: admin })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  t.match(res.headers['cache-control'], /no-store/, 'never cached')
  const body = res.json()
  t.same(Object.keys(body).sort(), ['data', 'next'])
  t.equal(body.data.length, 4, 'the three test keys and the new one')
  for (const key of body.data) t.same(Object.keys(key).sort(), KEY_FIELDS, `${key.name}: no secret, no hash`)
  t.same(body.data.map((k: any) => k.role).sort(), ['admin', 'editor', 'writer', 'writer'])
  t.same(body.data[0], (({ secret, ...rest }) => rest)(made), 'newest first')
  for (const secret of [...Object.values(keys), made.secret]) {
    t.notOk(res.body.includes(secret), 'no secret in the list')
    t.notOk(res.body.includes(sha256(secret)), 'no hash in the list')
    t.notOk(res.body.includes(secret.slice(0, 20)), 'not even a long part of a secret')
  }
  t.notMatch(res.body, /"(secret|hash)"/)

  const one = await req(app, { method: 'GET', url: `/v1/keys/${made.id}`, headers: admin })
  t.equal(one.statusCode, 200)
  t.same(one.json(), body.data[0])
  t.ok(one.headers.etag, 'carries an ETag')
  t.notOk(one.body.includes(sha256(made.secret)))
  problem(t, await req(app, { method: 'GET', url: `/v1/keys/${MISSING}`, headers: admin }), 404, 'unknown key')
  problem(t, await req(app, { method: 'GET', url: '/v1/keys/not-a-uuid', headers: admin }), 404, 'an id that is no key (ids are opaque)')
})

t.test('GET /v1/keys pages with cursors: every key once, newest first', async (t) => {
  const { app, keys } = await build(t)
  const admin = bearer(keys.admin)
  for (let i = 0; i < 4; i++) {
    await req(app, { method: 'POST', url: '/v1/keys', headers: admin, payload: { name: `Key ${i}`, role: 'writer' } })
  }
  const seen: any[] = []
  let url: string | null = '/v1/keys?limit=3'
  let pages = 0
  while (url && pages < 10) {
    const res: Response = await req(app, { method: 'GET', url, headers: admin })
    t.equal(res.statusCode, 200, res.body)
    const body = res.json()
    t.ok(body.data.length <= 3, 'limit honoured')
    seen.push(...body.data)
    if (body.next) {
      t.match(res.headers.link, /rel="next"/, 'Link header for the next page')
      url = `/v1/keys?limit=3&cursor=${encodeURIComponent(body.next)}`
    } else {
      t.notOk(res.headers.link, 'no Link on the last page')
      url = null
    }
    pages++
  }
  t.equal(pages, 3, '7 keys in pages of 3')
  t.equal(seen.length, 7)
  t.equal(new Set(seen.map((k) => k.id)).size, 7, 'no key twice')
  for (let i = 1; i < seen.length; i++) t.ok(seen[i - 1].createdAt >= seen[i].createdAt, 'newest first')
  const all = (await req(app, { method: 'GET', url: '/v1/keys?limit=100', headers: admin })).json()
  t.same(seen, all.data, 'the pages add up to the whole list')
  t.equal(all.next, null)

  problem(t, await req(app, { method: 'GET', url: '/v1/keys?cursor=tampered', headers: admin }), 400, 'tampered cursor')
  problem(t, await req(app, { method: 'GET', url: '/v1/keys?limit=0', headers: admin }), 400, 'limit 0')
  problem(t, await req(app, { method: 'GET', url: '/v1/keys?limit=101', headers: admin }), 400, 'limit 101')
  problem(t, await req(app, { method: 'GET', url: '/v1/keys?role=admin', headers: admin }), 400, 'unknown query parameter')
})

/** Every row of every table of the PostgreSQL database (the migrations' journal included), as JSON text; bytes as latin1 text. */
async function allRowsPostgres (url: string): Promise<string> {
  const db = new pg.Client({ connectionString: url })
  await db.connect()
  try {
    const tables = (await db.query(`select table_schema as schema, table_name as name from information_schema.tables
      where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')`)).rows as Array<{ schema: string, name: string }>
    const quote = (name: string) => `"${name.replace(/"/g, '""')}"`
    const rows = []
    for (const { schema, name } of tables) rows.push((await db.query(`select * from ${quote(schema)}.${quote(name)}`)).rows)
    if (!tables.some((table) => table.name === 'api_keys')) throw new Error('no api_keys table among the tables read')
    return JSON.stringify(rows, (_key, value) => value?.type === 'Buffer' && Array.isArray(value.data) ? Buffer.from(value.data).toString('latin1') : value)
  } finally {
    await db.end()
  }
}

t.test('the database holds the hash, never the secret', async (t) => {
  const { app, keys, dataDir, databaseUrl } = await build(t)
  const made = (await req(app, { method: 'POST', url: '/v1/keys', headers: bearer(keys.admin), payload: { name: 'Archive', role: 'writer' } })).json()
  let rows: string
  if (dialect === 'sqlite') {
    const file = path.join(dataDir, 'cms.sqlite')
    t.ok(fs.existsSync(file), 'dataDir/cms.sqlite exists')
    rows = allRows(file)
  } else {
    rows = await allRowsPostgres(databaseUrl!)
  }
  const bytes = storedBytes(dataDir)
  for (const secret of [...Object.values(keys), made.secret]) {
    t.ok(rows.includes(sha256(secret)), 'its sha256 is stored')
    t.notOk(rows.includes(secret), 'the secret is in no row')
    t.notOk(rows.includes(secret.slice(4)), 'not even without its cms_ prefix')
    t.notOk(bytes.includes(secret), 'the secret is in no file under DATA_DIR (database, WAL or other)')
  }
})

t.test('DELETE /v1/keys/{id} revokes at once; the key stays listed with revokedAt', async (t) => {
  const { app, keys } = await build(t)
  const admin = bearer(keys.admin)
  const made = (await req(app, { method: 'POST', url: '/v1/keys', headers: admin, payload: { name: 'Leaver', role: 'editor' } })).json()
  const mine = bearer(made.secret)
  t.equal((await req(app, { method: 'GET', url: '/v1/articles', headers: mine })).statusCode, 200, 'works before')
  t.equal((await req(app, { method: 'POST', url: '/v1/articles', headers: mine, payload: { headline: 'Before' } })).statusCode, 201)

  // If-Match, as on every DELETE: a stale tag is a 412 and the key keeps working
  const read = await req(app, { method: 'GET', url: `/v1/keys/${made.id}`, headers: admin })
  const stale = await req(app, { method: 'DELETE', url: `/v1/keys/${made.id}`, headers: { ...admin, 'if-match': '"stale"' } })
  t.equal(stale.statusCode, 412, 'a stale If-Match is a 412')
  t.equal((await req(app, { method: 'GET', url: '/v1/articles', headers: mine })).statusCode, 200, 'the key still works')

  const before = Date.now()
  const del = await req(app, { method: 'DELETE', url: `/v1/keys/${made.id}`, headers: { ...admin, 'if-match': read.headers.etag as string } })
  t.equal(del.statusCode, 204)
  t.equal(del.body, '')

  refused(t, await req(app, { method: 'POST', url: '/v1/articles', headers: mine, payload: { headline: 'After' } }), 'the very next write with the revoked key')
  refused(t, await req(app, { method: 'GET', url: '/v1/articles', headers: mine }), 'a read with the revoked key is refused, not anonymous')
  refused(t, await req(app, { method: 'GET', url: '/v1/sections', headers: mine }), 'any read')
  const articles = (await req(app, { method: 'GET', url: '/v1/articles?limit=100' })).json().data
  t.same(articles.map((a: any) => a.headline), ['Before'], 'nothing was written after the revocation')

  const one = (await req(app, { method: 'GET', url: `/v1/keys/${made.id}`, headers: admin })).json()
  t.match(one.revokedAt, ISO, 'revokedAt is set')
  t.ok(Date.parse(one.revokedAt) >= before - 1000 && Date.parse(one.revokedAt) <= Date.now() + 1000, 'revokedAt is now')
  t.match(one, { id: made.id, name: 'Leaver', role: 'editor', createdAt: made.createdAt })
  const list = (await req(app, { method: 'GET', url: '/v1/keys', headers: admin })).json().data
  t.same(list.find((k: any) => k.id === made.id), one, 'still listed, with revokedAt')
  t.equal(list.filter((k: any) => k.revokedAt !== null).length, 1, 'no other key revoked')

  const twice = await req(app, { method: 'DELETE', url: `/v1/keys/${made.id}`, headers: admin })
  t.equal(twice.statusCode, 204, 'revoking twice is harmless')
  t.equal((await req(app, { method: 'GET', url: `/v1/keys/${made.id}`, headers: admin })).json().revokedAt, one.revokedAt, 'and keeps the first revokedAt')
  refused(t, await req(app, { method: 'GET', url: '/v1/articles', headers: mine }), 'still refused')
  problem(t, await req(app, { method: 'DELETE', url: `/v1/keys/${MISSING}`, headers: admin }), 404, 'unknown key')

  // other keys keep working
  t.equal((await req(app, { method: 'GET', url: '/v1/keys', headers: admin })).statusCode, 200)
  t.equal((await req(app, { method: 'POST', url: '/v1/articles', payload: { headline: 'Editor still fine' } })).statusCode, 201)

  // an admin may revoke its own key; it stops working at once too
  const self = (await req(app, { method: 'POST', url: '/v1/keys', headers: admin, payload: { name: 'Temp admin', role: 'admin' } })).json()
  t.equal((await req(app, { method: 'DELETE', url: `/v1/keys/${self.id}`, headers: bearer(self.secret) })).statusCode, 204)
  refused(t, await req(app, { method: 'GET', url: '/v1/keys', headers: bearer(self.secret) }), 'a self-revoked admin key')
})

t.test('/v1/keys is for admins only: editor and writer 403, anonymous 401, nothing changes', async (t) => {
  const { app, anon, keys } = await build(t)
  const admin = bearer(keys.admin)
  const target = (await req(app, { method: 'POST', url: '/v1/keys', headers: admin, payload: { name: 'Target', role: 'writer' } })).json()
  const listed = async () => (await req(app, { method: 'GET', url: '/v1/keys?limit=100', headers: admin })).json()
  const before = await listed()
  const ops = [
    { method: 'GET' as const, url: '/v1/keys' },
    { method: 'GET' as const, url: `/v1/keys/${target.id}` },
    { method: 'POST' as const, url: '/v1/keys', payload: { name: 'Sneaky', role: 'admin' } },
    { method: 'DELETE' as const, url: `/v1/keys/${target.id}` }
  ]
  for (const op of ops) {
    const what = `${op.method} ${op.url}`
    const e = problem(t, await req(app, { ...op, headers: bearer(keys.editor) }), 403, `editor ${what}`)
    t.notOk(JSON.stringify(e).includes(keys.editor), 'the problem does not echo the key')
    problem(t, await req(app, { ...op, headers: bearer(keys.writer) }), 403, `writer ${what}`)
    const a = await anon(op)
    refused(t, a, `anonymous ${what}`, false)
  }
  t.same(await listed(), before, 'no key created or revoked')
  t.equal((await req(app, { method: 'GET', url: '/v1/articles', headers: bearer(target.secret) })).statusCode, 200, 'the target key still works')
})

t.test('the last admin key is not revoked (a 409): no one could manage keys after it, unless CMS_ADMIN_KEY is set', async (t) => {
  const { app, keys } = await build(t)
  const admin = bearer(keys.admin)
  const list = async () => (await req(app, { method: 'GET', url: '/v1/keys?limit=100', headers: admin })).json().data as any[]
  const first = (await list()).find((k) => k.name === 'test admin')
  const last = problem(t, await req(app, { method: 'DELETE', url: `/v1/keys/${first.id}`, headers: admin }), 409, 'the only admin key, by itself')
  t.match(last.detail, /last admin key/)
  t.equal((await req(app, { method: 'GET', url: '/v1/keys', headers: admin })).statusCode, 200, 'it still works')
  t.equal((await list()).find((k) => k.id === first.id).revokedAt, null, 'and is not revoked')

  // with a second admin, either may go; then the other is the last
  const second = (await req(app, { method: 'POST', url: '/v1/keys', headers: admin, payload: { name: 'Second admin', role: 'admin' } })).json()
  t.equal((await req(app, { method: 'DELETE', url: `/v1/keys/${first.id}`, headers: bearer(second.secret) })).statusCode, 204)
  problem(t, await req(app, { method: 'DELETE', url: `/v1/keys/${second.id}`, headers: bearer(second.secret) }), 409, 'the second, now the last')

  // two admins revoking each other at once: one of them stays
  const third = (await req(app, { method: 'POST', url: '/v1/keys', headers: bearer(second.secret), payload: { name: 'Third admin', role: 'admin' } })).json()
  const answers = await Promise.all([
    req(app, { method: 'DELETE', url: `/v1/keys/${third.id}`, headers: bearer(second.secret) }),
    req(app, { method: 'DELETE', url: `/v1/keys/${second.id}`, headers: bearer(third.secret) })
  ])
  t.equal(answers.filter((r) => r.statusCode === 204).length, 1, `one revocation: ${answers.map((r) => r.statusCode)}`)
  const survivor = answers[0]!.statusCode === 204 ? second : third
  const active = (await (await req(app, { method: 'GET', url: '/v1/keys?limit=100', headers: bearer(survivor.secret) })).json()).data
    .filter((k: any) => k.role === 'admin' && k.revokedAt === null)
  t.same(active.map((k: any) => k.id), [survivor.id], 'one admin key left, the one not revoked')

  // a server with CMS_ADMIN_KEY keeps a way in: its last stored admin key may go
  const ops = await build(t, { CMS_ADMIN_KEY: 'ops-' + 'A1b2C3d4'.repeat(5) })
  const only = (await (await req(ops.app, { method: 'GET', url: '/v1/keys?limit=100', headers: bearer(ops.keys.admin) })).json()).data.find((k: any) => k.role === 'admin')
  t.equal((await req(ops.app, { method: 'DELETE', url: `/v1/keys/${only.id}`, headers: bearer(ops.keys.admin) })).statusCode, 204)
})

t.test('CMS_ADMIN_KEY is accepted as an admin key; a wrong key of the same length is a 401', async (t) => {
  const secret = 'ops-' + 'A1b2C3d4'.repeat(5)
  const { anon, dataDir } = await build(t, { CMS_ADMIN_KEY: secret })
  const list = await anon({ method: 'GET', url: '/v1/keys', headers: bearer(secret) })
  t.equal(list.statusCode, 200, `CMS_ADMIN_KEY lists keys: ${list.body}`)
  t.match(list.headers['cache-control'], /private|no-store/)
  const made = await anon({ method: 'POST', url: '/v1/keys', headers: bearer(secret), payload: { name: 'From automation', role: 'editor' } })
  t.equal(made.statusCode, 201, 'and creates keys')
  const article = await anon({ method: 'POST', url: '/v1/articles', headers: bearer(secret), payload: { headline: 'From CI', status: 'published' } })
  t.equal(article.statusCode, 201, 'and publishes')

  const wrong = secret.slice(0, -1) + (secret.endsWith('x') ? 'y' : 'x')
  t.equal(wrong.length, secret.length)
  refused(t, await anon({ method: 'GET', url: '/v1/keys', headers: bearer(wrong) }), 'a wrong key of the same length')
  refused(t, await anon({ method: 'POST', url: '/v1/articles', headers: bearer(wrong), payload: { headline: 'x' } }), 'a wrong key on a write')
  refused(t, await anon({ method: 'GET', url: '/v1/keys', headers: bearer(secret + 'x') }), 'the key with a character more')
  refused(t, await anon({ method: 'GET', url: '/v1/keys', headers: bearer(secret.slice(0, -1)) }), 'the key with a character less')

  t.notOk(storedBytes(dataDir).includes(secret), 'CMS_ADMIN_KEY is not stored in clear')
  const listing = (await anon({ method: 'GET', url: '/v1/keys?limit=100', headers: bearer(secret) })).body
  t.notOk(listing.includes(secret), 'nor answered')

  const other = await build(t)
  refused(t, await other.anon({ method: 'GET', url: '/v1/keys', headers: bearer(secret) }), 'the same secret on an install without CMS_ADMIN_KEY')
})

t.test('CMS_ADMIN_KEY is validated by loadConfig: too short or with spaces is refused', async (t) => {
  const refusedBy = (value: string) => {
    try {
      loadConfig({ DATA_DIR: os.tmpdir(), CMS_ADMIN_KEY: value })
    } catch (err) {
      return err as Error
    }
    return undefined
  }
  for (const [what, value] of [['31 characters', 'x'.repeat(31)], ['5 characters', 'short'], ['with spaces', `has a space ${'x'.repeat(32)}`]]) {
    const err = refusedBy(value!)
    t.ok(err instanceof ConfigError, `${what}: refused with a ConfigError`)
    t.match(err?.message, /CMS_ADMIN_KEY/, `${what}: the message names the variable`)
    if (value!.length > 4) t.notOk(err?.message.includes(value!), `${what}: the message does not echo the secret`)
  }
  t.equal(loadConfig({ DATA_DIR: os.tmpdir(), CMS_ADMIN_KEY: 'x'.repeat(32) }).CMS_ADMIN_KEY, 'x'.repeat(32), '32 characters is enough')
  t.equal(loadConfig({ DATA_DIR: os.tmpdir() }).CMS_ADMIN_KEY, undefined, 'optional')
  t.equal(loadConfig({ DATA_DIR: os.tmpdir(), CMS_ADMIN_KEY: '' }).CMS_ADMIN_KEY, undefined, 'set but empty is unset: no admin key')
})

t.test('malformed or unknown Authorization headers are a 401, even on reads', async (t) => {
  const { app, anon, keys } = await build(t)
  const published = (await req(app, { method: 'POST', url: '/v1/articles', payload: { headline: 'Public story', status: 'published' } })).json()
  const headers = [
    'Basic x',
    `Basic ${Buffer.from(`admin:${keys.admin}`).toString('base64')}`,
    'Bearer',
    'Bearer ',
    'Bearer a b',
    `Bearer ${keys.admin} extra`,
    `Token ${keys.admin}`,
    keys.admin,
    'Bearer cms_unknownkeyunknownkeyunknownkeyunknownkey00',
    `Bearer ${keys.admin.slice(0, -1)}`,
    `Bearer ${'x'.repeat(600)}`
  ]
  for (const authorization of headers) {
    for (const url of ['/v1/articles', `/v1/articles/${published.id}`, '/v1/sections', '/v1/keys']) {
      refused(t, await anon({ method: 'GET', url, headers: { authorization } }), `GET ${url} with "${authorization.slice(0, 30)}"`)
    }
    refused(t, await anon({ method: 'POST', url: '/v1/articles', headers: { authorization }, payload: { headline: 'x' } }), `POST with "${authorization.slice(0, 30)}"`)
  }
  // a key in the URL is no key (it would be logged and cached along the way), and the answer does not repeat it
  for (const [url, status] of [[`/v1/keys?access_token=${keys.admin}`, 401], [`/v1/keys?limit=1&api_key=${encodeURIComponent('not-cms-but-secret')}`, 401],
    [`/v1/keys?${keys.admin}`, 401], [`/v1/keys/${keys.admin}`, 401], [`/v1/nothing/${keys.admin}`, 404], [`/v1/nothing/${'x'.repeat(1100)}/${keys.admin}?q=1`, 404]] as const) {
    const body = problem(t, await anon({ method: 'GET', url }), status, 'a key in the URL')
    t.notOk(JSON.stringify(body).includes(keys.admin) || JSON.stringify(body).includes('not-cms-but-secret'), `${url.slice(0, 30)}: not echoed`)
  }
  t.equal((await anon({ method: 'GET', url: `/v1/articles/${published.id}` })).statusCode, 200, 'without a header the read works')
  t.equal((await req(app, { method: 'GET', url: '/v1/articles?limit=100' })).json().data.length, 1, 'nothing was written')
})

t.test('two Authorization headers are a 401, whichever key comes first: a proxy may read the other one', async (t) => {
  const { app, keys } = await build(t)
  const raw = await rawHttp(app)
  const ask = (...keysSent: string[]) => raw(`GET /v1/keys HTTP/1.1\r\nHost: x\r\n${keysSent.map((k) => `Authorization: Bearer ${k}\r\n`).join('')}Connection: close\r\n\r\n`)
  t.match(await ask(keys.admin), /^HTTP\/1.1 200 /, 'one header: the key is used')
  for (const [first, second] of [[keys.writer, keys.admin], [keys.admin, keys.writer], [keys.admin, keys.admin]] as const) {
    const answer = await ask(first, second)
    t.match(answer, /^HTTP\/1.1 401 /, 'two headers: refused')
    t.match(answer, /Send one Authorization header, not several/)
  }
})

t.test('POST /v1/keys with a bad body is a 400 that says what is wrong and creates nothing', async (t) => {
  const { app, keys } = await build(t)
  const admin = bearer(keys.admin)
  const count = async () => (await req(app, { method: 'GET', url: '/v1/keys?limit=100', headers: admin })).json().data.length
  const before = await count()
  const cases: Array<[string, unknown, string]> = [
    ['unknown role', { name: 'X', role: 'superuser' }, '/role'],
    ['missing role', { name: 'X' }, '/role'],
    ['missing name', { role: 'writer' }, '/name'],
    ['empty name', { name: '', role: 'writer' }, '/name'],
    ['name not a string', { name: 42, role: 'writer' }, '/name'],
    ['too long name', { name: 'x'.repeat(201), role: 'writer' }, '/name'],
    ['extra field', { name: 'X', role: 'writer', secret: 'cms_mine' }, '/secret'],
    ['role in caps', { name: 'X', role: 'ADMIN' }, '/role']
  ]
  for (const [what, payload, field] of cases) {
    const res = await req(app, { method: 'POST', url: '/v1/keys', headers: admin, payload: payload as object })
    const body = problem(t, res, 400, what)
    t.ok(paths(body).includes(field), `${what}: errors[] names ${field} (${JSON.stringify(paths(body))})`)
  }
  problem(t, await req(app, { method: 'POST', url: '/v1/keys', headers: { ...admin, 'content-type': 'application/json' }, payload: '{"name":' }), 400, 'broken JSON')
  problem(t, await req(app, { method: 'POST', url: '/v1/keys', headers: { ...admin, 'content-type': 'application/json' }, payload: '[]' }), 400, 'an array')
  problem(t, await req(app, { method: 'POST', url: '/v1/keys', headers: { ...admin, 'content-type': 'text/plain' }, payload: 'name=X' }), 415, 'plain text')
  t.equal(await count(), before, 'nothing created')
})
