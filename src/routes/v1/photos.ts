import { Readable } from 'node:stream'
import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import multipart from '@fastify/multipart'
import { ASPECT, IdParams, ListQuery, grouped, problems } from '../../schemas/common.js'
import { Photo, PhotoPatch, PhotoPage, PhotoUploadFields } from '../../schemas/photos.js'
import { BadRequest, PayloadTooLarge, RangeNotSatisfiable, UnsupportedMediaType, invalid } from '../../errors.js'
import { fileVersion, type PhotoFile } from '../../services/photos.js'
import { sendPage } from '../pagination.js'
import { noneMatch, etagOf } from '../../services/etag.js'
import { RENDITION_FORMATS, type RenditionRequest } from '../../services/images.js'
import { givenUpBy, viewerOf, writeOf } from '../context.js'
import { rangeOf } from '../ranges.js'
import { clientOf } from '../../plugins/security.js'

const tags = ['photos']

/** Upload bodies: validated by the handler (bytes are sniffed; text fields checked against PhotoUploadFields). */
const uploadBody = (withFields: boolean) => ({
  content: {
    'multipart/form-data': {
      schema: Type.Object({
        file: Type.String({ contentEncoding: 'binary', description: 'The image: JPEG, PNG, WebP, GIF or AVIF' }),
        ...(withFields ? PhotoUploadFields.properties : {})
      })
    },
    'image/*': { schema: Type.String({ contentEncoding: 'binary', description: 'The image bytes as the whole body' }) },
    'application/octet-stream': { schema: Type.String({ contentEncoding: 'binary', description: 'The same, from a client that does not say the type: it is sniffed from the bytes either way' }) }
  }
})

/**
 * Reads an upload sent either as multipart/form-data or as the raw image body. The form's text fields are checked
 * by the route's own check of the query string (the same rules, coercions and words as for a raw upload's fields);
 * a field is in the form or in the query string, not in both.
 */
async function readUpload (request: FastifyRequest, limit: number): Promise<{ file: PhotoFile, fields: Record<string, unknown> }> {
  if (!request.isMultipart()) {
    if (request.body === undefined || request.body === null) throw new BadRequest('The upload is empty: send the image bytes')
    if (!Buffer.isBuffer(request.body)) throw new UnsupportedMediaType('Send the image as multipart/form-data or as the raw body with an image/* content type')
    return { file: { data: request.body }, fields: { ...(request.query as object) } }
  }
  const fields: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(request.query as Record<string, unknown>)) if (value !== undefined) fields[name] = value
  const form: Record<string, string> = {}
  let file: PhotoFile | undefined
  try {
    for await (const part of request.parts()) {
      const name = part.fieldname
      if (part.type === 'file') {
        if (name !== 'file') throw new BadRequest(`Unexpected file field "${name}": send the image as "file"`)
        if (file) throw new BadRequest('Send one file per upload')
        // a file name is text like the fields beside it (see below): not one kept with U+FFFD where a letter was
        if (part.filename?.includes('\uFFFD')) {
          throw invalid('The file name is not UTF-8 text: send it as UTF-8 (filename*=UTF-8\'\'… for other characters)', [{ path: '/filename', message: 'Is not UTF-8 text' }])
        }
        file = { data: await part.toBuffer(), filename: part.filename || null }
      } else {
        // a part with no file name is a text field to the parser, and an image's bytes are no text
        if (name === 'file') throw new BadRequest('The "file" part has no file name, so it is read as a text field: send the image as a file (Content-Disposition: form-data; name="file"; filename="photo.jpg"), as curl -F file=@photo.jpg does')
        if (name in form || name in fields) throw invalid(`Field "${name}" is given twice`, [{ path: `/${name}`, message: 'Is given twice' }])
        const value = String(part.value)
        // the parser reads bytes that are not UTF-8 (nor in the charset the part declares) as U+FFFD: a caption
        // would be stored with � where a letter was, as JSON and the query string never allow
        if (value.includes('\uFFFD')) {
          throw invalid(`Field "${name}" is not UTF-8 text: send the form's text as UTF-8 (or declare the part's charset)`, [{ path: `/${name}`, message: 'Is not UTF-8 text' }])
        }
        // an empty field is a field left blank, as a browser's form sends every one: not given
        if (value !== '') form[name] = value
      }
    }
  } catch (err) {
    const code = (err as { code?: string }).code
    if (code === 'FST_REQ_FILE_TOO_LARGE') {
      throw new PayloadTooLarge(`The image is larger than the ${grouped(limit)} bytes accepted here (UPLOAD_MAX_BYTES)`)
    }
    // more parts than any upload has (the parser stops counting at its limits): a form of unknown fields, not a large body
    if (code === 'FST_FIELDS_LIMIT' || code === 'FST_PARTS_LIMIT' || code === 'FST_FILES_LIMIT') {
      throw new BadRequest(`The form has more parts than an upload takes: the image as "file" and at most the fields ${Object.keys(PhotoUploadFields.properties).join(', ')}`)
    }
    // the multipart parser's own errors (cut-off body, no boundary) carry no status: they are bad requests
    if ((err as { statusCode?: number }).statusCode) throw err
    throw new BadRequest(`Malformed multipart body: ${(err as Error).message}`)
  }
  if (!file) throw new BadRequest('Missing the "file" part holding the image')
  const check = request.getValidationFunction('querystring')
  if (check) {
    // Fastify's protocol: false with the errors on the function, or an object holding them
    const result: unknown = check(form)
    const errors = result === false ? check.errors : (result as { error?: unknown } | null)?.error
    if (errors) throw Object.assign(new Error('Invalid upload fields'), { statusCode: 400, validation: errors, validationContext: 'body' })
  }
  return { file, fields: { ...fields, ...form } }
}

/** The types an upload is sent as: a form, or the image itself. */
const UPLOAD_TYPES = /^\s*(multipart\/form-data|image\/[\w.+-]+|application\/octet-stream)\s*(;|$)/i

/**
 * An upload route refuses any other body type before it is read (after the key is checked): JPEG bytes sent as
 * application/json were parsed as JSON and answered "not valid UTF-8"; they are a 415 listing what is accepted, as
 * any other unknown type is.
 */
function uploadTypesOnly (request: FastifyRequest, _reply: unknown, payload: Readable, done: (err: Error | null, payload?: Readable) => void) {
  const type = request.headers['content-type']
  if (type !== undefined && !UPLOAD_TYPES.test(type)) {
    return done(Object.assign(new Error(`Content-Type ${type} is not an upload`), { statusCode: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' }))
  }
  done(null, payload)
}

/** Drops the query string's empty parameters: an upload's fields left blank (see readUpload). */
function blanksLeftOut (request: FastifyRequest, _reply: unknown, done: () => void) {
  const query = request.query as Record<string, unknown>
  for (const name of Object.keys(query)) if (query[name] === '') delete query[name]
  done()
}

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { photos } = app.services
  const limit = app.config.UPLOAD_MAX_BYTES

  // multipart bodies for the photo routes only: the plugin adds hooks to every request of the routes it is
  // registered beside, and no other route takes a form
  await app.register(multipart, { limits: { fileSize: limit, files: 2, fields: 20, fieldSize: 10_000, parts: 25 } })

  // Raw uploads: any image/* or octet-stream body is read as bytes, whatever its parameters (Fastify tests the
  // type with them: `image/jpeg; charset=utf-8`); the bytes decide the type
  app.addContentTypeParser(/^(image\/[\w.+-]+|application\/octet-stream)\s*(;|$)/, { parseAs: 'buffer', bodyLimit: limit },
    (_request, body, done) => done(null, body))

  app.post('/photos', {
    config: { access: 'writer' },
    preParsing: uploadTypesOnly,
    // a field left empty in the query string (`?caption=&credit=Xinhua`) is not given, as in a form
    preValidation: blanksLeftOut,
    bodyLimit: limit,
    schema: {
      tags,
      operationId: 'uploadPhoto',
      summary: 'Upload a photo with its caption and credit',
      description: 'Send `multipart/form-data` with the image in `file` and the text fields beside it, or the image itself as the body ' +
        '(any `image/*` type, whatever its parameters) with the same fields in the query string; a field left empty is not given, as a ' +
        'browser\'s form sends every field. The type is decided from the bytes: JPEG, PNG, WebP, GIF and AVIF ' +
        'are accepted; width and height are read from the image. Files are stored by content hash. The GPS position is taken out of the ' +
        'image\'s metadata before it is stored (the EXIF GPS directory emptied, XMP GPS properties blanked; pixels, orientation and ' +
        'the rest of the metadata stay): `bytes` and `sha256` describe the stored file.',
      querystring: Type.Partial(PhotoUploadFields, { additionalProperties: false }),
      body: uploadBody(true),
      response: { 201: Type.Ref(Photo), ...problems(400, 413, 415) }
    }
  }, async (request, reply) => {
    const { file, fields } = await readUpload(request, limit)
    const photo = await photos.create(file, fields as PhotoUploadFields)
    return reply.code(201).header('location', `/v1/photos/${photo.id}`).send(photo)
  })

  app.get('/photos', {
    schema: {
      tags,
      operationId: 'listPhotos',
      summary: 'List photos, newest first',
      description: 'With a key: every photo. Anonymous readers are listed only the photos they can see in use: shown by a ' +
        'published article (its lead or in its body) or the portrait of a byline. A photo uploaded for a story not yet out ' +
        'is still readable by its id, which is unguessable, but no list hands it out before the story.',
      querystring: Type.Object(ListQuery, { additionalProperties: false }),
      response: { 200: Type.Ref(PhotoPage), ...problems(400) }
    }
  }, async (request, reply) => sendPage(request, reply, await photos.list(request.query, viewerOf(request))))

  app.get('/photos/:id', {
    schema: {
      tags,
      operationId: 'getPhoto',
      summary: 'Read a photo\'s record',
      params: IdParams,
      response: { 200: Type.Ref(Photo), ...problems(404) }
    }
  }, async (request) => photos.get(request.params.id))

  app.patch('/photos/:id', {
    config: { access: 'writer', conditional: true },
    schema: {
      tags,
      operationId: 'updatePhoto',
      summary: 'Update a photo\'s caption, credit, alt text or focal point (JSON merge patch)',
      description: 'Writers may not change a photo that a published or scheduled article shows (its lead, in its body, or the portrait of a byline it credits).',
      params: IdParams,
      body: Type.Ref(PhotoPatch),
      response: { 200: Type.Ref(Photo), ...problems(400, 404, 415) }
    }
  }, async (request) => photos.update(request.params.id, request.body, writeOf(request)))

  app.delete('/photos/:id', {
    config: { access: 'editor', conditional: true },
    schema: {
      tags,
      operationId: 'deletePhoto',
      summary: 'Delete a photo',
      description: 'Refused with 409 while an article or byline shows it. The bytes are removed once no photo record uses them.',
      params: IdParams,
      response: { 204: Type.Null({ description: 'Deleted' }), ...problems(404, 409) }
    }
  }, async (request, reply) => {
    await photos.delete(request.params.id, writeOf(request))
    return reply.code(204).send(null)
  })

  app.get('/photos/:id/file', {
    schema: {
      tags,
      operationId: 'getPhotoFile',
      summary: 'Download the original image, or a rendition of it',
      description: 'Without rendition parameters, the original bytes (without their GPS position) with their image type. With `width`, `format`, `aspect` or ' +
        '`height`, a rendition made with sharp: EXIF orientation applied, metadata (location, camera) removed, never upscaled. ' +
        '`width` snaps up to the next configured width (RENDITION_WIDTHS), so only a handful of sizes exist per photo; ' +
        '`aspect=16:9` (or `width` with `height`) crops the largest region of that shape around the focal point, the shape ' +
        'snapped to the nearest configured aspect (RENDITION_ASPECTS). A rendition is made once and then served from storage; ' +
        'one that a format cannot hold (WebP and AVIF stop at 16,383 and 16,384 pixels a side, JPEG at 65,500) is a 400.\n\n' +
        'With `v` matching the current file and focal point (as in the photo\'s `url`), the ' +
        'response may be cached forever (`immutable`); without it, for five minutes. `If-None-Match` (or, without it, ' +
        '`If-Modified-Since` against `Last-Modified`) answers 304.',
      params: IdParams,
      querystring: Type.Object({
        v: Type.Optional(Type.String({ maxLength: 64, description: 'The file version from the photo\'s `url`' })),
        width: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000, description: 'Wanted width in pixels; snapped up to a configured width' })),
        height: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000, description: 'With `width`: crop to this shape (not with `aspect`)' })),
        aspect: Type.Optional(Type.String({ pattern: ASPECT, description: 'Crop to this aspect ratio, e.g. 16:9' })),
        format: Type.Optional(Type.Union([...Object.keys(RENDITION_FORMATS), 'jpg'].map((f) => Type.Literal(f)), { description: 'Output format; the original\'s by default (PNG for GIF). `jpg` is `jpeg`' }))
      }, { additionalProperties: false }),
      headers: Type.Object({
        range: Type.Optional(Type.String({ description: 'One range of bytes (`bytes=0-1023`, `bytes=1024-`, `bytes=-500`): answered 206 with ' +
          'those bytes only. A range past the end is a 416; several ranges that do not merge into one, or a header that is not a valid ' +
          'byte range, get the whole file.' })),
        'if-range': Type.Optional(Type.String({ description: 'The ETag of the part already held: the range is served only if the file is ' +
          'still that one, the whole file otherwise (a date is not precise enough to say so: the whole file too)' })),
        'if-modified-since': Type.Optional(Type.String({ description: 'The `Last-Modified` of the copy held: answered 304 if the file has not ' +
          'changed since (`If-None-Match`, when sent, decides instead)' }))
      }),
      response: {
        200: { description: 'The image', content: { 'image/*': { schema: Type.String({ contentEncoding: 'binary' }) } } },
        206: { description: 'The range of the image\'s bytes asked for in `Range`, as `Content-Range` says', content: { 'image/*': { schema: Type.String({ contentEncoding: 'binary' }) } } },
        304: Type.Null({ description: 'Not modified' }),
        ...problems(400, 404, 416, 503)
      }
    }
  }, async (request, reply) => {
    const { v, ...query } = request.query
    // jpg, as image services and file names write it, is the same rendition as jpeg (one cached copy, one ETag)
    const rendition = { ...query, format: query.format === 'jpg' ? 'jpeg' : query.format }
    const wantsRendition = Object.values(rendition).some((x) => x !== undefined)
    const { row, key, contentType, file } = wantsRendition
      ? await photos.rendition(request.params.id, rendition as RenditionRequest, clientOf(request), givenUpBy(reply))
      : { ...(await photos.file(request.params.id)), key: null, contentType: null }
    const etag = key ? etagOf(key) : `"${row.sha256}"`
    const versioned = v === fileVersion(row)
    reply.header('etag', etag)
      .header('last-modified', row.updatedAt.toUTCString())
      .header('cache-control', versioned ? 'public, max-age=31536000, immutable' : 'public, max-age=300')
      .header('accept-ranges', 'bytes')
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'none'")
    // If-None-Match decides when sent; otherwise If-Modified-Since, to the second as HTTP dates go (RFC 9110 13.2.2)
    const { 'if-none-match': tags, 'if-modified-since': since } = request.headers
    const unchanged = tags !== undefined
      ? noneMatch(tags, etag)
      : since !== undefined && Math.floor(row.updatedAt.getTime() / 1000) * 1000 <= Date.parse(since)
    if (unchanged) {
      file.discard()
      return reply.code(304).send(null)
    }
    // If-Range: only the ETag resumes a download; a date names the second of a change, which two versions of the file
    // may share (a weak validator, which RFC 9110 13.1.5 forbids here): the whole file then
    const { range: asked, 'if-range': ifRange } = request.headers
    const range = ifRange === undefined || ifRange === etag ? rangeOf(asked, file.size) : undefined
    if (range === 'unsatisfiable') {
      file.discard()
      reply.header('content-range', `bytes */${file.size}`)
      throw new RangeNotSatisfiable(`The range asked for is not within the file's ${file.size} bytes`)
    }
    reply.type(contentType ?? row.mimeType)
    if (range) {
      reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${file.size}`)
    }
    reply.header('content-length', range ? range.end - range.start + 1 : file.size)
    // a HEAD reads no byte (from S3, the whole object was fetched to be thrown away); an empty stream, as a buffer
    // would be measured for Content-Length
    if (request.method === 'HEAD') {
      file.discard()
      return reply.send(Readable.from([]) as unknown as string)
    }
    return reply.send(file.read(range) as unknown as string)
  })

  app.put('/photos/:id/file', {
    config: { access: 'writer', conditional: true },
    preParsing: uploadTypesOnly,
    bodyLimit: limit,
    schema: {
      tags,
      operationId: 'replacePhotoFile',
      summary: 'Replace a photo\'s image, keeping its id, metadata and every reference',
      description: 'Send the new image as `multipart/form-data` (`file`) or as the raw body. The photo\'s `url`, `sha256`, size and type change. ' +
        'Writers may not replace a photo that a published or scheduled article shows (its lead, in its body, or the portrait of a byline it credits).',
      params: IdParams,
      body: uploadBody(false),
      response: { 200: Type.Ref(Photo), ...problems(400, 404, 413, 415) }
    }
  }, async (request) => {
    const { file, fields } = await readUpload(request, limit)
    const unexpected = Object.keys(fields)
    if (unexpected.length) {
      throw invalid(`Unexpected fields: ${unexpected.join(', ')}; use PATCH /v1/photos/{id} for metadata`, unexpected.map((name) => ({ path: `/${name}`, message: 'Unknown field' })))
    }
    return photos.replaceFile(request.params.id, file, writeOf(request))
  })
}

export default routes
