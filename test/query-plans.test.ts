import t from 'tap'
import path from 'node:path'
import Database from 'better-sqlite3'
import { build, create, sqliteOnly, type TestApp } from './helper.js'

/**
 * The planner statistics of the benchmark's database (100,000 articles, 2,000 bylines, 50 sections: `pragma
 * optimize` keeps them in sqlite_stat1 for every database the service opens). SQLite plans from them, and a plan
 * that is right for a few rows can be wrong for many: with 50 sections it read every section for breadcrumbs.
 */
const STATISTICS = [
  ['article_bylines', 'article_bylines_byline_idx', '100000 50 1'],
  ['article_bylines', 'sqlite_autoindex_article_bylines_1', '100000 1 1'],
  ['article_photos', 'article_photos_photo_idx', '100000 10'],
  ['article_photos', 'sqlite_autoindex_article_photos_1', '100000 1 1'],
  ['article_related', 'article_related_position_uq', '299988 3 1'],
  ['article_related', 'article_related_target_idx', '299988 3'],
  ['article_related', 'sqlite_autoindex_article_related_1', '299988 1'],
  ['article_search', 'article_search_article_uq', '100000 1'],
  ['article_search', 'article_search_published_idx', '100000 1'],
  ['article_search', 'article_search_section_idx', '100000 2000'],
  ['article_tags', 'article_tags_tag_idx', '198746 2616 1'],
  ['article_tags', 'sqlite_autoindex_article_tags_1', '198746 2 1'],
  ['articles', 'articles_published_idx', '100000 1 1'],
  ['articles', 'articles_section_published_idx', '100000 2000 1 1'],
  ['articles', 'articles_slug_uq', '100000 1'],
  ['articles', 'articles_status_published_idx', '100000 100000 1 1'],
  ['articles', 'articles_status_updated_idx', '100000 100000 1 1'],
  ['articles', 'articles_updated_idx', '100000 1 1'],
  ['article_search', 'article_search_changed_idx', '100000 1 1'],
  ['article_search', 'article_search_going_live_idx', '10 1'],
  ['articles', 'sqlite_autoindex_articles_1', '100000 1'],
  ['bylines', 'bylines_kind_name_idx', '2000 2000 1 1'],
  ['bylines', 'bylines_name_idx', '2000 1 1'],
  ['bylines', 'bylines_photo_idx', '2000 2000'],
  ['bylines', 'bylines_slug_uq', '2000 1'],
  ['bylines', 'sqlite_autoindex_bylines_1', '2000 1'],
  ['photos', 'photos_created_idx', '10000 10000 1'],
  ['photos', 'photos_storage_key_idx', '10000 1'],
  ['photos', 'sqlite_autoindex_photos_1', '10000 1'],
  ['sections', 'sections_parent_position_idx', '50 9 1 1'],
  ['sections', 'sections_slug_uq', '50 1'],
  ['sections', 'sqlite_autoindex_sections_1', '50 1']
]

/** A copy of the test's database, in memory, that plans as the benchmark's does (see STATISTICS). */
function plannedAtScale (file: string) {
  const source = new Database(file, { readonly: true })
  const image = source.serialize()
  source.close()
  // the file format's read and write versions: WAL (2) cannot open in memory, the rollback journal (1) can
  image[18] = image[19] = 1
  const db = new Database(image)
  db.exec('analyze; delete from sqlite_stat1; delete from sqlite_stat4')
  const insert = db.prepare('insert into sqlite_stat1 (tbl, idx, stat) values (?, ?, ?)')
  for (const row of STATISTICS) insert.run(...row)
  // the planner reads the statistics tables again
  db.exec('analyze sqlite_schema')
  return db
}

/**
 * The hot read paths use indexes: no full scan of articles and no sort of all matching rows, planned with the
 * statistics of 100,000 articles; bench/ measures the timings.
 */
async function plansOf (ctx: TestApp, url: string, anonymous = true) {
  ctx.statements.length = 0
  const res = anonymous ? await ctx.anon({ url }) : await ctx.app.inject({ url })
  if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`)
  const db = plannedAtScale(path.join(ctx.dataDir, 'cms.sqlite'))
  try {
    return ctx.statements
      .filter((s) => /^select/i.test(s.sql.trim()) && /"articles"|"article_search"|articles_fts_short|"sections"/.test(s.sql))
      .map((s) => ({
        sql: s.sql,
        plan: db.prepare(`explain query plan ${s.sql}`).all(...s.params.map((p) => p instanceof Date ? p.getTime() : p) as unknown[])
          .map((r: any) => r.detail as string)
      }))
  } finally {
    db.close()
  }
}

// SQLite's EXPLAIN QUERY PLAN, with SQLite's planner statistics: PostgreSQL plans otherwise
t.test('hot paths are served by indexes', sqliteOnly, async (t) => {
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
  // and one with a phrase the fillers make, so its matches are dense at the newest end of the index (see phraseEnds)
  await filed('Harbin filler, filed by Ann')

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
    `/v1/articles?q=%22harbin%20filler%22&byline=${correspondent.id}`,
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
    // what changed since: readers' and editors' (a copy kept elsewhere following the archive)
    `/v1/articles?sort=changedAt&changedSince=${encodeURIComponent('2020-01-01T00:00:00Z')}`,
    `/v1/articles?sort=-changedAt&changedSince=${encodeURIComponent('2020-01-01T00:00:00Z')}&section=${leaf.id}`,
    `/v1/articles?sort=changedAt&changedSince=${encodeURIComponent('2020-01-01T00:00:00Z')}&byline=${byline.id}`,
    // readers' photo list: each photo's use looked up by its index, the articles by their key
    '/v1/photos?limit=20'
  ]
  let sampled = false
  let weighed = 0
  let spanned = 0
  let byDate = 0
  let severalSections = 0
  let credited = 0
  for (const url of paths) {
    const plans = await plansOf(ctx, url)
    t.ok(plans.length > 0, `${url}: statements captured`)
    for (const { sql, plan } of plans) {
      const text = plan.join(' | ')
      t.notMatch(text, /SCAN articles\b(?! USING)/, `${url}: no full scan of articles — ${text}`)
      // breadcrumbs and subsections: each section found by its key or its parent, not by reading them all
      t.notMatch(text, /SCAN (sections|s)\b(?! USING)/, `${url}: no scan of the sections — ${text}`)
      if (url.startsWith('/v1/photos')) {
        t.match(text, /SEARCH article_photos USING (COVERING )?INDEX article_photos_photo_idx \(photo_id=\?\) \| SEARCH articles USING INDEX sqlite_autoindex_articles_1 \(id=\?\)/,
          `${url}: a photo's use is found from the photo, not by walking the published articles — ${text}`)
      }
      if (url.includes('descendants=true') && /"article_search"/.test(sql)) {
        // a front of several sections: each section's newest from its own range of the search rows' index (SQLite
        // stops each range once it has a page of them), sorted together; no article read but the page's
        t.match(text, /^SEARCH article_search USING COVERING INDEX article_search_section_published_idx \(section_id=\? AND status=\? AND published_at<\?\) \| USE TEMP B-TREE FOR ORDER BY$/,
          `${url}: each section's newest from the index — ${text}`)
        severalSections++
      } else if (/sort=-?changedAt/.test(url) && /order by/i.test(sql) && /&(section|byline)=/.test(url)) {
        // what changed in a section or of a byline: their articles (a few thousand at most) found by their own
        // index, then sorted by time of change
        t.match(text, /SEARCH (article_search|article_bylines) USING (COVERING )?INDEX (article_search_section_published_idx|article_bylines_byline_published_idx)/, `${url}: the section's or byline's articles — ${text}`)
      } else if (/sort=-?changedAt/.test(url) && /order by/i.test(sql)) {
        t.match(text, /^SEARCH article_search USING INDEX article_search_changed_idx \(changed_at>\?\)$/, `${url}: a walk over the time of change from the given one — ${text}`)
      } else if (/order by/i.test(sql) && /limit/i.test(sql) && !/articles_fts/.test(sql)) {
        t.notMatch(text, /TEMP B-TREE FOR ORDER BY/, `${url}: rows come in index order, no sort — ${text}`)
      }
      if (/^\/v1\/(bylines\/[^/]+\/articles|articles\?tag=)/.test(url) && /order by/i.test(sql)) {
        // a byline's or tag's newest: a walk over its own index, reading only the page's articles
        t.match(text, /^SEARCH (article_bylines|article_tags) USING (COVERING )?INDEX (article_bylines_byline|article_tags_tag)_published_idx \((byline_id|tag)=\? AND status=\? AND published_at<\?\)( \| CORRELATED SCALAR SUBQUERY \d+ \| SEARCH other USING INDEX sqlite_autoindex_article_bylines_1 \(article_id=\? AND position<\?\))? \| SEARCH articles USING INDEX sqlite_autoindex_articles_1 \(id=\?\)$/,
          `${url}: the credits or tags walked in their index's order — ${text}`)
        credited++
      }
      if (/count\(\*\) from json_each/.test(sql) && /articles_fts match/i.test(sql)) {
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
          // a phrase whose matches are dense, or words in most articles, within a byline of few articles: each of
          // them looked up; a rare phrase ("gas deal"), its own few matches (a lookup of an article without it
          // walks on to its next match, see phraseEnds)
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
        const spread = url.includes('%22&byline=') || url.includes(`q=harbin&byline=${correspondent.id}`)
        t.match(text, spread ? /VIRTUAL TABLE INDEX \d+:=M/ : /VIRTUAL TABLE INDEX \d+:M\d*></, `${url}: candidates found ${spread ? 'one by one' : 'by their range'} — ${text}`)
        weighed++
      }
    }
  }
  t.ok(sampled, 'a search with a word in most articles estimated its share from a sample')
  t.ok(weighed >= 5, 'the fields of candidates were weighed both ways')
  t.equal(spanned, 2, 'both searches within dates walked the span of their documents')
  t.equal(byDate, 2, 'both searches of words in most articles by date walked the articles by date')
  t.equal(severalSections, 1, 'the front with its subsections was read from the search rows')
  t.equal(credited, 2, 'the byline archive and the tag list walked their own index')
})

// SQLite's EXPLAIN QUERY PLAN
t.test('the check for scheduled stories gone live, every second, reads only the ones not yet marked', sqliteOnly, async (t) => {
  const ctx = await build(t)
  await create(ctx.app, '/v1/articles', { headline: 'Out', status: 'published' })
  await create(ctx.app, '/v1/articles', { headline: 'Later', status: 'published', publishedAt: new Date(Date.now() + 3_600_000).toISOString() })
  ctx.statements.length = 0
  t.equal(await ctx.app.services.articles.markGoneLive(), 0)
  const [check] = ctx.statements
  const db = plannedAtScale(path.join(ctx.dataDir, 'cms.sqlite'))
  t.teardown(() => db.close())
  const plan = db.prepare(`explain query plan ${check!.sql}`).all(...check!.params as unknown[]).map((r: any) => r.detail as string).join(' | ')
  t.match(plan, /^SEARCH article_search USING (COVERING )?INDEX article_search_going_live_idx \(published_at<\?\)$/, `the partial index of the stories waiting — ${plan}`)
})
