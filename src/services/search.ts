import type { Store, ArticleRow, SearchDocument } from '../db/index.js'
import type { BlockInput } from '../schemas/articles.js'
import { invalid } from '../errors.js'
import { unescaped } from './sanitize.js'

/** Body text is a sanitized HTML fragment: its words, without tags or entities. */
const plain = (html: string) => unescaped(html.replace(/<[^>]*>/g, ''))

/**
 * Private-use characters U+E000–U+E002 typed into an article are left out of its indexed text: U+E002 parts its
 * blocks (see BOUNDARY), and a typed one could fake a boundary.
 */
const unmarked = (text: string) => text.replace(/[\uE000-\uE002]/g, '')

/**
 * Between blocks, tags and names: a private-use character is a token to FTS5's tokenizer, so it takes a
 * position and a phrase cannot match across two paragraphs ("…of gas" / "Deal or…") or two tags.
 */
const BOUNDARY = ' \uE002 '

/** A Greek letter with marks (precomposed, or followed by combining ones), or the Russian ё. */
const FOLDED = /[\u0386\u0388-\u038a\u038c\u038e-\u0390\u03aa-\u03b0\u03ca-\u03ce\u03d3\u03d4\u1f00-\u1fff\u0401\u0451][\u0300-\u036f]*|[\u0370-\u03ff][\u0300-\u036f]+/g

/**
 * A character of a script written without spaces between words (Chinese, Japanese) or with words that run on into
 * their particles (Korean), with the marks after it: each is a word of its own to the index and to queries.
 */
export const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u30fc]\p{M}*/u
const CJK_ALL = new RegExp(CJK.source, 'gu')

/**
 * A character folded() may change: any beyond ASCII but the private-use markers between blocks (see BOUNDARY), which
 * NFKC and the folds below leave alone. An English article's indexed body holds those markers: taken for text beyond
 * ASCII, its ~4 KB went through normalization and four patterns for nothing, ~2% of an article creation's CPU.
 */
const NOT_PLAIN = /[^\x00-\x7f\uE000-\uE002]/
/**
 * What is no part of a word to a reader, nor to a search: the soft hyphen, where a word may break at the end of a
 * line (print copy brings them along, `Heilong\u00adjiang`), which the tokenizer takes for a space between two words;
 * the Arabic tatweel, which stretches a word (الاقتـــصاد); and the optional vowel marks of Arabic (harakat, الاقْتِصاد)
 * and Hebrew (niqqud), which readers do not type and the tokenizer keeps as part of the word.
 */
const LEFT_OUT = /[\u00ad\u0640\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e4\u06e7\u06e8\u06ea-\u06ed\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7]/g

/**
 * Text as the index and the queries hold it: the tokenizer (unicode61) removes the diacritics of Latin letters
 * only, so Greek letters lose their accents and breathings here (ά → α, ἀρχή → αρχη, ΐ → ι) and the Russian ё is
 * е, as readers type them. Compatibility forms are the characters they stand for (NFKC: full-width ＧＤＰ and ２０１４
 * as Chinese and Japanese copy writes them are GDP and 2014, the ligature ﬁ is fi, half-width ｶ is カ), and soft
 * hyphens, the Arabic tatweel and Arabic and Hebrew vowel marks are left out (see LEFT_OUT). Other scripts' marks make letters of their own (Cyrillic й, Japanese が) and stay.
 * The tokenizer takes a run of letters for one word, and Chinese and Japanese are written without spaces: each of
 * their characters (and Korean syllables) is made a word of its own, so `哈尔滨` is found in `哈尔滨今日新闻` (the
 * query's run becomes the phrase "哈 尔 滨"), as a search engine's single-character index finds it.
 */
export function folded (text: string): string {
  if (!NOT_PLAIN.test(text)) return text
  const greek = text.normalize('NFKC').replace(LEFT_OUT, '').replace(FOLDED, foldLetter)
  return CJK.test(greek) ? greek.replace(CJK_ALL, ' $& ') : greek
}
/** Each letter folded once (Greek has a few hundred with their marks), not once per occurrence. */
const foldedLetters = new Map<string, string>()
function foldLetter (letter: string): string {
  let f = foldedLetters.get(letter)
  if (f === undefined) {
    f = letter.normalize('NFD').replace(/[\u0300-\u036f]/g, '').normalize('NFC')
    if (foldedLetters.size < 4096) foldedLetters.set(letter, f)
  }
  return f
}

/** The photos an article shows: its lead photo, then each photo block's. */
export const photoIdsOf = (a: { leadPhotoId: string | null, body: unknown }) =>
  [...(a.leadPhotoId ? [a.leadPhotoId] : []), ...(a.body as BlockInput[]).flatMap((b) => b.type === 'photo' ? [b.photoId] : [])]

/**
 * The text of an article as the index holds it: what a reader sees of it, photo captions included (the lead
 * photo's first, then each body photo's in its place: the block's override or the photo's own, from `captionOf`).
 */
export function documentOf (row: ArticleRow, bylineNames: string[], captionOf: (photoId: string) => string | null | undefined): SearchDocument {
  const blocks = (row.body as BlockInput[]).flatMap((b) => {
    switch (b.type) {
      case 'paragraph': case 'heading': return [plain(b.text)]
      case 'quote': return [plain(b.text), b.attribution ?? '']
      case 'list': return b.items.map(plain)
      case 'embed': return [b.title ?? '']
      case 'photo': return [b.caption ?? captionOf(b.photoId) ?? '']
    }
  })
  const body = row.leadPhotoId ? [captionOf(row.leadPhotoId) ?? '', ...blocks] : blocks
  return {
    headline: unmarked(row.headline),
    summary: unmarked(row.summary ?? ''),
    body: body.map(unmarked).join(BOUNDARY),
    tags: (row.tags as string[]).map(unmarked).join(BOUNDARY),
    bylines: bylineNames.map(unmarked).join(BOUNDARY)
  }
}

/**
 * Rewrites an article's entry in the full-text index as the article stands when the write commits.
 * Called inside the write's transaction; the index is written once for the whole commit group, in three
 * passes over its articles: first the search rows (ordinary writes), then every FTS5 entry one after the
 * other, then every entry of the short fields' index, since any other write statement between two entries
 * of one FTS5 table (a write to the other included) makes it flush what it holds to disk.
 */
export function reindex (store: Store, articleId: string) {
  let entry: { doc: number, text: SearchDocument } | null = null
  store.afterWrites(`search:1:${articleId}`, async () => {
    const row = await store.articles.findById(articleId, false, new Date())
    if (!row) return
    const names = (await store.articles.bylinesOf([articleId])).map((b) => b.name)
    const captions = new Map((await store.photos.findMany(photoIdsOf(row))).map((p) => [p.id, p.caption]))
    const text = documentOf(row, names, (id) => captions.get(id))
    entry = {
      doc: await store.articles.searchRow(row),
      text: { headline: folded(text.headline), summary: folded(text.summary), body: folded(text.body), tags: folded(text.tags), bylines: folded(text.bylines) }
    }
  })
  store.afterWrites(`search:2:${articleId}`, async () => {
    if (entry) await store.articles.index(entry.doc, entry.text)
  })
  store.afterWrites(`search:3:${articleId}`, async () => {
    if (entry) await store.articles.indexShortFields(entry.doc, entry.text)
  })
}

const MAX_TERMS = 32
/**
 * A prefix is read as every word it stands for, in every article, so a search holds a few: ten two-letter prefixes
 * took 1.6 s at 100,000 articles, while the process answered nothing else. (On SQLite the words they stand for are
 * bounded too, see prefixWords in its articles repository: ~100 ms at most for a prefix by date or by byline.)
 */
const MAX_PREFIXES = 4
const queryError = (message: string) => invalid(message, [{ path: '/query/q', message }])

/**
 * Turns what a reader typed into an FTS5 query that cannot fail: words are matched as words (AND),
 * `"gas deal"` as a phrase, `Heilongjia*` as a prefix. Operators, brackets and other syntax are just text.
 */
export function ftsQuery (q: string): string {
  const terms: string[] = []
  let prefixes = 0
  const quote = (text: string) => `"${folded(text).replace(/"/g, '""')}"`
  // control characters are not text (a NUL would even end the query early inside SQLite's parser)
  // nor are the private-use characters the index leaves out of words (see unmarked): `feij\uE001oa` is feijoa to both
  for (const m of unmarked(q.normalize('NFC')).replace(/\p{Cc}/gu, ' ').matchAll(/"([^"]*)"?|([^\s"]+)/g)) {
    const phrase = m[1]
    const word = m[2]
    if (phrase !== undefined) {
      if (/[\p{L}\p{N}]/u.test(phrase)) terms.push(quote(phrase))
    } else if (word !== undefined && /[\p{L}\p{N}]/u.test(word)) {
      const prefix = word.endsWith('*') && /[\p{L}\p{N}]{2}/u.test(word)
      // one letter is no prefix to search by (`e*` is most of the archive's words, each one's entries merged): said,
      // not searched as the word `e`. A Chinese or Japanese character is a word of its own: `哈*` is `哈`
      if (word.endsWith('*') && !prefix && !CJK.test(word)) {
        throw queryError(`A prefix needs two letters or digits or more before the *: ${word} would stand for most words`)
      }
      terms.push(prefix ? `${quote(word.replace(/\*+$/, ''))}*` : quote(word.replace(/\*/g, ' ')))
      if (prefix && ++prefixes > MAX_PREFIXES) throw queryError(`The search has more than ${MAX_PREFIXES} prefixes (word*): each is read as every word it stands for`)
    }
    if (terms.length > MAX_TERMS) throw queryError(`The search has more than ${MAX_TERMS} terms`)
  }
  if (terms.length === 0) throw queryError('The search has no words to look for')
  return terms.join(' ')
}
