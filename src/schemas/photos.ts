import { Type, type Static } from '@sinclair/typebox'
import { Id, Timestamp, Text, Nullable, Page, Line } from './common.js'

const Unit = Type.Number({ minimum: 0, maximum: 1 })
export const FocalPoint = Type.Object({ x: Unit, y: Unit }, {
  $id: 'FocalPoint',
  additionalProperties: false,
  description: 'The point crops keep in view, as fractions of width (x) and height (y) from the top left'
})

/** The image types a newsroom uploads, by the type sniffed from the bytes, and their file extensions. */
export const ACCEPTED_TYPES: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'image/avif': 'avif'
}

/** The type a photo's bytes are (for a generated client, an enum). */
export const PhotoMimeType = Type.Unsafe<string>({
  type: 'string', enum: Object.keys(ACCEPTED_TYPES), description: 'The type the bytes are (sniffed from them, never taken from the name or the header)'
})

export const Photo = Type.Object({
  id: Id,
  caption: Nullable(Type.String()),
  credit: Nullable(Type.String()),
  altText: Nullable(Type.String()),
  width: Type.Integer(),
  height: Type.Integer(),
  mimeType: PhotoMimeType,
  bytes: Type.Integer(),
  sha256: Type.String(),
  focalPoint: Nullable(Type.Ref(FocalPoint)),
  originalFilename: Nullable(Type.String({ description: 'The name the file was sent with, as a name: its last path segment, without control or bidirectional characters, with the extension of the type the bytes are when it named another image type' })),
  placeholder: Nullable(Type.String({ description: 'A ThumbHash (base64) of the image: decode it to paint a blurred preview before the image arrives' })),
  dominantColor: Nullable(Type.String({ pattern: '^#[0-9a-f]{6}$', description: 'The image\'s dominant colour, for a solid placeholder' })),
  url: Type.String({ description: 'URL of the original file; it changes when the file is replaced, so it can be cached forever' }),
  createdAt: Timestamp,
  updatedAt: Timestamp
}, { $id: 'Photo' })

const metadata = { caption: Text(2000), credit: Line(300), altText: Text(1000) }

/** Text fields sent with an upload, as multipart fields or query-string parameters (which have no null). */
export const PhotoUploadFields = Type.Object({
  caption: Type.Optional(metadata.caption),
  credit: Type.Optional(metadata.credit),
  altText: Type.Optional(metadata.altText),
  focalX: Type.Optional(Unit),
  focalY: Type.Optional(Unit),
  filename: Type.Optional(Line(255, { description: 'Original file name (raw uploads; multipart uploads use the part\'s file name)' }))
}, { additionalProperties: false })

/** A focal point in a merge patch: merged into the photo's (`{"x": 0.9}` moves it across only); null removes it. */
export const FocalPointPatch = Type.Object({ x: Type.Optional(Unit), y: Type.Optional(Unit) }, {
  $id: 'FocalPointPatch',
  additionalProperties: false,
  description: 'Merged into the photo\'s focal point: a photo without one needs both x and y'
})

export const PhotoPatch = Type.Object({
  caption: Type.Optional(Nullable(metadata.caption)),
  credit: Type.Optional(Nullable(metadata.credit)),
  altText: Type.Optional(Nullable(metadata.altText)),
  focalPoint: Type.Optional(Nullable(Type.Ref(FocalPointPatch)))
}, {
  $id: 'PhotoPatch',
  additionalProperties: false,
  minProperties: 1,
  description: 'JSON merge patch of a photo\'s metadata',
  examples: [{ caption: 'The first China-Russia Exposition opened in Harbin on June 30, 2014.', credit: 'Xinhua', focalPoint: { x: 0.4 } }]
})

export const PhotoPage = Page(Type.Ref(Photo), 'PhotoPage')

export type Photo = Static<typeof Photo>
export type PhotoUploadFields = Static<typeof PhotoUploadFields>
export type PhotoPatch = Static<typeof PhotoPatch>
