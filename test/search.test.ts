import t, { type Test } from 'tap'
import path from 'node:path'
import fs from 'node:fs'
import Database from 'better-sqlite3'
import pg from 'pg'
import type { InjectOptions } from 'fastify'
import { build, create, upload, problem, paths, indexAsBefore0012, forgetMigrationsFrom, cli, dialect, sqliteOnly, type TestApp, type Response } from './helper.js'
import { buildApp, type App } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { encodeCursor, decodeCursor } from '../src/services/cursor.js'
import { BadRequest } from '../src/errors.js'
import { listScope } from '../src/services/articles.js'
import type { SearchDocument } from '../src/db/index.js'
import { SEARCH_CANDIDATES } from '../src/db/ranked.js'
import { ftsQuery, folded } from '../src/services/search.js'
import { snippetsFor } from '../src/services/snippets.js'
import { tsvectorOf } from '../src/db/postgres/words.js'

/* eslint-disable @typescript-eslint/no-explicit-any */

/**
 * Full-text search: GET /v1/articles?q=… (src/services/search.ts, src/db/sqlite/repositories/articles.ts,
 * src/db/postgres/repositories/articles.ts). Every result is checked as an exact set or an exact order, by headline
 * so failures read well. The suite runs on SQLite and on PostgreSQL (test/helper.ts): what is about SQLite's own
 * index (FTS5's tables, segments, bm25 and its sampling, statements) runs on SQLite only, the rest on both.
 */

type Tap = Test
type Who = 'editor' | 'anon'

const p = (text: string) => ({ type: 'paragraph', text })
const enc = encodeURIComponent
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const heads = (data: any[]): string[] => data.map((a: any) => a.headline)
const sorted = (xs: string[]) => [...xs].sort()

/** One GET as an editor (the helper's default key) or anonymously. */
function get (ctx: TestApp, url: string, who: Who = 'editor', headers: Record<string, string> = {}): Promise<Response> {
  const opts: InjectOptions = { method: 'GET', url, headers }
  return who === 'anon' ? ctx.anon(opts) : ctx.app.inject(opts) as Promise<Response>
}

/** A list request that must answer a JSON 200: its body. */
async function page (t: Tap, ctx: TestApp, query: string, who: Who = 'editor') {
  const res = await get(ctx, `/v1/articles?${query}`, who)
  t.equal(res.statusCode, 200, `${who} GET ?${query.slice(0, 120)} answers 200${res.statusCode === 200 ? '' : `: ${res.body.slice(0, 300)}`}`)
  if (res.statusCode !== 200) return { data: [] as any[], next: null as string | null, res }
  const body = res.json()
  return { data: body.data as any[], next: body.next as string | null, res }
}

/** Headlines a search finds (the whole result, up to 100), as a sorted set. */
async function found (t: Tap, ctx: TestApp, query: string, who: Who = 'editor') {
  return sorted(heads((await page(t, ctx, `limit=100&${query}`, who)).data))
}

/** Headlines a search finds, in the order it answers them. */
async function ranked (t: Tap, ctx: TestApp, query: string, who: Who = 'editor') {
  return heads((await page(t, ctx, `limit=100&${query}`, who)).data)
}

/** The snippet's HTML with the `<mark>` tags removed and character references decoded: the plain text it shows. */
function shown (snippet: string): string {
  return snippet.replace(/<\/?mark>/g, '').replace(/&(#\d+|#x[0-9a-f]+|amp|lt|gt|quot|apos);/gi, (_, e: string) => {
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }
    if (named[e.toLowerCase()]) return named[e.toLowerCase()]!
    return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10))
  })
}

/** The texts wrapped in `<mark>` in a snippet. */
const marks = (snippet: string) => [...snippet.matchAll(/<mark>(.*?)<\/mark>/g)].map((m) => m[1]!)

/** A snippet is safe HTML: outside `<mark>` tags no raw `<`, `>` or `"`, and every `&` starts a character reference. */
function assertSafe (t: Tap, snippet: string, what: string) {
  const bare = snippet.replace(/<\/?mark>/g, '')
  t.notMatch(bare, /[<>"]/, `${what}: no raw < > " outside <mark>: ${snippet}`)
  t.notMatch(bare, /&(?!(#\d+|#x[0-9a-f]+|[a-z]+);)/i, `${what}: every & is escaped: ${snippet}`)
  t.equal((snippet.match(/<mark>/g) ?? []).length, (snippet.match(/<\/mark>/g) ?? []).length, `${what}: <mark> tags are balanced: ${snippet}`)
}

/** A connection of its own to the test app's PostgreSQL database, for `fn`, closed after it. */
async function onPostgres<T> (ctx: TestApp, fn: (db: pg.Client) => Promise<T>): Promise<T> {
  const db = new pg.Client({ connectionString: ctx.databaseUrl })
  await db.connect()
  try {
    return await fn(db)
  } finally {
    await db.end()
  }
}

/**
 * The database as stored: articles, their search-index rows and full-text rows (read-only, beside the app). On
 * PostgreSQL: the articles, their search rows with their words (each tsvector as text), and the schema.
 */
async function stored (ctx: TestApp) {
  return dialect === 'postgres' ? storedPostgres(ctx) : sqliteStored(ctx.dataDir)
}

function sqliteStored (dataDir: string) {
  const db = new Database(path.join(dataDir, 'cms.sqlite'), { readonly: true })
  try {
    // the full index keeps no copy of its text (contentless): what it holds is read back from the index itself, each
    // document's words field by field in order (fts5vocab), and so is the short fields' index, to compare the two
    const words = (index: string) => {
      db.exec(`create virtual table temp.${index}_words using fts5vocab(main, ${index}, instance)`)
      return `(select doc, json_group_object(col, words) as fields from (
        select doc, col, group_concat(term, ' ' order by "offset") as words from temp.${index}_words group by doc, col) group by doc)`
    }
    return {
      articles: db.prepare(`select id, slug, headline, summary, body, status, published_at, updated_at, revision, section_id, tags
        from articles order by id`).all() as any[],
      index: db.prepare(`select s.doc, s.article_id, s.status, s.published_at, s.updated_at, s.section_id,
          f.fields as full_words, sw.fields as short_words, sf.headline, sf.summary
        from article_search s left join ${words('articles_fts')} f on f.doc = s.doc
          left join ${words('articles_fts_short')} sw on sw.doc = s.doc left join articles_fts_short sf on sf.rowid = s.doc
        order by s.article_id`).all() as any[],
      ftsRows: (db.prepare('select count(*) as n from articles_fts').get() as any).n as number,
      shortRows: (db.prepare('select count(*) as n from articles_fts_short').get() as any).n as number,
      schema: db.prepare("select type, name, sql from sqlite_master order by type, name").all() as any[]
    }
  } finally {
    db.close()
  }
}

/**
 * The index holds exactly one up-to-date entry per article: its filter columns, its headline and summary text, and the
 * same words in the headline, summary, tags and byline names of the full index as in the short fields' own.
 */
async function assertIndexInStep (t: Tap, ctx: TestApp, what: string) {
  if (dialect === 'postgres') return assertIndexInStepPostgres(t, ctx, what)
  const s = sqliteStored(ctx.dataDir)
  t.equal(s.index.length, s.articles.length, `${what}: one search entry per article`)
  t.equal(s.ftsRows, s.articles.length, `${what}: one full-text row per article (none left behind)`)
  t.equal(s.shortRows, s.articles.length, `${what}: one row of short fields per article (none left behind)`)
  const shortFields = (e: any) => { const { body, ...short } = JSON.parse(e.full_words ?? '{}'); return short }
  t.ok(s.index.every((e) => JSON.stringify(shortFields(e)) === JSON.stringify(JSON.parse(e.short_words ?? '{}'))),
    `${what}: the short fields' index holds each article's headline, summary, tags and byline names as the full index does`)
  const byId = new Map(s.index.map((e) => [e.article_id, e]))
  for (const a of s.articles) {
    const e = byId.get(a.id)
    t.same(e && {
      status: e.status, publishedAt: e.published_at, updatedAt: e.updated_at, sectionId: e.section_id,
      hasText: e.full_words !== null, headline: e.headline, summary: e.summary
    }, {
      status: a.status, publishedAt: a.published_at, updatedAt: a.updated_at, sectionId: a.section_id,
      hasText: true, headline: folded(a.headline), summary: folded(a.summary ?? '')
    }, `${what}: the search entry of "${a.headline}" matches the article`)
  }
}

/** The PostgreSQL database as stored (see stored): what hostile queries must leave as it was. */
function storedPostgres (ctx: TestApp) {
  return onPostgres(ctx, async (db) => {
    const rows = async (text: string) => (await db.query(text)).rows as any[]
    return {
      articles: await rows(`select id, slug, headline, summary, body::text as body, status, published_at::text as published_at,
          updated_at::text as updated_at, revision, section_id, tags::text as tags
        from articles order by id`),
      index: await rows(`select doc, article_id, status, published_at::text as published_at, updated_at::text as updated_at, section_id,
          document::text as document, summary_document::text as summary_document
        from article_search order by article_id`),
      // every relation, column, index, trigger and function outside PostgreSQL's own schemas
      schema: await rows(`with own as (select oid, nspname from pg_namespace where nspname not in ('pg_catalog', 'information_schema') and nspname not like 'pg\\_%')
        select 'relation' as type, own.nspname || '.' || c.relname as name, c.relkind::text as sql from pg_class c join own on own.oid = c.relnamespace
        union all select 'column', table_schema || '.' || table_name || '.' || column_name, data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '')
          from information_schema.columns where table_schema in (select nspname from own)
        union all select 'index', schemaname || '.' || indexname, indexdef from pg_indexes where schemaname in (select nspname from own)
        union all select 'trigger', tgname, pg_get_triggerdef(tg.oid) from pg_trigger tg where not tgisinternal
        union all select 'function', own.nspname || '.' || p.proname, pg_get_function_identity_arguments(p.oid) || ' ' || md5(p.prosrc)
          from pg_proc p join own on own.oid = p.pronamespace
        order by 1, 2, 3`)
    }
  })
}

/**
 * On PostgreSQL, the index holds exactly one up-to-date search row per article: its filter columns, a document, and
 * in that document the words of the article's headline, tags and byline names, each in its field's weight class
 * (headline A, bylines B, tags C) and in their order, folded as the service indexes them; the summary's words, in
 * order, as its own document holds them, and among the summary and body's words (D) of the whole document.
 */
async function assertIndexInStepPostgres (t: Tap, ctx: TestApp, what: string) {
  await onPostgres(ctx, async (db) => {
    const articles = (await db.query(`select id, headline, summary, tags, status, published_at::text as published_at, updated_at::text as updated_at, section_id,
        array(select b.name from article_bylines ab join bylines b on b.id = ab.byline_id where ab.article_id = a.id order by ab.position) as bylines
      from articles a order by id`)).rows as any[]
    const rows = (await db.query('select count(*)::int as n, count(document)::int as texts from article_search')).rows[0]
    t.equal(rows.n, articles.length, `${what}: one search row per article (none left behind)`)
    t.equal(rows.texts, articles.length, `${what}: every search row has its document`)
    t.equal((await db.query('select count(*)::int as n from article_search s where not exists (select 1 from articles a where a.id = s.article_id)')).rows[0].n, 0,
      `${what}: no search row of an article that is gone`)
    /** A tsvector's lexemes and their positions, as JSON (compared relative to its first word: see relative). */
    const shape = (vector: string) => `(select coalesce(json_agg(json_build_array(u.lexeme, u.positions) order by u.lexeme), '[]') from unnest(${vector}) u)`
    /** Positions counted from the field's first word: where the field starts in the document is not its words' business. */
    const relative = (words: [string, number[]][] | undefined) => {
      const first = Math.min(...(words ?? []).flatMap(([, at]) => at))
      return (words ?? []).map(([word, at]) => [word, at.map((n) => n - first)])
    }
    /** A field's text as the service indexes it (folded; tags and names apart), as a tsvector. */
    const vector = (text: string) => tsvectorOf([[folded(text), 'A']])
    for (const a of articles) {
      const [e] = (await db.query(`select s.status, s.published_at::text as published_at, s.updated_at::text as updated_at, s.section_id,
          s.document is not null as has_text,
          ${shape("ts_filter(s.document, '{a}')")} as headline, ${shape('$2::tsvector')} as headline_expected,
          ${shape("coalesce(s.summary_document, '')")} as summary, ${shape('$3::tsvector')} as summary_expected,
          ${shape("ts_filter(s.document, '{c}')")} as tags, ${shape('$4::tsvector')} as tags_expected,
          ${shape("ts_filter(s.document, '{b}')")} as bylines, ${shape('$5::tsvector')} as bylines_expected,
          tsvector_to_array(coalesce(s.summary_document, '')) <@ tsvector_to_array(ts_filter(s.document, '{d}')) as summary_in_document
        from article_search s where s.article_id = $1`,
      [a.id, vector(a.headline), vector(a.summary ?? ''), vector((a.tags as string[]).join(' \uE002 ')), vector((a.bylines as string[]).join(' \uE002 '))])).rows as any[]
      t.same(e && {
        status: e.status, publishedAt: e.published_at, updatedAt: e.updated_at, sectionId: e.section_id, hasText: e.has_text,
        headline: relative(e.headline), summary: relative(e.summary), tags: relative(e.tags), bylines: relative(e.bylines), summaryInDocument: e.summary_in_document
      }, {
        status: a.status, publishedAt: a.published_at, updatedAt: a.updated_at, sectionId: a.section_id, hasText: true,
        headline: relative(e?.headline_expected), summary: relative(e?.summary_expected), tags: relative(e?.tags_expected), bylines: relative(e?.bylines_expected),
        summaryInDocument: true
      }, `${what}: the search row of "${a.headline}" matches the article`)
    }
  })
}

async function write (t: Tap, app: App, opts: InjectOptions, status = 200) {
  const res = await app.inject(opts)
  t.equal(res.statusCode, status, `${opts.method} ${opts.url} answers ${status}: ${res.body.slice(0, 300)}`)
  return res.statusCode === 204 || res.statusCode >= 400 ? null : res.json()
}

// ---------------------------------------------------------------------------------------------------------

t.test('every field is searched: headline, summary, paragraph, heading, quote and attribution, list item, photo caption override, embed title, tags, byline name', async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  const photo = await upload(app, { caption: 'Harbour cranes at dusk', credit: 'Xinhua' })
  const byline = await create(app, '/v1/bylines', { name: 'Wenceslas Okonkwo', kind: 'person' })
  const pub = { status: 'published', publishedAt: '2014-07-01T00:00:00Z' }
  const articles: [string, object][] = [
    ['Zanzibar ferry resumes', {}],
    ['Summary story', { summary: 'Tapioca exports climb' }],
    ['Paragraph story', { body: [p('The <b>quokka</b> census &amp; survey'), p('Brewers &amp; <strong>distillers</strong> meet')] }],
    ['Heading story', { body: [{ type: 'heading', level: 2, text: 'Marmalade shortage' }] }],
    ['Quote story', { body: [{ type: 'quote', text: 'We shall persevere', attribution: 'Ottoline Fairweather' }] }],
    ['List story', { body: [{ type: 'list', ordered: false, items: ['first item', 'pumpernickel loaves'] }] }],
    ['Photo story', { body: [{ type: 'photo', photoId: photo.id, caption: 'Kingfisher at dawn' }] }],
    ['Embed story', { body: [{ type: 'embed', url: 'https://example.org/v', title: 'Glockenspiel recital' }] }],
    ['Tag story', { tags: ['Quidditch league', 'sport'] }],
    ['Byline story', { bylines: [{ bylineId: byline.id, role: 'author' }] }]
  ]
  for (const [headline, extra] of articles) await create(app, '/v1/articles', { headline, ...pub, ...extra })

  const cases: [string, string[]][] = [
    ['zanzibar', ['Zanzibar ferry resumes']],
    ['tapioca', ['Summary story']],
    ['quokka', ['Paragraph story']],
    ['survey', ['Paragraph story']],
    ['brewers distillers', ['Paragraph story']],
    ['marmalade', ['Heading story']],
    ['persevere', ['Quote story']],
    ['Fairweather', ['Quote story']],
    ['pumpernickel', ['List story']],
    ['kingfisher', ['Photo story']],
    ['glockenspiel', ['Embed story']],
    ['quidditch', ['Tag story']],
    ['"quidditch league"', ['Tag story']],
    ['okonkwo', ['Byline story']],
    ['Wenceslas', ['Byline story']],
    ['story', sorted(articles.map(([h]) => h).filter((h) => h.endsWith('story')))],
    ['xylophone', []],
    // markup and entities are not words: they neither match nor break the words around them
    ['amp', []],
    ['strong', []],
    ['b', []],
    // the photo's own caption is replaced by the override in that article: not what it shows, not searched
    ['cranes', []]
  ]
  for (const [q, expected] of cases) {
    for (const who of ['anon', 'editor'] as const) {
      t.same(await found(t, ctx, `q=${enc(q)}`, who), expected, `${who}: q=${q} finds ${JSON.stringify(expected)}`)
    }
  }

  // each hit's snippet marks the word it was found by, whichever field it is in
  for (const [q, word] of [['quokka', 'quokka'], ['Fairweather', 'Fairweather'], ['quidditch', 'Quidditch'], ['okonkwo', 'Okonkwo'], ['kingfisher', 'Kingfisher'], ['tapioca', 'Tapioca']]) {
    const { data } = await page(t, ctx, `q=${enc(q!)}`, 'anon')
    t.equal(data.length, 1)
    t.same(marks(data[0]?.snippet ?? ''), [word], `q=${q}: snippet marks ${word}: ${data[0]?.snippet}`)
  }
  await assertIndexInStep(t, ctx, 'after creates')
})

t.test('ranking: field weights headline > byline > tags > summary > body; a headline hit outranks repeated body hits', async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  const other = await create(app, '/v1/bylines', { name: 'Lambda', kind: 'person' })
  const named = await create(app, '/v1/bylines', { name: 'Zircon', kind: 'person' })
  // every article has fields of the same lengths; only the field holding "zircon" differs, so only the weights decide
  const base = (i: number) => ({
    headline: `alpha beta h${i}`, summary: `delta epsilon s${i}`, body: [p(`eta theta b${i}`)], tags: [`kappa${i}`],
    bylines: [{ bylineId: other.id }], status: 'published', publishedAt: `2014-07-0${i}T00:00:00Z`
  })
  // created in the reverse of the expected order, so creation order cannot explain the ranking
  await create(app, '/v1/articles', { ...base(1), body: [p('eta theta zircon')] })
  await create(app, '/v1/articles', { ...base(2), summary: 'delta epsilon zircon' })
  await create(app, '/v1/articles', { ...base(3), tags: ['zircon'] })
  await create(app, '/v1/articles', { ...base(4), bylines: [{ bylineId: named.id }] })
  await create(app, '/v1/articles', { ...base(5), headline: 'alpha beta zircon' })
  const expected = ['alpha beta zircon', 'alpha beta h4', 'alpha beta h3', 'alpha beta h2', 'alpha beta h1']
  t.same(await ranked(t, ctx, 'q=zircon', 'anon'), expected, 'headline, then byline, tags, summary, body')
  t.same(await ranked(t, ctx, 'q=zircon&sort=relevance'), expected, 'sort=relevance is the default with q')


  // newer, with the word five times in its body, still below a single headline match
  await create(app, '/v1/articles', { headline: 'Harbin news', body: [p('Expo expo expo: the expo draws crowds to the expo grounds')], status: 'published', publishedAt: '2014-08-02T00:00:00Z' })
  await create(app, '/v1/articles', { headline: 'Expo opens in Harbin', body: [p('Crowds gather for the opening')], status: 'published', publishedAt: '2014-08-01T00:00:00Z' })
  await create(app, '/v1/articles', { headline: 'Unrelated', body: [p('Nothing to see')], status: 'published', publishedAt: '2014-08-03T00:00:00Z' })
  t.same(await ranked(t, ctx, 'q=expo', 'anon'), ['Expo opens in Harbin', 'Harbin news'], 'a headline match ranks above a body-only match, even a repeated one')
  t.same(await ranked(t, ctx, 'q=expo&sort=-publishedAt', 'anon'), ['Harbin news', 'Expo opens in Harbin'], 'the same hits by date')
  t.same(await ranked(t, ctx, 'q=zircon', 'anon'), expected, 'the weights order holds with other articles in the index')
})

t.test('phrases, prefixes, AND of words, case and diacritic folding, non-Latin scripts', async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  const headlines = [
    'Gas deal signed in Harbin',
    'Deal reached on gas prices',
    'Gas pipeline deal approved',
    'Heilongjiang floods recede',
    'Café culture thrives',
    'Zürich bankers meet',
    '哈尔滨与俄罗斯的经贸往来日益密切',
    'Харбин и Россия',
    'Ελλάδα εκλογές'
  ]
  let day = 1
  for (const headline of headlines) await create(app, '/v1/articles', { headline, status: 'published', publishedAt: `2014-07-${String(day++).padStart(2, '0')}T00:00:00Z` })
  const cases: [string, string[]][] = [
    ['"gas deal"', ['Gas deal signed in Harbin']],
    ['"GAS DEAL"', ['Gas deal signed in Harbin']],
    ['"deal gas"', []],
    ['"gas pipeline deal"', ['Gas pipeline deal approved']],
    ['gas deal', sorted(['Gas deal signed in Harbin', 'Deal reached on gas prices', 'Gas pipeline deal approved'])],
    ['deal gas', sorted(['Gas deal signed in Harbin', 'Deal reached on gas prices', 'Gas pipeline deal approved'])],
    ['gas floods', []],
    ['"gas deal" harbin', ['Gas deal signed in Harbin']],
    ['"gas deal" prices', []],
    ['Heilongjia*', ['Heilongjiang floods recede']],
    ['heilongjia*', ['Heilongjiang floods recede']],
    ['HEILONGJIA*', ['Heilongjiang floods recede']],
    ['Heilongjia', []],
    ['Heilongjiang', ['Heilongjiang floods recede']],
    ['pip* deal', ['Gas pipeline deal approved']],
    ['GAS', sorted(['Gas deal signed in Harbin', 'Deal reached on gas prices', 'Gas pipeline deal approved'])],
    ['cafe', ['Café culture thrives']],
    ['café', ['Café culture thrives']],
    ['CAFÉ', ['Café culture thrives']],
    ['cafe\u0301', ['Café culture thrives']],
    ['caf*', ['Café culture thrives']],
    ['zurich', ['Zürich bankers meet']],
    ['ZÜRICH', ['Zürich bankers meet']],
    // Chinese is written without spaces: each character is a word, and a run typed is the phrase of its characters
    ['哈尔滨与俄罗斯的经贸往来日益密切', ['哈尔滨与俄罗斯的经贸往来日益密切']],
    ['哈尔滨*', ['哈尔滨与俄罗斯的经贸往来日益密切']],
    ['哈尔*', ['哈尔滨与俄罗斯的经贸往来日益密切']],
    ['哈尔滨', ['哈尔滨与俄罗斯的经贸往来日益密切']],
    ['俄罗斯', ['哈尔滨与俄罗斯的经贸往来日益密切']],
    ['俄罗斯 经贸', ['哈尔滨与俄罗斯的经贸往来日益密切']],
    ['"俄罗斯的经贸"', ['哈尔滨与俄罗斯的经贸往来日益密切']],
    ['滨与俄', ['哈尔滨与俄罗斯的经贸往来日益密切']],
    ['哈俄', []],
    ['上海', []],
    ['харбин', ['Харбин и Россия']],
    ['ХАРБИН', ['Харбин и Россия']],
    ['росс*', ['Харбин и Россия']],
    ['ελλάδα', ['Ελλάδα εκλογές']],
    ['ΕΛΛΆΔΑ', ['Ελλάδα εκλογές']]
  ]
  /** Each query finds those headlines, anonymously. */
  const finds = async (cases: readonly (readonly [string, readonly string[]])[], why = '') => {
    for (const [q, expected] of cases) t.same(await found(t, ctx, `q=${enc(q)}`, 'anon'), expected, `q=${q} finds ${JSON.stringify(expected)}${why}`)
  }
  await finds(cases)
  // Japanese and Korean alike; a snippet marks the characters found, as the reader typed them
  await create(app, '/v1/articles', { headline: '東京の新しい政策', body: [p('中国和俄罗斯应该加强经济合作。哈尔滨今日新闻报道。')], tags: ['서울에서 회의'], status: 'published', publishedAt: '2014-06-03T00:00:00Z' })
  await finds([
    ['東京', ['東京の新しい政策']],
    ['政策', ['東京の新しい政策']],
    ['新しい', ['東京の新しい政策']],
    ['서울', ['東京の新しい政策']],
    ['회의', ['東京の新しい政策']],
    ['经济合作', ['東京の新しい政策']],
    ['中国', ['東京の新しい政策']],
    ['今日 中国', ['東京の新しい政策']],
    ['大阪', []]
  ])
  const snip = async (q: string) => (await page(t, ctx, `q=${enc(q)}`, 'anon')).data.find((a: any) => a.headline === '東京の新しい政策').snippet
  t.equal(await snip('经济合作'), '…罗斯应该加强<mark>经济合作</mark>。哈尔滨今日新…', 'the run marked in the body, 16 characters about it shown')
  t.equal(await snip('政策'), '東京の新しい<mark>政策</mark>')
  t.match(await snip('哈尔*'), /<mark>哈尔<\/mark>滨今日/, 'a prefix marks what was typed of the characters')
  t.equal(await snip('서울'), '<mark>서울</mark>에서 회의', 'Korean: the syllables marked (each one character to NFD\'s letters)')
  t.equal(await snip('회의'), '서울에서 <mark>회의</mark>')
  // a snippet counts each character as a word, as the index does: 16 of them, not a whole paragraph
  await create(app, '/v1/articles', { headline: 'Long Chinese paragraph', body: [p(`${'的'.repeat(200)}合作${'的'.repeat(200)}`)], status: 'published', publishedAt: '2014-06-04T00:00:00Z' })
  const long = (await page(t, ctx, `q=${enc('合作')}`, 'anon')).data.find((a: any) => a.headline === 'Long Chinese paragraph').snippet
  t.equal(long, `…${'的'.repeat(7)}<mark>合作</mark>${'的'.repeat(7)}…`)
  // a phrase is words next to each other as a reader sees them: not across two paragraphs, or two tags
  await create(app, '/v1/articles', { headline: 'Blocks story', body: [p('Prices of gas'), p('Deal or no deal, said the minister')], tags: ['natural gas', 'deal making'], status: 'published', publishedAt: '2014-06-01T00:00:00Z' })
  t.same(await found(t, ctx, `q=${enc('gas deal')}`, 'anon'), sorted(['Gas deal signed in Harbin', 'Deal reached on gas prices', 'Gas pipeline deal approved', 'Blocks story']), 'both words: found')
  t.same(await found(t, ctx, `q=${enc('"gas deal"')}`, 'anon'), ['Gas deal signed in Harbin'], 'the phrase does not span a paragraph break or two tags')
  const across = (await page(t, ctx, `q=${enc('prices')}`, 'anon')).data.find((a: any) => a.headline === 'Blocks story')
  t.match(across.snippet, /^[^\uE000-\uE002]*$/, 'the boundary between blocks never shows in a snippet')
  t.equal(across.snippet, '<mark>Prices</mark> of gas…', 'a snippet is of one block: the next one is an elision, not the rest of a sentence')
  // unicode61 folds the diacritics of Latin letters only; the service folds Greek ones and the Russian ё too
  await create(app, '/v1/articles', { headline: 'Ἀρχὴ τῆς ἑορτῆς', body: [p('Ёлка в Харбине, мой город')], status: 'published', publishedAt: '2014-06-02T00:00:00Z' })
  await finds([
    ['ελλαδα', ['Ελλάδα εκλογές']],
    ['ΕΛΛΑΔΑ', ['Ελλάδα εκλογές']],
    ['ελλάδα', ['Ελλάδα εκλογές']],
    ['ελλα\u0301δα', ['Ελλάδα εκλογές']],
    ['εκλογ*', ['Ελλάδα εκλογές']],
    ['αρχη', ['Ἀρχὴ τῆς ἑορτῆς']],
    ['"της εορτης"', ['Ἀρχὴ τῆς ἑορτῆς']],
    ['ἑορτῆς', ['Ἀρχὴ τῆς ἑορτῆς']],
    ['ΕΟΡΤΗΣ', ['Ἀρχὴ τῆς ἑορτῆς']],
    ['елка', ['Ἀρχὴ τῆς ἑορτῆς']],
    ['ЁЛКА', ['Ἀρχὴ τῆς ἑορτῆς']],
    ['мой', ['Ἀρχὴ τῆς ἑορτῆς']],
    ['мои', []]
  ], ' (й is a letter of its own, not и)')
  t.same(marks((await page(t, ctx, `q=${enc('ελλαδα')}`, 'anon')).data[0]?.snippet ?? ''), ['Ελλάδα'], 'the snippet marks the word as written')
  t.same(marks((await page(t, ctx, `q=${enc('елка')}`, 'anon')).data[0]?.snippet ?? ''), ['Ёлка'])
  await assertIndexInStep(t, ctx, 'with Greek and Russian text')
  const { data } = await page(t, ctx, `q=${enc('"gas deal"')}`, 'anon')
  const phraseHit = data.find((a: any) => a.headline === 'Gas deal signed in Harbin')
  t.same(marks(phraseHit?.snippet ?? ''), ['Gas deal'], `a phrase is marked as one: ${phraseHit?.snippet}`)
  const prefix = await page(t, ctx, `q=${enc('Heilongjia*')}`, 'anon')
  t.same(marks(prefix.data[0]?.snippet ?? ''), ['Heilongjiang'], 'a prefix marks the whole word')
  const folded = await page(t, ctx, 'q=cafe', 'anon')
  t.same(marks(folded.data[0]?.snippet ?? ''), ['Café'], 'a folded match marks the text as written')

  // compatibility forms (full-width letters and digits of Chinese and Japanese copy, ligatures) are the characters
  // they stand for, and a soft hyphen from print copy splits no word, in the text and in queries
  await create(app, '/v1/articles', {
    headline: '２０１４年ＧＤＰ増長', summary: 'The ﬁrst oﬃcial ﬁgures', body: [p('Floods in Heilong\u00adjiang and the Song\u00adhua river')],
    status: 'published', publishedAt: '2014-06-05T00:00:00Z'
  })
  const compat = '２０１４年ＧＤＰ増長'
  await finds([
    ['gdp', [compat]],
    ['GDP', [compat]],
    ['ＧＤＰ', [compat]],
    ['2014', [compat]],
    ['"2014 年"', [compat]],
    ['first official', [compat]],
    ['ﬁrst', [compat]],
    ['heilongjiang', sorted(['Heilongjiang floods recede', compat])],
    ['songhua', [compat]],
    ['"heilongjiang and the songhua"', [compat]],
    ['heilong\u00adjiang', sorted(['Heilongjiang floods recede', compat])],
    ['songh*', [compat]],
    ['jiang', []],
    ['hua', []]
  ])
  /** What a search marks in one story's snippet. */
  const marked = async (headline: string, q: string) => marks((await page(t, ctx, `q=${enc(q)}`, 'anon')).data.find((a: any) => a.headline === headline).snippet)
  t.same(await marked(compat, 'gdp'), ['ＧＤＰ'], 'a full-width word marked as written')
  t.same(await marked(compat, '"heilongjiang and the songhua"'), ['Heilong\u00adjiang and the Song\u00adhua'], 'a word with a soft hyphen marked whole, as written')
  t.same(await marked(compat, 'songh*'), ['Song\u00adhua'])
  // Arabic and Hebrew are written with optional vowel marks and Arabic words stretched by tatweel: readers type neither
  await create(app, '/v1/articles', { headline: 'الاقْتِصاد الصيني', body: [p('نمو الاقتـــصاد في هاربين'), p('שָׁלוֹם עולם')], status: 'published', publishedAt: '2014-06-06T00:00:00Z' })
  const arabic = 'الاقْتِصاد الصيني'
  await finds([
    ['الاقتصاد', [arabic]],
    ['الاقْتِصاد', [arabic]],
    ['الاقتـصاد', [arabic]],
    ['"نمو الاقتصاد"', [arabic]],
    ['שלום', [arabic]],
    ['שָׁלוֹם', [arabic]]
  ])
  t.same(await marked(arabic, 'الاقتصاد'), ['الاقْتِصاد'], 'marked as written, marks and all')
  t.same(await marked(arabic, '"نمو الاقتصاد"'), ['نمو الاقتـــصاد'], 'a stretched word marked as written')
  await assertIndexInStep(t, ctx, 'with compatibility forms and soft hyphens')
})

t.test('q combines with every filter: section (id, slug, descendants), byline, tag, dates, status', async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  const news = await create(app, '/v1/sections', { name: 'News', slug: 'news' })
  const harbin = await create(app, '/v1/sections', { name: 'Harbin Today', slug: 'harbin-today', parentId: news.id })
  const sports = await create(app, '/v1/sections', { name: 'Sports', slug: 'sports' })
  const x = await create(app, '/v1/bylines', { name: 'Xinhua', kind: 'agency' })
  const y = await create(app, '/v1/bylines', { name: 'Li Wei', kind: 'person' })
  const art = (headline: string, extra: object) => create(app, '/v1/articles', { headline, body: [p('The expo draws crowds')], ...extra })
  await art('A harbin x trade', { sectionId: harbin.id, bylines: [{ bylineId: x.id }], tags: ['trade'], status: 'published', publishedAt: '2014-07-01T00:00:00Z', updatedAt: '2014-07-02T00:00:00Z' })
  await art('B news y trade', { sectionId: news.id, bylines: [{ bylineId: y.id }], tags: ['trade'], status: 'published', publishedAt: '2014-08-01T00:00:00Z', updatedAt: '2014-08-01T00:00:00Z' })
  await art('C sports x sport', { sectionId: sports.id, bylines: [{ bylineId: x.id }], tags: ['sport'], status: 'published', publishedAt: '2015-01-01T00:00:00Z', updatedAt: '2015-06-01T00:00:00Z' })
  await art('D harbin x trade draft', { sectionId: harbin.id, bylines: [{ bylineId: x.id }], tags: ['trade'], updatedAt: '2016-01-01T00:00:00Z' })
  await art('E harbin archived', { sectionId: harbin.id, status: 'archived', publishedAt: '2013-01-01T00:00:00Z', updatedAt: '2013-01-02T00:00:00Z' })
  await art('F harbin scheduled', { sectionId: harbin.id, tags: ['trade'], status: 'published', publishedAt: '2099-01-01T00:00:00Z', updatedAt: '2014-09-01T00:00:00Z' })
  // in every filter's scope, but without the word
  await create(app, '/v1/articles', {
    headline: 'G harbin x trade, no match', body: [p('Nothing here')], sectionId: harbin.id, bylines: [{ bylineId: x.id }], tags: ['trade'],
    status: 'published', publishedAt: '2014-07-15T00:00:00Z', updatedAt: '2014-07-15T00:00:00Z'
  })
  const A = 'A harbin x trade'
  const B = 'B news y trade'
  const C = 'C sports x sport'
  const D = 'D harbin x trade draft'
  const E = 'E harbin archived'
  const F = 'F harbin scheduled'
  const cases: [string, string[], string[]][] = [
    // [query after q=expo, anonymous readers see, editors see]
    ['', [A, B, C], [A, B, C, D, E, F]],
    [`&section=${harbin.id}`, [A], [A, D, E, F]],
    ['&section=harbin-today', [A], [A, D, E, F]],
    ['&section=news', [B], [B]],
    ['&section=news&descendants=true', [A, B], [A, B, D, E, F]],
    [`&section=${news.id}&descendants=true`, [A, B], [A, B, D, E, F]],
    ['&section=harbin-today&descendants=true', [A], [A, D, E, F]],
    ['&section=no-such-section', [], []],
    [`&byline=${x.id}`, [A, C], [A, C, D]],
    [`&byline=${y.id}`, [B], [B]],
    ['&byline=00000000-0000-4000-8000-000000000000', [], []],
    ['&tag=trade', [A, B], [A, B, D, F]],
    ['&tag=sport', [C], [C]],
    [`&publishedAfter=${enc('2014-08-01T00:00:00Z')}`, [B, C], [B, C, F]],
    [`&publishedBefore=${enc('2014-08-01T00:00:00Z')}`, [A], [A, E]],
    [`&publishedAfter=${enc('2014-07-01T00:00:00Z')}&publishedBefore=${enc('2015-01-01T00:00:00Z')}`, [A, B], [A, B]],
    [`&publishedAfter=${enc('2014-07-01T08:00:00+08:00')}&publishedBefore=${enc('2014-07-01T00:00:00.001Z')}`, [A], [A]],
    [`&updatedSince=${enc('2014-08-01T00:00:00Z')}`, [B, C], [B, C, D, F]],
    [`&updatedSince=${enc('2015-06-01T00:00:00Z')}`, [C], [C, D]],
    ['&status=published', [A, B, C], [A, B, C, F]],
    ['&status=draft', [], [D]],
    ['&status=archived', [], [E]],
    [`&section=news&descendants=true&byline=${x.id}&tag=trade`, [A], [A, D]],
    [`&section=harbin-today&status=draft&byline=${x.id}`, [], [D]],
    [`&byline=${x.id}&publishedAfter=${enc('2014-12-01T00:00:00Z')}&sort=-publishedAt`, [C], [C]],
    [`&tag=trade&updatedSince=${enc('2014-07-02T00:00:00Z')}&sort=-updatedAt`, [A, B], [A, B, D, F]]
  ]
  for (const [query, anonymous, editor] of cases) {
    t.same(await found(t, ctx, `q=expo${query}`, 'anon'), sorted(anonymous), `anonymous q=expo${query}`)
    t.same(await found(t, ctx, `q=expo${query}`, 'editor'), sorted(editor), `editor q=expo${query}`)
  }
  // a writer's key is a staff reader too
  const writer = await app.inject({ method: 'GET', url: '/v1/articles?q=expo&status=draft', headers: { authorization: `Bearer ${ctx.keys.writer}` } })
  t.same(heads(writer.json().data), [D], 'a writer finds drafts')
  // filters without a word to look for are still a 400, whatever else is given
  const noWords = problem(t, await get(ctx, '/v1/articles?q=%21%21&section=no-such-section'), 400, 'punctuation-only q with an unknown section')
  t.match(noWords.errors, [{ path: '/query/q', message: /no words/ }], 'errors[] names q')
  const tooMany = problem(t, await get(ctx, `/v1/articles?q=${Array.from({ length: 40 }, (_, i) => `w${i}`).join('+')}`), 400, '40 terms')
  t.match(tooMany.errors, [{ path: '/query/q', message: /more than 32 terms/ }])
  // each prefix is read as every word it stands for: a few to a search
  t.match(problem(t, await get(ctx, `/v1/articles?q=${enc('ex* ab* cd* ef* gh*')}`), 400, 'five prefixes').errors, [{ path: '/query/q', message: /more than 4 prefixes/ }], 'five prefixes: why')
  t.same(await found(t, ctx, `q=${enc('ex* exp* expo* ex*')}`, 'anon'), sorted([A, B, C]), 'four prefixes are searched')
  // a prefix of one letter or digit stands for most words: said, not searched as the word itself
  for (const q of ['e*', 'expo e*', '1*', 'É*', '"gas deal" x**']) {
    t.match(problem(t, await get(ctx, `/v1/articles?q=${enc(q)}`), 400, `q=${q}`).errors, [{ path: '/query/q', message: /prefix needs two letters or digits/ }], `q=${q}: why`)
  }
  t.same(await found(t, ctx, `q=${enc('ex*')}`, 'anon'), sorted([A, B, C]), 'two letters are a prefix')
  t.match(problem(t, await get(ctx, '/v1/articles?sort=relevance'), 400).errors, [{ path: '/query/sort' }], 'sort=relevance without q names sort')
})

t.test('snippets: only on search hits, <mark> around the match, the text HTML-escaped', async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  const section = await create(app, '/v1/sections', { name: 'News' })
  const byline = await create(app, '/v1/bylines', { name: 'Xinhua', kind: 'agency' })
  const xss = await create(app, '/v1/articles', {
    headline: '<script>alert(1)</script> gas', status: 'published', publishedAt: '2014-07-01T00:00:00Z', sectionId: section.id, bylines: [{ bylineId: byline.id }]
  })
  await create(app, '/v1/articles', {
    headline: 'Telecoms story', body: [p('AT&amp;T said "gas" <b>prices</b> rose &lt;sharply&gt;')], status: 'published', publishedAt: '2014-07-02T00:00:00Z', sectionId: section.id
  })
  await create(app, '/v1/articles', {
    headline: 'Quoted "Harbin" & <friends> \'ok\' gas', status: 'published', publishedAt: '2014-07-03T00:00:00Z'
  })
  await create(app, '/v1/articles', {
    headline: 'Long story', status: 'published', publishedAt: '2014-07-04T00:00:00Z',
    body: [p(`${'Filler words come first. '.repeat(30)}Then the zeppelin lands. ${'More filler follows after. '.repeat(30)}`)]
  })

  // lists without q, and single reads, have no snippet field at all (the schema marks it optional)
  // a photo block without a caption override shows the photo's own caption: readers would expect to find it
  const photo = await upload(app, { caption: 'Kingfisher at dawn', credit: 'Xinhua' })
  await create(app, '/v1/articles', { headline: 'Photo story', body: [{ type: 'photo', photoId: photo.id }], status: 'published', publishedAt: '2014-06-01T00:00:00Z' })
  t.same(await found(t, ctx, 'q=kingfisher', 'anon'), ['Photo story'], 'the photo\'s own caption, shown in the article, is searched')
  const lists = ['/v1/articles', '/v1/articles?sort=-updatedAt', `/v1/articles?section=${section.id}`, `/v1/sections/${section.id}/articles`, `/v1/bylines/${byline.id}/articles`]
  for (const url of lists) {
    for (const who of ['anon', 'editor'] as const) {
      const res = await get(ctx, url, who)
      t.equal(res.statusCode, 200, `${who} ${url}`)
      const data = res.json().data
      t.ok(data.length > 0, `${who} ${url} lists something (else the check is vacuous)`)
      t.notOk(data.some((a: any) => 'snippet' in a), `${who} ${url}: no snippet outside a search`)
    }
  }
  const one = (await get(ctx, `/v1/articles/${xss.id}`, 'anon')).json()
  t.notOk('snippet' in one, 'a single read has no snippet')
  t.notOk('snippet' in (await get(ctx, `/v1/articles/slug/${xss.slug}`)).json(), 'a read by slug has no snippet')

  const gas = await page(t, ctx, 'q=gas&sort=publishedAt', 'anon')
  t.same(heads(gas.data), ['<script>alert(1)</script> gas', 'Telecoms story', 'Quoted "Harbin" & <friends> \'ok\' gas'])
  for (const a of gas.data) {
    t.type(a.snippet, 'string', `"${a.headline}" has a snippet`)
    assertSafe(t, a.snippet, `snippet of "${a.headline}"`)
    t.same(marks(a.snippet).map((m) => m.toLowerCase()), ['gas'], `only "gas" is marked in "${a.headline}": ${a.snippet}`)
  }
  t.notMatch(gas.data[0].snippet, /<script|<\/script/i, 'the headline\'s markup is not raw')
  t.equal(shown(gas.data[0].snippet), '<script>alert(1)</script> gas', 'the escaped snippet shows the headline as written')
  t.match(gas.data[0].snippet, /^&(#60|lt);script&(#62|gt);alert\(1\)&(#60|lt);\/script&(#62|gt); <mark>gas<\/mark>$/, gas.data[0].snippet)
  t.equal(shown(gas.data[1].snippet), 'AT&T said "gas" prices rose <sharply>', 'body text: tags removed, entities shown once (not double-escaped)')
  t.match(gas.data[1].snippet, /^AT&(#38|amp);T said &(#34|quot);<mark>gas<\/mark>&(#34|quot); prices rose &(#60|lt);sharply&(#62|gt);$/, gas.data[1].snippet)
  t.equal(shown(gas.data[2].snippet), 'Quoted "Harbin" & <friends> \'ok\' gas')

  // a long body: the snippet is a short extract around the match
  const long = await page(t, ctx, 'q=zeppelin', 'anon')
  const snippet: string = long.data[0]?.snippet ?? ''
  t.same(marks(snippet), ['zeppelin'])
  t.ok(snippet.length < 300, `short: ${snippet.length} characters`)
  t.match(snippet, /…/, 'elided text is marked with an ellipsis')
  t.ok(shown(snippet).replace(/…/g, '').trim().length > 0)

  // markup in a headline is text: its words are searchable like any others
  t.same(heads((await page(t, ctx, `q=${enc('<script>')}`, 'anon')).data), ['<script>alert(1)</script> gas'], 'searching for the markup finds its words')
  t.same(heads((await page(t, ctx, `q=${enc('"alert 1"')}`, 'anon')).data), ['<script>alert(1)</script> gas'])
})

t.test('snippets: the private-use characters the index marks matches with (U+E000, U+E001) in article text do not become <mark> tags', async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  await create(app, '/v1/articles', { headline: 'Plain \uE000fake\uE001 text about gas', status: 'published' })
  await create(app, '/v1/articles', { headline: 'Closing \uE001 only gas', status: 'published' })
  const { data } = await page(t, ctx, 'q=gas&sort=publishedAt', 'anon')
  t.equal(data.length, 2)
  for (const a of data) {
    t.same(marks(a.snippet ?? '').map((m) => m.toLowerCase()), ['gas'], `only the match is marked: ${JSON.stringify(a.snippet)}`)
    assertSafe(t, a.snippet ?? '', `snippet of ${JSON.stringify(a.headline)}`)
  }
  // they are left out of the indexed words, and of the words searched for alike
  await create(app, '/v1/articles', { headline: 'Feij\uE001oa harvest', status: 'published' })
  for (const q of ['feijoa', 'feij\uE001oa', 'fei\uE000j\uE002oa']) {
    const found = (await page(t, ctx, `q=${encodeURIComponent(q)}`, 'anon')).data
    t.same(found.map((a: any) => a.headline), ['Feij\uE001oa harvest'], `${JSON.stringify(q)} finds it`)
    t.same(marks(found[0]?.snippet ?? ''), ['Feijoa'], 'and marks it')
  }
})

t.test('hostile q: every value answers 200 or a problem+json 400, never a 500, and changes nothing', async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  const G = 'Gas deal signed'
  await create(app, '/v1/articles', { headline: G, body: [p('The agreement was reached on Tuesday.')], status: 'published', publishedAt: '2014-07-01T00:00:00Z' })
  await create(app, '/v1/articles', { headline: 'Table tennis final', body: [p('A drop shot wins it.')], status: 'published', publishedAt: '2014-07-02T00:00:00Z' })
  await create(app, '/v1/articles', { headline: 'Draft about gas' })
  const before = await stored(ctx)
  const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(' ')
  // [q, expected status ('any' = 200 or 400), headlines an anonymous search finds when 200 (undefined: not checked)]
  const table: [string, 200 | 400 | 'any', string[]?][] = [
    ['"gas', 200, [G]],
    ['gas"', 200, [G]],
    ['"gas deal', 200, [G]],
    ['gas "deal', 200, [G]],
    ['"', 400],
    ['""', 400],
    ['"""', 400],
    ['" "', 400],
    ['AND OR NOT NEAR(', 200, []],
    ['gas AND deal', 200, []],
    ['gas OR xyzzy', 200, []],
    ['gas NOT deal', 200, []],
    ['NOT gas', 200, []],
    ['NEAR(gas deal)', 200, []],
    ['NEAR(gas deal, 2)', 200, []],
    ['gas + deal', 200, [G]],
    ['*', 400],
    ['**', 400],
    ['* *', 400],
    ['gas*', 200, [G]],
    ['*gas', 200, [G]],
    ['g*', 400],
    ['gas**', 200, [G]],
    ['col:word', 200, []],
    ['headline: gas', 200, []],
    ['headline:gas', 200, []],
    ['{headline}: gas', 200, []],
    ['{headline summary}: gas', 200, []],
    ['- headline: gas', 200, []],
    ['^gas', 200, [G]],
    ['^', 400],
    ['-gas', 200, [G]],
    ['+gas', 200, [G]],
    ['-', 400],
    ['(gas)', 200, [G]],
    ['[gas]', 200, [G]],
    ['{gas}', 200, [G]],
    ['gas)', 200, [G]],
    ['((', 400],
    [')(', 400],
    ['[]{}()<>', 400],
    ['\'; drop table articles; --', 200, []],
    ['gas\' OR \'1\'=\'1', 200, []],
    ['1; DELETE FROM articles_fts', 200, []],
    ['%', 400],
    ['gas%', 200, [G]],
    ['_', 400],
    ['\\', 400],
    ['gas\\', 200, [G]],
    ['&', 400],
    ['gas&deal', 200, [G]],
    ['<mark>gas</mark>', 200, []],
    ['\u0000', 'any'],
    ['gas\u0000', 'any'],
    ['\u0000gas', 'any'],
    ['gas\u0000deal', 'any'],
    ['"gas\u0000deal"', 'any'],
    ['gas\u0001deal', 200],
    ['\u0001\u0002\u001f', 400],
    ['\u007f', 400],
    ['gas\u007f', 200, [G]],
    ['gas\ndeal', 200, [G]],
    ['gas\tdeal', 200, [G]],
    ['\r\n', 400],
    ['👍', 400],
    ['gas 👍', 200, [G]],
    ['🇨🇳', 400],
    ['👨‍👩‍👧', 400],
    ['\u202Egas', 200],
    ['\u202E\u202D', 400],
    ['غاز', 200, []],
    ['גז', 200, []],
    ['"غاز طبيعي"', 200, []],
    ['\u0301', 400],
    ['\u0301\u0301\u0301', 400],
    ['ga\u0301s', 200, [G]],
    ['e\u0301\u0301\u0301\u0301', 200, []],
    ['\u200B', 400],
    ['\uFEFFgas', 200],
    ['\uE000', 'any'],
    ['\uFFFD', 400],
    ['哈尔滨', 200, []],
    ['ガス', 200, []],
    ['ก๊าซ', 200, []],
    ['x'.repeat(500), 200, []],
    ['x'.repeat(501), 400],
    ['gas '.repeat(1250), 400],
    ['é'.repeat(5000), 400],
    ['!?.,;:', 400],
    ['-- --', 400],
    [' ', 400],
    ['   ', 400],
    ['', 400],
    [words(32), 200, []],
    [words(33), 400],
    [`"${words(40)}"`, 200, []],
    ['ab* '.repeat(4).trim(), 200],
    ['ab* '.repeat(5).trim(), 400],
    ['ab* '.repeat(33).trim(), 400]
  ]
  for (const [q, status, expected] of table) {
    const url = `/v1/articles?q=${enc(q)}`
    const label = JSON.stringify(q.length > 60 ? `${q.slice(0, 60)}… (${q.length} chars)` : q)
    for (const who of ['anon', 'editor'] as const) {
      const res = await get(ctx, url, who)
      t.ok(res.statusCode === 200 || res.statusCode === 400, `${who} q=${label} answers 200 or 400, not ${res.statusCode}: ${res.body.slice(0, 200)}`)
      if (status !== 'any') t.equal(res.statusCode, status, `${who} q=${label} answers ${status}`)
      if (res.statusCode === 400) {
        problem(t, res, 400, `${who} q=${label}`)
      } else if (res.statusCode === 200) {
        t.match(res.headers['content-type'], /^application\/json/)
        if (expected && who === 'anon') t.same(sorted(heads(res.json().data)), sorted(expected), `anon q=${label} finds ${JSON.stringify(expected)}`)
      }
    }
  }
  // validation names the parameter
  t.ok(paths(problem(t, await get(ctx, '/v1/articles?q='), 400, 'empty q')).includes('/query/q'), 'empty q: errors[] names /query/q')
  const long = problem(t, await get(ctx, `/v1/articles?q=${'x'.repeat(5000)}`), 400, '5,000 characters')
  t.ok(paths(long).includes('/query/q'), '5,000 characters: errors[] names /query/q')
  t.equal(long.instance, '/v1/articles', 'a long URL is not echoed back whole: its path names the occurrence')
  t.equal(problem(t, await get(ctx, '/v1/articles?q=x&limit=0'), 400, 'limit 0').instance, '/v1/articles?q=x&limit=0', 'a short one is')
  problem(t, await get(ctx, '/v1/articles?q=gas&q=deal'), 400, 'q twice')

  // raw query strings a client may send unencoded or badly encoded
  for (const raw of ['%', '%%', '%zz', '%E0%A4%A', '%ED%A0%80', 'gas%ED%A0%80', '%C0%80', 'gas%2', '%2', 'gas+deal', 'gas%20%20%20deal', '%22gas+deal%22']) {
    const res = await get(ctx, `/v1/articles?q=${raw}`, 'anon')
    t.ok(res.statusCode === 200 || res.statusCode === 400, `raw q=${raw} answers 200 or 400, not ${res.statusCode}: ${res.body.slice(0, 200)}`)
    if (res.statusCode === 400) problem(t, res, 400, `raw q=${raw}`)
  }
  t.same(sorted(heads((await get(ctx, '/v1/articles?q=%22gas+deal%22', 'anon')).json().data)), [G], '"+" is a space in a query string')

  const after = await stored(ctx)
  t.same(after.articles, before.articles, 'the articles table is unchanged')
  t.same(after.index, before.index, 'the search index is unchanged')
  t.same(after.schema, before.schema, 'no table, index or trigger added or dropped')
  t.same(await found(t, ctx, 'q=gas', 'editor'), sorted([G, 'Draft about gas']), 'search still works afterwards')
})

t.test('drafts, scheduled and archived articles never appear in anonymous results; editors see them; unpublishing hides at once', async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  const section = await create(app, '/v1/sections', { name: 'News' })
  const pubA = await create(app, '/v1/articles', {
    headline: 'Lighthouse keeper retires', summary: 'After forty years', body: [p('The lighthouse goes automatic.')],
    status: 'published', publishedAt: '2014-07-01T00:00:00Z', sectionId: section.id, tags: ['coast']
  })
  const draft = await create(app, '/v1/articles', {
    headline: 'Lighthouse secret plans', summary: 'Confidential memo', body: [p('Embargoed lighthouse sale to a hotel chain.')], sectionId: section.id, tags: ['coast']
  })
  await create(app, '/v1/articles', {
    headline: 'Lighthouse archive piece', body: [p('Old lighthouse photos, withdrawn.')], status: 'archived', publishedAt: '2010-01-01T00:00:00Z', sectionId: section.id, tags: ['coast']
  })
  await create(app, '/v1/articles', {
    headline: 'Lighthouse future story', body: [p('Lighthouse reopening, embargoed.')], status: 'published', publishedAt: '2099-01-01T00:00:00Z', sectionId: section.id, tags: ['coast']
  })
  // the published story links the draft: search hits do not reveal it through related links either
  await write(t, app, { method: 'PUT', url: `/v1/articles/${pubA.id}/related`, payload: [{ articleId: draft.id }] })

  const all = sorted(['Lighthouse keeper retires', 'Lighthouse secret plans', 'Lighthouse archive piece', 'Lighthouse future story'])
  const anonQueries = ['q=lighthouse', 'q=lighthouse&sort=-publishedAt', 'q=lighthouse&sort=publishedAt', 'q=lighthouse&sort=-updatedAt', 'q=lighthouse&sort=updatedAt',
    'q=lighthouse&tag=coast', `q=lighthouse&section=${section.id}`, 'q=lighthouse&status=published', `q=lighthouse&publishedAfter=${enc('2000-01-01T00:00:00Z')}`, 'q=lighth*']
  for (const query of anonQueries) {
    const { data } = await page(t, ctx, `limit=100&${query}`, 'anon')
    t.same(heads(data), ['Lighthouse keeper retires'], `anonymous ${query}: only the published story`)
    for (const a of data) {
      t.notMatch(a.snippet, /secret|embargo|withdrawn|confidential/i, `anonymous ${query}: no unpublished text in the snippet`)
      t.same(a.related, [], `anonymous ${query}: the draft is not in the hit's related links`)
    }
  }
  for (const word of ['secret', 'embargoed', 'withdrawn', 'confidential', 'hotel', '"lighthouse sale"', 'reopening', 'future']) {
    t.same(await found(t, ctx, `q=${enc(word)}`, 'anon'), [], `anonymous q=${word}: unpublished words find nothing`)
  }
  for (const status of ['draft', 'archived']) {
    t.same(await found(t, ctx, `q=lighthouse&status=${status}`, 'anon'), [], `anonymous status=${status}: nothing`)
  }
  t.same(await found(t, ctx, 'q=lighthouse', 'editor'), all, 'editors see every status')
  t.same(await found(t, ctx, 'q=lighthouse&status=draft', 'editor'), ['Lighthouse secret plans'])
  t.same(await found(t, ctx, 'q=lighthouse&status=archived', 'editor'), ['Lighthouse archive piece'])
  t.same(await found(t, ctx, 'q=lighthouse&status=published', 'editor'), sorted(['Lighthouse keeper retires', 'Lighthouse future story']), 'scheduled counts as published for editors')
  t.same(await found(t, ctx, 'q=secret', 'editor'), ['Lighthouse secret plans'])
  const editorHit = (await page(t, ctx, 'q=lighthouse&sort=publishedAt&status=published')).data[0]
  t.same(editorHit.related.map((l: any) => l.articleId), [draft.id], 'editors see the related draft')

  // unpublishing: gone from anonymous results at once (the anonymous answer above may be cached; it must not be served)
  const cachedUrl = '/v1/articles?q=lighthouse'
  const cached = await get(ctx, cachedUrl, 'anon')
  t.same(heads(cached.json().data), ['Lighthouse keeper retires'])
  t.match(cached.headers['cache-control'], /^public/, 'an anonymous search is publicly cacheable')
  const etag = cached.headers.etag as string
  t.ok(etag, 'an anonymous search has an ETag')
  t.equal((await get(ctx, cachedUrl, 'anon', { 'if-none-match': etag })).statusCode, 304, 'unchanged: 304')
  await write(t, app, { method: 'POST', url: `/v1/articles/${pubA.id}/unpublish` })
  const afterUnpublish = await get(ctx, cachedUrl, 'anon', { 'if-none-match': etag })
  t.equal(afterUnpublish.statusCode, 200, 'unpublished: the old ETag no longer matches')
  t.same(heads(afterUnpublish.json().data), [], 'unpublished: gone from the same anonymous search')
  t.not(afterUnpublish.headers.etag, etag)
  t.same(await found(t, ctx, 'q=keeper', 'anon'), [], 'unpublished: its words find nothing')
  t.same(await found(t, ctx, 'q=keeper&status=draft', 'editor'), ['Lighthouse keeper retires'], 'editors find it as a draft')
  await write(t, app, { method: 'POST', url: `/v1/articles/${pubA.id}/publish`, payload: { publishedAt: '2014-07-01T00:00:00Z' } })
  t.same(heads((await get(ctx, cachedUrl, 'anon')).json().data), ['Lighthouse keeper retires'], 'republished: back')

  // archiving hides it too
  await write(t, app, { method: 'PATCH', url: `/v1/articles/${pubA.id}`, payload: { status: 'archived' } })
  t.same(heads((await get(ctx, cachedUrl, 'anon')).json().data), [], 'archived: gone from anonymous results')
  await write(t, app, { method: 'PATCH', url: `/v1/articles/${pubA.id}`, payload: { status: 'published' } })

  // scheduled: hidden until its time, then found with no write in between
  const soon = new Date(Date.now() + 1000)
  const sched = await create(app, '/v1/articles', { headline: 'Foghorn test tonight', status: 'published', publishedAt: soon.toISOString() })
  t.same(await found(t, ctx, 'q=foghorn', 'anon'), [], 'scheduled: not yet')
  t.ok(Date.now() < soon.getTime(), 'checked before its time (else the check proves nothing)')
  t.same(await found(t, ctx, 'q=foghorn', 'editor'), ['Foghorn test tonight'])
  await sleep(soon.getTime() - Date.now() + 50)
  t.same(await found(t, ctx, 'q=foghorn', 'anon'), ['Foghorn test tonight'], 'scheduled: found once its time has come')
  t.same(await found(t, ctx, `q=foghorn&publishedBefore=${enc(new Date(soon.getTime() + 1).toISOString())}`, 'anon'), ['Foghorn test tonight'])
  t.equal((await get(ctx, `/v1/articles/${sched.id}`)).json().revision, sched.revision, 'no write in between')
})

t.test('the index is kept in step with every write: edits, deletes, byline renames, restores, section moves, publishing', async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  const news = await create(app, '/v1/sections', { name: 'News', slug: 'news' })
  const world = await create(app, '/v1/sections', { name: 'World', slug: 'world' })
  const asia = await create(app, '/v1/sections', { name: 'Asia', slug: 'asia', parentId: news.id })
  const byline = await create(app, '/v1/bylines', { name: 'Wenceslas Okonkwo', kind: 'person' })
  const other = await create(app, '/v1/bylines', { name: 'Xinhua', kind: 'agency' })
  const a = await create(app, '/v1/articles', {
    headline: 'Walrus sighted in harbour', summary: 'Rare visitor', body: [p('The walrus rested on the pier.')], tags: ['wildlife'],
    bylines: [{ bylineId: byline.id }], sectionId: asia.id, status: 'published', publishedAt: '2014-07-01T00:00:00Z'
  })
  const bystander = await create(app, '/v1/articles', { headline: 'Bystander story', body: [p('Nothing about marine mammals.')], status: 'published', publishedAt: '2014-07-02T00:00:00Z' })
  await assertIndexInStep(t, ctx, 'after creates')
  const W = 'Walrus sighted in harbour'

  // headline edit: the old word no longer finds it, the new one does
  await write(t, app, { method: 'PATCH', url: `/v1/articles/${a.id}`, payload: { headline: 'Narwhal sighted in harbour' } })
  t.same(await found(t, ctx, 'q=sighted', 'anon'), ['Narwhal sighted in harbour'])
  t.same(await found(t, ctx, 'q=narwhal', 'anon'), ['Narwhal sighted in harbour'], 'new headline word found')
  t.same(await found(t, ctx, 'q=walrus', 'anon'), ['Narwhal sighted in harbour'], 'still in the body')
  const headlineHit = await page(t, ctx, 'q=walrus', 'anon')
  t.same(marks(headlineHit.data[0].snippet).map((m: string) => m.toLowerCase()), ['walrus'], 'the snippet now comes from the body')
  await write(t, app, { method: 'PATCH', url: `/v1/articles/${a.id}`, payload: { body: [p('The animal rested on the pier.')] } })
  t.same(await found(t, ctx, 'q=walrus', 'anon'), [], 'old word gone from headline and body: not found')
  t.same(await found(t, ctx, 'q=animal', 'anon'), ['Narwhal sighted in harbour'])
  await write(t, app, { method: 'PATCH', url: `/v1/articles/${a.id}`, payload: { summary: null, tags: ['oceans'] } })
  t.same(await found(t, ctx, 'q=rare', 'anon'), [], 'cleared summary: not found')
  t.same(await found(t, ctx, 'q=wildlife', 'anon'), [], 'replaced tag: not found')
  t.same(await found(t, ctx, 'q=oceans', 'anon'), ['Narwhal sighted in harbour'])
  await assertIndexInStep(t, ctx, 'after edits')

  // byline rename: articles are found by the new name, not the old
  t.same(await found(t, ctx, 'q=okonkwo', 'anon'), ['Narwhal sighted in harbour'])
  await write(t, app, { method: 'PATCH', url: `/v1/bylines/${byline.id}`, payload: { name: 'Ottoline Fairweather' } })
  t.same(await found(t, ctx, 'q=okonkwo', 'anon'), [], 'renamed byline: old name finds nothing')
  t.same(await found(t, ctx, 'q=fairweather', 'anon'), ['Narwhal sighted in harbour'], 'renamed byline: new name finds it')
  t.same(await found(t, ctx, `q=fairweather&byline=${byline.id}`, 'anon'), ['Narwhal sighted in harbour'])
  // replacing the article's bylines
  await write(t, app, { method: 'PATCH', url: `/v1/articles/${a.id}`, payload: { bylines: [{ bylineId: other.id, role: 'agency' }] } })
  t.same(await found(t, ctx, 'q=fairweather', 'anon'), [], 'byline removed: its name finds nothing')
  t.same(await found(t, ctx, 'q=xinhua', 'anon'), ['Narwhal sighted in harbour'])
  t.same(await found(t, ctx, `q=narwhal&byline=${byline.id}`, 'anon'), [], 'byline filter follows the change')
  t.same(await found(t, ctx, `q=narwhal&byline=${other.id}`, 'anon'), ['Narwhal sighted in harbour'])
  await assertIndexInStep(t, ctx, 'after byline changes')

  // restoring revision 1 brings back its text
  await write(t, app, { method: 'POST', url: `/v1/articles/${a.id}/revisions/1/restore` })
  t.same(await found(t, ctx, 'q=walrus', 'anon'), [W], 'restored: the old headline word finds it')
  t.same(await found(t, ctx, 'q=narwhal', 'anon'), [], 'restored: the later headline word does not')
  t.same(await found(t, ctx, 'q=rare', 'anon'), [W])
  t.same(await found(t, ctx, 'q=wildlife', 'anon'), [W])
  t.same(await found(t, ctx, 'q=fairweather', 'anon'), [W], 'restored bylines are searched by their current name')
  t.same(await found(t, ctx, 'q=xinhua', 'anon'), [])
  await assertIndexInStep(t, ctx, 'after restore')

  // moving the article to another section
  t.same(await found(t, ctx, 'q=walrus&section=asia', 'anon'), [W])
  t.same(await found(t, ctx, 'q=walrus&section=news&descendants=true', 'anon'), [W])
  await write(t, app, { method: 'PATCH', url: `/v1/articles/${a.id}`, payload: { sectionId: world.id } })
  t.same(await found(t, ctx, 'q=walrus&section=asia', 'anon'), [], 'moved: not in its old section')
  t.same(await found(t, ctx, 'q=walrus&section=news&descendants=true', 'anon'), [], 'moved: not under the old parent')
  t.same(await found(t, ctx, 'q=walrus&section=world', 'anon'), [W], 'moved: in its new section')
  await write(t, app, { method: 'PATCH', url: `/v1/articles/${a.id}`, payload: { sectionId: asia.id } })
  // moving the section itself: descendants are read at query time
  await write(t, app, { method: 'PATCH', url: `/v1/sections/${asia.id}`, payload: { parentId: world.id } })
  t.same(await found(t, ctx, 'q=walrus&section=news&descendants=true', 'anon'), [], 'subsection moved away from News')
  t.same(await found(t, ctx, 'q=walrus&section=world&descendants=true', 'anon'), [W], 'subsection now under World')
  t.same(await found(t, ctx, 'q=walrus&section=world', 'anon'), [], 'without descendants, only World\'s own articles')
  await assertIndexInStep(t, ctx, 'after moves')

  // publishing changes anonymous results and the publishedAt filters
  const d = await create(app, '/v1/articles', { headline: 'Walrus census planned', body: [p('Counting begins.')] })
  t.same(await found(t, ctx, 'q=walrus', 'anon'), [W], 'draft not found anonymously')
  t.same(await found(t, ctx, `q=walrus&publishedBefore=${enc('2014-06-01T00:00:00Z')}`, 'editor'), [], 'a draft has no publishedAt to match')
  await write(t, app, { method: 'POST', url: `/v1/articles/${d.id}/publish`, payload: { publishedAt: '2014-05-05T00:00:00Z' } })
  t.same(await found(t, ctx, 'q=walrus', 'anon'), sorted([W, 'Walrus census planned']), 'published: found anonymously')
  t.same(await found(t, ctx, `q=walrus&publishedBefore=${enc('2014-06-01T00:00:00Z')}`, 'anon'), ['Walrus census planned'], 'publishedBefore follows publishing')
  t.same(await found(t, ctx, `q=walrus&publishedAfter=${enc('2014-06-01T00:00:00Z')}`, 'anon'), [W])
  t.same(await ranked(t, ctx, 'q=walrus&sort=publishedAt', 'anon'), ['Walrus census planned', W])
  await write(t, app, { method: 'PATCH', url: `/v1/articles/${d.id}`, payload: { publishedAt: '2014-08-08T00:00:00Z' } })
  t.same(await ranked(t, ctx, 'q=walrus&sort=publishedAt', 'anon'), [W, 'Walrus census planned'], 'a changed publishedAt re-sorts')
  t.same(await found(t, ctx, `q=walrus&publishedBefore=${enc('2014-06-01T00:00:00Z')}`, 'anon'), [])
  await write(t, app, { method: 'PATCH', url: `/v1/articles/${d.id}`, payload: { headline: 'Census of seals', updatedAt: '2020-02-02T00:00:00Z' } })
  t.same(await found(t, ctx, `q=census&updatedSince=${enc('2020-01-01T00:00:00Z')}`, 'anon'), ['Census of seals'], 'updatedSince follows the edit')
  t.same(await found(t, ctx, `q=census&updatedSince=${enc('2020-03-01T00:00:00Z')}`, 'anon'), [])
  await assertIndexInStep(t, ctx, 'after publishing')

  // deleting: gone, and nothing left in the index
  await write(t, app, { method: 'DELETE', url: `/v1/articles/${a.id}` }, 204)
  t.same(await found(t, ctx, 'q=walrus', 'editor'), [], 'deleted: not found')
  t.same(await found(t, ctx, 'q=harbour', 'editor'), [])
  t.same(await found(t, ctx, 'q=bystander', 'anon'), ['Bystander story'], 'other articles unaffected')
  await write(t, app, { method: 'DELETE', url: `/v1/articles/${bystander.id}` }, 204)
  await assertIndexInStep(t, ctx, 'after deletes')

  // a failed write changes nothing in the index
  const failed = await app.inject({ method: 'PATCH', url: `/v1/articles/${d.id}`, payload: { headline: 'Octopus escapes', sectionId: '00000000-0000-4000-8000-000000000000' } })
  t.equal(failed.statusCode, 422, 'a write naming an unknown section fails')
  t.same(await found(t, ctx, 'q=octopus', 'editor'), [], 'the failed write left nothing in the index')
  t.same(await found(t, ctx, 'q=census', 'editor'), ['Census of seals'])
  await assertIndexInStep(t, ctx, 'after a failed write')
})

t.test('sorting and keyset cursors: every sort pages through every match exactly once, in order, with Link headers', async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  // bodies of ten words, k of them "walrus", and one-word headlines: every article has the same length (FTS5's bm25
  // normalizes by the whole document's length), so relevance falls strictly with k; equal k: equal rank, then the newer id
  const body = (k: number) => [p([...Array(k).fill('walrus'), ...Array(10 - k).fill('filler')].join(' '))]
  const specs: { headline: string, k: number, status: string, publishedAt?: string, updatedAt: string }[] = [
    { headline: 'M1', k: 6, status: 'published', publishedAt: '2014-03-01T00:00:00Z', updatedAt: '2014-03-05T00:00:00Z' },
    { headline: 'M2', k: 1, status: 'published', publishedAt: '2014-01-01T00:00:00Z', updatedAt: '2014-06-01T00:00:00Z' },
    { headline: 'M3', k: 3, status: 'published', publishedAt: '2014-02-01T00:00:00Z', updatedAt: '2014-02-02T00:00:00Z' },
    { headline: 'M4', k: 3, status: 'published', publishedAt: '2014-02-01T00:00:00Z', updatedAt: '2014-02-02T00:00:00Z' },
    { headline: 'M5', k: 5, status: 'published', publishedAt: '2014-04-01T00:00:00Z', updatedAt: '2014-01-15T00:00:00Z' },
    { headline: 'M6', k: 2, status: 'published', publishedAt: '2013-12-01T00:00:00Z', updatedAt: '2014-04-01T00:00:00Z' },
    { headline: 'A7', k: 4, status: 'archived', publishedAt: '2013-06-01T00:00:00Z', updatedAt: '2013-06-02T00:00:00Z' },
    { headline: 'D1', k: 2, status: 'draft', updatedAt: '2014-05-01T00:00:00Z' },
    { headline: 'D2', k: 5, status: 'draft', updatedAt: '2014-05-01T00:00:00Z' },
    { headline: 'S1', k: 1, status: 'published', publishedAt: '2099-01-01T00:00:00Z', updatedAt: '2014-02-15T00:00:00Z' }
  ]
  const made: { id: string, headline: string, k: number, status: string, publishedAt: string | null, updatedAt: string }[] = []
  for (const s of specs) {
    const a = await create(app, '/v1/articles', { headline: s.headline, body: body(s.k), status: s.status, publishedAt: s.publishedAt, updatedAt: s.updatedAt })
    made.push({ id: a.id, headline: a.headline, k: s.k, status: a.status, publishedAt: a.publishedAt, updatedAt: a.updatedAt })
  }
  // more articles without the word than with it, so the word's weight (idf) stays positive
  for (let i = 0; i < 12; i++) await create(app, '/v1/articles', { headline: `Other ${i}`, body: body(0), status: 'published', publishedAt: '2014-05-05T00:00:00Z' })

  const now = new Date().toISOString()
  const visible = (a: typeof made[number]) => a.status === 'published' && a.publishedAt !== null && a.publishedAt <= now
  const byId = (x: { id: string }, y: { id: string }) => x.id < y.id ? -1 : x.id > y.id ? 1 : 0
  const ascBy = (field: 'publishedAt' | 'updatedAt') => (x: typeof made[number], y: typeof made[number]) => {
    const a = x[field]
    const b = y[field]
    if (a !== b) return a === null ? -1 : b === null ? 1 : a < b ? -1 : 1 // NULLs sort lowest
    return byId(x, y)
  }
  const orders: Record<string, (x: typeof made[number], y: typeof made[number]) => number> = {
    // equal rank: the most recently written first (ids are time-ordered)
    relevance: (x, y) => y.k - x.k || byId(y, x),
    '-publishedAt': (x, y) => ascBy('publishedAt')(y, x),
    publishedAt: ascBy('publishedAt'),
    '-updatedAt': (x, y) => ascBy('updatedAt')(y, x),
    updatedAt: ascBy('updatedAt')
  }
  /** Phrase relevance among equal fields: newest published first, never published last, then the most recently written. */
  const newestFirst = (x: typeof made[number], y: typeof made[number]) => {
    const a = x.publishedAt
    const b = y.publishedAt
    if (a !== b) return a === null ? 1 : b === null ? -1 : a < b ? 1 : -1
    return byId(y, x)
  }

  /** Follows Link headers from the first page; checks each page's cursor and Link; answers the headlines in order. */
  async function walk (first: string, who: Who, limit: number) {
    const seen: string[] = []
    let url: string | undefined = first
    let pages = 0
    while (url && pages < 50) {
      pages++
      const res = await get(ctx, url, who)
      t.equal(res.statusCode, 200, `${who} ${url}${res.statusCode === 200 ? '' : `: ${res.body.slice(0, 200)}`}`)
      if (res.statusCode !== 200) break
      const { data, next } = res.json()
      seen.push(...heads(data))
      const link = res.headers.link as string | undefined
      if (next === null) {
        t.equal(link, undefined, `${who}: the last page has no Link header`)
        url = undefined
      } else {
        t.equal(data.length, limit, `${who}: a page with a next cursor is full`)
        t.match(link, /^<\/v1\/articles\?[^>]+>; rel="next"$/, `${who}: Link header ${link}`)
        const target = new URL(link!.slice(1, link!.indexOf('>')), 'http://x')
        t.equal(target.searchParams.get('cursor'), next, `${who}: the Link header carries the next cursor`)
        t.equal(target.searchParams.get('q'), new URL(first, 'http://x').searchParams.get('q'), `${who}: the Link keeps q`)
        url = `${target.pathname}${target.search}`
      }
    }
    return seen
  }

  for (const [sort, order] of Object.entries(orders)) {
    for (const who of ['editor', 'anon'] as const) {
      const expected = made.filter((a) => who === 'editor' || visible(a)).sort(order).map((a) => a.headline)
      const sortParam = sort === 'relevance' ? '' : `&sort=${sort}`
      for (const limit of [2, 3]) {
        const seen = await walk(`/v1/articles?q=walrus&limit=${limit}${sortParam}`, who, limit)
        t.same(seen, expected, `${who} sort=${sort} limit=${limit}: every match once, in order`)
      }
      if (sort === 'relevance') {
        t.same(await walk(`/v1/articles?q=walrus&limit=2&sort=relevance`, who, 2), expected, `${who}: explicit sort=relevance`)
      }
      // a phrase with spaces survives the round trip through the Link header
      // (a phrase ranks by the fields it is in, then newest published first: here it is only ever in bodies)
      const phrase = await walk(`/v1/articles?q=${enc('"walrus walrus"')}&limit=2${sortParam}`, who, 2)
      const phraseOrder = sort === 'relevance' ? newestFirst : order
      const phraseExpected = made.filter((a) => (who === 'editor' || visible(a)) && a.k >= 2).sort(phraseOrder).map((a) => a.headline)
      t.same(phrase, phraseExpected, `${who} sort=${sort}: a phrase query pages through its matches`)
    }
  }
  t.same(await ranked(t, ctx, 'q=walrus', 'anon'), made.filter(visible).sort(orders.relevance).map((a) => a.headline), 'q alone sorts by relevance')
  t.same(await ranked(t, ctx, 'publishedAfter=2014-01-01T00:00:00Z', 'anon').then((h) => h.filter((x) => x.startsWith('M'))),
    made.filter(visible).filter((a) => a.publishedAt! >= '2014-01-01').sort(orders['-publishedAt']).map((a) => a.headline), 'without q the default is -publishedAt')

  // misuse of cursors
  const first = (await page(t, ctx, 'q=walrus&limit=2')).next!
  const dated = (await page(t, ctx, 'q=walrus&limit=2&sort=-publishedAt')).next!
  const plain = (await page(t, ctx, 'limit=2')).next!
  t.ok(first && dated && plain, 'cursors to misuse')
  const misuse: [string, string][] = [
    [`q=narwhal&cursor=${first}`, 'a relevance cursor with another q'],
    [`q=walrus&sort=-publishedAt&cursor=${first}`, 'a relevance cursor with a date sort'],
    [`cursor=${first}`, 'a relevance cursor without q'],
    [`q=walrus&cursor=${dated}`, 'a -publishedAt cursor with sort=relevance'],
    [`q=walrus&sort=publishedAt&cursor=${dated}`, 'a -publishedAt cursor with publishedAt'],
    [`q=walrus&sort=-updatedAt&cursor=${dated}`, 'a -publishedAt cursor with -updatedAt'],
    [`q=seal&sort=-publishedAt&cursor=${dated}`, 'a -publishedAt cursor with another q'],
    [`sort=-publishedAt&cursor=${dated}`, 'a search cursor on the plain list'],
    [`q=walrus&sort=-publishedAt&cursor=${plain}`, 'a plain-list cursor with q'],
    [`q=walrus&sort=relevance&cursor=${plain}`, 'a plain-list cursor with relevance'],
    [`q=walrus&cursor=${first.slice(0, -1)}${first.endsWith('A') ? 'B' : 'A'}`, 'a cursor with an edited checksum'],
    [`q=walrus&cursor=${first.slice(1)}`, 'a truncated cursor'],
    [`q=walrus&cursor=${first.split('.')[0]}`, 'a cursor without its checksum'],
    [`q=walrus&cursor=${first}.x`, 'a cursor with an extra part'],
    [`q=walrus&cursor=${Buffer.from(JSON.stringify([-1, 'x'])).toString('base64url')}.${first.split('.')[1]}`, 'a forged payload with a copied checksum'],
    // checksummed as the server would, but holding a time no date can have
    [`q=walrus&sort=-publishedAt&cursor=${encodeCursor(listScope('-publishedAt', { q: 'walrus', sort: '-publishedAt' }), [Number.MAX_SAFE_INTEGER, 'x'])}`, 'a well-formed cursor with an impossible date'],
    [`q=walrus&sort=-publishedAt&cursor=${encodeCursor(listScope('-publishedAt', { q: 'walrus', sort: '-publishedAt' }), [0, 'x'.repeat(501)])}`, 'a well-formed cursor with an overlong id'],
    ['q=walrus&cursor=garbage', 'garbage'],
    ['q=walrus&cursor=%00', 'a NUL'],
    ['q=walrus&cursor=', 'an empty cursor'],
    [`q=walrus&cursor=${'A'.repeat(1001)}`, 'a 1,001-character cursor'],
    ['sort=relevance', 'sort=relevance without q'],
    ['sort=relevance&limit=5', 'sort=relevance without q, with a limit'],
    ['q=walrus&sort=rank', 'an unknown sort']
  ]
  for (const [query, what] of misuse) {
    for (const who of ['editor', 'anon'] as const) problem(t, await get(ctx, `/v1/articles?${query}`, who), 400, `${who}: ${what}`)
  }
  // a payload edited by one character: whatever the character, a 400
  const [payload, sum] = first.split('.') as [string, string]
  for (const i of [0, Math.floor(payload.length / 2), payload.length - 1]) {
    const c = payload[i] === 'A' ? 'B' : 'A'
    problem(t, await get(ctx, `/v1/articles?q=walrus&cursor=${payload.slice(0, i)}${c}${payload.slice(i + 1)}.${sum}`), 400, `payload edited at ${i}`)
  }
  // the cursor goes on with the query it came from
  const again = await page(t, ctx, `q=walrus&limit=2&cursor=${first}`)
  t.equal(again.data.length, 2, 'the cursor is valid with the query it came from')
})

t.test('a relevance cursor is sealed: its score, computed over hidden articles too, cannot be read, and another database\'s is refused', async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  for (let i = 0; i < 3; i++) await create(app, '/v1/articles', { headline: `Numbat note ${i}`, body: [p(`${'numbat '.repeat(i + 1)}seen.`)], status: 'published' })
  const first = await page(t, ctx, 'q=numbat&limit=1', 'anon')
  const cursor = first.next!
  const last = first.data[0].id as string
  // neither part is readable text: no score, no id
  for (const part of cursor.split('.')) {
    const text = Buffer.from(part, 'base64url').toString('utf8')
    t.notOk(text.includes(last) || /-?\d+\.\d+/.test(text), 'a part holds neither the id nor a score')
  }
  t.equal((await page(t, ctx, 'q=numbat&limit=1', 'anon')).next, cursor, 'the same page has the same cursor (its ETag holds)')
  t.same(heads((await page(t, ctx, `q=numbat&limit=1&cursor=${cursor}`, 'anon')).data), ['Numbat note 1'], 'and it resumes where it should')
  // the same cursor from another database (another newsroom's, or a restore's) is no cursor here
  const other = await build(t)
  for (let i = 0; i < 3; i++) await create(other.app, '/v1/articles', { headline: `Numbat note ${i}`, body: [p(`${'numbat '.repeat(i + 1)}seen.`)], status: 'published' })
  const foreign = (await page(t, other, 'q=numbat&limit=1', 'anon')).next!
  t.not(foreign, cursor, 'each database seals with its own key')
  problem(t, await get(ctx, `/v1/articles?q=numbat&limit=1&cursor=${foreign}`, 'anon'), 400, 'another database\'s cursor')
  // a cursor's last base64 character carries spare bits: changing only those is an edit too
  const [sealed, tail] = cursor.split('.') as [string, string]
  const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const spare = tail.slice(0, -1) + B64URL[B64URL.indexOf(tail.at(-1)!) ^ 1]
  t.same(Buffer.from(spare, 'base64url'), Buffer.from(tail, 'base64url'), 'the edit changes no byte')
  problem(t, await get(ctx, `/v1/articles?q=numbat&limit=1&cursor=${sealed}.${spare}`, 'anon'), 400, 'spare bits edited')
  // the key is the database's: a second instance on it reads the first one's cursors (on PostgreSQL the database is
  // the server's, named by its URL; the data folder holds only photos)
  const sameDatabase = dialect === 'postgres' ? { DATABASE_URL: ctx.databaseUrl! } : {}
  const second = await buildApp({ config: loadConfig({ DATA_DIR: ctx.dataDir, RATE_LIMIT_ANONYMOUS: '100000', RATE_LIMIT_KEY: '100000', ...sameDatabase }) })
  t.teardown(() => second.close())
  const res = await second.inject({ url: `/v1/articles?q=numbat&limit=1&cursor=${cursor}` })
  t.equal(res.statusCode, 200, 'another instance on the same database reads it')
  t.same(res.json().data.map((a: any) => a.headline), ['Numbat note 1'])
})

t.test('a relevance cursor names the page\'s last few articles; one made before it did (a score and an id) is still read', async (t) => {
  const key = Buffer.alloc(32, 7)
  const kinds = ['float', 'string', 'ids?'] as const
  t.same(decodeCursor('s', encodeCursor('s', [1.5, 'c', ['a', 'b']], key), kinds, key), [1.5, 'c', ['a', 'b']])
  t.same(decodeCursor('s', encodeCursor('s', [1.5, 'c'], key), kinds, key), [1.5, 'c', []], 'the older form: no others')
  for (const [values, why] of [
    [[1.5, 'c', 'a'], 'ids not in a list'],
    [[1.5, 'c', ['a', 'b', 'c', 'd', 'e']], 'more than four'],
    [[1.5, 'c', [1]], 'an id that is not text'],
    [[1.5, 'c', ['a\u0000']], 'an id with a NUL'],
    [[1.5, 'c', [], 'x'], 'a value more'],
    [[1.5], 'a value less']
  ] as const) {
    t.throws(() => decodeCursor('s', encodeCursor('s', values as unknown as string[], key), kinds, key), BadRequest, why)
  }
})

t.test('relevance pages stay in order while the archive grows: bm25 scores move with it, and a page resumes where its cursor\'s article ranks now', async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  const publish = (headline: string, text: string) => create(app, '/v1/articles', { headline, body: [p(text)], status: 'published' })
  for (let i = 0; i < 20; i++) await publish(`Filler ${i}`, 'Nothing about whales here.')
  // "orca" in a third of the articles, weighed by bm25, each article a different score
  for (let i = 1; i <= 10; i++) await publish(`Orca note ${i}`, `${'orca '.repeat(i)}seen off the coast.`)
  const before = await ranked(t, ctx, 'q=orca')
  t.same(sorted(before), sorted(Array.from({ length: 10 }, (_, i) => `Orca note ${i + 1}`)), 'every note found')
  const first = await page(t, ctx, 'q=orca&limit=3')
  t.same(heads(first.data), before.slice(0, 3))
  // sixty stories without the word: every article's bm25 score changes (the word is now rarer), the order does not
  for (let i = 0; i < 60; i++) await publish(`Later story ${i}`, 'Harbor news of the day.')
  t.same(await ranked(t, ctx, 'q=orca'), before, 'the order is the same')
  const second = await page(t, ctx, `q=orca&limit=3&cursor=${first.next}`)
  t.same(heads(second.data), before.slice(3, 6), 'the second page goes on where the first stopped')
  const third = await page(t, ctx, `q=orca&limit=3&cursor=${second.next}`)
  t.same(heads(third.data), before.slice(6, 9))
  // the cursor's own article gone: the page resumes after the page's other last articles, with nothing already shown
  const gone = second.data.at(-1)
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/articles/${gone.id}` })).statusCode, 204)
  const after = await page(t, ctx, `q=orca&limit=3&cursor=${second.next}`)
  t.notOk(heads(after.data).some((h) => before.slice(0, 6).includes(h)), `nothing shown again: ${heads(after.data)}`)
})

t.test('a relevance page goes on after the page before when the article that ended it is deleted or moved by an edit', async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  // "orca" in a third of the articles (a word in most would be ranked by field and date), each note scoring its own
  for (let i = 0; i < 20; i++) await create(app, '/v1/articles', { headline: `Filler ${i}`, body: [p('Nothing about whales here.')], status: 'published' })
  const notes = new Map<string, { id: string, body: unknown[] }>()
  for (let i = 1; i <= 10; i++) {
    const body = [p(`${'orca '.repeat(i)}seen off the coast.`)]
    notes.set(`Note ${i}`, { id: (await create(app, '/v1/articles', { headline: `Note ${i}`, body, status: 'published' })).id, body })
  }
  const order = await ranked(t, ctx, 'q=orca')
  t.equal(order.length, 10)
  // the last article of the first page, and edits that move it: the word in its headline ranks it first on both
  // databases, the word once in a long body last
  const last = notes.get(order[2]!)!
  const edit = async (patch: object) => {
    const res = await app.inject({ method: 'PATCH', url: `/v1/articles/${last.id}`, payload: patch })
    t.equal(res.statusCode, 200, res.body)
  }
  const restore = () => edit({ headline: order[2], body: last.body })
  for (const [how, change, undo] of [
    ['moved to the bottom', () => edit({ body: [p(`Orca ${'and the long story goes on '.repeat(40)}`)] }), restore],
    ['moved to the top', () => edit({ headline: `Orca ${order[2]}` }), restore],
    ['deleted', async () => t.equal((await app.inject({ method: 'DELETE', url: `/v1/articles/${last.id}` })).statusCode, 204), async () => {}]
  ] as const) {
    const first = await page(t, ctx, 'q=orca&limit=3')
    t.same(heads(first.data), order.slice(0, 3))
    await change()
    t.not((await ranked(t, ctx, 'q=orca'))[2], order[2], `${how}: it is no longer third`)
    const second = await page(t, ctx, `q=orca&limit=3&cursor=${first.next}`)
    t.same(heads(second.data), order.slice(3, 6), `the last of the page ${how}: the next page is the next three`)
    const rest = await page(t, ctx, `q=orca&limit=10&cursor=${first.next}`)
    t.same(heads(rest.data), order.slice(3), `${how}: and nothing after them is skipped`)
    await undo()
  }
})

t.test('a word in most articles is matched but not weighed: the order is bm25 over the whole query (ties aside), without counting the common word', async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  // "harbin" is in every article; "zircon" in a few, in different fields and numbers, so no two score alike
  for (let i = 0; i < 16; i++) {
    await create(app, '/v1/articles', { headline: `Filler ${i}`, body: [p(`News from harbin, part ${i}.`)], status: 'published', publishedAt: `2015-01-${String(i + 1).padStart(2, '0')}T00:00:00Z` })
  }
  const zircon = [
    { headline: 'Zircon found in the hills', body: [p('Harbin geologists report.')] },
    { headline: 'Mining report', summary: 'A zircon seam near harbin', body: [p('Details follow.')] },
    { headline: 'Gem trade', body: [p('Zircon, zircon and more zircon: harbin dealers count stock.')] },
    { headline: 'Long read', body: [p(`Harbin ${'and the long story goes on '.repeat(20)} with zircon once.`)] },
    { headline: 'Short note', body: [p('Zircon in harbin.')] },
    { headline: 'Tagged piece', tags: ['zircon'], body: [p('Harbin market news today.')] }
  ]
  for (const [i, a] of zircon.entries()) {
    await create(app, '/v1/articles', { ...a, status: 'published', publishedAt: `2015-02-0${i + 1}T00:00:00Z` })
  }
  await create(app, '/v1/articles', { headline: 'Zircon elsewhere', body: [p('Far from that city.')], status: 'published', publishedAt: '2015-03-01T00:00:00Z' })

  // the order bm25 gives over the whole query, straight from the index. PostgreSQL has no bm25 and no sampling: every
  // word of a query is weighed by ts_rank over the weighted fields (headline A 1.0, bylines B 0.4, tags C 0.3, summary
  // and body D 0.1, plus the summary's own words at 0.1: see relevance in its articles repository), so there the order
  // is ts_rank's over the query's words, common word included, straight from the index
  const algorithm = dialect === 'sqlite' ? 'bm25' : 'ts_rank'
  let expected: { headline: string, rank: number }[]
  if (dialect === 'sqlite') {
    const db = new Database(path.join(ctx.dataDir, 'cms.sqlite'), { readonly: true })
    expected = db.prepare(`select a.headline, bm25(articles_fts, 10.0, 2.0, 1.0, 3.0, 4.0) as rank
      from articles_fts join article_search s on s.doc = articles_fts.rowid join articles a on a.id = s.article_id
      where articles_fts match '"harbin" "zircon"' order by rank`).all() as { headline: string, rank: number }[]
    db.close()
  } else {
    // (ranked as any of the words, among the articles with all of them: see relevance)
    expected = await onPostgres(ctx, async (db) => (await db.query(`select a.headline,
        -(ts_rank('{0.1, 0.3, 0.4, 1.0}', s.document, q, 1) + 0.1 * coalesce(ts_rank(s.summary_document, q, 1), 0))::float8 as rank
      from article_search s join articles a on a.id = s.article_id cross join (select $1::tsquery as q, $2::tsquery as every) query
      where s.document @@ every order by rank`, ["'harbin' | 'zircon'", "'harbin' & 'zircon'"])).rows)
  }
  t.equal(expected.length, 6, 'six articles hold both words')
  t.ok(expected.every((e, i) => i === 0 || e.rank - expected[i - 1]!.rank > 1e-4), `no two of them score alike, so the order is ${algorithm}'s alone: ${JSON.stringify(expected)}`)

  const weighed = () => ctx.statements.filter((s) => s.sql.includes('bm25(')).map((s) => s.params.find((x) => typeof x === 'string' && x.startsWith('"')))
  ctx.statements.length = 0
  t.same(await ranked(t, ctx, 'q=harbin%20zircon', 'anon'), expected.map((e) => e.headline), `ranked as ${algorithm} ranks the whole query`)
  // SQLite's sampling: a word in most articles is left out of bm25 (PostgreSQL weighs every word: no such statement)
  if (dialect === 'sqlite') t.same(weighed(), ['"zircon"'], 'bm25 weighed "zircon" only: "harbin", in every article, was not counted')
  t.same(heads((await page(t, ctx, 'q=zircon%20harbin&limit=2', 'anon')).data), expected.slice(0, 2).map((e) => e.headline), 'the words in any order; a short page is its first part')
  const first = await page(t, ctx, 'q=harbin%20zircon&limit=4', 'anon')
  const rest = await page(t, ctx, `q=harbin%20zircon&limit=4&cursor=${first.next}`, 'anon')
  t.same([...heads(first.data), ...heads(rest.data)], expected.map((e) => e.headline), 'the cursor pages through the same order')
  t.equal(rest.next, null)

  ctx.statements.length = 0
  t.same(await ranked(t, ctx, 'q=zircon%20seam', 'anon'), ['Mining report'], 'two rarer words: both matched')
  if (dialect === 'sqlite') t.same(weighed(), ['"zircon" "seam"'], 'and both weighed')
  await create(app, '/v1/articles', { headline: 'Harbin news roundup', body: [p('The week.')], status: 'published', publishedAt: '2014-01-01T00:00:00Z' })
  ctx.statements.length = 0
  // on SQLite, words all in most articles are not weighed by bm25: ranked by the fields they are in, then newest. On
  // PostgreSQL ts_rank weighs them as any words: the headline match first all the same, then the body matches, which
  // score alike, in the order of ties on either database: the most recently written first
  const bothWords = ['Harbin news roundup', 'Tagged piece', ...Array.from({ length: 16 }, (_, i) => `Filler ${15 - i}`)]
  t.same(await ranked(t, ctx, 'q=harbin%20news', 'anon'), bothWords,
    'two words in most articles: every article with both, the headline match first (though oldest), then newest first')
  if (dialect === 'sqlite') t.same(weighed(), [], 'nothing rarer to weigh: no bm25 (it would only count them all), the fields they are in rank them')
  const late = new Set(['Long read', 'Short note', 'Tagged piece'])
  t.same(await ranked(t, ctx, `q=harbin%20zircon&publishedAfter=${enc('2015-02-04T00:00:00Z')}`, 'anon'), expected.map((e) => e.headline).filter((h) => late.has(h)), 'filters narrow the same order')

  // within a byline of few articles, which are then looked up one by one: the same order, kept to its articles
  const desk = await create(app, '/v1/bylines', { name: 'City Desk', kind: 'organization' })
  for (const [headline, day] of [['Harbin news, by the desk', '2013-06-01'], ['Desk filler', '2015-04-01'], ['Desk note', '2015-04-02']]) {
    await create(app, '/v1/articles', { headline, body: [p('News from harbin.')], status: 'published', publishedAt: `${day}T00:00:00Z`, bylines: [{ bylineId: desk.id }] })
  }
  const mine = new Set(['Harbin news, by the desk', 'Desk filler', 'Desk note'])
  const everyone = await ranked(t, ctx, 'q=harbin%20news', 'anon')
  // as above: on PostgreSQL the two body matches score alike, and tie the most recently written first
  const desks = ['Harbin news, by the desk', 'Desk note', 'Desk filler']
  t.same(await ranked(t, ctx, `q=harbin%20news&byline=${desk.id}`, 'anon'), desks,
    'two words in most articles by one byline: its articles with both, the headline match first (though oldest), then newest')
  t.same(everyone.filter((h) => mine.has(h)), desks, 'the order of the whole search, kept to the byline')
})

t.test(`the candidate bound: relevance ranks only the newest ${SEARCH_CANDIDATES} matches, so the oldest match (a headline hit among ${SEARCH_CANDIDATES + 3}) is left out unfiltered, and ranked first once a filter narrows the candidates`, async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  const TOTAL = SEARCH_CANDIDATES + 3
  // created first, so the oldest match: the word in its headline, the strongest signal
  const oldest = await create(app, '/v1/articles', {
    headline: 'Pipeline deal signed', body: [p('Archive text.')], tags: ['pipeline-archive'], status: 'published', publishedAt: '2010-01-01T00:00:00Z'
  })
  const ids: string[] = [oldest.id]
  const base = Date.parse('2020-01-01T00:00:00Z')
  for (let i = 1; i < TOTAL; i++) {
    // two more old ones, then the rest newer; all of them have the word only in their body
    const publishedAt = i < 3 ? `2010-01-0${i + 1}T00:00:00Z` : new Date(base + i * 60000).toISOString()
    const a = await create(app, '/v1/articles', { headline: `Story ${i}`, body: [p('An update on the pipeline project.')], status: 'published', publishedAt })
    ids.push(a.id)
  }
  const newest = new Set(ids.slice(TOTAL - SEARCH_CANDIDATES))

  // unfiltered, by relevance: exactly the newest SEARCH_CANDIDATES matches, the oldest (headline) match not among them
  const seen: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const res: { data: any[], next: string | null } = await page(t, ctx, `q=pipeline&limit=100${cursor ? `&cursor=${cursor}` : ''}`, 'anon')
    seen.push(...res.data.map((a: any) => a.id))
    cursor = res.next
  } while (cursor && ++pages < 20)
  t.equal(seen.length, SEARCH_CANDIDATES, `relevance ranks ${SEARCH_CANDIDATES} matches, not all ${TOTAL}`)
  t.equal(new Set(seen).size, SEARCH_CANDIDATES, 'each once')
  t.ok(seen.every((id) => newest.has(id)), `all of them among the newest ${SEARCH_CANDIDATES}`)
  t.notOk(seen.includes(oldest.id), 'the oldest match, though a headline hit, is not in the ranking')

  // a filter that narrows the candidates brings it back, ranked first
  const before = await page(t, ctx, `q=pipeline&publishedBefore=${enc('2011-01-01T00:00:00Z')}`, 'anon')
  t.same(before.data.map((a: any) => a.id).sort(), ids.slice(0, 3).sort(), 'publishedBefore: the three old matches')
  t.equal(before.data[0]?.id, oldest.id, 'publishedBefore: the headline match ranks first')
  t.same(marks(before.data[0]?.snippet ?? ''), ['Pipeline'])
  const tagged = await page(t, ctx, 'q=pipeline&tag=pipeline-archive', 'anon')
  t.same(tagged.data.map((a: any) => a.id), [oldest.id], 'a tag only it has: found')
  const headline = await page(t, ctx, `q=${enc('"pipeline deal"')}`, 'anon')
  t.same(headline.data.map((a: any) => a.id), [oldest.id], 'a query only it matches: found')

  // date sorts are not bounded: every match is there
  const oldestFirst = await page(t, ctx, 'q=pipeline&sort=publishedAt&limit=3', 'anon')
  t.same(oldestFirst.data.map((a: any) => a.id), ids.slice(0, 3), 'sort=publishedAt starts with the oldest matches')
  const newestFirst = await page(t, ctx, 'q=pipeline&sort=-publishedAt&limit=1', 'anon')
  t.same(newestFirst.data.map((a: any) => a.id), [ids[TOTAL - 1]], 'sort=-publishedAt starts with the newest')

  // past 512 articles, whether a word is in most of them is judged from a sample spread over the archive (SQLite: bm25
  // weighs only the rarer words; PostgreSQL has no sampling, ts_rank weighs every word, and runs no bm25 statement)
  for (let i = 0; i < 10; i++) await create(app, '/v1/articles', { headline: `Later ${i}`, body: [p('The pipeline project goes on.')], status: 'published' })
  const weighed = () => ctx.statements.filter((s) => s.sql.includes('bm25(')).map((s) => s.params.find((x) => typeof x === 'string' && x.startsWith('"')))
  ctx.statements.length = 0
  t.same((await page(t, ctx, 'q=pipeline%20deal', 'anon')).data.map((a: any) => a.id), [oldest.id], 'the one article with both words')
  if (dialect === 'sqlite') t.same(weighed(), ['"deal"'], 'weighed by the rare word alone: the sample finds "pipeline" in most articles')
  ctx.statements.length = 0
  const common = (await page(t, ctx, 'q=pipeline%20story', 'anon')).data
  // the candidates are the newest SEARCH_CANDIDATES matches (Story 3 on), every one with "story" in its headline and
  // "pipeline" in its body. SQLite ranks words all in most articles by their fields, then newest; on PostgreSQL ts_rank
  // weighs them as any words, the candidates score alike, and tie the most recently written first: the same order
  t.same(heads(common).slice(0, 3), [`Story ${TOTAL - 1}`, `Story ${TOTAL - 2}`, `Story ${TOTAL - 3}`], 'two words in most articles: headline matches first, newest first')
  if (dialect === 'sqlite') t.same(weighed(), [], 'ranked by the fields they are in, not by bm25')
  ctx.statements.length = 0
  t.same((await page(t, ctx, 'q=pipeline%20archive', 'anon')).data.map((a: any) => a.id), [oldest.id], 'a word in the oldest article only, whose tag holds it')
  if (dialect === 'sqlite') t.same(weighed(), ['"archive"'])

  // a phrase sorted by date: SQLite takes its first matches from the end of the index the sort starts at (see
  // phraseEnds), never a sample of runs of documents (FTS5 walks past a run's end to the phrase's next match); dense
  // there, the page comes from lookups by date; a phrase of the same words in one old article only, from its matches
  await create(app, '/v1/articles', { headline: 'Review', body: [p('The project pipeline review.')], status: 'published', publishedAt: '2009-06-01T00:00:00Z' })
  const sampledRuns = () => ctx.statements.filter((s) => /json_each/.test(s.sql) && /count\(\*\)/.test(s.sql))
  const lookedUpByDate = () => ctx.statements.some((s) => /from \(select \* from "article_search"/.test(s.sql))
  const walked = () => ctx.statements.some((s) => /from articles_fts cross join/.test(s.sql))
  for (const [sort, dense] of [['-publishedAt', ['Later 9', 'Later 8', 'Later 7']], ['publishedAt', ['Story 1', 'Story 2', 'Story 3']]] as const) {
    ctx.statements.length = 0
    t.same(heads((await page(t, ctx, `q=${enc('"pipeline project"')}&sort=${sort}&limit=3`, 'anon')).data), dense, `a phrase in most articles by ${sort}`)
    if (dialect === 'sqlite') {
      t.same(sampledRuns(), [], 'no runs sampled')
      t.ok(lookedUpByDate(), 'the first articles by date looked up')
      t.notOk(walked(), 'and no walk over every match')
    }
    ctx.statements.length = 0
    t.same(heads((await page(t, ctx, `q=${enc('"project pipeline"')}&sort=${sort}`, 'anon')).data), ['Review'], `the same words as a phrase of one old article by ${sort}: found`)
    if (dialect === 'sqlite') {
      t.same(sampledRuns(), [], 'no runs sampled')
      t.notOk(lookedUpByDate(), 'nothing looked up: each lookup would walk on to its one match')
      t.notOk(walked(), 'nor walked again: its first matches from the index\'s end were all of them')
    }
  }
})

t.test('a group of writes adds one segment to the full-text index, whatever triggers its writes fire', async (t) => {
  // segments are FTS5's (SQLite only); on PostgreSQL the group's articles must all be found all the same
  const ctx = await build(t)
  const segments = () => {
    const db = new Database(path.join(ctx.dataDir, 'cms.sqlite'), { readonly: true })
    try { return (db.prepare('select count(distinct segid) as n from articles_fts_idx').get() as any).n as number } finally { db.close() }
  }
  const byline = await create(ctx.app, '/v1/bylines', { name: 'Xinhua', kind: 'agency' })
  const target = await create(ctx.app, '/v1/articles', { headline: 'Rail link opens', status: 'published' })
  await ctx.app.store.mergeSearchIndex()
  if (dialect === 'sqlite') t.equal(segments(), 1)
  // 20 creations queued in one turn commit as one group; each fires triggers (its credits' and tags' copies, its
  // related link's), whose savepoints would make FTS5 write out what it holds if they ran between index entries
  const actor = { keyId: 'test', name: 'test', role: 'editor' as const }
  const made = await Promise.all(Array.from({ length: 20 }, (_, i) => ctx.app.services.articles.create({
    headline: `Harbin trade fair day ${i}`, status: 'published', tags: ['trade', 'harbin'],
    bylines: [{ bylineId: byline.id, role: 'agency' }], related: [{ articleId: target.id }]
  } as any, { actor })))
  t.equal(made.length, 20)
  if (dialect === 'sqlite') t.equal(segments(), 2, 'one more segment for the group, not one per article')
  t.equal((await found(t, ctx, 'q=%22trade%20fair%22')).length, 20, 'and every article is found')
})

t.test('merging the full-text index: writes over time leave many segments; the merge leaves one, and every search answers as before', async (t) => {
  // segments are FTS5's (SQLite only); on PostgreSQL the merge does nothing, and every search must answer as before
  const ctx = await build(t)
  const segments = (table = 'articles_fts') => {
    const db = new Database(path.join(ctx.dataDir, 'cms.sqlite'), { readonly: true })
    try { return (db.prepare(`select count(distinct segid) as n from ${table}_idx`).get() as any).n as number } finally { db.close() }
  }
  // one write at a time: each commit flushes a segment of its own, and FTS5 merges only level by level
  for (let i = 0; i < 12; i++) {
    await create(ctx.app, '/v1/articles', { headline: `Harbin ice festival day ${i}`, status: 'published', body: [p(`Sculptors carve block ${i} of river ice`)] })
  }
  const edited = await create(ctx.app, '/v1/articles', { headline: 'Ferry timetable', status: 'published', body: [p('Boats leave hourly')] })
  await write(t, ctx.app, { method: 'PATCH', url: `/v1/articles/${edited.id}`, payload: { headline: 'Ferry timetable for winter' } })
  const queries = ['q=harbin', 'q=%22river%20ice%22', 'q=sculpt*', 'q=ferry%20winter', 'q=timetable&sort=-publishedAt']
  const before = await Promise.all(queries.map((q) => ranked(t, ctx, q)))
  if (dialect === 'sqlite') t.ok(segments() > 1, `writes one by one left ${segments()} segments`)
  t.same(before.map((r) => r.length), [12, 12, 12, 1, 1], 'the searches find what was written')

  if (dialect === 'sqlite') t.ok(segments('articles_fts_short') > 1, `and ${segments('articles_fts_short')} in the short fields' index`)
  await ctx.app.store.mergeSearchIndex()
  if (dialect === 'sqlite') {
    t.equal(segments(), 1, 'one segment once merged')
    t.equal(segments('articles_fts_short'), 1, 'one in the short fields\' index too')
  }
  t.same(await Promise.all(queries.map((q) => ranked(t, ctx, q))), before, 'every search answers the same, in the same order')
  await assertIndexInStep(t, ctx, 'after the merge')
  await ctx.app.store.mergeSearchIndex()
  if (dialect === 'sqlite') t.equal(segments(), 1, 'merging a merged index does nothing')

  // writes go on while a merge runs: each step is a write of its own through the same queue
  for (let i = 0; i < 6; i++) await create(ctx.app, '/v1/articles', { headline: `Harbin tram line ${i}`, status: 'published' })
  const merging = ctx.app.store.mergeSearchIndex()
  const during = await Promise.all([0, 1, 2].map((i) => create(ctx.app, '/v1/articles', { headline: `Harbin airport gate ${i}`, status: 'published' })))
  await merging
  t.equal(during.length, 3, 'writes made during the merge stood')
  t.equal((await found(t, ctx, 'q=harbin')).length, 21, 'every article written before and during the merge is found')
  await assertIndexInStep(t, ctx, 'after writes during a merge')
})

t.test('phrase and prefix relevance: ranked by the fields the query is in (headline, byline, tags, summary), then newest; a byline or tag, small or large, narrows it to exactly its own matches', async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  const desk = await create(app, '/v1/bylines', { name: 'Gas Deal Desk', kind: 'organization' })
  const small = await create(app, '/v1/bylines', { name: 'Ann Small', kind: 'person' })
  const large = await create(app, '/v1/bylines', { name: 'Lars Large', kind: 'person' })
  const at = (day: number) => `2015-01-${String(day).padStart(2, '0')}T00:00:00Z`
  const art = (headline: string, day: number, extra: Record<string, unknown> = {}) =>
    create(app, '/v1/articles', { headline, status: 'published', publishedAt: at(day), body: [p('Nothing here')], ...extra })
  await art('Gas deal in the headline', 1)
  await art('By the desk', 2, { bylines: [{ bylineId: desk.id }] })
  await art('Tagged', 3, { tags: ['gas deal'] })
  await art('Summarised', 4, { summary: 'A gas deal, in short' })
  await art('Body, older', 5, { body: [p('They signed the gas deal')], bylines: [{ bylineId: small.id }] })
  await art('Body, newer', 6, { body: [p('The gas deal holds')], bylines: [{ bylineId: small.id }], tags: ['energy'] })
  await art('Words apart', 7, { body: [p('A deal on gas')], bylines: [{ bylineId: small.id }] })
  await art('Across paragraphs', 8, { body: [p('We buy gas'), p('Deal or not')] })
  const order = ['Gas deal in the headline', 'By the desk', 'Tagged', 'Summarised', 'Body, newer', 'Body, older']
  t.same(await ranked(t, ctx, `q=${enc('"gas deal"')}`, 'anon'), order, 'headline, byline, tags, summary, then body-only matches newest first')
  t.same(await ranked(t, ctx, `q=${enc('"gas deal"')}&byline=${small.id}`, 'anon'), ['Body, newer', 'Body, older'], 'a small byline: only its articles with the phrase')
  t.same(await ranked(t, ctx, `q=${enc('"gas deal"')}&tag=energy`, 'anon'), ['Body, newer'], 'a small tag: only its articles with the phrase')
  t.same(await ranked(t, ctx, `q=${enc('"gas deal"')}&tag=gas%20deal`, 'anon'), ['Tagged'], 'the tag itself')
  t.same(await ranked(t, ctx, `q=${enc('"gas deal"')}&byline=${small.id}&sort=publishedAt`, 'anon'), ['Body, older', 'Body, newer'], 'a small byline, by date')
  t.same(await ranked(t, ctx, `q=${enc('"gas deal"')}&tag=energy&sort=-updatedAt`, 'anon'), ['Body, newer'], 'a small tag, by date')
  t.same(await ranked(t, ctx, `q=${enc('"gas deal" signed')}`, 'anon'), ['Body, older'], 'a phrase and a word: both must match')
  t.same(await ranked(t, ctx, `q=${enc('"deal gas"')}`, 'anon'), [], 'words in another order are not the phrase')
  t.same(await ranked(t, ctx, 'q=ga*', 'anon'), [...order.slice(0, 4), 'Across paragraphs', 'Words apart', 'Body, newer', 'Body, older'],
    'a prefix ranks the same way: the fields it is found in, then newest')
  await art('Ann on the gas deal', 2, { bylines: [{ bylineId: small.id }] })
  t.same(await ranked(t, ctx, `q=${enc('"gas deal"')}&byline=${small.id}`, 'anon'), ['Ann on the gas deal', 'Body, newer', 'Body, older'],
    'a small byline\'s articles, each looked up in the index, still rank by the fields: the headline first, though oldest')

  // a byline with more articles than are checked one by one (300): the search walks the phrase's matches instead
  const many = Array.from({ length: 310 }, (_, i) => i)
  for (let i = 0; i < many.length; i += 40) {
    await Promise.all(many.slice(i, i + 40).map((n) => art(`Large ${String(n).padStart(3, '0')}`, 10 + (n % 15), {
      bylines: [{ bylineId: large.id }], tags: n % 2 ? ['bulk'] : [], body: [p(n % 3 === 0 ? 'Another gas deal' : 'No such phrase')]
    })))
  }
  const expected = many.filter((n) => n % 3 === 0)
    .sort((a, b) => (10 + (b % 15)) - (10 + (a % 15)) || 0)
    .map((n) => `Large ${String(n).padStart(3, '0')}`)
  /** Every hit of a search, following its cursors, in order. */
  async function every (query: string) {
    const all: string[] = []
    let url: string | null = `/v1/articles?${query}&limit=100`
    while (url) {
      const body: any = (await get(ctx, url, 'anon')).json()
      all.push(...heads(body.data))
      url = body.next ? `/v1/articles?${query}&limit=100&cursor=${body.next}` : null
    }
    return all
  }
  const day = (h: string) => 10 + (Number(h.slice(6)) % 15)
  const found = await every(`q=${enc('"gas deal"')}&byline=${large.id}`)
  t.same(sorted(found), sorted(expected), `a large byline: every one of its ${expected.length} articles with the phrase`)
  t.same(found.map(day), expected.map(day), 'newest first')
  t.same(sorted(await every(`q=${enc('"gas deal"')}&tag=bulk`)), sorted(expected.filter((h) => Number(h.slice(6)) % 2)), 'a large tag: exactly its articles with the phrase')
  for (const sort of ['-publishedAt', 'publishedAt']) {
    const bylined = await every(`q=${enc('"gas deal"')}&byline=${large.id}&sort=${sort}`)
    t.same(sorted(bylined), sorted(expected), `a large byline by ${sort}: the same articles`)
    const tagged = await every(`q=${enc('"gas deal"')}&tag=bulk&sort=${sort}`)
    t.same(sorted(tagged), sorted(expected.filter((h) => Number(h.slice(6)) % 2)), `a small tag (155 articles) by ${sort}: the same articles`)
    const days = tagged.map(day)
    t.same(days, [...days].sort((a, b) => sort === 'publishedAt' ? a - b : b - a), `a small tag by ${sort}: in date order`)
  }
})

t.test('a prefix finds every article holding any word it stands for, beside other terms and filters; on SQLite a prefix of up to 512 words (128 with a byline or tag) is walked as those words, and prefixes of more are a 400', async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  const at = (day: number) => `2016-02-${String(day).padStart(2, '0')}T00:00:00Z`
  const art = (headline: string, day: number, extra: Record<string, unknown> = {}) =>
    create(app, '/v1/articles', { headline, status: 'published', publishedAt: at(day), body: [p('Nothing here')], ...extra })
  // 140 words under `zqa`, 41 of them under `zqa1` (zqa100–zqa140); 520 under `zqc`, 400 under `zqd`; 513 under `zqé`
  const many = Array.from({ length: 140 }, (_, i) => `zqa${String(i + 1).padStart(3, '0')}`)
  await art('Many words', 1, { body: [p(many.join(' '))], tags: ['zq'] })
  await art('More words', 1, { body: [p(Array.from({ length: 520 }, (_, i) => `zqc${i}`).join(' '))] })
  await art('Other words', 1, { body: [p(Array.from({ length: 400 }, (_, i) => `zqd${i}`).join(' '))] })
  await art('Accented words', 1, { body: [p(Array.from({ length: 513 }, (_, i) => `zqé${i}`).join(' '))] })
  await art('In the headline Zqb1', 2)
  await art('In the summary', 3, { summary: 'A ZQB22 deal' })
  await art('In the body', 4, { body: [p('Their zqb3 plan')] })
  await art('Another word', 5, { body: [p('zqbéta deal')] })
  await create(app, '/v1/articles', { headline: 'A draft', status: 'draft', body: [p('zqb4 deal')] })

  const cases: [string, string[], string][] = [
    ['zqa*', ['Many words'], 'a prefix of 140 words'],
    ['zqd*', ['Other words'], 'a prefix of 400 words'],
    ['zqc5* zqd1*', [], 'a prefix of 31 words and one of 111'],
    ['zqc5* zqc*', ['More words'], 'a prefix of 31 words and one of 520 (on SQLite a 400, below)'],
    ['zqa1*', ['Many words'], 'a prefix of 41 words'],
    ['zqa14*', ['Many words'], 'a prefix of one word'],
    ['zqa141*', [], 'a prefix of no word'],
    ['zqb*', ['In the headline Zqb1', 'In the summary', 'Another word', 'In the body'], 'ranked by the fields it is found in, then newest'],
    ['ZQB*', ['In the headline Zqb1', 'In the summary', 'Another word', 'In the body'], 'in any case'],
    ['zqb* deal', ['In the summary', 'Another word'], 'beside a word'],
    ['deal zqb*', ['In the summary', 'Another word'], 'after a word'],
    ['zqb2* zqa1*', [], 'two prefixes, no article with both'],
    ['zqbe* zqb2*', [], 'two prefixes again'],
    ['"zqb22 deal" zqb*', ['In the summary'], 'beside a phrase'],
    ['zqbe*', ['Another word'], 'a word indexed with its accent folded']
  ]
  // a reader's prefixes stand for at most 512 words together on SQLite, where FTS5 would merge every word's entries in
  // the process answering every request (PostgreSQL searches in a process of its own, without that bound)
  const tooBroad = ['zqc*', 'zqc5* zqc*', 'zqd* zqa*', 'zqé*', 'ZQE*', 'zqc* deal', 'deal zqd* zqa*']
  for (const [q, expected, why] of cases) {
    if (dialect === 'sqlite' && tooBroad.includes(q)) continue
    t.same(await ranked(t, ctx, `q=${enc(q)}`, 'anon'), expected, `q=${q}: ${why}`)
  }
  for (const q of tooBroad) {
    for (const sort of ['', '&sort=-publishedAt', '&sort=publishedAt', '&tag=zq']) {
      const res = await get(ctx, `/v1/articles?q=${enc(q)}${sort}`)
      if (dialect === 'postgres') {
        t.equal(res.statusCode, 200, `q=${q}${sort}: PostgreSQL searches it`)
        continue
      }
      const why = problem(t, res, 400, `q=${q}${sort}: more than 512 words`)
      t.match(why, { detail: /more than 512 words of the archive/, errors: [{ path: '/query/q' }] }, `q=${q}${sort}: says why`)
      t.match(why.detail, q.includes(' ') && q !== 'zqc* deal' ? /^The prefixes .* together: add letters to them/ : /^The prefix \S+\* stands for more than 512 words of the archive: add letters to it$/, `q=${q}${sort}: ${why.detail}`)
    }
  }
  t.same(await ranked(t, ctx, `q=${enc('zqd* zqa1*')}`, 'anon'), [], '441 words in all: searched')
  t.same(await ranked(t, ctx, `q=${enc('zqé1*')}`, 'anon'), ['Accented words'], 'a prefix with an accent: 111 words')
  t.same(await ranked(t, ctx, `q=${enc('zqb* deal')}`), ['In the summary', 'Another word', 'A draft'], 'an editor finds the draft too')
  t.same(await ranked(t, ctx, `q=${enc('zqb*')}&publishedBefore=${enc(at(4))}`, 'anon'), ['In the headline Zqb1', 'In the summary'], 'within dates')
  t.same(await ranked(t, ctx, `q=${enc('zqb*')}&sort=publishedAt`, 'anon'), ['In the headline Zqb1', 'In the summary', 'In the body', 'Another word'], 'by date')

  if (dialect === 'sqlite') {
    /** The full-text queries a search ran. */
    const matched = async (q: string, filter = '') => {
      ctx.statements.length = 0
      await page(t, ctx, `q=${enc(q)}${filter}&limit=5`, 'anon')
      return ctx.statements.filter((s) => /articles_fts match/.test(s.sql)).flatMap((s) => s.params.filter((v): v is string => typeof v === 'string' && v.includes('"')))
    }
    t.ok((await matched('zqb* deal')).includes('("zqb1" OR "zqb22" OR "zqb3" OR "zqb4" OR "zqbeta") AND "deal"'),
      'the prefix is walked as its five words (the draft\'s among them: the walk leaves it out, as any match a reader may not see)')
    const forty = await matched('zqa1*')
    t.ok(forty.some((m) => m === `(${many.slice(99).map((w) => `"${w}"`).join(' OR ')})`), 'the 41 words are walked')
    const all = await matched('zqa*')
    t.ok(all.includes(`(${many.map((w) => `"${w}"`).join(' OR ')})`), 'the 140 words are walked')
    const tagged = await matched('zqa*', '&tag=zq')
    t.ok(tagged.includes('"zqa"*') && !tagged.some((m) => m.includes('zqa001')), 'more than 128 words with a tag: the prefix is left to FTS5')
    t.same(await ranked(t, ctx, 'q=zqa*&tag=zq', 'anon'), ['Many words'], 'and finds the article')
    const most = await matched('zqd*')
    t.ok(most.includes(`(${Array.from({ length: 400 }, (_, i) => `zqd${i}`).sort().map((w) => `"${w}"`).join(' OR ')})`), 'the 400 words are walked')
    const both = await matched('zqc5* zqd*', '&tag=zq')
    t.ok(both.some((m) => m.startsWith('("zqc5" OR "zqc50" OR') && m.endsWith(') AND "zqd"*')), 'with a tag, the first prefix\'s 31 words are written out; the next one\'s 400 would pass the bound of 128')
    const bounded = await matched('zqc4* zqa1*', '&tag=zq')
    t.ok(bounded.some((m) => m.startsWith('("zqc4" OR "zqc40" OR') && m.endsWith(') AND "zqa1"*')), 'with a tag, 111 words are written out; 41 more would pass the bound of 128 in all')
  }
})

t.test('a prefix search by date finds its matches however far back they are, past the first thousand articles by date', async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  const old = await create(app, '/v1/articles', { headline: 'From the archive', body: [p('The zqk1 and zqk2 files.')], status: 'published', publishedAt: '2001-01-01T00:00:00Z' })
  const base = Date.parse('2020-01-01T00:00:00Z')
  for (let i = 0; i < 1005; i++) {
    await create(app, '/v1/articles', { headline: `Filler ${i}`, body: [p(i === 1004 ? 'Fillers and zqk3.' : 'Filler text.')], status: 'published', publishedAt: new Date(base + i * 60_000).toISOString() })
  }
  for (const sort of ['-publishedAt', 'publishedAt']) {
    // SQLite: written out as its words, the prefix is matched among the first articles by date in one walk over them
    // (the prefix itself never given to FTS5, which would merge its words' whole entries); the walk over every
    // match when they do not fill the page
    ctx.statements.length = 0
    t.same(heads((await page(t, ctx, `q=fill*&sort=${sort}&limit=3`, 'anon')).data),
      sort === 'publishedAt' ? ['Filler 0', 'Filler 1', 'Filler 2'] : ['Filler 1004', 'Filler 1003', 'Filler 1002'], `fill* by ${sort}: the first by date`)
    if (dialect === 'sqlite') t.notOk(ctx.statements.some((s) => s.params.includes('"fill"*')), 'answered from the first articles by date')
    const found = heads((await page(t, ctx, `q=zqk*&sort=${sort}`, 'anon')).data)
    t.same(found, sort === 'publishedAt' ? [old.headline, 'Filler 1004'] : ['Filler 1004', old.headline], `zqk* by ${sort}: the newest filler and the archive's story, 1,004 articles apart`)
    t.same(heads((await page(t, ctx, `q=zqk*&sort=${sort}&limit=1`, 'anon')).data), found.slice(0, 1), 'a page of one')
  }
  t.same(heads((await page(t, ctx, `q=zqk*%20files&sort=-publishedAt`, 'anon')).data), [old.headline], 'beside a word only it has')
})

t.test('snippets are made from the article text: the best window of the best field, every match marked, as FTS5 matches words', async (t) => {
  const doc = (fields: Partial<SearchDocument>): SearchDocument => ({ headline: '', summary: '', body: '', tags: '', bylines: '', ...fields })
  const snip = (q: string, fields: Partial<SearchDocument>) => snippetsFor(ftsQuery(q))(doc(fields))
  const filler = (n: number, word = 'filler') => Array.from({ length: n }, (_, i) => `${word}${i}`).join(' ')

  t.equal(snip('gas', { headline: 'Gas deal signed' }), '<mark>Gas</mark> deal signed', 'a short field whole, no ellipsis')
  // a snippet is looked for in a field's first 64 Ki characters: what a page of hits costs does not grow with what is stored
  const huge = filler(20000)
  t.ok(huge.length > 65536)
  t.equal(snip('zircon', { body: `${huge} zircon` }), '', 'a match past the first 64 Ki characters is not shown')
  t.equal(snip('zircon', { headline: 'Zircon', body: `${huge} zircon` }), '<mark>Zircon</mark>', 'another field shows it')
  t.match(snip('zircon', { body: `zircon ${huge}` }), /^<mark>zircon<\/mark> filler0 .*…$/, 'a match within it is')
  const cut = `${'x'.repeat(65535)}😀 zircon`
  t.equal(snip('zircon', { body: `${'a '.repeat(32760)}zircon ${cut}` }).endsWith('…'), true, 'a window at the cut says there is more')
  t.equal(snip('"gas deal"', { headline: 'The gas  deal, signed' }), 'The <mark>gas  deal</mark>, signed', 'a phrase is one mark, as written')
  t.equal(snip('gas "gas deal"', { headline: 'A gas deal' }), 'A <mark>gas deal</mark>', 'two terms over the same words: one mark')
  t.equal(snip('heilongjia*', { headline: 'Heilongjiang floods' }), '<mark>Heilongjiang</mark> floods', 'a prefix marks the whole word')
  t.equal(snip('cafe istanbul', { headline: 'Café in İstanbul' }), '<mark>Café</mark> in <mark>İstanbul</mark>', 'folded matches mark the text as written')
  t.equal(snip('cafe', { headline: 'Cafe\u0301 society' }), '<mark>Café</mark> society', 'decomposed text is shown composed')
  t.equal(snip('gas', { headline: 'Gasoline and gas-fired plants' }), 'Gasoline and <mark>gas</mark>-fired plants', 'a word is matched whole, not inside another')
  t.equal(snip('харбин', { headline: 'Харбин и Россия' }), '<mark>Харбин</mark> и Россия')
  t.equal(snip('<b>', { headline: '<b>bold</b> & "quoted" \'text\'' }), '&#60;<mark>b</mark>&#62;bold&#60;/<mark>b</mark>&#62; &#38; &#34;quoted&#34; &#39;text&#39;', 'text is escaped, marks are the only markup')
  t.equal(snip('c++ a.b', { headline: 'C++ and a.b' }), '<mark>C</mark>++ and <mark>a.b</mark>', 'regular-expression characters in the query are text')
  // in the body, an extract of one block: a block before or after it is an elision
  t.equal(snip('prices', { body: 'Prices of gas \uE002 Deal or no deal' }), '<mark>Prices</mark> of gas…', 'the first block, and more after it')
  t.equal(snip('exposition', { body: 'Harbin at night \uE002 The exposition opened' }), '…The <mark>exposition</mark> opened', 'a caption does not run on into the paragraph after it')
  t.equal(snip('exposition', { body: ' \uE002 The exposition opened \uE002 ' }), 'The <mark>exposition</mark> opened', 'empty blocks (a photo without a caption) are no elision')
  t.equal(snip('gas deal', { body: 'Prices of gas \uE002 Deal or no deal, said the minister' }), '…<mark>Deal</mark> or no <mark>deal</mark>, said the minister',
    'the block with the most matches, not a window across two')
  t.equal(snip('gas deal', { body: `${filler(20)} gas \uE002 deal ${filler(20, 'after')}` }).match(/<mark>/g)?.length, 1, 'a window never takes in two blocks')
  t.equal(snip('minister', { body: 'We will sign it \uE002 The minister \uE002 Said on Monday' }), '…The <mark>minister</mark>…', 'a quote\'s attribution on its own')
  // the lead photo's caption is the body's first block to the index, and shown above the story, not in its flow
  const lead = (q: string, body: string) => snippetsFor(ftsQuery(q))(doc({ body }), true)
  t.equal(lead('exposition', 'Harbin at night \uE002 The exposition opened \uE002 Crowds came'), 'The <mark>exposition</mark> opened…', 'the first paragraph after a lead caption has nothing before it')
  t.equal(lead('night', 'Harbin at night \uE002 The exposition opened'), 'Harbin at <mark>night</mark>', 'the lead caption is whole')
  t.equal(lead('crowds', 'Harbin at night \uE002 The exposition opened \uE002 Crowds came'), '…<mark>Crowds</mark> came', 'a later paragraph has the first before it')
  t.equal(lead('exposition', ' \uE002 The exposition opened \uE002 Crowds came'), 'The <mark>exposition</mark> opened…', 'a lead photo without a caption')

  const long = `${filler(40)} the zeppelin lands. ${filler(40, 'after')}`
  const middle = snip('zeppelin', { body: long })
  t.match(middle, /^…filler\d+ .*<mark>zeppelin<\/mark> lands\. after\d+.*…$/, `a window around the match, elided both sides: ${middle}`)
  t.equal(middle.replace(/<\/?mark>|…/g, '').split(' ').length, 16, 'sixteen words')
  t.match(snip('filler0', { body: long }), /^<mark>filler0<\/mark> filler1 .*…$/, 'at the start: no leading ellipsis')
  t.match(snip('after39', { body: long }), /^….* <mark>after39<\/mark>$/, 'at the end: no trailing ellipsis')
  const both = snip('zeppelin lands', { body: `zeppelin ${filler(30)} lands ${filler(30, 'more')} zeppelin lands here` })
  t.match(both, /<mark>zeppelin<\/mark> <mark>lands<\/mark> here$/, `the window with both terms, not the first match: ${both}`)
  t.equal(snip('gas', { headline: 'Gas', body: 'The gas' }), '<mark>Gas</mark>', 'as many matches: the first field')
  t.equal(snip('gas', { headline: 'Gas', body: 'gas, gas' }), '<mark>gas</mark>, <mark>gas</mark>', 'more matches win')
  t.equal(snip('gas harbin', { headline: 'Gas', body: 'Harbin gas' }), '<mark>Harbin</mark> <mark>gas</mark>', 'a field with more of the terms wins')
  t.equal(snip('xinhua', { headline: 'Story', tags: 'a \uE002 b', bylines: 'Xinhua \uE002 Li Wei' }), '<mark>Xinhua</mark>, Li Wei', 'byline names, parted by commas')
  t.equal(snip('energy', { tags: 'natural gas \uE002 energy \uE002 deal making' }), 'natural gas, <mark>energy</mark>, deal making', 'tags, parted by commas')
  const names = Array.from({ length: 12 }, (_, i) => `Reporter Number${i} Smith`).join(' \uE002 ')
  for (const q of ['number1*', 'smith', 'number5']) {
    const made = snip(q, { bylines: names })
    t.match(made, /<mark>/, `${q}: marked`)
    t.notMatch(made, /^…?,|,…?$|, …|…,/, `${q}: no comma against the ellipsis or an end: ${made}`)
  }
  // a "word" thousands of characters long (a pasted URL, a base64 run) does not make a snippet as long
  const longWords = snip('cloudberry', { body: `${'a'.repeat(3000)} cloudberry ${'b'.repeat(3000)}` })
  t.equal(longWords, `…${'a'.repeat(159)} <mark>cloudberry</mark> ${'b'.repeat(159)}…`, 'at most 160 characters either side')
  const between = snip('cloud berry', { headline: `cloud ${'x'.repeat(1000)} berry` })
  t.equal(between, `<mark>cloud</mark> ${'x'.repeat(79)}…${'x'.repeat(79)} <mark>berry</mark>`, 'and between two marks')
  t.match(snip('abc*', { body: `abc${'d'.repeat(5000)}` }), /^<mark>abcd{77}…d{80}<\/mark>$/, 'and in a mark')
  t.equal(snip('smile', { body: `${'😀'.repeat(200)} smile` }), `…${'😀'.repeat(79)} <mark>smile</mark>`, 'never half a character')
  t.equal(snip('zeppelin', { body: 'Drei Donaudampfschifffahrtsgesellschaftskapitäne und Rinderkennzeichnungsüberwachungsbehörden sahen den Zeppelin über Friedrichshafen' }),
    'Drei Donaudampfschifffahrtsgesellschaftskapitäne und Rinderkennzeichnungsüberwachungsbehörden sahen den <mark>Zeppelin</mark> über Friedrichshafen', 'long words of real text are shown whole')
  t.equal(snip('zzz', { headline: 'nothing here' }), '', 'no match, no snippet')

  // every document FTS5 finds has its match marked: the same texts and queries through an FTS5 table with the
  // index's tokenizer, the texts folded as the service indexes them, and through the snippet maker (which gets the
  // texts as written)
  const db = new Database(':memory:')
  db.exec("create virtual table f using fts5(headline, summary, body, tags, bylines, tokenize = 'unicode61 remove_diacritics 2')")
  const texts = [
    'Gas deal signed in Harbin', 'Café culture: ZÜRICH bankers meet', 'Cafe\u0301 au lait, e\u0301tude', 'Straße und Fußball',
    'İstanbul and ISTANBUL', 'Харбин и Россия', 'Ελλάδα εκλογές', '哈尔滨与俄罗斯 经贸', 'AT&T said "gas" prices rose <sharply>',
    'The co-operation pact (2014) — signed', 'ﬁne ligatures and ½ measures', 'x\u0323y tokens', 'Heilongjiang floods recede',
    `${filler(50)} pipeline deal ${filler(50)}`, 'numbers 3.14 and 2,000 people', 'O\'Brien’s “quoted” remarks', 'ΟΔΟΣ ΚΑΙ οδός',
    'emoji 🙂 between 𠀀words', 'Ἀρχὴ τῆς ἑορτῆς', 'Ёлка и мой город'
  ]
  const insert = db.prepare('insert into f (rowid, headline, body) values (?, ?, ?)')
  texts.forEach((text, i) => insert.run(i + 1, folded(text.split(' ')[0]!), folded(text)))
  const queries = ['gas', 'cafe', 'CAFÉ', 'etude', 'zurich', 'straße', 'istanbul', 'харбин', 'ελλάδα', '哈尔滨与俄罗斯', '哈尔*',
    'at&t', '"gas prices"', 'co-operation', 'co*', '2014', 'ﬁne', '½', 'xy', 'heilong*', '"pipeline deal"', 'pip* deal', '3.14', '2,000',
    "o'brien", 'brien’s', 'quoted', 'signed', 'si*', 'οδοσ', 'οδος', 'ΟΔΟΣ', 'between', '𠀀words', 'emoji between',
    'ελλαδα', 'αρχη', '"της εορτης"', 'ἑορτῆς', 'елка', 'ЁЛКА', 'мой']
  for (const q of queries) {
    const match = ftsQuery(q)
    const hits = db.prepare('select rowid from f where f match ?').all(match) as { rowid: number }[]
    t.ok(hits.length > 0, `${q}: FTS5 finds something (else the check is vacuous)`)
    for (const hit of hits) {
      const text = texts[hit.rowid - 1]!
      const made = snippetsFor(match)(doc({ headline: text.split(' ')[0], body: text }))
      t.match(made, /<mark>[^<]+<\/mark>/, `${q} in ${JSON.stringify(text)}: marked in ${made}`)
    }
  }
})

t.test('a snippet costs time in proportion to the text, whatever is typed', async (t) => {
  // hostile queries and texts: many terms, long words, every match in a long body; none may take quadratic time
  const body = Array.from({ length: 20000 }, (_, i) => (i % 2 ? 'gas' : 'deal')).join(' ')
  const q = Array.from({ length: 32 }, (_, i) => (i % 2 ? 'gas' : `"deal gas ${'a'.repeat(i)}"`)).join(' ')
  const made = snippetsFor(ftsQuery(q))({ headline: '', summary: '', body, tags: '', bylines: '' })
  t.match(made, /<mark>/, 'a window of a 20,000-word body')
  const long = snippetsFor(ftsQuery(`${'x'.repeat(5000)}*`))({ headline: 'x'.repeat(100000), summary: '', body: '', tags: '', bylines: '' })
  t.equal(long, `<mark>${'x'.repeat(80)}…${'x'.repeat(80)}</mark>…`, 'a word longer than the part looked at: marked, its middle elided')
})

t.test('photo captions are searched as shown: the lead photo\'s and each body photo\'s (override or own); a caption edit reindexes the articles showing it; npm run search:reindex rewrites every entry', async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  const kingfisher = await upload(app, { caption: 'Kingfisher at dawn', credit: 'Xinhua' })
  const heron = await upload(app, { caption: 'Heron in the mist', credit: 'Xinhua' })
  const shown = await create(app, '/v1/articles', {
    headline: 'Wetland birds', leadPhotoId: heron.id, body: [p('Spring on the river.'), { type: 'photo', photoId: kingfisher.id }],
    status: 'published', publishedAt: '2015-04-01T00:00:00Z'
  })
  await create(app, '/v1/articles', {
    headline: 'Overridden', body: [{ type: 'photo', photoId: kingfisher.id, caption: 'A blue bird by the water' }], status: 'published', publishedAt: '2015-04-02T00:00:00Z'
  })
  t.same(await found(t, ctx, 'q=kingfisher', 'anon'), ['Wetland birds'], 'a body photo\'s own caption; not where an override replaces it')
  t.same(await found(t, ctx, 'q=heron', 'anon'), ['Wetland birds'], 'the lead photo\'s caption')
  t.same(await found(t, ctx, `q=${enc('"blue bird"')}`, 'anon'), ['Overridden'], 'an override')
  t.same(await found(t, ctx, `q=${enc('"river kingfisher"')}`, 'anon'), [], 'a caption is a block of its own: no phrase across it and the paragraph before')
  t.same(marks((await page(t, ctx, 'q=kingfisher', 'anon')).data[0]?.snippet ?? ''), ['Kingfisher'], 'the snippet shows the caption')
  t.equal((await page(t, ctx, 'q=spring', 'anon')).data[0]?.snippet, '<mark>Spring</mark> on the river.…', 'the first paragraph: the lead photo\'s caption is not before it')
  t.equal((await page(t, ctx, 'q=heron', 'anon')).data[0]?.snippet, '<mark>Heron</mark> in the mist', 'the lead photo\'s caption, whole')

  const patched = await app.inject({ method: 'PATCH', url: `/v1/photos/${kingfisher.id}`, payload: { caption: 'Osprey over the reeds' } })
  t.equal(patched.statusCode, 200, patched.body)
  t.same(await found(t, ctx, 'q=osprey', 'anon'), ['Wetland birds'], 'a new caption is found at once')
  t.same(await found(t, ctx, 'q=kingfisher', 'anon'), [], 'the old one no more')
  t.same(await found(t, ctx, `q=${enc('"blue bird"')}`, 'anon'), ['Overridden'], 'the override stands')
  await assertIndexInStep(t, ctx, 'after a caption edit')

  // an index written before captions were indexed (or damaged): the command writes every entry again
  if (dialect === 'sqlite') {
    const db = new Database(path.join(ctx.dataDir, 'cms.sqlite'))
    const doc = db.prepare('select doc from article_search where article_id = ?').pluck().get(shown.id)
    db.prepare('delete from articles_fts where rowid = ?').run(doc)
    db.prepare("insert into articles_fts (rowid, headline, summary, body, tags, bylines) values (?, 'wetland birds', '', 'stale', '', '')").run(doc)
    db.close()
  } else {
    // the same stale entry as the search row's document (headline A, summary and body D, tags C, bylines B)
    const stale = tsvectorOf([['wetland birds', 'A'], ['', 'D'], ['stale', 'D'], ['', 'C'], ['', 'B']])
    const updated = await onPostgres(ctx, (db) => db.query("update article_search set document = $2::tsvector, summary_document = ''::tsvector where article_id = $1", [shown.id, stale]))
    t.equal(updated.rowCount, 1, 'the stale entry is written over the article\'s search row')
  }
  t.same(await found(t, ctx, 'q=osprey', 'anon'), [], 'a stale entry misses the caption')
  const run = await cli(ctx.dataDir, ['reindex-search'])
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, /Done: 2 articles reindexed/, run.stdout)
  t.same(await found(t, ctx, 'q=osprey', 'anon'), ['Wetland birds'], 'found again after npm run search:reindex, with the server running')
  t.same(await found(t, ctx, 'q=spring', 'anon'), ['Wetland birds'])
  await assertIndexInStep(t, ctx, 'after the reindex')
  // a mistyped DATA_DIR is not a new, empty database to reindex
  const nowhere = path.join(ctx.dataDir, 'no-such-folder')
  const missed = await cli(nowhere, ['reindex-search'])
  t.equal(missed.code, 1)
  t.match(missed.stderr, /^No database at .*no-such-folder\/cms\.sqlite: set DATA_DIR \(or DATABASE_URL\) as the server has it/)
  t.notOk(fs.existsSync(nowhere), 'and none was made')
})

// SQLite only: migration 0012 of SQLite's FTS5 index (PostgreSQL's index never kept a copy of the text)
t.test('upgrading a database whose full-text index kept its own copy of the text: the entries are carried over, found as before, and no text is kept', sqliteOnly, async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  const lanterns = await create(app, '/v1/articles', {
    headline: 'Heilongjiang ice lanterns', summary: 'Carvers at work', body: [p('Sculptors cut the zircon blocks at dawn.')],
    tags: ['Winter'], status: 'published', publishedAt: '2014-07-01T00:00:00Z'
  })
  await create(app, '/v1/articles', { headline: 'Draft about lanterns', body: [p('Not yet.')] })
  await indexAsBefore0012(ctx.dataDir)
  const db = new Database(path.join(ctx.dataDir, 'cms.sqlite'))
  t.teardown(() => db.close())
  t.equal(db.prepare("select count(*) from articles_fts where body like '%zircon%'").pluck().get(), 1, 'before: the index keeps a copy of each text')
  forgetMigrationsFrom(db, '0012_')

  const upgraded = await buildApp({ config: loadConfig({ DATA_DIR: ctx.dataDir, RATE_LIMIT_ANONYMOUS: '100000', RATE_LIMIT_KEY: '100000' }) })
  t.teardown(() => upgraded.close())
  await upgraded.ready()
  const raw = upgraded.inject.bind(upgraded)
  upgraded.inject = ((o: InjectOptions) => raw({ ...o, headers: { authorization: `Bearer ${ctx.keys.editor}`, ...o.headers } })) as App['inject']
  const after: TestApp = { ...ctx, app: upgraded, anon: (o: InjectOptions) => raw(o) as Promise<Response> }

  t.match(db.prepare("select sql from sqlite_master where name = 'articles_fts'").pluck().get(), /content = '', contentless_delete = 1/, 'the index keeps no text')
  t.same(db.prepare('select count(*) as n, count(body) as texts from articles_fts').get(), { n: 2, texts: 0 }, 'every entry carried over, none with a copy of its text')
  t.same(db.prepare("select count(*) from sqlite_master where name like 'articles_fts_contentless%'").pluck().get(), 0, 'no table left over from the copy')
  t.same(await found(t, after, 'q=zircon', 'anon'), ['Heilongjiang ice lanterns'], 'a word of the body is found as before')
  t.same(await found(t, after, 'q=winter', 'anon'), ['Heilongjiang ice lanterns'], 'a tag')
  t.same(await found(t, after, 'q=lanterns', 'anon'), ['Heilongjiang ice lanterns'], 'drafts stay out of anonymous results')
  t.same(await found(t, after, 'q=lanterns'), ['Draft about lanterns', 'Heilongjiang ice lanterns'], 'editors find both')
  t.same(await found(t, after, `q=${enc('"zircon blocks"')}`, 'anon'), ['Heilongjiang ice lanterns'], 'a phrase: word positions carried over')
  t.ok((await page(t, after, 'q=zircon', 'anon')).data[0]?.snippet?.includes('<mark>zircon</mark>'), 'with its snippet marked')
  await assertIndexInStep(t, ctx, 'after the upgrade')

  // writes after the upgrade replace an entry without its old text to hand (FTS5 deletes by rowid)
  const res = await upgraded.inject({ method: 'PATCH', url: `/v1/articles/${lanterns.id}`, payload: { body: [p('Sculptors cut the quartz blocks at dawn.')] } })
  t.equal(res.statusCode, 200, res.body)
  t.same(await found(t, after, 'q=quartz', 'anon'), ['Heilongjiang ice lanterns'], 'the new word is found')
  t.same(await found(t, after, 'q=zircon', 'anon'), [], 'the old one no more')
  t.equal((await upgraded.inject({ method: 'DELETE', url: `/v1/articles/${lanterns.id}` })).statusCode, 204)
  t.same(await found(t, after, 'q=quartz'), [], 'a deleted article leaves the index')
  await assertIndexInStep(t, ctx, 'after an edit and a delete')
})

t.test('a search within dates finds every match in them, whatever order the stories were written in', async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  const story = (headline: string, publishedAt: string | null, text = 'From the coast.') =>
    create(app, '/v1/articles', { headline, body: [p(text)], ...(publishedAt ? { status: 'published', publishedAt } : {}) })
  // written in an order unrelated to their dates, as an import of old stories may be
  await story('Lighthouse keeper retires', '2014-07-01T09:00:00Z')
  const later = await story('Lighthouse turns automatic', '2020-01-01T00:00:00Z')
  await story('Lighthouse museum opens', '2014-07-20T00:00:00Z', 'The keeper shows visitors round.')
  await story('Harbour dredging starts', '2014-07-10T00:00:00Z')
  await story('Lighthouse draft', null)
  const july = `publishedAfter=${enc('2014-07-01T00:00:00Z')}&publishedBefore=${enc('2014-08-01T00:00:00Z')}`

  ctx.statements.length = 0
  t.same(await found(t, ctx, `q=lighthouse&${july}`, 'anon'), ['Lighthouse keeper retires', 'Lighthouse museum opens'], 'both matches of the month, not the story written between them')
  // the span of the month's documents reaches FTS5 as integers: as floating-point numbers (how a JavaScript number
  // is bound) FTS5 ignores rowid bounds and walks down from the newest match
  // (SQLite's statements: PostgreSQL has no FTS5 walk to bound, it filters the search rows' publication time)
  if (dialect === 'sqlite') {
    const walks = ctx.statements.filter((s) => /articles_fts\.rowid between \? and \?/.test(s.sql))
    t.ok(walks.length > 0, 'the walk is bounded by the span')
    for (const w of walks) t.equal(w.params.filter((p) => typeof p === 'bigint').length, 2, 'both bounds are integers')
  }
  t.same(await ranked(t, ctx, `q=lighthouse&${july}&sort=-publishedAt`, 'anon'), ['Lighthouse museum opens', 'Lighthouse keeper retires'], 'newest first')
  t.same(await ranked(t, ctx, `q=lighthouse&${july}&sort=publishedAt`, 'anon'), ['Lighthouse keeper retires', 'Lighthouse museum opens'], 'oldest first')
  t.same(await found(t, ctx, `q=${enc('"lighthouse keeper"')}&${july}`, 'anon'), ['Lighthouse keeper retires'], 'a phrase')
  t.same(await found(t, ctx, `q=keeper&${july}`, 'anon'), ['Lighthouse keeper retires', 'Lighthouse museum opens'], 'a word of the body')
  t.same(await found(t, ctx, `q=light*&${july}`, 'anon'), ['Lighthouse keeper retires', 'Lighthouse museum opens'], 'a prefix')
  t.same(await found(t, ctx, `q=lighthouse&publishedAfter=${enc('2014-07-15T00:00:00Z')}`, 'anon'), ['Lighthouse museum opens', 'Lighthouse turns automatic'], 'an open range')
  t.same(await found(t, ctx, `q=lighthouse&publishedAfter=${enc('2030-01-01T00:00:00Z')}`, 'editor'), [], 'dates no article has: nothing')
  t.same(await found(t, ctx, `q=lighthouse&publishedBefore=${enc('2000-01-01T00:00:00Z')}`, 'editor'), [], 'nor before the first')

  // moved into the month: found there at once
  const moved = await app.inject({ method: 'PATCH', url: `/v1/articles/${later.id}`, payload: { publishedAt: '2014-07-05T00:00:00Z' } })
  t.equal(moved.statusCode, 200, moved.body)
  t.same(await ranked(t, ctx, `q=lighthouse&${july}&sort=publishedAt`, 'anon'), ['Lighthouse keeper retires', 'Lighthouse turns automatic', 'Lighthouse museum opens'], 'a story moved into the dates')
})

t.test('a phrase is found anywhere in a long article: after a word\'s 256th use, past 16,000 words, across a part\'s cut', async (t) => {
  // PostgreSQL's tsvector keeps 256 positions a word and none past 16,383: a long article's phrases are kept in parts
  const ctx = await build(t)
  const { app } = ctx
  const out = { status: 'published', publishedAt: '2015-03-01T00:00:00Z' }
  await create(app, '/v1/articles', { headline: 'Many repeats', body: [p(`${'The ministers met again in the capital. '.repeat(140)}Finally the summit of leaders ended.`)], ...out })
  await create(app, '/v1/articles', {
    headline: 'Long transcript', ...out,
    body: [...Array.from({ length: 5 }, () => p('alpha beta gamma delta '.repeat(850).trim())), p('Here the platypus hamburger appeared.')]
  })
  // 20,000 different words in 8 paragraphs (a paragraph holds 20,000 characters at most)
  const roll = Array.from({ length: 8 }, (_, k) => p(Array.from({ length: 2500 }, (_, i) => `w${k * 2500 + i}`).join(' ')))
  const unique = await create(app, '/v1/articles', { headline: 'Roll call', body: roll, ...out })
  // "the" every other word: a part ends before its 256th "the" (after c255, and again after c479), the next one repeating the last 64 words
  await create(app, '/v1/articles', { headline: 'Chorus', body: [p(Array.from({ length: 1200 }, (_, i) => `the c${i}`).join(' '))], ...out })
  const expected: [string, string[]][] = [
    ...[...Array.from({ length: 8 }, (_, i) => 255 + i), ...Array.from({ length: 11 }, (_, i) => 474 + i), 1198].map((k): [string, string[]] => [`"c${k} the c${k + 1}"`, ['Chorus']]),
    ['"c300 the c302"', []],
    ['"the summit"', ['Many repeats']],
    ['"capital finally"', ['Many repeats']],
    ['"platypus hamburger"', ['Long transcript']],
    ['"the platypus"', ['Long transcript']],
    ['"delta here"', []], // two paragraphs: no phrase across them
    ['"summit platypus"', []],
    // every pair around the 16,000th position (where the first part ends)
    ...Array.from({ length: 40 }, (_, i): [string, string[]] => [`"w${15980 + i} w${15981 + i}"`, ['Roll call']]),
    ['"w14999 w15000"', []], // two paragraphs
    ['"w19998 w19999"', ['Roll call']],
    ['"w19997 w19998 w19999"', ['Roll call']],
    ['"w16000 w15999"', []],
    ['"w100 w102"', []],
    ['"w19998 w19999" hamburger', []],
    ['"the summit" ministers', ['Many repeats']],
    ['"the summit" "the platypus"', []]
  ]
  for (const [q, headlines] of expected) t.same(await found(t, ctx, `q=${enc(q)}`, 'anon'), headlines, q)
  // written again short: its parts go with the long text
  const patched = await app.inject({ method: 'PATCH', url: `/v1/articles/${unique.id}`, payload: { body: [p('w1 w2')] } })
  t.equal(patched.statusCode, 200, patched.body)
  t.same(await found(t, ctx, `q=${enc('"w19998 w19999"')}`, 'anon'), [], 'a phrase of the text written over')
  t.same(await found(t, ctx, `q=${enc('"w1 w2"')}`, 'anon'), ['Roll call'])
  if (dialect === 'postgres') {
    const parts = await onPostgres(ctx, async (db) => (await db.query('select s.article_id = $1 as rewritten, count(p.part)::int as n from article_search s left join article_search_parts p using (doc) where s.parted or s.article_id = $1 group by 1 order by 1', [unique.id])).rows)
    t.same(parts.map((r: { rewritten: boolean, n: number }) => [r.rewritten, r.n > 1]), [[false, true], [true, false]], 'the long articles left have their parts, the one written short none')
    t.equal(parts[1].n, 0)
  }
})
