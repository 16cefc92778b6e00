import { Type, type Static } from '@sinclair/typebox'
import { Id, Slug, Timestamp, Line, Text, Nullable, Page, PatchOf, HttpUrl } from './common.js'

export const BylineKind = Type.Union([Type.Literal('person'), Type.Literal('agency'), Type.Literal('organization')])

export const Byline = Type.Object({
  id: Id,
  slug: Slug,
  name: Type.String(),
  kind: BylineKind,
  title: Nullable(Type.String()),
  bio: Nullable(Type.String()),
  url: Nullable(Type.String()),
  photoId: Nullable(Id),
  createdAt: Timestamp,
  updatedAt: Timestamp
}, { $id: 'Byline' })

export const BylineCreate = Type.Object({
  slug: Type.Optional(Slug),
  name: Line(200),
  kind: Type.Optional(BylineKind),
  title: Type.Optional(Nullable(Line(200))),
  bio: Type.Optional(Nullable(Text(5000))),
  url: Type.Optional(Nullable(HttpUrl)),
  photoId: Type.Optional(Nullable(Id))
}, {
  $id: 'BylineCreate',
  additionalProperties: false,
  description: '`kind` defaults to person',
  examples: [{ name: 'Xinhua', kind: 'agency', url: 'http://www.xinhuanet.com/english/' }, { name: 'Li Wei', title: 'Harbin correspondent' }]
})

export const BylinePatch = PatchOf(BylineCreate, 'BylinePatch', 'JSON merge patch of a byline', [{ title: 'Chief correspondent', bio: null }])
export const BylinePage = Page(Type.Ref(Byline), 'BylinePage')

export type Byline = Static<typeof Byline>
export type BylineKind = Static<typeof BylineKind>
export type BylineCreate = Static<typeof BylineCreate>
export type BylinePatch = Static<typeof BylinePatch>
