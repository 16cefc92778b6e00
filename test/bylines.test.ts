import t from 'tap'
import path from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'
import type { InjectOptions } from 'fastify'
import { build, create, upload, problem, ok, ISO, bodyField, ago, DAY, forgetMigrationsFrom, dialect, around } from './helper.js'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { foldedForMatching } from '../src/db/names.js'


const GHOST = '00000000-0000-0000-0000-000000000000'



const names = (page: { data: { name: string }[] }) => page.data.map((b) => b.name)

const hasError = (body: any, path: string | RegExp) =>
  Array.isArray(body.errors) && body.errors.some((e: any) => typeof path === 'string' ? e.path === path : path.test(e.path))

t.test('create: kind defaults to person, 201 with Location', async (t) => {
  const { app } = await build(t)
  const res = await app.inject({ method: 'POST', url: '/v1/bylines', payload: { name: 'Zhang Wei', title: 'Staff reporter' } })
  const b = ok(t, res, 201)
  t.match(b, {
    id: String,
    slug: 'zhang-wei',
    name: 'Zhang Wei',
    kind: 'person',
    title: 'Staff reporter',
    bio: null,
    url: null,
    photoId: null,
    createdAt: ISO,
    updatedAt: ISO
  })
  t.equal(res.headers.location, `/v1/bylines/${b.id}`)
  t.same(ok(t, await app.inject({ url: res.headers.location as string })), b)

  const agency = await create(app, '/v1/bylines', { name: 'Xinhua', kind: 'agency', url: 'http://www.news.cn/english/' })
  t.match(agency, { slug: 'xinhua', kind: 'agency', url: 'http://www.news.cn/english/' })
  t.match(await create(app, '/v1/bylines', { name: 'Greenpeace', kind: 'organization', bio: 'Line one\nline two' }), { kind: 'organization', bio: 'Line one\nline two' })

  const cjk = await create(app, '/v1/bylines', { name: '新华社' })
  t.match(cjk.slug, /^[a-z0-9]+(?:-[a-z0-9]+)*$/)
  t.not(cjk.slug, 'untitled')
  t.equal((await create(app, '/v1/bylines', { name: 'Xinhua' })).slug, 'xinhua-2', 'generated slugs are made unique')
  problem(t, await app.inject({ method: 'POST', url: '/v1/bylines', payload: { name: 'Other', slug: 'xinhua' } }), 409)
  t.equal((await create(app, '/v1/bylines', { name: 'Other', slug: 'other-desk' })).slug, 'other-desk')
})

t.test('kind and url are validated', async (t) => {
  const { app } = await build(t)
  for (const kind of ['robot', 'Person', '', 1, null]) {
    const body = problem(t, await app.inject({ method: 'POST', url: '/v1/bylines', payload: { name: 'K', kind } }), 400)
    t.ok(hasError(body, bodyField('/kind')), `kind ${JSON.stringify(kind)} named in errors`)
  }
  for (const url of ['javascript:alert(1)', 'ftp://example.com/x', 'mailto:desk@example.com', 'example.com', '//example.com', 'data:text/html,<script>alert(1)</script>', 'https://exa mple.com', 'x'.repeat(10)]) {
    const body = problem(t, await app.inject({ method: 'POST', url: '/v1/bylines', payload: { name: 'U', url } }), 400)
    t.ok(hasError(body, bodyField('/url')), `url ${url} named in errors`)
  }
  for (const url of ['https://example.com/people/zhang', 'http://localhost:8080/a?b=c#d']) {
    t.equal((await create(app, '/v1/bylines', { name: `U ${url.length}`, url })).url, url)
  }
  t.same(ok(t, await app.inject({ url: '/v1/bylines' })).data.length, 2, 'refused creates stored nothing')
})

t.test('a url without a host is refused', async (t) => {
  const { app } = await build(t)
  for (const url of ['http://', 'https://']) {
    const body = problem(t, await app.inject({ method: 'POST', url: '/v1/bylines', payload: { name: 'U', url } }), 400)
    t.ok(hasError(body, bodyField('/url')), `url ${url} named in errors`)
  }
})

t.test('photoId must name an existing photo', async (t) => {
  const { app } = await build(t)
  const photo = await upload(app, { caption: 'Head shot', credit: 'Staff' })
  const missing = problem(t, await app.inject({ method: 'POST', url: '/v1/bylines', payload: { name: 'P', photoId: GHOST } }), 422)
  t.match(missing.errors, [{ path: '/photoId', message: String }])
  t.same(ok(t, await app.inject({ url: '/v1/bylines' })).data, [], 'nothing was created')

  const b = await create(app, '/v1/bylines', { name: 'Pictured', photoId: photo.id })
  t.equal(b.photoId, photo.id)
  const bad = problem(t, await app.inject({ method: 'PATCH', url: `/v1/bylines/${b.id}`, payload: { photoId: GHOST } }), 422)
  t.match(bad.errors, [{ path: '/photoId' }])
  t.equal(ok(t, await app.inject({ url: `/v1/bylines/${b.id}` })).photoId, photo.id, 'the refused patch changed nothing')
  t.equal(ok(t, await app.inject({ method: 'PATCH', url: `/v1/bylines/${b.id}`, payload: { photoId: null } })).photoId, null)
  problem(t, await app.inject({ method: 'POST', url: '/v1/bylines', payload: { name: 'P', photoId: 5 } }), 400)
})

t.test('read by id and by slug; unknown ones are 404 problems', async (t) => {
  const { app } = await build(t)
  const b = await create(app, '/v1/bylines', { name: 'Li Na' })
  t.same(ok(t, await app.inject({ url: `/v1/bylines/${b.id}` })), b)
  t.same(ok(t, await app.inject({ url: '/v1/bylines/slug/li-na' })), b)
  problem(t, await app.inject({ url: `/v1/bylines/${GHOST}` }), 404)
  problem(t, await app.inject({ url: '/v1/bylines/slug/nobody' }), 404)
  problem(t, await app.inject({ url: `/v1/bylines/${'x'.repeat(65)}` }), 400)
})

t.test('list filters by kind and by q, a literal case-insensitive substring', async (t) => {
  const { app } = await build(t)
  for (const [name, kind] of [
    ['Zhang Wei', 'person'], ['Xinhua', 'agency'], ['Reuters', 'agency'], ['100% Sport', 'organization'],
    ['snake_case Desk', 'organization'], ['Three Cities', 'person'], ['Back\\slash Bureau', 'agency'], ['Ann Zhang', 'person']
  ]) await create(app, '/v1/bylines', { name, kind })

  const all = ok(t, await app.inject({ url: '/v1/bylines' }))
  t.match(all, { data: Array, next: null })
  t.equal(all.data.length, 8)
  const agencies = ok(t, await app.inject({ url: '/v1/bylines?kind=agency' }))
  t.same(names(agencies).sort(), ['Back\\slash Bureau', 'Reuters', 'Xinhua'])
  t.same(names(ok(t, await app.inject({ url: '/v1/bylines?kind=person' }))).sort(), ['Ann Zhang', 'Three Cities', 'Zhang Wei'])
  problem(t, await app.inject({ url: '/v1/bylines?kind=robot' }), 400)

  const q = async (text: string, extra = '') => names(ok(t, await app.inject({ url: `/v1/bylines?q=${encodeURIComponent(text)}${extra}` }))).sort()
  t.same(await q('ZHANG'), ['Ann Zhang', 'Zhang Wei'], 'ignores case')
  t.same(await q('hua'), ['Xinhua'], 'matches inside the name')
  t.same(await q('zhang', '&kind=person'), ['Ann Zhang', 'Zhang Wei'])
  t.same(await q('zhang', '&kind=agency'), [])
  t.same(await q('%'), ['100% Sport'], '% is literal')
  t.same(await q('0%'), ['100% Sport'])
  t.same(await q('_'), ['snake_case Desk'], '_ is literal')
  t.same(await q('e_c'), ['snake_case Desk'], '_ does not match a space')
  t.same(await q('\\'), ['Back\\slash Bureau'], 'a backslash is literal')
  t.same(await q("' or 1=1 --"), [])
  t.same(await q('nobody'), [])
  problem(t, await app.inject({ url: '/v1/bylines?q=' }), 400)
  for (const blank of ['%20', '%20%20', '%E2%80%8B']) {
    const body = problem(t, await app.inject({ url: `/v1/bylines?q=${blank}` }), 400, `q=${blank}: nothing to look for`)
    t.match(body.errors, [{ path: '/query/q', message: /^Must be one line of text that shows something/ }])
  }
  problem(t, await app.inject({ url: `/v1/bylines?q=${'x'.repeat(201)}` }), 400)
})

t.test('q ignores case and diacritics beyond ASCII, as article search does', async (t) => {
  const { app } = await build(t)
  for (const name of ['ÉMILE Zola', 'Øystein Ørsted', 'José Müller', 'Ελλάδα Σήμερα', 'Łukasz Straße', 'Зоя Космодемьянская', 'ﬁnance Desk', 'Ǆemal Bijedić', 'ＡＰ Ｗｉｒｅ',
    'Siobhán O’Brien', 'Jean\u2010Pierre Roux', 'Mar\u00adgit Zero']) {
    await create(app, '/v1/bylines', { name })
  }
  const q = async (text: string) => names(ok(t, await app.inject({ url: `/v1/bylines?q=${encodeURIComponent(text)}` })))
  for (const [text, found] of [
    ['émile', 'ÉMILE Zola'], ['emile', 'ÉMILE Zola'], ['øystein', 'Øystein Ørsted'], ['oystein orsted', 'Øystein Ørsted'],
    ['jose muller', 'José Müller'], ['JOSÉ', 'José Müller'], ['mülle', 'José Müller'], ['ελλαδα', 'Ελλάδα Σήμερα'], ['σημερα', 'Ελλάδα Σήμερα'],
    ['ΣΉΜΕΡΑ', 'Ελλάδα Σήμερα'], ['lukasz strasse', 'Łukasz Straße'], ['зоя', 'Зоя Космодемьянская'], ['космодемьянская', 'Зоя Космодемьянская'],
    ['finance', 'ﬁnance Desk'], ['dzemal bijedic', 'Ǆemal Bijedić'], ['ap wire', 'ＡＰ Ｗｉｒｅ'], ['Ｗｉｒｅ', 'ＡＰ Ｗｉｒｅ'],
    // typographic apostrophes and hyphens as typed ones, either way round; invisible characters a paste brings along left out
    ["o'brien", 'Siobhán O’Brien'], ['o’brien', 'Siobhán O’Brien'], ['o\u02bcbrien', 'Siobhán O’Brien'], ['jean-pierre', 'Jean\u2010Pierre Roux'],
    ['\u200bmargit', 'Mar\u00adgit Zero'], ['margit', 'Mar\u00adgit Zero'], ['ro\u200dux', 'Jean\u2010Pierre Roux']
  ] as const) {
    t.same(await q(text), [found], `${text} finds ${found}`)
  }
  t.same(await q('josé zola'), [], 'the words in order, as written')
})

t.test('bylines are listed as a reader looks a name up: ignoring case and diacritics, across pages, renames and the upgrade', async (t) => {
  const { app, dataDir } = await build(t)
  for (const name of ['zeta', 'Émile Zola', 'beta', 'Alpha', 'Æsir', 'İstanbul Desk', 'Øystein', 'ALPHA', '10 Downing', '9 News']) await create(app, '/v1/bylines', { name })
  const expected = ['10 Downing', '9 News', 'Æsir', 'Alpha', 'ALPHA', 'beta', 'Émile Zola', 'İstanbul Desk', 'Øystein', 'zeta']
  const all = ok(t, await app.inject({ url: '/v1/bylines?limit=100' }))
  // the two spellings of Alpha tie, and are then in id (creation) order
  t.same(names(all), expected, 'alphabetical, not by code point (which put Émile, Æsir, İstanbul, Øystein after zeta, and beta after ALPHA)')
  const paged: string[] = []
  for (let url: string | null = '/v1/bylines?limit=3'; url;) {
    const page = ok(t, await app.inject({ url }))
    paged.push(...names(page))
    url = page.next ? `/v1/bylines?limit=3&cursor=${encodeURIComponent(page.next)}` : null
  }
  t.same(paged, expected, 'pages of three follow the same order')
  const zola = all.data.find((b: any) => b.name === 'Émile Zola')
  await app.inject({ method: 'PATCH', url: `/v1/bylines/${zola.id}`, payload: { name: 'Ángel Zola' } })
    t.same(names(ok(t, await app.inject({ url: '/v1/bylines?limit=100' }))).slice(2, 6), ['Æsir', 'Alpha', 'ALPHA', 'Ángel Zola'], 'a rename moves it')
  t.same(names(ok(t, await app.inject({ url: '/v1/bylines?kind=person&limit=100' }))), names(ok(t, await app.inject({ url: '/v1/bylines?limit=100' }))), 'in a kind too')

  // a database from before the sort key (migration 0018 not yet applied): the upgrade fills it (SQLite's upgrade:
  // PostgreSQL's schema started with the key)
  if (dialect !== 'sqlite') return
  await app.close()
  const db = new Database(path.join(dataDir, 'cms.sqlite'))
  forgetMigrationsFrom(db, '0018_')
  t.notOk((db.prepare('pragma table_info(bylines)').all() as { name: string }[]).some((col) => col.name === 'sort_name'), 'the sort key is gone')
  db.close()
  const upgraded = await buildApp({ config: loadConfig({ DATA_DIR: dataDir }) })
  t.teardown(() => upgraded.close())
  t.same(names(ok(t, await upgraded.inject({ url: '/v1/bylines?limit=100' }))).slice(2, 6), ['Æsir', 'Alpha', 'ALPHA', 'Ángel Zola'], 'the upgraded list')
})

t.test('long names in any script page through: the sort key is held to 100 characters, and the upgrade holds old ones to it', async (t) => {
  const { app, dataDir, databaseUrl } = await build(t)
  // 200 characters each, spread out by NFKD: four-byte characters, Korean syllables (2-3 jamo each), a ligature of 18
  const long = ['𠀀'.repeat(199) + 'A', '𠀀'.repeat(199) + 'B', '한국어'.repeat(66) + '가', '\uFDFA'.repeat(200), 'Short']
  for (const name of long) await create(app, '/v1/bylines', { name })
  const walk = async (a: typeof app, first: string) => {
    const seen: string[] = []
    for (let url: string | null = first; url;) {
      const res: { statusCode: number, json: () => any } = await a.inject({ url })
      t.equal(res.statusCode, 200, `a page the server linked to is served (${url.length} characters)`)
      const page: { data: { name: string }[], next: string | null } = res.json()
      seen.push(...names(page))
      if (page.next) t.ok(page.next.length <= 1000, `a cursor of ${page.next.length} characters, within what the API takes`)
      url = page.next ? `${first}&cursor=${encodeURIComponent(page.next)}` : null
    }
    return seen
  }
  const paged = await walk(app, '/v1/bylines?limit=1')
  t.same([...paged].sort(), [...long].sort(), 'every byline once, one page each (a 400 at the first long name before)')
  t.same(paged, names(ok(t, await app.inject({ url: '/v1/bylines?limit=100' }))), 'in the order of one page')

  // sections too: siblings under one parent
  const parent = await create(app, '/v1/sections', { name: 'Parent' })
  for (const name of long) await create(app, '/v1/sections', { name, parentId: parent.id })
  t.same((await walk(app, `/v1/sections?parent=${parent.id}&limit=1`)).sort(), [...long].sort(), 'subsections with long names page through')

  // a database from before the bound (migration 0021 not yet applied): its full-length keys are cut on upgrade
  // (SQLite's upgrade: PostgreSQL's schema started with the bound, which the keys written here are held to)
  if (dialect !== 'sqlite') {
    const db = new pg.Client({ connectionString: databaseUrl })
    await db.connect()
    try {
      const { rows } = await db.query('select max(length(sort_name)) as b, (select max(length(sort_name)) from sections) as s from bylines')
      t.same(rows, [{ b: 100, s: 100 }], 'held to 100 characters')
    } finally {
      await db.end()
    }
    return
  }
  await app.close()
  const db = new Database(path.join(dataDir, 'cms.sqlite'))
  db.function('fold', (text: unknown) => typeof text === 'string' ? foldedForMatching(text) : text)
  db.exec('update bylines set sort_name = fold(name); update sections set sort_name = fold(name)')
  t.ok((db.prepare('select max(length(sort_name)) as n from bylines').get() as { n: number }).n > 1000, 'old keys as long as the folded names')
  forgetMigrationsFrom(db, '0021_')
  db.close()
  const upgraded = await buildApp({ config: loadConfig({ DATA_DIR: dataDir }) })
  t.teardown(() => upgraded.close())
  const check = new Database(path.join(dataDir, 'cms.sqlite'), { readonly: true })
  t.same(check.prepare('select max(length(sort_name)) as b, (select max(length(sort_name)) from sections) as s from bylines').get(), { b: 100, s: 100 }, 'held to 100 characters')
  check.close()
  t.same((await walk(upgraded, '/v1/bylines?limit=1')).sort(), [...long].sort(), 'the upgraded list pages through')
})

t.test('pagination follows next and Link, stable while bylines are added', async (t) => {
  const { app } = await build(t)
  for (const name of ['Bravo', 'Delta', 'Foxtrot', 'Hotel', 'Juliett']) await create(app, '/v1/bylines', { name })

  const first = await app.inject({ url: '/v1/bylines?limit=2' })
  const p1 = ok(t, first)
  t.same(names(p1), ['Bravo', 'Delta'])
  t.type(p1.next, 'string')
  t.equal(first.headers.link, `</v1/bylines?limit=2&cursor=${encodeURIComponent(p1.next)}>; rel="next"`)

  await create(app, '/v1/bylines', { name: 'Alpha' })
  await create(app, '/v1/bylines', { name: 'Golf' })

  const p2 = ok(t, await app.inject({ url: /^<([^>]+)>; rel="next"$/.exec(first.headers.link as string)![1]! }))
  t.same(names(p2), ['Foxtrot', 'Golf'])
  const third = await app.inject({ url: `/v1/bylines?limit=2&cursor=${encodeURIComponent(p2.next)}` })
  const p3 = ok(t, third)
  t.same(names(p3), ['Hotel', 'Juliett'])
  let seen = [...names(p1), ...names(p2), ...names(p3)]
  if (p3.next) {
    const p4 = ok(t, await app.inject({ url: `/v1/bylines?limit=2&cursor=${encodeURIComponent(p3.next)}` }))
    t.equal(p4.next, null)
    seen = [...seen, ...names(p4)]
  } else {
    t.notOk(third.headers.link)
  }
  t.same(seen, ['Bravo', 'Delta', 'Foxtrot', 'Golf', 'Hotel', 'Juliett'], 'no duplicates, nothing skipped')

  // filtered lists paginate too, and keep their filter in the Link
  const f1 = await app.inject({ url: '/v1/bylines?q=o&limit=1' })
  t.same(names(ok(t, f1)), ['Bravo'])
  t.match(f1.headers.link, /^<\/v1\/bylines\?q=o&limit=1&cursor=[^>]+>; rel="next"$/)
  const f2 = ok(t, await app.inject({ url: /^<([^>]+)>/.exec(f1.headers.link as string)![1]! }))
  t.same(names(f2), ['Foxtrot'])

  for (const limit of ['0', '101', 'abc']) {
    const body = problem(t, await app.inject({ url: `/v1/bylines?limit=${limit}` }), 400)
    t.ok(hasError(body, '/query/limit'))
  }
  t.equal(ok(t, await app.inject({ url: '/v1/bylines?limit=100' })).data.length, 7)
  const { next } = ok(t, await app.inject({ url: '/v1/bylines?limit=1' }))
  const [payload, sum] = next.split('.')
  const forged = Buffer.from(JSON.stringify(['A', GHOST])).toString('base64url')
  for (const cursor of [`${forged}.${sum}`, `${payload}x.${sum}`, `${payload}.${sum}x`, 'nonsense']) {
    problem(t, await app.inject({ url: `/v1/bylines?limit=1&cursor=${encodeURIComponent(cursor)}` }), 400)
  }
  problem(t, await app.inject({ url: `/v1/bylines?limit=1&kind=agency&cursor=${encodeURIComponent(next)}` }), 400)
  problem(t, await app.inject({ url: `/v1/sections?limit=1&cursor=${encodeURIComponent(next)}` }), 400)
})

t.test('PATCH is a JSON merge patch', async (t) => {
  const { app } = await build(t)
  const b = await create(app, '/v1/bylines', { name: 'Wang Fang', title: 'Reporter', bio: 'Covers Harbin', url: 'https://example.com/wang' })
  const other = await create(app, '/v1/bylines', { name: 'Liu Yang' })

  const a = ok(t, await app.inject({ method: 'PATCH', url: `/v1/bylines/${b.id}`, payload: { title: 'Senior reporter', kind: 'person' } }))
  t.match(a, { id: b.id, slug: 'wang-fang', name: 'Wang Fang', title: 'Senior reporter', bio: 'Covers Harbin', url: 'https://example.com/wang', createdAt: b.createdAt })

  const c = ok(t, await app.inject({
    method: 'PATCH',
    url: `/v1/bylines/${b.id}`,
    headers: { 'content-type': 'application/merge-patch+json' },
    payload: JSON.stringify({ bio: null, url: null, name: 'Wang Fang (Harbin)' })
  }))
  t.match(c, { name: 'Wang Fang (Harbin)', slug: 'wang-fang', title: 'Senior reporter', bio: null, url: null })
  t.same(ok(t, await app.inject({ url: `/v1/bylines/${b.id}` })), c, 'stored')

  t.equal(ok(t, await app.inject({ method: 'PATCH', url: `/v1/bylines/${b.id}`, payload: { kind: 'agency' } })).kind, 'agency')
  t.equal(ok(t, await app.inject({ method: 'PATCH', url: `/v1/bylines/${b.id}`, payload: { slug: 'wang' } })).slug, 'wang')
  ok(t, await app.inject({ url: '/v1/bylines/slug/wang' }))
  problem(t, await app.inject({ method: 'PATCH', url: `/v1/bylines/${other.id}`, payload: { slug: 'wang' } }), 409)

  const before = ok(t, await app.inject({ url: `/v1/bylines/${b.id}` }))
  t.ok(hasError(problem(t, await app.inject({ method: 'PATCH', url: `/v1/bylines/${b.id}`, payload: { title: 'x', twitter: '@w' } }), 400), bodyField('/twitter')))
  problem(t, await app.inject({ method: 'PATCH', url: `/v1/bylines/${b.id}`, payload: {} }), 400)
  t.ok(hasError(problem(t, await app.inject({ method: 'PATCH', url: `/v1/bylines/${b.id}`, payload: { kind: 'robot' } }), 400), bodyField('/kind')))
  problem(t, await app.inject({ method: 'PATCH', url: `/v1/bylines/${b.id}`, payload: { kind: null } }), 400)
  problem(t, await app.inject({ method: 'PATCH', url: `/v1/bylines/${b.id}`, payload: { name: null } }), 400)
  problem(t, await app.inject({ method: 'PATCH', url: `/v1/bylines/${b.id}`, payload: { url: 'ftp://x.org' } }), 400)
  problem(t, await app.inject({ method: 'PATCH', url: `/v1/bylines/${GHOST}`, payload: { name: 'X' } }), 404)
  t.same(ok(t, await app.inject({ url: `/v1/bylines/${b.id}` })), before, 'refused patches changed nothing')
})

t.test('DELETE answers 204, and 409 while an article carries the byline', async (t) => {
  const { app } = await build(t)
  const lone = await create(app, '/v1/bylines', { name: 'Lone Wolf' })
  const res = await app.inject({ method: 'DELETE', url: `/v1/bylines/${lone.id}` })
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  problem(t, await app.inject({ url: `/v1/bylines/${lone.id}` }), 404)
  problem(t, await app.inject({ method: 'DELETE', url: `/v1/bylines/${lone.id}` }), 404)

  const xinhua = await create(app, '/v1/bylines', { name: 'Xinhua', kind: 'agency' })
  const article = await create(app, '/v1/articles', { headline: 'Expo opens', bylines: [{ bylineId: xinhua.id, role: 'agency' }] })
  t.match(article.bylines, [{ bylineId: xinhua.id, role: 'agency', name: 'Xinhua', kind: 'agency' }])
  problem(t, await app.inject({ method: 'DELETE', url: `/v1/bylines/${xinhua.id}` }), 409)
  t.same(ok(t, await app.inject({ url: `/v1/bylines/${xinhua.id}` })), xinhua, 'still there')
  t.match(ok(t, await app.inject({ url: `/v1/articles/${article.id}` })).bylines, [{ bylineId: xinhua.id }])

  ok(t, await app.inject({ method: 'PATCH', url: `/v1/articles/${article.id}`, payload: { bylines: [] } }))
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/bylines/${xinhua.id}` })).statusCode, 204, 'free once detached')
})

t.test('byline archive: published articles only, newest first', async (t) => {
  const { app } = await build(t)
  const zhang = await create(app, '/v1/bylines', { name: 'Zhang Wei' })
  const xinhua = await create(app, '/v1/bylines', { name: 'Xinhua', kind: 'agency' })
  const by = (...ids: string[]) => ids.map((bylineId, i) => ({ bylineId, role: i === 0 ? 'author' : 'agency' }))
  const article = (headline: string, bylines: object[], extra: object = {}) => create(app, '/v1/articles', { headline, bylines, ...extra })

  const older = await article('Older', by(zhang.id, xinhua.id), { status: 'published', publishedAt: ago(5) })
  const newest = await article('Newest', by(zhang.id), { status: 'published', publishedAt: ago(1) })
  const middle = await article('Middle', by(xinhua.id, zhang.id), { status: 'published', publishedAt: ago(3) })
  await article('Draft', by(zhang.id))
  await article('Scheduled', by(zhang.id), { status: 'published', publishedAt: new Date(Date.now() + DAY).toISOString() })
  await article('Archived', by(zhang.id), { status: 'archived', publishedAt: ago(2) })
  await article('Not his', by(xinhua.id), { status: 'published', publishedAt: ago(0.5) })

  const res = await app.inject({ url: `/v1/bylines/${zhang.id}/articles` })
  const archive = ok(t, res)
  t.match(archive, { data: Array, next: null })
  t.same(archive.data.map((a: any) => a.id), [newest.id, middle.id, older.id])
  t.match(archive.data[1], { headline: 'Middle', status: 'published', publishedAt: ISO, bylines: [{ bylineId: xinhua.id, role: 'author' }, { bylineId: zhang.id, role: 'agency' }] })

  t.same(ok(t, await app.inject({ url: `/v1/bylines/${xinhua.id}/articles` })).data.map((a: any) => a.headline), ['Not his', 'Middle', 'Older'])

  const p1 = await app.inject({ url: `/v1/bylines/${zhang.id}/articles?limit=2` })
  t.same(ok(t, p1).data.map((a: any) => a.headline), ['Newest', 'Middle'])
  t.match(p1.headers.link, /rel="next"/)
  const p2 = ok(t, await app.inject({ url: /^<([^>]+)>/.exec(p1.headers.link as string)![1]! }))
  t.same(p2.data.map((a: any) => a.headline), ['Older'])
  t.equal(p2.next, null)

  problem(t, await app.inject({ url: `/v1/bylines/${GHOST}/articles` }), 404)
  t.same(ok(t, await app.inject({ url: `/v1/bylines/${zhang.slug}/articles` })), archive, 'the archive by the byline\'s slug')
  problem(t, await app.inject({ url: '/v1/bylines/no-such-byline/articles' }), 404)
  problem(t, await app.inject({ url: `/v1/bylines/${zhang.id}/articles?limit=101` }), 400)
  problem(t, await app.inject({ url: `/v1/bylines/${zhang.id}/articles?status=draft` }), 400)
})

t.test('hostile input gets a 4xx problem, never a 500, and changes nothing', async (t) => {
  const { app } = await build(t)
  const post = (payload: unknown, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: '/v1/bylines', headers, payload: payload as string })
  const cases: [string, unknown, RegExp][] = [
    ['missing name', { kind: 'person' }, bodyField('/name')],
    ['name a number', { name: 7 }, bodyField('/name')],
    ['name an object', { name: { first: 'a' } }, bodyField('/name')],
    ['name too long', { name: 'n'.repeat(201) }, bodyField('/name')],
    ['control in name', { name: 'a\u0000b' }, bodyField('/name')],
    ['newline in name', { name: 'a\r\nb' }, bodyField('/name')],
    ['control in title', { name: 'ok', title: 'a\u001bb' }, bodyField('/title')],
    ['title too long', { name: 'ok', title: 't'.repeat(201) }, bodyField('/title')],
    ['bio too long', { name: 'ok', bio: 'b'.repeat(5001) }, bodyField('/bio')],
    ['control in bio', { name: 'ok', bio: 'bell\u0007' }, bodyField('/bio')],
    ['url a number', { name: 'ok', url: 5 }, bodyField('/url')],
    ['url too long', { name: 'ok', url: `https://example.com/${'p'.repeat(2000)}` }, bodyField('/url')],
    ['unknown field', { name: 'ok', email: 'a@b.c' }, bodyField('/email')]
  ]
  for (const [what, payload, path] of cases) {
    const body = problem(t, await post(payload), 400)
    t.ok(hasError(body, path), `${what}: errors name ${path} (${JSON.stringify(body.errors)})`)
  }
  for (const raw of ['{"name":', '[]', 'null', '{"name": "a",}']) problem(t, await post(raw, { 'content-type': 'application/json' }), 400)
  problem(t, await post(JSON.stringify({ name: 'Big', bio: 'b'.repeat(1024 * 1024 + 10) }), { 'content-type': 'application/json' }), 413)
  problem(t, await post('name=x', { 'content-type': 'application/x-www-form-urlencoded' }), 415)
  problem(t, await post('<byline/>', { 'content-type': 'application/xml' }), 415)

  const name = '<img src=x onerror=alert(1)>Xinhua</b>'
  const b = await create(app, '/v1/bylines', { name, bio: '<script>alert(1)</script>' })
  t.equal(b.name, name, 'markup kept as plain text')
  t.equal(b.bio, '<script>alert(1)</script>')
  t.equal(ok(t, await app.inject({ url: `/v1/bylines/${b.id}` })).name, name)
  t.equal(await create(app, '/v1/bylines', { name: 'n'.repeat(200) }).then((x) => x.name.length), 200)
  t.equal(ok(t, await app.inject({ url: '/v1/bylines' })).data.length, 2, 'only the valid creates took effect')
})

t.test("a byline's and a tag's lists follow every change of their articles: copies kept by the database, and the upgrade", async (t) => {
  const ctx = await build(t)
  const { app, anon, dataDir } = ctx
  const zhang = await create(app, '/v1/bylines', { name: 'Zhang Wei' })
  const other = await create(app, '/v1/bylines', { name: 'Li Na' })
  const article = (headline: string, extra: object = {}) =>
    create(app, '/v1/articles', { headline, bylines: [{ bylineId: zhang.id }], tags: ['energy'], ...extra })
  // credited twice (author and photographer): listed once
  const a = await article('Twice credited', { status: 'published', publishedAt: ago(3), bylines: [{ bylineId: zhang.id }, { bylineId: zhang.id, role: 'photographer' }] })
  const b = await article('Draft')
  const c = await article('Scheduled', { status: 'published', publishedAt: new Date(Date.now() + DAY).toISOString() })
  const d = await article('Archived', { status: 'archived', publishedAt: ago(4) })

  const db = await around(t, ctx)
  const differs = dialect === 'sqlite' ? 'is not' : 'is distinct from'
  const stale = () => db.all(`select 'byline' as kind, l.article_id from article_bylines l join articles a on a.id = l.article_id
      where l.status ${differs} a.status or l.published_at ${differs} a.published_at
    union all select 'tag', l.article_id from article_tags l join articles a on a.id = l.article_id
      where l.status ${differs} a.status or l.published_at ${differs} a.published_at`)
  const headlines = async (url: string, reader = anon) => {
    const res = await reader({ url })
    return ok(t, res).data.map((x: any) => x.headline)
  }
  const lists = async (what: string, expected: string[]) => {
    t.same(await stale(), [], `${what}: every credit and tag holds its article's status and publication time`)
    t.same(await headlines(`/v1/bylines/${zhang.id}/articles`), expected, `${what}: the byline's archive`)
    t.same(await headlines(`/v1/articles?byline=${zhang.id}`), expected, `${what}: the byline filter`)
    t.same(await headlines('/v1/articles?tag=energy'), expected, `${what}: the tag`)
    t.same(await headlines('/v1/articles?tag=energy&sort=publishedAt'), [...expected].reverse(), `${what}: the tag, oldest first`)
  }
  await lists('written', ['Twice credited'])
  t.same(await headlines(`/v1/articles?byline=${zhang.id}&status=draft`, app.inject.bind(app) as typeof anon), ['Draft'], 'an editor lists the drafts')
  t.same(await headlines(`/v1/articles?tag=energy&status=archived`, app.inject.bind(app) as typeof anon), ['Archived'], 'and the archived')

  const write = async (method: 'POST' | 'PATCH', url: string, payload?: object) => ok(t, await app.inject({ method, url, payload }))
  await write('POST', `/v1/articles/${b.id}/publish`)
  await lists('a draft published', ['Draft', 'Twice credited'])
  await write('POST', `/v1/articles/${a.id}/unpublish`)
  await lists('the other unpublished', ['Draft'])
  await write('POST', `/v1/articles/${c.id}/publish`, { publishedAt: ago(1) })
  await lists('the scheduled one published at an earlier date', ['Draft', 'Scheduled'])
  await write('POST', `/v1/articles/${a.id}/publish`, { publishedAt: ago(5) })
  await lists('the other published again, at its old date', ['Draft', 'Scheduled', 'Twice credited'])
  await write('PATCH', `/v1/articles/${c.id}`, { bylines: [{ bylineId: other.id }], tags: ['rail'] })
  await lists('credits and tags rewritten', ['Draft', 'Twice credited'])
  t.same(await headlines(`/v1/bylines/${other.id}/articles`), ['Scheduled'], 'the new credit lists it')
  t.same(await headlines('/v1/articles?tag=rail'), ['Scheduled'], 'the new tag lists it')

  // pages follow the cursor in the index's order
  const first = ok(t, await anon({ url: `/v1/bylines/${zhang.id}/articles?limit=1` }))
  t.same(first.data.map((x: any) => x.headline), ['Draft'])
  const second = ok(t, await anon({ url: `/v1/bylines/${zhang.id}/articles?limit=1&cursor=${encodeURIComponent(first.next)}` }))
  t.same(second.data.map((x: any) => x.headline), ['Twice credited'])
  t.equal(second.next, null)

  // an editor pages through the byline's drafts (no publication time: the keyset compares ids) and all its stories
  const editor = app.inject.bind(app) as typeof anon
  for (let i = 0; i < 3; i++) await article(`Draft ${i}`)
  for (const [query, expected] of [
    ['status=draft', ['Draft 2', 'Draft 1', 'Draft 0']],
    ['', ['Draft', 'Archived', 'Twice credited', 'Draft 2', 'Draft 1', 'Draft 0']]
  ] as const) {
    const seen: string[] = []
    let url: string | null = `/v1/articles?byline=${zhang.id}&limit=2${query ? `&${query}` : ''}`
    while (url) {
      const page: { data: { headline: string }[], next: string | null } = ok(t, await editor({ url }))
      seen.push(...page.data.map((x) => x.headline))
      url = page.next ? `/v1/articles?byline=${zhang.id}&limit=2${query ? `&${query}` : ''}&cursor=${encodeURIComponent(page.next)}` : null
    }
    t.same(seen, expected, `an editor's pages of ${query || 'every status'}: each story once, in order`)
  }

  // another process writing straight to the database (a script, a second instance)
  await db.run("update articles set status = 'archived' where id = ?", b.id)
  // the service reads the database's version once per event-loop turn: the write lands in a later one
  await new Promise((resolve) => setImmediate(resolve))
  await lists('archived by another writer', ['Twice credited'])
  // ...or adding a credit and a tag without the copies (the service writes them with its own): the database fills them
  await db.run("insert into article_bylines (article_id, position, byline_id, role) values (?, 9, ?, 'contributor')", a.id, other.id)
  await db.run("insert into article_tags (article_id, tag) values (?, 'script')", a.id)
  await new Promise((resolve) => setImmediate(resolve))
  await lists('a credit and a tag added by another writer', ['Twice credited'])
  t.same(await headlines(`/v1/bylines/${other.id}/articles`), ['Scheduled', 'Twice credited'], 'the added credit lists its published story')
  t.same(await headlines('/v1/articles?tag=script'), ['Twice credited'], 'the added tag too')

  // a database from before the copies (migrations 0014 and 0015 not yet applied): the upgrade fills them (SQLite's
  // upgrade: PostgreSQL's schema started with the copies)
  if (dialect !== 'sqlite') return
  const file = new Database(path.join(dataDir, 'cms.sqlite'))
  t.teardown(() => file.close())
  forgetMigrationsFrom(file, '0014_')
  t.notOk((file.prepare('pragma table_info(article_bylines)').all() as { name: string }[]).some((col) => col.name === 'status'), 'the copies are gone')
  file.prepare("update articles set status = 'published' where id = ?").run(d.id)
  const upgraded = await buildApp({ config: loadConfig({ DATA_DIR: dataDir }) })
  t.teardown(() => upgraded.close())
  await upgraded.ready()
  const read = (opts: InjectOptions) => upgraded.inject(opts)
  t.same(await stale(), [], 'after the upgrade: every credit and tag holds its article\'s status and publication time')
  t.same(await headlines(`/v1/bylines/${zhang.id}/articles`, read), ['Archived', 'Twice credited'], 'the upgraded archive')
  t.same(await headlines('/v1/articles?tag=energy', read), ['Archived', 'Twice credited'], 'the upgraded tag')
})
