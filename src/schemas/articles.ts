import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { Id, Slug, Timestamp, Line, Text, Nullable, Page, PatchOf, HttpUrl, LANGUAGE, grouped } from './common.js'
import { SectionRef } from './sections.js'
import { Photo, FocalPoint, PhotoMimeType } from './photos.js'
import { BylineKind } from './bylines.js'

/**
 * At most this many `<` and `&` in one article's body text. The sanitizer parses each as the start of a tag or an
 * entity, on the one thread that answers every reader: a 1 MiB body of `<b>` or of `<` held it for ~0.5 s. 10,000 is
 * ~20 ms of a write at worst (~40 for the first after a start); a long feature with 1,000 links has ~2,000.
 */
export const BODY_MARKUP_MAX = 10_000

/** The most characters of a paragraph's, heading's or quote's text, and of a list item, as sent and as stored (markup escaped and closed). */
export const INLINE_TEXT_MAX = 20_000
export const LIST_ITEM_MAX = 5_000

const markup = 'May hold inline markup `<b> <i> <em> <strong> <a href>`; anything else is stripped on write. The limit holds for the text ' +
  'as stored too, its markup escaped and closed (`&` is stored as `&amp;`), so that what is read can be sent back'
const InlineText = Text(INLINE_TEXT_MAX, { minLength: 1, description: markup })

/**
 * A `oneOf` keyed by `type`, so validation errors name the one block schema that applies. The key is declared beside
 * its `required` (Ajv's strict mode, which integrators' validators may use, refuses a required property it cannot see).
 */
const Blocks = <T extends TSchema[]>(schemas: [...T], $id: string) =>
  Type.Unsafe<Static<T[number]>>({
    $id,
    type: 'object',
    properties: { type: { type: 'string', enum: schemas.map((s) => s.properties.type.const) } },
    required: ['type'],
    oneOf: schemas,
    discriminator: { propertyName: 'type' }
  })

const strict = { additionalProperties: false }
const Paragraph = Type.Object({ type: Type.Literal('paragraph'), text: InlineText }, strict)
const Heading = Type.Object({ type: Type.Literal('heading'), level: Type.Integer({ minimum: 2, maximum: 4 }), text: InlineText }, strict)
const Quote = Type.Object({ type: Type.Literal('quote'), text: InlineText, attribution: Type.Optional(Nullable(Line(300))) }, strict)
const List = Type.Object({
  type: Type.Literal('list'),
  ordered: Type.Boolean(),
  items: Type.Array(Text(LIST_ITEM_MAX, { minLength: 1, description: markup }), { minItems: 1, maxItems: 200 })
}, strict)
const Embed = Type.Object({ type: Type.Literal('embed'), url: HttpUrl, title: Type.Optional(Nullable(Line(300))) }, strict)
const PhotoBlockInput = Type.Object({
  type: Type.Literal('photo'),
  photoId: Id,
  caption: Type.Optional(Nullable(Text(2000, { description: 'Overrides the photo\'s own caption in this article' })))
}, strict)

export const BlockInput = Blocks([Paragraph, Heading, PhotoBlockInput, Quote, List, Embed], 'BlockInput')

export const PhotoBlock = Type.Object({
  type: Type.Literal('photo'),
  photoId: Id,
  caption: Nullable(Type.String({ description: 'The block\'s caption override, or else the photo\'s caption' })),
  captionOverride: Type.Boolean({ description: 'Whether `caption` is this article\'s own' }),
  credit: Nullable(Type.String()),
  altText: Nullable(Type.String()),
  width: Type.Integer(),
  height: Type.Integer(),
  mimeType: PhotoMimeType,
  focalPoint: Nullable(Type.Ref(FocalPoint)),
  placeholder: Nullable(Type.String({ description: 'ThumbHash of the photo (base64)' })),
  dominantColor: Nullable(Type.String()),
  url: Type.String()
}, { $id: 'PhotoBlock', description: 'A photo block resolved for display' })

export const Block = Type.Union([Paragraph, Heading, Type.Ref(PhotoBlock), Quote, List, Embed], { $id: 'Block' })

export const BylineRole = Type.Union([Type.Literal('author'), Type.Literal('contributor'), Type.Literal('photographer'), Type.Literal('agency')])

export const ArticleBylineInput = Type.Object({ bylineId: Id, role: Type.Optional(BylineRole) }, { additionalProperties: false })

export const ArticleByline = Type.Object({
  bylineId: Id,
  role: BylineRole,
  slug: Slug,
  name: Type.String(),
  kind: BylineKind,
  title: Nullable(Type.String())
}, { $id: 'ArticleByline' })

export const ArticleSection = Type.Object({
  id: Id,
  slug: Slug,
  name: Type.String(),
  path: Type.String(),
  breadcrumb: Type.Array(Type.Ref(SectionRef))
}, { $id: 'ArticleSection' })

export const RelatedLinkInput = Type.Object({
  articleId: Type.Optional(Id),
  url: Type.Optional(HttpUrl),
  headline: Type.Optional(Nullable(Line(300))),
  summary: Type.Optional(Nullable(Text(1000)))
}, {
  $id: 'RelatedLinkInput',
  additionalProperties: false,
  description: 'Either `articleId` (headline and summary then override the target\'s) or `url` with a `headline`',
  examples: [{ articleId: '0194f3a0-7c3e-7d1a-9c42-2b1e5f6a8c30' }, { url: 'https://www.example.org/gas-deal', headline: 'The 30-year gas deal, explained' }]
})

export const RelatedLink = Type.Object({
  id: Id,
  articleId: Nullable(Id),
  url: Nullable(Type.String({ description: 'The external URL; null for links to articles here' })),
  slug: Nullable(Type.String({ description: 'The target article\'s slug' })),
  headline: Type.String(),
  summary: Nullable(Type.String()),
  publishedAt: Nullable(Timestamp)
}, { $id: 'RelatedLink', description: 'A related-story link resolved for display' })

export const RelatedList = Type.Object({ data: Type.Array(Type.Ref(RelatedLink)) }, { $id: 'RelatedList' })
export const RelatedListInput = Type.Array(Type.Ref(RelatedLinkInput), {
  $id: 'RelatedListInput',
  maxItems: 20,
  examples: [[
    { articleId: '0194f3a0-7c3e-7d1a-9c42-2b1e5f6a8c30', headline: 'Trade with Russia nears $90 billion' },
    { url: 'https://www.example.org/gas-deal', headline: 'The 30-year gas deal, explained', summary: 'What Beijing and Moscow signed in Shanghai' }
  ]]
})

export const ArticleStatus = Type.Union([Type.Literal('draft'), Type.Literal('published'), Type.Literal('archived')])

const BodyInput = Type.Array(Type.Ref(BlockInput), {
  maxItems: 1000,
  description: `The story's blocks, in order. Their text holds at most ${grouped(BODY_MARKUP_MAX)} \`<\` and \`&\` ` +
    'characters in all (each may start markup, which is parsed to be sanitized); more is a 400 naming `/body`'
})
const BylinesInput = Type.Array(ArticleBylineInput, { maxItems: 50 })
const TagsInput = Type.Array(Line(100), { maxItems: 50, description: 'Each tag once, however it is cased or written: China, CHINA and ＣＨＩＮＡ are one tag, kept in the spelling first given' })

export const ArticleCreate = Type.Object({
  slug: Type.Optional(Slug),
  headline: Line(300),
  summary: Type.Optional(Nullable(Text(1000))),
  body: Type.Optional(BodyInput),
  status: Type.Optional(ArticleStatus),
  publishedAt: Type.Optional(Nullable(Timestamp)),
  updatedAt: Type.Optional(Timestamp),
  sectionId: Type.Optional(Nullable(Id)),
  bylines: Type.Optional(BylinesInput),
  leadPhotoId: Type.Optional(Nullable(Id)),
  tags: Type.Optional(TagsInput),
  source: Type.Optional(Nullable(Line(200))),
  canonicalUrl: Type.Optional(Nullable(HttpUrl)),
  language: Type.Optional(Nullable(Type.String({ pattern: LANGUAGE, maxLength: 35, description: 'BCP 47 tag, e.g. en or zh-Hans-CN; stored in its canonical form (EN-us is en-US)' })))
}, {
  $id: 'ArticleCreate',
  additionalProperties: false,
  examples: [{
    headline: 'More economic interactions needed in China-Russia relations',
    summary: 'China and Russia should deepen their economic cooperation to maintain a more sustainable bilateral relationship.',
    body: [
      { type: 'paragraph', text: 'China and Russia, two emerging market economies, should deepen their <b>economic cooperation</b>.' },
      { type: 'photo', photoId: '0194f3a0-7c3e-7d1a-9c42-2b1e5f6a8c20', caption: 'The first China-Russia Exposition opened in Harbin on June 30, 2014.' },
      { type: 'heading', level: 2, text: 'A good match' },
      { type: 'quote', text: 'Economic cooperation is the strongest bond in any relations.', attribution: 'Xinhua commentary' },
      { type: 'list', ordered: false, items: ['high technology', 'nuclear power', 'transportation'] },
      { type: 'embed', url: 'https://www.example.org/expo-video', title: 'The exposition opens' }
    ],
    status: 'draft',
    sectionId: '0194f3a0-7c3e-7d1a-9c42-2b1e5f6a8c01',
    bylines: [{ bylineId: '0194f3a0-7c3e-7d1a-9c42-2b1e5f6a8c10', role: 'agency' }],
    leadPhotoId: '0194f3a0-7c3e-7d1a-9c42-2b1e5f6a8c20',
    tags: ['China', 'Russia', 'trade'],
    source: 'Xinhua',
    language: 'en'
  }],
  description: 'A new article is a draft unless `status` says otherwise. `updatedAt` is the editorial date: set it for archive imports (not in the future: a 422), or leave it out: every content edit sets it to now, while a change of `status` or `publishedAt` alone leaves it. Byline `role` defaults to author.'
})

export const ArticlePatch = PatchOf(Type.Object({ ...ArticleCreate.properties, body: Nullable(BodyInput), bylines: Nullable(BylinesInput), tags: Nullable(TagsInput) }),
  'ArticlePatch', 'JSON merge patch of an article: arrays (body, bylines, tags) are replaced whole, and `null` removes a member as RFC 7396 ' +
  'says: a nullable field becomes null, and body, bylines or tags become empty (headline, slug, status and updatedAt cannot be removed). ' +
  '`publishedAt: null` on an article that stays published (or scheduled) is a 422: removing its date would publish it now; unpublish it instead. ' +
  'A patch that changes nothing answers the article as it was: no new revision, the same `updatedAt` and ETag',
[{ headline: 'China and Russia need more economic ties', tags: ['China', 'Russia', 'trade', 'energy'], canonicalUrl: null }])

export const Article = Type.Object({
  id: Id,
  slug: Slug,
  headline: Type.String(),
  summary: Nullable(Type.String()),
  body: Type.Array(Type.Ref(Block)),
  status: ArticleStatus,
  publishedAt: Nullable(Timestamp),
  updatedAt: Timestamp,
  createdAt: Timestamp,
  revision: Type.Integer({ description: 'Bumped by every write' }),
  sectionId: Nullable(Id),
  section: Nullable(Type.Ref(ArticleSection)),
  bylines: Type.Array(Type.Ref(ArticleByline)),
  leadPhotoId: Nullable(Id),
  leadPhoto: Nullable(Type.Ref(Photo)),
  tags: Type.Array(Type.String()),
  source: Nullable(Type.String()),
  canonicalUrl: Nullable(Type.String()),
  language: Nullable(Type.String()),
  related: Type.Array(Type.Ref(RelatedLink)),
  snippet: Type.Optional(Type.String({ description: 'In search results (`q`): a short extract around the match, as HTML with the matched words in `<mark>`' }))
}, { $id: 'Article', description: 'An article with everything its page shows resolved' })

export const ArticlePage = Page(Type.Ref(Article), 'ArticlePage')

export const PublishInput = Type.Object({
  publishedAt: Type.Optional(Timestamp)
}, {
  $id: 'PublishInput',
  additionalProperties: false,
  examples: [{}, { publishedAt: '2014-07-02T08:00:00Z' }],
  description: 'Without `publishedAt`, the article is published now (or keeps a publication date it has in the past); with a future one it is scheduled and appears to readers at that moment'
})

/** The article as stored at one revision: what a restore brings back. */
export const RevisionContent = Type.Object({
  slug: Slug,
  headline: Type.String(),
  summary: Nullable(Type.String()),
  body: Type.Array(Type.Ref(BlockInput)),
  status: ArticleStatus,
  publishedAt: Nullable(Timestamp),
  updatedAt: Timestamp,
  sectionId: Nullable(Id),
  bylines: Type.Array(Type.Object({ bylineId: Id, role: BylineRole })),
  leadPhotoId: Nullable(Id),
  tags: Type.Array(Type.String()),
  source: Nullable(Type.String()),
  canonicalUrl: Nullable(Type.String()),
  language: Nullable(Type.String()),
  related: Type.Array(Type.Object({
    articleId: Nullable(Id),
    url: Nullable(Type.String()),
    headline: Nullable(Type.String()),
    summary: Nullable(Type.String())
  }))
}, { $id: 'RevisionContent' })

export const RevisionAction = Type.Union([
  Type.Literal('create'), Type.Literal('update'), Type.Literal('publish'), Type.Literal('unpublish'), Type.Literal('related'), Type.Literal('restore')
], { description: 'What the write did' })

export const RevisionSummary = Type.Object({
  number: Type.Integer({ description: 'The article\'s `revision` after the write' }),
  createdAt: Timestamp,
  keyId: Nullable(Type.String({ description: 'The API key that made the write' })),
  keyName: Nullable(Type.String()),
  action: RevisionAction
}, { $id: 'RevisionSummary' })

export const Revision = Type.Object({
  ...RevisionSummary.properties,
  article: Type.Ref(RevisionContent)
}, { $id: 'Revision' })

export const RevisionPage = Page(Type.Ref(RevisionSummary), 'RevisionPage')

export const ArticleRemoval = Type.Object({
  id: Id,
  slug: Type.String({ description: 'The article\'s slug when it was removed (the URL a copy kept it under)' }),
  removedAt: Timestamp,
  deleted: Type.Boolean({ description: 'Deleted for good; false: taken down (unpublished, a draft, archived or put off to later), and it may come back' })
}, {
  $id: 'ArticleRemoval',
  description: 'An article readers can no longer see: a copy kept elsewhere (a static site, a search service) drops it',
  additionalProperties: false
})

export const ArticleRemovalPage = Page(Type.Ref(ArticleRemoval), 'ArticleRemovalPage')

export type PublishInput = Static<typeof PublishInput>
export type RevisionContent = Static<typeof RevisionContent>
export type RevisionSummary = Static<typeof RevisionSummary>
export type Revision = Static<typeof Revision>
export type RevisionAction = Static<typeof RevisionAction>
export type ArticleRemoval = Static<typeof ArticleRemoval>

export type BlockInput = Static<typeof BlockInput>
export type Block = Static<typeof Block>
export type PhotoBlock = Static<typeof PhotoBlock>
export type BylineRole = Static<typeof BylineRole>
export type ArticleByline = Static<typeof ArticleByline>
export type ArticleSection = Static<typeof ArticleSection>
export type RelatedLinkInput = Static<typeof RelatedLinkInput>
export type RelatedLink = Static<typeof RelatedLink>
export type ArticleStatus = Static<typeof ArticleStatus>
export type ArticleCreate = Static<typeof ArticleCreate>
export type ArticlePatch = Static<typeof ArticlePatch>
export type Article = Static<typeof Article>
