import { createRequire } from 'node:module'
import type SanitizeHtml from 'sanitize-html'
import htmlTags from 'html-tags'

const require = createRequire(import.meta.url)
/** sanitize-html (with htmlparser2 and postcss, ~0.05 s to load) is loaded by the first write with body text, not at startup. */
let sanitizeHtml: typeof SanitizeHtml | undefined

const options: SanitizeHtml.IOptions = {
  allowedTags: ['b', 'i', 'em', 'strong', 'a'],
  allowedAttributes: { a: ['href'] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard'
}

/**
 * Body text as stored: an HTML fragment holding only `b i em strong a[href]` (http, https and mailto
 * links). Other tags are dropped with their text kept; script and style are dropped with their contents.
 */
export function sanitizeInline (text: string): string {
  const nfc = text.normalize('NFC')
  // text with no markup and no entities comes out of sanitize-html as it went in: most paragraphs need no parse
  return /[<>&]/.test(nfc) ? parseInline(nfc) : nfc.trim()
}

/** Through sanitize-html, whatever the text (tests check that the shortcut above answers the same). */
export function parseInline (text: string): string {
  sanitizeHtml ??= require('sanitize-html') as typeof SanitizeHtml
  return sanitizeHtml(text.normalize('NFC'), options).trim()
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'", '&#x27;': "'", '&nbsp;': ' ' }

/** Text out of sanitized HTML: the entities sanitize-html writes (and the few an editor's paste brings), as characters. */
export const unescaped = (html: string) => html.replace(/&(?:amp|lt|gt|quot|nbsp|#39|#x27);/g, (e) => ENTITIES[e]!)

const noTags: SanitizeHtml.IOptions = { allowedTags: [], allowedAttributes: {}, disallowedTagsMode: 'discard' }
/** What a parser could read as the start of markup: a tag, a closing tag, a comment or a processing instruction. */
const MARKUP = /<[a-zA-Z!/?]/
/** Markup that means something in HTML: an element's tag or closing tag (`<b>`, `</script>`, `<img src=x>`), or a whole comment. */
const HTML = `</?(?:${htmlTags.join('|')})(?=[\\s/>])|<!--[\\s\\S]*?-->`
const TAG = new RegExp(HTML, 'i')
/** A `<` that starts none of that (`a<b`, `<Leader>`, `<john@example.com>`, `x </ y`): text, escaped for the parser. */
const LONE = new RegExp(`<(?!/?(?:${htmlTags.join('|')})(?=[\\s/>])|!--[\\s\\S]*?-->)`, 'gi')

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
    out = unescaped(sanitizeHtml(out.replace(LONE, '&lt;'), noTags))
  }
  // five layers of escaping deep, what is still markup loses its '<'
  out = out.replace(new RegExp(HTML, 'gi'), (tag) => tag.slice(1)).trim()
  return out === '' ? null : out
}
