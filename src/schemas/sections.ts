import { Type, type Static } from '@sinclair/typebox'
import { Id, Slug, Timestamp, Line, Text, Nullable, Page, PatchOf } from './common.js'

export const SectionRef = Type.Object({ id: Id, slug: Slug, name: Type.String() }, { $id: 'SectionRef' })

export const Section = Type.Object({
  id: Id,
  slug: Slug,
  name: Type.String(),
  description: Nullable(Type.String()),
  parentId: Nullable(Id),
  position: Type.Integer({ description: 'Order among siblings, ascending' }),
  path: Type.String({ description: 'Ancestors\' slugs and its own, joined by "/" (e.g. "news/harbin-today")' }),
  breadcrumb: Type.Array(Type.Ref(SectionRef), { description: 'Ancestors and the section itself, root first' }),
  createdAt: Timestamp,
  updatedAt: Timestamp
}, { $id: 'Section' })

export const SectionCreate = Type.Object({
  slug: Type.Optional(Slug),
  name: Line(200),
  description: Type.Optional(Nullable(Text(2000))),
  parentId: Type.Optional(Nullable(Id)),
  position: Type.Optional(Type.Integer({ minimum: 0, maximum: 100000 }))
}, {
  $id: 'SectionCreate',
  additionalProperties: false,
  examples: [{ name: 'Harbin Today', parentId: '0194f3a0-7c3e-7d1a-9c42-2b1e5f6a8c00', description: 'News from the capital of Heilongjiang', position: 3 }]
})

export const SectionPatch = PatchOf(SectionCreate, 'SectionPatch', 'JSON merge patch of a section: send only the fields to change', [{ parentId: null, position: 1 }])
export const SectionPage = Page(Type.Ref(Section), 'SectionPage')

export type Section = Static<typeof Section>
export type SectionRef = Static<typeof SectionRef>
export type SectionCreate = Static<typeof SectionCreate>
export type SectionPatch = Static<typeof SectionPatch>
