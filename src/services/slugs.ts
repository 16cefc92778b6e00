import { createRequire } from 'node:module'
import { Conflict } from '../errors.js'

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
 * Picks the slug for a write. An explicit slug must be free (409 otherwise); a generated one gets
 * "-2", "-3"... appended until it is.
 */
export async function chooseSlug (
  explicit: string | undefined,
  source: string,
  taken: (slug: string) => Promise<boolean | 'former'>,
  resource: string
): Promise<string> {
  if (explicit !== undefined) {
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
  for (let n = 1; n < 1000; n++) {
    const candidate = n === 1 ? base : `${base}-${n}`
    if (!(await taken(candidate))) return candidate
  }
  throw new Conflict(`Could not find a free slug for "${base}"; send one explicitly`)
}
