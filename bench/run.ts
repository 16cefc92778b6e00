/**
 * `npm run bench`: seeds a newsroom-sized database, starts the real server, loads it over HTTP with
 * autocannon (50 connections) on the paths frontends and editors use, runs the same answers from a bare
 * Fastify server (the ceiling) in the same run, and writes bench/RESULTS.md.
 * BENCH_ARTICLES (default 100000) and BENCH_SECONDS (default 10) scale it down for a quick look.
 */
import { fork, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import autocannon from 'autocannon'
import { seed } from './seed.js'
import { openStore } from '../src/db/index.js'
import { keysService } from '../src/services/keys.js'
import { startServer } from './server.js'
import { hostSpeed, processUse } from './host.js'

/** A small seeded generator, so every run asks the same queries. */
function rng (seed: number) {
  let x = seed >>> 0
  return () => { x = (x * 1664525 + 1013904223) >>> 0; return x / 2 ** 32 }
}

const ARTICLES = Number(process.env.BENCH_ARTICLES ?? 100_000)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10)
/** Queries in the two runs of the search long tail: the first searches after the start, then a server in service. */
const FIRST = 200
const TAIL = 400
/** Starts of the server timed to ready, on the seeded database. */
const STARTS = 5
const PORT = 3901
const CEILING_PORT = 3902
const root = new URL('..', import.meta.url).pathname

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-bench-'))
const dbFile = path.join(dir, 'cms.sqlite')
const log = (...args: unknown[]) => console.log(...args)

// 1. seed
const start = Date.now()
const corpus = await seed(dbFile, { articles: ARTICLES, sections: 50, bylines: 2000, photos: 10_000 })
const seedSeconds = (Date.now() - start) / 1000
const store = await openStore({ file: dbFile })
const { secret } = await keysService(store, {}).create({ name: 'bench editor', role: 'editor' })
store.close()
const dbBytes = () => ['', '-wal', '-shm'].reduce((n, s) => n + (fs.existsSync(dbFile + s) ? fs.statSync(dbFile + s).size : 0), 0)
const seededSize = dbBytes()
log(`seeded ${ARTICLES} articles in ${seedSeconds.toFixed(1)} s; database ${(seededSize / 2 ** 20).toFixed(0)} MiB`)

// 2. the real server, and how long it takes to be ready on an existing database
const base = `http://127.0.0.1:${PORT}`
// STARTS starts, each timed, the last kept for the loads: one start is one sample of a noisy host (the first, just
// after seeding, also meets a page cache full of the seeder's writes); the figure is their median, each listed
const serverEnv = { DATA_DIR: dir, PORT: String(PORT), HOST: '127.0.0.1', LOG_LEVEL: 'warn', RATE_LIMIT_ANONYMOUS: '1000000000', RATE_LIMIT_KEY: '1000000000' }
const readyTimes: number[] = []
let started: Awaited<ReturnType<typeof startServer>>
for (;;) {
  started = await startServer(serverEnv)
  readyTimes.push(started.readyMs)
  if (readyTimes.length === STARTS) break
  const exited = new Promise((resolve) => started.server.once('exit', resolve))
  started.server.kill('SIGTERM')
  await exited
}
const { server } = started
const readyMs = [...readyTimes].sort((a, b) => a - b)[Math.floor(STARTS / 2)]!
log(`ready in ${readyTimes.map((t) => t.toFixed(0)).join(', ')} ms: median ${readyMs.toFixed(0)} ms`)

const rss = (child: ChildProcess) => {
  const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) * 1024
}

// 3. the URLs each scenario rotates through, and their answers for the ceiling
const sample = <T>(xs: T[], n: number) => Array.from({ length: Math.min(n, xs.length) }, (_, i) => xs[Math.floor(i * xs.length / Math.min(n, xs.length))]!)
const words = ['harbin', 'gas deal', 'heilongjiang', 'festival', 'railway', 'minister summit', '"trade agreement"', 'innov*']
const scenarios: { name: string, urls: string[], headers?: Record<string, string> }[] = [
  { name: 'article page by slug (anonymous)', urls: sample(corpus.slugs, 1000).map((s) => `/v1/articles/slug/${s}`) },
  { name: 'section front, 20 articles', urls: corpus.sectionIds.map((id) => `/v1/sections/${id}/articles?limit=20`) },
  { name: 'search, 20 hits', urls: words.map((w) => `/v1/articles?q=${encodeURIComponent(w)}&limit=20`) },
  { name: 'byline archive, 20 articles', urls: sample(corpus.bylineIds, 200).map((id) => `/v1/bylines/${id}/articles?limit=20`) }
]
const canned: Record<string, { status: number, type: string, etag?: string, body: string }> = {}
for (const s of scenarios) {
  for (const url of s.urls) {
    const res = await fetch(base + url)
    canned[url] = { status: res.status, type: res.headers.get('content-type')!, etag: res.headers.get('etag') ?? undefined, body: Buffer.from(await res.arrayBuffer()).toString('base64') }
  }
}
const conditionalUrl = scenarios[0]!.urls[0]!
scenarios.push({ name: 'conditional GET answered 304', urls: [conditionalUrl], headers: { 'if-none-match': canned[conditionalUrl]!.etag! } })
const words600 = Array.from({ length: 600 }, (_, i) => ['economic', 'cooperation', 'harbin', 'trade', 'exposition', 'province'][i % 6]).join(' ')
const articleBody = (n: number) => JSON.stringify({
  headline: `Benchmark story ${n} ${Math.random().toString(36).slice(2)}`,
  summary: 'A story written by the benchmark.',
  sectionId: corpus.sectionIds[n % corpus.sectionIds.length],
  bylines: [{ bylineId: corpus.bylineIds[n % corpus.bylineIds.length] }],
  tags: ['bench'],
  body: Array.from({ length: 10 }, (_, i) => ({ type: 'paragraph', text: words600.slice(i * 400, i * 400 + 400) }))
})
const createRes = await fetch(`${base}/v1/articles`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: articleBody(0) })
canned['POST /v1/articles'] = { status: 201, type: 'application/json; charset=utf-8', body: Buffer.from(await createRes.arrayBuffer()).toString('base64') }
const cannedFile = path.join(dir, 'ceiling.json')
fs.writeFileSync(cannedFile, JSON.stringify(canned))

const ceiling = fork(path.join(root, 'bench/ceiling.ts'), [cannedFile, String(CEILING_PORT)], { execArgv: ['--import', 'tsx'], stdio: 'inherit' })
await new Promise((resolve) => ceiling.once('message', resolve))

// 4. load: the API and the ceiling take turns, in SLICES short loads each, after a warm-up each, so a burst of
// the host's noise (other tenants, the kernel's reclaim) falls on both sides alike instead of on the one 10-s window
// it happens in; each side's requests/s is its requests over its own seconds, its latencies from all its slices
const SLICES = 5
const WARMUP = 1
interface Result { rps: number, p50: number, p99: number, errors: number, non2xx: number, rss: number }
interface Side { target: string, child: ChildProcess, runs: autocannon.Result[], peak: number }
async function slice (side: Side, s: { urls: string[], headers?: Record<string, string> }, method: 'GET' | 'POST', seconds: number, keep: boolean) {
  let i = 0
  const timer = setInterval(() => { side.peak = Math.max(side.peak, rss(side.child)) }, 200)
  const result = await autocannon({
    url: side.target,
    connections: 50,
    duration: seconds,
    skipAggregateResult: true,
    requests: [{
      method,
      headers: method === 'POST' ? { authorization: `Bearer ${secret}`, 'content-type': 'application/json' } : s.headers,
      setupRequest: (req: any) => method === 'POST'
        ? { ...req, path: '/v1/articles', body: articleBody(++created) }
        : { ...req, path: s.urls[i++ % s.urls.length] }
    }]
  })
  clearInterval(timer)
  if (keep) side.runs.push(result)
}
function summary (side: Side, s: { headers?: Record<string, string> }, method: 'GET' | 'POST'): Result {
  // autocannon's own merge of runs made with skipAggregateResult (its latency histograms add exactly); not in its types
  const merge = (autocannon as unknown as { aggregateResult: (runs: autocannon.Result[], opts: object) => autocannon.Result }).aggregateResult
  const all = merge(side.runs, { url: side.target, connections: 50 })
  const seconds = side.runs.reduce((n, r) => n + (r as unknown as { duration: number }).duration, 0)
  const completed = side.runs.reduce((n, r) => n + (r as unknown as { totalCompletedRequests: number }).totalCompletedRequests, 0)
  const expected = method === 'POST' ? '2xx' : s.headers ? '3xx' : '2xx'
  const wrong = all.non2xx - (expected === '3xx' ? all['3xx'] ?? 0 : 0)
  return { rps: completed / seconds, p50: all.latency.p50, p99: all.latency.p99, errors: all.errors + all.timeouts, non2xx: wrong, rss: side.peak }
}
let created = 0

// 5. the long tail of searches: different queries, each asked once by one client (a process of its own), so
// every one is a cache miss and its latency is the search's own (no queueing behind other connections). The
// queries are made now, from the newest seeded articles, and asked after the read loads and before the creations
// add to the index, in two runs: the first searches the server answers after its start (FIRST; the loads' few
// popular searches were answered from the response cache), then TAIL others, as a server in service answers them,
// its search code compiled and its index's shared pages read; no query of the second run was asked before, so each
// still reads its own words' entries and its own articles. (The common words are few: 96 unasked by the loads
// for 20 + 40 queries of a common word alone; the other kinds that ask one pair it with something else.)
const tailQueries = await (async () => {
  const r = rng(7)
  const w = () => corpus.words[Math.floor(r() * corpus.words.length)]!
  const head = () => corpus.words[Math.floor(r() * 100)]!
  const texts = (await (await fetch(`${base}/v1/articles?limit=50`)).json() as { data: { body: { type: string, text?: string }[] }[] }).data
    .flatMap((a) => a.body.flatMap((b) => b.text ? [b.text] : [])).join(' ').toLowerCase().split(/[^a-z]+/).filter(Boolean)
  const phrase = () => { const i = Math.floor(r() * (texts.length - 1)); return `"${texts[i]} ${texts[i + 1]}"` }
  // an editor after last year's story: one calendar month of the five years the corpus spans
  const month = () => {
    const at = new Date(Date.now() - (1 + Math.floor(r() * 58)) * 31 * 86400_000)
    const from = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1)
    const to = Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1)
    return { q: head(), publishedAfter: new Date(from).toISOString(), publishedBefore: new Date(to).toISOString() }
  }
  const kinds: [string, () => Record<string, string>][] = [
    ['a word from the whole vocabulary', () => ({ q: w() })],
    ['a common word and another word', () => ({ q: `${head()} ${w()}` })],
    ['a phrase taken from an article', () => ({ q: phrase() })],
    ['a prefix (4 letters*)', () => ({ q: `${w().slice(0, 4)}*` })],
    ['a common word (in most articles)', () => ({ q: head() })],
    ['a word, in one section', () => ({ q: w(), section: corpus.sectionIds[Math.floor(r() * corpus.sectionIds.length)]! })],
    ['two words, newest first (sort=-publishedAt)', () => ({ q: `${head()} ${w()}`, sort: '-publishedAt' })],
    ['a phrase from an article, by one byline', () => ({ q: phrase(), byline: corpus.bylineIds[Math.floor(r() * corpus.bylineIds.length)]! })],
    ['a common word, by one byline', () => ({ q: head(), byline: corpus.bylineIds[Math.floor(r() * corpus.bylineIds.length)]! })],
    ['a common word, in one month of the archive', month]
  ]
  // every query distinct, and none a URL the loads ask (which the response cache could answer)
  const asked = new Set(scenarios.flatMap((s) => s.urls.map((u) => new URL(base + u).searchParams.toString())))
  return Array.from({ length: FIRST + TAIL }, (_, i) => {
    const [kind, make] = kinds[i % kinds.length]!
    let query: string
    do query = new URLSearchParams({ ...make(), limit: '20' }).toString()
    while (asked.has(query))
    asked.add(query)
    return { kind, url: `${base}/v1/articles?${query}` }
  })
})()
const client = fork(path.join(root, 'bench/tail.ts'), [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' })
await new Promise((resolve) => client.once('message', resolve))
async function longTail (queries: typeof tailQueries) {
  const before = processUse(server.pid!)
  client.send(queries.map((q) => q.url))
  const results = await new Promise<{ ms: number, status: number }[]>((resolve) => client.once('message', resolve as (r: unknown) => void))
  // the server's own use per query: its CPU (user, system), its reads (a syscall each) and what they read from the disk
  const after = processUse(server.pid!)
  const use = {
    userMs: (after.userMs - before.userMs) / queries.length,
    systemMs: (after.systemMs - before.systemMs) / queries.length,
    reads: (after.reads - before.reads) / queries.length,
    diskKiB: (after.diskBytes - before.diskBytes) / 1024 / queries.length
  }
  const times = new Map<string, number[]>()
  let errors = 0
  results.forEach(({ ms, status }, i) => {
    const { kind } = queries[i]!
    times.set(kind, [...times.get(kind) ?? [], ms])
    if (status !== 200) errors++
  })
  const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]! }
  const all = [...times.values()].flat()
  // the slowest few, with where they fell in the run: early ones pay for code not yet optimized and pages not yet read
  const slowest = results.map(({ ms }, i) => {
    const params = new URL(queries[i]!.url).searchParams
    const filters = ['byline', 'section', 'sort', 'publishedAfter'].filter((f) => params.has(f))
    return { ms, i, query: `\`${params.get('q')!}\`${filters.length ? ` (+${filters.join(', ')})` : ''}` }
  }).sort((a, b) => b.ms - a.ms).slice(0, 5)
  return {
    n: all.length, errors, p50: pct(all, 0.5), p99: pct(all, 0.99), max: Math.max(...all), slowest, use,
    // in the order the kinds are defined (a run may start with any of them)
    kinds: [...new Set(tailQueries.map((q) => q.kind))].flatMap((kind) => {
      const xs = times.get(kind)
      return xs ? [{ kind, p50: pct(xs, 0.5), p99: pct(xs, 0.99), max: Math.max(...xs) }] : []
    })
  }
}
const ms = (x: number) => x.toFixed(1)
const slowest = (t: Awaited<ReturnType<typeof longTail>>) => t.slowest.map((s) => `${s.query} #${s.i + 1} ${ms(s.ms)}`).join('; ')
const used = ({ use }: Awaited<ReturnType<typeof longTail>>) =>
  `${ms(use.userMs + use.systemMs)} ms of CPU (${ms(use.userMs)} user, ${ms(use.systemMs)} system), ${use.reads.toFixed(0)} reads, ${use.diskKiB.toFixed(0)} KiB from the disk`

// the server's peak RSS over the whole run: every load, the long tail, and the creations
let peakRss = 0
const sampler = setInterval(() => { peakRss = Math.max(peakRss, rss(server)) }, 100)
const rows: string[] = []
async function scenario (s: { name: string, urls: string[], headers?: Record<string, string> }) {
  const method = s.urls.length ? 'GET' : 'POST'
  const sides: Side[] = [{ target: base, child: server, runs: [], peak: 0 }, { target: `http://127.0.0.1:${CEILING_PORT}`, child: ceiling, runs: [], peak: 0 }]
  for (const side of sides) await slice(side, s, method, WARMUP, false)
  for (let n = 0; n < SLICES; n++) for (const side of sides) await slice(side, s, method, SECONDS / SLICES, true)
  const [api, top] = sides.map((side) => summary(side, s, method)) as [Result, Result]
  const row = `| ${s.name} | ${api.rps.toFixed(0)} | ${api.p50} | ${api.p99} | ${top.rps.toFixed(0)} | ${(100 * api.rps / top.rps).toFixed(0)}% | ${(api.rss / 2 ** 20).toFixed(0)} | ${api.errors + api.non2xx} |`
  rows.push(row)
  log(row)
}
for (const s of scenarios) await scenario(s)
// the host as the tail meets it (see host.ts), measured while the server is idle, just before the tail
const host = hostSpeed(dbFile)
log(`host: a random memory access ${host.memoryNs.toFixed(0)} ns, a 4 KiB read from the page cache ${host.cachedReadUs.toFixed(1)} µs`)
const first = await longTail(tailQueries.slice(0, FIRST))
const tail = await longTail(tailQueries.slice(FIRST))
// 6. the costliest searches found: shapes anyone may send, of words each in nearly every article (many phrases, many
// words, short prefixes), each asked once by the same client after the tail. On SQLite a search runs to its end in
// the process that answers every request: what these cost is how long one request can hold it
const top = corpus.words.slice(0, 32)
const phrases = Array.from({ length: 16 }, (_, i) => `"${top[2 * i]} ${top[2 * i + 1]}"`).join(' ')
const prefixes = top.slice(0, 4).map((w) => `${w.slice(0, 2)}*`).join(' ')
const [byline, section] = [corpus.bylineIds[0]!, corpus.sectionIds[0]!]
const costly: [string, Record<string, string>][] = [
  ['16 two-word phrases of common words', { q: phrases }],
  ['the same, newest first', { q: phrases, sort: '-publishedAt' }],
  ['the same, oldest first', { q: phrases, sort: 'publishedAt' }],
  ['the same, by one byline', { q: phrases, byline }],
  ['a phrase of 8 common words, newest first', { q: `"${top.slice(0, 8).join(' ')}"`, sort: '-publishedAt' }],
  ['32 common words', { q: top.join(' ') }],
  ['32 common words, in one section', { q: top.join(' '), section }],
  [`4 two-letter prefixes (${prefixes}), newest first`, { q: prefixes, sort: '-publishedAt' }],
  ['the same, newest updated first', { q: prefixes, sort: '-updatedAt' }],
  [`a two-letter prefix (${top[0]!.slice(0, 2)}*), by one byline`, { q: `${top[0]!.slice(0, 2)}*`, byline }]
]
client.send(costly.map(([, params]) => `${base}/v1/articles?${new URLSearchParams({ ...params, limit: '20' })}`))
const costs = await new Promise<{ ms: number, status: number }[]>((resolve) => client.once('message', resolve as (r: unknown) => void))
client.send('done')
for (const [i, [name]] of costly.entries()) log(`costly search: ${name}: ${ms(costs[i]!.ms)} ms (${costs[i]!.status})`)
for (const [name, t] of [['first after start', first], ['in service', tail]] as const) {
  log(`search long tail, ${name}: ${t.n} distinct queries at 1 connection, p50 ${ms(t.p50)} ms, p99 ${ms(t.p99)} ms, max ${ms(t.max)} ms, errors ${t.errors}; the server per query: ${used(t)}`)
}
await scenario({ name: 'article creation as an editor (with revision and search index)', urls: [] })
clearInterval(sampler)

server.kill('SIGTERM')
ceiling.kill('SIGTERM')
await new Promise((resolve) => server.once('exit', resolve))
const finalSize = dbBytes()
fs.rmSync(dir, { recursive: true, force: true })

const cpu = os.cpus()[0]?.model ?? 'unknown CPU'

/**
 * Whether the kernel pages out file cache that has gone unused for a while (a DAMON "pageout" scheme, as some VMs
 * run to hand memory back to their host), which turns the long tail's reads of the database into disk reads however
 * much memory is free: described with the machine, as it moves the tail's figures.
 */
function pageReclaim (): string {
  const root = '/sys/kernel/mm/damon/admin/kdamonds'
  const read = (file: string) => { try { return fs.readFileSync(file, 'utf8').trim() } catch { return undefined } }
  for (const k of fs.existsSync(root) ? fs.readdirSync(root).filter((d) => /^\d+$/.test(d)) : []) {
    if (read(`${root}/${k}/state`) !== 'on') continue
    for (const c of fs.readdirSync(`${root}/${k}/contexts`).filter((d) => /^\d+$/.test(d))) {
      const context = `${root}/${k}/contexts/${c}`
      const aggregation = Number(read(`${context}/monitoring_attrs/intervals/aggr_us`))
      for (const s of fs.readdirSync(`${context}/schemes`).filter((d) => /^\d+$/.test(d))) {
        if (read(`${context}/schemes/${s}/action`) !== 'pageout') continue
        const age = Number(read(`${context}/schemes/${s}/access_pattern/age/min`)) * aggregation / 1e6
        return ` The kernel pages out memory left unused for ${age.toFixed(0)} s or more (DAMON, \`pageout\`), file cache included: the database's pages that no load touched in that time are read from disk again.`
      }
    }
  }
  return ''
}
const report = `# Benchmark results

\`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM,
${os.type()} ${os.release()}, Node.js ${process.version}. Server and load generator share the machine's cores.${pageReclaim()}

**Corpus**: ${ARTICLES.toLocaleString('en')} published articles of ~600 words (10 paragraphs and a photo block) over 50 sections in a
tree, 2,000 bylines, 10,000 photo records, 3 related links, 2 tags and a byline per article, all in the full-text index,
published over five years and written in that order, oldest first, as an archive grows.
Words follow Zipf's law over a 30,000-word vocabulary whose most frequent words (china, harbin, trade, gas, deal…) are in
nearly every article. Seeded straight into a fresh database, its full-text indexes then merged into one segment each as after
any bulk import, in ${seedSeconds.toFixed(1)} s; the database is ${(seededSize / 2 ** 20).toFixed(0)} MiB
(${(finalSize / 2 ** 20).toFixed(0)} MiB after the run's creations). Seeded articles have no revision rows; created ones do.

**Time to ready** on that existing database (process start to the first 200 from /readyz), the median of ${STARTS} starts:
${readyMs.toFixed(0)} ms (each, the first just after seeding: ${readyTimes.map((t) => t.toFixed(0)).join(', ')} ms).

**Load**: autocannon, 50 connections, ${SECONDS} s per path, each path rotating through many URLs (1,000 article slugs,
50 section fronts, 8 searches, 200 byline archives). The ceiling is a bare Fastify route answering the same URLs with the
same pre-rendered bytes, in the same run: after a ${WARMUP}-s warm-up each, the API and the ceiling take turns in ${SLICES}
loads of ${SECONDS / SLICES} s each, so the host's bursts of noise fall on both alike; requests/s are each side's requests over its
${SECONDS} s, latencies from all its slices.

| path | req/s | p50 ms | p99 ms | ceiling req/s | of ceiling | server RSS MiB (peak) | errors |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}

Peak server RSS over the whole run (loads, long tail, creations): ${(peakRss / 2 ** 20).toFixed(0)} MiB.

**Search, the long tail**: different queries, each asked once by a single client in a process of its own (so each
is a cache miss and nothing queues), asked after the read loads above and before the creations, in two runs, each with
as many of every kind below. The first, ${FIRST} queries, is the first searches the server answers after its start (the loads'
8 popular searches came from the response cache): p50 ${ms(first.p50)} ms, p99 ${ms(first.p99)} ms, max ${ms(first.max)} ms;
${first.errors} errors; slowest (query, its place in the run, ms): ${slowest(first)}.
The second, ${TAIL} other queries, is a server in service, its search code compiled and the index's shared pages read
(no query was asked before: each reads its own words' entries and its own articles): p50 ${ms(tail.p50)} ms,
p99 ${ms(tail.p99)} ms, max ${ms(tail.max)} ms; ${tail.errors} errors; slowest: ${slowest(tail)}.

What a query of the tail cost the server, on average (its own CPU time and reads, from \`/proc\`): the first run ${used(first)};
the second ${used(tail)}. What the host gave them, measured just before the tail (see \`bench/host.ts\`): a random memory
access took ${host.memoryNs.toFixed(0)} ns (a step of a walk through a random cycle over 64 MiB, as a B-tree walk steps from page to page)
and a 4 KiB read of the database from the page cache ${host.cachedReadUs.toFixed(1)} µs. The tail's time is nearly all the server's CPU:
on a host slower at either, the same code and database answer more slowly (see the README's Benchmarks).

By kind, the second run:

| query | p50 ms | p99 ms | max ms |
|---|---|---|---|
${tail.kinds.map((k) => `| ${k.kind} | ${ms(k.p50)} | ${ms(k.p99)} | ${ms(k.max)} |`).join('\n')}

**Search, the costliest shapes found**: queries anyone may send, of words that are each in nearly every article,
asked once each by the same client after the tail (a page of 20). On SQLite a search runs to its end in the process
that answers every request, so this is how long one request can hold it (see the README's Search):

| query | ms | status |
|---|---|---|
${costly.map(([name], i) => `| ${name} | ${ms(costs[i]!.ms)} | ${costs[i]!.status} |`).join('\n')}
`
fs.writeFileSync(new URL('./RESULTS.md', import.meta.url), report)
log(report)
process.exit(0)
