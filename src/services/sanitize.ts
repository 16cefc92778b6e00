import sanitizeHtml from 'sanitize-html'

const options: sanitizeHtml.IOptions = {
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
  return sanitizeHtml(text.normalize('NFC'), options).trim()
}
