import { eq, and, ne, sql, type SQL } from 'drizzle-orm'
import { bylines, articleBylines, articles } from '../schema.js'
import type { SqliteDb } from '../client.js'
import { inIds, idList } from '../prepared.js'
import { after, orderBy, likeContains } from '../../keyset.js'
import { foldedForMatching, sortKeyOf } from '../../names.js'

/** A row as the service reads and writes it (the sort key is the repository's: see sortName). */
export type BylineRow = Omit<typeof bylines.$inferSelect, 'sortName'>
export type BylineKey = [string, string]

export function bylinesRepository (db: SqliteDb) {
  // built and prepared once (see ../prepared.ts)
  const prepared = {
    existing: db.select({ id: bylines.id }).from(bylines).where(inIds(bylines.id)).prepare(),
  }
  return {
    async findById (id: string) {
      return db.select().from(bylines).where(eq(bylines.id, id)).get()
    },
    async findBySlug (slug: string) {
      return db.select().from(bylines).where(eq(bylines.slug, slug)).get()
    },
    async slugTaken (slug: string, exceptId?: string) {
      const where = exceptId ? and(eq(bylines.slug, slug), ne(bylines.id, exceptId)) : eq(bylines.slug, slug)
      return db.select({ id: bylines.id }).from(bylines).where(where).get() !== undefined
    },
    /**
     * Ordered by name as a reader looks one up, ignoring case and diacritics (Émile between beta and zeta: see
     * foldedForMatching); `q` matches any part of the name the same way.
     */
    async list (options: { kind?: BylineRow['kind'], q?: string, after?: BylineKey, limit: number }) {
      const where: SQL[] = []
      if (options.kind) where.push(eq(bylines.kind, options.kind))
      if (options.q) where.push(sql`fold(${bylines.name}) like ${likeContains(foldedForMatching(options.q))} escape '\\'`)
      const key = [bylines.sortName, bylines.id]
      if (options.after) where.push(after(key, options.after, false))
      return db.select().from(bylines).where(and(...where)).orderBy(...orderBy(key, false)).limit(options.limit).all()
    },
    async existing (ids: string[]) {
      if (ids.length === 0) return new Set<string>()
      return new Set(prepared.existing.all({ ids: idList(ids) }).map((r) => r.id))
    },
    async inUse (id: string) {
      return db.select({ id: articleBylines.articleId }).from(articleBylines).where(eq(articleBylines.bylineId, id)).limit(1).get() !== undefined
    },
    /** Whether a published (or scheduled) article carries the byline. */
    async creditedOnPublished (id: string) {
      return db.select({ id: articleBylines.articleId }).from(articleBylines)
        .innerJoin(articles, eq(articles.id, articleBylines.articleId))
        .where(and(eq(articleBylines.bylineId, id), eq(articles.status, 'published'))).limit(1).get() !== undefined
    },
    async insert (row: Omit<typeof bylines.$inferInsert, 'sortName'>) {
      db.insert(bylines).values({ ...row, sortName: sortKeyOf(row.name) }).run()
    },
    async update (id: string, fields: Partial<BylineRow>) {
      db.update(bylines).set(fields.name === undefined ? fields : { ...fields, sortName: sortKeyOf(fields.name) }).where(eq(bylines.id, id)).run()
    },
    async delete (id: string) {
      db.delete(bylines).where(eq(bylines.id, id)).run()
    }
  }
}
