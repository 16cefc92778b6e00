import { eq, and, ne, sql, isNull, inArray, type SQL } from 'drizzle-orm'
import { sections, articles } from '../schema.js'
import type { PgDb } from '../client.js'
import { sortKeyOf } from '../../names.js'
import { after, orderBy } from '../../keyset.js'

/** A row as the service reads and writes it (the sort key is the repository's: see sortName). */
export type SectionRow = Omit<typeof sections.$inferSelect, 'sortName'>
export type SectionKey = [number, string, string]

/** The sections repository on PostgreSQL: the same functions as the SQLite one. */
export function sectionsRepository (db: () => PgDb) {
  return {
    async findById (id: string) {
      return (await db().select().from(sections).where(eq(sections.id, id)).limit(1))[0]
    },
    async findBySlug (slug: string) {
      return (await db().select().from(sections).where(eq(sections.slug, slug)).limit(1))[0]
    },
    async slugTaken (slug: string, exceptId?: string) {
      const where = exceptId ? and(eq(sections.slug, slug), ne(sections.id, exceptId)) : eq(sections.slug, slug)
      return (await db().select({ id: sections.id }).from(sections).where(where).limit(1)).length > 0
    },
    /** Siblings ordered by position, then name ignoring case and diacritics (see sortKeyOf); `parentId: null` lists the top level. */
    async list (options: { parentId?: string | null, after?: SectionKey, limit: number }) {
      const where: SQL[] = []
      if (options.parentId === null) where.push(isNull(sections.parentId))
      else if (options.parentId !== undefined) where.push(eq(sections.parentId, options.parentId))
      const key = [sections.position, sections.sortName, sections.id]
      if (options.after) where.push(after(key, options.after, false))
      return db().select().from(sections).where(and(...where)).orderBy(...orderBy(key, false)).limit(options.limit)
    },
    /** The given sections and all their ancestors, in one statement. */
    async withAncestors (ids: string[]): Promise<Pick<SectionRow, 'id' | 'slug' | 'name' | 'parentId'>[]> {
      if (ids.length === 0) return []
      const result = await db().execute<Pick<SectionRow, 'id' | 'slug' | 'name' | 'parentId'>>(sql`
        with recursive chain(id) as (
          select unnest(${sql.param(ids)}::text[])
          union
          select s.parent_id from ${sections} s join chain on s.id = chain.id where s.parent_id is not null
        )
        select s.id, s.slug, s.name, s.parent_id as "parentId" from chain join ${sections} s on s.id = chain.id`)
      return result.rows
    },
    /** Ids of a section and every section below it. */
    async descendantIds (id: string): Promise<string[]> {
      const result = await db().execute<{ id: string }>(sql`
        with recursive tree(id) as (
          select ${id}::text
          union
          select s.id from ${sections} s join tree on s.parent_id = tree.id
        )
        select id from tree`)
      return result.rows.map((r) => r.id)
    },
    async hasChildren (id: string) {
      return (await db().select({ id: sections.id }).from(sections).where(eq(sections.parentId, id)).limit(1)).length > 0
    },
    async hasArticles (id: string) {
      return (await db().select({ id: articles.id }).from(articles).where(eq(articles.sectionId, id)).limit(1)).length > 0
    },
    async existing (ids: string[]) {
      if (ids.length === 0) return new Set<string>()
      return new Set((await db().select({ id: sections.id }).from(sections).where(inArray(sections.id, ids))).map((r) => r.id))
    },
    async insert (row: Omit<typeof sections.$inferInsert, 'sortName'>) {
      await db().insert(sections).values({ ...row, sortName: sortKeyOf(row.name) })
    },
    async update (id: string, fields: Partial<SectionRow>) {
      await db().update(sections).set(fields.name === undefined ? fields : { ...fields, sortName: sortKeyOf(fields.name) }).where(eq(sections.id, id))
    },
    async delete (id: string) {
      await db().delete(sections).where(eq(sections.id, id))
    }
  }
}
