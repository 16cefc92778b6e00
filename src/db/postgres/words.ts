/*
 * Words as the full-text index holds them on PostgreSQL: told apart, folded and numbered here, as SQLite's FTS5
 * tokenizer (unicode61, remove_diacritics 2) does it, and handed to PostgreSQL as tsvector and tsquery values
 * it takes as they are (no text search configuration, no parser of its own), so that a search finds the same
 * articles on either database. PostgreSQL's parser reads `example.com` or `gas-deal` as words of their own and
 * skips the character that parts an article's blocks (see BOUNDARY in services/search.ts), so a phrase could match
 * across two paragraphs.
 */

/** What the tokenizer reads as part of a word: letters, numbers, private-use characters, combining marks. */
const WORDS = /[\p{L}\p{N}\p{Co}\p{M}]+/gu
const MARKS = /\p{M}+/gu
/** Latin letters with their diacritics (decomposed), which the index drops; other scripts' marks make letters of their own. */
const LATIN_MARKED = /(\p{Script=Latin})\p{M}+/gu
/** The block boundary of an indexed text (services/search.ts): a position of its own, and no word. */
const BOUNDARY = '\uE002'
/**
 * PostgreSQL's limits: positions up to 16,383 (later ones count as the last), 256 positions a lexeme, lexemes shorter
 * than 2 KB, and a tsvector's words and positions within 1 MiB (an article of ~100,000 different words): what is past
 * MAX_BYTES is left out of the index (a snippet is looked for in a field's first 64 Ki characters, for the same reason).
 * A long body's phrases are kept in parts of their own besides (see phraseParts).
 */
const MAX_POSITION = 16383
const MAX_POSITIONS = 256
const MAX_LEXEME_BYTES = 2046
const MAX_BYTES = 900_000

/** The words of a text in order (folded: lower case, no Latin diacritics); null for a boundary, which takes a position. */
function wordsOf (text: string): (string | null)[] {
  const folded = text.normalize('NFD').replace(LATIN_MARKED, '$1').normalize('NFC').toLowerCase().replace(/ς/g, 'σ')
  return (folded.match(WORDS) ?? []).map((w) => w === BOUNDARY ? null : w.replace(MARKS, '') || null)
    .filter((w) => w === null || Buffer.byteLength(w) <= MAX_LEXEME_BYTES)
}

/** A lexeme as tsvector and tsquery literals write it: quoted, its quotes and backslashes escaped. */
const quoted = (word: string) => `'${word.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`

/**
 * A tsvector of fields in order, each word at its position with its field's weight class (A to D); the fields most
 * worth finding first, the body last (see MAX_BYTES).
 */
export function tsvectorOf (fields: [text: string, weight: 'A' | 'B' | 'C' | 'D'][]): string {
  return vectorOf(fields).vector
}

/**
 * The tsvector of fields (see tsvectorOf), and whether it holds every position of every word it holds: not when a word
 * is in it more than 256 times or a position is past 16,383, where a phrase may no longer be found (see phraseParts).
 */
export function vectorOf (fields: [text: string, weight: 'A' | 'B' | 'C' | 'D'][]): { vector: string, exact: boolean } {
  const positions = new Map<string, string[]>()
  let position = 0
  let exact = true
  // what PostgreSQL will store: each lexeme's bytes (and 4 for its length and count), 2 a position
  let bytes = 0
  for (const [text, weight] of fields) {
    // a field starts one position after the last (a phrase does not run from one field into the next)
    position++
    for (const word of wordsOf(text)) {
      position++
      if (word === null) continue
      if (position > MAX_POSITION) exact = false
      const at = `${Math.min(position, MAX_POSITION)}${weight}`
      const list = positions.get(word)
      if (list === undefined) {
        const size = Buffer.byteLength(word) + 6
        if (bytes + size > MAX_BYTES) continue
        bytes += size
        positions.set(word, [at])
      } else if (list.length < MAX_POSITIONS && bytes + 2 <= MAX_BYTES) {
        bytes += 2
        list.push(at)
      } else {
        exact = false
      }
    }
  }
  return { vector: written(positions), exact }
}

/** Words and their positions as a tsvector literal writes them. */
const written = (positions: Map<string, (string | number)[]>) => [...positions].map(([word, at]) => `${quoted(word)}:${at.join(',')}`).join(' ')

/** Words a part of a long text repeats from the part before, so that a phrase of up to this many words across the cut is found whole in one. */
const OVERLAP = 64
/** A part's positions: well within PostgreSQL's 16,383. */
const PART_POSITIONS = 16_000

/**
 * A long text's words in parts, each a tsvector with every position of its words (see vectorOf): a new part begins
 * before a word would be in the part 256 times, its positions pass PART_POSITIONS or its size MAX_BYTES, OVERLAP
 * words before the cut. What the article's `document` cannot hold of the body's phrases is found in them.
 */
export function phraseParts (text: string): string[] {
  const words = wordsOf(text)
  const parts: string[] = []
  let start = 0
  while (start < words.length) {
    const counts = new Map<string, number>()
    let bytes = 0
    let end = start
    for (; end < words.length && end - start < PART_POSITIONS; end++) {
      const word = words[end]!
      if (word === null) continue
      const n = counts.get(word) ?? 0
      const size = n === 0 ? Buffer.byteLength(word) + 6 : 2
      if (n === MAX_POSITIONS || bytes + size > MAX_BYTES) break
      counts.set(word, n + 1)
      bytes += size
    }
    const positions = new Map<string, number[]>()
    for (let i = start; i < end; i++) {
      const word = words[i]!
      if (word === null) continue
      const list = positions.get(word)
      if (list) list.push(i - start + 1)
      else positions.set(word, [i - start + 1])
    }
    parts.push(written(positions))
    if (end >= words.length) break
    // the next part repeats the last OVERLAP words (a part holds far more than that: it moves on)
    start = Math.max(start + 1, end - OVERLAP)
  }
  return parts
}

/** One term of a query as the service builds them (see ftsQuery): a quoted string, perhaps a prefix. */
const TERM = /"((?:[^"]|"")*)"(\*?)/g

/** The terms of a query as the service builds them (see ftsQuery): each one's words, and whether the last is a prefix. */
function termsOf (match: string) {
  return [...match.matchAll(TERM)]
    .map(([, text, star]) => ({ words: wordsOf(text!.replace(/""/g, '"')).filter((w): w is string => w !== null), prefix: star === '*' }))
    .filter((term) => term.words.length > 0)
}

/**
 * The query as a tsquery: every term required (`any`: one of them); a term's words in a row (`<->`; `loose`: anywhere,
 * `&`), the last one a prefix (`:*`) when the term is; `weight`: found in the fields of that class only. A term without
 * words is left out; empty when no term has any.
 */
export function tsqueryOf (match: string, o: { any?: boolean, loose?: boolean, weight?: 'A' | 'B' | 'C' | 'D' } = {}): string {
  return termsOf(match).map((term) => `(${termQuery(term, o)})`).join(o.any ? ' | ' : ' & ')
}

/** One term of a query as a tsquery (see tsqueryOf). */
function termQuery ({ words, prefix }: ReturnType<typeof termsOf>[number], o: { loose?: boolean, weight?: 'A' | 'B' | 'C' | 'D' } = {}): string {
  return words.map((w, i) => `${quoted(w)}${(prefix && i === words.length - 1 ? ':*' : '') + (o.weight ? `${prefix && i === words.length - 1 ? '' : ':'}${o.weight}` : '')}`)
    .join(o.loose ? ' & ' : ' <-> ')
}

/** Each phrase of a query (a term of two words or more) as a tsquery of its own. */
export function phrasesOf (match: string): string[] {
  return termsOf(match).filter((term) => term.words.length > 1).map((term) => termQuery(term))
}

/** Whether a query has a phrase (a term of two words or more) or a prefix. */
export function phraseOrPrefix (match: string): boolean {
  return termsOf(match).some((term) => term.prefix || term.words.length > 1)
}
