import t from 'tap'
import { build, create, problem, ok, ISO, SLUG, bodyField, ago, DAY } from './helper.js'
import { chooseSlug } from '../src/services/slugs.js'





const names = (page: { data: { name: string }[] }) => page.data.map((s) => s.name)

t.test('create generates slugs, answers 201 with Location and the full section', async (t) => {
  const { app } = await build(t)
  const res = await app.inject({ method: 'POST', url: '/v1/sections', payload: { name: 'Harbin Today', description: 'Local news' } })
  const s = ok(t, res, 201)
  t.match(s, {
    id: String,
    slug: 'harbin-today',
    name: 'Harbin Today',
    description: 'Local news',
    parentId: null,
    position: 0,
    path: 'harbin-today',
    breadcrumb: [{ id: s.id, slug: 'harbin-today', name: 'Harbin Today' }],
    createdAt: ISO,
    updatedAt: ISO
  })
  t.equal(res.headers.location, `/v1/sections/${s.id}`)
  const again = ok(t, await app.inject({ url: res.headers.location as string }))
  t.same(again, s, 'Location points at the created section')

  const cjk = ok(t, await app.inject({ method: 'POST', url: '/v1/sections', payload: { name: '哈尔滨' } }), 201)
  t.match(cjk.slug, SLUG, 'non-Latin name gives an ascii slug')
  t.not(cjk.slug, 'untitled', 'the slug carries the name, transliterated')
  t.equal(cjk.name, '哈尔滨')
  const bySlug = ok(t, await app.inject({ url: `/v1/sections/slug/${cjk.slug}` }))
  t.equal(bySlug.id, cjk.id, 'the generated slug is usable in a URL')

  const dup = ok(t, await app.inject({ method: 'POST', url: '/v1/sections', payload: { name: 'Harbin  today!' } }), 201)
  t.equal(dup.slug, 'harbin-today-2', 'a taken generated slug gets -2')
  const dup3 = ok(t, await app.inject({ method: 'POST', url: '/v1/sections', payload: { name: 'HARBIN TODAY' } }), 201)
  t.equal(dup3.slug, 'harbin-today-3')
})

t.test('a generated slug never runs out: a name used every day gets the next number, in a few lookups', async (t) => {
  const { app } = await build(t)
  const slugs: string[] = []
  for (let i = 0; i < 30; i++) slugs.push((await create(app, '/v1/sections', { name: 'Briefing' })).slug)
  t.same(slugs, ['briefing', ...Array.from({ length: 29 }, (_, i) => `briefing-${i + 2}`)], 'numbered in turn, past ten as before it')
  const fifth = ok(t, await app.inject({ url: '/v1/sections/slug/briefing-5' }))
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/sections/${fifth.id}` })).statusCode, 204)
  t.equal((await create(app, '/v1/sections', { name: 'Briefing' })).slug, 'briefing-5', 'a number freed among the first ten is taken again')

  // the thousandth story of a name, and the millionth: the lookups grow with the number's digits, not the number
  const count = async (n: number, gaps: number[] = []) => {
    const asked: string[] = []
    const taken = new Set(['morning', ...Array.from({ length: n - 1 }, (_, i) => `morning-${i + 2}`)].filter((s) => !gaps.some((g) => s === `morning-${g}`)))
    const slug = await chooseSlug(undefined, 'Morning', async (s) => { asked.push(s); return taken.has(s) }, 'article')
    t.notOk(taken.has(slug), `${n} taken: ${slug} is free`)
    return { slug, asked: asked.length }
  }
  t.match(await count(999), { slug: 'morning-1000' })
  t.ok((await count(999)).asked <= 30, 'the thousandth in 30 lookups at most (it was 1,000, and the next a 409)')
  t.match(await count(1_000_000), { slug: 'morning-1000001' })
  t.ok((await count(1_000_000)).asked <= 60)
  t.match(await count(500, [321]), { slug: /^morning-(321|501)$/ }, 'with a gap, a free number')
})

t.test('no slug may pass for an id, nor a section\'s for the top level (`?parent=root`)', async (t) => {
  const { app } = await build(t)
  const one = await create(app, '/v1/sections', { name: 'One' })
  for (const [url, title] of [['/v1/sections', 'name'], ['/v1/bylines', 'name'], ['/v1/articles', 'headline']] as const) {
    const res = problem(t, await app.inject({ method: 'POST', url, payload: { [title]: 'Two', slug: one.id } }), 400, `${url}: another's id as a slug`)
    t.same(res.errors, [{ path: '/slug', message: 'Is shaped like an id, which lookups by id or slug would take it for' }])
  }
  const root = problem(t, await app.inject({ method: 'POST', url: '/v1/sections', payload: { name: 'Root', slug: 'root' } }), 400)
  t.match(root.errors, [{ path: '/slug', message: /^Is reserved: `\?parent=root` lists the top-level sections/ }])
  problem(t, await app.inject({ method: 'PATCH', url: `/v1/sections/${one.id}`, payload: { slug: 'root' } }), 400, 'nor by a PATCH')
  const named = await create(app, '/v1/sections', { name: 'Root' })
  t.equal(named.slug, 'root-2', 'a section named Root gets a slug that is not reserved')
  const child = await create(app, '/v1/sections', { name: 'Child', parentId: named.id })
  t.same(names(ok(t, await app.inject({ url: '/v1/sections?parent=root' }))).sort(), ['One', 'Root'], '?parent=root is the top level')
  t.same(names(ok(t, await app.inject({ url: `/v1/sections?parent=${named.slug}` }))), [child.name], 'and the section named Root is reached by its slug')
  t.equal((await create(app, '/v1/bylines', { name: 'Root' })).slug, 'root', 'a byline may be called Root')
  const idLike = await create(app, '/v1/bylines', { name: one.id })
  t.equal(idLike.slug, `${one.id}-2`, 'a name that is an id gets a slug that is not')
})

t.test('explicit slugs are kept and must be unique', async (t) => {
  const { app } = await build(t)
  const s = await create(app, '/v1/sections', { name: 'News', slug: 'the-news', position: 3 })
  t.match(s, { slug: 'the-news', position: 3, path: 'the-news' })
  const res = await app.inject({ method: 'POST', url: '/v1/sections', payload: { name: 'Other', slug: 'the-news' } })
  problem(t, res, 409)
  const list = ok(t, await app.inject({ url: '/v1/sections' }))
  t.same(names(list), ['News'], 'the refused create changed nothing')
  problem(t, await app.inject({ method: 'POST', url: '/v1/sections', payload: { name: 'X', slug: 'Not A Slug' } }), 400)
  const dashes = problem(t, await app.inject({ method: 'POST', url: '/v1/sections', payload: { name: 'X', slug: '-x-' } }), 400)
  t.same(dashes.errors, [{ path: '/slug', message: 'Must be lower-case letters and digits, words joined by single hyphens (harbin-ice-festival)' }],
    'the rule in words, not the regular expression')
})

t.test('read by id and by slug; unknown ones are 404 problems', async (t) => {
  const { app } = await build(t)
  const s = await create(app, '/v1/sections', { name: 'Sport' })
  t.same(ok(t, await app.inject({ url: `/v1/sections/${s.id}` })), s)
  t.same(ok(t, await app.inject({ url: '/v1/sections/slug/sport' })), s)
  problem(t, await app.inject({ url: '/v1/sections/00000000-0000-0000-0000-000000000000' }), 404)
  problem(t, await app.inject({ url: '/v1/sections/slug/no-such-section' }), 404)
  problem(t, await app.inject({ url: `/v1/sections/${'x'.repeat(65)}` }), 400)
  problem(t, await app.inject({ url: `/v1/sections/slug/${'x'.repeat(201)}` }), 400)
})

t.test('a malformed percent-escape in the URL is a problem document too', async (t) => {
  const { app } = await build(t)
  problem(t, await app.inject({ url: '/v1/sections/slug/%E0%A4%A' }), 400)
})

t.test('path and breadcrumb of a 3-level tree, root first, following moves', async (t) => {
  const { app } = await build(t)
  const news = await create(app, '/v1/sections', { name: 'News' })
  const world = await create(app, '/v1/sections', { name: 'World', parentId: news.id })
  const asia = await create(app, '/v1/sections', { name: 'Asia', parentId: world.id })
  const expected = {
    parentId: world.id,
    path: 'news/world/asia',
    breadcrumb: [
      { id: news.id, slug: 'news', name: 'News' },
      { id: world.id, slug: 'world', name: 'World' },
      { id: asia.id, slug: 'asia', name: 'Asia' }
    ]
  }
  t.match(asia, expected)
  t.equal(asia.breadcrumb.length, 3)
  t.match(ok(t, await app.inject({ url: `/v1/sections/${asia.id}` })), expected)
  t.match(ok(t, await app.inject({ url: '/v1/sections/slug/asia' })), expected)
  t.match(ok(t, await app.inject({ url: `/v1/sections?parent=${world.id}` })), { data: [expected] })

  // renaming an ancestor shows in the breadcrumb; moving World to the top shortens the path
  ok(t, await app.inject({ method: 'PATCH', url: `/v1/sections/${news.id}`, payload: { name: 'Latest News' } }))
  t.match(ok(t, await app.inject({ url: `/v1/sections/${asia.id}` })).breadcrumb[0], { id: news.id, slug: 'news', name: 'Latest News' })
  const moved = ok(t, await app.inject({ method: 'PATCH', url: `/v1/sections/${world.id}`, payload: { parentId: null } }))
  t.match(moved, { parentId: null, path: 'world', breadcrumb: [{ id: world.id }] })
  const after = ok(t, await app.inject({ url: `/v1/sections/${asia.id}` }))
  t.equal(after.path, 'world/asia')
  t.same(after.breadcrumb.map((c: any) => c.id), [world.id, asia.id])
})

t.test('list filters by parent and orders by position, then name', async (t) => {
  const { app } = await build(t)
  const zeta = await create(app, '/v1/sections', { name: 'Zeta', position: 0 })
  const alpha = await create(app, '/v1/sections', { name: 'Alpha', position: 1 })
  const beta = await create(app, '/v1/sections', { name: 'Beta', position: 0 })
  const c2 = await create(app, '/v1/sections', { name: 'Child two', parentId: zeta.id, position: 2 })
  const c1 = await create(app, '/v1/sections', { name: 'Child one', parentId: zeta.id, position: 5 })
  await create(app, '/v1/sections', { name: 'Grandchild', parentId: c1.id })
  await create(app, '/v1/sections', { name: 'Other child', parentId: alpha.id })

  const all = ok(t, await app.inject({ url: '/v1/sections' }))
  t.match(all, { data: Array, next: null })
  t.equal(all.data.length, 7, 'no parent filter lists every section')
  t.notOk(all.data.some((s: any) => s.position === undefined))

  const roots = ok(t, await app.inject({ url: '/v1/sections?parent=root' }))
  t.same(names(roots), ['Beta', 'Zeta', 'Alpha'], 'top level, by position then name')
  t.same(roots.data.map((s: any) => s.id), [beta.id, zeta.id, alpha.id])
  t.equal(roots.next, null)
  t.notOk(ok(t, await app.inject({ url: '/v1/sections?parent=root' })).data.some((s: any) => s.parentId !== null))

  const kids = ok(t, await app.inject({ url: `/v1/sections?parent=${zeta.id}` }))
  t.same(kids.data.map((s: any) => s.id), [c2.id, c1.id], 'only direct children, by position')
  t.match(kids.data[0], { parentId: zeta.id, path: 'zeta/child-two' })
  t.same(ok(t, await app.inject({ url: `/v1/sections?parent=${zeta.slug}` })).data, kids.data, 'the parent by its slug, as articles\' section filter takes it')
  t.same(ok(t, await app.inject({ url: '/v1/sections?parent=no-such-section' })), { data: [], next: null })

  t.same(ok(t, await app.inject({ url: '/v1/sections?parent=00000000-0000-0000-0000-000000000000' })), { data: [], next: null })

  // names of one position are in alphabetical order, whatever their case and diacritics, across pages too
  for (const name of ['zoology', 'Économie', 'arts', 'Ärzte']) await create(app, '/v1/sections', { name, parentId: alpha.id, position: 7 })
  const expected = ['Other child', 'arts', 'Ärzte', 'Économie', 'zoology']
  t.same(names(ok(t, await app.inject({ url: `/v1/sections?parent=${alpha.id}` }))), expected, 'not by code point (which put arts after Économie, Ärzte and Économie after zoology)')
  const first = ok(t, await app.inject({ url: `/v1/sections?parent=${alpha.id}&limit=3` }))
  const rest = ok(t, await app.inject({ url: `/v1/sections?parent=${alpha.id}&limit=3&cursor=${encodeURIComponent(first.next)}` }))
  t.same([...names(first), ...names(rest)], expected, 'pages follow the same order')
})

t.test('pagination follows next and Link, stable while sections are added', async (t) => {
  const { app } = await build(t)
  for (const name of ['Bravo', 'Delta', 'Foxtrot', 'Hotel', 'Juliett']) await create(app, '/v1/sections', { name })

  const first = await app.inject({ url: '/v1/sections?limit=2' })
  const p1 = ok(t, first)
  t.same(names(p1), ['Bravo', 'Delta'])
  t.type(p1.next, 'string')
  t.equal(first.headers.link, `</v1/sections?limit=2&cursor=${encodeURIComponent(p1.next)}>; rel="next"`)

  // one lands before the cursor (must not show up later), one after (must show up once)
  await create(app, '/v1/sections', { name: 'Alpha' })
  await create(app, '/v1/sections', { name: 'Golf' })

  const link = /^<([^>]+)>; rel="next"$/.exec(first.headers.link as string)
  t.ok(link, 'Link header has the next URL')
  const second = await app.inject({ url: link![1]! })
  const p2 = ok(t, second)
  t.same(names(p2), ['Foxtrot', 'Golf'])
  const third = await app.inject({ url: `/v1/sections?limit=2&cursor=${encodeURIComponent(p2.next)}` })
  const p3 = ok(t, third)
  t.same(names(p3), ['Hotel', 'Juliett'])
  // a full last page may or may not announce an empty page; follow it to the end
  let seen = [...names(p1), ...names(p2), ...names(p3)]
  let next = p3.next
  if (next) {
    t.match(third.headers.link, /rel="next"/)
    const p4 = ok(t, await app.inject({ url: `/v1/sections?limit=2&cursor=${encodeURIComponent(next)}` }))
    seen = [...seen, ...names(p4)]
    next = p4.next
  } else {
    t.notOk(third.headers.link, 'no Link on the last page')
  }
  t.equal(next, null)
  t.same(seen, ['Bravo', 'Delta', 'Foxtrot', 'Golf', 'Hotel', 'Juliett'], 'no duplicates, nothing skipped')

  const last = await app.inject({ url: '/v1/sections?limit=100' })
  t.equal(ok(t, last).data.length, 7)
  t.equal(last.headers.link, undefined, 'no Link header without a next page')
  t.equal(ok(t, await app.inject({ url: '/v1/sections' })).data.length, 7, 'default limit covers 7')
})

t.test('the default page size is 20', async (t) => {
  const { app } = await build(t)
  for (let i = 0; i < 21; i++) await create(app, '/v1/sections', { name: `S${String(i).padStart(2, '0')}` })
  const p = ok(t, await app.inject({ url: '/v1/sections' }))
  t.equal(p.data.length, 20)
  t.type(p.next, 'string')
})

t.test('limit bounds and tampered cursors are 400 problems', async (t) => {
  const { app } = await build(t)
  for (const name of ['A', 'B', 'C']) await create(app, '/v1/sections', { name })
  for (const limit of ['0', '101', 'abc', '-1', '1.5']) {
    const body = problem(t, await app.inject({ url: `/v1/sections?limit=${limit}` }), 400)
    t.match(body.errors, [{ path: '/query/limit', message: String }], `limit=${limit}`)
  }
  t.equal(ok(t, await app.inject({ url: '/v1/sections?limit=1' })).data.length, 1)
  t.equal(ok(t, await app.inject({ url: '/v1/sections?limit=100' })).data.length, 3)

  const { next } = ok(t, await app.inject({ url: '/v1/sections?limit=1' }))
  const [payload, sum] = next.split('.')
  const forged = Buffer.from(JSON.stringify([0, 'A', 'zzzz'])).toString('base64url')
  const flip = (s: string) => s.slice(0, -1) + (s.endsWith('A') ? 'B' : 'A')
  for (const cursor of [`${forged}.${sum}`, `${flip(payload)}.${sum}`, `${payload}.${flip(sum)}`, payload, `${next}.x`, 'garbage', '%%%']) {
    problem(t, await app.inject({ url: `/v1/sections?limit=1&cursor=${encodeURIComponent(cursor)}` }), 400)
  }
  // a cursor is bound to the list it came from
  problem(t, await app.inject({ url: `/v1/sections?limit=1&parent=root&cursor=${encodeURIComponent(next)}` }), 400)
  problem(t, await app.inject({ url: `/v1/bylines?limit=1&cursor=${encodeURIComponent(next)}` }), 400)
  // unknown query parameters are rejected, not ignored
  const unknown = problem(t, await app.inject({ url: '/v1/sections?sort=name' }), 400)
  t.match(unknown.errors, [{ path: '/query/sort' }])
})

t.test('PATCH is a JSON merge patch', async (t) => {
  const { app } = await build(t)
  const s = await create(app, '/v1/sections', { name: 'Business', description: 'Money', position: 4 })
  const other = await create(app, '/v1/sections', { name: 'Markets' })

  const res = await app.inject({ method: 'PATCH', url: `/v1/sections/${s.id}`, payload: { name: 'Business & Economy' } })
  const a = ok(t, res)
  t.match(a, { id: s.id, name: 'Business & Economy', description: 'Money', position: 4, slug: 'business', createdAt: s.createdAt })
  t.ok(Date.parse(a.updatedAt) >= Date.parse(s.updatedAt))

  const b = ok(t, await app.inject({
    method: 'PATCH',
    url: `/v1/sections/${s.id}`,
    headers: { 'content-type': 'application/merge-patch+json' },
    payload: JSON.stringify({ description: null, position: 1 })
  }))
  t.match(b, { name: 'Business & Economy', description: null, position: 1 }, 'null clears, absent keeps')
  t.same(ok(t, await app.inject({ url: `/v1/sections/${s.id}` })), b, 'the patch was stored')

  const c = ok(t, await app.inject({ method: 'PATCH', url: `/v1/sections/${s.id}`, payload: { slug: 'biz' } }))
  t.match(c, { slug: 'biz', path: 'biz' })
  ok(t, await app.inject({ url: '/v1/sections/slug/biz' }))
  problem(t, await app.inject({ url: '/v1/sections/slug/business' }), 404)
  problem(t, await app.inject({ method: 'PATCH', url: `/v1/sections/${other.id}`, payload: { slug: 'biz' } }), 409)
  t.equal(ok(t, await app.inject({ url: `/v1/sections/${other.id}` })).slug, 'markets')

  const unknown = problem(t, await app.inject({ method: 'PATCH', url: `/v1/sections/${s.id}`, payload: { name: 'X', colour: 'red' } }), 400)
  t.match(unknown.errors, [{ path: bodyField('/colour'), message: String }])
  const empty = problem(t, await app.inject({ method: 'PATCH', url: `/v1/sections/${s.id}`, payload: {} }), 400)
  t.match(empty.errors, [{ path: /^(\/body|\/)$/ }], 'the error points at the whole body')
  problem(t, await app.inject({ method: 'PATCH', url: `/v1/sections/${s.id}`, payload: { name: null } }), 400)
  problem(t, await app.inject({ method: 'PATCH', url: `/v1/sections/${s.id}`, payload: { slug: null } }), 400)
  problem(t, await app.inject({ method: 'PATCH', url: `/v1/sections/${s.id}`, payload: { position: 'first' } }), 400)
  problem(t, await app.inject({ method: 'PATCH', url: '/v1/sections/00000000-0000-0000-0000-000000000000', payload: { name: 'X' } }), 404)
  t.same(ok(t, await app.inject({ url: `/v1/sections/${s.id}` })), c, 'refused patches changed nothing')
})

t.test('a section cannot move under itself or a descendant, nor under an unknown parent', async (t) => {
  const { app } = await build(t)
  const a = await create(app, '/v1/sections', { name: 'A' })
  const b = await create(app, '/v1/sections', { name: 'B', parentId: a.id })
  const c = await create(app, '/v1/sections', { name: 'C', parentId: b.id })

  for (const target of [c.id, b.id, a.id]) {
    const body = problem(t, await app.inject({ method: 'PATCH', url: `/v1/sections/${a.id}`, payload: { parentId: target } }), 422)
    t.match(body.errors, [{ path: '/parentId', message: String }])
  }
  problem(t, await app.inject({ method: 'PATCH', url: `/v1/sections/${b.id}`, payload: { parentId: c.id } }), 422)
  const ghost = '00000000-0000-0000-0000-000000000000'
  const p = problem(t, await app.inject({ method: 'PATCH', url: `/v1/sections/${c.id}`, payload: { parentId: ghost } }), 422)
  t.match(p.errors, [{ path: '/parentId' }])
  const q = problem(t, await app.inject({ method: 'POST', url: '/v1/sections', payload: { name: 'Orphan', parentId: ghost } }), 422)
  t.match(q.errors, [{ path: '/parentId' }])

  t.match(ok(t, await app.inject({ url: `/v1/sections/${a.id}` })), { parentId: null, path: 'a' }, 'refused moves changed nothing')
  t.match(ok(t, await app.inject({ url: `/v1/sections/${c.id}` })), { parentId: b.id, path: 'a/b/c' })
  t.equal(ok(t, await app.inject({ url: '/v1/sections' })).data.length, 3, 'the orphan was not created')

  // a legal move: C to the top, then A under C
  ok(t, await app.inject({ method: 'PATCH', url: `/v1/sections/${c.id}`, payload: { parentId: null } }))
  const moved = ok(t, await app.inject({ method: 'PATCH', url: `/v1/sections/${a.id}`, payload: { parentId: c.id } }))
  t.match(moved, { parentId: c.id, path: 'c/a' })
  t.equal(ok(t, await app.inject({ url: `/v1/sections/${b.id}` })).path, 'c/a/b')
})

t.test('sections nest ten levels deep at most, a moved section\'s subsections counted', async (t) => {
  const { app } = await build(t)
  const chain: any[] = []
  for (let i = 1; i <= 10; i++) chain.push(await create(app, '/v1/sections', { name: `Level ${i}`, parentId: chain.at(-1)?.id }))
  t.equal(chain.at(-1).breadcrumb.length, 10)
  const deeper = problem(t, await app.inject({ method: 'POST', url: '/v1/sections', payload: { name: 'Level 11', parentId: chain.at(-1).id } }), 422)
  t.same(deeper.errors, [{ path: '/parentId', message: 'Would nest 11 levels deep, more than 10' }])
  // a branch three deep fits under level 7, not under level 8
  const top = await create(app, '/v1/sections', { name: 'Branch' })
  const mid = await create(app, '/v1/sections', { name: 'Twig', parentId: top.id })
  await create(app, '/v1/sections', { name: 'Leaf', parentId: mid.id })
  problem(t, await app.inject({ method: 'PATCH', url: `/v1/sections/${top.id}`, payload: { parentId: chain[7].id } }), 422, 'under level 8: its leaf at 11')
  t.equal(ok(t, await app.inject({ url: `/v1/sections/${top.id}` })).parentId, null, 'the refused move changed nothing')
  const moved = ok(t, await app.inject({ method: 'PATCH', url: `/v1/sections/${top.id}`, payload: { parentId: chain[6].id } }))
  t.equal(moved.breadcrumb.length, 8, 'under level 7: its leaf at 10')
  t.equal(ok(t, await app.inject({ method: 'PATCH', url: `/v1/sections/${top.id}`, payload: { name: 'Branch, renamed' } })).name, 'Branch, renamed', 'other edits of a section at the bottom are untouched')
})

t.test('DELETE answers 204, then the section is gone', async (t) => {
  const { app } = await build(t)
  const s = await create(app, '/v1/sections', { name: 'Gone' })
  const res = await app.inject({ method: 'DELETE', url: `/v1/sections/${s.id}` })
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  problem(t, await app.inject({ url: `/v1/sections/${s.id}` }), 404)
  problem(t, await app.inject({ url: '/v1/sections/slug/gone' }), 404)
  problem(t, await app.inject({ method: 'DELETE', url: `/v1/sections/${s.id}` }), 404)
  t.same(ok(t, await app.inject({ url: '/v1/sections' })), { data: [], next: null })
  t.equal((await create(app, '/v1/sections', { name: 'Gone' })).slug, 'gone', 'the slug is free again')
})

t.test('DELETE refuses while subsections or articles remain', async (t) => {
  const { app } = await build(t)
  const parent = await create(app, '/v1/sections', { name: 'Parent' })
  const child = await create(app, '/v1/sections', { name: 'Child', parentId: parent.id })
  problem(t, await app.inject({ method: 'DELETE', url: `/v1/sections/${parent.id}` }), 409)
  ok(t, await app.inject({ url: `/v1/sections/${parent.id}` }))

  const article = await create(app, '/v1/articles', { headline: 'Still here', sectionId: child.id })
  problem(t, await app.inject({ method: 'DELETE', url: `/v1/sections/${child.id}` }), 409)
  ok(t, await app.inject({ url: `/v1/sections/${child.id}` }))
  t.equal(ok(t, await app.inject({ url: `/v1/articles/${article.id}` })).sectionId, child.id, 'the article keeps its section')

  t.equal((await app.inject({ method: 'DELETE', url: `/v1/articles/${article.id}` })).statusCode, 204)
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/sections/${child.id}` })).statusCode, 204)
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/sections/${parent.id}` })).statusCode, 204)
})

t.test('section front: published articles only, newest first; descendants on request', async (t) => {
  const { app, anon } = await build(t)
  const news = await create(app, '/v1/sections', { name: 'News' })
  const world = await create(app, '/v1/sections', { name: 'World', parentId: news.id })
  const asia = await create(app, '/v1/sections', { name: 'Asia', parentId: world.id })
  const sport = await create(app, '/v1/sections', { name: 'Sport' })
  const article = (headline: string, sectionId: string, extra: object = {}) =>
    create(app, '/v1/articles', { headline, sectionId, ...extra })

  const older = await article('Older news', news.id, { status: 'published', publishedAt: ago(3) })
  const newer = await article('Newer news', news.id, { status: 'published', publishedAt: ago(1) })
  const middle = await article('Middle news', news.id, { status: 'published', publishedAt: ago(2) })
  await article('Draft news', news.id)
  await article('Scheduled news', news.id, { status: 'published', publishedAt: new Date(Date.now() + 3 * DAY).toISOString() })
  await article('Archived news', news.id, { status: 'archived', publishedAt: ago(1.5) })
  const worldStory = await article('World story', world.id, { status: 'published', publishedAt: ago(1.2) })
  const asiaStory = await article('Asia story', asia.id, { status: 'published', publishedAt: ago(0.5) })
  await article('Asia draft', asia.id)
  await article('Sport story', sport.id, { status: 'published', publishedAt: ago(0.1) })

  const front = ok(t, await app.inject({ url: `/v1/sections/${news.id}/articles` }))
  t.match(front, { data: Array, next: null })
  t.same(front.data.map((a: any) => a.id), [newer.id, middle.id, older.id], 'only published, newest first')
  t.match(front.data[0], { headline: 'Newer news', status: 'published', publishedAt: ISO, section: { id: news.id } })

  const deep = ok(t, await app.inject({ url: `/v1/sections/${news.id}/articles?descendants=true` }))
  t.same(deep.data.map((a: any) => a.headline), ['Asia story', 'Newer news', 'World story', 'Middle news', 'Older news'])
  t.same(deep.data.map((a: any) => a.id).slice(0, 1), [asiaStory.id])
  t.ok(deep.data.some((a: any) => a.id === worldStory.id))
  t.same(ok(t, await app.inject({ url: `/v1/sections/${news.id}/articles?descendants=false` })).data.map((a: any) => a.id), [newer.id, middle.id, older.id])
  t.same(ok(t, await app.inject({ url: `/v1/sections/${world.id}/articles?descendants=true` })).data.map((a: any) => a.headline), ['Asia story', 'World story'])

  const p1 = await app.inject({ url: `/v1/sections/${news.id}/articles?descendants=true&limit=2` })
  const page1 = ok(t, p1)
  t.same(page1.data.map((a: any) => a.headline), ['Asia story', 'Newer news'])
  t.match(p1.headers.link, /^<\/v1\/sections\/[^>]+\/articles\?descendants=true&limit=2&cursor=[^>]+>; rel="next"$/)
  const page2 = ok(t, await app.inject({ url: /^<([^>]+)>/.exec(p1.headers.link as string)![1]! }))
  t.same(page2.data.map((a: any) => a.headline), ['World story', 'Middle news'])

  problem(t, await app.inject({ url: `/v1/sections/${news.id}/articles?descendants=maybe` }), 400)
  problem(t, await app.inject({ url: `/v1/sections/${news.id}/articles?limit=0` }), 400)
  problem(t, await app.inject({ url: `/v1/sections/${news.id}/articles?cursor=bogus.cursor` }), 400)
  problem(t, await app.inject({ url: '/v1/sections/00000000-0000-0000-0000-000000000000/articles' }), 404)
  // by the slug a frontend holds, as by the id: the same front, and its pages follow on
  const bySlug = await app.inject({ url: `/v1/sections/${news.slug}/articles?descendants=true&limit=2` })
  t.same(ok(t, bySlug), page1, 'the front by its slug')
  t.match(bySlug.headers.link, new RegExp(`^</v1/sections/${news.slug}/articles\\?descendants=true&limit=2&cursor=`), 'its next page by the slug too')
  t.same(ok(t, await app.inject({ url: /^<([^>]+)>/.exec(bySlug.headers.link as string)![1]! })), page2)
  t.match(problem(t, await app.inject({ url: '/v1/sections/no-such-section/articles' }), 404), { detail: /no-such-section/ }, 'an unknown slug: 404 naming it')
  t.match(problem(t, await app.inject({ url: '/v1/articles?descendants=true' }), 400).errors, [{ path: '/query/descendants' }], 'descendants without a section: said, not ignored')
  t.same(ok(t, await anon({ url: `/v1/articles?section=${news.slug}&descendants=true&limit=2` })).data, page1.data, 'with one, anonymously: the front')
  t.same(ok(t, await app.inject({ url: `/v1/sections/${sport.id}/articles?descendants=true` })).data.map((a: any) => a.headline), ['Sport story'])
})

t.test('hostile input gets a 4xx problem, never a 500, and changes nothing', async (t) => {
  const { app } = await build(t)
  const post = (payload: unknown, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: '/v1/sections', headers, payload: payload as string })

  const cases: [string, unknown, RegExp][] = [
    ['missing name', {}, bodyField('/name')],
    ['name a number', { name: 42 }, bodyField('/name')],
    ['name an array', { name: ['a'] }, bodyField('/name')],
    ['name an object', { name: { $ne: null } }, bodyField('/name')],
    ['empty name', { name: '' }, bodyField('/name')],
    ['name too long', { name: 'x'.repeat(201) }, bodyField('/name')],
    ['NUL in name', { name: 'a\u0000b' }, bodyField('/name')],
    ['newline in name', { name: 'a\nb' }, bodyField('/name')],
    ['escape in name', { name: 'a\u001b[31mb' }, bodyField('/name')],
    ['DEL in name', { name: 'a\u007fb' }, bodyField('/name')],
    ['control in description', { name: 'ok', description: 'bell\u0007' }, bodyField('/description')],
    ['description too long', { name: 'ok', description: 'x'.repeat(2001) }, bodyField('/description')],
    ['position a string', { name: 'ok', position: '1' }, bodyField('/position')],
    ['position negative', { name: 'ok', position: -1 }, bodyField('/position')],
    ['position fractional', { name: 'ok', position: 0.5 }, bodyField('/position')],
    ['position huge', { name: 'ok', position: 1e20 }, bodyField('/position')],
    ['parentId a number', { name: 'ok', parentId: 7 }, bodyField('/parentId')],
    ['parentId empty', { name: 'ok', parentId: '' }, bodyField('/parentId')],
    ['unknown field', { name: 'ok', id: 'mine' }, bodyField('/id')],
    ['timestamps are not input', { name: 'ok', createdAt: '2020-01-01T00:00:00Z' }, bodyField('/createdAt')]
  ]
  for (const [what, payload, path] of cases) {
    const body = problem(t, await post(payload), 400)
    t.ok(body.errors?.some((e: any) => path.test(e.path)), `${what}: errors name ${path} (${JSON.stringify(body.errors)})`)
  }
  t.ok(problem(t, await post({ name: 'x'.repeat(200) + 'y' }), 400).detail.length > 0)
  t.equal(ok(t, await post({ name: 'x'.repeat(200) }), 201).name.length, 200, '200 characters are allowed')

  for (const raw of ['[]', 'null', '"News"', '42', '{"name": "x"', '{name: "x"}', "{'name': 'x'}", '{"name":"x"}}']) {
    problem(t, await post(raw, { 'content-type': 'application/json' }), 400)
  }
  problem(t, await post('', { 'content-type': 'application/json' }), 400)
  problem(t, await post('{"__proto__": {"admin": true}, "name": "x"}', { 'content-type': 'application/json' }), 400)
  problem(t, await post('{"constructor": {"prototype": {"admin": true}}, "name": "x"}', { 'content-type': 'application/json' }), 400)

  const huge = JSON.stringify({ name: 'Big', description: 'x'.repeat(1024 * 1024 + 10) })
  problem(t, await post(huge, { 'content-type': 'application/json' }), 413)

  problem(t, await post('name=x', { 'content-type': 'application/x-www-form-urlencoded' }), 415)
  problem(t, await post('<section><name>x</name></section>', { 'content-type': 'application/xml' }), 415)

  t.same(ok(t, await app.inject({ url: '/v1/sections' })).data.map((s: any) => s.name), ['x'.repeat(200)], 'only the valid create took effect')
})

t.test('a JSON body sent as text/plain is refused as an unsupported media type', async (t) => {
  const { app } = await build(t)
  problem(t, await app.inject({ method: 'POST', url: '/v1/sections', headers: { 'content-type': 'text/plain' }, payload: '{"name":"x"}' }), 415)
  const s = await create(app, '/v1/sections', { name: 'y' })
  problem(t, await app.inject({ method: 'PATCH', url: `/v1/sections/${s.id}`, headers: { 'content-type': 'text/plain' }, payload: '{"name":"z"}' }), 415)
})

t.test('C1 control characters are refused in one-line names', async (t) => {
  const { app } = await build(t)
  for (const name of ['a\u0085b', 'a\u009b31mb']) {
    const body = problem(t, await app.inject({ method: 'POST', url: '/v1/sections', payload: { name } }), 400)
    t.match(body.errors, [{ path: bodyField('/name') }])
  }
})

t.test('a one-line name forces no direction on what follows it: the overrides U+202D and U+202E are refused, marks and isolates kept', async (t) => {
  const { app } = await build(t)
  for (const name of ['\u202eevil', 'Harbin \u202dToday', 'a\u202eb\u202c']) {
    for (const [url, payload] of [['/v1/sections', { name }], ['/v1/bylines', { name }], ['/v1/articles', { headline: name }]] as const) {
      const body = problem(t, await app.inject({ method: 'POST', url, payload }), 400, `${url} ${JSON.stringify(payload)}`)
      t.match(body.errors, [{ path: /^\/(name|headline)$/, message: /direction overrides/ }], 'the rule in words')
    }
  }
  for (const name of ['עברית\u200f (Hebrew)', 'Li \u2067عربي\u2069 Wei', '\u202bعربي\u202c']) {
    t.equal(ok(t, await app.inject({ method: 'POST', url: '/v1/sections', payload: { name } }), 201).name, name, 'direction marks, isolates and embeddings are kept')
  }
})

t.test('a one-line name shows something and holds no line break: invisible names and U+2028/U+2029 are refused', async (t) => {
  const { app, keys } = await build(t)
  const invisible = ['\u200b', '\u200b\u200b', '\u200f', '\u00ad\u2060', '\ufeff', ' \u200d ', '\u3164', '\u3000\u00a0', '\u2800', '\u{e0020}', '\u{e0041}\u{e0101}']
  const breaks = ['a\u2028b', 'a\u2029b']
  // named by code points: a raw U+2028 in an assertion's message would break the test report's lines
  const label = (text: string) => [...text].map((c) => `U+${c.codePointAt(0)!.toString(16).padStart(4, '0')}`).join(' ')
  for (const name of [...invisible, ...breaks]) {
    for (const [url, payload] of [['/v1/sections', { name }], ['/v1/bylines', { name }], ['/v1/articles', { headline: name }], ['/v1/keys', { name, role: 'writer' }]] as const) {
      const headers = url === '/v1/keys' ? { authorization: `Bearer ${keys.admin}` } : {}
      const body = problem(t, await app.inject({ method: 'POST', url, payload, headers }), 400, `${url} ${label(name)}`)
      t.match(body.errors, [{ path: /^\/(name|headline)$/, message: /shows something/ }], 'the rule in words')
    }
  }
  // what shows is kept as sent, invisible characters within it included (a joiner in an emoji, a mark in Arabic text)
  for (const name of ['\u200bA', 'Zoë', '👩\u200d🔬 Science', 'عربي\u200f', '日本', '😀', '𠀋', '🏴\u{e0067}\u{e0062}\u{e0065}\u{e006e}\u{e0067}\u{e007f}', '⠁⠃']) {
    t.equal(ok(t, await app.inject({ method: 'POST', url: '/v1/sections', payload: { name } }), 201).name, name, label(name))
  }
})

t.test('markup and odd text in names are stored and returned as plain text', async (t) => {
  const { app } = await build(t)
  const name = '<script>alert("x")</script><img src=x onerror=alert(1)> & "quotes"'
  const res = await app.inject({ method: 'POST', url: '/v1/sections', payload: { name, description: '<b>bold</b>\nline two\ttab' } })
  const s = ok(t, res, 201)
  t.equal(s.name, name, 'returned exactly as sent')
  t.equal(s.description, '<b>bold</b>\nline two\ttab')
  t.match(s.slug, SLUG)
  t.match(s.breadcrumb, [{ name }])
  const again = await app.inject({ url: `/v1/sections/${s.id}` })
  t.match(again.headers['content-type'], /^application\/json/, 'served as JSON, never HTML')
  t.equal(again.json().name, name)

  const sql = ok(t, await app.inject({ method: 'POST', url: '/v1/sections', payload: { name: "Robert'); DROP TABLE sections;--" } }), 201)
  t.equal(sql.name, "Robert'); DROP TABLE sections;--")
  const emoji = ok(t, await app.inject({ method: 'POST', url: '/v1/sections', payload: { name: '🗞️ Ünïcödé Ελληνικά العربية' } }), 201)
  t.match(emoji.slug, SLUG)
  t.equal(ok(t, await app.inject({ url: '/v1/sections' })).data.length, 3)
  ok(t, await app.inject({ url: `/v1/sections/slug/${encodeURIComponent(emoji.slug)}` }))
  problem(t, await app.inject({ url: `/v1/sections/slug/${encodeURIComponent("x' or '1'='1")}` }), 404)
})
