import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { execFile } from 'node:child_process'
import { connect, type AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import sharp from 'sharp'
import Database from 'better-sqlite3'
import pg from 'pg'
import type { InjectOptions } from 'fastify'
import { buildApp, type App } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { openStore } from '../src/db/index.js'
import { reindex } from '../src/services/search.js'

type Tap = { teardown: (fn: () => unknown) => void }

/**
 * The database the suite runs on: SQLite (the embedded default), or PostgreSQL when TEST_POSTGRES_URL names a server
 * the tests may create databases on (`npm run test:postgres` starts a throwaway one: scripts/test-postgres.sh).
 * Each test app gets a database of its own, dropped when the test ends.
 */
export const TEST_POSTGRES_URL = process.env.TEST_POSTGRES_URL || undefined
export const dialect: 'sqlite' | 'postgres' = TEST_POSTGRES_URL ? 'postgres' : 'sqlite'
/** Options for a test of SQLite's own behaviour (its files, locks, query plans, FTS5): skipped on PostgreSQL. */
export const sqliteOnly = { skip: dialect === 'postgres' ? 'SQLite only' : false }

/** A new, empty PostgreSQL database on the test server, dropped at teardown (after what uses it has closed); its URL. */
export async function postgresDatabase (t: Tap): Promise<string> {
  const server = new URL(TEST_POSTGRES_URL!)
  const name = `cms_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL })
  await admin.connect()
  try {
    await admin.query(`create database ${name}`)
  } finally {
    await admin.end()
  }
  // tap runs teardowns last registered first, one after the other: the apps on it have closed their pools by then
  t.teardown(async () => {
    const again = new pg.Client({ connectionString: TEST_POSTGRES_URL })
    await again.connect()
    try {
      await again.query(`drop database if exists ${name} with (force)`)
    } finally {
      await again.end()
    }
  })
  server.pathname = `/${name}`
  return server.href
}

export interface TestApp {
  app: App
  dataDir: string
  /** The PostgreSQL database's URL when the suite runs on PostgreSQL (see TEST_POSTGRES_URL). */
  databaseUrl?: string
  /** SQL statements run since the last `queries.length = 0`. */
  queries: string[]
  /** The same statements with their parameters. */
  statements: { sql: string, params: unknown[] }[]
  /** Secrets of keys made for the test, one per role. */
  keys: { admin: string, editor: string, writer: string }
  /** A request without any key, as an anonymous reader (a frontend behind a CDN) sends it. */
  anon: (opts: InjectOptions) => Promise<Response>
}

/**
 * A fresh app on a fresh database and photo folder, closed and removed when the test ends.
 * `app.inject` sends the editor key unless the request names its own `authorization`;
 * `anon` sends none.
 */
export async function build (t: Tap, env: Record<string, string> = {}): Promise<TestApp> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-test-'))
  const database = dialect === 'postgres' && !('DATABASE_URL' in env) ? { DATABASE_URL: await postgresDatabase(t) } : {}
  const databaseUrl = env.DATABASE_URL?.startsWith('postgres') ? env.DATABASE_URL : database.DATABASE_URL
  if (databaseUrl) databaseOf.set(dataDir, databaseUrl)
  const queries: string[] = []
  const statements: { sql: string, params: unknown[] }[] = []
  const app = await buildApp({
    config: loadConfig({ DATA_DIR: dataDir, RATE_LIMIT_ANONYMOUS: '100000', RATE_LIMIT_KEY: '100000', ...database, ...env }),
    onQuery: (sql, params) => { queries.push(sql); statements.push({ sql, params }) }
  })
  await app.ready()
  t.teardown(async () => {
    await app.close()
    fs.rmSync(dataDir, { recursive: true, force: true })
  })
  const keys = {
    admin: (await app.services.keys.create({ name: 'test admin', role: 'admin' })).secret,
    editor: (await app.services.keys.create({ name: 'test editor', role: 'editor' })).secret,
    writer: (await app.services.keys.create({ name: 'test writer', role: 'writer' })).secret
  }
  const raw = app.inject.bind(app)
  const anon = (opts: InjectOptions) => raw(opts) as Promise<Response>
  app.inject = ((opts: InjectOptions) => {
    const headers = opts.headers ?? {}
    return raw('authorization' in headers ? opts : { ...opts, headers: { ...headers, authorization: `Bearer ${keys.editor}` } })
  }) as App['inject']
  queries.length = 0
  statements.length = 0
  return { app, dataDir, databaseUrl, queries, statements, keys, anon }
}

/** The PostgreSQL database of each test app's data folder (see build), for the commands run on it (see cli). */
const databaseOf = new Map<string, string>()

/** Headers that send the given key. */
export const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` })

/** A real image of the given format, made in memory. */
export async function image (format: 'jpeg' | 'png' | 'webp' | 'gif' | 'avif' = 'jpeg', width = 64, height = 48, seed = 0): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: (seed * 37) % 256, g: 120, b: 200 } } })
    .toFormat(format)
    .toBuffer()
}

/** A multipart/form-data body with text fields and one file part. */
export function multipart (fields: Record<string, string>, file?: { name?: string, filename?: string, type?: string, data: Buffer }) {
  const boundary = `----cms${Math.random().toString(16).slice(2)}`
  const chunks: Buffer[] = []
  for (const [name, value] of Object.entries(fields)) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`))
  }
  if (file) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${file.name ?? 'file'}"; filename="${file.filename ?? 'photo.jpg'}"\r\n` +
      `Content-Type: ${file.type ?? 'application/octet-stream'}\r\n\r\n`))
    chunks.push(file.data, Buffer.from('\r\n'))
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return { payload: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } }
}

/** POSTs JSON and returns the parsed body, failing loudly when the status is not the expected one. */
export async function create<T = any> (app: App, url: string, body: unknown, status = 201): Promise<T> {
  const res = await app.inject({ method: 'POST', url, payload: body as object })
  if (res.statusCode !== status) throw new Error(`POST ${url} answered ${res.statusCode}: ${res.body}`)
  return res.json()
}

/** Uploads an image as multipart with the given fields and returns the photo record. */
export async function upload (app: App, fields: Record<string, string> = {}, data?: Buffer): Promise<any> {
  const form = multipart(fields, { data: data ?? await image() })
  const res = await app.inject({ method: 'POST', url: '/v1/photos', ...form })
  if (res.statusCode !== 201) throw new Error(`upload answered ${res.statusCode}: ${res.body}`)
  return res.json()
}

export type Response = Awaited<ReturnType<App['inject']>>
export const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/
export const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/

type Assert = { equal: Function, match: Function }

/** Asserts an RFC 9457 problem document with the given status and returns its body. */
export function problem (t: Assert, res: Response, status: number, what = ''): any {
  t.equal(res.statusCode, status, `${what} answers ${status}: ${res.body.slice(0, 300)}`)
  t.match(res.headers['content-type'], /^application\/problem\+json/, `${what} is a problem document`)
  const body = res.json()
  t.match(body, { type: String, title: String, status, detail: String }, `${what} problem shape`)
  return body
}

/** Asserts a JSON success with the given status and returns its body. */
export function ok (t: Assert, res: Response, status = 200): any {
  t.equal(res.statusCode, status, `answers ${status}: ${res.body.slice(0, 300)}`)
  t.match(res.headers['content-type'], /^application\/json/)
  return res.json()
}

/** app.inject that throws on any 5xx: bad input must never be a server error. */
export async function req (app: App, opts: InjectOptions): Promise<Response> {
  const res = await app.inject(opts)
  if (res.statusCode >= 500) throw new Error(`${opts.method ?? 'GET'} ${opts.url} answered ${res.statusCode}: ${res.body}`)
  return res
}

/** The paths named in a problem's errors[]. */
export const paths = (body: any): string[] => (body.errors ?? []).map((e: any) => e.path)

/** A body field's pointer in errors[].path: "/name" (JSON Pointer into the body). */
export const bodyField = (field: string) => new RegExp(`^${field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)
export const DAY = 24 * 3600 * 1000
export const ago = (days: number) => new Date(Date.now() - days * DAY).toISOString()

/** Files holding photo bytes under the photo folder (originals and renditions), the temporary folder excluded. */
export function storedFiles (dataDir: string): string[] {
  const root = path.join(dataDir, 'photos')
  if (!fs.existsSync(root)) return []
  return (fs.readdirSync(root, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((d) => d.isFile())
    .map((d) => path.relative(root, path.join(d.parentPath ?? (d as any).path, d.name)).split(path.sep).join('/'))
    .filter((p) => !p.split('/').includes('.tmp'))
}

/**
 * Puts the full-text index back as it was before migration 0012, keeping its own copy of the text, and fills it from
 * the articles as the service indexes them: the index of a database still to be upgraded. Run it with the migration
 * journal intact (the store it opens would otherwise upgrade the database), then forget the migrations to replay.
 */
export async function indexAsBefore0012 (dataDir: string) {
  const file = path.join(dataDir, 'cms.sqlite')
  const db = new Database(file)
  db.exec(`drop trigger article_search_delete; drop table articles_fts;
    create virtual table articles_fts using fts5(headline, summary, body, tags, bylines, tokenize = 'unicode61 remove_diacritics 2');
    create trigger article_search_delete after delete on article_search begin
      delete from articles_fts where rowid = old.doc; delete from articles_fts_short where rowid = old.doc; end;`)
  db.close()
  const store = await openStore({ file })
  try {
    const ids = await store.articles.idsAfter('', 1_000_000)
    await store.transaction(async () => { for (const id of ids) reindex(store, id) })
  } finally {
    store.close()
  }
}

/** What the migrations that change more than indexes did, undone (newest first when several are forgotten). */
const UNDO: Record<string, string> = {
  '0020': `drop index article_search_changed_idx; drop index article_search_going_live_idx;
    alter table article_search drop column changed_at; drop table article_removals`,
  '0019': 'drop table article_former_slugs',
  '0018': `drop index bylines_name_idx; drop index bylines_kind_name_idx; drop index sections_parent_position_idx;
    alter table bylines drop column sort_name; alter table sections drop column sort_name;
    create index bylines_name_idx on bylines (name, id); create index bylines_kind_name_idx on bylines (kind, name, id);
    create index sections_parent_position_idx on sections (parent_id, position, name)`,
  '0016': 'drop table secrets',
  '0015': `drop trigger article_bylines_copies_insert; drop trigger article_bylines_copies_update;
    drop trigger article_tags_copies_insert; drop trigger article_tags_copies_update; drop trigger articles_byline_tag_copies`,
  '0014': `drop index article_bylines_byline_published_idx; drop index article_tags_tag_published_idx; drop index article_search_section_published_idx;
    alter table article_bylines drop column status; alter table article_bylines drop column published_at;
    alter table article_tags drop column status; alter table article_tags drop column published_at;
    create index article_bylines_byline_idx on article_bylines (byline_id, article_id);
    create index article_tags_tag_idx on article_tags (tag, article_id);
    create index article_search_section_idx on article_search (section_id)`
}

/**
 * Forgets the migrations from the one whose name starts with `tag` on, so that the next start applies them again.
 * What they did is undone from UNDO where it is listed there, newest first (the rest, the caller undoes); then the
 * indexes they create are dropped (a replayed CREATE INDEX would find its index there), but for those they first drop:
 * a replayed DROP INDEX needs its index there, as UNDO put it back.
 */
export function forgetMigrationsFrom (db: Database.Database, tag: string) {
  const folder = new URL('../migrations/sqlite/', import.meta.url)
  const journal = JSON.parse(fs.readFileSync(new URL('meta/_journal.json', folder), 'utf8')) as { entries: { tag: string, when: number }[] }
  const from = journal.entries.find((e) => e.tag.startsWith(tag))!
  const forgotten = journal.entries.filter((e) => e.when >= from.when)
  for (const entry of [...forgotten].reverse()) {
    const undo = UNDO[entry.tag.slice(0, 4)]
    if (undo) db.exec(undo)
  }
  const firstMention = new Map<string, string>()
  for (const entry of forgotten) {
    for (const [, verb, index] of fs.readFileSync(new URL(`${entry.tag}.sql`, folder), 'utf8').matchAll(/(CREATE|DROP) (?:UNIQUE )?INDEX `(\w+)`/g)) {
      if (!firstMention.has(index!)) firstMention.set(index!, verb!)
    }
  }
  for (const [index, verb] of firstMention) if (verb === 'CREATE') db.exec(`drop index if exists "${index}"`)
  db.prepare('delete from __drizzle_migrations where created_at >= ?').run(from.when)
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/**
 * The operator's command line from the source under test, bundled once per test process as `npm run build` bundles
 * the server (scripts/bundle.mjs), into a folder inside the checkout (migrations and packages are found from there):
 * run as plain node, without the TypeScript loader, whose child once hung under the full suite's load.
 */
let cliBundle: Promise<string> | undefined
function bundledCli () {
  cliBundle ??= (async () => {
    const file = path.join(ROOT, 'node_modules', '.cache', 'cms-cli-test', `cli-${process.pid}.js`)
    const { bundle } = await import(path.join(ROOT, 'scripts', 'bundle.mjs'))
    await bundle(file, 'src/cli.ts')
    process.once('exit', () => { for (const f of [file, file + '.map']) fs.rmSync(f, { force: true }) })
    return file
  })()
  return cliBundle
}

/** Runs the operator's command line (src/cli.ts, bundled from source) on the given data folder. */
export async function cli (dataDir: string, args: string[], extra: Record<string, string> = {}): Promise<{ code: number, stdout: string, stderr: string }> {
  const file = await bundledCli()
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir }
  delete env.DATABASE_URL
  // on PostgreSQL, the database of the app whose folder this is
  if (databaseOf.has(dataDir)) env.DATABASE_URL = databaseOf.get(dataDir)
  Object.assign(env, extra)
  delete env.CMS_ADMIN_KEY
  return new Promise((resolve) => {
    execFile(process.execPath, [file, ...args], { cwd: ROOT, env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0
      resolve({ code, stdout: String(stdout), stderr: String(stderr) })
    })
  })
}

/**
 * Puts the app on a loopback port and answers a function that writes `request` as it is on a new connection and
 * resolves with all the server wrote back, once it closes the connection: for what an HTTP client library would not
 * send (no Host, a header twice). A request the server accepts must ask for `Connection: close`. The socket is not
 * half-closed after the request: Node's HTTP server drops a request whose client ended its side before the answer
 * was ready, which it is not at once when the answer waits for PostgreSQL.
 */
export async function rawHttp (app: App): Promise<(request: string) => Promise<string>> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  return (request) => new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request))
    let answer = ''
    socket.on('data', (chunk) => { answer += chunk })
    socket.on('close', () => resolve(answer))
    socket.on('error', reject)
  })
}

/**
 * Another writer on the test app's database, around the app (a script, a second instance): SQL with `?` parameters.
 * On SQLite, a connection to its file; on PostgreSQL, a client of its own, each write its own transaction that also
 * turns the content version over, as the README asks of writes made around the API. Closed when the test ends.
 */
export async function around (t: Tap, ctx: TestApp) {
  if (dialect === 'sqlite') {
    const db = new Database(path.join(ctx.dataDir, 'cms.sqlite'))
    t.teardown(() => db.close())
    return {
      all: async (sql: string, ...params: unknown[]) => db.prepare(sql).all(...params),
      run: async (sql: string, ...params: unknown[]) => { db.prepare(sql).run(...params) }
    }
  }
  const db = new pg.Client({ connectionString: ctx.databaseUrl })
  await db.connect()
  t.teardown(() => db.end())
  const numbered = (sql: string) => { let n = 0; return sql.replace(/\?/g, () => `$${++n}`) }
  return {
    all: async (sql: string, ...params: unknown[]) => (await db.query(numbered(sql), params)).rows,
    run: async (sql: string, ...params: unknown[]) => {
      await db.query('begin')
      try {
        await db.query(numbered(sql), params)
        await db.query('update content_version set number = number + 1')
        await db.query('commit')
      } catch (err) {
        await db.query('rollback')
        throw err
      }
    }
  }
}
