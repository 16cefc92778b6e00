import { sql } from 'drizzle-orm'
import { pgTable, text, integer, bigint, doublePrecision, boolean, json, index, uniqueIndex, primaryKey, customType, type AnyPgColumn } from 'drizzle-orm/pg-core'

/*
 * The PostgreSQL tables: the same tables, columns and row types as the SQLite ones (src/db/sqlite/schema.ts, where
 * each is described), so that the service reads and writes the same rows on either. Where they differ:
 * - times are `timestamptz` with millisecond precision (SQLite keeps milliseconds since the epoch);
 * - JSON columns are `json`, which keeps the text as written (`jsonb` would reorder an article's keys);
 * - the full-text index is the search row's own `document` column (a weighted tsvector, GIN-indexed) instead of
 *   FTS5 virtual tables; `doc` stays as the search row's number.
 */

/**
 * A `timestamptz` of millisecond precision, read as PostgreSQL writes it in the UTC session every connection opens
 * (`0001-01-01 00:00:00+00`; see openPostgres). Drizzle's own column hands that text to `new Date()`, whose reading of
 * text that is not ISO 8601 takes a year below 100 for 19xx or 20xx: an archive story dated 0099 read back as 1999,
 * was saved so by its next edit, and a page's cursor skipped stories. Read here in ISO 8601, which says what it means.
 */
const timestamp = customType<{ data: Date, driverData: string }>({
  dataType: () => 'timestamp (3) with time zone',
  toDriver: (date) => date.toISOString(),
  fromDriver: (text) => typeof text === 'string' ? fromPostgres(text) : text
})
const fromPostgres = (text: string) => new Date(text.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00'))
const bytea = customType<{ data: Buffer }>({ dataType: () => 'bytea' })
const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' })
const STATUSES = ['draft', 'published', 'archived'] as const

export const sections = pgTable('sections', {
  id: text('id').primaryKey(),
  slug: text('slug').notNull(),
  name: text('name').notNull(),
  description: text('description'),
  parentId: text('parent_id').references((): AnyPgColumn => sections.id, { onDelete: 'restrict' }),
  position: integer('position').notNull().default(0),
  sortName: text('sort_name').notNull().default(''),
  createdAt: timestamp('created_at').notNull(),
  updatedAt: timestamp('updated_at').notNull()
}, (t) => [
  uniqueIndex('sections_slug_uq').on(t.slug),
  index('sections_parent_position_idx').on(t.parentId, t.position, t.sortName, t.id)
])

export const photos = pgTable('photos', {
  id: text('id').primaryKey(),
  caption: text('caption'),
  credit: text('credit'),
  altText: text('alt_text'),
  width: integer('width').notNull(),
  height: integer('height').notNull(),
  mimeType: text('mime_type').notNull(),
  bytes: integer('bytes').notNull(),
  sha256: text('sha256').notNull(),
  storageKey: text('storage_key').notNull(),
  focalX: doublePrecision('focal_x'),
  focalY: doublePrecision('focal_y'),
  originalFilename: text('original_filename'),
  placeholder: text('placeholder'),
  dominantColor: text('dominant_color'),
  createdAt: timestamp('created_at').notNull(),
  updatedAt: timestamp('updated_at').notNull()
}, (t) => [
  index('photos_created_idx').on(t.createdAt, t.id),
  index('photos_storage_key_idx').on(t.storageKey)
])

export const bylines = pgTable('bylines', {
  id: text('id').primaryKey(),
  slug: text('slug').notNull(),
  name: text('name').notNull(),
  kind: text('kind', { enum: ['person', 'agency', 'organization'] }).notNull(),
  title: text('title'),
  bio: text('bio'),
  url: text('url'),
  photoId: text('photo_id').references(() => photos.id, { onDelete: 'restrict' }),
  sortName: text('sort_name').notNull().default(''),
  /** The name folded as a finder matches it (see foldedForMatching), for `?q=`: PostgreSQL has no such function. */
  foldedName: text('folded_name').notNull().default(''),
  createdAt: timestamp('created_at').notNull(),
  updatedAt: timestamp('updated_at').notNull()
}, (t) => [
  uniqueIndex('bylines_slug_uq').on(t.slug),
  index('bylines_name_idx').on(t.sortName, t.id),
  index('bylines_kind_name_idx').on(t.kind, t.sortName, t.id),
  index('bylines_photo_idx').on(t.photoId)
])

export const articles = pgTable('articles', {
  id: text('id').primaryKey(),
  slug: text('slug').notNull(),
  headline: text('headline').notNull(),
  summary: text('summary'),
  body: json('body').notNull(),
  status: text('status', { enum: STATUSES }).notNull(),
  publishedAt: timestamp('published_at'),
  updatedAt: timestamp('updated_at').notNull(),
  createdAt: timestamp('created_at').notNull(),
  revision: integer('revision').notNull(),
  sectionId: text('section_id').references(() => sections.id, { onDelete: 'restrict' }),
  leadPhotoId: text('lead_photo_id').references(() => photos.id, { onDelete: 'restrict' }),
  tags: json('tags').notNull(),
  source: text('source'),
  canonicalUrl: text('canonical_url'),
  language: text('language')
}, (t) => [
  uniqueIndex('articles_slug_uq').on(t.slug),
  index('articles_published_idx').on(t.publishedAt, t.id),
  index('articles_status_published_idx').on(t.status, t.publishedAt, t.id),
  index('articles_section_published_idx').on(t.sectionId, t.publishedAt, t.id),
  index('articles_updated_idx').on(t.updatedAt, t.id),
  index('articles_status_updated_idx').on(t.status, t.updatedAt, t.id)
])

export const articleBylines = pgTable('article_bylines', {
  articleId: text('article_id').notNull().references(() => articles.id, { onDelete: 'cascade' }),
  position: integer('position').notNull(),
  bylineId: text('byline_id').notNull().references(() => bylines.id, { onDelete: 'restrict' }),
  role: text('role', { enum: ['author', 'contributor', 'photographer', 'agency'] }).notNull(),
  status: text('status', { enum: STATUSES }),
  publishedAt: timestamp('published_at')
}, (t) => [
  primaryKey({ columns: [t.articleId, t.position] }),
  index('article_bylines_byline_published_idx').on(t.bylineId, t.status, t.publishedAt, t.articleId)
])

export const articleTags = pgTable('article_tags', {
  articleId: text('article_id').notNull().references(() => articles.id, { onDelete: 'cascade' }),
  tag: text('tag').notNull(),
  status: text('status', { enum: STATUSES }),
  publishedAt: timestamp('published_at')
}, (t) => [
  primaryKey({ columns: [t.articleId, t.tag] }),
  index('article_tags_tag_published_idx').on(t.tag, t.status, t.publishedAt, t.articleId)
])

export const articlePhotos = pgTable('article_photos', {
  articleId: text('article_id').notNull().references(() => articles.id, { onDelete: 'cascade' }),
  photoId: text('photo_id').notNull().references(() => photos.id, { onDelete: 'restrict' })
}, (t) => [
  primaryKey({ columns: [t.articleId, t.photoId] }),
  index('article_photos_photo_idx').on(t.photoId)
])

export const articleRelated = pgTable('article_related', {
  id: text('id').primaryKey(),
  articleId: text('article_id').notNull().references(() => articles.id, { onDelete: 'cascade' }),
  position: integer('position').notNull(),
  targetId: text('target_id').references(() => articles.id, { onDelete: 'cascade' }),
  url: text('url'),
  headline: text('headline'),
  summary: text('summary'),
  targetSlug: text('target_slug'),
  targetHeadline: text('target_headline'),
  targetSummary: text('target_summary'),
  targetStatus: text('target_status', { enum: STATUSES }),
  targetPublishedAt: timestamp('target_published_at')
}, (t) => [
  uniqueIndex('article_related_position_uq').on(t.articleId, t.position),
  index('article_related_target_idx').on(t.targetId)
])

export const apiKeys = pgTable('api_keys', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  role: text('role', { enum: ['admin', 'editor', 'writer'] }).notNull(),
  prefix: text('prefix').notNull(),
  hash: text('hash').notNull(),
  createdAt: timestamp('created_at').notNull(),
  revokedAt: timestamp('revoked_at')
}, (t) => [
  uniqueIndex('api_keys_hash_uq').on(t.hash),
  index('api_keys_created_idx').on(t.createdAt, t.id)
])

export const articleRevisions = pgTable('article_revisions', {
  articleId: text('article_id').notNull().references(() => articles.id, { onDelete: 'cascade' }),
  number: integer('number').notNull(),
  createdAt: timestamp('created_at').notNull(),
  keyId: text('key_id'),
  keyName: text('key_name'),
  action: text('action').notNull(),
  content: json('content').notNull()
}, (t) => [
  primaryKey({ columns: [t.articleId, t.number] })
])

export const articleSearch = pgTable('article_search', {
  doc: integer('doc').primaryKey().generatedByDefaultAsIdentity(),
  articleId: text('article_id').notNull().references(() => articles.id, { onDelete: 'cascade' }),
  status: text('status', { enum: STATUSES }).notNull().default('draft'),
  publishedAt: timestamp('published_at'),
  updatedAt: timestamp('updated_at').notNull().default(sql`'epoch'`),
  sectionId: text('section_id'),
  changedAt: timestamp('changed_at').notNull().default(sql`'epoch'`),
  /**
   * The article's words as the index holds them (see documentOf and the articles repository's `index`), each field's
   * in a weight class: headline A, bylines B, tags C, summary and body D. Written with the search row, in the
   * article write's transaction; what searches match (GIN-indexed) and rank.
   */
  document: tsvector('document'),
  /** The summary's words alone: ranking tells a match in the summary from one in the body by it (four classes for five fields). */
  summaryDocument: tsvector('summary_document'),
  /** Whether the article's body is also kept in parts (see articleSearchParts): only then is a phrase looked for there. */
  parted: boolean('parted').notNull().default(false)
}, (t) => [
  uniqueIndex('article_search_article_uq').on(t.articleId),
  index('article_search_section_published_idx').on(t.sectionId, t.status, t.publishedAt, t.articleId),
  index('article_search_published_idx').on(t.publishedAt),
  index('article_search_changed_idx').on(t.changedAt, t.articleId),
  index('article_search_going_live_idx').on(t.publishedAt).where(sql`${t.status} = 'published' and ${t.changedAt} < ${t.publishedAt}`),
  index('article_search_document_idx').using('gin', t.document)
])

/**
 * A long article's body in parts, each a tsvector within PostgreSQL's limits (see words.ts): the search row's
 * `document` keeps at most 256 positions a word and none past 16,383, so a phrase in a long read (after the 256th
 * "the", or past ~16,000 words) is not found in it. Written only for such articles; a phrase that `document` does
 * not find is looked for in them (see the articles repository's `matching`).
 */
export const articleSearchParts = pgTable('article_search_parts', {
  doc: integer('doc').notNull().references(() => articleSearch.doc, { onDelete: 'cascade' }),
  part: integer('part').notNull(),
  document: tsvector('document').notNull()
}, (t) => [
  primaryKey({ columns: [t.doc, t.part] })
])

/**
 * A number every write adds one to, in its own transaction (see the client's `version`): what a reader sees changes
 * exactly when it does, whichever instance wrote. (PostgreSQL's own transaction counters are the whole server's:
 * another database's writes would turn them too.)
 */
export const contentVersion = pgTable('content_version', {
  id: integer('id').primaryKey(),
  number: bigint('number', { mode: 'number' }).notNull()
})

export const secrets = pgTable('secrets', {
  name: text('name').primaryKey(),
  value: bytea('value').notNull()
})

export const articleFormerSlugs = pgTable('article_former_slugs', {
  slug: text('slug').primaryKey(),
  articleId: text('article_id').notNull().references(() => articles.id, { onDelete: 'cascade' }),
  createdAt: timestamp('created_at').notNull()
}, (t) => [
  index('article_former_slugs_article_idx').on(t.articleId)
])

export const articleRemovals = pgTable('article_removals', {
  articleId: text('article_id').primaryKey(),
  slug: text('slug').notNull(),
  removedAt: timestamp('removed_at').notNull(),
  deleted: boolean('deleted').notNull(),
  public: boolean('public').notNull()
}, (t) => [
  index('article_removals_public_idx').on(t.public, t.removedAt, t.articleId),
  index('article_removals_deleted_idx').on(t.deleted, t.removedAt, t.articleId)
])
