import { newId } from './ids.js'
import type { Store, SectionRow } from '../db/index.js'
import type { Section, SectionCreate, SectionPatch, SectionRef } from '../schemas/sections.js'
import { NotFound, Conflict, Unprocessable } from '../errors.js'
import { chooseSlug } from './slugs.js'
import { assertMatch } from './etag.js'
import { changesTo, type Write } from './context.js'
import { keysetPage } from './cursor.js'
import { iso } from './time.js'

type Lineage = Pick<SectionRow, 'id' | 'slug' | 'name' | 'parentId'>

/** How deep sections nest (Home › News › World › Asia › China › Heilongjiang › Harbin is 7). */
export const MAX_DEPTH = 10
/** Slugs no section may take: `?parent=root` names the top level. */
const RESERVED = ['root']

/** Builds breadcrumbs (root first) from a set of rows holding every ancestor needed. */
export function breadcrumbs (rows: Lineage[]) {
  const byId = new Map(rows.map((r) => [r.id, r]))
  return (id: string): SectionRef[] => {
    const crumbs: SectionRef[] = []
    const seen = new Set<string>()
    for (let s = byId.get(id); s && !seen.has(s.id); s = s.parentId ? byId.get(s.parentId) : undefined) {
      seen.add(s.id)
      crumbs.unshift({ id: s.id, slug: s.slug, name: s.name })
    }
    return crumbs
  }
}

export function sectionsService (store: Store) {
  async function present (rows: SectionRow[]): Promise<Section[]> {
    const crumbsOf = breadcrumbs(await store.sections.withAncestors(rows.map((r) => r.id)))
    return rows.map((row) => {
      const breadcrumb = crumbsOf(row.id)
      return {
        id: row.id,
        slug: row.slug,
        name: row.name,
        description: row.description,
        parentId: row.parentId,
        position: row.position,
        path: breadcrumb.map((c) => c.slug).join('/'),
        breadcrumb,
        createdAt: iso(row.createdAt),
        updatedAt: iso(row.updatedAt)
      }
    })
  }
  const presentOne = async (row: SectionRow) => (await present([row]))[0]!

  async function get (id: string) {
    const row = await store.sections.findById(id)
    if (!row) throw new NotFound('Section', id)
    return row
  }

  async function checkParent (id: string | undefined, parentId: string | null | undefined) {
    if (!parentId) return
    const lineage = await store.sections.withAncestors([parentId])
    if (!lineage.some((s) => s.id === parentId)) {
      throw new Unprocessable('The parent section does not exist', [{ path: '/parentId', message: `No section ${parentId}` }])
    }
    const above = breadcrumbs(lineage)(parentId)
    if (id && above.some((s) => s.id === id)) {
      throw new Unprocessable('A section cannot be moved under itself or one of its own subsections', [{ path: '/parentId', message: 'Would create a cycle' }])
    }
    // every article page and section carries its breadcrumb: a tree without end made each one as long (a 1,500-deep
    // one, 132 KB per article and 13 MB per list). The section moved brings its own subsections along
    let below = 1
    if (id) {
      const subtree = await store.sections.descendantIds(id)
      const crumbs = breadcrumbs(await store.sections.withAncestors(subtree))
      const own = crumbs(id).length
      for (const s of subtree) below = Math.max(below, crumbs(s).length - own + 1)
    }
    if (above.length + below > MAX_DEPTH) {
      throw new Unprocessable(`Sections nest at most ${MAX_DEPTH} levels deep: this would make ${above.length + below}`, [{ path: '/parentId', message: `Would nest ${above.length + below} levels deep, more than ${MAX_DEPTH}` }])
    }
  }

  /** Resolves an id or a slug to the section's id. */
  async function resolveId (idOrSlug: string): Promise<string | undefined> {
    return (await store.sections.findById(idOrSlug) ?? await store.sections.findBySlug(idOrSlug))?.id
  }

  return {
    present,
    get: async (id: string) => presentOne(await get(id)),

    async getBySlug (slug: string) {
      const row = await store.sections.findBySlug(slug)
      if (!row) throw new NotFound('Section', slug)
      return presentOne(row)
    },

    resolveId,

    /** `parent`: a section's id or slug (no such section, no children), or `root` for the top level. */
    async list (query: { parent?: string, limit: number, cursor?: string }) {
      let parentId: string | null | undefined
      if (query.parent !== undefined) {
        parentId = query.parent === 'root' ? null : await resolveId(query.parent)
        if (parentId === undefined) return { data: [], next: null }
      }
      const page = await keysetPage({
        scope: `sections:${query.parent ?? ''}`,
        cursor: query.cursor,
        limit: query.limit,
        kinds: ['number', 'string', 'string'] as const,
        fetch: (after, limit) => store.sections.list({ parentId, after, limit }),
        key: (r) => [r.position, r.sortName, r.id]
      })
      return { data: await present(page.rows), next: page.next }
    },

    async create (input: SectionCreate) {
      return store.transaction(async () => {
        await checkParent(undefined, input.parentId)
        const now = new Date()
        const row: SectionRow = {
          id: newId(),
          slug: await chooseSlug(input.slug, input.name, (s) => store.sections.slugTaken(s), 'section', RESERVED),
          name: input.name,
          description: input.description ?? null,
          parentId: input.parentId ?? null,
          position: input.position ?? 0,
          createdAt: now,
          updatedAt: now
        }
        await store.sections.insert(row)
        // read back inside the write: after it, a connection lost in between would answer 503 for a write that was made
        return presentOne(row)
      })
    },

    async update (id: string, patch: SectionPatch, w: Write) {
      return store.transaction(async () => {
        const current = await get(id)
        await assertMatch(w, () => presentOne(current))
        if (patch.parentId !== undefined && patch.parentId !== current.parentId) await checkParent(id, patch.parentId)
        const fields: Partial<SectionRow> = {}
        if (patch.slug !== undefined && patch.slug !== current.slug) {
          fields.slug = await chooseSlug(patch.slug, patch.slug, (s) => store.sections.slugTaken(s, id), 'section', RESERVED)
        }
        if (patch.name !== undefined) fields.name = patch.name
        if (patch.description !== undefined) fields.description = patch.description
        if (patch.parentId !== undefined) fields.parentId = patch.parentId
        if (patch.position !== undefined) fields.position = patch.position
        const changed = changesTo(current, fields)
        if (changed) await store.sections.update(id, changed)
        // what the pages of its articles, and of its subsections' (their breadcrumbs), show of it
        if (changed && (changed.slug !== undefined || changed.name !== undefined || changed.parentId !== undefined)) {
          await store.articles.changedWith({ sectionIds: await store.sections.descendantIds(id) }, new Date())
        }
        return presentOne({ ...current, ...changed })
      })
    },

    async delete (id: string, w: Write) {
      await store.transaction(async () => {
        const current = await get(id)
        await assertMatch(w, () => presentOne(current))
        if (await store.sections.hasChildren(id)) throw new Conflict(`Section ${id} still has subsections; move or delete them first`)
        if (await store.sections.hasArticles(id)) throw new Conflict(`Section ${id} still has articles; move or delete them first`)
        await store.sections.delete(id)
      })
    }
  }
}

export type SectionsService = ReturnType<typeof sectionsService>
