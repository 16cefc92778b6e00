import type { SearchDocument } from '../db/index.js'
import { CJK } from './search.js'

/**
 * Snippets of search hits, made from the article's indexed text (documentOf) rather than by FTS5's snippet(),
 * which evaluates the query again for each document: a prefix is expanded again over the whole archive (~6 ms
 * for a common one at 100k articles). Words are told apart as FTS5's unicode61 tokenizer does, and counted only
 * around the matches, never through a whole field. Patterns are plain string searches: a regular expression with
 * Unicode classes made for each query cost more to compile than the search itself.
 */

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/** What the tokenizer reads as part of a word: letters, numbers, private-use characters, combining marks. */
const WORD_CHAR = /^[\p{L}\p{N}\p{Co}\p{M}]$/u
const WORDS = /[\p{L}\p{N}\p{Co}\p{M}]+/gu
const MARK = /\p{M}/u
const MARKS = /\p{M}/gu

/** What a character is to the words of a text: part of a word, a separator, a word of its own (CJK), a mark. */
const enum Kind { Word = 1, Separator = 2, Own = 3, Mark = 4 }
const kindOf = (char: string): Kind => CJK.test(char) ? Kind.Own : MARK.test(char) ? Kind.Mark : WORD_CHAR.test(char) ? Kind.Word : Kind.Separator

/** For each UTF-16 unit, once looked up, its Kind (ASCII filled in advance). */
const unitKind = new Uint8Array(0x10000)
for (let c = 0; c < 128; c++) unitKind[c] = kindOf(String.fromCharCode(c))

/** The kind of the character at i (a surrogate as the character it is half of). */
function kindAt (text: string, i: number): Kind {
  const c = text.charCodeAt(i)
  let kind = unitKind[c]!
  if (kind === 0) {
    if (c >= 0xd800 && c <= 0xdfff) {
      const cp = text.codePointAt(c < 0xdc00 ? i : i - 1)!
      return cp > 0xffff ? kindOf(String.fromCodePoint(cp)) : Kind.Separator
    }
    unitKind[c] = kind = kindOf(String.fromCharCode(c))
  }
  return kind
}

/** Whether the UTF-16 unit at i belongs to a word. */
const inWord = (text: string, i: number) => kindAt(text, i) !== Kind.Separator

/**
 * Whether the units at i - 1 and i are of one word: both in words, and neither a character that is a word of its own
 * (Chinese, Japanese, Korean: see CJK in search.ts) but for a mark after one, or the second half of a surrogate pair.
 */
function joined (text: string, i: number): boolean {
  if (i <= 0 || i >= text.length) return false
  const c = text.charCodeAt(i)
  if (c >= 0xdc00 && c <= 0xdfff && text.charCodeAt(i - 1) >= 0xd800 && text.charCodeAt(i - 1) <= 0xdbff) return true
  const before = kindAt(text, i - 1)
  const kind = kindAt(text, i)
  if (before === Kind.Separator || kind === Kind.Separator) return false
  return kind === Kind.Mark || (before !== Kind.Own && kind !== Kind.Own)
}

/** Units the index leaves out of words, beside marks: see LEFT_OUT in search.ts. */
const DROPPED = /^[\u00ad\u0640]$/
const foldedUnits = new Map<string, string>()
const markUnits = new Set<string>()
/** Compatibility forms of one unit that stand for several (the ligature ﬁ for fi, ½ for 1⁄2), folded. */
const expandedUnits = new Map<string, string>()
/**
 * Whether the last fold() met a combining mark, a soft hyphen or a form of several characters (set by foldUnit, which
 * sees every non-ASCII unit): the field's words are then looked for in a text of its own (see foldField).
 */
let sawMark = false
/**
 * One UTF-16 unit folded as the tokenizer folds it (diacritics removed, lower case), or left as it is where
 * that would change the text's length, so that offsets in folded text are offsets in the text. Diacritics of
 * every script are removed, more than the index does (unicode61 folds Latin ones, the service Greek ones and ё,
 * see folded in search.ts; Cyrillic й or Japanese が keep theirs): a snippet may then mark a word FTS5 did not
 * match, never miss one.
 */
function foldUnit (c: string): string {
  let f = foldedUnits.get(c)
  if (f === undefined) {
    // compatibility forms as the index holds them (see folded in search.ts: full-width Ａ is a), where one unit
    const bare = c.normalize('NFKD').replace(MARKS, '').toLowerCase()
    // a final sigma is a sigma (lower case writes one at the end of a word)
    f = bare === 'ς' ? 'σ' : bare.length === 1 ? bare : c
    foldedUnits.set(c, f)
    // left out of the text words are looked for in, as the index leaves them out: marks FTS5 drops, soft hyphens,
    // the Arabic tatweel; and written out where a compatibility form stands for several characters (ﬁ), never
    // where the decomposition is canonical (a Korean syllable is its letters to NFD too, and one to the index)
    if (MARK.test(c) || DROPPED.test(c)) markUnits.add(c)
    else if (bare.length > 1 && c.normalize('NFKD') !== c.normalize('NFD')) expandedUnits.set(c, bare)
  }
  if (markUnits.has(c) || expandedUnits.has(c)) sawMark = true
  return f
}
const NOT_ASCII = /[^\x00-\x7f]/
function fold (text: string): string {
  sawMark = false
  const lower = text.toLowerCase()
  // lower case keeps the length of all text but the dotted capital I (U+0130): fold that unit by unit
  if (lower.length !== text.length) return text.replace(/[A-Z]|[^\x00-\x7f]/g, foldUnit)
  return NOT_ASCII.test(lower) ? lower.replace(/[^\x00-\x7f]/g, foldUnit) : lower
}

/**
 * A field folded for matching, `low` (as long as the text: its offsets are the text's), and the text the index
 * holds of it, `bare`: without the combining marks that have no composed form (x\u0323, which FTS5 drops from its
 * words) and soft hyphens, with each compatibility form of several characters written out (ﬁ as fi: see folded in
 * search.ts); `at` maps an offset in `bare` to one in `low`, a match within a form's characters to the whole form.
 */
function foldField (text: string) {
  const low = fold(text)
  if (!sawMark) return { low, bare: low, at: (i: number) => i }
  const kept: number[] = []
  let bare = ''
  for (let i = 0; i < low.length; i++) {
    const unit = low[i]!
    if (markUnits.has(unit)) continue
    const written = expandedUnits.get(unit) ?? unit
    for (let j = 0; j < written.length; j++) kept.push(i)
    bare += written
  }
  return { low, bare, at: (i: number) => i < kept.length ? kept[i]! : low.length }
}

/** A term of the query: its folded words, to be found next to each other, the last one perhaps a prefix. */
interface Term { words: string[], prefix: boolean }

/** A term of an FTS5 query as ftsQuery builds them: a quoted string of one or more words, perhaps a prefix. */
const TERM = /"((?:[^"]|"")*)"(\*?)/g

function termsOf (match: string): Term[] {
  const terms: Term[] = []
  for (const [, quoted, star] of match.matchAll(TERM)) {
    const words = (fold(quoted!.replace(/""/g, '"').normalize('NFC')).match(WORDS) ?? []).map((w) => w.replace(MARKS, '')).filter(Boolean)
    if (words.length > 0) terms.push({ words, prefix: star === '*' })
  }
  return terms
}

/**
 * Where a term is in folded text: the [start, end) of each place its words stand next to each other, whole, handed
 * to `found` in order, at most `max` of them.
 */
function placesOf (text: string, { words, prefix }: Term, max: number, found: (start: number, end: number) => void) {
  const first = words[0]!
  /** Past the end of the word at i: the next place to look from, so no word is looked at twice. */
  const pastWord = (i: number) => { while (joined(text, i)) i++; return i }
  let from = 0
  let n = 0
  for (let at = text.indexOf(first); at >= 0 && n < max; at = text.indexOf(first, from)) {
    from = pastWord(at + 1)
    if (joined(text, at)) continue
    let end = at + first.length
    let whole = true
    for (let w = 1; w < words.length; w++) {
      const word = words[w]!
      let next = end
      while (next < text.length && !inWord(text, next)) next++
      if ((next === end && joined(text, end)) || !text.startsWith(word, next)) { whole = false; break }
      end = next + word.length
    }
    if (!whole) continue
    if (prefix) end = pastWord(end)
    else if (joined(text, end)) continue
    from = Math.max(from, end)
    found(at, end)
    n++
  }
}

/** How many words start in text[from, to) (one under way at `from` counts), counting no further than `cap`. */
function wordsIn (text: string, from: number, to: number, cap: number): number {
  let n = 0
  for (let i = from; i < to && n < cap; i++) {
    if (inWord(text, i) && (i === from || !joined(text, i))) n++
  }
  return n
}

/**
 * Steps over up to `count` words from `at`, backwards or forwards: where it stops (the field's very start or
 * end when only separators are left beyond), how many words it passed, and whether any are left beyond.
 */
function stepWords (text: string, at: number, count: number, backwards: boolean) {
  let i = at
  let passed = 0
  if (backwards) {
    for (; passed < count; passed++) {
      while (i > 0 && !inWord(text, i - 1)) i--
      if (i === 0) break
      i--
      while (joined(text, i)) i--
    }
    let j = i
    while (j > 0 && !inWord(text, j - 1)) j--
    return { at: j === 0 ? 0 : i, passed, more: j > 0 }
  }
  for (; passed < count; passed++) {
    while (i < text.length && !inWord(text, i)) i++
    if (i === text.length) break
    i++
    while (joined(text, i)) i++
  }
  let j = i
  while (j < text.length && !inWord(text, j)) j++
  return { at: j === text.length ? text.length : i, passed, more: j < text.length }
}

/** Words in a snippet, as FTS5's snippet() counts them. */
const SNIPPET_WORDS = 16
/** The places of each term looked at in a field, from its start: enough for any real text, bounded for any other. */
const MAX_PLACES = 1000

interface Found { term: number, start: number, end: number, first: number, last: number }

/**
 * The best SNIPPET_WORDS-word window of one field: the one holding the most different terms, then the most
 * matches (FTS5's snippet() scores the same way), placed to centre its matches. Null when nothing matches.
 */
function bestWindow (text: string, terms: Term[]) {
  const { low, bare, at } = foldField(text)
  const found: Found[] = []
  terms.forEach((term, i) => placesOf(bare, term, MAX_PLACES, (start, end) => { found.push({ term: i, start: at(start), end: at(end), first: 0, last: 0 }) }))
  if (found.length === 0) return null
  found.sort((a, b) => a.start - b.start || a.end - b.end)
  // word numbers relative to the first match; a gap of a snippet's length or more is as good as any larger
  found.forEach((f, i) => {
    const prev = found[i - 1]
    f.first = prev === undefined
      ? 0
      : f.start < prev.end ? prev.first + wordsIn(low, prev.start, f.start, SNIPPET_WORDS) : prev.last + wordsIn(low, prev.end, f.start, SNIPPET_WORDS) + 1
    f.last = f.first + Math.max(0, wordsIn(low, f.start, f.end, SNIPPET_WORDS) - 1)
  })
  let best = { score: -1, anchor: found[0]!, last: found[0]! }
  // the anchor each term was last counted for: its different terms counted without a set made for each anchor
  const countedFor = new Array<number>(terms.length).fill(-1)
  found.forEach((anchor, i) => {
    let count = 0
    let different = 0
    let last = anchor
    for (let j = i; j < found.length && found[j]!.first < anchor.first + SNIPPET_WORDS; j++) {
      const f = found[j]!
      if (f.last >= anchor.first + SNIPPET_WORDS) continue
      count++
      if (countedFor[f.term] !== i) { countedFor[f.term] = i; different++ }
      if (f.last > last.last) last = f
    }
    const score = different * 1000 + count
    if (score > best.score) best = { score, anchor, last }
  })
  // centred: as many words before the first match as after the last, as far as the field has them
  const span = best.last.last - best.anchor.first + 1
  let back = stepWords(low, best.anchor.start, Math.floor((SNIPPET_WORDS - span + 1) / 2), true)
  const wanted = SNIPPET_WORDS - span - back.passed
  const ahead = stepWords(low, best.last.end, wanted, false)
  if (back.more && ahead.passed < wanted) back = stepWords(low, back.at, wanted - ahead.passed, true)
  const start = back.at
  const end = ahead.at
  return { score: best.score, start, end, found: found.filter((f) => f.start >= start && f.end <= end), clipped: [back.more, ahead.more] }
}

/**
 * The start of a field that a snippet is looked for in: 64 Ki characters, ~10,000 words, far more than any story's
 * text, so that a page of hits costs the same whatever is stored. Twenty stories of a MiB each took 1.2 s to snip
 * for a query of 32 words, every reader waiting meanwhile; a match further in is found, and not shown.
 */
const SNIPPET_SCAN = 65_536
function head (field: string): string {
  if (field.length <= SNIPPET_SCAN) return field
  const cut = field.charCodeAt(SNIPPET_SCAN - 1) >= 0xd800 && field.charCodeAt(SNIPPET_SCAN - 1) <= 0xdbff ? SNIPPET_SCAN - 1 : SNIPPET_SCAN
  return field.slice(0, cut)
}

/** Text with something other than white space (what trim() would leave). */
const NOT_BLANK = /\S/

/**
 * Whether text of ASCII characters only may hold a match of the terms: one of their first words in it, in any case.
 * Folded, such text is only lower case (see fold), so a term whose first word it does not hold, or whose first word
 * is not ASCII, has no place in it: most of an article's paragraphs are passed over without being folded or
 * walked (a page of 20 hits took ~1 ms and ~1 MB of short-lived memory to snip, most of it on paragraphs without
 * a match). The pattern has no Unicode classes, and is made once per query.
 */
function asciiTest (terms: Term[]): (text: string) => boolean {
  const firsts = [...new Set(terms.map((t) => t.words[0]!).filter((w) => !NOT_ASCII.test(w)))]
  if (firsts.length === 0) return () => false
  const pattern = new RegExp(firsts.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'i')
  return (text) => pattern.test(text)
}

/** Where the index's text parts two blocks of the body, or two tags or names (see BOUNDARY in search.ts). */
const BOUNDARY = / ?\uE002 ?/g
/** The body's place among a document's fields, as snippetsFor lists them. */
const BODY = 2

/**
 * A search hit's snippet, as safe HTML: a short extract of the field that best matches the query (headline,
 * summary, body, tags, byline names; the first of the best), every match of its terms in `<mark>` (a phrase as
 * one), the text escaped, elisions marked with "…". In the body, an extract is of one block (a paragraph, a
 * caption, a quote or its attribution), as a phrase is matched within one: a caption's last words run on into the
 * first paragraph's as if one sentence, so a block before or after the one shown is an elision. With `leadCaption`,
 * the body's first block is the lead photo's caption, apart from the story's blocks. Tags and names are parted by
 * commas.
 */
export function snippetsFor (match: string): (doc: SearchDocument, leadCaption?: boolean) => string {
  const terms = termsOf(match)
  const mayMatch = asciiTest(terms)
  return (doc, leadCaption = false) => {
    let best: { text: string, window: NonNullable<ReturnType<typeof bestWindow>> } | null = null
    for (const [f, whole] of [doc.headline, doc.summary, doc.body, doc.tags, doc.bylines].entries()) {
      const field = head(whole)
      const blocks = f === BODY ? field.split(BOUNDARY) : [field]
      // the lead photo's caption (the body's first block, see documentOf) is shown above the story, not in its flow:
      // an extract of it is whole, and the first paragraph has nothing before it
      const groups = f === BODY && leadCaption ? [blocks.slice(0, 1), blocks.slice(1)] : [blocks]
      for (const [g, group] of groups.entries()) {
        const parts = group.filter((block) => NOT_BLANK.test(block))
        const last = g === groups.length - 1
        for (const [i, part] of parts.entries()) {
          const ascii = !NOT_ASCII.test(part)
          if (ascii && !mayMatch(part)) continue
          const text = ascii ? part : part.normalize('NFC')
          const window = bestWindow(text, terms)
          if (!window) continue
          if (i > 0) window.clipped[0] = true
          if (i < parts.length - 1 || (last && field.length < whole.length && window.end === text.length)) window.clipped[1] = true
          if (!best || window.score > best.window.score) best = { text, window }
        }
      }
    }
    if (!best) return ''
    const { text, window } = best
    const clipped = [...window.clipped]
    // a window does not begin or end where two tags or names part (the parting is a word to the window's count)
    let { start, end } = window
    while (start < end && (text[start] === ' ' || text[start] === '\uE002')) start++
    while (end > start && (text[end - 1] === ' ' || text[end - 1] === '\uE002')) end--
    /** Text of the window as HTML: at most LONG units of it, the rest elided at `cut` (its start, its end, its middle). */
    const show = (from: number, to: number, cut: 'start' | 'end' | 'middle') => {
      let shown = text.slice(from, to)
      if (to - from > LONG) {
        if (cut === 'start') { shown = text.slice(unsplit(text, to - LONG, 1), to); clipped[0] = true }
        if (cut === 'end') { shown = text.slice(from, unsplit(text, from + LONG, -1)); clipped[1] = true }
        if (cut === 'middle') shown = `${text.slice(from, unsplit(text, from + LONG / 2, -1))}…${text.slice(unsplit(text, to - LONG / 2, 1), to)}`
      }
      return escapeHtml(shown.replace(BOUNDARY, ', '))
    }
    // matches of two terms over the same words (`gas "gas deal"`) share one mark
    const marks: [number, number][] = []
    for (const f of window.found) {
      const last = marks[marks.length - 1]
      if (last && f.start < last[1]) last[1] = Math.max(last[1], f.end)
      else marks.push([f.start, f.end])
    }
    let html = ''
    let at = start
    marks.forEach(([from, to], i) => {
      html += `${show(at, from, i === 0 ? 'start' : 'middle')}<mark>${show(from, to, 'middle')}</mark>`
      at = to
    })
    html = (html + show(at, end, 'end')).trim()
    return `${clipped[0] ? '…' : ''}${html}${clipped[1] ? '…' : ''}`
  }
}

/**
 * At most this many UTF-16 units of a snippet's text are shown before its first mark, after its last, between two
 * marks, and in one mark: a window is 16 words, and a "word" may be a pasted URL or a base64 run thousands of characters
 * long (a 6,000-character snippet for one such paragraph). Sixteen words of German fit.
 */
const LONG = 160

/** `i`, moved by `step` if it falls between the two halves of a surrogate pair. */
function unsplit (text: string, i: number, step: 1 | -1): number {
  const c = text.charCodeAt(i)
  return c >= 0xdc00 && c <= 0xdfff ? i + step : i
}
