import { randomUUID } from 'node:crypto'
import type { Store } from '../db/index.js'
import type { ArticleRow, ArticleKey, ArticleSort, ArticleBylineLink, RelatedInsert } from '../db/repositories/articles.js'
import type { Article, ArticleCreate, ArticlePatch, ArticleStatus, Block, BlockInput, RelatedLink, RelatedLinkInput } from '../schemas/articles.js'
import type { FieldError } from '../errors.js'
import { NotFound, Unprocessable } from '../errors.js'
import type { PhotosService } from './photos.js'
import type { SectionsService } from './sections.js'
import { breadcrumbs } from './sections.js'
import { chooseSlug } from './slugs.js'
import { sanitizeInline } from './sanitize.js'
import { decodeCursor, paginate } from './cursor.js'
import { iso, isoOrNull } from './time.js'

export const MAX_RELATED = 20
const PUBLICATION_FIELDS = new Set(['status', 'publishedAt', 'updatedAt'])

/** Who is reading: anonymous readers see only published articles whose time has come. */
export interface Viewer { publicOnly: boolean }

export interface ArticleListQuery {
  section?: string
  descendants?: boolean
  byline?: string
  status?: ArticleStatus
  tag?: string
  publishedAfter?: string
  publishedBefore?: string
  updatedSince?: string
  sort?: ArticleSort
  limit: number
  cursor?: string
}

/** Sanitizes body text; a block left without text is an error naming it. */
function cleanBody (body: BlockInput[]): BlockInput[] {
  const errors: FieldError[] = []
  const clean = (text: string, path: string) => {
    const out = sanitizeInline(text)
    if (!out) errors.push({ path, message: 'Is empty once disallowed markup is removed' })
    return out
  }
  const result = body.map((block, i): BlockInput => {
    switch (block.type) {
      case 'paragraph': case 'heading': case 'quote':
        return { ...block, text: clean(block.text, `/body/${i}/text`) }
      case 'list':
        return { ...block, items: block.items.map((item, j) => clean(item, `/body/${i}/items/${j}`)) }
      default:
        return block
    }
  })
  if (errors.length) throw new Unprocessable('Some body text is empty once sanitized', errors)
  return result
}

const bodyPhotoIds = (body: BlockInput[]) => body.flatMap((b) => b.type === 'photo' ? [b.photoId] : [])

export function articlesService (store: Store, photos: PhotosService, sections: SectionsService) {
  /**
   * Resolves rows into full article documents with a fixed number of statements, whatever the number
   * of rows, bylines, photos or links: one each for bylines, sections (with ancestors), photos and related links.
   */
  async function present (rows: ArticleRow[], viewer: Viewer): Promise<Article[]> {
    if (rows.length === 0) return []
    const ids = rows.map((r) => r.id)
    const now = new Date()
    const bylineRows = await store.articles.bylinesOf(ids)
    const relatedRows = await store.articles.relatedOf(ids, viewer.publicOnly, now)
    const sectionIds = [...new Set(rows.flatMap((r) => r.sectionId ? [r.sectionId] : []))]
    const crumbsOf = breadcrumbs(await store.sections.withAncestors(sectionIds))
    const photoIds = new Set(rows.flatMap((r) => [...(r.leadPhotoId ? [r.leadPhotoId] : []), ...bodyPhotoIds(r.body as BlockInput[])]))
    const photoById = new Map((await store.photos.findMany([...photoIds])).map((p) => [p.id, photos.present(p)]))

    return rows.map((row): Article => {
      const breadcrumb = row.sectionId ? crumbsOf(row.sectionId) : []
      const own = breadcrumb[breadcrumb.length - 1]
      const body = (row.body as BlockInput[]).map((block): Block => {
        if (block.type !== 'photo') return block
        const p = photoById.get(block.photoId)!
        const override = block.caption !== undefined && block.caption !== null
        return {
          type: 'photo',
          photoId: block.photoId,
          caption: override ? block.caption! : p.caption,
          captionOverride: override,
          credit: p.credit,
          altText: p.altText,
          width: p.width,
          height: p.height,
          mimeType: p.mimeType,
          focalPoint: p.focalPoint,
          url: p.url
        }
      })
      return {
        id: row.id,
        slug: row.slug,
        headline: row.headline,
        summary: row.summary,
        body,
        status: row.status,
        publishedAt: isoOrNull(row.publishedAt),
        updatedAt: iso(row.updatedAt),
        createdAt: iso(row.createdAt),
        revision: row.revision,
        sectionId: row.sectionId,
        section: own ? { ...own, path: breadcrumb.map((c) => c.slug).join('/'), breadcrumb } : null,
        bylines: bylineRows.filter((b) => b.articleId === row.id).map(({ articleId, ...b }) => b),
        leadPhotoId: row.leadPhotoId,
        leadPhoto: row.leadPhotoId ? photoById.get(row.leadPhotoId) ?? null : null,
        tags: row.tags as string[],
        source: row.source,
        canonicalUrl: row.canonicalUrl,
        language: row.language,
        related: resolveRelated(relatedRows.filter((r) => r.articleId === row.id))
      }
    })
  }

  function resolveRelated (rows: Awaited<ReturnType<Store['articles']['relatedOf']>>): RelatedLink[] {
    return rows.map((r) => ({
      id: r.id,
      articleId: r.targetId,
      url: r.url,
      slug: r.target?.slug ?? null,
      headline: r.headline ?? r.target?.headline ?? '',
      summary: r.summary ?? r.target?.summary ?? null,
      publishedAt: isoOrNull(r.target?.publishedAt)
    }))
  }

  async function getRow (id: string, viewer: Viewer) {
    const row = await store.articles.findById(id, viewer.publicOnly, new Date())
    if (!row) throw new NotFound('Article', id)
    return row
  }

  /** Every id the article points at must exist: a 422 names each one that does not. */
  async function checkReferences (a: { sectionId: string | null, leadPhotoId: string | null, body: BlockInput[], bylines: ArticleBylineLink[] }) {
    const errors: FieldError[] = []
    if (a.sectionId && !(await store.sections.existing([a.sectionId])).has(a.sectionId)) {
      errors.push({ path: '/sectionId', message: `No section ${a.sectionId}` })
    }
    const photoIds = [...(a.leadPhotoId ? [a.leadPhotoId] : []), ...bodyPhotoIds(a.body)]
    const knownPhotos = await store.photos.existing(photoIds)
    if (a.leadPhotoId && !knownPhotos.has(a.leadPhotoId)) errors.push({ path: '/leadPhotoId', message: `No photo ${a.leadPhotoId}` })
    a.body.forEach((b, i) => {
      if (b.type === 'photo' && !knownPhotos.has(b.photoId)) errors.push({ path: `/body/${i}/photoId`, message: `No photo ${b.photoId}` })
    })
    const knownBylines = await store.bylines.existing(a.bylines.map((b) => b.bylineId))
    const seen = new Set<string>()
    a.bylines.forEach((b, i) => {
      if (!knownBylines.has(b.bylineId)) errors.push({ path: `/bylines/${i}/bylineId`, message: `No byline ${b.bylineId}` })
      const key = `${b.bylineId}:${b.role}`
      if (seen.has(key)) errors.push({ path: `/bylines/${i}`, message: 'The same byline is listed twice with the same role' })
      seen.add(key)
    })
    if (errors.length) throw new Unprocessable('The article refers to things that do not exist', errors)
    return [...new Set(photoIds)]
  }

  const bylineLinks = (input: NonNullable<ArticleCreate['bylines']>): ArticleBylineLink[] =>
    input.map((b) => ({ bylineId: b.bylineId, role: b.role ?? 'author' }))
  const uniqueTags = (tags: string[]) => [...new Set(tags.map((t) => t.normalize('NFC').trim()).filter(Boolean))]

  /** Publishing without a date publishes now. */
  function publication (status: ArticleStatus, publishedAt: Date | null, now: Date) {
    return status === 'published' && publishedAt === null ? now : publishedAt
  }

  /**
   * Checks links against the rules (either an article or a URL with a headline; no self-links, no
   * duplicates, at most 20 in all) and the links already kept; `pathOf` names each link in errors.
   */
  async function validateRelated (articleId: string, links: RelatedLinkInput[], kept: { targetId: string | null, url: string | null }[], pathOf: (i: number) => string) {
    const errors: FieldError[] = []
    const targets = new Set(kept.map((k) => k.targetId))
    const urls = new Set(kept.map((k) => k.url))
    links.forEach((l, i) => {
      const path = pathOf(i)
      if ((l.articleId === undefined) === (l.url === undefined)) {
        errors.push({ path, message: 'Give either articleId or url' })
      } else if (l.articleId !== undefined) {
        if (l.articleId === articleId) errors.push({ path: `${path}/articleId`, message: 'An article cannot link to itself' })
        else if (targets.has(l.articleId)) errors.push({ path: `${path}/articleId`, message: 'Already linked' })
        targets.add(l.articleId)
      } else {
        if (!l.headline) errors.push({ path: `${path}/headline`, message: 'A link to a URL needs a headline' })
        if (urls.has(l.url!)) errors.push({ path: `${path}/url`, message: 'Already linked' })
        urls.add(l.url!)
      }
    })
    const known = await store.articles.existing(links.flatMap((l) => l.articleId && l.articleId !== articleId ? [l.articleId] : []))
    links.forEach((l, i) => {
      if (l.articleId && l.articleId !== articleId && !known.has(l.articleId)) {
        errors.push({ path: `${pathOf(i)}/articleId`, message: `No article ${l.articleId}` })
      }
    })
    if (kept.length + links.length > MAX_RELATED) errors.push({ path: '', message: `An article has at most ${MAX_RELATED} related links` })
    if (errors.length) throw new Unprocessable('The related links are not valid', errors)
    return links.map((l): RelatedInsert => ({
      id: randomUUID(),
      targetId: l.articleId ?? null,
      url: l.url ?? null,
      headline: l.headline ?? null,
      summary: l.summary ?? null
    }))
  }

  /** Related-link changes are article writes: they bump the revision. */
  async function touch (id: string) {
    const row = await getRow(id, { publicOnly: false })
    await store.articles.update(id, { revision: row.revision + 1 })
  }

  async function relatedList (id: string, viewer: Viewer) {
    return { data: resolveRelated(await store.articles.relatedOf([id], viewer.publicOnly, new Date())) }
  }

  return {
    present,

    async get (id: string, viewer: Viewer) {
      return (await present([await getRow(id, viewer)], viewer))[0]!
    },

    async getBySlug (slug: string, viewer: Viewer) {
      const row = await store.articles.findBySlug(slug, viewer.publicOnly, new Date())
      if (!row) throw new NotFound('Article', slug)
      return (await present([row], viewer))[0]!
    },

    async list (query: ArticleListQuery, viewer: Viewer) {
      const sort = query.sort ?? '-publishedAt'
      const scope = `articles:${sort}`
      const afterKey: ArticleKey | undefined = query.cursor ? decodeCursor(scope, query.cursor, ['date?', 'string'] as const) : undefined
      let sectionIds: string[] | undefined
      if (query.section !== undefined) {
        const id = await sections.resolveId(query.section)
        if (!id) return { data: [], next: null }
        sectionIds = query.descendants ? await store.sections.descendantIds(id) : [id]
      }
      const date = (s?: string) => s === undefined ? undefined : new Date(s)
      const rows = await store.articles.list({
        publicOnly: viewer.publicOnly,
        now: new Date(),
        sectionIds,
        bylineId: query.byline,
        status: query.status,
        tag: query.tag,
        publishedAfter: date(query.publishedAfter),
        publishedBefore: date(query.publishedBefore),
        updatedSince: date(query.updatedSince),
        sort,
        after: afterKey,
        limit: query.limit + 1
      })
      const page = paginate(rows, query.limit, (r) => [sort.endsWith('publishedAt') ? r.publishedAt : r.updatedAt, r.id], scope)
      return { data: await present(page.rows, viewer), next: page.next }
    },

    async create (input: ArticleCreate) {
      const body = cleanBody(input.body ?? [])
      const now = new Date()
      const row = await store.transaction(async () => {
        const status = input.status ?? 'draft'
        const row: ArticleRow = {
          id: randomUUID(),
          slug: await chooseSlug(input.slug, input.headline, (s) => store.articles.slugTaken(s), 'article'),
          headline: input.headline,
          summary: input.summary ?? null,
          body,
          status,
          publishedAt: publication(status, input.publishedAt ? new Date(input.publishedAt) : null, now),
          updatedAt: input.updatedAt ? new Date(input.updatedAt) : now,
          createdAt: now,
          revision: 1,
          sectionId: input.sectionId ?? null,
          leadPhotoId: input.leadPhotoId ?? null,
          tags: uniqueTags(input.tags ?? []),
          source: input.source ?? null,
          canonicalUrl: input.canonicalUrl ?? null,
          language: input.language ?? null
        }
        const bylines = bylineLinks(input.bylines ?? [])
        const photoIds = await checkReferences({ ...row, body, bylines })
        await store.articles.insert(row)
        await store.articles.replaceLinks(row.id, { bylines, tags: row.tags as string[], photoIds })
        return row
      })
      return (await present([row], { publicOnly: false }))[0]!
    },

    async update (id: string, patch: ArticlePatch) {
      const body = patch.body ? cleanBody(patch.body) : undefined
      const now = new Date()
      const row = await store.transaction(async () => {
        const current = await getRow(id, { publicOnly: false })
        // updatedAt is the editorial "Updated" date: content edits move it, publishing alone does not
        const edited = Object.keys(patch).some((k) => !PUBLICATION_FIELDS.has(k))
        const updatedAt = patch.updatedAt ? new Date(patch.updatedAt) : edited ? now : current.updatedAt
        const next: ArticleRow = { ...current, revision: current.revision + 1, updatedAt }
        if (patch.slug !== undefined && patch.slug !== current.slug) {
          next.slug = await chooseSlug(patch.slug, patch.slug, (s) => store.articles.slugTaken(s, id), 'article')
        }
        if (patch.headline !== undefined) next.headline = patch.headline
        if (patch.summary !== undefined) next.summary = patch.summary
        if (body) next.body = body
        if (patch.status !== undefined) next.status = patch.status
        if (patch.publishedAt !== undefined) next.publishedAt = patch.publishedAt === null ? null : new Date(patch.publishedAt)
        next.publishedAt = publication(next.status, next.publishedAt, now)
        if (patch.sectionId !== undefined) next.sectionId = patch.sectionId
        if (patch.leadPhotoId !== undefined) next.leadPhotoId = patch.leadPhotoId
        if (patch.tags !== undefined) next.tags = uniqueTags(patch.tags)
        if (patch.source !== undefined) next.source = patch.source
        if (patch.canonicalUrl !== undefined) next.canonicalUrl = patch.canonicalUrl
        if (patch.language !== undefined) next.language = patch.language
        const bylines = patch.bylines
          ? bylineLinks(patch.bylines)
          : (await store.articles.bylinesOf([id])).map((b) => ({ bylineId: b.bylineId, role: b.role }))
        const photoIds = await checkReferences({ ...next, body: next.body as BlockInput[], bylines })
        const { id: _id, createdAt: _createdAt, ...fields } = next
        await store.articles.update(id, fields)
        await store.articles.replaceLinks(id, { bylines, tags: next.tags as string[], photoIds })
        return next
      })
      return (await present([row], { publicOnly: false }))[0]!
    },

    async delete (id: string) {
      await store.transaction(async () => {
        await getRow(id, { publicOnly: false })
        await store.articles.delete(id)
      })
    },

    relatedList: async (id: string, viewer: Viewer) => {
      await getRow(id, viewer)
      return relatedList(id, viewer)
    },

    async replaceRelated (id: string, links: RelatedLinkInput[]) {
      await store.transaction(async () => {
        await getRow(id, { publicOnly: false })
        await store.articles.replaceRelated(id, await validateRelated(id, links, [], (i) => `/${i}`))
        await touch(id)
      })
      return relatedList(id, { publicOnly: false })
    },

    async appendRelated (id: string, link: RelatedLinkInput) {
      await store.transaction(async () => {
        await getRow(id, { publicOnly: false })
        const kept = await store.articles.relatedTargets(id)
        const [insert] = await validateRelated(id, [link], kept, () => '')
        await store.articles.appendRelated(id, insert!)
        await touch(id)
      })
      return relatedList(id, { publicOnly: false })
    },

    async deleteRelated (id: string, linkId: string) {
      await store.transaction(async () => {
        await getRow(id, { publicOnly: false })
        if (!(await store.articles.deleteRelated(id, linkId))) throw new NotFound('Related link', linkId)
        await touch(id)
      })
    }
  }
}

export type ArticlesService = ReturnType<typeof articlesService>
