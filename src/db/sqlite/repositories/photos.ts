import { eq, and, or, lte, exists, sql, type SQL } from 'drizzle-orm'
import { photos, articlePhotos, articles, articleBylines, bylines } from '../schema.js'
import type { SqliteDb } from '../client.js'
import { inIds, idList } from '../prepared.js'
import { after, orderBy } from '../../keyset.js'

export type PhotoRow = typeof photos.$inferSelect
export type PhotoKey = [Date, string]

export function photosRepository (db: SqliteDb) {
  // built and prepared once (see ../prepared.ts)
  const prepared = {
    existing: db.select({ id: photos.id }).from(photos).where(inIds(photos.id)).prepare(),
    many: db.select().from(photos).where(inIds(photos.id)).prepare(),
  }
  return {
    async findById (id: string) {
      return db.select().from(photos).where(eq(photos.id, id)).get()
    },
    async findMany (ids: string[]) {
      if (ids.length === 0) return []
      return prepared.many.all({ ids: idList(ids) })
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
        // the articles showing each photo, found from the photo (CROSS JOIN fixes the order: left to itself, SQLite
        // walked every published article for each photo)
        where.push(or(
          sql`exists (select 1 from ${articlePhotos} cross join ${articles} on ${articles.id} = ${articlePhotos.articleId}
            where ${articlePhotos.photoId} = ${photos.id} and ${and(eq(articles.status, 'published'), lte(articles.publishedAt, options.shownAt))})`,
          exists(db.select({ one: bylines.id }).from(bylines).where(eq(bylines.photoId, photos.id)))
        ))
      }
      return db.select().from(photos).where(and(...where)).orderBy(...orderBy(key, true)).limit(options.limit).all()
    },
    async existing (ids: string[]) {
      if (ids.length === 0) return new Set<string>()
      return new Set(prepared.existing.all({ ids: idList(ids) }).map((r) => r.id))
    },
    /** What still shows the photo: an article (lead or body) or a byline's portrait. */
    async usedBy (id: string): Promise<'article' | 'byline' | undefined> {
      if (db.select({ id: articlePhotos.articleId }).from(articlePhotos).where(eq(articlePhotos.photoId, id)).limit(1).get()) return 'article'
      if (db.select({ id: bylines.id }).from(bylines).where(eq(bylines.photoId, id)).limit(1).get()) return 'byline'
      return undefined
    },
    /**
     * Whether a published (or scheduled) article shows the photo: as its lead or in its body, or as the portrait of
     * a byline it credits.
     */
    async shownByPublished (id: string) {
      return db.select({ id: articlePhotos.articleId }).from(articlePhotos)
        .innerJoin(articles, eq(articles.id, articlePhotos.articleId))
        .where(and(eq(articlePhotos.photoId, id), eq(articles.status, 'published'))).limit(1).get() !== undefined ||
        db.select({ id: articleBylines.articleId }).from(bylines)
          .innerJoin(articleBylines, eq(articleBylines.bylineId, bylines.id))
          .innerJoin(articles, eq(articles.id, articleBylines.articleId))
          .where(and(eq(bylines.photoId, id), eq(articles.status, 'published'))).limit(1).get() !== undefined
    },
    async storageKeyInUse (storageKey: string) {
      return db.select({ id: photos.id }).from(photos).where(eq(photos.storageKey, storageKey)).limit(1).get() !== undefined
    },
    async insert (row: typeof photos.$inferInsert) {
      db.insert(photos).values(row).run()
    },
    async update (id: string, fields: Partial<typeof photos.$inferInsert>) {
      db.update(photos).set(fields).where(eq(photos.id, id)).run()
    },
    async delete (id: string) {
      db.delete(photos).where(eq(photos.id, id)).run()
    }
  }
}
