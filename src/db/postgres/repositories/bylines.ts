import { eq, and, ne, sql, inArray, getTableColumns, type SQL } from 'drizzle-orm'
import { bylines, articleBylines, articles } from '../schema.js'
import type { PgDb } from '../client.js'
import { after, orderBy, likeContains } from '../../keyset.js'
import { foldedForMatching, sortKeyOf } from '../../names.js'

/** A row as the service reads and writes it (the sort and match keys are the repository's: see sortName, foldedName). */
export type BylineRow = Omit<typeof bylines.$inferSelect, 'sortName' | 'foldedName'>
export type BylineKey = [string, string]

/** The columns a byline is read with: the SQLite row's (foldedName is PostgreSQL's own, for `q` only). */
const { foldedName: _foldedName, ...columns } = getTableColumns(bylines)

/** The keys the repository writes with a name. */
const namedKeys = (name: string) => ({ sortName: sortKeyOf(name), foldedName: foldedForMatching(name) })

/** The bylines repository on PostgreSQL: the same functions as the SQLite one. */
export function bylinesRepository (db: () => PgDb) {
  return {
    async findById (id: string) {
      return (await db().select(columns).from(bylines).where(eq(bylines.id, id)).limit(1))[0]
    },
    async findBySlug (slug: string) {
      return (await db().select(columns).from(bylines).where(eq(bylines.slug, slug)).limit(1))[0]
    },
    async slugTaken (slug: string, exceptId?: string) {
      const where = exceptId ? and(eq(bylines.slug, slug), ne(bylines.id, exceptId)) : eq(bylines.slug, slug)
      return (await db().select({ id: bylines.id }).from(bylines).where(where).limit(1)).length > 0
    },
    /**
     * Ordered by name as a reader looks one up, ignoring case and diacritics (Émile between beta and zeta: see
     * foldedForMatching); `q` matches any part of the name the same way.
     */
    async list (options: { kind?: BylineRow['kind'], q?: string, after?: BylineKey, limit: number }) {
      const where: SQL[] = []
      if (options.kind) where.push(eq(bylines.kind, options.kind))
      if (options.q) where.push(sql`${bylines.foldedName} like ${likeContains(foldedForMatching(options.q))} escape '\\'`)
      const key = [bylines.sortName, bylines.id]
      if (options.after) where.push(after(key, options.after, false))
      return db().select(columns).from(bylines).where(and(...where)).orderBy(...orderBy(key, false)).limit(options.limit)
    },
    async existing (ids: string[]) {
      if (ids.length === 0) return new Set<string>()
      return new Set((await db().select({ id: bylines.id }).from(bylines).where(inArray(bylines.id, ids))).map((r) => r.id))
    },
    async inUse (id: string) {
      return (await db().select({ id: articleBylines.articleId }).from(articleBylines).where(eq(articleBylines.bylineId, id)).limit(1)).length > 0
    },
    /** Whether a published (or scheduled) article carries the byline. */
    async creditedOnPublished (id: string) {
      return (await db().select({ id: articleBylines.articleId }).from(articleBylines)
        .innerJoin(articles, eq(articles.id, articleBylines.articleId))
        .where(and(eq(articleBylines.bylineId, id), eq(articles.status, 'published'))).limit(1)).length > 0
    },
    async insert (row: Omit<typeof bylines.$inferInsert, 'sortName' | 'foldedName'>) {
      await db().insert(bylines).values({ ...row, ...namedKeys(row.name) })
    },
    async update (id: string, fields: Partial<BylineRow>) {
      await db().update(bylines).set(fields.name === undefined ? fields : { ...fields, ...namedKeys(fields.name) }).where(eq(bylines.id, id))
    },
    async delete (id: string) {
      await db().delete(bylines).where(eq(bylines.id, id))
    }
  }
}
