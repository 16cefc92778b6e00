import { createRequire } from 'node:module'
import type SanitizeHtml from 'sanitize-html'
import htmlTags from 'html-tags'

const require = createRequire(import.meta.url)
/** sanitize-html (with htmlparser2 and postcss, ~0.05 s to load) is loaded by the first write with body text, not at startup. */
let sanitizeHtml: typeof SanitizeHtml | undefined

/**
 * Whether a link's address is one every reader may be shown: not an http(s) URL a browser cannot follow
 * (`http://%`), nor one carrying a user name or password (`https://editor:secret@…`, or `https://example.org@evil.example/`,
 * which reads as one host and goes to another), as the API's URL fields refuse them. Relative links and other
 * schemes are left to the scheme list.
 */
function followable (href: string): boolean {
  if (!/^\s*https?:/i.test(href)) return true
  const url = URL.canParse(href) ? new URL(href) : undefined
  return url !== undefined && url.username === '' && url.password === ''
}

const options: SanitizeHtml.IOptions = {
  allowedTags: ['b', 'i', 'em', 'strong', 'a'],
  allowedAttributes: { a: ['href'] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  // a link to an address no reader should be sent to loses it, as one of a scheme not allowed does (its text stays)
  transformTags: {
    a: (tagName, attribs) => ({ tagName, attribs: attribs.href === undefined || followable(attribs.href) ? attribs : {} })
  }
}

/** An attribute as HTML writes it: a name, perhaps `=` and a value (quoted, or bare), none holding a `<`. */
const ATTRIBUTE = `[^\\s"'<>/=]+(?:\\s*=\\s*(?:"[^"<]*"|'[^'<]*'|[^\\s"'<>=\`]+))?`
/** An HTML element's whole tag or closing tag (`<b>`, `</script>`, `<img src=x>`, `<a href="…">`), a doctype, a processing instruction. */
const ELEMENT = `</?(?:${htmlTags.join('|')})(?:\\s+${ATTRIBUTE})*\\s*/?>|<![a-zA-Z][^<>]*>|<\\?[^<>]*>`
/**
 * Markup that means something in HTML: an element's tag (see ELEMENT) or a comment. A `<` that starts none of them
 * is text: `a<b then c`, `<Leader>`, `<li@example.com>`, and `<b then the market fell. Write to <li@example.com>`,
 * which an HTML parser reads as one `<b>` tag and would drop with the sentence in it.
 */
const HTML = `${ELEMENT}|<!--[\\s\\S]*?-->`
const TAG = new RegExp(HTML, 'i')
const TAGS = new RegExp(HTML, 'gi')
const keptOrEscaped = (_match: string, markup: string | undefined) => markup ?? '&lt;'
const MARKUP_OR_LONE = new RegExp(`(${HTML})|<`, 'gi')
const ELEMENT_OR_LONE = new RegExp(`(${ELEMENT})|<`, 'gi')

/**
 * Text with every `<` that starts no markup (see HTML) escaped, for the parser to read as text. A comment closes
 * before the last `-->` or not at all: after it, no `<!--` is searched for a close (4,000 unclosed ones each
 * searched to the end of a 20,000-character paragraph took 43 ms).
 */
function escapedLone (text: string): string {
  const end = text.lastIndexOf('-->') + 3
  const head = end > 2 ? text.slice(0, end) : ''
  return head.replace(MARKUP_OR_LONE, keptOrEscaped) + text.slice(head.length).replace(ELEMENT_OR_LONE, keptOrEscaped)
}

/**
 * Body text as stored: an HTML fragment holding only `b i em strong a[href]` (http, https and mailto
 * links). Other tags are dropped with their text kept; script and style are dropped with their contents.
 * A `<` that starts no markup is kept as text (see HTML).
 */
export function sanitizeInline (text: string): string {
  const nfc = text.normalize('NFC')
  // text with no markup and no entities comes out of sanitize-html as it went in: most paragraphs need no parse
  return /[<>&]/.test(nfc) ? parseInline(nfc) : nfc.trim()
}

/** Through sanitize-html, whatever the text (tests check that the shortcut above answers the same). */
export function parseInline (text: string): string {
  sanitizeHtml ??= require('sanitize-html') as typeof SanitizeHtml
  return sanitizeHtml(escapedLone(text.normalize('NFC')), options).trim()
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'", '&#x27;': "'", '&nbsp;': ' ' }

/** Text out of sanitized HTML: the entities sanitize-html writes (and the few an editor's paste brings), as characters. */
export const unescaped = (html: string) => html.replace(/&(?:amp|lt|gt|quot|nbsp|#39|#x27);/g, (e) => ENTITIES[e]!)

const noTags: SanitizeHtml.IOptions = { allowedTags: [], allowedAttributes: {}, disallowedTagsMode: 'discard' }
/** What a parser could read as the start of markup: a tag, a closing tag, a comment or a processing instruction. */
const MARKUP = /<[a-zA-Z!/?]/

/**
 * A plain-text line of a body block (a quote's attribution, an embed's title, a photo's caption override): text,
 * never markup. Text with none is kept exactly as typed (`AT&T`, `a < b`, `if x<y and y>z`, `Li <li@example.com>`);
 * from text with some (an HTML element's tags, a comment), the tags are stripped (script and style with their
 * contents) and the rest kept as text, until nothing in it is markup (an escaped tag, `&lt;b&gt;`, becomes a tag once
 * unescaped, and is stripped in turn). Nothing left is null.
 */
export function plainLine (text: string | null): string | null {
  if (text === null || !MARKUP.test(text) || !TAG.test(text)) return text
  sanitizeHtml ??= require('sanitize-html') as typeof SanitizeHtml
  let out = text.normalize('NFC')
  for (let pass = 0; pass < 5 && TAG.test(out); pass++) {
    out = unescaped(sanitizeHtml(escapedLone(out), noTags))
  }
  // five layers of escaping deep, what is still markup loses its '<'
  out = out.replace(TAGS, (tag) => tag.slice(1)).trim()
  return out === '' ? null : out
}
