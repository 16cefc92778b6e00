import { Type, type Static } from '@sinclair/typebox'
import { Id, Timestamp, Line, Nullable, Page } from './common.js'

export const Role = Type.Union([Type.Literal('admin'), Type.Literal('editor'), Type.Literal('writer')], {
  description: '`admin`: everything, keys included. `editor`: all content, publishing, deleting. `writer`: create and edit drafts, upload photos, create and edit bylines'
})

export const ApiKey = Type.Object({
  id: Id,
  name: Type.String(),
  role: Role,
  prefix: Type.String({ description: 'The secret\'s first characters, to recognise a key without revealing it' }),
  createdAt: Timestamp,
  revokedAt: Nullable(Timestamp)
}, { $id: 'ApiKey' })

export const ApiKeyCreate = Type.Object({
  name: Line(200, { description: 'Who or what uses the key ("Night desk", "Wire importer")' }),
  role: Role
}, { $id: 'ApiKeyCreate', additionalProperties: false, examples: [{ name: 'Night desk', role: 'editor' }] })

export const ApiKeyCreated = Type.Object({
  ...ApiKey.properties,
  secret: Type.String({ description: 'The key itself, shown this once: send it as `Authorization: Bearer <secret>`. Only its hash is stored.' })
}, { $id: 'ApiKeyCreated' })

export const ApiKeyPage = Page(Type.Ref(ApiKey), 'ApiKeyPage')

export type Role = Static<typeof Role>
export type ApiKey = Static<typeof ApiKey>
export type ApiKeyCreate = Static<typeof ApiKeyCreate>
export type ApiKeyCreated = Static<typeof ApiKeyCreated>
