import t from 'tap'
import sharp from 'sharp'
import { build, create, req, upload, image, multipart, bearer, problem, rawHttp, type Response } from './helper.js'
import { listScope } from '../src/services/articles.js'
import { encodeCursor } from '../src/services/cursor.js'

/* eslint-disable @typescript-eslint/no-explicit-any */

const ORIGIN = 'https://www.example.com'
const list = (header: unknown) => String(header ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)

/** An image whose bytes do not compress: random noise. */
async function bigImage (width = 200, height = 200): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 0, g: 0, b: 0 }, noise: { type: 'gaussian', mean: 128, sigma: 60 } } })
    .jpeg({ quality: 95 })
    .toBuffer()
}

t.test('security headers on JSON, problem documents and photo files', async (t) => {
  const { app, anon } = await build(t)
  const photo = await upload(app, { caption: 'x' })
  const responses: [string, Response][] = [
    ['anonymous list', await anon({ method: 'GET', url: '/v1/sections' })],
    ['keyed read', await app.inject({ method: 'GET', url: '/v1/articles' })],
    ['create', await app.inject({ method: 'POST', url: '/v1/sections', payload: { name: 'News' } })],
    ['problem', await anon({ method: 'GET', url: '/v1/articles/00000000-0000-4000-8000-000000000000' })],
    ['unknown route', await anon({ method: 'GET', url: '/v1/nothing-here' })],
    ['photo record', await anon({ method: 'GET', url: `/v1/photos/${photo.id}` })],
    ['photo file', await anon({ method: 'GET', url: `/v1/photos/${photo.id}/file` })],
    ['openapi', await anon({ method: 'GET', url: '/openapi.json' })]
  ]
  for (const [what, res] of responses) {
    t.equal(res.headers['x-content-type-options'], 'nosniff', `${what}: nosniff`)
    const csp = String(res.headers['content-security-policy'] ?? '')
    t.match(csp, /default-src 'none'/, `${what}: a JSON API runs nothing (CSP default-src 'none')`)
    const frameable = /frame-ancestors 'none'/.test(csp) || /^(DENY|SAMEORIGIN)$/i.test(String(res.headers['x-frame-options'] ?? ''))
    t.ok(frameable, `${what}: framing is refused (frame-ancestors or X-Frame-Options)`)
    t.equal(res.headers['cross-origin-resource-policy'], 'cross-origin', `${what}: photos and JSON may be used by pages elsewhere`)
    if (res.headers['strict-transport-security'] !== undefined) {
      t.match(res.headers['strict-transport-security'], /max-age=\d+/, `${what}: HSTS, when sent, has a max-age`)
    }
    t.ok(res.headers['referrer-policy'], `${what}: a referrer policy`)
    t.notOk(res.headers['x-powered-by'], `${what}: no x-powered-by`)
    t.ok(res.headers['x-request-id'], `${what}: a request id`)
  }
  t.match(responses[6]![1].headers['content-type'], /^image\//)
})

t.test('/docs gets a policy that lets its own scripts run, and nothing from elsewhere', async (t) => {
  const { anon } = await build(t)
  const res = await anon({ method: 'GET', url: '/docs' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/html/)
  const csp = String(res.headers['content-security-policy'] ?? '')
  const directive = (name: string) => csp.split(';').map((d) => d.trim()).find((d) => d.split(/\s+/)[0] === name)
  const scripts = directive('script-src') ?? directive('default-src')
  t.ok(scripts, 'a script policy')
  t.match(scripts, /'self'/, "its own scripts ('self') may run")
  t.notMatch(scripts, /'unsafe-eval'|\*/, 'no eval, no wildcard')
  t.notMatch(csp, /default-src 'none'/, 'not the JSON policy that would break the page')
  t.equal(res.headers['x-content-type-options'], 'nosniff')
})

t.test('CORS for a configured origin: echo, exposed headers, preflight', async (t) => {
  const { app, anon } = await build(t, { CORS_ORIGINS: `${ORIGIN},https://app.example.com` })
  const a = await create(app, '/v1/articles', { headline: 'Out now', status: 'published' })

  const res = await anon({ method: 'GET', url: `/v1/articles/${a.id}`, headers: { origin: ORIGIN } })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['access-control-allow-origin'], ORIGIN, 'the allowed origin is echoed')
  const exposed = list(res.headers['access-control-expose-headers'])
  for (const h of ['etag', 'link', 'retry-after']) t.ok(exposed.includes(h), `${h} is exposed to browser code`)
  t.ok(list(res.headers.vary).includes('origin'), 'Vary: Origin, so a CDN keeps one copy per origin')
  t.ok(list(res.headers.vary).includes('authorization'), 'and Vary: Authorization')
  t.equal(res.headers['cache-control'], 'public, max-age=60, stale-while-revalidate=300')

  const second = await anon({ method: 'GET', url: '/v1/articles', headers: { origin: 'https://app.example.com' } })
  t.equal(second.headers['access-control-allow-origin'], 'https://app.example.com', 'every configured origin is allowed')

  const keyed = await app.inject({ method: 'GET', url: '/v1/articles', headers: { origin: ORIGIN, authorization: `Bearer ${(await build(t)).keys.editor}` } })
  t.equal(keyed.statusCode, 401, "another app's key is unknown here")
  t.equal(keyed.headers['access-control-allow-origin'], ORIGIN, 'errors carry CORS headers too, so browser code can read the problem')

  const preflight = await anon({
    method: 'OPTIONS',
    url: `/v1/articles/${a.id}`,
    headers: { origin: ORIGIN, 'access-control-request-method': 'PATCH', 'access-control-request-headers': 'authorization,if-match,content-type' }
  })
  t.equal(preflight.statusCode, 204, 'preflight answered 204')
  t.equal(preflight.headers['access-control-allow-origin'], ORIGIN)
  t.ok(list(preflight.headers['access-control-allow-methods']).includes('patch'), 'PATCH allowed')
  t.ok(list(preflight.headers['access-control-allow-methods']).includes('delete'), 'DELETE allowed')
  const allowed = list(preflight.headers['access-control-allow-headers'])
  for (const h of ['authorization', 'if-match', 'content-type', 'if-none-match']) t.ok(allowed.includes(h), `${h} may be sent`)
  t.equal(preflight.body, '')

  // the real request after the preflight
  const etag = (await app.inject({ method: 'GET', url: `/v1/articles/${a.id}` })).headers.etag as string
  const patched = await app.inject({ method: 'PATCH', url: `/v1/articles/${a.id}`, headers: { origin: ORIGIN, 'if-match': etag }, payload: { summary: 'x' } })
  t.equal(patched.statusCode, 200)
  t.equal(patched.headers['access-control-allow-origin'], ORIGIN)

  for (const origin of ['https://evil.example.net', 'https://www.example.com.evil.net', 'http://www.example.com']) {
    const other = await anon({ method: 'GET', url: '/v1/articles', headers: { origin } })
    t.equal(other.statusCode, 200, 'the server still answers (CORS is enforced by the browser)')
    t.notOk(other.headers['access-control-allow-origin'], `${origin}: no allow-origin`)
    const pre = await anon({ method: 'OPTIONS', url: '/v1/articles', headers: { origin, 'access-control-request-method': 'POST' } })
    t.notOk(pre.headers['access-control-allow-origin'], `${origin}: preflight not allowed`)
  }

  // an OPTIONS that is no preflight (no Origin, or no Access-Control-Request-Method) is answered as without CORS
  for (const headers of [{}, { origin: ORIGIN }, { 'access-control-request-method': 'POST' }]) {
    const res = await anon({ method: 'OPTIONS', url: '/v1/articles', headers })
    t.equal(res.statusCode, 204, `OPTIONS with ${JSON.stringify(headers)}: 204 (${res.body})`)
    t.equal(res.headers.allow, 'GET, HEAD, OPTIONS, POST', 'with Allow')
  }
  problem(t, await anon({ method: 'OPTIONS', url: '/v1/nothing-here' }), 404, 'OPTIONS of a path not served')
  const ranged = await anon({ method: 'OPTIONS', url: '/v1/photos/x/file', headers: { origin: ORIGIN, 'access-control-request-method': 'GET', 'access-control-request-headers': 'range, if-range' } })
  t.ok(['range', 'if-range', 'if-modified-since'].every((h) => list(ranged.headers['access-control-allow-headers']).includes(h)), 'a page may ask for part of a photo, or whether it changed')
})

t.test('CORS: none by default, everyone with *', async (t) => {
  const closed = await build(t)
  const res = await closed.anon({ method: 'GET', url: '/v1/sections', headers: { origin: ORIGIN } })
  t.equal(res.statusCode, 200)
  t.notOk(res.headers['access-control-allow-origin'], 'no CORS_ORIGINS: no allow-origin')
  const pre = await closed.anon({ method: 'OPTIONS', url: '/v1/sections', headers: { origin: ORIGIN, 'access-control-request-method': 'POST' } })
  t.notOk(pre.headers['access-control-allow-origin'], 'no CORS_ORIGINS: preflight not allowed')

  const open = await build(t, { CORS_ORIGINS: '*' })
  const any = await open.anon({ method: 'GET', url: '/v1/sections', headers: { origin: 'https://anyone.example.org' } })
  t.equal(any.headers['access-control-allow-origin'], '*')
  t.notOk(any.headers['access-control-allow-credentials'], 'never credentials with *')
  const preAny = await open.anon({
    method: 'OPTIONS', url: '/v1/sections', headers: { origin: 'https://anyone.example.org', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' }
  })
  t.equal(preAny.statusCode, 204)
  t.equal(preAny.headers['access-control-allow-origin'], '*')
  t.ok(list(preAny.headers['access-control-allow-headers']).includes('authorization'), 'Authorization named explicitly (a * would not cover it)')
})

/** Asserts a 429 problem with Retry-After and rate-limit headers. */
function limited (t: any, res: Response, limit: number, what: string) {
  problem(t, res, 429, what)
  const retry = Number(res.headers['retry-after'])
  t.ok(Number.isInteger(retry) && retry >= 1 && retry <= 60, `${what}: Retry-After in seconds (${res.headers['retry-after']})`)
  t.equal(res.headers['x-ratelimit-limit'], String(limit), `${what}: X-RateLimit-Limit`)
  t.equal(res.headers['x-ratelimit-remaining'], '0', `${what}: X-RateLimit-Remaining`)
  t.ok(res.headers['x-ratelimit-reset'], `${what}: X-RateLimit-Reset`)
  t.equal(res.headers['cache-control'], 'no-store', `${what}: not cached`)
}

t.test('rate limits: anonymous requests per address', async (t) => {
  const { anon } = await build(t, { RATE_LIMIT_ANONYMOUS: '5', RATE_LIMIT_KEY: '8' })
  for (let i = 1; i <= 5; i++) {
    const res = await anon({ method: 'GET', url: '/v1/sections' })
    t.equal(res.statusCode, 200, `request ${i} of 5`)
    t.equal(res.headers['x-ratelimit-remaining'], undefined, 'no counters on an answer a CDN may replay to others')
  }
  const sixth = await anon({ method: 'GET', url: '/v1/articles' })
  limited(t, sixth, 5, '6th anonymous request')
  t.match(sixth.json().detail, /5/, 'the problem says what the limit is')
  const write = await anon({ method: 'POST', url: '/v1/sections', payload: { name: 'X' } })
  t.equal(write.statusCode, 429, 'the budget covers every route')

  const elsewhere = await anon({ method: 'GET', url: '/v1/sections', remoteAddress: '203.0.113.7' })
  t.equal(elsewhere.statusCode, 200, 'another address has its own budget')
  // a spoofed X-Forwarded-For does not buy a new budget when no proxy is trusted
  const spoofed = await anon({ method: 'GET', url: '/v1/sections', headers: { 'x-forwarded-for': '198.51.100.1' } })
  t.equal(spoofed.statusCode, 429, 'X-Forwarded-For is ignored without TRUST_PROXY')
})

t.test('rate limits: behind a trusted proxy (TRUST_PROXY), each client address has its own budget', async (t) => {
  for (const trust of ['10.0.0.1', '10.0.0.0/8,192.0.2.7', 'true']) {
    const { anon } = await build(t, { RATE_LIMIT_ANONYMOUS: '2', TRUST_PROXY: trust })
    const from = (ip: string) => anon({ method: 'GET', url: '/v1/sections', remoteAddress: '10.0.0.1', headers: { 'x-forwarded-for': ip } })
    t.equal((await from('198.51.100.1')).statusCode, 200)
    t.equal((await from('198.51.100.1')).statusCode, 200)
    t.equal((await from('198.51.100.1')).statusCode, 429, `TRUST_PROXY=${trust}: the client's 3rd request is limited`)
    t.equal((await from('198.51.100.2')).statusCode, 200, `TRUST_PROXY=${trust}: another client behind the same proxy is not limited`)
  }
})

t.test('rate limits: requests with a key are counted per key', async (t) => {
  const { app, anon, keys } = await build(t, { RATE_LIMIT_ANONYMOUS: '5', RATE_LIMIT_KEY: '8' })
  for (let i = 1; i <= 8; i++) {
    const res = await app.inject({ method: i % 2 ? 'GET' : 'POST', url: '/v1/sections', ...(i % 2 ? {} : { payload: { name: `S${i}` } }) })
    t.ok(res.statusCode === 200 || res.statusCode === 201, `editor request ${i}: ${res.statusCode}`)
  }
  limited(t, await app.inject({ method: 'GET', url: '/v1/sections' }), 8, "editor's 9th request")
  const blockedWrite = await app.inject({ method: 'POST', url: '/v1/sections', payload: { name: 'Late' } })
  t.equal(blockedWrite.statusCode, 429)
  t.equal((await app.inject({ method: 'GET', url: '/v1/sections?limit=100' })).statusCode, 429)

  const writer = await app.inject({ method: 'GET', url: '/v1/sections?limit=100', headers: bearer(keys.writer) })
  t.equal(writer.statusCode, 200, 'the writer, from the same address, still has its budget')
  for (let i = 2; i <= 8; i++) await app.inject({ method: 'GET', url: '/v1/sections', headers: bearer(keys.writer) })
  limited(t, await app.inject({ method: 'GET', url: '/v1/sections', headers: bearer(keys.writer) }), 8, "the writer's 9th request: its own budget of 8")
  t.notOk(writer.json().data.some((s: any) => s.name === 'Late'), 'the refused write did not happen')
  const reader = await anon({ method: 'GET', url: '/v1/sections' })
  t.equal(reader.statusCode, 200, 'anonymous readers at the same address are not charged for the key')
  for (let i = 2; i <= 5; i++) await anon({ method: 'GET', url: '/v1/sections' })
  limited(t, await anon({ method: 'GET', url: '/v1/sections' }), 5, 'the address budget is the anonymous one (5)')
})

t.test('rate limits: refused keys are counted against the address, so keys cannot be guessed', async (t) => {
  const { app, anon, keys } = await build(t, { RATE_LIMIT_ANONYMOUS: '5', RATE_LIMIT_KEY: '8' })
  const guess = (i: number) => anon({ method: 'GET', url: '/v1/sections', remoteAddress: '192.0.2.50', headers: bearer(`guessed-key-${i}-aaaaaaaaaaaaaaaaaaaaaaaa`) })
  for (let i = 1; i <= 5; i++) {
    const res = await guess(i)
    t.equal(res.statusCode, 401, `guess ${i} is refused`)
    t.match(res.headers['www-authenticate'], /^Bearer/)
  }
  limited(t, await guess(6), 5, '6th guess')
  const malformed = await anon({ method: 'GET', url: '/v1/sections', remoteAddress: '192.0.2.50', headers: { authorization: 'Basic dXNlcjpwYXNz' } })
  t.equal(malformed.statusCode, 429, 'a malformed Authorization header counts against the address too')
  const writeGuess = await anon({ method: 'POST', url: '/v1/sections', remoteAddress: '192.0.2.50', headers: bearer('guessed-key-for-write-aaaaaaaaaaaa'), payload: { name: 'X' } })
  t.equal(writeGuess.statusCode, 429)
  t.equal((await anon({ method: 'GET', url: '/v1/sections', remoteAddress: '192.0.2.50' })).statusCode, 429, 'and shares the anonymous budget of that address')
  const valid = await app.inject({ method: 'GET', url: '/v1/sections', remoteAddress: '192.0.2.50', headers: bearer(keys.writer) })
  t.equal(valid.statusCode, 200, 'a real key from that address still works')
  t.equal((await anon({ method: 'GET', url: '/v1/sections', remoteAddress: '192.0.2.51' })).statusCode, 200, 'other addresses are not affected')
})

t.test('rate limits cover the documentation and unknown routes too', async (t) => {
  const { anon } = await build(t, { RATE_LIMIT_ANONYMOUS: '3' })
  for (const url of ['/openapi.json', '/v1/no-such-route']) {
    const ip = url === '/openapi.json' ? '198.51.100.10' : '198.51.100.11'
    const statuses: number[] = []
    for (let i = 0; i < 5; i++) statuses.push((await anon({ method: 'GET', url, remoteAddress: ip })).statusCode)
    t.equal(statuses[3], 429, `GET ${url} is rate limited like every request (got ${statuses.join(', ')})`)
  }
  // health checks from a load balancer are not
  const health: number[] = []
  for (let i = 0; i < 5; i++) health.push((await anon({ method: 'GET', url: '/healthz', remoteAddress: '198.51.100.12' })).statusCode)
  t.same(health, [200, 200, 200, 200, 200], '/healthz stays answerable')
})

t.test('429 answers carry CORS headers so browser code can read Retry-After', async (t) => {
  const { anon } = await build(t, { RATE_LIMIT_ANONYMOUS: '1', CORS_ORIGINS: ORIGIN })
  await anon({ method: 'GET', url: '/v1/sections', headers: { origin: ORIGIN } })
  const res = await anon({ method: 'GET', url: '/v1/sections', headers: { origin: ORIGIN } })
  t.equal(res.statusCode, 429)
  t.equal(res.headers['access-control-allow-origin'], ORIGIN)
  t.ok(list(res.headers['access-control-expose-headers']).includes('retry-after'))
  t.ok(res.headers['retry-after'])
})

t.test('body size limits: JSON over BODY_MAX_BYTES is a 413 that changes nothing', async (t) => {
  const { app } = await build(t, { BODY_MAX_BYTES: '2048' })
  const big = 'x'.repeat(3000)
  const count = async () => (await app.inject({ method: 'GET', url: '/v1/articles?limit=100' })).json().data.length

  const tooBig = await app.inject({ method: 'POST', url: '/v1/articles', payload: { headline: 'Big', summary: big } })
  problem(t, tooBig, 413, 'POST over the limit')
  t.equal(tooBig.headers['cache-control'], 'no-store')
  t.equal(await count(), 0, 'nothing created')

  const paragraphs = Array.from({ length: 3 }, () => ({ type: 'paragraph', text: 'x'.repeat(500) }))
  t.ok(JSON.stringify({ headline: 'Small', body: paragraphs }).length > 1500)
  const a = await create(app, '/v1/articles', { headline: 'Small', body: paragraphs })
  t.equal(a.body.length, 3, 'a body under the limit is fine')
  const patch = await app.inject({ method: 'PATCH', url: `/v1/articles/${a.id}`, payload: { body: [{ type: 'paragraph', text: big }] } })
  problem(t, patch, 413, 'PATCH over the limit')
  const merge = await app.inject({ method: 'PATCH', url: `/v1/articles/${a.id}`, headers: { 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify({ summary: big }) })
  problem(t, merge, 413, 'merge-patch over the limit')
  const related = await app.inject({ method: 'PUT', url: `/v1/articles/${a.id}/related`, payload: Array.from({ length: 20 }, (_, i) => ({ url: `https://example.org/${'p'.repeat(100)}/${i}`, headline: 'h'.repeat(50) })) })
  problem(t, related, 413, 'PUT related over the limit')
  const now = (await app.inject({ method: 'GET', url: `/v1/articles/${a.id}` })).json()
  t.equal(now.revision, 1, 'nothing changed')
  t.same(now.body, a.body)
  t.same(now.related, [])
})

t.test('body size limits: uploads over UPLOAD_MAX_BYTES are a 413 that stores nothing', async (t) => {
  const { app } = await build(t, { UPLOAD_MAX_BYTES: '4096', BODY_MAX_BYTES: '2048' })
  const big = await bigImage()
  t.ok(big.length > 8192, `the test image is large (${big.length} bytes)`)
  const small = await image('jpeg', 16, 16)
  t.ok(small.length < 2048, 'the small one fits')
  const count = async () => (await app.inject({ method: 'GET', url: '/v1/photos?limit=100' })).json().data.length

  const form = multipart({ caption: 'Too big' }, { data: big })
  problem(t, await app.inject({ method: 'POST', url: '/v1/photos', ...form }), 413, 'multipart upload over the limit')
  problem(t, await app.inject({ method: 'POST', url: '/v1/photos?caption=Too%20big', payload: big, headers: { 'content-type': 'image/jpeg' } }), 413, 'raw upload over the limit')
  t.equal(await count(), 0, 'nothing stored')

  // the upload limit, not the JSON one, applies to images: 3 KB is fine
  const mid = Buffer.concat([small, Buffer.alloc(3000 - small.length)])
  t.ok(mid.length > 2048 && mid.length < 4096)
  const photo = await upload(app, { caption: 'Fits' }, mid)
  const raw = await app.inject({ method: 'POST', url: '/v1/photos', payload: await image('png', 40, 40, 2), headers: { 'content-type': 'image/png' } })
  t.equal(raw.statusCode, 201, raw.body)

  const replace = multipart({}, { data: big })
  problem(t, await app.inject({ method: 'PUT', url: `/v1/photos/${photo.id}/file`, ...replace }), 413, 'replacing with a file over the limit')
  problem(t, await app.inject({ method: 'PUT', url: `/v1/photos/${photo.id}/file`, payload: big, headers: { 'content-type': 'image/jpeg' } }), 413, 'raw replace over the limit')
  const after = (await app.inject({ method: 'GET', url: `/v1/photos/${photo.id}` })).json()
  t.equal(after.sha256, photo.sha256, 'the photo keeps its image')
  t.equal(after.bytes, photo.bytes)
})

t.test('JSON bodies are UTF-8 text, read strictly: what cannot be stored as sent is refused, not altered', async (t) => {
  const { app } = await build(t)
  const send = (payload: string | Buffer, type = 'application/json') =>
    app.inject({ method: 'POST', url: '/v1/bylines', headers: { 'content-type': type }, payload })
  const names = async () => (await app.inject({ url: '/v1/bylines?limit=100' })).json().data.map((b: any) => b.name)

  problem(t, await send(Buffer.from('{"name":"Caf\xe9"}', 'latin1')), 400, 'Latin-1 bytes sent as JSON')
  t.match((await send(Buffer.from('{"name":"Caf\xe9"}', 'latin1'))).json().detail, /not valid UTF-8/)
  problem(t, await send(Buffer.from('{"name":"Café"}', 'latin1'), 'application/json; charset=latin1'), 415, 'a declared charset other than UTF-8')
  problem(t, await send(Buffer.from('{"name":"Café"}', 'utf16le'), 'application/json; charset=utf-16le'), 415, 'UTF-16')

  const lone = problem(t, await send('{"name":"surr\\ud800test"}'), 400, 'half a surrogate pair')
  t.same(lone.errors.map((e: any) => e.path), ['/name'], 'the field is named')
  problem(t, await send('{"name":"x","title":"\\udc00"}'), 400, 'a lone low surrogate')
  // valid JSON nested deeper than a recursive walk can follow: still a 400, never a 500
  const deep = problem(t, await send(`{"name":"x","bio":${'['.repeat(100_000)}"\\ud800"${']'.repeat(100_000)}}`), 400, 'half a pair 100,000 arrays deep')
  t.match(deep.errors[0].path, /^\/bio(\/0){100000}$/, 'named where it is')
  t.ok(deep.detail.length < 400, 'the detail stays short')
  const patch = await create(app, '/v1/bylines', { name: 'Patched' })
  problem(t, await app.inject({ method: 'PATCH', url: `/v1/bylines/${patch.id}`, headers: { 'content-type': 'application/merge-patch+json' }, payload: '{"bio":"\\ud83d"}' }), 400, 'in a merge patch')

  const proto = problem(t, await send('{"name":"x","__proto__":{"admin":true}}'), 400, '__proto__')
  t.match(proto.detail, /forbidden key \(__proto__/)
  t.match(problem(t, await send('{"name":"x","bio":{"constructor":{"prototype":{}}}}'), 400, 'constructor.prototype').detail, /forbidden key/)
  t.match(problem(t, await send('{"name":'), 400, 'cut off').detail, /not valid JSON/)

  // a key given twice: JSON.parse would keep the last, a proxy or validator reading the first would not see it
  for (const [payload, path] of [
    ['{"name":"Dup","name":"Dup2"}', '/name'],
    ['{"name":"x","links":[{"url":"a"},{"url":"b","url":"c"}]}', '/links/1/url'],
    ['{"name":"x","\\u006eame":"y"}', '/name'],
    ['{"name":"a:b","bio":"\\",\\"bio\\":","bio":"again"}', '/bio']
  ] as const) {
    const dup = problem(t, await send(payload), 400, `a key twice: ${payload}`)
    t.same(dup.errors, [{ path, message: 'Is given twice in one object' }], `named: ${path}`)
  }
  problem(t, await app.inject({ method: 'PATCH', url: `/v1/bylines/${patch.id}`, headers: { 'content-type': 'application/merge-patch+json' }, payload: '{"bio":"a","bio":null}' }), 400, 'a key twice in a merge patch')
  const deepDup = problem(t, await send(`{"name":"x","bio":${'['.repeat(100_000)}{"k":1,"k":2}${']'.repeat(100_000)}}`), 400, 'a key twice 100,000 arrays deep')
  t.ok(deepDup.detail.length < 400, 'the detail stays short')
  t.same(await names(), ['Patched'], 'nothing created by the refusals')
  for (const payload of ['{"name":"Same key, two objects","bio":null,"links":[{"k":1},{"k":1}]}', '{"name":"colons: \\":\\" in text"}']) {
    t.not((await send(payload)).statusCode, 500)
  }
  t.equal((await send('{"name":"Colons: \\":\\" here"}')).statusCode, 201, 'colons and escaped quotes inside strings are text')

  for (const [payload, type, name, what] of [
    ['{"name":"Café 😀"}', 'application/json', 'Café 😀', 'UTF-8 with a pair written out'],
    ['{"name":"Emoji \\ud83d\\ude00"}', 'application/json', 'Emoji 😀', 'a pair as escapes'],
    ['\ufeff{"name":"With BOM"}', 'application/json', 'With BOM', 'a byte order mark'],
    ['{"name":"Upper"}', 'application/json; charset=UTF-8', 'Upper', 'charset=UTF-8 declared'],
    ['{"name":"Quoted"}', 'application/json; charset="utf-8"', 'Quoted', 'a quoted charset']
  ] as const) {
    const res = await send(payload, type)
    t.equal(res.statusCode, 201, `${what}: ${res.body.slice(0, 200)}`)
    const made = res.json()
    t.equal(made.name, name, what)
    const read = await app.inject({ url: `/v1/bylines/${made.id}` })
    t.equal(read.json().name, name, `${what}: stored as answered`)
    t.equal(read.headers.etag, res.headers.etag, `${what}: the answered ETag is the stored one`)
  }
})

t.test('a compressed request body (Content-Encoding) is a 415 naming the coding the server reads, and changes nothing', async (t) => {
  const { app } = await build(t)
  const { gzipSync } = await import('node:zlib')
  const body = JSON.stringify({ name: 'Compressed' })
  for (const [coding, payload] of [['gzip', gzipSync(body)], ['br', Buffer.from(body)], ['gzip, identity', gzipSync(body)]] as const) {
    const res = await app.inject({ method: 'POST', url: '/v1/bylines', headers: { 'content-type': 'application/json', 'content-encoding': coding }, payload })
    problem(t, res, 415, `Content-Encoding: ${coding}`)
    t.match(res.headers, { 'x-content-type-options': 'nosniff', 'content-security-policy': /default-src 'none'/ }, 'with the security headers every answer has')
    t.equal(res.headers['accept-encoding'], 'identity', 'Accept-Encoding says what is read')
  }
  t.equal((await app.inject({ url: '/v1/bylines' })).json().data.length, 0, 'nothing created')
  const identity = await app.inject({ method: 'POST', url: '/v1/bylines', headers: { 'content-type': 'application/json', 'content-encoding': 'identity' }, payload: body })
  t.equal(identity.statusCode, 201, 'identity is no coding at all')
})

t.test('what the HTTP parser refuses (before any route) is a problem document too; a known path asked with another method is a 405 with Allow', async (t) => {
  const { app } = await build(t)
  const raw = await rawHttp(app)
  const cases: [string, string, number][] = [
    ['an unknown method', 'FOO /v1/articles HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['a bad HTTP version', 'GET /v1/articles HTTP/9.9\r\nHost: x\r\n\r\n', 400],
    ['a NUL in a header', 'GET /v1/articles HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n', 400],
    ['Content-Length with Transfer-Encoding', 'POST /v1/bylines HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
    ['headers over the limit', `GET /v1/articles HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
    ['an HTTP/1.1 request without Host', 'GET /v1/articles HTTP/1.1\r\nConnection: close\r\n\r\n', 400]
  ]
  for (const [what, request, status] of cases) {
    const answer = await raw(request)
    const [head = '', body = ''] = answer.split('\r\n\r\n')
    t.match(head, new RegExp(`^HTTP/1.1 ${status} `), `${what}: ${status}`)
    t.match(head, /content-type: application\/problem\+json/i, `${what}: a problem document`)
    const id = /x-request-id: ([0-9a-f-]{36})/i.exec(head)?.[1]
    t.ok(id, `${what}: a request id to quote`)
    t.match(head, /cache-control: no-store/i, `${what}: not cached`)
    t.match(head, /x-content-type-options: nosniff/i, `${what}: nosniff`)
    t.match(JSON.parse(body), { type: 'about:blank', status, title: String, detail: String, requestId: id }, `${what}: its fields`)
  }

  t.match(await raw('GET /healthz HTTP/1.0\r\n\r\n'), /^HTTP\/1.1 200 /, 'HTTP/1.0 had no Host header: answered')

  const wrong = await app.inject({ method: 'DELETE', url: '/v1/sections' })
  problem(t, wrong, 405, 'DELETE on the sections list')
  t.equal(wrong.headers.allow, 'GET, HEAD, OPTIONS, POST')
  t.equal((await app.inject({ method: 'PUT', url: '/v1/articles/01a00000-0000-7000-8000-000000000000' })).headers.allow, 'DELETE, GET, HEAD, OPTIONS, PATCH')
  t.equal((await app.inject({ method: 'POST', url: '/healthz' })).statusCode, 405)
  const options = await app.inject({ method: 'OPTIONS', url: '/v1/articles' })
  t.equal(options.statusCode, 204, 'OPTIONS on a known path')
  t.equal(options.headers.allow, 'GET, HEAD, OPTIONS, POST')
  problem(t, await app.inject({ method: 'OPTIONS', url: '/v1/nothing' }), 404, 'OPTIONS on an unknown path')
  problem(t, await app.inject({ method: 'DELETE', url: '/v1/nothing/here' }), 404, 'an unknown path with any method')
})

t.test('a %-escape in the query string that is no UTF-8 text is a 400, as in the path; valid escapes are read', async (t) => {
  const { app, anon } = await build(t)
  await create(app, '/v1/bylines', { name: 'Café 100% Desk' })
  for (const url of ['/v1/articles?q=%FF', '/v1/bylines?q=%ED%A0%80', '/v1/articles?tag=%C3', '/v1/bylines?q=100%', '/v1/bylines?q=%zz', '/v1/sections?limit=%']) {
    const res = await anon({ url })
    const body = problem(t, res, 400, url)
    t.match(body.detail, /not UTF-8 text/)
    t.match(res.headers, { 'x-content-type-options': 'nosniff', 'content-security-policy': /default-src 'none'/ }, 'with the security headers')
  }
  const inPath = await anon({ url: '/v1/sections/slug/%FF' })
  t.match(problem(t, inPath, 400, 'the same in the path'), { code: 'CMS_BAD_REQUEST', detail: 'The path holds a %-escape that is not UTF-8 text: escape a literal % as %25' }, 'in this API\'s words')
  // answered before any hook runs, with the headers every other answer has
  t.match(inPath.headers, { 'x-request-id': /\S/, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' }, 'with the usual headers')
  t.equal(inPath.json().requestId, inPath.headers['x-request-id'])
  for (const q of ['caf%C3%A9', '100%25', 'Caf%C3%A9+100%25']) {
    const res = await anon({ url: `/v1/bylines?q=${q}` })
    t.equal(res.statusCode, 200, q)
    t.same(res.json().data.map((b: any) => b.name), ['Café 100% Desk'], `${q} finds it`)
  }
})

t.test('a NUL character (%00) anywhere in the URL is a 400 that names it, on every database (PostgreSQL cannot compare text holding one)', async (t) => {
  const { app, anon } = await build(t)
  const story = await create(app, '/v1/articles', { headline: 'Ice festival', tags: ['ice'], status: 'published' })
  for (const url of ['/v1/articles?tag=ice%00', '/v1/articles/slug/ice-festival%00', '/v1/articles?q=ice%00festival', '/v1/bylines?q=%00', '/v1/sections/slug/%00x', `/v1/articles/${story.id}%00`, '/v1/articles?section=a%00b']) {
    const res = await anon({ url })
    t.match(problem(t, res, 400, url), { code: 'CMS_BAD_REQUEST', detail: 'The URL holds a NUL character (%00), which nothing here holds: leave it out' })
  }
  const write = await app.inject({ method: 'PATCH', url: `/v1/articles/${story.id}?x=%00`, payload: { headline: 'Changed' } })
  problem(t, write, 400, 'a write')
  t.equal((await anon({ url: `/v1/articles/${story.id}` })).json().headline, 'Ice festival', 'which changes nothing')
  t.equal((await anon({ url: '/v1/articles?tag=ice' })).statusCode, 200, 'the same URLs without it are answered')
})

t.test('the first century of the calendar is read back as written, on every database: an archive story of the year 99 stays in 99', async (t) => {
  const { app, anon } = await build(t)
  const dates = ['0001-01-01T00:00:00.000Z', '0049-12-31T23:59:59.999Z', '0050-01-01T00:00:00.000Z', '0099-06-15T12:00:00.000Z', '0100-01-01T00:00:00.000Z', '1999-06-15T12:00:00.000Z']
  const made = []
  for (const [i, at] of dates.entries()) made.push(await create(app, '/v1/articles', { headline: `Ancient ${i}`, status: 'published', publishedAt: at, updatedAt: at }))
  for (const [i, a] of made.entries()) {
    const read = (await anon({ url: `/v1/articles/${a.id}` })).json()
    t.match(read, { publishedAt: dates[i], updatedAt: dates[i] }, `${dates[i]} read back as written`)
    const edited = (await req(app, { method: 'PATCH', url: `/v1/articles/${a.id}`, payload: { summary: 'An edit that leaves the dates', updatedAt: dates[i] } })).json()
    t.equal(edited.publishedAt, dates[i], `${dates[i]}: an edit keeps it`)
  }
  // oldest first, a page at a time, by cursor: every story, in order (a cursor holding 2001 for 0001 skipped three)
  const walked: string[] = []
  for (let url: string | null = '/v1/articles?sort=publishedAt&limit=1'; url;) {
    const res = await anon({ url })
    walked.push(...res.json().data.map((a: any) => a.publishedAt))
    url = res.json().next ? `/v1/articles?sort=publishedAt&limit=1&cursor=${encodeURIComponent(res.json().next)}` : null
  }
  t.same(walked, dates, 'each once, oldest first')
  t.same((await anon({ url: `/v1/articles?publishedBefore=${encodeURIComponent('0100-01-01T00:00:00Z')}&sort=publishedAt` })).json().data.map((a: any) => a.publishedAt), dates.slice(0, 4), 'a range in the first century')
})

t.test('times outside the years 0001–9999 and forged cursors holding what no database keeps are 400s, never 500s, on every database', async (t) => {
  const { app, anon } = await build(t)
  const story = await create(app, '/v1/articles', { headline: 'Dated', status: 'published' })
  await create(app, '/v1/sections', { name: 'Desk' })
  for (const url of ['/v1/articles?publishedAfter=0000-01-01T00:00:00Z', '/v1/articles?publishedBefore=0000-12-31T23:59:59Z', '/v1/articles?updatedSince=0000-06-01T00:00:00Z',
    '/v1/articles?changedSince=0000-01-01T00:00:00Z', '/v1/articles/removed?since=0000-01-01T00:00:00Z', '/v1/articles?publishedAfter=9999-12-31T23:59:59-01:00']) {
    problem(t, await anon({ url }), 400, url)
  }
  t.equal((await anon({ url: '/v1/articles?publishedAfter=0001-01-01T00:00:00Z&publishedBefore=9999-12-31T23:59:59.999Z' })).json().data.length, 1, 'the first and last moments are taken')
  for (const [method, url, payload] of [['POST', '/v1/articles', { headline: 'Year zero', publishedAt: '0000-01-01T00:00:00Z' }],
    ['PATCH', `/v1/articles/${story.id}`, { publishedAt: '0000-01-01T00:00:00Z' }], ['PATCH', `/v1/articles/${story.id}`, { updatedAt: '0000-01-01T00:00:00Z' }],
    ['POST', `/v1/articles/${story.id}/publish`, { publishedAt: '0000-01-01T00:00:00Z' }]] as const) {
    problem(t, await app.inject({ method, url, payload }), 400, `${method} ${url} ${JSON.stringify(payload)}`)
  }
  t.equal((await anon({ url: `/v1/articles/${story.id}` })).json().publishedAt, story.publishedAt, 'nothing changed')
  // cursors made as the server makes them (their checksum is no secret), holding values past what either database keeps
  const scope = listScope('-publishedAt', {})
  for (const [what, values] of [['year 0', [-62167219200000, story.id]], ['year 10000', [253402300800000, story.id]], ['the last time JavaScript has', [8.64e15, story.id]],
    ['a NUL in the id', [Date.now(), 'a\u0000b']]] as const) {
    problem(t, await anon({ url: `/v1/articles?cursor=${encodeCursor(scope, [...values])}` }), 400, `an article cursor with ${what}`)
  }
  const sections = (await anon({ url: '/v1/sections?limit=1' })).json()
  t.ok(sections.data.length === 1)
  problem(t, await anon({ url: `/v1/sections?cursor=${encodeCursor('sections:', [2 ** 53 - 1, 'desk', sections.data[0].id])}` }), 400, 'a section cursor past a 32-bit position')
})
