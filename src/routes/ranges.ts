import type { ByteRange } from '../storage/index.js'

/** More ranges than this in one header is no request a reader's client sends: the whole file answers it. */
const MAX_RANGES = 100
/** One range: `first-last`, `first-` or `-suffix`, in decimal digits. */
const SPEC = /^([0-9]*)-([0-9]*)$/

/**
 * The range of a file's bytes a `Range` header asks for (RFC 9110 14.1–14.2), to answer with a 206:
 * - `undefined` for the whole file: no header, another unit, a malformed range set or an invalid range (`9-5`),
 *   which the RFC lets a server ignore, or several ranges that do not merge into one (a multipart answer costs more
 *   than it saves for an image: the whole file serves them);
 * - `'unsatisfiable'` (a 416) when none of its ranges is within the file;
 * - else the one range, merged from overlapping or adjacent ones and cut at the file's end; a suffix longer than the
 *   file is the whole file (14.1.3). Empty list elements and spaces around commas are allowed, as in any HTTP list.
 * Written here rather than taken from `range-parser`: its 1.x refuses a suffix longer than the file and reads
 * `1-2-3` as `1-2`, and its 2.x needs Node.js 22.
 */
export function rangeOf (header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (header === undefined || header.length > 1000) return undefined
  const eq = header.indexOf('=')
  if (eq < 0 || header.slice(0, eq).trim().toLowerCase() !== 'bytes') return undefined
  const specs = header.slice(eq + 1).split(',').map((spec) => spec.trim()).filter((spec) => spec !== '')
  if (specs.length === 0 || specs.length > MAX_RANGES) return undefined
  const ranges: ByteRange[] = []
  for (const spec of specs) {
    const m = SPEC.exec(spec)
    if (!m || (m[1] === '' && m[2] === '')) return undefined
    if (m[1] === '') {
      const suffix = Number(m[2])
      if (suffix > 0 && size > 0) ranges.push({ start: Math.max(0, size - suffix), end: size - 1 })
    } else {
      const first = Number(m[1])
      const last = m[2] === '' ? Infinity : Number(m[2])
      if (last < first) return undefined
      if (first < size) ranges.push({ start: first, end: Math.min(last, size - 1) })
    }
  }
  if (ranges.length === 0) return 'unsatisfiable'
  ranges.sort((a, b) => a.start - b.start)
  const one = ranges[0]!
  for (const range of ranges.slice(1)) {
    if (range.start > one.end + 1) return undefined
    one.end = Math.max(one.end, range.end)
  }
  return one
}
