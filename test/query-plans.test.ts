import t from 'tap'
import path from 'node:path'
import Database from 'better-sqlite3'
import { build, create, type TestApp } from './helper.js'

/**
 * The hot read paths use indexes: no full scan of articles and no sort of all matching rows.
 * SQLite plans from the schema and its heuristics (no ANALYZE statistics are kept), so the plan chosen
 * on this small database is the plan it uses at 100,000 articles; bench/ measures the timings.
 */
async function plansOf (ctx: TestApp, url: string, anonymous = true) {
  ctx.statements.length = 0
  const res = anonymous ? await ctx.anon({ url }) : await ctx.app.inject({ url })
  if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`)
  const db = new Database(path.join(ctx.dataDir, 'cms.sqlite'), { readonly: true })
  try {
    return ctx.statements
      .filter((s) => /^select/i.test(s.sql.trim()) && /"articles"|"article_search"|articles_fts_short/.test(s.sql))
      .map((s) => ({
        sql: s.sql,
        plan: db.prepare(`explain query plan ${s.sql}`).all(...s.params.map((p) => p instanceof Date ? p.getTime() : p) as unknown[])
          .map((r: any) => r.detail as string)
      }))
  } finally {
    db.close()
  }
}

t.test('hot paths are served by indexes', async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  const root = await create(app, '/v1/sections', { name: 'News' })
  const leaf = await create(app, '/v1/sections', { name: 'Harbin', parentId: root.id })
  const byline = await create(app, '/v1/bylines', { name: 'Xinhua', kind: 'agency' })
  const a = await create(app, '/v1/articles', {
    headline: 'Gas deal signed', status: 'published', sectionId: leaf.id, tags: ['energy'], bylines: [{ bylineId: byline.id }]
  })
  await create(app, '/v1/articles', { headline: 'Draft', sectionId: leaf.id })
  // "harbin" in most articles: a search with it and a rarer word ranks by the rarer one (see rankedMatches)
  for (let i = 0; i < 4; i++) await create(app, '/v1/articles', { headline: `Harbin news ${i}`, status: 'published', sectionId: leaf.id })
  // a correspondent's two stories far apart in the index (more than 50 documents between them per story)
  const correspondent = await create(app, '/v1/bylines', { name: 'Ann Far', kind: 'person' })
  const filed = (headline: string) => create(app, '/v1/articles', { headline, status: 'published', bylines: [{ bylineId: correspondent.id }] })
  await filed('Gas deal in Harbin, the first')
  for (let i = 0; i < 200; i += 20) await Promise.all(Array.from({ length: 20 }, (_, j) => create(app, '/v1/articles', { headline: `Harbin filler ${i + j}`, status: 'published' })))
  await filed('Gas deal in Harbin, the second')

  const paths = [
    `/v1/articles/slug/${a.slug}`,
    `/v1/articles/${a.id}`,
    '/v1/articles?limit=20',
    `/v1/sections/${leaf.id}/articles`,
    `/v1/sections/${root.id}/articles?descendants=true`,
    `/v1/bylines/${byline.id}/articles`,
    '/v1/articles?tag=energy',
    '/v1/articles?q=gas',
    '/v1/articles?q=gas&sort=-publishedAt',
    '/v1/articles?q=harbin%20gas',
    `/v1/articles?q=gas&section=${leaf.id}`,
    `/v1/articles?q=gas*&byline=${byline.id}`,
    `/v1/articles?q=%22gas%20deal%22&byline=${byline.id}`,
    `/v1/articles?q=%22gas%20deal%22&byline=${correspondent.id}`,
    `/v1/articles?q=gas&byline=${correspondent.id}`,
    `/v1/articles?q=harbin&byline=${correspondent.id}`,
    // the phrase's three articles are as far apart, but its matches are few wherever they are: walked
    '/v1/articles?q=%22gas%20deal%22',
    // a few weeks' documents: listed, and the walk kept to the span of their numbers
    `/v1/articles?q=gas&publishedAfter=${encodeURIComponent('2020-01-01T00:00:00Z')}&publishedBefore=${encodeURIComponent('2099-01-01T00:00:00Z')}`,
    `/v1/articles?q=gas&sort=-publishedAt&publishedAfter=${encodeURIComponent('2020-01-01T00:00:00Z')}`,
    // words in most articles, by date: the articles walked by publication time, each looked up in the index
    '/v1/articles?q=harbin&sort=-publishedAt',
    '/v1/articles?q=harbin&sort=publishedAt',
    `/v1/articles?sort=-updatedAt&updatedSince=${encodeURIComponent('2020-01-01T00:00:00Z')}`,
    // readers' photo list: each photo's use looked up by its index, the articles by their key
    '/v1/photos?limit=20'
  ]
  let sampled = false
  let weighed = 0
  let spanned = 0
  let byDate = 0
  for (const url of paths) {
    const plans = await plansOf(ctx, url)
    t.ok(plans.length > 0, `${url}: statements captured`)
    for (const { sql, plan } of plans) {
      const text = plan.join(' | ')
      t.notMatch(text, /SCAN articles\b(?! USING)/, `${url}: no full scan of articles — ${text}`)
      if (url.startsWith('/v1/photos')) {
        t.match(text, /SEARCH article_photos USING (COVERING )?INDEX article_photos_photo_idx \(photo_id=\?\) \| SEARCH articles USING INDEX sqlite_autoindex_articles_1 \(id=\?\)/,
          `${url}: a photo's use is found from the photo, not by walking the published articles — ${text}`)
      }
      if (/order by/i.test(sql) && /limit/i.test(sql) && !/articles_fts/.test(sql)) {
        t.notMatch(text, /TEMP B-TREE FOR ORDER BY/, `${url}: rows come in index order, no sort — ${text}`)
      }
      if (/json_each/.test(sql) && /articles_fts match/i.test(sql)) {
        // the sample of a word's share of the articles: each run a seek into the word's entry by rowid range,
        // and the documents in it counted from a range of search rows
        t.match(text, /SCAN articles_fts VIRTUAL TABLE INDEX \d+:M\d*></, `${url}: the sample seeks the word's entry to each run — ${text}`)
        t.match(text, /SEARCH article_search USING INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)/, `${url}: and counts its documents by range — ${text}`)
        sampled = true
      } else if (/from \(select \* from "article_search"/.test(sql)) {
        t.match(text, /SEARCH article_search USING INDEX article_search_published_idx.*SCAN articles_fts VIRTUAL TABLE INDEX \d+:=M/,
          `${url}: the articles by publication time, each looked up in the index — ${text}`)
        byDate++
      } else if (/articles_fts match/i.test(sql) && /article_search/.test(sql)) {
        // a search walks the index's matches and reads each one's filter columns by its rowid: no join to
        // articles, and the walk is not replaced by a scan of the search rows
        // (a byline's few articles are each looked up in the index: its rows are listed between the two)
        t.match(text, /SCAN articles_fts VIRTUAL TABLE[^|]*(\| LIST SUBQUERY.*)?\| SEARCH article_search USING INTEGER PRIMARY KEY/,
          `${url}: the full-text index drives, one lookup per match — ${text}`)
        t.notMatch(text, /SCAN article_search|\barticles\b/, `${url}: nothing else walked or joined — ${text}`)
        if (/%22&byline=|q=harbin&byline=/.test(url)) {
          // a phrase, or words in most articles, within a byline of few articles: each of them looked up
          t.match(text, /SCAN articles_fts VIRTUAL TABLE INDEX \d+:=M/, `${url}: the byline's articles are looked up one by one — ${text}`)
        } else if (/&publishedAfter=/.test(url)) {
          t.match(text, /SCAN articles_fts VIRTUAL TABLE INDEX \d+:M\d*>< \| LIST SUBQUERY.*CREATE BLOOM FILTER \| SEARCH article_search USING INTEGER PRIMARY KEY/,
            `${url}: the walk kept to the dates' span of documents, each match checked against them first — ${text}`)
          spanned++
        } else if (/&(section|byline|tag)=/.test(url)) {
          // a section's, byline's or tag's few articles are listed once as a set of documents, each match
          // checked against it before its search row is read (see listedDocs)
          t.match(text, /SCAN articles_fts VIRTUAL TABLE INDEX \d+:M\d* \| LIST SUBQUERY.*CREATE BLOOM FILTER \| SEARCH article_search USING INTEGER PRIMARY KEY/,
            `${url}: the filter's documents are listed and checked first — ${text}`)
        }
      } else if (/min\(doc\)/.test(sql)) {
        t.match(text, /SEARCH article_search USING COVERING INDEX article_search_published_idx/, `${url}: the dates' documents from the index on publication — ${text}`)
      } else if (/articles_fts_short match/i.test(sql)) {
        // the fields the candidates match in: the newest candidates in one walk over their rowid range; looked up
        // one by one, a byline's few articles with a phrase, or a few far apart with a word in most articles
        const spread = url.includes('%22gas%20deal%22&byline=') || url.includes(`q=harbin&byline=${correspondent.id}`)
        t.match(text, spread ? /VIRTUAL TABLE INDEX \d+:=M/ : /VIRTUAL TABLE INDEX \d+:M\d*></, `${url}: candidates found ${spread ? 'one by one' : 'by their range'} — ${text}`)
        weighed++
      }
    }
  }
  t.ok(sampled, 'a search with a word in most articles estimated its share from a sample')
  t.ok(weighed >= 5, 'the fields of candidates were weighed both ways')
  t.equal(spanned, 2, 'both searches within dates walked the span of their documents')
  t.equal(byDate, 2, 'both searches of words in most articles by date walked the articles by date')
})
