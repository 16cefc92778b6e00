import { sql } from 'drizzle-orm'
import { sqliteTable, text, integer, real, blob, index, uniqueIndex, primaryKey, type AnySQLiteColumn } from 'drizzle-orm/sqlite-core'

const timestamp = (name: string) => integer(name, { mode: 'timestamp_ms' })

export const sections = sqliteTable('sections', {
  id: text('id').primaryKey(),
  slug: text('slug').notNull(),
  name: text('name').notNull(),
  description: text('description'),
  parentId: text('parent_id').references((): AnySQLiteColumn => sections.id, { onDelete: 'restrict' }),
  position: integer('position').notNull().default(0),
  /** The name as lists sort it: folded as a finder matches it, its first 100 characters (see sortKeyOf); written by the repository. */
  sortName: text('sort_name').notNull().default(''),
  createdAt: timestamp('created_at').notNull(),
  updatedAt: timestamp('updated_at').notNull()
}, (t) => [
  uniqueIndex('sections_slug_uq').on(t.slug),
  index('sections_parent_position_idx').on(t.parentId, t.position, t.sortName, t.id)
])

export const photos = sqliteTable('photos', {
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
  focalX: real('focal_x'),
  focalY: real('focal_y'),
  originalFilename: text('original_filename'),
  placeholder: text('placeholder'),
  dominantColor: text('dominant_color'),
  createdAt: timestamp('created_at').notNull(),
  updatedAt: timestamp('updated_at').notNull()
}, (t) => [
  index('photos_created_idx').on(t.createdAt, t.id),
  index('photos_storage_key_idx').on(t.storageKey)
])

export const bylines = sqliteTable('bylines', {
  id: text('id').primaryKey(),
  slug: text('slug').notNull(),
  name: text('name').notNull(),
  kind: text('kind', { enum: ['person', 'agency', 'organization'] }).notNull(),
  title: text('title'),
  bio: text('bio'),
  url: text('url'),
  photoId: text('photo_id').references(() => photos.id, { onDelete: 'restrict' }),
  /** The name as lists sort it: folded as a finder matches it, its first 100 characters (see sortKeyOf); written by the repository. */
  sortName: text('sort_name').notNull().default(''),
  createdAt: timestamp('created_at').notNull(),
  updatedAt: timestamp('updated_at').notNull()
}, (t) => [
  uniqueIndex('bylines_slug_uq').on(t.slug),
  index('bylines_name_idx').on(t.sortName, t.id),
  index('bylines_kind_name_idx').on(t.kind, t.sortName, t.id),
  index('bylines_photo_idx').on(t.photoId)
])

export const articles = sqliteTable('articles', {
  id: text('id').primaryKey(),
  slug: text('slug').notNull(),
  headline: text('headline').notNull(),
  summary: text('summary'),
  body: text('body', { mode: 'json' }).notNull(),
  status: text('status', { enum: ['draft', 'published', 'archived'] }).notNull(),
  publishedAt: timestamp('published_at'),
  updatedAt: timestamp('updated_at').notNull(),
  createdAt: timestamp('created_at').notNull(),
  revision: integer('revision').notNull(),
  sectionId: text('section_id').references(() => sections.id, { onDelete: 'restrict' }),
  leadPhotoId: text('lead_photo_id').references(() => photos.id, { onDelete: 'restrict' }),
  tags: text('tags', { mode: 'json' }).notNull(),
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

/**
 * A byline's and a tag's articles, newest first, are a walk over one index: each credit and tag row holds a copy
 * of its article's status and publication time (`status`, `publishedAt`), kept by the database whatever code writes
 * (triggers in migrations/sqlite/0015): filled when the row is written, rewritten when the article's status or publication
 * time changes. Sorting on the article's own columns read every article of the byline or tag for each page: 260 ms
 * for a wire agency's 20,000 stories at 100,000 articles.
 */
export const articleBylines = sqliteTable('article_bylines', {
  articleId: text('article_id').notNull().references(() => articles.id, { onDelete: 'cascade' }),
  position: integer('position').notNull(),
  bylineId: text('byline_id').notNull().references(() => bylines.id, { onDelete: 'restrict' }),
  role: text('role', { enum: ['author', 'contributor', 'photographer', 'agency'] }).notNull(),
  status: text('status', { enum: ['draft', 'published', 'archived'] }),
  publishedAt: timestamp('published_at')
}, (t) => [
  primaryKey({ columns: [t.articleId, t.position] }),
  index('article_bylines_byline_published_idx').on(t.bylineId, t.status, t.publishedAt, t.articleId)
])

export const articleTags = sqliteTable('article_tags', {
  articleId: text('article_id').notNull().references(() => articles.id, { onDelete: 'cascade' }),
  tag: text('tag').notNull(),
  status: text('status', { enum: ['draft', 'published', 'archived'] }),
  publishedAt: timestamp('published_at')
}, (t) => [
  primaryKey({ columns: [t.articleId, t.tag] }),
  index('article_tags_tag_published_idx').on(t.tag, t.status, t.publishedAt, t.articleId)
])

/** Every photo an article shows (lead photo and body blocks): answers "is this photo in use?" with an index. */
export const articlePhotos = sqliteTable('article_photos', {
  articleId: text('article_id').notNull().references(() => articles.id, { onDelete: 'cascade' }),
  photoId: text('photo_id').notNull().references(() => photos.id, { onDelete: 'restrict' })
}, (t) => [
  primaryKey({ columns: [t.articleId, t.photoId] }),
  index('article_photos_photo_idx').on(t.photoId)
])

/**
 * An article's related links, in order: to another article (`targetId`) or to a URL; `headline` and `summary`
 * are the editor's overrides. The `target*` columns copy what a link shows of its target article and when readers
 * may see it. The database keeps them (triggers in migrations/sqlite/0010): filled when a link is written, rewritten
 * whenever the target's slug, headline, summary, status or publication time is. A list of 20 articles resolves
 * its ~60 links from these rows alone (~45 page reads at 100,000 articles) instead of looking up each target's
 * row, whose status and publication time sit after its body (~160 reads).
 */
export const articleRelated = sqliteTable('article_related', {
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
  targetStatus: text('target_status', { enum: ['draft', 'published', 'archived'] }),
  targetPublishedAt: timestamp('target_published_at')
}, (t) => [
  uniqueIndex('article_related_position_uq').on(t.articleId, t.position),
  index('article_related_target_idx').on(t.targetId)
])

/** API keys: only a hash of each secret is kept; revoked keys stay for the audit trail. */
export const apiKeys = sqliteTable('api_keys', {
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

/** Every write to an article, with the whole article as it stood after the write. */
export const articleRevisions = sqliteTable('article_revisions', {
  articleId: text('article_id').notNull().references(() => articles.id, { onDelete: 'cascade' }),
  number: integer('number').notNull(),
  createdAt: timestamp('created_at').notNull(),
  keyId: text('key_id'),
  keyName: text('key_name'),
  action: text('action').notNull(),
  content: text('content', { mode: 'json' }).notNull()
}, (t) => [
  primaryKey({ columns: [t.articleId, t.number] })
])

/**
 * Full-text search: each article's search document number. The FTS5 indexes themselves (articles_fts, whose rowid
 * is `doc`, and articles_fts_short) and the trigger that drops a document with its article are in custom
 * migrations: drizzle-kit does not describe virtual tables. articles_fts keeps no copy of the text it indexes
 * (contentless, with deletes: migration 0012); articles_fts_short keeps its few fields' text for highlight().
 */
/**
 * An article's row in the full-text index (`doc` is its FTS5 rowid), with copies of the article's columns
 * that searches filter and sort on: a search walks the index's matches and reads these from one row per
 * match instead of joining each match to its article. Rewritten in every article write's transaction.
 */
export const articleSearch = sqliteTable('article_search', {
  doc: integer('doc').primaryKey({ autoIncrement: true }),
  articleId: text('article_id').notNull().references(() => articles.id, { onDelete: 'cascade' }),
  status: text('status', { enum: ['draft', 'published', 'archived'] }).notNull().default('draft'),
  publishedAt: timestamp('published_at'),
  updatedAt: timestamp('updated_at').notNull().default(sql`0`),
  sectionId: text('section_id'),
  /**
   * When anything the article's page shows last changed, by the system's clock (not the editorial "Updated" date):
   * its own fields, bylines and related links, the section, bylines, photos and linked stories it shows, and its
   * going live at its scheduled time (see goneLive). What `changedSince` and `sort=changedAt` read. Kept here, in a
   * row of ~60 bytes, not in the article's: SQLite rewrites a whole row to change one column, and stamping the
   * 20,000 articles of a renamed section rewrote 160 MB of article rows (1.6 s).
   */
  changedAt: timestamp('changed_at').notNull().default(sql`0`)
}, (t) => [
  uniqueIndex('article_search_article_uq').on(t.articleId),
  // a section's documents, listed for a search within it (see listedDocs in the articles repository), and the
  // newest of several sections, for a front with its subsections: the newest of each section are the first of
  // its range, so SQLite reads a page's worth from each and no article row (0.08 ms for 10 sections, 20,000 articles)
  index('article_search_section_published_idx').on(t.sectionId, t.status, t.publishedAt, t.articleId),
  // those of a few weeks or months, for a search within those dates (see publishedBetween)
  index('article_search_published_idx').on(t.publishedAt),
  // what changed since (nearly every article is published: readers' walk skips few)
  index('article_search_changed_idx').on(t.changedAt, t.articleId),
  // the scheduled stories not yet marked as gone live: a few rows, read every second (see goneLive)
  index('article_search_going_live_idx').on(t.publishedAt).where(sql`${t.status} = 'published' and ${t.changedAt} < ${t.publishedAt}`)
])

/**
 * Random secrets of this database, made at its first open and shared by every instance that opens it: `cursor`
 * seals search cursors (see sealCursor), whose relevance scores are computed over hidden articles too.
 */
export const secrets = sqliteTable('secrets', {
  name: text('name').primaryKey(),
  value: blob('value', { mode: 'buffer' }).notNull()
})

/**
 * The slugs an article had before its current one: a link shared with an old URL still finds the story (its read by
 * slug redirects to the current one), and no other article may take it while the story exists.
 */
export const articleFormerSlugs = sqliteTable('article_former_slugs', {
  slug: text('slug').primaryKey(),
  articleId: text('article_id').notNull().references(() => articles.id, { onDelete: 'cascade' }),
  createdAt: timestamp('created_at').notNull()
}, (t) => [
  index('article_former_slugs_article_idx').on(t.articleId)
])

/**
 * Articles a reader can no longer see, one row per article, so that a copy kept elsewhere (a static site, a search
 * service) can drop them: deleted (`deleted`), or, for anonymous readers, taken down (unpublished, made a draft,
 * archived or rescheduled) after having been out (`public`: readers may have it). An article out again loses its row.
 */
export const articleRemovals = sqliteTable('article_removals', {
  articleId: text('article_id').primaryKey(),
  slug: text('slug').notNull(),
  removedAt: timestamp('removed_at').notNull(),
  deleted: integer('deleted', { mode: 'boolean' }).notNull(),
  public: integer('public', { mode: 'boolean' }).notNull()
}, (t) => [
  index('article_removals_public_idx').on(t.public, t.removedAt, t.articleId),
  index('article_removals_deleted_idx').on(t.deleted, t.removedAt, t.articleId)
])
