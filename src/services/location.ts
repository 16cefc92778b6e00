import zlib from 'node:zlib'
import { BadRequest } from '../errors.js'

/**
 * Where a photo was taken is taken out of its file before it is stored: every reader may download an original
 * (SPEC §2), and a camera's or phone's GPS position can give away a source's home or a photographer's hiding place.
 * The pixels are untouched (no re-encoding), and the rest of the metadata stays (orientation, camera, copyright):
 * - EXIF (JPEG APP1, PNG eXIf, WebP EXIF, AVIF Exif item): the GPS directory is emptied, its entries and their
 *   values overwritten with zeros, in place. An EXIF block too damaged to walk is zeroed whole;
 * - XMP (JPEG, WebP, AVIF, a GIF's application extension): the value of every `…:GPS…` property
 *   (exif:GPSLatitude, Iptc4xmpExt:GPSLongitude…) becomes spaces, in place, so the packet keeps its length and
 *   stays XML;
 * - a PNG's text chunks, often compressed, are left out when they hold a position: XMP, a raw profile (EXIF or XMP
 *   as hex, as ImageMagick and exiftool keep a JPEG's metadata in a PNG; libvips does not read them) or a text
 *   property named after one (`exif:GPSLatitude`).
 * Place names an editor typed (IPTC city, sublocation) are captions, not coordinates, and stay.
 * A position found where it cannot be taken out (EXIF that libvips read from a PNG text chunk) refuses the upload
 * rather than publish it.
 */
export function withoutLocation (data: Buffer, found: { exif?: Buffer, xmp?: Buffer }): { data: Buffer, cleared: boolean } {
  let cleared = false
  let tiffsSeen = 0
  let xmpsSeen = 0
  if (isPng(data)) {
    const kept: Buffer[] = [data.subarray(0, 8)]
    for (const chunk of pngChunks(data)) {
      if (chunk.type === 'eXIf') {
        tiffsSeen++
        if (clearGps(data, chunk.start, chunk.end)) {
          data.writeUInt32BE(zlib.crc32(data.subarray(chunk.start - 4, chunk.end)), chunk.end)
          cleared = true
        }
      } else if (TEXT_CHUNKS.has(chunk.type)) {
        // a metadata chunk with a position, or one that cannot be read to tell, is left out
        const found = pngTextLocation(chunk.type, data.subarray(chunk.start, chunk.end))
        if (found.xmp) xmpsSeen++
        if (found.exif) tiffsSeen++
        if (found.located) {
          cleared = true
          continue
        }
      }
      kept.push(data.subarray(chunk.start - 8, chunk.end + 4))
    }
    if (cleared) data = Buffer.concat(kept)
  } else {
    const { tiffs, xmps } = isJpeg(data) ? jpegBlocks(data) : isGif(data) ? gifBlocks(data) : blocksByContent(data, found)
    for (const [start, end] of tiffs) cleared = clearGps(data, start, end) || cleared
    for (const [start, end] of xmps) cleared = blankGpsProperties(data, start, end) || cleared
    tiffsSeen = tiffs.length
    xmpsSeen = xmps.length
  }
  const left = (found.exif && tiffsSeen === 0 && hasGps(found.exif, tiffStart(found.exif))) ||
    (found.xmp && xmpsSeen === 0 && GPS_PROPERTY.test(found.xmp.toString('latin1')))
  if (left) throw new BadRequest('The image carries its GPS position where it cannot be taken out here: remove its location metadata before uploading')
  return { data, cleared }
}

type Range = [number, number]

const isJpeg = (b: Buffer) => b.length > 4 && b[0] === 0xff && b[1] === 0xd8
const isGif = (b: Buffer) => b.length > 13 && (b.toString('latin1', 0, 6) === 'GIF89a' || b.toString('latin1', 0, 6) === 'GIF87a')
const isPng = (b: Buffer) => b.length > 8 && b.readUInt32BE(0) === 0x89504e47 && b.readUInt32BE(4) === 0x0d0a1a0a
const EXIF_HEADER = Buffer.from('Exif\0\0', 'latin1')
const XMP_HEADER = Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1')
const XMP_EXTENSION_HEADER = Buffer.from('http://ns.adobe.com/xmp/extension/\0', 'latin1')
const tiffStart = (exif: Buffer) => exif.subarray(0, 6).equals(EXIF_HEADER) ? 6 : 0

/** Every APP1 EXIF and XMP block of a JPEG, from its segments, up to the image data. */
function jpegBlocks (b: Buffer) {
  const tiffs: Range[] = []
  const xmps: Range[] = []
  let i = 2
  while (i + 4 <= b.length && b[i] === 0xff) {
    const marker = b[i + 1]!
    if (marker === 0xff) { i++; continue }
    if (marker === 0xda || marker === 0xd9) break
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { i += 2; continue }
    const start = i + 4
    const end = Math.min(i + 2 + b.readUInt16BE(i + 2), b.length)
    if (marker === 0xe1) {
      const payload = b.subarray(start, end)
      if (payload.subarray(0, EXIF_HEADER.length).equals(EXIF_HEADER)) tiffs.push([start + EXIF_HEADER.length, end])
      else if (payload.subarray(0, XMP_HEADER.length).equals(XMP_HEADER)) xmps.push([start + XMP_HEADER.length, end])
      // extended XMP: a GUID, the full length and this part's offset (40 bytes), then part of the packet
      else if (payload.subarray(0, XMP_EXTENSION_HEADER.length).equals(XMP_EXTENSION_HEADER)) xmps.push([start + XMP_EXTENSION_HEADER.length + 40, end])
    }
    i = end
  }
  return { tiffs, xmps }
}

const GIF_XMP = Buffer.from('XMP DataXMP', 'latin1')
/** The 258-byte trailer that ends a GIF's XMP packet (0x01, 0xFF, 0xFE … 0x00, 0x00): its first bytes. */
const GIF_XMP_TRAILER = Buffer.from([0x01, 0xff, 0xfe, 0xfd])

/**
 * A GIF's XMP packets (application extensions `XMP DataXMP`, which libvips does not read), from its blocks, up to
 * the trailer. The packet is stored as it is, not in sub-blocks: a reader skips it by reading its bytes as
 * sub-block lengths, which the trailer after it (bytes counting down to 0) ends whatever they are, so values
 * blanked with spaces keep the file readable. A GIF too damaged to walk has no more blocks read.
 */
function gifBlocks (b: Buffer) {
  const xmps: Range[] = []
  /** Past the sub-blocks starting at i (each a length byte and that many bytes), their 0 ending included. */
  const subBlocks = (i: number) => {
    while (i < b.length && b[i] !== 0) i += b[i]! + 1
    return i + 1
  }
  const packed = b[10]!
  let i = 13 + (packed & 0x80 ? 3 * 2 ** ((packed & 7) + 1) : 0)
  while (i < b.length) {
    const block = b[i]
    if (block === 0x21) {
      if (b[i + 1] === 0xff && b[i + 2] === 11 && b.subarray(i + 3, i + 14).equals(GIF_XMP)) {
        const start = i + 14
        const end = subBlocks(start)
        const trailer = b.indexOf(GIF_XMP_TRAILER, start)
        xmps.push([start, trailer >= start && trailer < end ? trailer : Math.min(end - 1, b.length)])
        i = end
      } else {
        i = subBlocks(i + 2)
      }
    } else if (block === 0x2c) {
      const flags = b[i + 9] ?? 0
      i = subBlocks(i + 10 + (flags & 0x80 ? 3 * 2 ** ((flags & 7) + 1) : 0) + 1)
    } else {
      break
    }
  }
  return { tiffs: [] as Range[], xmps }
}

/** Other formats: the EXIF and XMP blocks libvips read from the file, found in its bytes. */
function blocksByContent (b: Buffer, found: { exif?: Buffer, xmp?: Buffer }) {
  const locate = (block: Buffer | undefined, skip: number): Range[] => {
    if (!block || block.length - skip < 8) return []
    const at = b.indexOf(block.subarray(skip))
    return at < 0 ? [] : [[at, at + block.length - skip]]
  }
  return { tiffs: locate(found.exif, found.exif ? tiffStart(found.exif) : 0), xmps: locate(found.xmp, 0) }
}

/** Bytes per value of each TIFF field type (BYTE, ASCII, SHORT, LONG, RATIONAL, … DOUBLE). */
const TYPE_SIZES = [0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8]
const GPS_POINTER = 0x8825

/** A TIFF block's reader, every read checked against the block's end. */
function tiff (b: Buffer, start: number, end: number) {
  const order = b.toString('latin1', start, start + 2)
  if (order !== 'II' && order !== 'MM') throw new RangeError('not TIFF')
  const le = order === 'II'
  const at = (offset: number, size: number) => {
    if (offset < 0 || start + offset + size > end) throw new RangeError('outside the block')
    return start + offset
  }
  const u16 = (offset: number) => le ? b.readUInt16LE(at(offset, 2)) : b.readUInt16BE(at(offset, 2))
  const u32 = (offset: number) => le ? b.readUInt32LE(at(offset, 4)) : b.readUInt32BE(at(offset, 4))
  if (u16(2) !== 42) throw new RangeError('not TIFF')
  /** The offset of the GPS directory, if the first directory points to one. */
  const gpsDirectory = () => {
    const first = u32(4)
    for (let i = 0, n = u16(first); i < n; i++) {
      if (u16(first + 2 + i * 12) === GPS_POINTER) return u32(first + 2 + i * 12 + 8)
    }
    return undefined
  }
  return { at, u16, u32, gpsDirectory }
}

function hasGps (b: Buffer, start: number) {
  try {
    const t = tiff(b, start, b.length)
    const gps = t.gpsDirectory()
    return gps !== undefined && t.u16(gps) > 0
  } catch {
    return false
  }
}

/** Empties the GPS directory of the TIFF block at [start, end): its entries and their values become zeros. */
function clearGps (b: Buffer, start: number, end: number): boolean {
  try {
    const t = tiff(b, start, end)
    const gps = t.gpsDirectory()
    if (gps === undefined) return false
    const n = t.u16(gps)
    if (n === 0) return false
    const entries = t.at(gps + 2, n * 12)
    for (let i = 0; i < n; i++) {
      const entry = gps + 2 + i * 12
      const size = (TYPE_SIZES[t.u16(entry + 2)] ?? 1) * t.u32(entry + 4)
      if (size > 4) b.fill(0, t.at(t.u32(entry + 8), size), t.at(t.u32(entry + 8), size) + size)
    }
    b.fill(0, entries, entries + n * 12)
    b.fill(0, t.at(gps, 2), t.at(gps, 2) + 2)
    return true
  } catch {
    // a block too damaged to walk: nothing of it is kept
    b.fill(0, start, end)
    return true
  }
}

/**
 * An XMP property whose name starts with GPS, under any namespace prefix. Its name is matched from a character that
 * cannot be part of it, so a long run of letters is read once, not once from each of its letters.
 */
const GPS_PROPERTY = /(?:^|[^\w.-])[\w.-]+:GPS/

const isNameChar = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x2d || c === 0x2e
const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d

/**
 * Blanks (with spaces, so the packet keeps its length and stays XML) the value of every GPS property: an attribute's
 * (`exif:GPSLatitude="…"`) or an element's content (`<exif:GPSLatitude>…</exif:GPSLatitude>`). One pass forward
 * over the packet, whatever it holds (a regular expression backtracked over long runs of letters): what follows a
 * property left open is blanked to the end of the packet.
 */
function blankGpsProperties (b: Buffer, start: number, end: number): boolean {
  let blanked = false
  const blank = (from: number, to: number) => {
    for (let i = start + from; i < start + to; i++) {
      if (b[i] !== 0x20) { b[i] = 0x20; blanked = true }
    }
  }
  const text = b.toString('latin1', start, end)
  const at = (i: number) => text.charCodeAt(i)
  let from = 0
  for (;;) {
    const gps = text.indexOf(':GPS', from)
    if (gps < 0) break
    let nameEnd = gps + 4
    while (nameEnd < text.length && isNameChar(at(nameEnd))) nameEnd++
    let nameStart = gps
    while (nameStart > from && isNameChar(at(nameStart - 1))) nameStart--
    from = nameEnd
    if (nameStart === gps) continue
    let k = nameEnd
    while (k < text.length && isSpace(at(k))) k++
    if (text[k] === '=') {
      // an attribute: its quoted value
      k++
      while (k < text.length && isSpace(at(k))) k++
      const quote = text[k]
      if (quote !== '"' && quote !== "'") continue
      const close = text.indexOf(quote, k + 1)
      if (close < 0) { blank(k + 1, text.length); break }
      blank(k + 1, close)
      from = close + 1
    } else if (text[nameStart - 1] === '<') {
      // an element: what lies between its opening tag and its closing one
      const gt = text.indexOf('>', nameEnd)
      if (gt < 0) { blank(nameEnd, text.length); break }
      if (text[gt - 1] === '/') { from = gt + 1; continue }
      const close = text.indexOf(`</${text.slice(nameStart, nameEnd)}`, gt + 1)
      if (close < 0) { blank(gt + 1, text.length); break }
      blank(gt + 1, close)
      from = close + 2 + nameEnd - nameStart
    }
  }
  return blanked
}

const TEXT_CHUNKS = new Set(['tEXt', 'zTXt', 'iTXt'])
const XMP_KEYWORD = 'XML:com.adobe.xmp'
/** ImageMagick's and exiftool's way of keeping a JPEG's profiles (EXIF, XMP, APP1…) in a PNG: hex in a text chunk. */
const RAW_PROFILE = /^Raw profile type /i

/**
 * What a PNG text chunk holds of a position: XMP (`XML:com.adobe.xmp`), a raw profile (hex: EXIF, APP1, XMP),
 * or a text property named after one (`exif:GPSLatitude`, `GPS Position`); `located` when it holds one or cannot
 * be read to tell. Other text (a title, a comment, software) is not read.
 */
function pngTextLocation (type: string, chunk: Buffer): { located: boolean, xmp?: boolean, exif?: boolean } {
  const keywordEnd = chunk.indexOf(0)
  const keyword = chunk.toString('latin1', 0, keywordEnd < 0 ? chunk.length : keywordEnd)
  if (/gps/i.test(keyword)) return { located: true }
  const xmp = keyword === XMP_KEYWORD
  if (!xmp && !RAW_PROFILE.test(keyword)) return { located: false }
  const text = pngText(type, chunk)
  if (text === null) return { located: true, xmp }
  if (xmp) return { located: GPS_PROPERTY.test(text), xmp }
  const profile = rawProfile(text)
  if (profile === null) return { located: true }
  const exif = profile.subarray(0, 6).equals(EXIF_HEADER) || TIFF_HEADERS.some((h) => profile.subarray(0, 4).equals(h))
  // counted as the EXIF or XMP block it holds (see the check for one libvips read that was not seen): an IPTC or ICC
  // profile is neither
  return { located: (exif && hasGps(profile, tiffStart(profile))) || GPS_PROPERTY.test(profile.toString('latin1')), exif, xmp: /xmp$/i.test(keyword) }
}

const TIFF_HEADERS = [Buffer.from('II*\0', 'latin1'), Buffer.from('MM\0*', 'latin1')]

/**
 * A raw profile's bytes, written as `\n<name>\n<spaces><length>\n` then that many bytes in hex, on lines; null if
 * the text is not one. (Read without a regular expression over the hex: a chunk may inflate to 16 MiB.)
 */
function rawProfile (text: string): Buffer | null {
  const head = /^\n?[^\n]*\n *(\d+)\n/.exec(text)
  if (!head) return null
  const hex = text.slice(head[0].length).replace(/\s+/g, '')
  if (hex.length !== 2 * Number(head[1]) || !/^[0-9a-fA-F]*$/.test(hex)) return null
  return Buffer.from(hex, 'hex')
}

/** A PNG's chunks: each one's type and the range of its data (its length before, its checksum after). */
function * pngChunks (b: Buffer) {
  let i = 8
  while (i + 12 <= b.length) {
    const start = i + 8
    const end = start + b.readUInt32BE(i)
    if (end + 4 > b.length) return
    yield { type: b.toString('latin1', i + 4, start), start, end }
    i = end + 4
  }
}

/** How far a compressed text chunk is inflated: a small chunk can stand for gigabytes of text. */
const INFLATED = { maxOutputLength: 16 * 1024 * 1024 }

/**
 * The text of a PNG text chunk (keyword first), inflated if it is compressed; null if it cannot be read, or would
 * inflate past INFLATED (the chunk is then left out, as one that cannot be read).
 */
function pngText (type: string, chunk: Buffer): string | null {
  try {
    const afterKeyword = chunk.indexOf(0) + 1
    if (type === 'tEXt') return chunk.toString('latin1', afterKeyword)
    if (type === 'zTXt') return zlib.inflateSync(chunk.subarray(afterKeyword + 1), INFLATED).toString('latin1')
    // iTXt: compression flag and method, then a language tag and a translated keyword, each ending with NUL
    const compressed = chunk[afterKeyword] === 1
    const language = chunk.indexOf(0, afterKeyword + 2) + 1
    const text = chunk.subarray(chunk.indexOf(0, language) + 1)
    return (compressed ? zlib.inflateSync(text, INFLATED) : text).toString('latin1')
  } catch {
    return null
  }
}
