import { createHash } from 'node:crypto'
import type { Metadata } from 'sharp'
import { withoutLocation } from './location.js'
import { BadRequest, UnsupportedMediaType, invalid } from '../errors.js'
import { takingTurns } from './turns.js'
import { ACCEPTED_TYPES } from '../schemas/photos.js'

/**
 * One image is decoded at a time in this process (uploads checked, renditions made). libvips already spreads one
 * image over the cores, and each decode holds its image in memory: a rendition of a 25-megapixel AVIF holds ~450 MB,
 * and four anonymous renditions of a large one at once took the process to 6.5 GB. The others wait their turn,
 * clients in turn (see takingTurns): at most RENDER_WAITING per client and RENDER_WAITING_TOTAL in all wait for a
 * rendition, holding nothing yet (its original is read once its turn comes). Uploads, which come with a key and
 * are held to the body limit already, take their turns without a bound.
 */
export const RENDER_WAITING = 32
export const RENDER_WAITING_TOTAL = 128
const decoding = takingTurns({ perClient: RENDER_WAITING, total: RENDER_WAITING_TOTAL, retryAfter: 2 })

/**
 * The most pixels of an image in a format libvips decodes whole (AVIF, WebP when cropped, GIF), where JPEG and PNG are
 * read in strips: a 100-megapixel AVIF of 2 KB held 1.9 GB to decode. 4096 × 4096, ~300 MB at most for an AVIF.
 */
export const WHOLE_DECODE_MAX_PIXELS = 4096 * 4096
const DECODED_WHOLE = new Set(['image/avif', 'image/webp', 'image/gif'])
/**
 * The most pixels of a progressive JPEG or an interlaced PNG, which are decoded whole too, at up to 8 bytes a pixel
 * (a 100-megapixel interlaced PNG of 1.2 MB, 16-bit RGBA, held 850 MB): 40 megapixels, ~320 MB at most, and room for
 * any camera's photo saved progressive (a 100-megapixel progressive JPEG held ~300 MB, 3 bytes a pixel).
 */
export const PROGRESSIVE_MAX_PIXELS = 40_000_000

/** The image libraries (sharp with libvips, file-type: ~0.15 s to load) are loaded by the first upload or rendition, not at startup. */
let libraries: ReturnType<typeof load> | undefined
async function load () {
  const [{ default: sharp }, { fileTypeFromBuffer }, { rgbaToThumbHash }] = await Promise.all([import('sharp'), import('file-type'), import('thumbhash')])
  // Renditions are kept in storage, so libvips' own operation cache would only hold memory: turn it off
  sharp.cache(false)
  return { sharp, fileTypeFromBuffer, rgbaToThumbHash }
}
export const imaging = () => (libraries ??= load())


export interface ImageInfo {
  mimeType: string
  width: number
  height: number
  bytes: number
  sha256: string
  storageKey: string
  placeholder: string
  dominantColor: string
}

const hex = (n: number) => Math.round(n).toString(16).padStart(2, '0')

/**
 * Everything the service learns from an upload, refusing what it cannot trust:
 * - the type comes from the bytes (file-type), never from the name or the header: SVG, HTML or text is a 415;
 * - the declared size is checked against `maxPixels` before anything is decoded, so a decompression bomb
 *   (a small file declaring enormous dimensions) is refused at once;
 * - the whole image is decoded once, small, which refuses damaged or truncated files and yields the
 *   placeholder (a ThumbHash) and the dominant colour a frontend paints before the image arrives.
 * Width and height are as displayed, with the EXIF orientation applied. The GPS position is taken out of the
 * bytes before they are hashed (see withoutLocation): store the `data` answered, not those given.
 */
export async function inspectImage (data: Buffer, maxPixels: number): Promise<{ data: Buffer, info: ImageInfo }> {
  if (data.length === 0) throw new BadRequest('The upload is empty: send the image bytes')
  const { sharp, fileTypeFromBuffer, rgbaToThumbHash } = await imaging()
  const type = await fileTypeFromBuffer(data)
  const ext = type && ACCEPTED_TYPES[type.mime]
  if (!type || !ext) {
    throw new UnsupportedMediaType(`Unsupported image type${type ? ` ${type.mime}` : ''}: upload JPEG, PNG, WebP, GIF or AVIF`)
  }
  const readMeta = async () => {
    try {
      return await sharp(data, { limitInputPixels: false }).metadata()
    } catch {
      throw new BadRequest('The image could not be read: it is damaged or truncated')
    }
  }
  let meta: Metadata = await readMeta()
  const cleaned = withoutLocation(data, meta)
  if (cleaned.cleared) {
    // read again what a damaged EXIF block, zeroed, may have carried (the orientation)
    data = cleaned.data
    meta = await readMeta()
  }
  if (!meta.width || !meta.height) throw new BadRequest('The image has no readable dimensions')
  if (meta.width * meta.height > maxPixels) {
    throw new BadRequest(`The image declares ${meta.width}×${meta.height} pixels, more than the limit of ${maxPixels} (IMAGE_MAX_PIXELS)`)
  }
  if (DECODED_WHOLE.has(type.mime) && meta.width * meta.height > WHOLE_DECODE_MAX_PIXELS) {
    throw new BadRequest(`The image declares ${meta.width}×${meta.height} pixels, more than the ${WHOLE_DECODE_MAX_PIXELS} a ${ext.toUpperCase()} may have ` +
      '(it is decoded whole): upload it as JPEG or PNG, or smaller')
  }
  if (meta.isProgressive && meta.width * meta.height > PROGRESSIVE_MAX_PIXELS) {
    const kind = type.mime === 'image/png' ? 'an interlaced PNG' : 'a progressive JPEG'
    throw new BadRequest(`The image declares ${meta.width}×${meta.height} pixels, more than the ${PROGRESSIVE_MAX_PIXELS} ${kind} may have ` +
      `(it is decoded whole): save it ${type.mime === 'image/png' ? 'without interlacing' : 'as a baseline JPEG'}, or smaller`)
  }
  const swap = (meta.orientation ?? 1) >= 5
  let placeholder: string
  let dominantColor: string
  try {
    const small = await decoding(null, () => sharp(data, { failOn: 'truncated', limitInputPixels: maxPixels })
      .rotate()
      .resize(100, 100, { fit: 'inside' })
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true }))
    placeholder = Buffer.from(rgbaToThumbHash(small.info.width, small.info.height, small.data)).toString('base64')
    const { dominant } = await sharp(small.data, { raw: { width: small.info.width, height: small.info.height, channels: 4 } }).stats()
    dominantColor = `#${hex(dominant.r)}${hex(dominant.g)}${hex(dominant.b)}`
  } catch {
    throw new BadRequest('The image could not be decoded: it is damaged or truncated')
  }
  const sha256 = createHash('sha256').update(data).digest('hex')
  return {
    data,
    info: {
      mimeType: type.mime,
      width: swap ? meta.height : meta.width,
      height: swap ? meta.width : meta.height,
      bytes: data.length,
      sha256,
      storageKey: `${sha256}.${ext}`,
      placeholder,
      dominantColor
    }
  }
}

/** An aspect written `width:height` (`16:9`), as a ratio. */
export function aspectRatio (aspect: string): number {
  const [w, h] = aspect.split(':').map(Number)
  return w! / h!
}

export const RENDITION_FORMATS = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', avif: 'image/avif' } as const
export type RenditionFormat = keyof typeof RENDITION_FORMATS

export interface RenditionRequest {
  width?: number
  height?: number
  aspect?: string
  format?: RenditionFormat
}

/** One rendition: the output size, the region of the (upright) original it shows, and the format. */
export interface Variant {
  width: number
  height: number
  crop: { left: number, top: number, width: number, height: number } | null
  format: RenditionFormat
}

export interface Source { width: number, height: number, mimeType: string, focalX: number | null, focalY: number | null }

/**
 * Decides the rendition to serve. Widths snap up to the next configured width (or down to the largest), and a
 * crop's shape (`16:9`, or width and height) to the nearest configured aspect, so only a handful of sizes and crops
 * can ever be made of a photo, whatever clients ask; nothing is upscaled. A crop is the largest region of its shape,
 * centred on the focal point as far as the edges allow.
 */
export function planRendition (source: Source, request: RenditionRequest, { widths, aspects }: { widths: number[], aspects: number[] }): Variant {
  const format: RenditionFormat = request.format ??
    (source.mimeType === 'image/webp' ? 'webp' : source.mimeType === 'image/avif' ? 'avif' : source.mimeType === 'image/jpeg' ? 'jpeg' : 'png')
  let ratio: number | undefined
  if (request.aspect) {
    if (request.height !== undefined) throw invalid('Send aspect or height, not both: each gives the crop\'s shape', [{ path: '/query/height', message: 'Is not allowed with aspect' }])
    ratio = aspectRatio(request.aspect)
  } else if (request.height !== undefined) {
    if (request.width === undefined) throw invalid('height needs a width (or use aspect, e.g. aspect=16:9)', [{ path: '/query/width', message: 'Is required with height' }])
    ratio = request.width / request.height
  }
  if (ratio !== undefined && (ratio < 0.1 || ratio > 10)) throw invalid('The aspect ratio must lie between 1:10 and 10:1', [{ path: request.aspect ? '/query/aspect' : '/query/height', message: 'Must make a ratio between 1:10 and 10:1' }])
  if (ratio !== undefined) {
    const asked = ratio
    ratio = aspects.reduce((best, a) => Math.abs(Math.log(a / asked)) < Math.abs(Math.log(best / asked)) ? a : best)
  }

  let crop: Variant['crop'] = null
  let regionW = source.width
  let regionH = source.height
  if (ratio !== undefined) {
    if (source.width / source.height > ratio) {
      regionH = source.height
      regionW = Math.max(1, Math.round(source.height * ratio))
    } else {
      regionW = source.width
      regionH = Math.max(1, Math.round(source.width / ratio))
    }
    const centre = (focal: number | null, size: number, region: number) =>
      Math.min(Math.max(Math.round((focal ?? 0.5) * size - region / 2), 0), size - region)
    crop = { left: centre(source.focalX, source.width, regionW), top: centre(source.focalY, source.height, regionH), width: regionW, height: regionH }
  }
  const wanted = request.width ?? regionW
  const snapped = widths.find((w) => w >= wanted) ?? widths[widths.length - 1]!
  const width = Math.min(snapped, regionW)
  const height = Math.max(1, Math.round(width * regionH / regionW))
  const side = MAX_SIDE[format]
  if (width > side || height > side) {
    // widths snap up and stop at the photo's own: when even the narrowest is too tall, only a crop or a format helps
    const narrowest = Math.min(widths[0]!, regionW)
    const remedy = Math.round(narrowest * regionH / regionW) > side ? 'crop it with `aspect` (9:16, say)' : 'ask for a smaller width'
    throw invalid(`${format === 'avif' ? 'An' : 'A'} ${format} rendition is at most ${side} pixels a side, and this one would be ${width}×${height}: ${remedy} or another format`,
      [{ path: request.width === undefined ? '/query/format' : '/query/width', message: `Makes a ${width}×${height} ${format}, over ${side} pixels a side` }])
  }
  return { width, height, crop, format }
}

/** The longest side each output format can hold (libvips refuses more). */
const MAX_SIDE: Record<RenditionFormat, number> = { jpeg: 65500, png: 2 ** 31 - 1, webp: 16383, avif: 16384 }

/** Where a rendition lives in storage: under its original's hash, named by everything that shapes it. */
export function variantKey (sha256: string, v: Variant): string {
  const crop = v.crop ? `-c${v.crop.left}_${v.crop.top}_${v.crop.width}_${v.crop.height}` : ''
  return `r/${sha256}/${v.width}x${v.height}${crop}.${v.format === 'jpeg' ? 'jpg' : v.format}`
}

/**
 * Renders a variant for a client, in its turn (see decoding), from the original `read` gives once the turn has
 * come: EXIF orientation applied, cropped, resized, re-encoded in sRGB. Metadata (location, camera, comments) is
 * not carried over: sharp writes none unless asked.
 */
export async function renderVariant (client: string, read: () => Promise<Buffer>, v: Variant, maxPixels: number, signal?: AbortSignal): Promise<Buffer> {
  const { sharp } = await imaging()
  return decoding(client, async () => {
    let image = sharp(await read(), { limitInputPixels: maxPixels }).rotate()
    if (v.crop) image = image.extract(v.crop)
    image = image.resize(v.width, v.height, { fit: 'fill' })
    switch (v.format) {
      // JPEG has no transparency: what was transparent is white (libvips would make it black, and a black logo vanish)
      case 'jpeg': return image.flatten({ background: '#ffffff' }).jpeg({ quality: 80, mozjpeg: true }).toBuffer()
      case 'png': return image.png({ compressionLevel: 8 }).toBuffer()
      case 'webp': return image.webp({ quality: 78 }).toBuffer()
      case 'avif': return image.avif({ quality: 55, effort: 3 }).toBuffer()
    }
  }, signal)
}
