import { eq, ne, and, or, sql, inArray, isNull, lte, gt, gte, lt, asc, desc, type SQL, type AnyColumn } from 'drizzle-orm'
import { articles, articleBylines, articleTags, articlePhotos, articleRelated, articleRevisions, articleSearch, articleSearchParts, articleFormerSlugs, articleRemovals, bylines } from '../schema.js'
import type { PgDb } from '../client.js'
import { after } from '../../keyset.js'
import { SEARCH_CANDIDATES, pageOf } from '../../ranked.js'
import { tsvectorOf, tsqueryOf, phraseOrPrefix, vectorOf, phraseParts, phrasesOf } from '../words.js'
import type { ArticleRow, ArticleInsert, ArticleKey, ArticleLinks, ArticleListOptions, RelatedInsert, RemovalRow, RevisionRow, SearchDocument } from '../../sqlite/repositories/articles.js'

/**
 * What a match weighs in each field, as on SQLite (headline 10, bylines 4, tags 3, summary 2, body 1): ts_rank's
 * weights of the four classes (D summary and body, C tags, B bylines, A headline), and the summary's own words add
 * the summary's share (see articleSearch.summaryDocument).
 */
const WEIGHTS = '{0.1, 0.3, 0.4, 1.0}'
const SUMMARY_WEIGHT = 0.1
/** The fields a phrase or prefix is ranked by (see relevance): their weight class, and what a match in them weighs. */
const FIELDS = [['A', 10], ['B', 4], ['C', 3]] as const
const SUMMARY_FIELD = 2

/**
 * A search hit's rank, lower first (as SQLite's bm25). Words: ts_rank over the weighted fields. A phrase or a prefix,
 * as on SQLite (see fieldMatches there): the weight of the fields any of the query's terms is found in (headline 10,
 * bylines 4, tags 3, summary 2; the body, where nearly every match is, nothing), then publication, newest first.
 */
function relevance (match: string): SQL<number> {
  const s = articleSearch
  if (!phraseOrPrefix(match)) {
    // ranked as any of the words (the hit has them all): ts_rank of all of them together weighs how close they stand
    // more than the fields they are in (a story with two words side by side in its body outranked a headline match)
    const query = sql`${tsqueryOf(match, { any: true })}::tsquery`
    // normalization 1: divided by 1 + the logarithm of the article's length, so that of two articles with the same
    // matches the shorter ranks first (as BM25 has it)
    return sql<number>`-(ts_rank(${WEIGHTS}::float4[], ${s.document}, ${query}, 1) + ${SUMMARY_WEIGHT}::float4 * coalesce(ts_rank(${s.summaryDocument}, ${query}, 1), 0))::float8`
  }
  const found = (vector: AnyColumn, weight?: 'A' | 'B' | 'C') => sql`(${vector} @@ ${tsqueryOf(match, { any: true, weight })}::tsquery)::int`
  const weight = sql.join([...FIELDS.map(([w, n]) => sql`${sql.raw(String(n))} * ${found(s.document, w)}`), sql`${sql.raw(String(SUMMARY_FIELD))} * ${found(s.summaryDocument)}`], sql` + `)
  return sql<number>`-((${weight}) * 1e13 + coalesce(extract(epoch from ${s.publishedAt}) * 1000, 0))::float8`
}

/**
 * The search rows a query matches. A phrase is looked for in the row's document and, for a long article whose
 * document cannot hold every position of its words (see articleSearchParts), in its parts: every word in the document
 * (which holds each of them, if not each of its positions; the GIN index finds those rows), and each phrase in it or in
 * one part.
 */
function matching (match: string): SQL {
  const s = articleSearch
  const phrases = phrasesOf(match)
  if (phrases.length === 0) return sql`${s.document} @@ ${tsqueryOf(match)}::tsquery`
  const p = articleSearchParts
  const found = phrases.map((phrase) =>
    sql`(${s.document} @@ ${phrase}::tsquery or (${s.parted} and exists (select 1 from ${p} where ${p.doc} = ${s.doc} and ${p.document} @@ ${phrase}::tsquery)))`)
  return sql`(${s.document} @@ ${tsqueryOf(match, { loose: true })}::tsquery and ${sql.join(found, sql` and `)})`
}

export function articlesRepository (db: () => PgDb) {
  const visible = (now: Date) => and(eq(articles.status, 'published'), lte(articles.publishedAt, now))
  const s = articleSearch

  /**
   * A time of change for a write at `at`: at least a millisecond after every one stamped before, so that the change
   * feed's order is the order of the commits (writes hold the database's write lock: see the client) even when the
   * instances' clocks are a little apart.
   */
  const changeTime = (at: Date) =>
    sql`greatest(${at.toISOString()}::timestamptz, (select max(${s.changedAt}) from ${s}) + interval '1 millisecond')`

  /** Marks the search rows meeting `condition` as changed at `at` (see changeTime): a time of change never goes back. */
  const stamp = (condition: SQL, at: Date) =>
    db().update(s).set({ changedAt: changeTime(at) }).where(and(condition, sql`${s.changedAt} < ${changeTime(at)}`))

  /** Keyset condition for a sort on a column that may be NULL; NULLs sort lowest, as on SQLite (see order). */
  function afterNullable (column: AnyColumn, idColumn: AnyColumn, key: ArticleKey, descending: boolean): SQL {
    const [value, id] = key
    if (value === null) {
      return descending
        ? and(isNull(column), lt(idColumn, id))!
        : or(and(isNull(column), gt(idColumn, id)), sql`${column} is not null`)!
    }
    const rest = after([column, idColumn], [value, id], descending)
    return descending ? or(rest, isNull(column))! : rest
  }

  /** The order of a list: NULLs lowest, as SQLite orders them (PostgreSQL puts them highest). */
  const order = (column: AnyColumn, id: AnyColumn, descending: boolean) => descending
    ? [sql`${column} desc nulls last`, sql`${id} desc`]
    : [sql`${column} asc nulls first`, sql`${id} asc`]

  function insertLinks (articleId: string, links: ArticleLinks, seen: Pick<ArticleRow, 'status' | 'publishedAt'>) {
    const { status, publishedAt } = seen
    return Promise.all([
      links.bylines.length && db().insert(articleBylines).values(links.bylines.map((b, position) => ({ articleId, position, ...b, status, publishedAt }))),
      links.tags.length && db().insert(articleTags).values(links.tags.map((tag) => ({ articleId, tag, status, publishedAt }))),
      links.photoIds.length && db().insert(articlePhotos).values(links.photoIds.map((photoId) => ({ articleId, photoId })))
    ])
  }

  const first = <T> (rows: T[]): T | undefined => rows[0]

  async function findMany (ids: string[]) {
    if (ids.length === 0) return []
    return db().select().from(articles).where(inArray(articles.id, ids))
  }

  /** The articles of a page of hits, in its order. */
  async function rowsOf (hits: { id: string, rank: number | null, changedAt?: Date }[]) {
    const byId = new Map((await findMany(hits.map((h) => h.id))).map((r) => [r.id, r]))
    return hits.map((h) => ({ row: byId.get(h.id)!, rank: h.rank, ...h.changedAt ? { changedAt: h.changedAt } : {} }))
  }

  return {
    async findById (id: string, publicOnly: boolean, now: Date) {
      return first(await db().select().from(articles).where(publicOnly ? and(eq(articles.id, id), visible(now)) : eq(articles.id, id)))
    },
    async findBySlug (slug: string, publicOnly: boolean, now: Date) {
      return first(await db().select().from(articles).where(publicOnly ? and(eq(articles.slug, slug), visible(now)) : eq(articles.slug, slug)))
    },
    async slugTaken (slug: string, exceptId?: string): Promise<boolean | 'former'> {
      if ((await db().select({ id: articles.id }).from(articles).where(eq(articles.slug, slug))).some((owner) => owner.id !== exceptId)) return true
      const former = first(await db().select({ id: articleFormerSlugs.articleId }).from(articleFormerSlugs).where(eq(articleFormerSlugs.slug, slug)))
      return former !== undefined && former.id !== exceptId ? 'former' : false
    },
    async withFormerSlug (slug: string): Promise<string | undefined> {
      return first(await db().select({ id: articleFormerSlugs.articleId }).from(articleFormerSlugs).where(eq(articleFormerSlugs.slug, slug)))?.id
    },
    async slugChanged (articleId: string, from: string, to: string, at: Date, keep: boolean) {
      if (keep) await db().insert(articleFormerSlugs).values({ slug: from, articleId, createdAt: at }).onConflictDoNothing()
      await db().delete(articleFormerSlugs).where(and(eq(articleFormerSlugs.slug, to), eq(articleFormerSlugs.articleId, articleId)))
    },
    async existing (ids: string[]) {
      if (ids.length === 0) return new Set<string>()
      return new Set((await db().select({ id: articles.id }).from(articles).where(inArray(articles.id, ids))).map((r) => r.id))
    },
    /**
     * One page of articles, filtered and sorted on the search rows' copies of the article's columns (see
     * articleSearch). With `match`, only the articles the full-text index finds; by relevance, the newest
     * SEARCH_CANDIDATES matches ranked among themselves by ts_rank over the weighted fields, as on SQLite.
     */
    async list (o: ArticleListOptions): Promise<{ row: ArticleRow, rank: number | null, changedAt?: Date }[]> {
      // a search and a list of changes filter and sort on the search rows (their words, their time of change, and
      // copies of the article's columns); any other list on the articles themselves, so that it follows every write
      // to them, as the SQLite lists (which read the copies the database keeps) do
      const changes = o.match === undefined && (o.sort.endsWith('changedAt') || o.changedSince !== undefined)
      const t = o.match !== undefined || changes
        ? { id: s.articleId, status: s.status, publishedAt: s.publishedAt, updatedAt: s.updatedAt, sectionId: s.sectionId }
        : { id: articles.id, status: articles.status, publishedAt: articles.publishedAt, updatedAt: articles.updatedAt, sectionId: articles.sectionId }
      const where: (SQL | undefined)[] = []
      if (o.publicOnly) where.push(and(eq(t.status, 'published'), lte(t.publishedAt, o.now)))
      if (o.status) where.push(eq(t.status, o.status))
      if (o.sectionIds) where.push(inArray(t.sectionId, o.sectionIds))
      if (o.bylineId) where.push(inArray(t.id, db().select({ id: articleBylines.articleId }).from(articleBylines).where(eq(articleBylines.bylineId, o.bylineId))))
      if (o.tag) where.push(inArray(t.id, db().select({ id: articleTags.articleId }).from(articleTags).where(eq(articleTags.tag, o.tag))))
      if (o.publishedAfter) where.push(gte(t.publishedAt, o.publishedAfter))
      if (o.publishedBefore) where.push(lt(t.publishedAt, o.publishedBefore))
      if (o.updatedSince) where.push(gte(t.updatedAt, o.updatedSince))
      if (o.changedSince) where.push(gte(s.changedAt, o.changedSince))
      if (o.match !== undefined) where.push(matching(o.match))
      if (o.sort === 'relevance' && o.match !== undefined) {
        const candidates = await db().select({ id: s.articleId, doc: s.doc, rank: relevance(o.match) })
          .from(s).where(and(...where)).orderBy(desc(s.doc)).limit(SEARCH_CANDIDATES)
        return rowsOf(pageOf(candidates, o.after, o.limit))
      }
      const column = o.sort.endsWith('publishedAt') ? t.publishedAt : o.sort.endsWith('changedAt') ? s.changedAt : t.updatedAt
      if (o.sort !== 'relevance' && o.after) where.push(afterNullable(column, t.id, o.after as [Date | null, string], o.sort.startsWith('-')))
      const sorted = order(column, t.id, o.sort.startsWith('-'))
      if (t.id === articles.id) {
        return (await db().select().from(articles).where(and(...where)).orderBy(...sorted).limit(o.limit)).map((row) => ({ row, rank: null }))
      }
      const hits = await db().select({ id: s.articleId, changedAt: s.changedAt }).from(s).where(and(...where)).orderBy(...sorted).limit(o.limit)
      return rowsOf(hits.map((h) => ({ id: h.id, rank: null, ...changes ? { changedAt: h.changedAt } : {} })))
    },
    async nextPublication (now: Date): Promise<Date | null> {
      return first(await db().select({ at: articles.publishedAt }).from(articles)
        .where(and(eq(articles.status, 'published'), gt(articles.publishedAt, now))).orderBy(asc(articles.publishedAt)).limit(1))?.at ?? null
    },
    findMany,
    /** Writes the article's search row and answers its number (see the SQLite repository's). */
    async searchRow (row: Pick<ArticleRow, 'id' | 'status' | 'publishedAt' | 'updatedAt' | 'createdAt' | 'sectionId'>) {
      const passed = row.publishedAt !== null && row.publishedAt.getTime() <= Date.now() ? row.publishedAt.getTime() : 0
      const at = new Date(Math.max(row.updatedAt.getTime(), row.createdAt.getTime(), passed))
      const [written] = await db().insert(s).values({
        articleId: row.id, status: row.status, publishedAt: row.publishedAt, updatedAt: row.updatedAt, sectionId: row.sectionId, changedAt: changeTime(at)
      }).onConflictDoUpdate({
        target: s.articleId,
        set: { status: sql`excluded.status`, publishedAt: sql`excluded.published_at`, updatedAt: sql`excluded.updated_at`, sectionId: sql`excluded.section_id` }
      }).returning({ doc: s.doc })
      return written!.doc
    },
    /** Puts a document in the full-text index: its search row's words (see articleSearch.document). */
    async index (doc: number, text: SearchDocument) {
      const { vector, exact } = vectorOf([[text.headline, 'A'], [text.bylines, 'B'], [text.tags, 'C'], [text.summary, 'D'], [text.body, 'D']])
      // a long body's phrases in parts of their own (see articleSearchParts), written again with the document
      const parts = exact ? [] : phraseParts(text.body)
      const [was] = await db().update(s).set({ document: vector, summaryDocument: tsvectorOf([[text.summary, 'D']]), parted: parts.length > 0 })
        .where(eq(s.doc, doc)).returning({ parted: sql<boolean>`(select parted from ${s} where ${s.doc} = ${doc})` })
      if (was?.parted) await db().delete(articleSearchParts).where(eq(articleSearchParts.doc, doc))
      if (parts.length > 0) await db().insert(articleSearchParts).values(parts.map((document, part) => ({ doc, part, document })))
    },
    /** Nothing: the weighted tsvector written by `index` ranks the short fields too (SQLite keeps them in an index of their own). */
    async indexShortFields (_doc: number, _text: SearchDocument) {},
    /** Nothing to merge: PostgreSQL keeps its GIN index itself (answers that there was no work). */
    async mergeSearchIndex (_pages: number) {
      return false
    },
    async idsWithPhoto (photoId: string) {
      return (await db().select({ id: articlePhotos.articleId }).from(articlePhotos).where(eq(articlePhotos.photoId, photoId))).map((r) => r.id)
    },
    async idsAfter (afterId: string, limit: number) {
      return (await db().select({ id: articles.id }).from(articles).where(gt(articles.id, afterId)).orderBy(asc(articles.id)).limit(limit)).map((r) => r.id)
    },
    async idsWithByline (bylineId: string) {
      return (await db().selectDistinct({ id: articleBylines.articleId }).from(articleBylines).where(eq(articleBylines.bylineId, bylineId))).map((r) => r.id)
    },
    async insert (row: ArticleInsert, links: ArticleLinks) {
      await db().insert(articles).values(row)
      await insertLinks(row.id, links, { status: row.status ?? 'draft', publishedAt: row.publishedAt ?? null })
    },
    async update (id: string, fields: Partial<ArticleInsert>) {
      await db().update(articles).set(fields).where(eq(articles.id, id))
    },
    async changedWith (shown: { articleIds: string[] } | { photoId: string } | { bylineId: string } | { sectionIds: string[] } | { linkingTo: string[] }, at: Date) {
      const showing = (): SQL => {
        if ('articleIds' in shown) return inArray(s.articleId, shown.articleIds)
        if ('sectionIds' in shown) return inArray(s.sectionId, shown.sectionIds)
        const ids = 'photoId' in shown
          ? db().select({ id: articlePhotos.articleId }).from(articlePhotos).where(eq(articlePhotos.photoId, shown.photoId))
          : 'bylineId' in shown
            ? db().select({ id: articleBylines.articleId }).from(articleBylines).where(eq(articleBylines.bylineId, shown.bylineId))
            : db().select({ id: articleRelated.articleId }).from(articleRelated).where(inArray(articleRelated.targetId, shown.linkingTo))
        return inArray(s.articleId, ids)
      }
      await this.settleGoneLive(at)
      await stamp(showing(), at)
    },
    /** Scheduled articles whose time has come and are not marked as changed since (see the SQLite repository's). */
    async goneLive (at: Date) {
      return (await db().select({ id: s.articleId }).from(s)
        .where(and(eq(s.status, 'published'), sql`${s.changedAt} < ${s.publishedAt}`, lte(s.publishedAt, at))).limit(500)).map((r) => r.id)
    },
    async settleGoneLive (at: Date): Promise<number> {
      const due = await this.goneLive(at)
      if (due.length === 0) return 0
      const linking = db().select({ id: articleRelated.articleId }).from(articleRelated).where(inArray(articleRelated.targetId, due))
      await stamp(or(inArray(s.articleId, due), inArray(s.articleId, linking))!, at)
      await db().delete(articleRemovals).where(inArray(articleRemovals.articleId, due))
      return due.length
    },
    async removed (row: RemovalRow) {
      await db().insert(articleRemovals).values(row).onConflictDoUpdate({
        target: articleRemovals.articleId,
        set: {
          slug: sql`case when ${articleRemovals.public} then ${articleRemovals.slug} else excluded.slug end`,
          removedAt: row.removedAt,
          deleted: row.deleted,
          public: sql`${articleRemovals.public} or excluded.public`
        }
      })
    },
    async slugLastSeen (articleId: string): Promise<string | undefined> {
      return first(await db().select({ slug: articleRemovals.slug }).from(articleRemovals)
        .where(and(eq(articleRemovals.articleId, articleId), eq(articleRemovals.public, true))))?.slug
    },
    async notRemoved (articleId: string) {
      await db().delete(articleRemovals).where(eq(articleRemovals.articleId, articleId))
    },
    async removals (o: { publicOnly: boolean, since?: Date, after?: [Date, string], limit: number }) {
      const t = articleRemovals
      return db().select().from(t).where(and(
        o.publicOnly ? eq(t.public, true) : eq(t.deleted, true),
        o.since ? gte(t.removedAt, o.since) : undefined,
        o.after ? after([t.removedAt, t.articleId], o.after, false) : undefined
      )).orderBy(asc(t.removedAt), asc(t.articleId)).limit(o.limit)
    },
    async delete (id: string) {
      await db().delete(articles).where(eq(articles.id, id))
    },
    async replaceLinks (articleId: string, links: ArticleLinks, seen: Pick<ArticleRow, 'status' | 'publishedAt'>) {
      await db().delete(articleBylines).where(eq(articleBylines.articleId, articleId))
      await db().delete(articleTags).where(eq(articleTags.articleId, articleId))
      await db().delete(articlePhotos).where(eq(articlePhotos.articleId, articleId))
      await insertLinks(articleId, links, seen)
    },
    async bylinesOf (articleIds: string[]) {
      if (articleIds.length === 0) return []
      return db().select({
        articleId: articleBylines.articleId,
        role: articleBylines.role,
        bylineId: bylines.id,
        slug: bylines.slug,
        name: bylines.name,
        kind: bylines.kind,
        title: bylines.title
      }).from(articleBylines).innerJoin(bylines, eq(bylines.id, articleBylines.bylineId))
        .where(inArray(articleBylines.articleId, articleIds))
        .orderBy(asc(articleBylines.articleId), asc(articleBylines.position))
    },
    async relatedOf (articleIds: string[], publicOnly: boolean, now: Date) {
      if (articleIds.length === 0) return []
      const r = articleRelated
      const rows = await db().select({
        id: r.id,
        articleId: r.articleId,
        targetId: r.targetId,
        url: r.url,
        headline: r.headline,
        summary: r.summary,
        target: { slug: r.targetSlug, headline: r.targetHeadline, summary: r.targetSummary, publishedAt: r.targetPublishedAt }
      }).from(r)
        .where(and(
          inArray(r.articleId, articleIds),
          publicOnly ? or(isNull(r.targetId), and(eq(r.targetStatus, 'published'), lte(r.targetPublishedAt, now))) : undefined
        ))
        .orderBy(asc(r.articleId), asc(r.position))
      return rows.map(({ target, ...row }) => ({ ...row, target: row.targetId === null ? null : target! }))
    },
    async relatedCount (articleId: string) {
      return first(await db().select({ n: sql<number>`count(*)::int` }).from(articleRelated).where(eq(articleRelated.articleId, articleId)))!.n
    },
    async replaceRelated (articleId: string, links: RelatedInsert[]) {
      await db().delete(articleRelated).where(eq(articleRelated.articleId, articleId))
      if (links.length) await db().insert(articleRelated).values(links.map((l, position) => ({ articleId, position, ...l })))
    },
    async appendRelated (articleId: string, link: RelatedInsert) {
      const next = first(await db().select({ p: sql<number>`coalesce(max(${articleRelated.position}) + 1, 0)::int` }).from(articleRelated)
        .where(eq(articleRelated.articleId, articleId)))!.p
      await db().insert(articleRelated).values({ articleId, position: next, ...link })
    },
    async deleteRelated (articleId: string, linkId: string) {
      return (await db().delete(articleRelated).where(and(eq(articleRelated.articleId, articleId), eq(articleRelated.id, linkId))).returning({ id: articleRelated.id })).length > 0
    },
    async relatedLinks (articleId: string) {
      return db().select({ id: articleRelated.id, articleId: articleRelated.targetId, url: articleRelated.url, headline: articleRelated.headline, summary: articleRelated.summary })
        .from(articleRelated).where(eq(articleRelated.articleId, articleId)).orderBy(asc(articleRelated.position))
    },
    async linkingTo (targetId: string) {
      return (await db().selectDistinct({ id: articleRelated.articleId }).from(articleRelated)
        .where(and(eq(articleRelated.targetId, targetId), ne(articleRelated.articleId, targetId)))).map((r) => r.id)
    },
    async everPublished (articleId: string) {
      return first(await db().select({ n: articleRevisions.number }).from(articleRevisions)
        .where(and(eq(articleRevisions.articleId, articleId), sql`${articleRevisions.content} ->> 'status' <> 'draft'`)).limit(1)) !== undefined
    },
    async insertRevision (row: RevisionRow) {
      await db().insert(articleRevisions).values(row)
    },
    async listRevisions (articleId: string, options: { before?: number, limit: number }) {
      return db().select({
        number: articleRevisions.number,
        createdAt: articleRevisions.createdAt,
        keyId: articleRevisions.keyId,
        keyName: articleRevisions.keyName,
        action: articleRevisions.action
      }).from(articleRevisions)
        .where(and(eq(articleRevisions.articleId, articleId), options.before === undefined ? undefined : lt(articleRevisions.number, options.before)))
        .orderBy(desc(articleRevisions.number)).limit(options.limit)
    },
    async findRevision (articleId: string, number: number) {
      return first(await db().select().from(articleRevisions)
        .where(and(eq(articleRevisions.articleId, articleId), eq(articleRevisions.number, number))))
    }
  }
}
