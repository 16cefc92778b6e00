import { createRequire } from 'node:module'
import type SanitizeHtml from 'sanitize-html'

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
