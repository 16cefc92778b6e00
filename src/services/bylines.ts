import { newId } from './ids.js'
import type { Store, BylineRow } from '../db/index.js'
import type { Byline, BylineCreate, BylinePatch, BylineKind } from '../schemas/bylines.js'
import { NotFound, Conflict, Unprocessable, Forbidden } from '../errors.js'
import { chooseSlug } from './slugs.js'
import { assertMatch } from './etag.js'
import { reindex } from './search.js'
import { changesTo, type Write } from './context.js'
import { keysetPage } from './cursor.js'
import { iso } from './time.js'

export function bylinesService (store: Store) {
  function present (row: BylineRow): Byline {
    return {
      id: row.id,
      slug: row.slug,
      name: row.name,
      kind: row.kind,
      title: row.title,
      bio: row.bio,
      url: row.url,
      photoId: row.photoId,
      createdAt: iso(row.createdAt),
      updatedAt: iso(row.updatedAt)
    }
  }

  async function get (id: string) {
    const row = await store.bylines.findById(id)
    if (!row) throw new NotFound('Byline', id)
    return row
  }

  async function checkPhoto (photoId: string | null | undefined) {
    if (photoId && !(await store.photos.existing([photoId])).has(photoId)) {
      throw new Unprocessable('The byline photo does not exist', [{ path: '/photoId', message: `No photo ${photoId}` }])
    }
  }

  return {
    present,
    get: async (id: string) => present(await get(id)),

    async getBySlug (slug: string) {
      const row = await store.bylines.findBySlug(slug)
      if (!row) throw new NotFound('Byline', slug)
      return present(row)
    },

    async list (query: { kind?: BylineKind, q?: string, limit: number, cursor?: string }) {
      const page = await keysetPage({
        scope: `bylines:${query.kind ?? ''}:${query.q ?? ''}`,
        cursor: query.cursor,
        limit: query.limit,
        kinds: ['string', 'string'] as const,
        fetch: (after, limit) => store.bylines.list({ kind: query.kind, q: query.q, after, limit }),
        key: (r) => [r.sortName, r.id]
      })
      return { data: page.rows.map(present), next: page.next }
    },

    async create (input: BylineCreate) {
      return present(await store.transaction(async () => {
        await checkPhoto(input.photoId)
        const now = new Date()
        const row: BylineRow = {
          id: newId(),
          slug: await chooseSlug(input.slug, input.name, (s) => store.bylines.slugTaken(s), 'byline'),
          name: input.name,
          kind: input.kind ?? 'person',
          title: input.title ?? null,
          bio: input.bio ?? null,
          url: input.url ?? null,
          photoId: input.photoId ?? null,
          createdAt: now,
          updatedAt: now
        }
        await store.bylines.insert(row)
        return row
      }))
    },

    async update (id: string, patch: BylinePatch, w: Write) {
      return present(await store.transaction(async () => {
        const current = await get(id)
        await assertMatch(w, () => present(current))
        if (w.actor.role === 'writer' && await store.bylines.creditedOnPublished(id)) {
          throw new Forbidden('This byline is credited on published articles: ask an editor to change it')
        }
        await checkPhoto(patch.photoId)
        const fields: Partial<BylineRow> = {}
        if (patch.slug !== undefined && patch.slug !== current.slug) {
          fields.slug = await chooseSlug(patch.slug, patch.slug, (s) => store.bylines.slugTaken(s, id), 'byline')
        }
        for (const key of ['name', 'kind', 'title', 'bio', 'url', 'photoId'] as const) {
          if (patch[key] !== undefined) (fields as Record<string, unknown>)[key] = patch[key]
        }
        const changed = changesTo(current, fields)
        if (!changed) return current
        await store.bylines.update(id, changed)
        // what an article's page shows of its bylines
        if (changed.slug !== undefined || changed.name !== undefined || changed.kind !== undefined || changed.title !== undefined) {
          await store.articles.changedWith({ bylineId: id }, new Date())
        }
        // articles are found by their byline names: keep the search index in step with a rename
        if (changed.name !== undefined) {
          for (const articleId of await store.articles.idsWithByline(id)) reindex(store, articleId)
        }
        return { ...current, ...changed }
      }))
    },

    async delete (id: string, w: Write) {
      await store.transaction(async () => {
        const current = await get(id)
        await assertMatch(w, () => present(current))
        if (await store.bylines.inUse(id)) throw new Conflict(`Byline ${id} is still attached to articles; remove it from them first`)
        await store.bylines.delete(id)
      })
    }
  }
}

export type BylinesService = ReturnType<typeof bylinesService>
