import { eq, and, or, lte, exists, inArray, sql, type SQL } from 'drizzle-orm'
import { photos, articlePhotos, articles, articleBylines, bylines } from '../schema.js'
import type { PgDb } from '../client.js'
import { after, orderBy } from '../../keyset.js'

export type PhotoRow = typeof photos.$inferSelect
export type PhotoKey = [Date, string]

/** The photos repository on PostgreSQL: the same functions as the SQLite one. */
export function photosRepository (db: () => PgDb) {
  return {
    async findById (id: string) {
      return (await db().select().from(photos).where(eq(photos.id, id)).limit(1))[0]
    },
    async findMany (ids: string[]) {
      if (ids.length === 0) return []
      return db().select().from(photos).where(inArray(photos.id, ids))
    },
    /**
     * Newest first. `shownAt` keeps only the photos readers can see in use at that time: shown by a published article
     * (as its lead or in its body) or the portrait of a byline.
     */
    async list (options: { after?: PhotoKey, limit: number, shownAt?: Date }) {
      const where: (SQL | undefined)[] = []
      const key = [photos.createdAt, photos.id]
      if (options.after) where.push(after(key, options.after, true))
      if (options.shownAt) {
        where.push(or(
          exists(db().select({ one: sql`1` }).from(articlePhotos)
            .innerJoin(articles, eq(articles.id, articlePhotos.articleId))
            .where(and(eq(articlePhotos.photoId, photos.id), eq(articles.status, 'published'), lte(articles.publishedAt, options.shownAt)))),
          exists(db().select({ one: sql`1` }).from(bylines).where(eq(bylines.photoId, photos.id)))
        ))
      }
      return db().select().from(photos).where(and(...where)).orderBy(...orderBy(key, true)).limit(options.limit)
    },
    async existing (ids: string[]) {
      if (ids.length === 0) return new Set<string>()
      return new Set((await db().select({ id: photos.id }).from(photos).where(inArray(photos.id, ids))).map((r) => r.id))
    },
    /** What still shows the photo: an article (lead or body) or a byline's portrait. */
    async usedBy (id: string): Promise<'article' | 'byline' | undefined> {
      if ((await db().select({ id: articlePhotos.articleId }).from(articlePhotos).where(eq(articlePhotos.photoId, id)).limit(1)).length > 0) return 'article'
      if ((await db().select({ id: bylines.id }).from(bylines).where(eq(bylines.photoId, id)).limit(1)).length > 0) return 'byline'
      return undefined
    },
    /**
     * Whether a published (or scheduled) article shows the photo: as its lead or in its body, or as the portrait of
     * a byline it credits.
     */
    async shownByPublished (id: string) {
      const inArticle = await db().select({ id: articlePhotos.articleId }).from(articlePhotos)
        .innerJoin(articles, eq(articles.id, articlePhotos.articleId))
        .where(and(eq(articlePhotos.photoId, id), eq(articles.status, 'published'))).limit(1)
      if (inArticle.length > 0) return true
      const asPortrait = await db().select({ id: articleBylines.articleId }).from(bylines)
        .innerJoin(articleBylines, eq(articleBylines.bylineId, bylines.id))
        .innerJoin(articles, eq(articles.id, articleBylines.articleId))
        .where(and(eq(bylines.photoId, id), eq(articles.status, 'published'))).limit(1)
      return asPortrait.length > 0
    },
    async storageKeyInUse (storageKey: string) {
      return (await db().select({ id: photos.id }).from(photos).where(eq(photos.storageKey, storageKey)).limit(1)).length > 0
    },
    async insert (row: typeof photos.$inferInsert) {
      await db().insert(photos).values(row)
    },
    async update (id: string, fields: Partial<typeof photos.$inferInsert>) {
      await db().update(photos).set(fields).where(eq(photos.id, id))
    },
    async delete (id: string) {
      await db().delete(photos).where(eq(photos.id, id))
    }
  }
}
