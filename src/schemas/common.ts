import { Type, type TSchema, type TObject, type TProperties } from '@sinclair/typebox'

export const Id = Type.String({ minLength: 1, maxLength: 64, description: 'Opaque identifier (a UUID; read in any case, written in lower case)' })
export const IdParams = Type.Object({ id: Id }, { additionalProperties: false })
export const SlugParams = Type.Object({ slug: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false })
/** A path that takes an id or a slug (a section front, a byline archive): ids come first, and no slug is shaped like one. */
export const IdOrSlugParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200, description: 'The id, or the slug' }) }, { additionalProperties: false })


const SLUG = '^[a-z0-9]+(?:-[a-z0-9]+)*$'
/** No user name or password (`https://user:secret@…`): a link every reader is shown carries no credentials. */
const HTTP_URL = '^[hH][tT][tT][pP][sS]?://[^/?#\\s@]+([/?#]|$)'
export const ASPECT = '^[1-9][0-9]{0,2}:[1-9][0-9]{0,2}$'
export const LANGUAGE = '^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$'

export const Slug = Type.String({
  minLength: 1,
  maxLength: 200,
  pattern: SLUG,
  description: 'Lower-case letters, digits and single hyphens; generated from the name or headline when absent'
})
/** The times the API takes and keeps: the years 0001 to 9999 (RFC 3339's four digits, as PostgreSQL is handed them). */
export const FIRST_TIME = Date.parse('0001-01-01T00:00:00Z')
export const LAST_TIME = Date.parse('9999-12-31T23:59:59.999Z')
export const Timestamp = Type.String({ format: 'date-time', description: 'RFC 3339 date-time in the years 0001 to 9999, answered in UTC (a leap second, :60, is refused)' })
/** A date-time query parameter, said what it is for. */
export const TimestampParam = (description: string) => Type.String({ format: 'date-time', description: `${description} (an RFC 3339 date-time, years 0001 to 9999)` })
/** An absolute http(s) URL; the scheme in any case, as RFC 3986 allows (`HTTPS://`). */
export const HttpUrl = Type.String({ format: 'uri', pattern: HTTP_URL, maxLength: 2000, description: 'An absolute http or https URL' })

/**
 * The characters a line of text may not hold: every control character, the line and paragraph separators (U+2028,
 * U+2029), which break a line as a newline does, and the direction overrides (U+202D, U+202E), which show the rest of
 * the line in the order they force: a name or a headline shown beside others (a breadcrumb, a front) turned theirs
 * round too. And those multi-line text may not: the control characters but tab and newlines.
 */
export const LINE_CONTROLS = '\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u202d\\u202e'
export const TEXT_CONTROLS = '\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f'
/**
 * UTF-16 units that show nothing by themselves, beside white space: invisible format characters (soft hyphen,
 * zero-width space and joiners, direction marks and embeddings, word joiner, byte-order mark), variation selectors, the
 * Hangul fillers and the blank Braille pattern; and, beyond the first plane, the tag characters and the supplementary
 * variation selectors (U+E0000–U+E03FF, all behind the high surrogate DB40). A low surrogate shows nothing by itself:
 * the high one before it decides. Patterns are read without the Unicode flag by the service's ajv (see the
 * validation plugin), so this works in UTF-16 units; with the flag (a client's validator, the serializer's
 * own ajv) the pattern stays valid, the low surrogates written before DB40 so that no escape pair makes a code point,
 * and is more lenient.
 */
export const INVISIBLE = '\\u00ad\\u034f\\u061c\\u115f\\u1160\\u17b4\\u17b5\\u180b-\\u180f\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u206f\\u2800\\u3164\\ufe00-\\ufe0f\\ufeff\\uffa0\\udc00-\\udfff\\udb40'
const LINE = `^(?=[\\s\\S]*[^\\s${INVISIBLE}])[^${LINE_CONTROLS}]*$`
const TEXT = `^[^${TEXT_CONTROLS}]*$`
/** What a text pattern asks for, in words: a problem document says this rather than the regular expression. */
export const PATTERN_MESSAGES: Record<string, string> = {
  [LINE]: 'Must be one line of text that shows something: not blank or only invisible characters, no control characters, line breaks or direction overrides (U+202D, U+202E)',
  [TEXT]: 'Must be text without control characters (newlines and tabs are fine)',
  [SLUG]: 'Must be lower-case letters and digits, words joined by single hyphens (harbin-ice-festival)',
  [HTTP_URL]: 'Must be an absolute http or https URL, without a user name or password',
  [ASPECT]: 'Must be width:height in whole numbers from 1 to 999 (16:9)',
  [LANGUAGE]: 'Must be a BCP 47 language tag (en, zh-Hans-CN)'
}

/** Plain one-line text: something visible, no control characters (C0, DEL or C1) or line separators. */
export const Line = (maxLength: number, extra: object = {}) => Type.String({ minLength: 1, maxLength, pattern: LINE, ...extra })

/** Multi-line text: newlines and tabs allowed, other control characters not. */
export const Text = (maxLength: number, extra: object = {}) => Type.String({ maxLength, pattern: TEXT, ...extra })

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])

/**
 * A query parameter with a default: optional in the document (a client may leave it out, and a generated client does
 * not ask for it), yet always set in the handler, since the validator fills in the default first.
 */
export const Defaulted = <T extends TSchema>(schema: T): T => Type.Optional(schema) as unknown as T

export const ListQuery = {
  limit: Defaulted(Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'Page size, 1 to 100' })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 1000, description: 'Opaque cursor from a previous page\'s `next`' }))
}

/** `{data, next}`: one page of a keyset-paginated list. */
export const Page = <T extends TSchema>(item: T, $id: string) => Type.Object({
  data: Type.Array(item),
  next: Nullable(Type.String({ description: 'Cursor for the next page; null on the last page' }))
}, { $id, additionalProperties: false })

/** The create schema's fields, every one optional (null allowed where the resource allows it): a JSON merge patch. */
export const PatchOf = <T extends TProperties>(create: TObject<T>, $id: string, description: string, examples: unknown[]) =>
  Type.Partial(create, { $id, additionalProperties: false, minProperties: 1, description, examples })

export const Problem = Type.Object({
  type: Type.String({ description: 'A URI reference naming the problem type' }),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.Optional(Type.String()),
  instance: Type.Optional(Type.String({ description: 'The request\'s URL (its path alone when the URL is over 1,024 characters)' })),
  code: Type.Optional(Type.String({ description: 'Stable machine-readable error code' })),
  requestId: Type.Optional(Type.String({ description: 'The X-Request-Id of the answer: quote it when reporting a problem' })),
  errors: Type.Optional(Type.Array(Type.Object({
    path: Type.String({ description: 'JSON Pointer to the offending input, e.g. /body/2/photoId or /query/limit' }),
    message: Type.String()
  })))
}, {
  $id: 'Problem',
  description: 'RFC 9457 problem details',
  examples: [{
    type: 'about:blank',
    title: 'Bad Request',
    status: 400,
    detail: 'Invalid request: /headline must not be empty',
    instance: '/v1/articles',
    code: 'CMS_VALIDATION',
    requestId: '0b9c2a54-3f7e-4d8a-9b1c-6f2e8d4a7c13',
    errors: [{ path: '/headline', message: 'Must not be empty' }]
  }]
})

const problemContent = { 'application/problem+json': { schema: Type.Ref(Problem) } }
const problemDescriptions: Record<number, string> = {
  400: 'The request is malformed or fails validation',
  401: 'No API key, or an unknown or revoked one (`WWW-Authenticate: Bearer`)',
  403: 'The key\'s role does not allow this',
  404: 'Not found',
  409: 'Conflicts with the current state (duplicate slug, resource still in use)',
  413: 'The body is too large',
  415: 'Unsupported media type',
  416: 'The range asked for is not within the file (`Content-Range: bytes */<size>` gives its size)',
  412: 'If-Match does not match the current ETag: someone changed it since you read it',
  422: 'Well-formed, but refers to something that does not exist or breaks a rule',
  429: 'Too many requests: wait for the seconds in `Retry-After`',
  503: 'Not ready, too busy right now (another process holds the database\'s write lock), or photo storage did not answer: retry after the seconds in `Retry-After`'
}

/** Declares the problem responses a route can send, plus the 500 every route can send. */
/**
 * The problem answers of an operation: the ones given, and those any request may get — 400 (a malformed %-escape or an
 * over-long id in the path, an unknown query parameter) and 500.
 */
export function problems (...statuses: number[]) {
  const out: Record<number, { description: string, content: typeof problemContent }> = {}
  for (const status of [400, ...statuses, 500].sort((a, b) => a - b)) {
    out[status] = { description: problemDescriptions[status] ?? 'Unexpected server error', content: problemContent }
  }
  return out
}

/**
 * An integer with thousands separators (10,000), for messages and descriptions. Not `toLocaleString`: its first call
 * loads ICU's locale data, 8 MiB more resident for the life of the process.
 */
export const grouped = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',')
