import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import fs from 'node:fs'
import path from 'node:path'
import proxyAddr from '@fastify/proxy-addr'
import { aspectRatio } from './services/images.js'
import type { S3StorageOptions } from './storage/s3.js'
import type { DatabaseLocation } from './db/index.js'

/** The service's whole configuration: one schema, validated at start; the type comes from it. */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0' }),
  DATA_DIR: Type.String({ minLength: 1, default: './data' }),
  DATABASE_URL: Type.Optional(Type.String({
    pattern: '^(file:|postgres(ql)?://)',
    description: 'file:PATH for SQLite (default file:$DATA_DIR/cms.sqlite), or a postgres:// URL for PostgreSQL (postgres://user:password@host:5432/database)'
  })),
  DATABASE_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 1000, default: 10, description: 'Connections each instance keeps to PostgreSQL (ignored on SQLite)' }),
  // a pattern rather than a union of literals: the error then names the levels, once
  LOG_LEVEL: Type.Unsafe<typeof LOG_LEVELS[number]>(Type.String({ pattern: `^(${LOG_LEVELS.join('|')})$`, default: 'info' })),
  PUBLIC_URL: Type.Optional(Type.String({
    pattern: '^https?://[^\\s]+[^/]$',
    description: 'Absolute origin used in photo URLs (e.g. https://cms.example.com); relative URLs when unset'
  })),
  CMS_ADMIN_KEY: Type.Optional(Type.String({
    minLength: 32,
    maxLength: 512,
    pattern: '^[\\x21-\\x7e]+$',
    description: 'When set, this exact secret is accepted as an admin key (for containers and automation); never logged or stored'
  })),
  CACHE_MAX_AGE: Type.Integer({ minimum: 0, maximum: 31536000, default: 60, description: 'max-age (seconds) of anonymous reads' }),
  CACHE_STALE_WHILE_REVALIDATE: Type.Integer({ minimum: 0, maximum: 31536000, default: 300 }),
  CORS_ORIGINS: Type.String({
    default: '',
    pattern: '^(\\*|(https?://[^,\\s/]+)(,https?://[^,\\s/]+)*)?$',
    description: 'Comma-separated origins allowed to call the API from browsers (e.g. https://www.example.com), or *; none when empty'
  }),
  RATE_LIMIT_ANONYMOUS: Type.Integer({ minimum: 1, default: 600, description: 'Requests per minute per client address without a key' }),
  RATE_LIMIT_KEY: Type.Integer({ minimum: 1, default: 1200, description: 'Requests per minute per API key' }),
  TRUST_PROXY: Type.Union([Type.Boolean(), Type.String({ pattern: '^[0-9a-fA-F.:/]+(,[0-9a-fA-F.:/]+)*$' })], {
    default: false,
    description: 'Take the client address from X-Forwarded-For when the request comes from these proxies: true (any), or their addresses and CIDR ranges, comma-separated'
  }),
  IMAGE_MAX_PIXELS: Type.Integer({ minimum: 1_000_000, maximum: 1_000_000_000, default: 100_000_000, description: 'Largest image accepted, in pixels (width × height)' }),
  RENDITION_WIDTHS: Type.String({
    default: '160,320,480,640,800,1024,1280,1600,1920,2560',
    pattern: '^[1-9][0-9]{0,4}(,[1-9][0-9]{0,4}){0,29}$',
    description: 'The widths renditions snap to (comma-separated, at most 30)'
  }),
  RENDITION_ASPECTS: Type.String({
    default: '1:1,5:4,4:3,3:2,16:9,2:1,21:9,4:5,3:4,2:3,9:16',
    pattern: '^[1-9][0-9]?:[1-9][0-9]?(,[1-9][0-9]?:[1-9][0-9]?){0,29}$',
    description: 'The crop shapes renditions snap to (width:height, comma-separated, at most 30)'
  }),
  RESPONSE_CACHE_MB: Type.Integer({ minimum: 0, maximum: 4096, default: 64, description: 'Memory for anonymous answers kept in this process (0: none)' }),
  UPLOAD_MAX_BYTES: Type.Integer({ minimum: 1024, maximum: 200 * 1024 * 1024, default: 20 * 1024 * 1024 }),
  BODY_MAX_BYTES: Type.Integer({ minimum: 1024, maximum: 50 * 1024 * 1024, default: 1024 * 1024 }),
  S3_BUCKET: Type.Optional(Type.String({
    pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$',
    description: 'Photos in this S3-compatible bucket instead of $DATA_DIR/photos (credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or the AWS SDK\'s other sources)'
  })),
  S3_PREFIX: Type.Optional(Type.String({
    pattern: "^([A-Za-z0-9_-][A-Za-z0-9!_.*'()-]*/)*([A-Za-z0-9_-][A-Za-z0-9!_.*'()-]*)?$",
    description: 'Folder of the bucket the photos go in (cms/photos); the whole bucket when unset'
  })),
  S3_ENDPOINT: Type.Optional(Type.String({
    pattern: '^https?://[^\\s]+$',
    description: 'Address of an S3-compatible service (MinIO, Ceph, Cloudflare R2…); AWS S3 when unset'
  })),
  S3_REGION: Type.Optional(Type.String({ pattern: '^[a-z0-9-]{1,40}$', description: 'The bucket\'s region; AWS_REGION, or us-east-1, when unset' })),
  S3_FORCE_PATH_STYLE: Type.Boolean({ default: false, description: 'Address the bucket in the path (http://host/bucket/key), as most S3-compatible services need' })
})

export type Config = Static<typeof ConfigSchema> & { database: DatabaseLocation, photoDir: string, renditionWidths: number[], renditionAspects: number[], s3?: S3StorageOptions }

export class ConfigError extends Error {}

/** What a variable given as a pattern takes, said in words (an integer's range is said from its bounds). */
const EXPECTED: Partial<Record<keyof Static<typeof ConfigSchema>, string>> = {
  DATABASE_URL: 'file:PATH or postgres://user:password@host:port/database',
  LOG_LEVEL: `one of ${LOG_LEVELS.join(', ')}`,
  PUBLIC_URL: 'an http or https origin: scheme, host and port only, no path, query or trailing slash (https://cms.example.com)',
  CMS_ADMIN_KEY: '32 to 512 printable ASCII characters, no spaces',
  CORS_ORIGINS: '* or comma-separated http or https origins without a path (https://www.example.com,https://m.example.com)',
  TRUST_PROXY: 'true, false, or comma-separated IP addresses and CIDR ranges (10.0.0.0/8,::1)',
  RENDITION_WIDTHS: 'comma-separated whole numbers from 1 to 99999, at most 30 (320,640,1280)',
  RENDITION_ASPECTS: 'comma-separated width:height pairs of numbers from 1 to 99, at most 30 (16:9,1:1)',
  S3_BUCKET: 'an S3 bucket name: 3 to 63 lower-case letters, digits, dots and hyphens',
  S3_PREFIX: 'folder names of letters, digits and !_.*\'()- separated by / (cms/photos), not starting with a dot or a /',
  S3_ENDPOINT: 'an http or https origin (http://127.0.0.1:9000)',
  S3_REGION: 'a region name (eu-west-3, auto)',
  S3_FORCE_PATH_STYLE: 'true or false'
}

function expected (name: string, schema: TSchema): string {
  const words = EXPECTED[name as keyof typeof EXPECTED]
  if (words) return words
  if (schema.type === 'integer') {
    const { minimum: min, maximum: max } = schema as { minimum?: number, maximum?: number }
    return `a whole number${min !== undefined && max !== undefined ? ` from ${min} to ${max}` : min !== undefined ? ` of at least ${min}` : ''}`
  }
  return 'non-empty text'
}

/**
 * An environment variable's text as its schema reads it: whole numbers only where an integer is expected (not
 * `3.5`, `1e3` or `0x10`), `true`/`false` where a boolean may be; anything else stays text, for the check to refuse.
 */
function fromText (schema: TSchema, text: string): unknown {
  const trimmed = text.trim()
  if (schema.type === 'integer') return /^[+-]?\d{1,15}$/.test(trimmed) ? Number(trimmed) : text
  const boolean = schema.type === 'boolean' || (schema.anyOf as TSchema[] | undefined)?.some((s) => s.type === 'boolean')
  if (boolean && /^(true|false)$/i.test(trimmed)) return trimmed.toLowerCase() === 'true'
  return text
}

/**
 * Reads and validates the environment (the variables ConfigSchema names; others are ignored); throws a ConfigError
 * whose message names every bad variable and what it takes. TypeBox reads it, not Ajv: compiling a validator was
 * ~50 ms of every start.
 */
export function loadConfig (env: Record<string, string | undefined> = process.env): Config {
  const given: Record<string, unknown> = {}
  for (const [name, schema] of Object.entries(ConfigSchema.properties)) {
    const text = env[name]
    // set but empty is unset, as a compose file's `VAR=${VAR}` passes a variable its shell does not have
    if (text !== undefined && text.trim() !== '') given[name] = fromText(schema, text)
  }
  const raw = Value.Default(ConfigSchema, given) as Static<typeof ConfigSchema>
  const bad = [...new Set([...Value.Errors(ConfigSchema, raw)].map((error) => error.path.split('/')[1]!))]
  if (bad.length > 0) {
    const properties: Record<string, TSchema> = ConfigSchema.properties
    throw new ConfigError(`Invalid configuration: ${bad.map((name) => `${name} must be ${expected(name, properties[name]!)}`).join('; ')}`)
  }
  if (raw.PUBLIC_URL !== undefined) {
    // an origin alone: a path or a query would be written before every photo's path (`https://x?y/v1/photos/…`)
    raw.PUBLIC_URL = originOf('PUBLIC_URL', raw.PUBLIC_URL)
  }
  const dataDir = path.resolve(raw.DATA_DIR)
  if (raw.DATABASE_URL?.startsWith('postgres')) {
    // read as the driver reads it: a host to reach, a database named (the password never repeated)
    const url = URL.canParse(raw.DATABASE_URL) ? new URL(raw.DATABASE_URL) : undefined
    if (!url || url.hostname === '' || url.pathname.length < 2) {
      throw new ConfigError('Invalid configuration: DATABASE_URL must be postgres://user:password@host:port/database (a host and a database name)')
    }
    return { ...finish(raw, dataDir, env), database: { url: raw.DATABASE_URL } }
  }
  const named = raw.DATABASE_URL?.slice('file:'.length)
  // a path, as the server opens it: not SQLite's URI forms, which better-sqlite3 would take as a file name
  // (`file::memory:` made a file called `:memory:`; `x.db?mode=ro`, one called so)
  if (named !== undefined && (named === '' || named.startsWith(':') || /[?#]/.test(named))) {
    throw new ConfigError('Invalid configuration: DATABASE_URL must be file:PATH, the path of a database file (not an SQLite URI with options, nor an in-memory database: everything would be lost at exit)')
  }
  return { ...finish(raw, dataDir, env), database: { file: named !== undefined ? path.resolve(named) : path.join(dataDir, 'cms.sqlite') } }
}

/** The rest of the configuration, whatever the database. */
function finish (raw: Static<typeof ConfigSchema>, dataDir: string, env: Record<string, string | undefined>) {
  const renditionWidths = [...new Set(raw.RENDITION_WIDTHS.split(',').map(Number))].sort((a, b) => a - b)
  const renditionAspects = raw.RENDITION_ASPECTS.split(',').map(aspectRatio)
  if (renditionAspects.some((r) => r < 0.1 || r > 10)) throw new ConfigError('Invalid configuration: RENDITION_ASPECTS must lie between 1:10 and 10:1')
  if (typeof raw.TRUST_PROXY === 'string' && /(^|,)\d+(,|$)/.test(raw.TRUST_PROXY)) {
    // proxy-addr reads `1` as the address 0.0.0.1, and Fastify trusts no one for a count of hops (it cannot check the peer)
    throw new ConfigError(`Invalid configuration: TRUST_PROXY must be ${EXPECTED.TRUST_PROXY}: a number of proxies is not taken, name their addresses`)
  }
  if (typeof raw.TRUST_PROXY === 'string') {
    // read as Fastify reads it, by the same library: an address or range it cannot read stopped the server at its first request
    try {
      proxyAddr.compile(raw.TRUST_PROXY.split(','))
    } catch (err) {
      throw new ConfigError(`Invalid configuration: TRUST_PROXY: ${(err as Error).message}`)
    }
  }
  return { ...raw, DATA_DIR: dataDir, photoDir: path.join(dataDir, 'photos'), renditionWidths, renditionAspects, s3: s3Of(raw, env) }
}

/** A variable that names an http(s) origin, as the URL parser reads it (scheme, host and port; nothing after). */
function originOf (name: 'PUBLIC_URL' | 'S3_ENDPOINT', text: string): string {
  const url = URL.canParse(text) ? new URL(text) : undefined
  if (!url || url.href !== `${url.origin}/`) throw new ConfigError(`Invalid configuration: ${name} must be ${EXPECTED[name]}`)
  return url.origin
}

/** Where photos go when S3_BUCKET is set; the other S3_ variables are refused without it (a bucket forgotten would keep photos on disk). */
function s3Of (raw: Static<typeof ConfigSchema>, env: Record<string, string | undefined>): S3StorageOptions | undefined {
  if (raw.S3_BUCKET === undefined) {
    const stray = (['S3_PREFIX', 'S3_ENDPOINT', 'S3_REGION', 'S3_FORCE_PATH_STYLE'] as const).filter((name) => env[name] !== undefined && env[name]!.trim() !== '')
    if (stray.length > 0) throw new ConfigError(`Invalid configuration: ${stray.join(', ')} ${stray.length > 1 ? 'are' : 'is'} set but S3_BUCKET is not: set the bucket to keep photos in S3, or unset ${stray.length > 1 ? 'them' : 'it'}`)
    return undefined
  }
  const endpoint = raw.S3_ENDPOINT === undefined ? undefined : originOf('S3_ENDPOINT', raw.S3_ENDPOINT)
  const prefix = raw.S3_PREFIX === undefined || raw.S3_PREFIX === '' || raw.S3_PREFIX.endsWith('/') ? raw.S3_PREFIX ?? '' : `${raw.S3_PREFIX}/`
  const region = raw.S3_REGION ?? env.AWS_REGION?.trim() ?? env.AWS_DEFAULT_REGION?.trim() ?? 'us-east-1'
  return { bucket: raw.S3_BUCKET, prefix, endpoint, region: region || 'us-east-1', forcePathStyle: raw.S3_FORCE_PATH_STYLE }
}

/**
 * Creates the folders the service writes to (the database's, and DATA_DIR with its photo folder), each level in
 * turn, and checks that they are folders it can write in; throws a ConfigError naming the variable when not
 * (a file in the way, a read-only or virtual file system). Node's recursive mkdir spun forever under /proc.
 */
export function prepareFolders (config: Config) {
  const file = 'file' in config.database ? config.database.file : undefined
  const folders: [string, string][] = [...file === undefined ? [] : [[path.dirname(file), config.DATABASE_URL ? 'DATABASE_URL' : 'DATA_DIR'] as [string, string]], [config.photoDir, 'DATA_DIR']]
  for (const [folder, variable] of folders) {
    try {
      makeFolder(folder)
      fs.accessSync(folder, fs.constants.W_OK)
    } catch (err) {
      const { code, message } = err as NodeJS.ErrnoException
      throw new ConfigError(`Invalid configuration: ${variable}: cannot use ${folder} (${code ?? message})${code === 'ENOTDIR' || code === 'EEXIST' ? ': a file is in the way' : ''}`)
    }
  }
  if (file !== undefined && fs.statSync(file, { throwIfNoEntry: false })?.isDirectory()) {
    throw new ConfigError(`Invalid configuration: ${config.DATABASE_URL ? 'DATABASE_URL' : 'DATA_DIR'}: ${file} is a folder, not a database file`)
  }
}

function makeFolder (folder: string) {
  try {
    if (fs.statSync(folder).isDirectory()) return
    throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  makeFolder(path.dirname(folder))
  fs.mkdirSync(folder)
}
