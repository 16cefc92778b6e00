import { createRequire } from 'node:module'
import { Conflict, invalid } from '../errors.js'

/** An id's shape: `?section=`, `?byline=` and `?parent=` take an id or a slug, and try the id first. */
const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const RESERVED_WHY: Record<string, string> = { root: '`?parent=root` lists the top-level sections' }

const require = createRequire(import.meta.url)
/**
 * transliteration (its tables are large: ~0.06 s to load) is loaded by the first slug made, on a write, not at
 * startup. Synchronously: slugs are chosen inside transactions, which must not wait on anything.
 */
let transliterate: typeof import('transliteration').slugify | undefined

/** A URL slug from any text: non-Latin scripts are transliterated ("哈尔滨" -> "ha-er-bin"). */
export function slugify (text: string): string {
  transliterate ??= (require('transliteration') as typeof import('transliteration')).slugify
  const slug = transliterate(text, { lowercase: true, separator: '-', trim: true })
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80)
    .replace(/-+$/, '')
  return slug || 'untitled'
}

/**
 * Picks the slug for a write. An explicit slug must be free (409 otherwise); a generated one gets "-2", "-3"...
 * appended until it is: the first ten tried in turn, then (a headline used every day, "Morning briefing") the number
 * doubled until one is free and the gap halved back, so that the thousandth story of a name costs ~25 lookups, not a
 * thousand, and no number of them runs out.
 */
export async function chooseSlug (
  explicit: string | undefined,
  source: string,
  taken: (slug: string) => Promise<boolean | 'former'>,
  resource: string,
  reserved: readonly string[] = []
): Promise<string> {
  const unusable = (slug: string) => ID.test(slug) || reserved.includes(slug)
  if (explicit !== undefined) {
    if (unusable(explicit)) {
      const message = ID.test(explicit) ? 'Is shaped like an id, which lookups by id or slug would take it for' : `Is reserved: ${RESERVED_WHY[explicit] ?? 'it has a meaning of its own'}`
      throw invalid(`The slug "${explicit}" cannot be used: ${message.charAt(0).toLowerCase()}${message.slice(1)}`, [{ path: '/slug', message }])
    }
    const by = await taken(explicit)
    if (by) {
      const message = by === 'former'
        ? `The slug "${explicit}" was another ${resource}'s, which had been published with it: its shared links still lead there, so choose another`
        : `${/^[aeiou]/.test(resource) ? 'An' : 'A'} ${resource} with slug "${explicit}" already exists`
      throw Object.assign(new Conflict(message), { errors: [{ path: '/slug', message: by === 'former' ? `Was another ${resource}'s, which its old links still reach` : 'Is taken' }] })
    }
    return explicit
  }
  const base = slugify(source)
  const nth = (n: number) => n === 1 ? base : `${base}-${n}`
  const free = async (n: number) => !unusable(nth(n)) && !(await taken(nth(n)))
  for (let n = 1; n <= 10; n++) if (await free(n)) return nth(n)
  // n taken, m free: the lowest free number between them when those taken run from 2 up without gaps (a free one in
  // any case)
  let n = 10
  let m = 20
  while (!(await free(m))) { n = m; m *= 2 }
  while (m - n > 1) {
    const mid = Math.floor((n + m) / 2)
    if (await free(mid)) m = mid
    else n = mid
  }
  return nth(m)
}
