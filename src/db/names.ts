/* Names as readers look them up and lists sort them, the same on every database. */

/** Latin letters whose stroke or ligature is no combining mark, as readers type them without it. */
const PLAIN_LATIN: Record<string, string> = { ø: 'o', ł: 'l', đ: 'd', ħ: 'h', ı: 'i', ß: 'ss', æ: 'ae', œ: 'oe', þ: 'th' }

/** Typographic apostrophes and hyphens, as keyboards type them: O’Brien is O'Brien, Jean‐Pierre is Jean-Pierre. */
const TYPED: Record<string, string> = { '\u2018': "'", '\u2019': "'", '\u02bc': "'", '\u2032': "'", '\u2010': '-', '\u2011': '-' }

/**
 * Text as a finder matches it: lower case, without diacritics in any script (José, Müller, Ελλάδα, Øystein are found
 * as jose, muller, ελλαδα, oystein), a final sigma a sigma, compatibility forms as the letters they stand for
 * (the ligature ﬁ as fi, Ǆ as dž, full-width Ａ as a), typographic apostrophes and hyphens as typed ones, and
 * without the invisible format characters a paste brings along (zero-width space, soft hyphen, direction marks).
 */
export function foldedForMatching (text: string): string {
  return text.normalize('NFKD').replace(/[\p{M}\p{Cf}]+/gu, '').toLowerCase()
    .replace(/[øłđħıßæœþς\u2018\u2019\u02bc\u2032\u2010\u2011]/g, (c) => c === 'ς' ? 'σ' : PLAIN_LATIN[c] ?? TYPED[c]!)
}

/**
 * How many characters of a folded name lists sort by (sections, bylines): a page's cursor carries the last one's, and
 * must stay short whatever the script (NFKD makes up to 18 characters of one: a 200-character name gave cursors the
 * API refused). Names alike in their first 100 characters are ordered by id.
 */
export const SORT_KEY_LENGTH = 100

/** A name as lists sort it: folded as a finder matches it, its first SORT_KEY_LENGTH characters (code points, as SQLite's substr counts). */
export function sortKeyOf (name: string): string {
  const folded = foldedForMatching(name)
  return folded.length <= SORT_KEY_LENGTH ? folded : [...folded].slice(0, SORT_KEY_LENGTH).join('')
}

/**
 * A tag as articles are found by it (the index rows of `tag=`) and told apart: the same tag however it is cased or
 * written, so that China, china, CHINA and full-width ＣＨＩＮＡ are one tag, and so are Straße and STRASSE, İstanbul
 * and istanbul, ΟΔΟΣ and οδος (NFKC, trimmed, case folded: upper then lower case, which also writes a final sigma
 * as one, ß as ss and İ as i). An article keeps the first spelling it was given, and shows it.
 */
export function tagKey (tag: string): string {
  return tag.normalize('NFKC').trim().toUpperCase().toLowerCase().replace(/ß/g, 'ss').replace(/i\u0307/g, 'i').normalize('NFC')
}
