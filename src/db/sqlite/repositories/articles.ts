import { eq, ne, and, or, sql, inArray, isNull, isNotNull, lte, gt, gte, lt, asc, desc, getTableColumns, type SQL, type AnyColumn } from 'drizzle-orm'
import { articles, articleBylines, articleTags, articlePhotos, articleRelated, articleRevisions, articleSearch, articleFormerSlugs, articleRemovals, bylines } from '../schema.js'
import type { SqliteDb } from '../client.js'
import { after, orderBy } from '../../keyset.js'
import { SEARCH_CANDIDATES, pageOf } from '../../ranked.js'
import { inIds, idList, placeholders, encode } from '../prepared.js'
import { invalid } from '../../../errors.js'

export type ArticleRow = typeof articles.$inferSelect
export type ArticleInsert = typeof articles.$inferInsert
export type ArticleSort = 'publishedAt' | '-publishedAt' | 'updatedAt' | '-updatedAt' | 'changedAt' | '-changedAt' | 'relevance'
/** Where a list resumes: the sort value and id of the page's last article; for relevance, the ids of up to two before it (see pageOf). */
export type ArticleKey = [Date | number | null, string, string[]?]
/** The text of an article the search index holds, one field per weighted column. */
export interface SearchDocument { headline: string, summary: string, body: string, tags: string, bylines: string }
export type RevisionRow = typeof articleRevisions.$inferSelect
export interface ArticleBylineLink { bylineId: string, role: 'author' | 'contributor' | 'photographer' | 'agency' }
/** What an article's index rows hold: its credits, its tags' keys (see tagKey, how `tag=` finds them) and the photos it shows. */
export interface ArticleLinks { bylines: ArticleBylineLink[], tags: string[], photoIds: string[] }
export type RemovalRow = typeof articleRemovals.$inferSelect
export interface RelatedInsert { id: string, targetId: string | null, url: string | null, headline: string | null, summary: string | null }

export interface ArticleListOptions {
  /** Only articles readers may see: published, with a publication time not in the future. */
  publicOnly: boolean
  now: Date
  sectionIds?: string[]
  bylineId?: string
  status?: ArticleRow['status']
  tag?: string
  publishedAfter?: Date
  publishedBefore?: Date
  updatedSince?: Date
  /** Articles changed at or after this time (see articleSearch.changedAt); not with `match`. */
  changedSince?: Date
  /** An FTS5 query (built by the service from what the reader typed). */
  match?: string
  sort: ArticleSort
  after?: ArticleKey
  limit: number
}

/** An FTS5 query (as the service builds them: every term quoted) with a term of two words or more. */
const PHRASE = /"(?:[^"]|"")*[\p{L}\p{N}][^\p{L}\p{N}"]+[\p{L}\p{N}](?:[^"]|"")*"/u
/** An FTS5 query with a prefix term (`"heilongjia"*`). */
const PREFIX = /\*(?= |$)/
/** A word of a term, as the tokenizer (unicode61) reads one: a run of letters, digits, marks and private-use characters. */
const WORD = /[\p{L}\p{N}\p{M}\p{Co}]+/gu
/** One term of an FTS5 query as the service builds them: a quoted string, perhaps a prefix. */
const TERM = /"(?:[^"]|"")*"\*?/g

/**
 * The given documents of an FTS5 table. Found in one walk over their rowid range: each lookup costs ~30 µs (a
 * prefix query's, ~0.4 ms: it is expanded again), a match walked ~0.6 µs, and the newest candidates of a search
 * are packed together. The bounds go to FTS5 as integers (BigInt): it ignores a rowid bound given as a
 * floating-point number, which is how a JavaScript number is bound, and would walk every match instead.
 * `spread` documents (a few hundred at most, far apart: a byline's or a tag's articles over the whole archive)
 * are looked up one by one instead: a walk over their range would pass every match in the archive
 * (`"economic china"` by one byline: 53 lookups, 1.7 ms, against a walk over 11,850 matches, 7.6 ms).
 */
function candidateRows (docs: number[], spread = false): SQL {
  const each = sql`(select value from json_each(${JSON.stringify(docs)}))`
  return spread
    ? sql`rowid in ${each}`
    : sql`rowid between ${BigInt(Math.min(...docs))} and ${BigInt(Math.max(...docs))} and +rowid in ${each}`
}

/** A byline or tag with at most this many articles drives a phrase search (see fieldMatches). */
const NARROW = 300
/** A byline, tag or section with at most this many articles is checked as a set of documents (see listedDocs). */
const LISTED = 5000
/**
 * At most this many articles are looked up by date for a search sorted by publication (see byDateFirst,
 * phraseByDate), and found among by a prefix (see prefixByDate).
 */
const BY_DATE = 1000
/** A phrase's first matches from one end of the index, which tell how dense its matches are there (see phraseEnds). */
const PHRASE_ENDS = 20
/**
 * At most this many words stand in for a query's prefixes (see expandedPrefixes); fewer when a byline or tag
 * filters the search, as their few articles may make the walk pass every match. A search whose prefixes stand
 * for more words than the walk's bound is a 400 (see prefixWords).
 */
const EXPANDED = { walk: 512, filtered: 128 }
/** A query's prefixes: the words each stands for (see prefixWords), and how many of them may be written out. */
interface Prefixes { words: Map<string, string[]>, bound: number }
/** What the index holds of a prefix's last word: lower case, Latin letters without their diacritics (unicode61). */
const indexedStem = (stem: string) => (stem.match(WORD)?.at(-1) ?? '').toLowerCase()
  .replace(/\p{Script=Latin}\p{M}*/gu, (letter) => letter.normalize('NFD').replace(/\p{M}/gu, ''))

export function articlesRepository (db: SqliteDb) {
  const visible = (now: Date | SQL) => and(eq(articles.status, 'published'), lte(articles.publishedAt, now as Date))

  /**
   * The related links of many articles, each with what it shows of its target (copied into the link's row,
   * see articleRelated); with `publicOnly`, links to articles readers cannot see are left out.
   */
  function relatedQuery (publicOnly: boolean) {
    const r = articleRelated
    return db.select({
      id: r.id,
      articleId: r.articleId,
      targetId: r.targetId,
      url: r.url,
      headline: r.headline,
      summary: r.summary,
      target: { slug: r.targetSlug, headline: r.targetHeadline, summary: r.targetSummary, publishedAt: r.targetPublishedAt }
    }).from(r)
      .where(and(
        inIds(r.articleId),
        publicOnly ? or(isNull(r.targetId), and(eq(r.targetStatus, 'published'), lte(r.targetPublishedAt, sql`${sql.placeholder('now')}` as unknown as Date))) : undefined
      ))
      .orderBy(asc(r.articleId), asc(r.position)).prepare()
  }

  // the statements every read and write runs, built and prepared once (see ../prepared.ts)
  const now = sql`${sql.placeholder('now')}`
  const prepared = {
    byId: db.select().from(articles).where(eq(articles.id, sql.placeholder('id'))).prepare(),
    byIdVisible: db.select().from(articles).where(and(eq(articles.id, sql.placeholder('id')), visible(now))).prepare(),
    bySlug: db.select().from(articles).where(eq(articles.slug, sql.placeholder('slug'))).prepare(),
    bySlugVisible: db.select().from(articles).where(and(eq(articles.slug, sql.placeholder('slug')), visible(now))).prepare(),
    slugTaken: db.select({ id: articles.id }).from(articles).where(eq(articles.slug, sql.placeholder('slug'))).prepare(),
    formerSlug: db.select({ id: articleFormerSlugs.articleId }).from(articleFormerSlugs).where(eq(articleFormerSlugs.slug, sql.placeholder('slug'))).prepare(),
    existing: db.select({ id: articles.id }).from(articles).where(inIds(articles.id)).prepare(),
    many: db.select().from(articles).where(inIds(articles.id)).prepare(),
    bylinesOf: db.select({
      articleId: articleBylines.articleId,
      role: articleBylines.role,
      bylineId: bylines.id,
      slug: bylines.slug,
      name: bylines.name,
      kind: bylines.kind,
      title: bylines.title
    }).from(articleBylines).innerJoin(bylines, eq(bylines.id, articleBylines.bylineId))
      .where(inIds(articleBylines.articleId))
      .orderBy(asc(articleBylines.articleId), asc(articleBylines.position)).prepare(),
    related: relatedQuery(false),
    relatedVisible: relatedQuery(true),
    insert: db.insert(articles).values(placeholders(articles)).prepare(),
    insertByline: db.insert(articleBylines).values(placeholders(articleBylines)).prepare(),
    insertTag: db.insert(articleTags).values(placeholders(articleTags)).prepare(),
    insertPhoto: db.insert(articlePhotos).values(placeholders(articlePhotos)).prepare(),
    insertRevision: db.insert(articleRevisions).values(placeholders(articleRevisions)).prepare(),
    // a new document number for a new article (doc is NULL: SQLite assigns it), the same one for an article written again
    searchRow: db.insert(articleSearch).values(placeholders(articleSearch)).onConflictDoUpdate({
      target: articleSearch.articleId,
      set: {
        status: sql`excluded.status`,
        publishedAt: sql`excluded.published_at`,
        updatedAt: sql`excluded.updated_at`,
        sectionId: sql`excluded.section_id`
        // (changed_at is the row's own: see changedWith)
      }
    }).returning({ doc: articleSearch.doc }).prepare()
  }

  /** Marks the search rows meeting `condition` as changed at `at` (see articleSearch.changedAt): a time of change never goes back. */
  const stamp = (condition: SQL, at: Date) =>
    db.update(articleSearch).set({ changedAt: at }).where(and(condition, lt(articleSearch.changedAt, at))).run()

  /** Keyset condition for a sort on a column that may be NULL; NULLs sort lowest, as SQLite orders them. */
  function afterNullable (column: AnyColumn, idColumn: AnyColumn, key: ArticleKey, descending: boolean): SQL {
    const [value, id] = key
    if (value === null) {
      return descending
        ? and(isNull(column), lt(idColumn, id))!
        : or(and(isNull(column), gt(idColumn, id)), isNotNull(column))!
    }
    const rest = after([column, idColumn], [value, id], descending)
    return descending ? or(rest, isNull(column))! : rest
  }

  /**
   * What a match weighs in each field of the index, in its columns' order: bm25's column weights, and the weights
   * of the short fields when a query is ranked by the fields it is found in (fieldMatches).
   */
  const WEIGHTS = [['headline', 10], ['summary', 2], ['body', 1], ['tags', 3], ['bylines', 4]] as const
  const rank = sql<number>`bm25(articles_fts, ${sql.raw(WEIGHTS.map(([, w]) => w.toFixed(1)).join(', '))})`
  /** The short fields (articles_fts_short's columns, in order) with their weights. */
  const FIELDS = WEIGHTS.flatMap(([field, w]) => field === 'body' ? [] : [[field, w] as const])

  /**
   * The newest SEARCH_CANDIDATES matches that pass the filters, with their filter row: the index drives (CROSS JOIN
   * fixes the order), walking matches newest first and stopping at the bound. `oldestFirst` walks them the other
   * way (for a query known to have no more matches than the bound); `narrowTo`, a condition on the documents (a
   * byline's or tag's few articles, a phrase's few matches), checks their entries one by one instead (see fieldMatches).
   */
  function candidatesOf (match: string, where: (SQL | undefined)[], o: { oldestFirst?: boolean, narrowTo?: SQL, prefixes?: Prefixes } = {}) {
    return db.all<{ id: string, doc: number, publishedAt: number | null }>(sql`
      select ${articleSearch.articleId} as id, articles_fts.rowid as doc, ${articleSearch.publishedAt} as publishedAt
      from articles_fts cross join ${articleSearch} on ${articleSearch.doc} = articles_fts.rowid
      where articles_fts match ${o.prefixes ? expandedPrefixes(match, o.prefixes) : match} and ${o.narrowTo ?? sql`1`}
        and ${and(...where) ?? sql`1`}
      order by ${o.narrowTo ? sql`+articles_fts.rowid desc` : o.oldestFirst ? sql`articles_fts.rowid asc` : sql`articles_fts.rowid desc`}
      limit ${SEARCH_CANDIDATES}`)
  }

  /**
   * The words of the index each prefix of the query (`"kinm"*`) stands for, by term, listed from the index's
   * vocabulary (the first occurrence of each, ~10 µs a word). A search whose prefixes stand for more than
   * EXPANDED.walk words in all is a 400: each is read as every word it stands for, and past the bound FTS5 merges
   * their whole entries before its first match, the process answering nothing else meanwhile — `ti*` (1,076 words
   * at 100,000 articles) took 190 ms, four such prefixes 0.8 s, and a real archive's vocabulary holds far more
   * words under two or three letters. Only the words of plain letters and digits are kept, to be written out
   * (see expandedPrefixes); other prefixes are counted as the tokenizer holds their last word.
   */
  function prefixWords (match: string): Map<string, string[]> {
    const listed = new Map<string, string[]>()
    if (!PREFIX.test(match)) return listed
    let left = EXPANDED.walk
    const counted: string[] = []
    for (const term of match.match(TERM) ?? []) {
      const prefix = /^"((?:[^"]|"")*)"\*$/.exec(term)?.[1]?.replace(/""/g, '"')
      if (prefix === undefined || listed.has(term)) continue
      const stem = indexedStem(prefix)
      const end = `${stem}\u{10FFFF}`
      const words = stem === ''
        ? []
        : db.all<{ word: string }>(sql`with recursive w(word) as (
            select (select term from temp.articles_fts_words where term >= ${stem} and term < ${end} limit 1)
            union all
            select (select term from temp.articles_fts_words where term >= w.word || char(1) and term < ${end} limit 1)
            from w where w.word is not null limit ${left + 1})
          select word from w where word is not null`).map((w) => w.word)
      counted.push(`${prefix}*`)
      if (words.length > left) {
        throw invalid(counted.length === 1
          ? `The prefix ${prefix}* stands for more than ${EXPANDED.walk} words of the archive: add letters to it`
          : `The prefixes ${counted.join(' ')} stand for more than ${EXPANDED.walk} words of the archive together: add letters to them, or search by fewer`,
        [{ path: '/query/q', message: `Its prefixes stand for more than ${EXPANDED.walk} words` }])
      }
      left -= words.length
      if (/^[A-Za-z0-9]+$/.test(prefix)) listed.set(term, words)
    }
    return listed
  }

  /**
   * The query with each prefix of plain letters and digits (`"kinm"*`) written out as the words of the index it
   * stands for (see prefixWords), `("kinma" OR "kinmabo" OR …)`, while they number at most `bound` in all (see
   * EXPANDED). FTS5 answers a prefix by merging the whole entries of all its words into one list before it yields
   * the first match: the newest 500 matches of `kinm*` (60 words) took 11 ms, of `ko*` (476 words) 77 ms, however
   * few were wanted. Written out, its words are walked together lazily, newest first: 0.8 + 0.8 ms for `kinm*`, ~10
   * ms for `ko*`. A walk over every match costs up to ~1.5 times the merged list's with 60–80 words and ~1.4 times
   * with ~500 (`ko*` by a byline of ~50 articles: 98 ms merged, 137 walked as its words), hence the smaller bound
   * with a byline or tag. A prefix of other characters stays as it is, its words being what the tokenizer makes of
   * it (case and accents folded).
   */
  function expandedPrefixes (match: string, { words: listed, bound }: Prefixes): string {
    if (!PREFIX.test(match)) return match
    let budget = bound
    // (a bracketed OR takes an explicit AND beside another term: FTS5's implicit AND joins phrases only)
    return (match.match(TERM) ?? []).map((term) => {
      const words = listed.get(term)
      if (words === undefined || words.length === 0 || words.length > budget) return term
      budget -= words.length
      return `(${words.map((w) => `"${w.replace(/"/g, '""')}"`).join(' OR ')})`
    }).join(' AND ')
  }

  /**
   * Relevance: the newest SEARCH_CANDIDATES matches that pass the filters, ranked among themselves by bm25
   * over the weighted columns (headline 10, bylines 4, tags 3, summary 2, body 1). Ranking every match of a
   * word that is in most articles costs time in proportion to the archive; the newest candidates bound it.
   * The index drives (CROSS JOIN fixes the order), walking matches newest first and stopping at the bound.
   *
   * bm25 first counts, over the whole archive, the articles holding each word, for its weight; a word in half
   * the articles or more gets a weight of almost nothing (FTS5 sets its idf to 1e-6), so beside a rarer word it
   * only parts exact ties. Such a word is still matched but left out of the ranking when the query has a rarer
   * word (see inMostArticles): `china dadoleba` is ranked by `dadoleba` alone, in the same order but for exact
   * ties (which part by id), without reading the whole entry of `china` (3–5 ms at 100,000 articles). When every
   * word of the query is that common, none weighs anything of its own and bm25 would only count them all to
   * weigh the fields and repetitions: the candidates are ranked by the fields they match in, then newest, as a
   * phrase's are (fieldMatches); and with a byline or tag of few articles (`narrowTo`), those articles are looked
   * up one by one, as for a phrase, rather than walking the words' matches through the whole archive (`china` by
   * one byline: ~50 lookups against 100,000 matches walked).
   */
  function rankedMatches (match: string, where: (SQL | undefined)[], after: ArticleKey | undefined, limit: number, narrowTo: () => SQL | undefined) {
    const terms = match.match(TERM) ?? []
    const runs = sampleRuns()
    const weighing = terms.filter((term) => !inMostArticles(term, runs))
    if (weighing.length === 0) return fieldMatches(match, where, narrowTo(), after, limit)
    if (weighing.length === terms.length) {
      return pageOf(db.all<{ id: string, rank: number }>(sql`
        select ${articleSearch.articleId} as id, ${rank} as rank
        from articles_fts cross join ${articleSearch} on ${articleSearch.doc} = articles_fts.rowid
        where articles_fts match ${match} and ${and(...where) ?? sql`1`}
        order by articles_fts.rowid desc
        limit ${SEARCH_CANDIDATES}`), after, limit)
    }
    // When the whole query has no more matches than the bound, every match is a candidate and they are walked
    // oldest first: FTS5 seeks a common word's entry to each match of a rare one quickly forwards, but ~15 times
    // slower backwards (`china dadoleba`: 0.2 ms against 3 ms)
    const few = db.get<{ n: number }>(sql`select count(*) as n from (select 1 from articles_fts where articles_fts match ${match} limit ${SEARCH_CANDIDATES + 1})`).n <= SEARCH_CANDIDATES
    const candidates = candidatesOf(match, where, { oldestFirst: few })
    if (candidates.length === 0) return []
    const ranks = new Map(db.all<{ doc: number, rank: number }>(sql`
      select rowid as doc, ${rank} as rank from articles_fts
      where articles_fts match ${weighing.join(' ')} and ${candidateRows(candidates.map((c) => c.doc))}`).map((r) => [r.doc, r.rank]))
    return pageOf(candidates.map((c) => ({ id: c.id, rank: ranks.get(c.doc) ?? 0 })), after, limit)
  }

  /** How the share of articles holding a word is estimated: runs of this many documents, this many runs. */
  const SAMPLE = { runs: 8, length: 64 }

  /** The runs of documents a query's words are sampled in (see inMostArticles), as JSON: [[first, last], …]. */
  function sampleRuns (): string {
    const last = db.get<{ doc: number | null }>(sql`select max(${articleSearch.doc}) as doc from ${articleSearch}`).doc ?? 0
    const { runs, length } = SAMPLE
    return JSON.stringify(last <= runs * length
      ? [[1, last]]
      : Array.from({ length: runs }, (_, i) => { const from = Math.floor((i + 0.5) * last / runs) - length / 2; return [from, from + length - 1] }))
  }

  /**
   * Whether a word (a quoted term) is in most articles: in at least 11 in 20 of a sample of 512 documents, 8 runs
   * of 64 spread evenly over the index (each run is one seek into the word's entry; ~0.2 ms in all). FTS5 weighs
   * a word in half the articles or more at almost nothing (see rankedMatches). A word the sample puts at 55% is,
   * bar an unlucky sample (a word bunched in time), in half of them or more; and a word in 40–50% would weigh
   * 0–0.4 against 3–10 for a word in fewer than 5% of the articles, so a wrong guess barely moves the order.
   * In an archive of at most 512 documents the sample is all of them.
   */
  function inMostArticles (term: string, runsJson: string): boolean {
    const { hits, docs } = sampled(term, runsJson)
    return docs > 0 && hits * 20 >= docs * 11
  }

  /** How many documents of the sample's runs (see sampleRuns) a query matches, and how many there are. */
  function sampled (match: string, runsJson: string) {
    return db.get<{ hits: number, docs: number }>(sql`select
      (select count(*) from json_each(${runsJson}) w cross join articles_fts
        where articles_fts match ${match} and articles_fts.rowid between w.value ->> 0 and w.value ->> 1) as hits,
      (select count(*) from json_each(${runsJson}) w cross join ${articleSearch}
        where ${articleSearch.doc} between w.value ->> 0 and w.value ->> 1) as docs`)
  }

  /** A search sorted by publication with no filter but dates and publication, which the index on publication time walks in order. */
  const datedOnly = (o: ArticleListOptions) =>
    o.sort.endsWith('publishedAt') && !o.sectionIds && !o.bylineId && !o.tag && !o.updatedSince && (!o.status || o.status === 'published')

  /**
   * Whether a search of words sorted by publication is better served looking the first articles by date up in the
   * index (see byDate) than walking every match and sorting them: when the query matches a tenth of the articles or
   * more (from the sample; about 20 / share lookups of 10–25 µs fill a page: `china` newest first at 100,000 articles sorted all 100,000
   * matches, 23 ms against 0.3; a word in 10% of the articles 4.3 against 2.0, in 5% 1.6 against 5.1) and no filter
   * but dates and publication leaves the walk few articles to find. Not for a prefix (see prefixByDate) nor a phrase
   * (see phraseEnds), whose lookups can each walk on far.
   */
  function byDateFirst (o: ArticleListOptions & { match: string }): boolean {
    if (PREFIX.test(o.match) || PHRASE.test(o.match)) return false
    const { hits, docs } = sampled(o.match, sampleRuns())
    return docs > 0 && hits * 10 >= docs
  }

  /**
   * The first PHRASE_ENDS matches of a query with a phrase (or a word FTS5 reads as one, `e-commerce`) from one end
   * of the index, the newest documents or the oldest: whether they are all its matches (`complete`), and if not,
   * the share of documents they make there (`share`), and the highest document number (`size`). FTS5 looks for a
   * phrase's next match article by article among those holding all its words, checking their positions, and only
   * then compares it with a bound on the rowid: a lookup of an article without the phrase (`rowid = ?`), or a sample
   * of a run of documents, walks on to the next match wherever it is. For a phrase of common words that few articles
   * make, that is most of the archive each time: sampling `"economic russia china"` in 8 runs took 450 ms at 100,000
   * articles, 16 such phrases 1.3 s, 200 lookups of the oldest articles 65 s, and a byline's 50 articles 5.8 s. This
   * walk stops at its `first` match (PHRASE_ENDS for a page by date, a quarter of it before a byline's lookups; at
   * worst one walk over the articles holding the words, ~110 ms for a phrase of words in nearly every article);
   * lookups are then made only as far as its matches are dense.
   */
  function phraseEnds (match: string, oldestFirst: boolean, first = PHRASE_ENDS): { docs: number[], complete: boolean, share: number, size: number } {
    const docs = db.all<{ doc: number }>(sql`select rowid as doc from articles_fts where articles_fts match ${match}
      order by rowid ${sql.raw(oldestFirst ? 'asc' : 'desc')} limit ${first}`).map((d) => d.doc)
    // (each bound a subquery of its own: SQLite reads min() or max() alone from the end of the index, both at once by a scan)
    const ends = db.get<{ first: number | null, last: number | null }>(sql`select
      (select min(${articleSearch.doc}) from ${articleSearch}) as first, (select max(${articleSearch.doc}) from ${articleSearch}) as last`)
    const size = ends.last ?? 0
    if (docs.length < first) return { docs, complete: true, share: 0, size }
    return { docs, complete: false, share: first / (Math.abs((oldestFirst ? ends.first ?? 0 : size) - docs[docs.length - 1]!) + 1), size }
  }

  /**
   * A page of a phrase search sorted by publication (see datedOnly): from every match, when the phrase has fewer than
   * PHRASE_ENDS; by lookups of the first articles by date (see byDate) when its matches are dense enough at the end
   * the sort starts from (at 100,000 articles, 1.4% of the documents there for a page of 20: `"economic russia china"`
   * newest first, 30 ms against 168 for the walk); otherwise none, for the walk over every match to make.
   */
  function phraseByDate (match: string, where: (SQL | undefined)[], order: SQL[], limit: number, oldestFirst: boolean) {
    const ends = phraseEnds(match, oldestFirst)
    if (ends.complete) {
      return db.all<{ id: string, rank: null }>(sql`select ${articleSearch.articleId} as id, null as rank from ${articleSearch}
        where ${articleSearch.doc} in (select value from json_each(${JSON.stringify(ends.docs)})) and ${and(...where) ?? sql`1`}
        order by ${sql.join(order, sql`, `)} limit ${limit}`)
    }
    // lookups that fill the page within the bound (limit / share of them), walking on past their misses (1 / share
    // documents each) no further than the archive together (limit / share² ≤ size)
    return ends.share >= Math.max(limit / BY_DATE, Math.sqrt(limit / ends.size)) ? byDate(match, where, order, limit) : undefined
  }

  /**
   * A page of a prefix search sorted by publication, from the first BY_DATE articles by date (see datedOnly),
   * matched in one walk over their documents (see candidateRows) with each prefix written out as its words (see
   * expandedPrefixes): each word's entry is read within the documents' range only, where the prefix itself has FTS5
   * merge every entry of every word it stands for before the first match, then every match is sorted (`ch*` newest
   * first at 100,000 articles: 190 ms; three such prefixes 420 ms). None when they do not fill the page (unless they
   * are all the articles left), when a prefix is not written out (too many words, or other characters), or with a
   * phrase: on its way to the next match FTS5 checks a phrase's positions in every article holding its words, past
   * the range's end.
   */
  function prefixByDate (match: string, prefixes: Prefixes, where: (SQL | undefined)[], order: SQL[], limit: number) {
    const expanded = expandedPrefixes(match, prefixes)
    if (PREFIX.test(expanded) || PHRASE.test(match)) return undefined
    const first = db.all<{ id: string, doc: number }>(sql`
      select ${articleSearch.articleId} as id, ${articleSearch.doc} as doc from ${articleSearch}
      where ${and(...where) ?? sql`1`} order by ${sql.join(order, sql`, `)} limit ${BY_DATE}`)
    if (first.length === 0) return []
    const matched = new Set(db.all<{ doc: number }>(sql`select rowid as doc from articles_fts
      where articles_fts match ${expanded} and ${candidateRows(first.map((f) => f.doc))}`).map((m) => m.doc))
    const hits = first.filter((f) => matched.has(f.doc)).slice(0, limit).map((f) => ({ id: f.id, rank: null }))
    return hits.length === limit || first.length < BY_DATE ? hits : undefined
  }

  /**
   * A page sorted by publication from the first BY_DATE articles by date (the index on publication time), each
   * looked up in the full-text index in turn; none when they do not fill it (a misjudged share, the last page), for
   * the walk over the matches to make instead.
   */
  function byDate (match: string, where: (SQL | undefined)[], order: SQL[], limit: number) {
    const hits = db.all<{ id: string, rank: null }>(sql`
      select ${articleSearch.articleId} as id, null as rank
      from (select * from ${articleSearch} where ${and(...where) ?? sql`1`} order by ${sql.join(order, sql`, `)} limit ${BY_DATE}) as ${articleSearch}
        cross join articles_fts on articles_fts.rowid = ${articleSearch.doc}
      where articles_fts match ${match}
      order by ${sql.join(order, sql`, `)}
      limit ${limit}`)
    return hits.length === limit ? hits : undefined
  }


  /**
   * Relevance for a query with a phrase ("gas deal", or a hyphenated word, which FTS5 reads as one) or a
   * prefix: bm25 would first count every article holding the phrase (its weight), checking word positions in
   * each article that has all its words — ~70 ms when the words are in nearly every article, whatever the
   * filters — or merge again the whole lists of every word the prefix stands for (as long as the walk). Here
   * the same newest candidates are ranked by the fields the query matches in, with bm25's weights (headline
   * 10, bylines 4, tags 3, summary 2; the body counts for nothing, being where nearly every match is), then by
   * publication, newest first. FTS5 marks the matches in those short fields in their own small index; no count
   * is needed, and no candidate's whole text is loaded (marking them in the full index did: ~3 ms more).
   * When a byline or tag narrows a phrase search to a few hundred articles (in any sort) and the phrase's matches are
   * dense enough (see phraseEnds and its caller in list), their entries are checked one by one instead of walking
   * every match of the phrase, in rowid order (FTS5 looks a rowid up ~50 times slower in a descending scan, so the
   * sort is left to SQLite); not for a prefix, which would cost a merge each.
   */
  function fieldMatches (match: string, where: (SQL | undefined)[], narrowTo: SQL | undefined, after: ArticleKey | undefined, limit: number, prefixes?: Prefixes) {
    const candidates = candidatesOf(match, where, { narrowTo, prefixes })
    if (candidates.length === 0) return []
    const docs = candidates.map((c) => c.doc)
    // looked up one by one (see candidateRows): a byline's or tag's few articles, or a few far apart that match
    // words in most articles (the walk would pass most of the archive). Not a rare phrase's: its matches are few
    // wherever they are, and a walk over them costs less than a lookup each (`"export conference"`, 265 far
    // apart: 1 ms against 13); nor a prefix's, which each lookup would expand again.
    const common = !PHRASE.test(match) && !PREFIX.test(match)
    const spread = narrowTo !== undefined || (common && docs.length <= NARROW && Math.max(...docs) - Math.min(...docs) > 50 * docs.length)
    const weight = fieldWeights(match, docs, spread)
    // one number that orders by weight, then publication (ms), like bm25 lower is better; ties part by id
    return pageOf(candidates.map((c) => ({ id: c.id, rank: -((weight.get(c.doc) ?? 0) * 1e13 + (c.publishedAt ?? 0)) })), after, limit)
  }

  /**
   * The weight of the fields each document matches any of the query's terms in (headline 10, bylines 4, tags 3,
   * summary 2), from the short fields' own index (articles_fts_short), over the documents' rowid range. Plain
   * words: one column filter per field, which reads the words' entries only (`china` over 500 candidates: 0.5 ms).
   * A phrase or a prefix: FTS5 marks the matches in one pass (highlight), which loads each matching document's
   * short fields (2.9 ms for `china`) but checks the phrase's positions, or expands the prefix, once rather than
   * per field. `spread` documents are looked up one by one (see candidateRows), once each, in one marking pass:
   * four column filters would look each one up four times (`china` by one byline: 1.9 ms against 20.7 ms for
   * four walks over the archive).
   */
  function fieldWeights (match: string, docs: number[], spread: boolean): Map<number, number> {
    const any = (match.match(TERM) ?? []).join(' OR ')
    const weight = new Map<number, number>()
    if (!spread && !PHRASE.test(match) && !PREFIX.test(match)) {
      for (const [field, w] of FIELDS) {
        const rows = db.all<{ doc: number }>(sql`select rowid as doc from articles_fts_short
          where articles_fts_short match ${`${field} : (${any})`} and ${candidateRows(docs)}`)
        for (const { doc } of rows) weight.set(doc, (weight.get(doc) ?? 0) + w)
      }
      return weight
    }
    const marked = (column: number) => sql.raw(`highlight(articles_fts_short, ${column}, char(57344), '')`)
    const fields = db.all<{ doc: number, headline: string, summary: string, tags: string, bylines: string }>(sql`
      select rowid as doc, ${marked(0)} as headline, ${marked(1)} as summary, ${marked(2)} as tags, ${marked(3)} as bylines
      from articles_fts_short
      where articles_fts_short match ${any} and ${candidateRows(docs, spread)}`)
    for (const f of fields) weight.set(f.doc, FIELDS.reduce((sum, [field, w]) => sum + (f[field].includes('\uE000') ? w : 0), 0))
    return weight
  }

  /** The full-text entries of the given articles, as a condition FTS5 answers by looking each one up. */
  const narrowedRows = (ids: SQL) => sql`articles_fts.rowid in (select ${articleSearch.doc} from ${articleSearch} where ${articleSearch.articleId} in ${ids})`

  /** How many rows of a table meet the condition, counting no further than n + 1. */
  const countTo = (n: number, table: typeof articleBylines | typeof articleTags | typeof articleSearch, condition: SQL) =>
    db.get<{ n: number }>(sql`select count(*) as n from (select 1 from ${table} where ${condition} limit ${n + 1})`).n
  /** Whether a table has at most `n` rows meeting the condition. */
  const atMost = (n: number, table: typeof articleBylines | typeof articleTags | typeof articleSearch, condition: SQL) => countTo(n, table, condition) <= n

  /** The ids of a byline's or a tag's articles, as a subquery. */
  const bylineArticles = (id: string) => sql`(select ${articleBylines.articleId} from ${articleBylines} where ${eq(articleBylines.bylineId, id)})`
  const tagArticles = (tag: string) => sql`(select ${articleTags.articleId} from ${articleTags} where ${eq(articleTags.tag, tag)})`

  /** The documents of the filter's byline or tag, when it has few enough to be checked one by one, and how many. */
  function narrowTo (o: ArticleListOptions): { rows: SQL, count: number } | undefined {
    if (o.bylineId) {
      const count = countTo(NARROW, articleBylines, eq(articleBylines.bylineId, o.bylineId))
      if (count <= NARROW) return { rows: narrowedRows(bylineArticles(o.bylineId)), count }
    }
    if (o.tag) {
      const count = countTo(NARROW, articleTags, eq(articleTags.tag, o.tag))
      if (count <= NARROW) return { rows: narrowedRows(tagArticles(o.tag)), count }
    }
    return undefined
  }

  /**
   * A search's byline, tag and section filters, when they hold few articles, as the set of their documents in
   * the index: SQLite lists the set once (from the filter's own index, ≤ LISTED lookups) and checks each match
   * of the walk against it before reading the match's search row. Walking every match and reading each one's
   * row to test its filter costs ~0.6 µs a match, checking it against the set ~0.04: `china` by one byline at
   * 100,000 articles walked all 100,000 matches (67 ms); a word in one section walked ~25,000 to find 500.
   * The `+` keeps FTS5 from taking the set as rowids to look up one by one (~30 µs each). A filter with more
   * articles than that is met soon enough in the walk to be tested on the search rows. Not for a byline or tag
   * that already drives a phrase search (narrowTo); a search of words in most articles, which rankedMatches
   * narrows to a byline or tag only once it has sampled the words, keeps both (≤ NARROW documents listed, ~0.1 ms).
   */
  function listedDocs (o: ArticleListOptions, narrowed: boolean): SQL[] {
    const sets: SQL[] = []
    if (o.bylineId && !narrowed && atMost(LISTED, articleBylines, eq(articleBylines.bylineId, o.bylineId))) {
      sets.push(sql`+${narrowedRows(bylineArticles(o.bylineId))}`)
    }
    if (o.tag && !narrowed && atMost(LISTED, articleTags, eq(articleTags.tag, o.tag))) {
      sets.push(sql`+${narrowedRows(tagArticles(o.tag))}`)
    }
    if (o.sectionIds && atMost(LISTED, articleSearch, inArray(articleSearch.sectionId, o.sectionIds))) {
      sets.push(sql`+articles_fts.rowid in (select ${articleSearch.doc} from ${articleSearch} where ${inArray(articleSearch.sectionId, o.sectionIds)})`)
    }
    const dates = publishedBetween(o)
    if (dates) sets.push(dates)
    return sets
  }

  /**
   * A search's publication dates, when they hold few articles (a month, a week: `council` in one month of a
   * 100,000-article archive walked ~30,000 matches, 25 ms), as the set of their documents (from the search rows'
   * index on publication time) and the span of document numbers it lies in: FTS5 walks the matches within that
   * span only (documents are numbered as articles are first written, so a month's span is about that month's
   * when stories are written as they are published, and may be the whole archive after an import of old ones),
   * each checked against the set before its search row is read. The bounds go to FTS5 as integers (see
   * candidateRows): as JavaScript numbers FTS5 ignored them and walked down from the newest match, so an old month
   * cost more than a recent one. A range with no article has no match at all.
   */
  function publishedBetween (o: ArticleListOptions): SQL | undefined {
    if (!o.publishedAfter && !o.publishedBefore) return undefined
    const range = and(o.publishedAfter ? gte(articleSearch.publishedAt, o.publishedAfter) : undefined,
      o.publishedBefore ? lt(articleSearch.publishedAt, o.publishedBefore) : undefined)!
    const span = db.get<{ n: number, first: number | null, last: number | null }>(sql`
      select count(*) as n, min(doc) as first, max(doc) as last
      from (select ${articleSearch.doc} as doc from ${articleSearch} where ${range} limit ${LISTED + 1})`)
    if (span.n > LISTED) return undefined
    if (span.n === 0) return sql`0`
    return sql`articles_fts.rowid between ${BigInt(span.first!)} and ${BigInt(span.last!)}
      and +articles_fts.rowid in (select ${articleSearch.doc} from ${articleSearch} where ${range})`
  }

  /**
   * Writes the rows that index an article's bylines, tags and photos; credits and tags carry the article's status and
   * publication time (`seen`), so the database's trigger has nothing to fill in (see migration 0017).
   */
  function insertLinks (articleId: string, links: ArticleLinks, seen: Pick<ArticleRow, 'status' | 'publishedAt'>) {
    const { status, publishedAt } = seen
    links.bylines.forEach((b, position) => prepared.insertByline.run(encode(articleBylines, { articleId, position, ...b, status, publishedAt })))
    for (const tag of links.tags) prepared.insertTag.run(encode(articleTags, { articleId, tag, status, publishedAt }))
    for (const photoId of links.photoIds) prepared.insertPhoto.run(encode(articlePhotos, { articleId, photoId }))
  }

  return {
    async findById (id: string, publicOnly: boolean, now: Date) {
      return publicOnly ? prepared.byIdVisible.get({ id, now: now.getTime() }) : prepared.byId.get({ id })
    },
    async findBySlug (slug: string, publicOnly: boolean, now: Date) {
      return publicOnly ? prepared.bySlugVisible.get({ slug, now: now.getTime() }) : prepared.bySlug.get({ slug })
    },
    /** Whether another article has the slug: as its current one (true), or a former one ('former'). */
    async slugTaken (slug: string, exceptId?: string): Promise<boolean | 'former'> {
      if (prepared.slugTaken.all({ slug }).some((owner) => owner.id !== exceptId)) return true
      const former = prepared.formerSlug.get({ slug })
      return former !== undefined && former.id !== exceptId ? 'former' : false
    },
    /** The article whose former slug this is, if any. */
    async withFormerSlug (slug: string): Promise<string | undefined> {
      return prepared.formerSlug.get({ slug })?.id
    },
    /**
     * An article's slug changed: the old one is kept as a former one when `keep` (it was public: see the service),
     * and the new one, if it was one, is current again.
     */
    async slugChanged (articleId: string, from: string, to: string, at: Date, keep: boolean) {
      if (keep) db.insert(articleFormerSlugs).values({ slug: from, articleId, createdAt: at }).onConflictDoNothing().run()
      db.delete(articleFormerSlugs).where(and(eq(articleFormerSlugs.slug, to), eq(articleFormerSlugs.articleId, articleId))).run()
    },
    async existing (ids: string[]) {
      if (ids.length === 0) return new Set<string>()
      return new Set(prepared.existing.all({ ids: idList(ids) }).map((r) => r.id))
    },
    /**
     * One page of articles. With `match`, only articles the full-text index finds, each with its relevance
     * (rankedMatches, fieldMatches); their snippets are made by the search service from the rows.
     */
    async list (o: ArticleListOptions): Promise<{ row: ArticleRow, rank: number | null, changedAt?: Date }[]> {
      // what changed since (a copy kept elsewhere following the archive): on the time of change, which only the search
      // rows hold (the index on it drives; a byline, tag or sections are sets of articles to check)
      const changes = o.match === undefined && (o.sort.endsWith('changedAt') || o.changedSince !== undefined)
      // a byline's or tag's articles by publication time: a walk over the credits' or tags' own index, which holds
      // each article's status and publication time (see articleBylines), reading only the page's articles
      const credits = !changes && o.match === undefined && o.sort.endsWith('publishedAt') ? o.bylineId ? articleBylines : o.tag ? articleTags : undefined : undefined
      // a search, a front of several sections and a byline's or tag's articles by update filter and sort on the
      // search rows' copies of the article's columns (see articleSearch), then read the page's articles
      const searchRows = changes || o.match !== undefined || (!credits && ((o.sectionIds?.length ?? 0) > 1 || o.bylineId !== undefined || o.tag !== undefined))
      const t = searchRows
        ? { id: articleSearch.articleId, status: articleSearch.status, publishedAt: articleSearch.publishedAt, updatedAt: articleSearch.updatedAt, sectionId: articleSearch.sectionId }
        : credits
          ? { id: credits.articleId, status: credits.status, publishedAt: credits.publishedAt, updatedAt: articles.updatedAt, sectionId: articles.sectionId }
          : { id: articles.id, status: articles.status, publishedAt: articles.publishedAt, updatedAt: articles.updatedAt, sectionId: articles.sectionId }
      const where: (SQL | undefined)[] = []
      if (o.publicOnly) where.push(and(eq(t.status, 'published'), lte(t.publishedAt, o.now)))
      if (o.status) where.push(eq(t.status, o.status))
      if (o.sectionIds) where.push(inArray(t.sectionId, o.sectionIds))
      if (o.bylineId) {
        where.push(credits === articleBylines
          // a byline credited twice on an article (author and photographer) lists it once, by its first credit
          ? sql`${eq(articleBylines.bylineId, o.bylineId)} and not exists (select 1 from ${articleBylines} other
              where other.article_id = ${articleBylines.articleId} and other.byline_id = ${articleBylines.bylineId} and other.position < ${articleBylines.position})`
          // driven from the byline's own rows, not by walking every article in date order
          : sql`${t.id} in ${bylineArticles(o.bylineId)}`)
      }
      if (o.tag) where.push(credits === articleTags ? eq(articleTags.tag, o.tag) : sql`${t.id} in ${tagArticles(o.tag)}`)
      if (o.publishedAfter) where.push(gte(t.publishedAt, o.publishedAfter))
      if (o.publishedBefore) where.push(lt(t.publishedAt, o.publishedBefore))
      if (o.updatedSince) where.push(gte(t.updatedAt, o.updatedSince))
      if (o.changedSince) where.push(gte(articleSearch.changedAt, o.changedSince))
      const column = o.sort.endsWith('publishedAt') ? t.publishedAt : o.sort.endsWith('changedAt') ? articleSearch.changedAt : t.updatedAt
      if (o.sort !== 'relevance' && o.after) where.push(afterNullable(column, t.id, o.after as [Date | null, string], o.sort.startsWith('-')))
      const order = orderBy([column, t.id], o.sort.startsWith('-'))
      if (o.match === undefined && !searchRows) {
        const rows = credits
          // CROSS JOIN: SQLite walks the credits first, in the index's order
          ? await db.select(getTableColumns(articles)).from(credits).crossJoin(articles)
            .where(and(eq(articles.id, credits.articleId), ...where)).orderBy(...order).limit(o.limit).all()
          : await db.select().from(articles).where(and(...where)).orderBy(...order).limit(o.limit).all()
        return rows.map((row) => ({ row, rank: null }))
      }
      const searched = (match: string) => {
        // (first: a search whose prefixes stand for too many words is a 400 whichever way it is sorted)
        const words = prefixWords(match)
        const prefix = PREFIX.test(match)
        const phrase = PHRASE.test(match)
        if (o.sort !== 'relevance' && datedOnly(o)) {
          const hits = byDateFirst({ ...o, match })
            ? byDate(match, where, order, o.limit)
            : prefix
              ? prefixByDate(match, { words, bound: EXPANDED.walk }, where, order, o.limit)
              : phrase ? phraseByDate(match, where, order, o.limit, o.sort === 'publishedAt') : undefined
          if (hits) return hits
        }
        // a phrase within a byline's or tag's few articles (NARROW at most): the phrase's own matches are looked up
        // when it has few (see phraseEnds); those articles when its matches are dense enough that their lookups,
        // each walking on to the next match, walk no further than the archive together (were the matches spread as at
        // the newest end); else the walk over every match checks each one against them
        const small = phrase && !prefix ? narrowTo(o) : undefined
        const ends = small && phraseEnds(match, false, PHRASE_ENDS / 4)
        const narrow = !small || !ends ? undefined
          : ends.complete ? sql`articles_fts.rowid in (select value from json_each(${JSON.stringify(ends.docs)}))`
            : small.count <= ends.share * ends.size ? small.rows : undefined
        where.push(...listedDocs(o, narrow !== undefined))
        if (o.sort === 'relevance') {
          return prefix || phrase
            ? fieldMatches(match, where, narrow, o.after, o.limit, { words, bound: o.bylineId || o.tag ? EXPANDED.filtered : EXPANDED.walk })
            : rankedMatches(match, where, o.after, o.limit, () => narrowTo(o)?.rows)
        }
        // by date: the index drives (CROSS JOIN fixes the order), each match read with its filter columns
        return db.all<{ id: string, rank: null }>(sql`
          select ${articleSearch.articleId} as id, null as rank
          from articles_fts cross join ${articleSearch} on ${articleSearch.doc} = articles_fts.rowid
          where articles_fts match ${match} and ${narrow ?? sql`1`} and ${and(...where) ?? sql`1`}
          order by ${sql.join(order, sql`, `)}
          limit ${o.limit}`)
      }
      const hits: { id: string, rank: number | null, changedAt?: Date }[] = o.match === undefined
        // (the time of change only for a list of changes: a front's newest are read from a covering index)
        ? db.select({ id: articleSearch.articleId, ...changes ? { changedAt: articleSearch.changedAt } : {} }).from(articleSearch).where(and(...where)).orderBy(...order).limit(o.limit).all()
          .map((r) => ({ id: r.id, rank: null, changedAt: (r as { changedAt?: Date }).changedAt }))
        : searched(o.match)
      const byId = new Map((await this.findMany(hits.map((h) => h.id))).map((r) => [r.id, r]))
      return hits.map((h) => ({ row: byId.get(h.id)!, rank: h.rank, changedAt: h.changedAt }))
    },
    /** The next moment a scheduled article becomes visible to readers, if any. */
    async nextPublication (now: Date): Promise<Date | null> {
      const row = db.select({ at: sql<number | null>`min(${articles.publishedAt})` }).from(articles)
        .where(and(eq(articles.status, 'published'), gt(articles.publishedAt, now))).get()
      return row?.at ? new Date(row.at) : null
    },
    async findMany (ids: string[]) {
      if (ids.length === 0) return []
      return prepared.many.all({ ids: idList(ids) })
    },
    /**
     * Writes the article's search row (the columns searches filter on) and answers its document number in the
     * full-text index, in the caller's transaction. The row keeps its time of change (see changedWith); a new one
     * (a new article, or an index rebuilt from nothing) takes the latest of the article's dates that has passed (not a
     * time still to come: a scheduled story is marked when it goes live).
     */
    async searchRow (row: Pick<ArticleRow, 'id' | 'status' | 'publishedAt' | 'updatedAt' | 'createdAt' | 'sectionId'>) {
      const passed = row.publishedAt !== null && row.publishedAt.getTime() <= Date.now() ? row.publishedAt.getTime() : 0
      const at = new Date(Math.max(row.updatedAt.getTime(), row.createdAt.getTime(), passed))
      return prepared.searchRow.get(encode(articleSearch, {
        articleId: row.id, status: row.status, publishedAt: row.publishedAt, updatedAt: row.updatedAt, sectionId: row.sectionId, changedAt: at
      }))!.doc
    },
    /** Puts a document in the full-text index (replacing what was there), in the caller's transaction. */
    async index (doc: number, text: SearchDocument) {
      db.run(sql`delete from articles_fts where rowid = ${doc}`)
      db.run(sql`insert into articles_fts (rowid, headline, summary, body, tags, bylines)
        values (${doc}, ${text.headline}, ${text.summary}, ${text.body}, ${text.tags}, ${text.bylines})`)
    },
    /** Puts a document's short fields in their own index (see fieldMatches), in the caller's transaction. */
    async indexShortFields (doc: number, text: SearchDocument) {
      db.run(sql`delete from articles_fts_short where rowid = ${doc}`)
      db.run(sql`insert into articles_fts_short (rowid, headline, summary, tags, bylines)
        values (${doc}, ${text.headline}, ${text.summary}, ${text.tags}, ${text.bylines})`)
    },
    /**
     * One bounded step of merging the full-text index back into a single segment: at most `pages` pages
     * (about 4 KB each) are written. Every group of writes adds a segment and FTS5 merges them only level by
     * level, so an index written over time holds a dozen or more; a search looks each term up in every one,
     * and a merged index answers lookups by document (filtered searches) about five times faster.
     * Answers whether there was work to do.
     */
    async mergeSearchIndex (pages: number) {
      const changes = () => db.get<{ n: number }>(sql`select total_changes() as n`).n
      const step = (table: 'articles_fts' | 'articles_fts_short') => {
        const before = changes()
        db.run(sql`insert into ${sql.identifier(table)} (${sql.identifier(table)}, rank) values ('merge', ${-pages})`)
        // FTS5's documented signal: the command changed two or more rows when it did any merging
        return changes() - before >= 2
      }
      return step('articles_fts') || step('articles_fts_short')
    },
    async idsWithPhoto (photoId: string) {
      return db.select({ id: articlePhotos.articleId }).from(articlePhotos).where(eq(articlePhotos.photoId, photoId)).all().map((r) => r.id)
    },
    /** Article ids in id order, `limit` at a time after `after` (a walk over every article). */
    async idsAfter (after: string, limit: number) {
      return db.select({ id: articles.id }).from(articles).where(gt(articles.id, after)).orderBy(asc(articles.id)).limit(limit).all().map((r) => r.id)
    },
    async idsWithByline (bylineId: string) {
      return db.selectDistinct({ id: articleBylines.articleId }).from(articleBylines).where(eq(articleBylines.bylineId, bylineId)).all().map((r) => r.id)
    },
    /** A new article with the rows that index its bylines, tags and photos. */
    async insert (row: ArticleInsert, links: ArticleLinks) {
      prepared.insert.run(encode(articles, row))
      insertLinks(row.id, links, { status: row.status ?? 'draft', publishedAt: row.publishedAt ?? null })
    },
    async update (id: string, fields: Partial<ArticleInsert>) {
      db.update(articles).set(fields).where(eq(articles.id, id)).run()
    },
    /**
     * Marks as changed at `at` (see articleSearch.changedAt) the given articles, or those whose pages show a photo, a
     * byline, a section (`sectionIds`: it and its subsections, whose breadcrumbs show it) or, in a related link, one of
     * the `linkingTo` articles. A time of change never goes back.
     */
    async changedWith (shown: { articleIds: string[] } | { photoId: string } | { bylineId: string } | { sectionIds: string[] } | { linkingTo: string[] }, at: Date) {
      const s = articleSearch
      const showing = (): SQL => {
        if ('articleIds' in shown) return inArray(s.articleId, shown.articleIds)
        if ('sectionIds' in shown) return inArray(s.sectionId, shown.sectionIds)
        const ids = 'photoId' in shown
          ? db.select({ id: articlePhotos.articleId }).from(articlePhotos).where(eq(articlePhotos.photoId, shown.photoId))
          : 'bylineId' in shown
            ? db.select({ id: articleBylines.articleId }).from(articleBylines).where(eq(articleBylines.bylineId, shown.bylineId))
            : db.select({ id: articleRelated.articleId }).from(articleRelated).where(inArray(articleRelated.targetId, shown.linkingTo))
        return inArray(s.articleId, ids)
      }
      // first the stories gone live by then: stamped at or after its time, one would leave the partial index unmarked
      // (the stories linking to it never marked, its removal kept)
      await this.settleGoneLive(at)
      stamp(showing(), at)
    },
    /**
     * Scheduled articles whose time has come (`at`) and are not marked as changed since: readers see them from that
     * moment with no write, so a copy following the changes would never learn of them. The partial index
     * article_search_going_live_idx holds just these, and is named: SQLite would rather walk every published article
     * by publication time (its condition is written out as the index has it, which lets SQLite use it). At most 500
     * at a time (a backlog, say of articles imported around the service, is marked 500 a second).
     */
    async goneLive (at: Date) {
      return db.all<{ id: string }>(sql`select article_id as id from article_search indexed by article_search_going_live_idx
        where status = 'published' and changed_at < published_at and published_at <= ${at.getTime()} limit 500`).map((r) => r.id)
    },
    /**
     * Marks the articles gone live by `at` (see goneLive) as changed then, with the articles whose related links show
     * them, and takes them off the removals (out again); answers how many. In the caller's transaction.
     */
    async settleGoneLive (at: Date): Promise<number> {
      const due = await this.goneLive(at)
      if (due.length === 0) return 0
      const s = articleSearch
      const linking = db.select({ id: articleRelated.articleId }).from(articleRelated).where(inArray(articleRelated.targetId, due))
      stamp(or(inArray(s.articleId, due), inArray(s.articleId, linking))!, at)
      db.delete(articleRemovals).where(inArray(articleRemovals.articleId, due)).run()
      return due.length
    },
    /**
     * Notes that readers no longer see an article (see articleRemovals): a row per article, the latest removal's
     * time. Once public, always (readers may still hold it from its time out), with the slug readers last saw: a
     * story taken down, given a new slug and deleted is still known to them by the old one (and the new one, never
     * out, is not shown).
     */
    async removed (row: RemovalRow) {
      db.insert(articleRemovals).values(row).onConflictDoUpdate({
        target: articleRemovals.articleId,
        set: {
          slug: sql`case when ${articleRemovals.public} then ${articleRemovals.slug} else excluded.slug end`,
          removedAt: row.removedAt,
          deleted: row.deleted,
          public: sql`${articleRemovals.public} or excluded.public`
        }
      }).run()
    },
    /** The slug readers last saw an article under, when they had it and no longer see it (see removed). */
    async slugLastSeen (articleId: string): Promise<string | undefined> {
      return db.select({ slug: articleRemovals.slug }).from(articleRemovals)
        .where(and(eq(articleRemovals.articleId, articleId), eq(articleRemovals.public, true))).get()?.slug
    },
    /** The article is out again: no longer a removal. */
    async notRemoved (articleId: string) {
      db.delete(articleRemovals).where(eq(articleRemovals.articleId, articleId)).run()
    },
    /** Removals at or after `since`, oldest first: deleted ones, or with `publicOnly` the ones readers had. */
    async removals (o: { publicOnly: boolean, since?: Date, after?: [Date, string], limit: number }) {
      const t = articleRemovals
      return db.select().from(t).where(and(
        o.publicOnly ? eq(t.public, true) : eq(t.deleted, true),
        o.since ? gte(t.removedAt, o.since) : undefined,
        o.after ? after([t.removedAt, t.articleId], o.after, false) : undefined
      )).orderBy(asc(t.removedAt), asc(t.articleId)).limit(o.limit).all()
    },
    async delete (id: string) {
      db.delete(articles).where(eq(articles.id, id)).run()
    },
    /** Replaces the rows that index an article's bylines, tags and photos (`seen`: the article as it now is). */
    async replaceLinks (articleId: string, links: ArticleLinks, seen: Pick<ArticleRow, 'status' | 'publishedAt'>) {
      db.delete(articleBylines).where(eq(articleBylines.articleId, articleId)).run()
      db.delete(articleTags).where(eq(articleTags.articleId, articleId)).run()
      db.delete(articlePhotos).where(eq(articlePhotos.articleId, articleId)).run()
      insertLinks(articleId, links, seen)
    },
    /** The bylines of many articles, with the byline's own fields, in one statement. */
    async bylinesOf (articleIds: string[]) {
      if (articleIds.length === 0) return []
      return prepared.bylinesOf.all({ ids: idList(articleIds) })
    },
    /**
     * The related links of many articles, each joined to its target, in one statement.
     * With `publicOnly`, links to articles readers cannot see are left out.
     */
    async relatedOf (articleIds: string[], publicOnly: boolean, now: Date) {
      if (articleIds.length === 0) return []
      const rows = publicOnly
        ? prepared.relatedVisible.all({ ids: idList(articleIds), now: now.getTime() })
        : prepared.related.all({ ids: idList(articleIds) })
      return rows.map(({ target, ...r }) => ({ ...r, target: r.targetId === null ? null : target! }))
    },
    async relatedCount (articleId: string) {
      return db.select({ n: sql<number>`count(*)` }).from(articleRelated).where(eq(articleRelated.articleId, articleId)).get()!.n
    },
    async replaceRelated (articleId: string, links: RelatedInsert[]) {
      db.delete(articleRelated).where(eq(articleRelated.articleId, articleId)).run()
      if (links.length) db.insert(articleRelated).values(links.map((l, position) => ({ articleId, position, ...l }))).run()
    },
    async appendRelated (articleId: string, link: RelatedInsert) {
      const next = db.select({ p: sql<number>`coalesce(max(${articleRelated.position}) + 1, 0)` }).from(articleRelated)
        .where(eq(articleRelated.articleId, articleId)).get()!.p
      db.insert(articleRelated).values({ articleId, position: next, ...link }).run()
    },
    async deleteRelated (articleId: string, linkId: string) {
      return db.delete(articleRelated).where(and(eq(articleRelated.articleId, articleId), eq(articleRelated.id, linkId))).run().changes > 0
    },
    /** The related links as stored (input form, with their ids), in order. */
    async relatedLinks (articleId: string) {
      return db.select({ id: articleRelated.id, articleId: articleRelated.targetId, url: articleRelated.url, headline: articleRelated.headline, summary: articleRelated.summary })
        .from(articleRelated).where(eq(articleRelated.articleId, articleId)).orderBy(asc(articleRelated.position)).all()
    },
    /** The other articles with a related link to this one. */
    async linkingTo (targetId: string) {
      return db.selectDistinct({ id: articleRelated.articleId }).from(articleRelated)
        .where(and(eq(articleRelated.targetId, targetId), ne(articleRelated.articleId, targetId))).all().map((r) => r.id)
    },
    /** Whether any revision of the article was published, scheduled or archived: a story readers may have seen. */
    async everPublished (articleId: string) {
      return db.select({ n: articleRevisions.number }).from(articleRevisions)
        .where(and(eq(articleRevisions.articleId, articleId), sql`${articleRevisions.content} ->> '$.status' <> 'draft'`)).limit(1).get() !== undefined
    },
    async insertRevision (row: RevisionRow) {
      prepared.insertRevision.run(encode(articleRevisions, row))
    },
    /** Newest first, without their content. */
    async listRevisions (articleId: string, options: { before?: number, limit: number }) {
      return db.select({
        number: articleRevisions.number,
        createdAt: articleRevisions.createdAt,
        keyId: articleRevisions.keyId,
        keyName: articleRevisions.keyName,
        action: articleRevisions.action
      }).from(articleRevisions)
        .where(and(eq(articleRevisions.articleId, articleId), options.before === undefined ? undefined : lt(articleRevisions.number, options.before)))
        .orderBy(desc(articleRevisions.number)).limit(options.limit).all()
    },
    async findRevision (articleId: string, number: number) {
      return db.select().from(articleRevisions)
        .where(and(eq(articleRevisions.articleId, articleId), eq(articleRevisions.number, number))).get()
    }
  }
}
