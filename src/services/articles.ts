import { newId } from './ids.js'
import type { Store, ArticleRow, ArticleKey, ArticleSort, ArticleBylineLink, RelatedInsert } from '../db/index.js'
import type {
  Article, ArticleCreate, ArticlePatch, ArticleStatus, Block, BlockInput, RelatedLink, RelatedLinkInput,
  PublishInput, Revision, RevisionAction, RevisionContent
} from '../schemas/articles.js'
import { BODY_MARKUP_MAX, INLINE_TEXT_MAX, LIST_ITEM_MAX } from '../schemas/articles.js'
import { TEXT_CONTROLS, LINE_CONTROLS, INVISIBLE, grouped } from '../schemas/common.js'
import type { FieldError } from '../errors.js'
import { NotFound, Unprocessable, Forbidden, invalid } from '../errors.js'
import { ftsQuery, documentOf, reindex, photoIdsOf } from './search.js'
import { snippetsFor } from './snippets.js'
import type { Principal } from './keys.js'
import { assertMatch } from './etag.js'
import type { Viewer, Write } from './context.js'
import type { PhotosService } from './photos.js'
import type { SectionsService } from './sections.js'
import { breadcrumbs } from './sections.js'
import { chooseSlug } from './slugs.js'
import { tagKey } from '../db/names.js'
import { sanitizeInline, plainLine, unescaped } from './sanitize.js'
import { decodeCursor, paginate, keysetPage } from './cursor.js'
import { iso, isoOrNull } from './time.js'

export const MAX_RELATED = 20
/** What an edit changes (and with it the editorial "Updated" date), besides the bylines. */
const CONTENT_FIELDS = ['slug', 'headline', 'summary', 'body', 'sectionId', 'leadPhotoId', 'tags', 'source', 'canonicalUrl', 'language'] as const


const staff: Viewer = { publicOnly: false }

/** Whether readers see the article at `now`: published, at a time that has come. */
const readersSee = (a: Pick<ArticleRow, 'status' | 'publishedAt'>, now: Date) =>
  a.status === 'published' && a.publishedAt !== null && a.publishedAt.getTime() <= now.getTime()

/** An article row as stored, with its bylines. */
interface Stored { row: ArticleRow, bylines: ArticleBylineLink[] }

export interface ArticleListQuery {
  q?: string
  section?: string
  descendants?: boolean
  byline?: string
  status?: ArticleStatus
  tag?: string
  publishedAfter?: string
  publishedBefore?: string
  updatedSince?: string
  changedSince?: string
  sort?: ArticleSort
  limit: number
  cursor?: string
}

/**
 * The list a cursor resumes: its sort, search and filters, as given (the Link header's next URL repeats them). A
 * cursor of any other list (another filter, a section front's on the whole archive) is a 400.
 */
export function listScope (sort: ArticleSort, q: Omit<ArticleListQuery, 'limit' | 'cursor'>): string {
  const filters = [q.q, q.section, q.section !== undefined && q.descendants === true, q.byline, q.status, q.tag, q.publishedAfter, q.publishedBefore, q.updatedSince]
  // (added last, and only when given: the cursors of lists without it, made before it existed, still resume)
  if (q.changedSince !== undefined) filters.push(q.changedSince)
  return `articles:${sort}:${JSON.stringify(filters.map((f) => f ?? null))}`
}

/** The texts a body block holds: its text, list items, a quote's attribution, a photo's caption, an embed's title. */
function textsOf (block: BlockInput): (string | null | undefined)[] {
  switch (block.type) {
    case 'paragraph': case 'heading': return [block.text]
    case 'quote': return [block.text, block.attribution]
    case 'list': return block.items
    case 'photo': return [block.caption]
    case 'embed': return [block.title]
    default: return []
  }
}

/** How many characters of the body's text could start markup (see BODY_MARKUP_MAX in the schemas). */
function markupIn (body: BlockInput[]): number {
  let n = 0
  for (const block of body) {
    for (const text of textsOf(block)) {
      if (!text) continue
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i)
        if (c === 60 || c === 38) n++
      }
    }
  }
  return n
}

/**
 * The most text one page of a list carries (headlines, summaries and body text, in characters): a page ends before
 * the article that would take it over, and its `next` goes on from there. Articles may hold up to a MiB of text each,
 * and a page of 100 of them made one anonymous request hold 2.9 GB while it was written; a page of 100 ordinary
 * stories has ~1 M characters.
 */
export const PAGE_TEXT_MAX = 4_000_000

/** The characters an article's text holds, counted from its fields without serializing it. */
function textSize (row: Pick<ArticleRow, 'headline' | 'summary' | 'body'>): number {
  let n = row.headline.length + (row.summary?.length ?? 0)
  for (const block of row.body as BlockInput[]) for (const text of textsOf(block)) n += text?.length ?? 0
  return n
}

/** Text a reader would not see: nothing, white space, or invisible format characters (zero-width space, joiners). */
const SHOWS_NOTHING = new RegExp(`^[\\s${INVISIBLE}]*$`)
const TEXT_CONTROL = new RegExp(`[${TEXT_CONTROLS}]`)
/** Whether text holds a numeric character reference to no character: NUL, a surrogate, beyond U+10FFFF (HTML reads each as U+FFFD). */
function refersToNoCharacter (text: string): boolean {
  for (const [, hex, decimal] of text.matchAll(/&#(?:[xX]([0-9a-fA-F]+)|([0-9]+))/g)) {
    const code = hex !== undefined ? parseInt(hex, 16) : Number(decimal)
    if (code === 0 || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) return true
  }
  return false
}
const LINE_CONTROL = new RegExp(`[${LINE_CONTROLS}]`)

/** Sanitizes body text; a block left without text is an error naming it. */
function cleanBody (body: BlockInput[]): BlockInput[] {
  const markup = markupIn(body)
  if (markup > BODY_MARKUP_MAX) {
    const message = `Holds ${grouped(markup)} characters that start markup (< and &); at most ${grouped(BODY_MARKUP_MAX)} in one article`
    throw invalid(`The body's text is too heavy with markup: ${message.charAt(0).toLowerCase()}${message.slice(1)}`, [{ path: '/body', message }])
  }
  const errors: FieldError[] = []
  // a character reference (`&#1;`) decodes to the control character the text's pattern refused as sent
  const controls: FieldError[] = []
  const long: FieldError[] = []
  const checked = <T extends string | null> (out: T, path: string, refused: RegExp): T => {
    if (out !== null && refused.test(out)) controls.push({ path, message: 'Holds a control character, written as a character reference (such as &#1;)' })
    return out
  }
  const clean = (text: string, path: string, max: number) => {
    if (refersToNoCharacter(text)) controls.push({ path, message: 'Holds a character reference to no character (such as &#0; or &#xD800;)' })
    const out = checked(sanitizeInline(text), path, TEXT_CONTROL)
    // what a reader would see: no letter at all (`<b></b>`, a zero-width space) is empty too
    if (SHOWS_NOTHING.test(/[<&]/.test(out) ? unescaped(out.replace(/<[^>]*>/g, '')) : out)) errors.push({ path, message: 'Is empty once disallowed markup is removed' })
    // as stored, and as read back: the text sent again must fit its own limit (`&` is stored as `&amp;`, tags closed)
    if (out.length > max) {
      long.push({ path, message: `Is ${grouped(out.length)} characters as stored, its markup escaped and closed (& as &amp;): at most ${grouped(max)}` })
    }
    return out
  }
  // the blocks' plain-text lines hold no markup at all: tags are stripped, text kept
  const line = (text: string | null, path: string) => checked(plainLine(text), path, LINE_CONTROL)
  const result = body.map((block, i): BlockInput => {
    switch (block.type) {
      case 'paragraph': case 'heading':
        return { ...block, text: clean(block.text, `/body/${i}/text`, INLINE_TEXT_MAX) }
      case 'quote':
        return { ...block, text: clean(block.text, `/body/${i}/text`, INLINE_TEXT_MAX), ...(block.attribution === undefined ? {} : { attribution: line(block.attribution, `/body/${i}/attribution`) }) }
      case 'list':
        return { ...block, items: block.items.map((item, j) => clean(item, `/body/${i}/items/${j}`, LIST_ITEM_MAX)) }
      case 'photo':
        return block.caption === undefined ? block : { ...block, caption: line(block.caption, `/body/${i}/caption`) }
      case 'embed':
        return block.title === undefined ? block : { ...block, title: line(block.title, `/body/${i}/title`) }
      default:
        return block
    }
  })
  if (controls.length) throw invalid('Some body text holds control characters, or no character, written as character references', controls)
  if (long.length) throw invalid('Some body text is too long as stored', long)
  if (errors.length) throw new Unprocessable('Some body text is empty once sanitized', errors)
  return result
}


/**
 * An `updatedAt` sent: the editorial "Updated" date, which has happened (an archive import's, or now); a minute of a
 * client's clock running ahead is let through. A later one would show "Updated 2099" and top `sort=-updatedAt` for good.
 */
function editorialDate (sent: string, now: Date): Date {
  const date = new Date(sent)
  if (date.getTime() > now.getTime() + 60_000) {
    throw new Unprocessable('updatedAt is when the story was last updated, which cannot lie in the future', [{ path: '/updatedAt', message: 'Is in the future' }])
  }
  return date
}

/** A language as stored: its canonical BCP 47 form (`EN-us` is `en-US`, `zh-hans-cn` is `zh-Hans-CN`); no such tag is a 400. */
function languageTag (sent: string | null): string | null {
  if (sent === null) return null
  try {
    return Intl.getCanonicalLocales(sent)[0]!
  } catch {
    throw invalid(`language "${sent}" is not a BCP 47 language tag`, [{ path: '/language', message: 'Is not a BCP 47 language tag (such as en, en-GB or zh-Hans-CN)' }])
  }
}

/** A tag as an article shows it: NFC, trimmed, cased as it was first given (see tagKey for how it is found). */
const tagAsStored = (tag: string) => tag.normalize('NFC').trim()

/**
 * A URL as WHATWG URL parsing resolves it, which two spellings of one address share, with its percent-encodings
 * normalized as RFC 3986 (6.2.2) says: an unreserved character encoded is the character (`/%78` is `/x`), and
 * the others' hex digits in upper case.
 */
function samePage (url: string): string {
  if (!URL.canParse(url)) return url
  return new URL(url).href.replace(/%([0-9a-f]{2})/gi, (encoded, hex: string) => {
    const char = String.fromCharCode(parseInt(hex, 16))
    return /[A-Za-z0-9\-._~]/.test(char) ? char : encoded.toUpperCase()
  })
}

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
    const photoIds = new Set(rows.flatMap(photoIdsOf))
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
          placeholder: p.placeholder,
          dominantColor: p.dominantColor,
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
    const photoIds = photoIdsOf(a)
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
    if (errors.length) {
      const what = [errors.some((e) => e.message.startsWith('No ')) && 'refers to things that do not exist',
        errors.some((e) => e.message.startsWith('The same byline')) && 'lists a byline twice in one role']
      throw new Unprocessable(`The article ${what.filter(Boolean).join(', and ')}`, errors)
    }
    return [...new Set(photoIds)]
  }

  const bylineLinks = (input: NonNullable<ArticleCreate['bylines']>): ArticleBylineLink[] =>
    input.map((b) => ({ bylineId: b.bylineId, role: b.role ?? 'author' }))
  /** Each tag once, however it is cased (China, china), in its first spelling; blank ones left out. */
  const uniqueTags = (tags: string[]) => {
    const keys = new Set<string>()
    return tags.map(tagAsStored).filter((tag) => tag !== '' && !keys.has(tagKey(tag)) && keys.add(tagKey(tag)))
  }

  /** Publishing without a date publishes now. */
  function publication (status: ArticleStatus, publishedAt: Date | null, now: Date) {
    return status === 'published' && publishedAt === null ? now : publishedAt
  }

  /**
   * Checks links against the rules (either an article or a URL with a headline; no self-links, no
   * duplicates, at most 20 in all) and the links already kept; `pathOf` names each link in errors.
   */
  async function validateRelated (articleId: string, links: RelatedLinkInput[], kept: { articleId: string | null, url: string | null }[], pathOf: (i: number) => string) {
    const errors: FieldError[] = []
    const targets = new Set(kept.map((k) => k.articleId))
    // one page however its URL is written: scheme and host in any case, a default port, `..` segments
    const urls = new Set(kept.flatMap((k) => k.url === null ? [] : [samePage(k.url)]))
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
        const page = samePage(l.url!)
        if (urls.has(page)) errors.push({ path: `${path}/url`, message: 'Already linked' })
        urls.add(page)
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
      id: newId(),
      targetId: l.articleId ?? null,
      url: l.url ?? null,
      headline: l.headline ?? null,
      summary: l.summary ?? null
    }))
  }

  /**
   * A list of links written again keeps the id of every link to a target already linked (the same article, or the
   * same page however its URL is written), its place and overrides as they now are: a reordered list, or one
   * restored from a revision, leaves a script holding a link's id able to remove it.
   */
  function keepLinkIds (links: RelatedInsert[], stored: { id: string, articleId: string | null, url: string | null }[]): RelatedInsert[] {
    const key = (articleId: string | null, url: string | null) => articleId ?? `url ${samePage(url!)}`
    const ids = new Map(stored.map((l) => [key(l.articleId, l.url), l.id]))
    return links.map((l) => ({ ...l, id: ids.get(key(l.targetId, l.url)) ?? l.id }))
  }

  /** Writers work on drafts only: publishing, and changing what readers may see, is an editor's job. */
  function assertMayChange (actor: Principal, current: ArticleRow | undefined, change: { status?: ArticleStatus, publishedAt?: string | null } = {}) {
    if (actor.role !== 'writer') return
    if (current && current.status !== 'draft') {
      throw new Forbidden(`Writers can change drafts only; this article is ${current.status === 'published' ? 'published or scheduled' : current.status}: ask an editor`)
    }
    if (change.status !== undefined && change.status !== 'draft') throw new Forbidden('Writers cannot publish or archive articles: ask an editor')
    // the date a story goes out under is the desk's: given by a writer, an editor's plain publish would send it
    // out dated so (buried in its fronts, or at the top), and removed, a story taken down lost its own date.
    // Sent back as it stands (a script writing the whole article again) it changes nothing.
    const at = (d: string | Date | null | undefined) => d === null || d === undefined ? null : new Date(d).getTime()
    if (change.publishedAt !== undefined && at(change.publishedAt) !== at(current?.publishedAt)) {
      throw new Forbidden('Writers cannot set or remove a publication date: ask an editor')
    }
  }

  /** Loads the article for a write, after checking the writer's If-Match against what they read. */
  async function forWrite (id: string, w: Write, representation: 'article' | 'related' = 'article') {
    const current = await getRow(id, staff)
    await assertMatch(w, async () => representation === 'article'
      ? (await present([current], staff))[0]
      : relatedList(id, staff))
    return current
  }

  /**
   * Stores the article as it now stands as revision number `revision`, and refreshes its search entry.
   * A write that has just stored the row and bylines passes them (`known`) instead of reading them back.
   */
  async function snapshot (id: string, actor: Principal, action: RevisionAction, known?: Stored, related?: RevisionContent['related']) {
    const { row, bylines } = known ?? await stored(id)
    const content: RevisionContent = {
      slug: row.slug,
      headline: row.headline,
      summary: row.summary,
      body: row.body as BlockInput[],
      status: row.status,
      publishedAt: isoOrNull(row.publishedAt),
      updatedAt: iso(row.updatedAt),
      sectionId: row.sectionId,
      bylines,
      leadPhotoId: row.leadPhotoId,
      tags: row.tags as string[],
      source: row.source,
      canonicalUrl: row.canonicalUrl,
      language: row.language,
      related: related ?? (await store.articles.relatedLinks(id)).map(({ id: _, ...link }) => link)
    }
    const at = new Date()
    await store.articles.insertRevision({
      articleId: id, number: row.revision, createdAt: at, keyId: actor.keyId, keyName: actor.name, action, content
    })
    // its time of change (a new article's search row, written with the index, takes the time it is written)
    await store.articles.changedWith({ articleIds: [id] }, at)
    reindex(store, id)
    return row
  }

  async function stored (id: string): Promise<Stored> {
    const row = await getRow(id, staff)
    return { row, bylines: (await store.articles.bylinesOf([id])).map((b) => ({ bylineId: b.bylineId, role: b.role })) }
  }

  /**
   * Applies a merge patch to the stored article (one new revision number), keeping its link tables in step. A patch
   * that changes nothing (a script sending an article as it stands, a story published again at its date) writes
   * nothing: no revision, and the "Updated" date and the ETag stay; `always` writes anyway (a restore).
   */
  async function applyPatch (current: ArticleRow, patch: ArticlePatch, now: Date, always = false): Promise<Stored & { changed: boolean }> {
    const id = current.id
    const next: ArticleRow = { ...current }
    if (patch.slug !== undefined && patch.slug !== current.slug) {
      next.slug = await chooseSlug(patch.slug, patch.slug, (s) => store.articles.slugTaken(s, id), 'article')
      // the old URL is kept when readers may have it: the story is out with it, or was and has been taken down (a
      // draft's slug, set by mistake and changed before it went out, was never shared, and is free for any story,
      // even when the draft carries the date of an earlier print edition)
      const out = current.status === 'published' && current.publishedAt !== null && current.publishedAt.getTime() <= now.getTime()
      const wasOut = out || await store.articles.slugLastSeen(id) === current.slug
      await store.articles.slugChanged(id, current.slug, next.slug, now, wasOut)
    }
    if (patch.headline !== undefined) next.headline = patch.headline
    if (patch.summary !== undefined) next.summary = patch.summary
    if (patch.body !== undefined) next.body = cleanBody(patch.body ?? [])
    if (patch.status !== undefined) next.status = patch.status
    if (patch.publishedAt !== undefined) next.publishedAt = patch.publishedAt === null ? null : new Date(patch.publishedAt)
    // removing the date of a published or scheduled story would publish it now (an embargo broken, an old story
    // moved to the top of its fronts): taking a story down is unpublishing it
    if (patch.publishedAt === null && next.status === 'published') {
      throw new Unprocessable('A published or scheduled article keeps its publication time: unpublish it to take it down, or send another publishedAt', [
        { path: '/publishedAt', message: 'Cannot be removed while the article is published; set status to draft or archived with it' }
      ])
    }
    next.publishedAt = publication(next.status, next.publishedAt, now)
    if (patch.sectionId !== undefined) next.sectionId = patch.sectionId
    if (patch.leadPhotoId !== undefined) next.leadPhotoId = patch.leadPhotoId
    if (patch.tags !== undefined) next.tags = uniqueTags(patch.tags ?? [])
    if (patch.source !== undefined) next.source = patch.source
    if (patch.canonicalUrl !== undefined) next.canonicalUrl = patch.canonicalUrl
    if (patch.language !== undefined) next.language = languageTag(patch.language)
    const before = (await store.articles.bylinesOf([id])).map((b) => ({ bylineId: b.bylineId, role: b.role }))
    const bylines = patch.bylines !== undefined ? bylineLinks(patch.bylines ?? []) : before
    const photoIds = await checkReferences({ ...next, body: next.body as BlockInput[], bylines })
    // updatedAt is the editorial "Updated" date: content edits move it, publishing alone does not
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)
    const edited = CONTENT_FIELDS.some((k) => !same(next[k], current[k])) || !same(bylines, before)
    next.updatedAt = patch.updatedAt ? editorialDate(patch.updatedAt, now) : edited ? now : current.updatedAt
    const changed = always || edited || next.status !== current.status ||
      next.publishedAt?.getTime() !== current.publishedAt?.getTime() || next.updatedAt.getTime() !== current.updatedAt.getTime()
    if (!changed) return { row: current, bylines: before, changed }
    next.revision = current.revision + 1
    const { id: _id, createdAt: _createdAt, ...fields } = next
    await store.articles.update(id, fields)
    await store.articles.replaceLinks(id, { bylines, tags: (next.tags as string[]).map(tagKey), photoIds }, next)
    // what the stories linking to it show of it (see articleRelated's copies of their targets); not for a story readers
    // see neither before nor after: their related lists leave it out, and a time of change would tell them of its edits
    const shown = readersSee(current, now) || readersSee(next, now)
    if (shown && ((['slug', 'headline', 'summary', 'status'] as const).some((k) => next[k] !== current[k]) || next.publishedAt?.getTime() !== current.publishedAt?.getTime())) {
      await store.articles.changedWith({ linkingTo: [id] }, now)
    }
    // taken down (unpublished, a draft, archived, put off to a later time) or out again: see removals
    if (readersSee(current, now) && !readersSee(next, now)) {
      await store.articles.removed({ articleId: id, slug: current.slug, removedAt: now, deleted: false, public: true })
    } else if (readersSee(next, now) && !readersSee(current, now)) {
      await store.articles.notRemoved(id)
    }
    return { row: next, bylines, changed }
  }

  /** The article after a write, with its revision recorded, if the write changed anything (see applyPatch). */
  async function recorded (actor: Principal, action: RevisionAction, written: Stored & { changed: boolean }) {
    return written.changed ? snapshot(written.row.id, actor, action, written) : written.row
  }

  /** A write that changes only related links still makes a new revision of the article. */
  async function bump (current: ArticleRow) {
    await store.articles.update(current.id, { revision: current.revision + 1 })
  }

  async function relatedList (id: string, viewer: Viewer) {
    return { data: resolveRelated(await store.articles.relatedOf([id], viewer.publicOnly, new Date())) }
  }

  const presentOne = async (row: ArticleRow) => (await present([row], staff))[0]!
  /**
   * A write answered with the article as it wrote it, read back inside the write: read after the commit, a connection
   * lost in between (PostgreSQL restarting, a proxy dropping it) answered 503 for a write that was made, and a client
   * sending it again made a second article.
   */
  const writtenArticle = (fn: () => Promise<ArticleRow>) => store.transaction(async () => presentOne(await fn()))
  /** A write of an article's related links answered with the list it leaves, read back inside the write (see writtenArticle). */
  const writtenRelated = (id: string, fn: () => Promise<void>) => store.transaction(async () => {
    await fn()
    return relatedList(id, staff)
  })

  return {
    present,

    async get (id: string, viewer: Viewer) {
      return (await present([await getRow(id, viewer)], viewer))[0]!
    },

    /**
     * The article with this slug; for a slug it had before (see articleFormerSlugs), the slug it has now, for the
     * reader to be sent there. Hidden articles are not found, by either.
     */
    async getBySlug (slug: string, viewer: Viewer): Promise<{ article: Article } | { movedTo: string }> {
      const now = new Date()
      const row = await store.articles.findBySlug(slug, viewer.publicOnly, now)
      if (row) return { article: (await present([row], viewer))[0]! }
      const formerOf = await store.articles.withFormerSlug(slug)
      const moved = formerOf === undefined ? undefined : await store.articles.findById(formerOf, viewer.publicOnly, now)
      if (!moved) throw new NotFound('Article', slug)
      return { movedTo: moved.slug }
    },

    /** Whether a reader may see the article (used to answer 404 rather than 401 for hidden ones). */
    async visible (id: string, viewer: Viewer) {
      return (await store.articles.findById(id, viewer.publicOnly, new Date())) !== undefined
    },

    async list (query: ArticleListQuery, viewer: Viewer) {
      // a tag by its key, however it was typed (its cursors too)
      if (query.tag !== undefined) query = { ...query, tag: tagKey(query.tag) }
      const sort = query.sort ?? (query.q !== undefined ? 'relevance' : '-publishedAt')
      if (sort === 'relevance' && query.q === undefined) throw invalid('sort=relevance needs a search: add q', [{ path: '/query/sort', message: 'relevance needs q' }])
      if (query.descendants && query.section === undefined) throw invalid('descendants=true adds the articles of a section\'s subsections: add section', [{ path: '/query/descendants', message: 'needs section' }])
      if (query.q !== undefined && (sort.endsWith('changedAt') || query.changedSince !== undefined)) {
        const path = query.changedSince !== undefined ? '/query/changedSince' : '/query/sort'
        throw invalid('changedSince and sort=changedAt follow every change of the archive and do not combine with a search (q)', [{ path, message: 'not with q' }])
      }
      // an empty range (the two swapped, most often) is a mistake to say, not a list to answer empty
      if (query.publishedAfter !== undefined && query.publishedBefore !== undefined && Date.parse(query.publishedAfter) >= Date.parse(query.publishedBefore)) {
        throw invalid('publishedAfter (inclusive) must be earlier than publishedBefore (exclusive): no time is in this range',
          [{ path: '/query/publishedBefore', message: 'Is not later than publishedAfter' }])
      }
      const match = query.q === undefined ? undefined : ftsQuery(query.q)
      const scope = listScope(sort, query)
      const afterKey: ArticleKey | undefined = query.cursor === undefined
        ? undefined
        : sort === 'relevance'
          ? decodeCursor(scope, query.cursor, ['float', 'string', 'ids?'] as const, store.cursorKey)
          : decodeCursor(scope, query.cursor, ['date?', 'string'] as const)
      let sectionIds: string[] | undefined
      if (query.section !== undefined) {
        const id = await sections.resolveId(query.section)
        if (!id) return { data: [], next: null }
        sectionIds = query.descendants ? await store.sections.descendantIds(id) : [id]
      }
      let bylineId: string | undefined
      if (query.byline !== undefined) {
        bylineId = (await store.bylines.findById(query.byline) ?? await store.bylines.findBySlug(query.byline))?.id
        if (!bylineId) return { data: [], next: null }
      }
      const date = (s?: string) => s === undefined ? undefined : new Date(s)
      const hits = await store.articles.list({
        publicOnly: viewer.publicOnly,
        now: new Date(),
        sectionIds,
        bylineId,
        status: query.status,
        tag: query.tag,
        publishedAfter: date(query.publishedAfter),
        publishedBefore: date(query.publishedBefore),
        updatedSince: date(query.updatedSince),
        changedSince: date(query.changedSince),
        match,
        sort,
        after: afterKey,
        limit: query.limit + 1
      })
      const page = paginate(hits, query.limit, (h, rows) => sort === 'relevance'
        // the page's last articles (see pageOf): scores move with the archive, these stay where they rank
        ? [h.rank!, h.row.id, rows.slice(-3, -1).map((r) => r.row.id)]
        : [sort.endsWith('publishedAt') ? h.row.publishedAt : sort.endsWith('changedAt') ? h.changedAt! : h.row.updatedAt, h.row.id], scope, { max: PAGE_TEXT_MAX, size: (h) => textSize(h.row) }, sort === 'relevance' ? store.cursorKey : undefined)
      const data = await present(page.rows.map((h) => h.row), viewer)
      if (match !== undefined) {
        const snippet = snippetsFor(match)
        page.rows.forEach((h, i) => {
          const a = data[i]!
          // the photos' own captions, as presented (a block with an override shows the override)
          const captions = new Map(a.body.flatMap((b) => b.type === 'photo' && !b.captionOverride ? [[b.photoId, b.caption] as const] : []))
          if (a.leadPhoto) captions.set(a.leadPhoto.id, a.leadPhoto.caption)
          a.snippet = snippet(documentOf(h.row, a.bylines.map((b) => b.name), (id) => captions.get(id)), h.row.leadPhotoId !== null)
        })
      }
      return { data, next: page.next }
    },

    /**
     * Articles readers can no longer see, oldest removal first (see articleRemovals): what a copy kept elsewhere drops.
     * Anonymous readers get those they may have had (deleted or taken down after being out); a key gets deleted ones
     * (a story taken down is still there for it, changed).
     */
    async removals (query: { since?: string, limit: number, cursor?: string }, viewer: Viewer) {
      const since = query.since === undefined ? undefined : new Date(query.since)
      const page = await keysetPage({
        scope: `removals:${viewer.publicOnly ? 'public' : 'staff'}:${query.since ?? ''}`,
        cursor: query.cursor,
        limit: query.limit,
        kinds: ['date', 'string'] as const,
        fetch: (after, limit) => store.articles.removals({ publicOnly: viewer.publicOnly, since, after, limit }),
        key: (r) => [r.removedAt, r.articleId]
      })
      return { data: page.rows.map((r) => ({ id: r.articleId, slug: r.slug, removedAt: iso(r.removedAt), deleted: r.deleted })), next: page.next }
    },

    /**
     * Marks the scheduled articles whose time has come as changed then (see store.articles.goneLive), in a write of
     * its own when there are any, and answers how many. Every instance runs it each second: the first to find them
     * marks them, the others find none.
     */
    async markGoneLive () {
      if ((await store.articles.goneLive(new Date())).length === 0) return 0
      // the time taken once the write lock is held: taken before a wait for it (another process writing), it would
      // fall seconds before the commit, and a copy following the changes since its last answer would miss them
      return store.transaction(async () => store.articles.settleGoneLive(new Date()))
    },

    async create (input: ArticleCreate, w: Write) {
      assertMayChange(w.actor, undefined, input)
      const body = cleanBody(input.body ?? [])
      const now = new Date()
      return writtenArticle(async () => {
        const status = input.status ?? 'draft'
        const row: ArticleRow = {
          id: newId(),
          slug: await chooseSlug(input.slug, input.headline, (s) => store.articles.slugTaken(s), 'article'),
          headline: input.headline,
          summary: input.summary ?? null,
          body,
          status,
          publishedAt: publication(status, input.publishedAt ? new Date(input.publishedAt) : null, now),
          updatedAt: input.updatedAt ? editorialDate(input.updatedAt, now) : now,
          createdAt: now,
          revision: 1,
          sectionId: input.sectionId ?? null,
          leadPhotoId: input.leadPhotoId ?? null,
          tags: uniqueTags(input.tags ?? []),
          source: input.source ?? null,
          canonicalUrl: input.canonicalUrl ?? null,
          language: languageTag(input.language ?? null)
        }
        const bylines = bylineLinks(input.bylines ?? [])
        const photoIds = await checkReferences({ ...row, body, bylines })
        await store.articles.insert(row, { bylines, tags: (row.tags as string[]).map(tagKey), photoIds })
        await snapshot(row.id, w.actor, 'create', { row, bylines }, [])
        return row
      })
    },

    async update (id: string, patch: ArticlePatch, w: Write) {
      return writtenArticle(async () => {
        const current = await forWrite(id, w)
        assertMayChange(w.actor, current, patch)
        return recorded(w.actor, 'update', await applyPatch(current, patch, new Date()))
      })
    },

    /**
     * Publishes now (or at the past date the article already has), or schedules for a future `publishedAt`: readers
     * see it from that moment, decided at read time.
     */
    async publish (id: string, input: PublishInput, w: Write) {
      return writtenArticle(async () => {
        const current = await forWrite(id, w)
        const now = new Date()
        // without a date: now, but an article that has a publication date already past (published, archived,
        // or a draft given its original date) keeps it: publishing again never moves a story to the top
        const kept = current.publishedAt !== null && current.publishedAt <= now ? current.publishedAt : now
        return recorded(w.actor, 'publish', await applyPatch(current, { status: 'published', publishedAt: input.publishedAt ?? kept.toISOString() }, now))
      })
    },

    /** Takes the article back to draft: readers no longer see it anywhere. */
    async unpublish (id: string, w: Write) {
      return writtenArticle(async () => {
        const current = await forWrite(id, w)
        return recorded(w.actor, 'unpublish', await applyPatch(current, { status: 'draft', publishedAt: null }, new Date()))
      })
    },

    async delete (id: string, w: Write) {
      await store.transaction(async () => {
        const current = await forWrite(id, w)
        assertMayChange(w.actor, current)
        // a story taken back to draft (to be corrected) is still the newsroom's published work: deleting it, and its
        // history with it, is an editor's call
        if (w.actor.role === 'writer' && await store.articles.everPublished(id)) {
          throw new Forbidden('This article was published before (it is a draft again): ask an editor to delete it')
        }
        const linking = await Promise.all((await store.articles.linkingTo(id)).map((other) => getRow(other, staff)))
        // the links to it go with it, and a writer may not change what is not a draft: deleting a draft linked
        // from a published story would rewrite that story's related list in the writer's name
        if (w.actor.role === 'writer' && linking.some((other) => other.status !== 'draft')) {
          throw new Forbidden('Published or archived stories link to this draft: ask an editor to delete it, or to take the links out first')
        }
        await store.articles.delete(id)
        const now = new Date()
        await store.articles.removed({ articleId: id, slug: current.slug, removedAt: now, deleted: true, public: readersSee(current, now) })
        // each article that had a link has a new revision saying so
        for (const other of linking) {
          await bump(other)
          await snapshot(other.id, w.actor, 'related')
        }
      })
    },

    relatedList: async (id: string, viewer: Viewer) => {
      await getRow(id, viewer)
      return relatedList(id, viewer)
    },

    async replaceRelated (id: string, links: RelatedLinkInput[], w: Write) {
      return writtenRelated(id, async () => {
        const current = await forWrite(id, w, 'related')
        assertMayChange(w.actor, current)
        const next = await validateRelated(id, links, [], (i) => `/${i}`)
        // the list as it stands, sent again: nothing is written, and the links keep their ids (see applyPatch)
        type Link = { targetId?: string | null, articleId?: string | null, url: string | null, headline: string | null, summary: string | null }
        const shown = (list: Link[]) => JSON.stringify(list.map((l) => [l.targetId ?? l.articleId ?? null, l.url, l.headline, l.summary]))
        const stored = await store.articles.relatedLinks(id)
        if (shown(stored) === shown(next)) return
        await store.articles.replaceRelated(id, keepLinkIds(next, stored))
        await bump(current)
        await snapshot(id, w.actor, 'related')
      })
    },

    async appendRelated (id: string, link: RelatedLinkInput, w: Write) {
      return writtenRelated(id, async () => {
        const current = await forWrite(id, w, 'related')
        assertMayChange(w.actor, current)
        const [insert] = await validateRelated(id, [link], await store.articles.relatedLinks(id), () => '')
        await store.articles.appendRelated(id, insert!)
        await bump(current)
        await snapshot(id, w.actor, 'related')
      })
    },

    async deleteRelated (id: string, linkId: string, w: Write) {
      return writtenRelated(id, async () => {
        const current = await forWrite(id, w, 'related')
        assertMayChange(w.actor, current)
        if (!(await store.articles.deleteRelated(id, linkId))) throw new NotFound('Related link', linkId)
        await bump(current)
        await snapshot(id, w.actor, 'related')
      })
    },

    async listRevisions (id: string, query: { limit: number, cursor?: string }) {
      await getRow(id, staff)
      const page = await keysetPage({
        scope: `revisions:${id}`,
        cursor: query.cursor,
        limit: query.limit,
        kinds: ['number'] as const,
        fetch: (after, limit) => store.articles.listRevisions(id, { before: after?.[0], limit }),
        key: (r) => [r.number]
      })
      return { data: page.rows.map((r) => ({ ...r, action: r.action as RevisionAction, createdAt: iso(r.createdAt) })), next: page.next }
    },

    async getRevision (id: string, number: number): Promise<Revision> {
      await getRow(id, staff)
      const row = await store.articles.findRevision(id, number)
      if (!row) throw new NotFound(`Revision ${number} of article`, id)
      return {
        number: row.number,
        createdAt: iso(row.createdAt),
        keyId: row.keyId,
        keyName: row.keyName,
        action: row.action as RevisionAction,
        article: row.content as RevisionContent
      }
    },

    /**
     * Brings back a revision's content (text, body, section, bylines, photos, tags, related links) as a
     * new revision. Publication state and slug stay as they are now: restoring never publishes,
     * unpublishes or moves an article's URL. What the revision points at and was deleted since is left out, so
     * that the rest comes back: links to articles, bylines, body photo blocks; a section or lead photo deleted since
     * leaves the article's current one in its place.
     */
    async restore (id: string, number: number, w: Write) {
      return writtenArticle(async () => {
        const current = await forWrite(id, w)
        assertMayChange(w.actor, current)
        const revision = await store.articles.findRevision(id, number)
        if (!revision) throw new NotFound(`Revision ${number} of article`, id)
        const c = revision.content as RevisionContent
        const [sectionLeft, photosLeft, bylinesLeft] = await Promise.all([
          store.sections.existing(c.sectionId ? [c.sectionId] : []), store.photos.existing(photoIdsOf(c)),
          store.bylines.existing(c.bylines.map((b) => b.bylineId))
        ])
        const next = await applyPatch(current, {
          headline: c.headline,
          summary: c.summary,
          body: c.body.filter((b) => b.type !== 'photo' || photosLeft.has(b.photoId)),
          sectionId: c.sectionId === null || sectionLeft.has(c.sectionId) ? c.sectionId : current.sectionId,
          bylines: c.bylines.filter((b) => bylinesLeft.has(b.bylineId)),
          leadPhotoId: c.leadPhotoId === null || photosLeft.has(c.leadPhotoId) ? c.leadPhotoId : current.leadPhotoId,
          tags: c.tags,
          source: c.source,
          canonicalUrl: c.canonicalUrl,
          language: c.language
        }, new Date(), true)
        const alive = await store.articles.existing(c.related.flatMap((l) => l.articleId ? [l.articleId] : []))
        const links = c.related
          .filter((l) => l.articleId === null || alive.has(l.articleId))
          .map((l): RelatedLinkInput => ({
            ...(l.articleId ? { articleId: l.articleId } : { url: l.url! }),
            ...(l.headline !== null ? { headline: l.headline } : {}),
            ...(l.summary !== null ? { summary: l.summary } : {})
          }))
        const restored = await validateRelated(id, links, [], (i) => `/related/${i}`)
        await store.articles.replaceRelated(id, keepLinkIds(restored, await store.articles.relatedLinks(id)))
        return snapshot(id, w.actor, 'restore', next)
      })
    }
  }
}

export type ArticlesService = ReturnType<typeof articlesService>
