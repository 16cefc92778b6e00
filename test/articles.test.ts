import t from 'tap'
import { build, upload, create, image, multipart, req, problem, ok, paths, SLUG } from './helper.js'
import type { App } from '../src/app.js'

/* eslint-disable @typescript-eslint/no-explicit-any */



const p = (text: string) => ({ type: 'paragraph', text })

async function count (app: App, query = '') {
  const res = await req(app, { method: 'GET', url: `/v1/articles?limit=100${query}` })
  return res.json().data.length as number
}

t.test('create: draft by default, 201 with Location, generated slug, revision 1', async (t) => {
  const { app } = await build(t)
  const before = Date.now()
  const res = await req(app, { method: 'POST', url: '/v1/articles', payload: { headline: 'More economic interactions between Harbin and Russia' } })
  const after = Date.now()
  t.equal(res.statusCode, 201)
  t.match(res.headers['content-type'], /^application\/json/)
  const a = res.json()
  t.equal(res.headers.location, `/v1/articles/${a.id}`)
  t.match(a, {
    id: String,
    slug: 'more-economic-interactions-between-harbin-and-russia',
    headline: 'More economic interactions between Harbin and Russia',
    summary: null,
    body: [],
    status: 'draft',
    publishedAt: null,
    revision: 1,
    sectionId: null,
    section: null,
    bylines: [],
    leadPhotoId: null,
    leadPhoto: null,
    tags: [],
    source: null,
    canonicalUrl: null,
    language: null,
    related: []
  })
  for (const field of ['createdAt', 'updatedAt']) {
    t.match(a[field], /Z$/, `${field} is UTC`)
    const ms = Date.parse(a[field])
    t.ok(ms >= before - 5 && ms <= after + 5, `${field} is now`)
  }
  const got = await req(app, { method: 'GET', url: res.headers.location as string })
  t.equal(got.statusCode, 200)
  t.same(got.json(), a, 'the Location reads back the same document')

  const again = await create(app, '/v1/articles', { headline: 'More economic interactions between Harbin and Russia' })
  t.equal(again.slug, 'more-economic-interactions-between-harbin-and-russia-2', 'a generated slug is made unique')
  t.not(again.id, a.id)
})

t.test('create: a Chinese headline gets a usable ascii slug', async (t) => {
  const { app } = await build(t)
  const a = await create(app, '/v1/articles', { headline: '哈尔滨与俄罗斯的经贸往来日益密切' })
  t.match(a.slug, SLUG)
  t.not(a.slug, 'untitled')
  t.match(a.slug, /ha-er-bin/)
  t.equal(a.headline, '哈尔滨与俄罗斯的经贸往来日益密切')
  const bySlug = await req(app, { method: 'GET', url: `/v1/articles/slug/${a.slug}` })
  t.equal(bySlug.statusCode, 200)
  t.equal(bySlug.json().id, a.id)
})

t.test('create: explicit slug is kept; a duplicate explicit slug is a 409 that creates nothing', async (t) => {
  const { app } = await build(t)
  const a = await create(app, '/v1/articles', { headline: 'Anything', slug: 'harbin-expo-2014' })
  t.equal(a.slug, 'harbin-expo-2014')
  const dup = await req(app, { method: 'POST', url: '/v1/articles', payload: { headline: 'Other', slug: 'harbin-expo-2014' } })
  t.match(problem(t, dup, 409), { detail: 'An article with slug "harbin-expo-2014" already exists', errors: [{ path: '/slug', message: 'Is taken' }] })
  t.equal(await count(app), 1, 'nothing created')
  const bad = await req(app, { method: 'POST', url: '/v1/articles', payload: { headline: 'Other', slug: 'Not A Slug' } })
  problem(t, bad, 400)
})

t.test('create: status, publishedAt and settable updatedAt', async (t) => {
  const { app } = await build(t)
  const before = Date.now()
  const pub = await create(app, '/v1/articles', { headline: 'Published now', status: 'published' })
  const after = Date.now()
  t.equal(pub.status, 'published')
  t.ok(pub.publishedAt, 'publishedAt set')
  const ms = Date.parse(pub.publishedAt)
  t.ok(ms >= before - 5 && ms <= after + 5, 'publishedAt is now')

  const dated = await create(app, '/v1/articles', { headline: 'Dated', status: 'published', publishedAt: '2014-07-02T08:00:00+08:00' })
  t.equal(dated.publishedAt, '2014-07-02T00:00:00.000Z', 'given publishedAt kept, answered in UTC')

  const archive = await create(app, '/v1/articles', {
    headline: 'Archive import', status: 'archived', publishedAt: '2014-07-01T00:00:00Z', updatedAt: '2014-07-02T00:00:00Z'
  })
  t.equal(archive.status, 'archived')
  t.equal(archive.updatedAt, '2014-07-02T00:00:00.000Z', 'editorial updatedAt kept')
  t.equal(archive.publishedAt, '2014-07-01T00:00:00.000Z')
  t.ok(Date.parse(archive.createdAt) >= before - 5, 'createdAt is still now')
  const read = (await req(app, { method: 'GET', url: `/v1/articles/${archive.id}` })).json()
  t.equal(read.updatedAt, '2014-07-02T00:00:00.000Z', 'kept on read too')
  // the editorial "Updated" date has happened: a later one is refused, by a create or a PATCH, and changes nothing
  const ahead = new Date(Date.now() + 10 * 60_000).toISOString()
  for (const write of [{ method: 'POST', url: '/v1/articles', payload: { headline: 'From the future', updatedAt: ahead } },
    { method: 'PATCH', url: `/v1/articles/${archive.id}`, payload: { updatedAt: '2099-01-01T00:00:00Z' } }] as const) {
    t.match(problem(t, await req(app, write), 422, `${write.method} updatedAt ahead`).errors, [{ path: '/updatedAt', message: 'Is in the future' }])
  }
  t.equal((await req(app, { method: 'GET', url: `/v1/articles/${archive.id}` })).json().revision, archive.revision, 'the PATCH wrote nothing')
  const skewed = await create(app, '/v1/articles', { headline: 'Clock ahead', updatedAt: new Date(Date.now() + 20_000).toISOString() })
  t.ok(skewed.updatedAt, 'a client clock a little ahead is let through')

  const draft = await create(app, '/v1/articles', { headline: 'Draft with date', publishedAt: '2030-01-01T00:00:00Z' })
  t.equal(draft.status, 'draft', 'a date alone does not publish')
})

t.test('create: every block type round-trips', async (t) => {
  const { app } = await build(t)
  const photo = await upload(app, { caption: 'Expo opens', credit: 'Xinhua', altText: 'A crowd at the expo' })
  const body = [
    { type: 'paragraph', text: 'First <b>bold</b> paragraph.' },
    { type: 'heading', level: 2, text: 'Level two' },
    { type: 'heading', level: 3, text: 'Level three' },
    { type: 'heading', level: 4, text: 'Level four' },
    { type: 'photo', photoId: photo.id },
    { type: 'quote', text: 'We welcome you', attribution: 'The mayor' },
    { type: 'quote', text: 'Unattributed' },
    { type: 'list', ordered: true, items: ['one', 'two <i>2</i>'] },
    { type: 'list', ordered: false, items: ['apple'] },
    { type: 'embed', url: 'https://www.youtube.com/watch?v=abc', title: 'Video' },
    { type: 'embed', url: 'http://example.com/map' }
  ]
  const a = await create(app, '/v1/articles', { headline: 'Blocks', body })
  const expected = body.map((b) => b.type === 'photo'
    ? {
        type: 'photo',
        photoId: photo.id,
        caption: 'Expo opens',
        captionOverride: false,
        credit: 'Xinhua',
        altText: 'A crowd at the expo',
        width: 64,
        height: 48,
        mimeType: 'image/jpeg',
        focalPoint: null,
        placeholder: photo.placeholder,
        dominantColor: photo.dominantColor,
        url: photo.url
      }
    : b)
  t.same(a.body, expected, 'create answers the body')
  const read = (await req(app, { method: 'GET', url: `/v1/articles/${a.id}` })).json()
  t.same(read.body, expected, 'read answers the same body')

  for (const level of [1, 5, 0, 2.5, '2']) {
    const res = await req(app, { method: 'POST', url: '/v1/articles', payload: { headline: 'H', body: [{ type: 'heading', level, text: 'x' }] } })
    problem(t, res, 400, `heading level ${JSON.stringify(level)}`)
  }
  const unknown = await req(app, { method: 'POST', url: '/v1/articles', payload: { headline: 'U', body: [{ type: 'video', url: 'https://x.test' }] } })
  problem(t, unknown, 400, 'unknown block type')
  const extra = await req(app, { method: 'POST', url: '/v1/articles', payload: { headline: 'U', body: [{ type: 'paragraph', text: 'x', color: 'red' }] } })
  problem(t, extra, 400, 'unknown block field')
  const noType = await req(app, { method: 'POST', url: '/v1/articles', payload: { headline: 'U', body: [{ text: 'x' }] } })
  problem(t, noType, 400, 'block without type')
  const badEmbed = await req(app, { method: 'POST', url: '/v1/articles', payload: { headline: 'U', body: [{ type: 'embed', url: 'javascript:alert(1)' }] } })
  problem(t, badEmbed, 400, 'javascript: embed')
  const emptyList = await req(app, { method: 'POST', url: '/v1/articles', payload: { headline: 'U', body: [{ type: 'list', ordered: true, items: [] }] } })
  problem(t, emptyList, 400, 'empty list')
  t.equal(await count(app), 1, 'only the valid article exists')
})

t.test('create: body text is sanitized on write', async (t) => {
  const { app } = await build(t)
  const a = await create(app, '/v1/articles', {
    headline: 'Sanitize',
    body: [
      p('Hello <script>alert(1)</script>world'),
      p('Pic <img src=x onerror="alert(1)">here'),
      p('<b style="color:red">bold</b> <span style="x">span</span>'),
      p('<a href="javascript:alert(1)">bad link</a>'),
      p('<b>b</b> <i>i</i> <em>em</em> <strong>strong</strong> <a href="https://example.com/x" onclick="steal()">ok</a>'),
      { type: 'heading', level: 2, text: 'Head<script>x</script>ing' },
      { type: 'quote', text: '<i onmouseover="x()">Quoted</i>' },
      { type: 'list', ordered: false, items: ['<b>kept</b><iframe src="https://evil.test"></iframe>'] }
    ]
  })
  const texts: string[] = a.body.map((b: any) => b.text ?? b.items.join('|'))
  t.equal(texts[0], 'Hello world', '<script> dropped with its content')
  t.equal(texts[1], 'Pic here', '<img onerror> dropped')
  t.equal(texts[2], '<b>bold</b> span', 'style attributes and unknown tags stripped, text kept')
  t.notMatch(texts[3], /javascript/i, 'javascript: href stripped')
  t.match(texts[3], /bad link/)
  t.equal(texts[4], '<b>b</b> <i>i</i> <em>em</em> <strong>strong</strong> <a href="https://example.com/x">ok</a>', 'allowed markup kept, event handlers stripped')
  t.equal(texts[5], 'Heading')
  t.equal(texts[6], '<i>Quoted</i>')
  t.equal(texts[7], '<b>kept</b>')
  for (const text of texts) t.notMatch(text, /script|onerror|onclick|onmouseover|style=|iframe|<img|<span/i, 'nothing hostile is stored')
  const read = (await req(app, { method: 'GET', url: `/v1/articles/${a.id}` })).json()
  t.same(read.body, a.body, 'stored sanitized')


  const onlyScript = await req(app, { method: 'POST', url: '/v1/articles', payload: { headline: 'Empty', body: [p('<script>x</script>')] } })
  const prob = problem(t, onlyScript, 422)
  t.same(paths(prob), ['/body/0/text'])
  const listItem = await req(app, {
    method: 'POST',
    url: '/v1/articles',
    payload: { headline: 'Empty', body: [p('fine'), { type: 'list', ordered: true, items: ['ok', '<script>x</script>'] }] }
  })
  t.same(paths(problem(t, listItem, 422)), ['/body/1/items/1'])
  // what a reader would see counts: empty tags, white space and zero-width characters show nothing
  for (const [what, text] of [['empty tags', '<b></b>'], ['a space in tags', '<b> </b>'], ['a zero-width space', '\u200b'], ['an empty link', '<a href="https://example.com"></a>'], ['nbsp', '&nbsp;']] as const) {
    t.same(paths(problem(t, await req(app, { method: 'POST', url: '/v1/articles', payload: { headline: 'Empty', body: [p(text)] } }), 422, what)), ['/body/0/text'], `${what}: named`)
  }
  t.equal(await count(app), 1, 'nothing created by the 422s')

  // a quote's attribution, an embed's title and a photo's caption override are plain text: tags are stripped
  const photo = await upload(app, { caption: 'Own caption' })
  const lines = await create(app, '/v1/articles', {
    headline: 'Lines',
    body: [
      { type: 'quote', text: 'Q', attribution: '<script>alert(1)</script>Li <b onmouseover="x()">Wei</b>' },
      { type: 'quote', text: 'Q', attribution: 'AT&T, 3 < 4 & "quoted"' },
      { type: 'embed', url: 'https://example.org/v', title: '<b>Title</b> &lt;i&gt;escaped&lt;/i&gt;' },
      { type: 'embed', url: 'https://example.org/w', title: '<img src=x onerror=alert(1)>' },
      { type: 'photo', photoId: photo.id, caption: '<i>Ice</i> castle' }
    ]
  })
  t.same(lines.body.map((b: any) => b.attribution ?? b.title ?? b.caption), ['Li Wei', 'AT&T, 3 < 4 & "quoted"', 'Title escaped', null, 'Ice castle'],
    'markup stripped, text without markup kept as typed, nothing left is null')
  t.equal(lines.body[3].title, null)
  t.equal(lines.body[4].captionOverride, true)
  t.same((await req(app, { method: 'GET', url: `/v1/articles/${lines.id}` })).json().body, lines.body, 'stored stripped')

  // angle brackets that are no HTML element's tag are text, kept as typed, with or without real tags beside them
  const typed = ['if x<y and y>z', 'John Smith <john@example.com>', 'The <Leader> speaks', 'x </ y', 'a <!-- b', '<Leader> and <b>bold</b>']
  const kept = await create(app, '/v1/articles', { headline: 'Brackets', body: typed.map((attribution) => ({ type: 'quote', text: 'Q', attribution })) })
  t.same(kept.body.map((b: any) => b.attribution), [...typed.slice(0, 5), '<Leader> and bold'])

  // a control character spelled as a character reference is refused as the character itself is
  for (const [what, block] of [['paragraph', p('a&#1;b')], ['list item', { type: 'list', ordered: false, items: ['&#x1b;[31mred'] }],
    ['heading', { type: 'heading', level: 2, text: 'x&#x7f;' }], ['attribution', { type: 'quote', text: 'Q', attribution: '<b>Li</b>&#10;Wei' }]] as const) {
    const res = await req(app, { method: 'POST', url: '/v1/articles', payload: { headline: 'Controls', body: [block] } })
    const body = problem(t, res, 400, what)
    t.match(body.errors, [{ path: /^\/body\/0\//, message: /control character/ }], `${what}: named`)
  }
  t.same((await req(app, { method: 'POST', url: '/v1/articles', payload: { headline: 'Tab', body: [p('a&#9;b&#10;c')] } })).json().body[0].text, 'a\tb\nc', 'tab and newline, allowed in text, are kept')
  // a reference to no character (HTML reads it as U+FFFD) is refused too
  for (const ref of ['&#0;', '&#x0000;', '&#xD800;', '&#56320;', '&#x110000;', '&#1114112;', `&#${'9'.repeat(400)};`]) {
    const body = problem(t, await req(app, { method: 'POST', url: '/v1/articles', payload: { headline: 'No character', body: [p(`a${ref}b`)] } }), 400, ref)
    t.match(body.errors, [{ path: '/body/0/text', message: /no character/ }], `${ref}: named`)
  }
  t.equal((await req(app, { method: 'POST', url: '/v1/articles', payload: { headline: 'Astral', body: [p('&#x10FFFF;&#xD7FF;&#xE000;&#x1F600;')] } })).statusCode, 201, 'the characters around them are kept')
})

t.test('the tag filter finds a tag however it is typed, as tags are stored: NFC, trimmed', async (t) => {
  const { app } = await build(t)
  const first = await create(app, '/v1/articles', { headline: 'One', tags: ['cafe\u0301'], status: 'published', publishedAt: '2014-07-01T00:00:00Z' })
  const second = await create(app, '/v1/articles', { headline: 'Two', tags: [' café '], status: 'published', publishedAt: '2014-07-02T00:00:00Z' })
  t.same(second.tags, ['café'])
  const ids = async (query: string) => (await req(app, { method: 'GET', url: `/v1/articles?${query}` })).json().data.map((a: any) => a.id)
  for (const spelling of ['caf%C3%A9', 'cafe%CC%81', 'caf%C3%A9%20', '%20cafe%CC%81']) t.same(await ids(`tag=${spelling}`), [second.id, first.id], spelling)
  const page = (await req(app, { method: 'GET', url: '/v1/articles?tag=caf%C3%A9&limit=1' })).json()
  t.same(await ids(`tag=cafe%CC%81&limit=1&cursor=${encodeURIComponent(page.next)}`), [first.id], 'a cursor of one spelling pages the other')
})

t.test('a tag is one tag however it is cased or written: found so, kept once in its first spelling', async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  const ids = async (query: string) => (await req(app, { method: 'GET', url: `/v1/articles?${query}` })).json().data.map((a: any) => a.id)
  const first = await create(app, '/v1/articles', {
    headline: 'One',
    tags: ['China', 'china', 'CHINA ', 'ＣＨＩＮＡ', 'Trade', 'Ürümqi', 'ürümqi', 'Straße', 'STRASSE', 'İstanbul', 'ISTANBUL', 'ΟΔΟΣ', 'οδοσ'],
    status: 'published',
    publishedAt: '2014-07-01T00:00:00Z'
  })
  t.same(first.tags, ['China', 'Trade', 'Ürümqi', 'Straße', 'İstanbul', 'ΟΔΟΣ'], 'each tag once, in the spelling first given')
  const second = await create(app, '/v1/articles', { headline: 'Two', tags: ['china'], status: 'published', publishedAt: '2014-07-02T00:00:00Z' })
  t.same(second.tags, ['china'], 'another article keeps its own spelling')
  for (const spelling of ['China', 'china', 'CHINA', 'cHiNa%20']) t.same(await ids(`tag=${spelling}`), [second.id, first.id], `tag=${spelling}`)
  for (const spelling of ['%C3%BCr%C3%BCmqi', '%C3%9Cr%C3%BCmqi', 'U%CC%88RU%CC%88MQI', 'strasse', 'STRASSE', 'stra%C3%9Fe', 'istanbul', 'ISTANBUL',
    '%C4%B0stanbul', '%CE%BF%CE%B4%CE%BF%CF%82', '%CE%BF%CE%B4%CE%BF%CF%83', '%EF%BC%A3hina']) {
    t.same(await ids(`tag=${spelling}`), spelling.endsWith('hina') ? [second.id, first.id] : [first.id], `tag=${decodeURIComponent(spelling)}: any script's case, any normal form`)
  }
  t.same(await ids('tag=chin'), [], 'a tag, not a part of one')
  const page = (await req(app, { method: 'GET', url: '/v1/articles?tag=China&limit=1' })).json()
  t.same(await ids(`tag=CHINA&limit=1&cursor=${encodeURIComponent(page.next)}`), [first.id], 'a cursor of one case pages the other')
  // a patch: the same rule, and the article's rows follow its tags
  const patched = (await req(app, { method: 'PATCH', url: `/v1/articles/${second.id}`, payload: { tags: ['Energy', 'ENERGY', 'energy'] } })).json()
  t.same(patched.tags, ['Energy'])
  t.same(await ids('tag=china'), [first.id], 'a tag taken off is no longer found')
  t.same(await ids('tag=energy'), [second.id])

  // a database from before (its rows held the tags as typed, an article could hold China and china): the upgrade
  // makes them keys, one per article
  const { dialect } = await import('./helper.js')
  const typed = [[first.id, 'China'], [first.id, 'china'], [first.id, 'Ürümqi'], [first.id, 'ΟΔΟΣ'], [first.id, 'Straße'], [first.id, 'STRASSE'], [second.id, 'ENERGY']]
  let rows: string[][]
  if (dialect === 'sqlite') {
    const Database = (await import('better-sqlite3')).default
    const { forgetMigrationsFrom } = await import('./helper.js')
    await app.close()
    const db = new Database((await import('node:path')).join(ctx.dataDir, 'cms.sqlite'))
    db.exec('delete from article_tags')
    for (const [id, tag] of typed) db.prepare("insert into article_tags (article_id, tag, status, published_at) values (?, ?, 'published', 0)").run(id, tag)
    forgetMigrationsFrom(db, '0022_')
    db.close()
    const { buildApp } = await import('../src/app.js')
    const { loadConfig } = await import('../src/config.js')
    const upgraded = await buildApp({ config: loadConfig({ DATA_DIR: ctx.dataDir }) })
    t.teardown(() => upgraded.close())
    t.same((await upgraded.inject({ url: '/v1/articles?tag=CHINA' })).json().data.map((a: any) => a.id), [first.id], 'the upgraded rows found in any case')
    const after = new Database((await import('node:path')).join(ctx.dataDir, 'cms.sqlite'), { readonly: true })
    rows = (after.prepare('select article_id, tag from article_tags order by article_id, tag').all() as { article_id: string, tag: string }[]).map((r) => [r.article_id, r.tag])
    after.close()
  } else {
    // PostgreSQL's upgrade, run again on rows written as before it
    const pg = (await import('pg')).default
    const fs = await import('node:fs')
    const db = new pg.Client({ connectionString: ctx.databaseUrl })
    await db.connect()
    try {
      await db.query('delete from article_tags')
      for (const [id, tag] of typed) await db.query('insert into article_tags (article_id, tag) values ($1, $2)', [id, tag])
      for (const statement of fs.readFileSync(new URL('../migrations/postgres/0002_tags_found_in_any_case.sql', import.meta.url), 'utf8').split('--> statement-breakpoint')) await db.query(statement)
      rows = (await db.query('select article_id, tag from article_tags order by article_id, tag')).rows.map((r: { article_id: string, tag: string }) => [r.article_id, r.tag])
    } finally {
      await db.end()
    }
  }
  t.same(rows, [[first.id, 'china'], [first.id, 'strasse'], [first.id, 'ürümqi'], [first.id, 'οδος'], [second.id, 'energy']].sort((a, b) => a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : a[1]! < b[1]! ? -1 : 1), 'one row per tag, its key')
})

t.test('language is stored in its canonical BCP 47 form; a tag that is none is a 400', async (t) => {
  const { app } = await build(t)
  for (const [sent, stored] of [['EN-us', 'en-US'], ['zh-hans-cn', 'zh-Hans-CN'], ['sr-latn-rs', 'sr-Latn-RS'], ['en', 'en']] as const) {
    t.equal((await create(app, '/v1/articles', { headline: sent, language: sent })).language, stored, sent)
  }
  const a = await create(app, '/v1/articles', { headline: 'Patched' })
  t.equal((await req(app, { method: 'PATCH', url: `/v1/articles/${a.id}`, payload: { language: 'DE-de' } })).json().language, 'de-DE')
  for (const bad of ['en-US-US', 'x-abc']) {
    t.match(problem(t, await req(app, { method: 'POST', url: '/v1/articles', payload: { headline: 'Bad', language: bad } }), 400, bad).errors, [{ path: '/language' }])
  }
  t.equal(await count(app), 5, 'the refused ones created nothing')
})

t.test('body text fits its limit as stored, so that what is read can be sent back', async (t) => {
  const { app } = await build(t)
  // `&` is stored as `&amp;`: 19,200 characters sent were 23,999 stored, over the 20,000 a write of them back may send
  for (const [what, block, path] of [
    ['paragraph', p('R&D costs rose. '.repeat(1200)), '/body/0/text'],
    ['tags closed', p('<i><b>'.repeat(2500) + 'x'), '/body/0/text'],
    ['list item', { type: 'list', ordered: false, items: ['ok', 'a&b '.repeat(1250)] }, '/body/0/items/1']
  ] as const) {
    const body = problem(t, await req(app, { method: 'POST', url: '/v1/articles', payload: { headline: 'Long', body: [block] } }), 400, what)
    t.match(body.errors, [{ path, message: /^Is [\d,]+ characters as stored, its markup escaped and closed \(& as &amp;\): at most (20,000|5,000)$/ }], `${what}: says why`)
  }
  t.equal(await count(app), 0, 'nothing created')
  const near = await create(app, '/v1/articles', { headline: 'At the limit', body: [p('R&D.'.repeat(2500))] })
  t.equal(near.body[0].text.length, 20_000, 'stored at the limit')
  const back = await req(app, { method: 'PATCH', url: `/v1/articles/${near.id}`, payload: { body: near.body } })
  t.equal(back.statusCode, 200, back.body)
  t.equal(back.json().revision, near.revision, 'sent back as read, it changes nothing')
})

t.test('a body heavy with markup is a 400 before the sanitizer spends time on it', async (t) => {
  const { app } = await build(t)
  // 10,000 characters that start markup (< and &) over the body's texts: accepted
  const full = [p('<b>x</b>'.repeat(2000)), p('AT&T '.repeat(1000)), p('&lt;'.repeat(3500)), { type: 'list', ordered: false, items: ['<i>y</i>'.repeat(500)] },
    { type: 'quote', text: 'q', attribution: '&'.repeat(250) }, { type: 'embed', url: 'https://example.org/v', title: '<'.repeat(250) }]
  const ok = await create(app, '/v1/articles', { headline: 'Heavy but allowed', body: full })
  t.equal(ok.body[0].text, '<b>x</b>'.repeat(2000))
  // one more, in any text of the body (each block type is counted), is refused; so is a PATCH, which changes nothing
  for (const extra of [p('<'), { type: 'heading', level: 2, text: '&' }, { type: 'quote', text: '<b>x</b>' },
    { type: 'list', ordered: true, items: ['a & b'] }, { type: 'embed', url: 'https://example.org/w', title: '<' }]) {
    const res = await req(app, { method: 'POST', url: '/v1/articles', payload: { headline: 'Too heavy', body: [...full, extra] } })
    const body = problem(t, res, 400, `one over, in a ${extra.type}`)
    t.match(body.errors, [{ path: '/body', message: /^Holds 10,00[12] characters that start markup \(< and &\); at most 10,000 in one article$/ }])
  }
  const heavy = await req(app, { method: 'POST', url: '/v1/articles', payload: { headline: 'Too heavy', body: [p('<b>'.repeat(300_000))] } })
  problem(t, heavy, 400, 'a 900 KB paragraph of tags')
  const patch = await req(app, { method: 'PATCH', url: `/v1/articles/${ok.id}`, headers: { 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify({ body: [...full, p('&')] }) })
  problem(t, patch, 400, 'a PATCH over the limit')
  t.equal(await count(app), 1, 'nothing created')
  t.same((await req(app, { method: 'GET', url: `/v1/articles/${ok.id}` })).json().body, ok.body, 'nothing changed')
})

t.test('a page of long stories ends before it holds more than 4 M characters of text; its cursor goes on from there', async (t) => {
  const { app } = await build(t)
  // six stories of ~900,000 characters (50 paragraphs of 18,000), published a day apart, newest last
  const text = 'word '.repeat(3600)
  for (let i = 0; i < 6; i++) {
    await create(app, '/v1/articles', { headline: `Long read ${i}`, status: 'published', publishedAt: `2015-03-0${i + 1}T00:00:00Z`, body: Array.from({ length: 50 }, () => p(text)) })
  }
  const first = (await req(app, { method: 'GET', url: '/v1/articles?limit=10' })).json()
  t.same(first.data.map((a: any) => a.headline), ['Long read 5', 'Long read 4', 'Long read 3', 'Long read 2'], 'four fit in 4 M characters, a fifth would not')
  t.type(first.next, 'string', 'the page is short, and says where to go on')
  const second = (await req(app, { method: 'GET', url: `/v1/articles?limit=10&cursor=${first.next}` })).json()
  t.same(second.data.map((a: any) => a.headline), ['Long read 1', 'Long read 0'], 'the rest, nothing twice')
  t.equal(second.next, null)
  const one = (await req(app, { method: 'GET', url: '/v1/articles?limit=1' })).json()
  t.equal(one.data.length, 1, 'a page holds at least one story, however long')
})

t.test('create: references to unknown ids are a 422 naming each path, and create nothing', async (t) => {
  const { app } = await build(t)
  const photo = await upload(app, { caption: 'c' })
  const section = await create(app, '/v1/sections', { name: 'News' })
  const byline = await create(app, '/v1/bylines', { name: 'Xinhua', kind: 'agency' })
  const missing = '00000000-0000-4000-8000-000000000000'

  const cases: [object, string[]][] = [
    [{ body: [p('x'), { type: 'photo', photoId: missing }] }, ['/body/1/photoId']],
    [{ leadPhotoId: missing }, ['/leadPhotoId']],
    [{ sectionId: missing }, ['/sectionId']],
    [{ bylines: [{ bylineId: byline.id }, { bylineId: missing }] }, ['/bylines/1/bylineId']]
  ]
  for (const [fields, expected] of cases) {
    const res = await req(app, { method: 'POST', url: '/v1/articles', payload: { headline: 'Refs', slug: 'refs', ...fields } })
    const body = problem(t, res, 422, JSON.stringify(fields))
    t.same(paths(body), expected)
  }
  const all = await req(app, {
    method: 'POST',
    url: '/v1/articles',
    payload: {
      headline: 'Refs',
      sectionId: missing,
      leadPhotoId: missing,
      bylines: [{ bylineId: missing }],
      body: [{ type: 'photo', photoId: photo.id }, { type: 'photo', photoId: missing }]
    }
  })
  const body = problem(t, all, 422)
  t.same(paths(body).sort(), ['/body/1/photoId', '/bylines/0/bylineId', '/leadPhotoId', '/sectionId'], 'every bad reference named')
  t.equal(await count(app), 0, 'nothing created')
  t.equal((await req(app, { method: 'GET', url: '/v1/articles/slug/refs' })).statusCode, 404)

  const dupByline = await req(app, {
    method: 'POST', url: '/v1/articles', payload: { headline: 'Dup', bylines: [{ bylineId: byline.id }, { bylineId: byline.id, role: 'author' }] }
  })
  const dup = problem(t, dupByline, 422)
  t.same(paths(dup), ['/bylines/1'])
  t.equal(dup.detail, 'The article lists a byline twice in one role', 'the detail says what is wrong (it spoke of things that do not exist)')
  t.equal(body.detail, 'The article refers to things that do not exist')

  // the same photo used as lead and twice in the body is fine
  const ok = await create(app, '/v1/articles', {
    headline: 'Refs',
    sectionId: section.id,
    leadPhotoId: photo.id,
    bylines: [{ bylineId: byline.id, role: 'agency' }],
    body: [{ type: 'photo', photoId: photo.id }, { type: 'photo', photoId: photo.id }]
  })
  t.equal(ok.slug, 'refs', 'the failed attempts left the slug free')
})

t.test('a changed slug: the old URL redirects to the story, and no other article takes it while the story exists', async (t) => {
  const { app, anon } = await build(t)
  const story = await create(app, '/v1/articles', { headline: 'Gas deal signed', slug: 'gas-deal', status: 'published', publishedAt: '2014-05-21T00:00:00Z' })
  const renamed = await req(app, { method: 'PATCH', url: `/v1/articles/${story.id}`, payload: { slug: 'gas-deal-signed' } })
  t.equal(renamed.json().slug, 'gas-deal-signed')
  for (const [who, send] of [['anonymous', anon], ['an editor', (o: any) => req(app, o)]] as const) {
    const old = await send({ method: 'GET', url: '/v1/articles/slug/gas-deal' })
    t.equal(old.statusCode, 301, `${who}: the old slug moved`)
    t.equal(old.headers.location, '/v1/articles/slug/gas-deal-signed', `${who}: to the current one`)
    t.equal(old.body, '', 'no body')
    t.equal((await send({ method: 'GET', url: old.headers.location as string })).json().id, story.id, `${who}: which reads the story`)
  }
  t.match((await anon({ method: 'GET', url: '/v1/articles/slug/gas-deal' })).headers['cache-control'], /^public/, 'a CDN may keep the redirect')
  // no other article takes it, by an explicit slug or a generated one
  t.match(problem(t, await req(app, { method: 'POST', url: '/v1/articles', payload: { headline: 'Another', slug: 'gas-deal' } }), 409, 'an explicit former slug'),
    { detail: /^The slug "gas-deal" was another article's, which had been published with it: its shared links still lead there/, errors: [{ path: '/slug' }] })
  problem(t, await req(app, { method: 'PATCH', url: `/v1/articles/${(await create(app, '/v1/articles', { headline: 'Third' })).id}`, payload: { slug: 'gas-deal' } }), 409, 'a former slug by a PATCH')
  t.equal((await create(app, '/v1/articles', { headline: 'Gas deal' })).slug, 'gas-deal-2', 'a generated slug passes it by')
  // renamed twice: both old URLs lead to the story; renamed back, the slug is its own again
  await req(app, { method: 'PATCH', url: `/v1/articles/${story.id}`, payload: { slug: 'russia-gas-deal' } })
  t.equal((await anon({ method: 'GET', url: '/v1/articles/slug/gas-deal' })).headers.location, '/v1/articles/slug/russia-gas-deal')
  t.equal((await anon({ method: 'GET', url: '/v1/articles/slug/gas-deal-signed' })).headers.location, '/v1/articles/slug/russia-gas-deal')
  t.equal((await req(app, { method: 'PATCH', url: `/v1/articles/${story.id}`, payload: { slug: 'gas-deal' } })).statusCode, 200, 'the story may take its own former slug back')
  t.equal((await anon({ method: 'GET', url: '/v1/articles/slug/gas-deal' })).json().id, story.id)
  t.equal((await anon({ method: 'GET', url: '/v1/articles/slug/russia-gas-deal' })).headers.location, '/v1/articles/slug/gas-deal')
  // a hidden story's former slugs are as hidden as the story
  await req(app, { method: 'POST', url: `/v1/articles/${story.id}/unpublish` })
  problem(t, await anon({ method: 'GET', url: '/v1/articles/slug/russia-gas-deal' }), 404, 'anonymous, for an unpublished story')
  t.equal((await req(app, { method: 'GET', url: '/v1/articles/slug/russia-gas-deal' })).statusCode, 301, 'an editor is still sent on')
  // deleting the story frees its slugs
  await req(app, { method: 'DELETE', url: `/v1/articles/${story.id}` })
  problem(t, await req(app, { method: 'GET', url: '/v1/articles/slug/gas-deal-signed' }), 404, 'gone with the story')
  t.equal((await create(app, '/v1/articles', { headline: 'New', slug: 'gas-deal-signed' })).slug, 'gas-deal-signed', 'and free again')

  // a story not yet out had no shared links: a slug it is given by mistake and changed is free for any story at once
  const draft = await create(app, '/v1/articles', { headline: 'Wrong one', slug: 'ice-festival' })
  await req(app, { method: 'PATCH', url: `/v1/articles/${draft.id}`, payload: { slug: 'ice-sculptures' } })
  problem(t, await req(app, { method: 'GET', url: '/v1/articles/slug/ice-festival' }), 404, 'no redirect from a draft\'s old slug')
  t.equal((await create(app, '/v1/articles', { headline: 'Right one', slug: 'ice-festival' })).slug, 'ice-festival', 'taken by the right story')
  const scheduled = await create(app, '/v1/articles', { headline: 'Embargoed', slug: 'embargoed', status: 'published', publishedAt: new Date(Date.now() + 3_600_000).toISOString() })
  await req(app, { method: 'PATCH', url: `/v1/articles/${scheduled.id}`, payload: { slug: 'embargoed-2' } })
  t.equal((await create(app, '/v1/articles', { headline: 'Other', slug: 'embargoed' })).slug, 'embargoed', 'nor a scheduled story\'s, not yet out')
  // a draft dated to an earlier print edition was never out either (its date in the past made it look so)
  const imported = await create(app, '/v1/articles', { headline: 'Import', slug: 'typo-slug', publishedAt: '2014-07-02T00:00:00Z' })
  t.equal(imported.status, 'draft')
  await req(app, { method: 'PATCH', url: `/v1/articles/${imported.id}`, payload: { slug: 'right-slug' } })
  t.equal((await create(app, '/v1/articles', { headline: 'Other', slug: 'typo-slug' })).slug, 'typo-slug', 'a dated draft\'s changed slug is free at once')
  // but a story taken down to be corrected was out with its slug: that one is kept
  const corrected = await create(app, '/v1/articles', { headline: 'Out once', slug: 'out-once', status: 'published', publishedAt: '2014-07-03T00:00:00Z' })
  await req(app, { method: 'POST', url: `/v1/articles/${corrected.id}/unpublish` })
  await req(app, { method: 'PATCH', url: `/v1/articles/${corrected.id}`, payload: { slug: 'out-once-corrected' } })
  problem(t, await req(app, { method: 'POST', url: '/v1/articles', payload: { headline: 'Other', slug: 'out-once' } }), 409, 'an unpublished story\'s slug, once out, stays its own')
})

t.test('read by id and by slug; unknown ones are problem 404s', async (t) => {
  const { app } = await build(t)
  const a = await create(app, '/v1/articles', { headline: 'Findable' })
  const byId = await req(app, { method: 'GET', url: `/v1/articles/${a.id}` })
  t.equal(byId.statusCode, 200)
  t.match(byId.headers['content-type'], /^application\/json/)
  t.same(byId.json(), a)
  const bySlug = await req(app, { method: 'GET', url: '/v1/articles/slug/findable' })
  t.equal(bySlug.statusCode, 200)
  t.same(bySlug.json(), a)
  problem(t, await req(app, { method: 'GET', url: '/v1/articles/00000000-0000-4000-8000-000000000000' }), 404)
  problem(t, await req(app, { method: 'GET', url: '/v1/articles/slug/not-there' }), 404)
  problem(t, await req(app, { method: 'GET', url: `/v1/articles/${'x'.repeat(65)}` }), 400, 'over-long id')
})

t.test('read embeds everything a page needs', async (t) => {
  const { app } = await build(t)
  const news = await create(app, '/v1/sections', { name: 'News' })
  const harbin = await create(app, '/v1/sections', { name: 'Harbin Today', parentId: news.id })
  const lead = await upload(app, { caption: 'Lead', credit: 'Photo/Xinhua', altText: 'The lead' }, await image('jpeg', 80, 60, 1))
  const inline = await upload(app, { caption: 'Expo opens', credit: 'Xinhua', altText: 'A crowd', focalX: '0.25', focalY: '0.75' }, await image('png', 40, 30, 2))
  const agency = await create(app, '/v1/bylines', { name: 'Xinhua', kind: 'agency' })
  const reporter = await create(app, '/v1/bylines', { name: 'Li Wei', title: 'Staff reporter' })
  const shooter = await create(app, '/v1/bylines', { name: 'Zhang San' })
  const target = await create(app, '/v1/articles', { headline: 'Earlier story', summary: 'What happened before', status: 'published', publishedAt: '2014-06-30T00:00:00Z' })

  const a = await create(app, '/v1/articles', {
    headline: 'Harbin expo',
    summary: 'One-line dek',
    sectionId: harbin.id,
    leadPhotoId: lead.id,
    bylines: [{ bylineId: reporter.id }, { bylineId: agency.id, role: 'agency' }, { bylineId: shooter.id, role: 'photographer' }],
    tags: ['economy', 'harbin', 'economy'],
    source: 'Xinhua',
    canonicalUrl: 'https://example.com/harbin-expo',
    language: 'en',
    body: [
      p('One'),
      { type: 'photo', photoId: inline.id },
      p('Two'),
      { type: 'photo', photoId: inline.id, caption: 'Our own caption' },
      { type: 'photo', photoId: inline.id, caption: null }
    ]
  })
  const put = await req(app, { method: 'PUT', url: `/v1/articles/${a.id}/related`, payload: [{ articleId: target.id }, { url: 'https://example.org/x', headline: 'Elsewhere', summary: 'Off site' }] })
  t.equal(put.statusCode, 200)

  const res = await req(app, { method: 'GET', url: `/v1/articles/${a.id}` })
  t.equal(res.statusCode, 200)
  const got = res.json()
  t.same(got.section, {
    id: harbin.id,
    slug: 'harbin-today',
    name: 'Harbin Today',
    path: 'news/harbin-today',
    breadcrumb: [{ id: news.id, slug: 'news', name: 'News' }, { id: harbin.id, slug: 'harbin-today', name: 'Harbin Today' }]
  })
  t.equal(got.sectionId, harbin.id)
  t.same(got.bylines, [
    { bylineId: reporter.id, role: 'author', slug: reporter.slug, name: 'Li Wei', kind: 'person', title: 'Staff reporter' },
    { bylineId: agency.id, role: 'agency', slug: agency.slug, name: 'Xinhua', kind: 'agency', title: null },
    { bylineId: shooter.id, role: 'photographer', slug: shooter.slug, name: 'Zhang San', kind: 'person', title: null }
  ], 'bylines in the given order with name, kind and role')
  t.equal(got.leadPhotoId, lead.id)
  t.same(got.leadPhoto, lead, 'lead photo is the photo record')
  const resolved = {
    type: 'photo',
    photoId: inline.id,
    credit: 'Xinhua',
    altText: 'A crowd',
    width: 40,
    height: 30,
    mimeType: 'image/png',
    focalPoint: { x: 0.25, y: 0.75 },
    placeholder: inline.placeholder,
    dominantColor: inline.dominantColor,
    url: inline.url
  }
  t.same(got.body[1], { ...resolved, caption: 'Expo opens', captionOverride: false })
  t.same(got.body[3], { ...resolved, caption: 'Our own caption', captionOverride: true }, 'block caption overrides')
  t.same(got.body[4], { ...resolved, caption: 'Expo opens', captionOverride: false }, 'null caption is no override')
  t.same(got.tags, ['economy', 'harbin'], 'tags deduplicated, order kept')
  t.match(got, { source: 'Xinhua', canonicalUrl: 'https://example.com/harbin-expo', language: 'en', summary: 'One-line dek' })
  t.match(got.related, [
    { id: String, articleId: target.id, url: null, slug: target.slug, headline: 'Earlier story', summary: 'What happened before', publishedAt: '2014-06-30T00:00:00.000Z' },
    { id: String, articleId: null, url: 'https://example.org/x', slug: null, headline: 'Elsewhere', summary: 'Off site', publishedAt: null }
  ])
  t.equal(got.related.length, 2)
  const bySlug = (await req(app, { method: 'GET', url: `/v1/articles/slug/${a.slug}` })).json()
  t.same(bySlug, got, 'the slug read is the same document')
})

t.test('PATCH is a JSON merge patch', async (t) => {
  const { app } = await build(t)
  const section = await create(app, '/v1/sections', { name: 'News' })
  const other = await create(app, '/v1/sections', { name: 'Sport' })
  const b1 = await create(app, '/v1/bylines', { name: 'Li Wei' })
  const b2 = await create(app, '/v1/bylines', { name: 'Xinhua', kind: 'agency' })
  const taken = await create(app, '/v1/articles', { headline: 'Taken slug' })
  const a = await create(app, '/v1/articles', {
    headline: 'Original',
    summary: 'Dek',
    body: [p('one'), p('two')],
    tags: ['a', 'b'],
    bylines: [{ bylineId: b1.id }],
    sectionId: section.id,
    source: 'Xinhua',
    language: 'en',
    updatedAt: '2014-07-02T00:00:00Z'
  })
  const url = `/v1/articles/${a.id}`
  const stable = (x: any) => { const { revision, updatedAt, ...rest } = x; return rest }

  const before = Date.now()
  const r1 = await req(app, { method: 'PATCH', url, headers: { 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify({ headline: 'Changed' }) })
  t.equal(r1.statusCode, 200, r1.body)
  const v1 = r1.json()
  t.same(stable(v1), { ...stable(a), headline: 'Changed' }, 'only the headline changed')
  t.equal(v1.slug, 'original', 'the slug does not follow the headline')
  t.equal(v1.revision, 2)
  t.ok(Date.parse(v1.updatedAt) >= before - 5, 'updatedAt bumped to now')

  const r2 = await req(app, { method: 'PATCH', url, payload: { summary: null, tags: ['c'] } })
  t.equal(r2.statusCode, 200, 'application/json works too')
  const v2 = r2.json()
  t.equal(v2.summary, null, 'null clears')
  t.same(v2.tags, ['c'], 'arrays replace')
  t.same(v2.body, a.body)
  t.equal(v2.revision, 3)

  const r3 = await req(app, { method: 'PATCH', url, payload: { body: [p('three')], bylines: [{ bylineId: b2.id, role: 'agency' }], sectionId: other.id } })
  const v3 = r3.json()
  t.same(v3.body, [p('three')])
  t.same(v3.bylines.map((b: any) => [b.bylineId, b.role]), [[b2.id, 'agency']])
  t.equal(v3.section.id, other.id)
  t.equal(v3.revision, 4)

  const r4 = await req(app, { method: 'PATCH', url, payload: { updatedAt: '2015-01-01T00:00:00Z', source: null } })
  t.equal(r4.json().updatedAt, '2015-01-01T00:00:00.000Z', 'a given updatedAt is kept')
  t.equal(r4.json().source, null)
  t.equal(r4.json().revision, 5)
  const read = (await req(app, { method: 'GET', url })).json()
  t.same(read, r4.json(), 'read answers what the PATCH answered')

  const unchangedChecks = async (label: string) => {
    const now = (await req(app, { method: 'GET', url })).json()
    t.same(now, read, `${label}: nothing changed`)
  }
  const unknown = await req(app, { method: 'PATCH', url, payload: { headline: 'X', color: 'red' } })
  t.same(paths(problem(t, unknown, 400)), ['/color'], 'unknown field named (a pointer into the JSON body)')
  await unchangedChecks('unknown field')
  problem(t, await req(app, { method: 'PATCH', url, payload: {} }), 400, 'empty patch')
  for (const member of ['headline', 'slug', 'status', 'updatedAt']) {
    t.same(paths(problem(t, await req(app, { method: 'PATCH', url, payload: { [member]: null } }), 400, `null ${member}: it cannot be removed`)), [`/${member}`])
  }
  await unchangedChecks('null on a member that cannot be removed')
  // a list or object that may also be null, wrong inside: the errors are the ones inside, not "must be null"
  t.same(paths(problem(t, await req(app, { method: 'PATCH', url, payload: { tags: ['ok', ''] } }), 400, 'a blank tag')), ['/tags/1'])
  t.same(paths(problem(t, await req(app, { method: 'PATCH', url, payload: { body: [{ type: 'heading', level: 9, text: 'x' }] } }), 400, 'a bad block')), ['/body/0/level'])
  t.same(paths(problem(t, await req(app, { method: 'PATCH', url, payload: { bylines: [{ bylineId: b1.id, role: 'chef' }] } }), 400, 'a bad role')), ['/bylines/0/role'])
  t.match(problem(t, await req(app, { method: 'PATCH', url, payload: { tags: 'china' } }), 400, 'a string for the list').errors, [{ path: '/tags', message: 'must be array or null' }], 'the wrong type: both branches said')
  problem(t, await req(app, { method: 'PATCH', url, payload: { status: 'live' } }), 400, 'bad status')
  problem(t, await req(app, { method: 'PATCH', url, payload: [] }), 400, 'array patch')
  problem(t, await req(app, { method: 'PATCH', url, headers: { 'content-type': 'application/merge-patch+json' }, payload: '{"headline":' }), 400, 'malformed merge patch')
  problem(t, await req(app, { method: 'PATCH', url, payload: { slug: taken.slug } }), 409, 'taken slug')
  await unchangedChecks('409')
  t.same(paths(problem(t, await req(app, { method: 'PATCH', url, payload: { sectionId: 'nope', headline: 'Y' } }), 422)), ['/sectionId'])
  t.same(paths(problem(t, await req(app, { method: 'PATCH', url, payload: { body: [p('<script>x</script>')] } }), 422)), ['/body/0/text'])
  await unchangedChecks('422')
  problem(t, await req(app, { method: 'PATCH', url: '/v1/articles/00000000-0000-4000-8000-000000000000', payload: { headline: 'x' } }), 404)

  // null removes a member (RFC 7396): the lists become empty, as an article created without them
  const emptied = await req(app, { method: 'PATCH', url, headers: { 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify({ body: null, bylines: null, tags: null }) })
  t.equal(emptied.statusCode, 200, emptied.body)
  t.match(emptied.json(), { body: [], bylines: [], tags: [], revision: read.revision + 1, headline: read.headline }, 'body, bylines and tags removed')
  const refilled = await req(app, { method: 'PATCH', url, payload: { body: read.body, bylines: read.bylines.map((b: any) => ({ bylineId: b.bylineId, role: b.role })), tags: read.tags } })
  t.same(stable(refilled.json()), stable(read), 'and set again')

  const r5 = await req(app, { method: 'PATCH', url, payload: { slug: 'fresh-slug' } })
  t.equal(r5.json().slug, 'fresh-slug')
  t.equal((await req(app, { method: 'GET', url: '/v1/articles/slug/fresh-slug' })).statusCode, 200)
  t.equal((await req(app, { method: 'GET', url: '/v1/articles/slug/original' })).statusCode, 404, 'a draft\'s old slug was never shared: it is gone')

  const t0 = Date.now()
  const r6 = await req(app, { method: 'PATCH', url, payload: { status: 'published' } })
  t.equal(r6.json().status, 'published')
  t.ok(Date.parse(r6.json().publishedAt) >= t0 - 5, 'publishing without a date publishes now')
  t.equal(r6.json().updatedAt, r5.json().updatedAt, 'a status change alone leaves the editorial updatedAt (as documented)')
  t.equal(r6.json().revision, 9, 'two more revisions: the lists removed, then set again')
})

t.test('DELETE answers 204, then 404, and removes the article from related lists', async (t) => {
  const { app } = await build(t)
  const a = await create(app, '/v1/articles', { headline: 'Going away' })
  const b = await create(app, '/v1/articles', { headline: 'Staying' })
  const c = await create(app, '/v1/articles', { headline: 'Also staying' })
  const put = await req(app, { method: 'PUT', url: `/v1/articles/${b.id}/related`, payload: [{ articleId: c.id }, { articleId: a.id }, { url: 'https://example.org', headline: 'Out' }] })
  t.equal(put.statusCode, 200)

  const del = await req(app, { method: 'DELETE', url: `/v1/articles/${a.id}` })
  t.equal(del.statusCode, 204)
  t.equal(del.body, '')
  problem(t, await req(app, { method: 'GET', url: `/v1/articles/${a.id}` }), 404)
  problem(t, await req(app, { method: 'GET', url: '/v1/articles/slug/going-away' }), 404)
  problem(t, await req(app, { method: 'DELETE', url: `/v1/articles/${a.id}` }), 404, 'second delete')
  const source = (await req(app, { method: 'GET', url: `/v1/articles/${b.id}` })).json()
  t.same(source.related.map((r: any) => r.articleId ?? r.url), [c.id, 'https://example.org'], 'the link to the deleted article is gone')
  const related = (await req(app, { method: 'GET', url: `/v1/articles/${b.id}/related` })).json()
  t.same(related.data.map((r: any) => r.articleId ?? r.url), [c.id, 'https://example.org'])
  const list = (await req(app, { method: 'GET', url: '/v1/articles' })).json()
  t.same(list.data.map((x: any) => x.id).sort(), [b.id, c.id].sort())
  const again = await create(app, '/v1/articles', { headline: 'Going away' })
  t.equal(again.slug, 'going-away', 'the slug is free again')
})

t.test('list filters', async (t) => {
  const { app } = await build(t)
  const news = await create(app, '/v1/sections', { name: 'News' })
  const harbin = await create(app, '/v1/sections', { name: 'Harbin Today', parentId: news.id })
  const district = await create(app, '/v1/sections', { name: 'Daoli', parentId: harbin.id })
  const sport = await create(app, '/v1/sections', { name: 'Sport' })
  const li = await create(app, '/v1/bylines', { name: 'Li Wei' })
  const xinhua = await create(app, '/v1/bylines', { name: 'Xinhua', kind: 'agency' })

  const mk = (headline: string, extra: object) => create(app, '/v1/articles', { headline, ...extra })
  const A = await mk('A', { sectionId: news.id, status: 'published', publishedAt: '2014-07-01T00:00:00Z', updatedAt: '2014-07-01T00:00:00Z', tags: ['economy'], bylines: [{ bylineId: li.id }] })
  const B = await mk('B', { sectionId: harbin.id, status: 'published', publishedAt: '2014-07-02T00:00:00Z', updatedAt: '2014-07-05T00:00:00Z', tags: ['economy', 'russia'], bylines: [{ bylineId: xinhua.id, role: 'agency' }] })
  const C = await mk('C', { sectionId: district.id, status: 'published', publishedAt: '2014-07-03T00:00:00Z', updatedAt: '2014-07-03T00:00:00Z', bylines: [{ bylineId: li.id }, { bylineId: xinhua.id, role: 'agency' }] })
  const D = await mk('D', { sectionId: sport.id, status: 'archived', publishedAt: '2014-06-01T00:00:00Z', updatedAt: '2014-06-01T00:00:00Z', tags: ['football'] })
  const E = await mk('E', { updatedAt: '2014-07-04T00:00:00Z' })

  const ids = async (query: string) => {
    const res = await req(app, { method: 'GET', url: `/v1/articles?${query}` })
    t.equal(res.statusCode, 200, `${query}: ${res.body.slice(0, 200)}`)
    const body = res.json()
    t.equal(body.next, null)
    return body.data.map((a: any) => a.id)
  }
  // default sort: -publishedAt, drafts (no date) last
  t.same(await ids(''), [C.id, B.id, A.id, D.id, E.id], 'default sort is -publishedAt, unpublished last')
  t.same(await ids(`section=${news.id}`), [A.id], 'section by id')
  t.same(await ids('section=news'), [A.id], 'section by slug')
  t.same(await ids('section=news&descendants=true'), [C.id, B.id, A.id], 'with descendants')
  t.same(await ids(`section=${harbin.id}&descendants=true`), [C.id, B.id])
  t.same(await ids('section=harbin-today&descendants=false'), [B.id])
  t.same(await ids('section=no-such-section'), [], 'unknown section: empty list')
  t.same(await ids(`byline=${li.id}`), [C.id, A.id], 'byline')
  t.same(await ids(`byline=${xinhua.id}`), [C.id, B.id])
  t.same(await ids(`byline=${li.slug}`), [C.id, A.id], 'byline by slug')
  t.same(await ids('byline=no-such-byline'), [], 'unknown byline: empty list')
  t.same(await ids('status=published'), [C.id, B.id, A.id], 'status published')
  t.same(await ids('status=draft'), [E.id], 'status draft')
  t.same(await ids('status=archived'), [D.id], 'status archived')
  t.same(await ids('tag=economy'), [B.id, A.id], 'tag')
  t.same(await ids('tag=nothing'), [])
  t.same(await ids('publishedAfter=2014-07-02T00:00:00Z'), [C.id, B.id], 'publishedAfter is inclusive')
  t.same(await ids('publishedBefore=2014-07-02T00:00:00Z'), [A.id, D.id], 'publishedBefore is exclusive')
  t.same(await ids('publishedAfter=2014-07-01T00:00:00Z&publishedBefore=2014-07-03T00:00:00Z'), [B.id, A.id], 'range')
  t.same(await ids(`updatedSince=${encodeURIComponent('2014-07-04T00:00:00Z')}`), [B.id, E.id], 'updatedSince is inclusive')
  t.same(await ids(`updatedSince=${encodeURIComponent('2014-07-04T08:00:00+08:00')}`), [B.id, E.id], 'offsets understood')
  t.same(await ids(`status=published&tag=economy&byline=${li.id}`), [A.id], 'filters combine')
  t.same(await ids('sort=publishedAt'), [E.id, D.id, A.id, B.id, C.id], 'publishedAt ascending: undated first')
  t.same(await ids('sort=-updatedAt'), [B.id, E.id, C.id, A.id, D.id], '-updatedAt')
  t.same(await ids('sort=updatedAt'), [D.id, A.id, C.id, E.id, B.id], 'updatedAt')
  t.same(await ids('section=%27%20or%201%3D1%20--'), [], 'injection-looking input is just a slug')

  const list = (await req(app, { method: 'GET', url: '/v1/articles?section=news' })).json()
  t.same(list.data[0], (await req(app, { method: 'GET', url: `/v1/articles/${A.id}` })).json(), 'list items are full articles')

  for (const bad of ['sort=newest', 'sort=headline', 'status=live', 'publishedAfter=yesterday', 'publishedBefore=2014-07-02',
    'updatedSince=2014-13-45T00:00:00Z', 'byline=', `byline=${'x'.repeat(201)}`, 'section=', 'limit=0', 'limit=101', 'limit=-1', 'limit=abc', 'limit=1.5', 'cursor=',
    `section=${'x'.repeat(201)}`, 'descendants=maybe']) {
    const res = await req(app, { method: 'GET', url: `/v1/articles?${bad}` })
    const body = problem(t, res, 400, bad)
    t.ok(body.errors?.length, `${bad}: errors[] says what is wrong`)
  }
  const bad = problem(t, await req(app, { method: 'GET', url: '/v1/articles?sort=newest' }), 400)
  t.match(paths(bad), ['/query/sort'])
  // a range no time is in: the dates swapped, or the same instant (publishedBefore is exclusive), however written
  for (const range of ['publishedAfter=2014-07-03T00:00:00Z&publishedBefore=2014-07-01T00:00:00Z', 'publishedAfter=2014-07-02T00:00:00Z&publishedBefore=2014-07-02T00:00:00Z',
    `publishedAfter=${encodeURIComponent('2014-07-02T08:00:00+08:00')}&publishedBefore=2014-07-02T00:00:00Z`, 'publishedAfter=2014-07-03T00:00:00Z&publishedBefore=2014-07-01T00:00:00Z&q=gas']) {
    const empty = problem(t, await req(app, { method: 'GET', url: `/v1/articles?${range}` }), 400, range)
    t.match(empty, { detail: /publishedAfter \(inclusive\) must be earlier than publishedBefore \(exclusive\)/, errors: [{ path: '/query/publishedBefore' }] }, range)
  }
  t.same(await ids(`publishedAfter=2014-07-02T00:00:00Z&publishedBefore=${encodeURIComponent('2014-07-02T00:00:00.001Z')}`), [B.id], 'a range of one millisecond')
})

t.test('limit bounds and the default page size', async (t) => {
  const { app } = await build(t)
  for (let i = 0; i < 22; i++) await create(app, '/v1/articles', { headline: `Story ${i}` })
  const def = await req(app, { method: 'GET', url: '/v1/articles' })
  t.equal(def.json().data.length, 20, 'default 20')
  t.type(def.json().next, 'string')
  t.match(def.headers.link, /^<\/v1\/articles\?cursor=[^>]+>; rel="next"$/)
  const one = await req(app, { method: 'GET', url: '/v1/articles?limit=1' })
  t.equal(one.json().data.length, 1)
  const max = await req(app, { method: 'GET', url: '/v1/articles?limit=100' })
  t.equal(max.json().data.length, 22)
  t.equal(max.json().next, null)
  t.notOk(max.headers.link, 'no Link on the last page')
  t.equal((await req(app, { method: 'GET', url: '/v1/articles?limit=007' })).json().data.length, 7, 'leading zeros are still digits')
  // what JavaScript would read as a number, but is not a number written in decimal digits
  for (const written of ['1e1', '0x10', '0b101', '0o7', '%207', '7%20', '+5', '5.', 'Infinity', '1_0']) {
    const body = problem(t, await req(app, { method: 'GET', url: `/v1/articles?limit=${written}` }), 400, `limit=${written}`)
    t.same(body.errors, [{ path: '/query/limit', message: 'must be an integer written in decimal digits' }], `limit=${written}: named`)
  }
  problem(t, await req(app, { method: 'GET', url: '/v1/articles?limit=5&limit=0x10' }), 400, 'each of a repeated parameter is checked')
  const first = (await req(app, { method: 'GET', url: '/v1/articles?limit=1' })).json().data[0]
  const rev = problem(t, await req(app, { method: 'GET', url: `/v1/articles/${first.id}/revisions/0x1` }), 400, 'path numbers too')
  t.same(rev.errors?.map((e: { path: string }) => e.path), ['/params/n'])
})

type Known = { id: string, publishedAt: number | null, updatedAt: number }

function expectedOrder (items: Known[], sort: string): string[] {
  const desc = sort.startsWith('-')
  const field = sort.replace('-', '') as 'publishedAt' | 'updatedAt'
  return [...items].sort((x, y) => {
    const a = x[field]
    const b = y[field]
    let c: number
    if (a === b) c = x.id < y.id ? -1 : x.id > y.id ? 1 : 0
    else if (a === null) c = -1
    else if (b === null) c = 1
    else c = a - b
    return desc ? -c : c
  }).map((x) => x.id)
}

t.test('keyset pagination is stable while new articles arrive, for every sort', async (t) => {
  const { app } = await build(t)
  const known: Known[] = []
  const remember = (a: any) => {
    known.push({ id: a.id, publishedAt: a.publishedAt === null ? null : Date.parse(a.publishedAt), updatedAt: Date.parse(a.updatedAt) })
    return a
  }
  const originals: string[] = []
  for (let i = 0; i < 16; i++) {
    const publishedAt = i < 4 ? '2020-01-01T00:00:00Z' : i < 12 ? `2020-01-${String(i).padStart(2, '0')}T00:00:00Z` : undefined
    const a = remember(await create(app, '/v1/articles', {
      headline: `Original ${i}`,
      ...(publishedAt ? { status: 'published', publishedAt } : {}),
      updatedAt: `2021-01-0${1 + (i % 3)}T00:00:00Z`
    }))
    originals.push(a.id)
  }
  let inserted = 0
  const insert = async () => {
    const n = inserted++
    const variants = [
      { status: 'published' }, // newest of all
      { status: 'published', publishedAt: '2019-06-01T00:00:00Z', updatedAt: '2021-01-02T00:00:00Z' }, // oldest published, tied update
      { updatedAt: '2021-01-01T00:00:00Z' }, // a draft among the drafts
      { status: 'published', publishedAt: '2020-01-01T00:00:00Z' } // tied with the originals
    ]
    remember(await create(app, '/v1/articles', { headline: `Inserted ${n}`, ...variants[n % variants.length] }))
  }

  for (const sort of ['', '-publishedAt', 'publishedAt', '-updatedAt', 'updatedAt']) {
    const effective = sort || '-publishedAt'
    const all = (await req(app, { method: 'GET', url: `/v1/articles?limit=100${sort ? `&sort=${sort}` : ''}` })).json()
    t.same(all.data.map((a: any) => a.id), expectedOrder(known, effective), `${effective}: full order`)

    const seen: string[] = []
    let url: string | null = `/v1/articles?limit=3${sort ? `&sort=${sort}` : ''}`
    let pages = 0
    while (url) {
      const res = await req(app, { method: 'GET', url })
      t.equal(res.statusCode, 200, `${effective} page ${pages}: ${res.body.slice(0, 200)}`)
      const body = res.json()
      t.ok(body.data.length <= 3)
      seen.push(...body.data.map((a: any) => a.id))
      if (body.next) {
        const link = res.headers.link as string
        t.match(link, /; rel="next"$/)
        const linked = link.slice(1, link.indexOf('>'))
        t.equal(new URL(linked, 'http://x').searchParams.get('cursor'), body.next, 'Link carries the cursor')
        if (sort) t.equal(new URL(linked, 'http://x').searchParams.get('sort'), sort, 'Link keeps the query')
        url = linked
      } else {
        t.notOk(res.headers.link)
        url = null
      }
      await insert()
      if (++pages > 60) throw new Error('pagination does not end')
    }
    t.equal(new Set(seen).size, seen.length, `${effective}: no duplicates`)
    const originalSeen = seen.filter((id) => originals.includes(id))
    t.same(originalSeen, expectedOrder(known.filter((k) => originals.includes(k.id)), effective), `${effective}: every original once, in order`)
  }
})

t.test('cursors are opaque and bound to their list', async (t) => {
  const { app } = await build(t)
  for (let i = 0; i < 5; i++) await create(app, '/v1/articles', { headline: `S${i}`, status: 'published', publishedAt: `2020-01-0${i + 1}T00:00:00Z` })
  const first = (await req(app, { method: 'GET', url: '/v1/articles?limit=2' })).json()
  const cursor: string = first.next
  t.type(cursor, 'string')
  const ok = await req(app, { method: 'GET', url: `/v1/articles?limit=2&cursor=${encodeURIComponent(cursor)}` })
  t.equal(ok.statusCode, 200)
  t.notSame(ok.json().data.map((a: any) => a.id), first.data.map((a: any) => a.id))

  const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1)
  const tampered = [
    flip(cursor, 2),
    flip(cursor, cursor.length - 1),
    `${Buffer.from(JSON.stringify([0, 'x'])).toString('base64url')}.${cursor.split('.')[1]}`,
    cursor.split('.')[0]!,
    `${cursor}.x`,
    'garbage',
    '....'
  ]
  for (const c of tampered) {
    problem(t, await req(app, { method: 'GET', url: `/v1/articles?cursor=${encodeURIComponent(c)}` }), 400, `cursor ${c}`)
  }
  const updated = (await req(app, { method: 'GET', url: '/v1/articles?limit=2&sort=-updatedAt' })).json()
  problem(t, await req(app, { method: 'GET', url: `/v1/articles?limit=2&cursor=${encodeURIComponent(updated.next)}` }), 400, 'a -updatedAt cursor with the default sort')
  problem(t, await req(app, { method: 'GET', url: `/v1/articles?limit=2&sort=publishedAt&cursor=${encodeURIComponent(cursor)}` }), 400, 'a -publishedAt cursor with publishedAt')
  const invalid = problem(t, await req(app, { method: 'GET', url: '/v1/articles?cursor=garbage' }), 400)
  t.match(invalid.errors, [{ path: '/query/cursor', message: /cursor/ }], 'errors[] names the cursor')

  // bound to the filters too: a cursor goes on with the list it came from, and no other
  const section = await create(app, '/v1/sections', { name: 'News', slug: 'news' })
  for (let i = 0; i < 3; i++) await create(app, '/v1/articles', { headline: `N${i}`, status: 'published', sectionId: section.id, tags: ['a'], publishedAt: `2019-01-0${i + 1}T00:00:00Z` })
  const front = (await req(app, { method: 'GET', url: `/v1/sections/${section.id}/articles?limit=1` })).json()
  const tagged = (await req(app, { method: 'GET', url: '/v1/articles?tag=a&limit=1' })).json()
  const same = await req(app, { method: 'GET', url: `/v1/articles?section=${section.id}&limit=1&cursor=${encodeURIComponent(front.next)}` })
  t.equal(same.statusCode, 200, 'a section front\'s cursor goes on with the same filter on the archive')
  t.same(same.json().data.map((a: any) => a.headline), ['N1'])
  const foreign: [string, string][] = [
    [`/v1/articles?limit=1&cursor=${encodeURIComponent(front.next)}`, 'a section front\'s cursor on the whole archive'],
    [`/v1/articles?tag=b&limit=1&cursor=${encodeURIComponent(tagged.next)}`, 'a tag=a cursor with tag=b'],
    [`/v1/articles?tag=a&status=published&limit=1&cursor=${encodeURIComponent(tagged.next)}`, 'a cursor with a filter added'],
    [`/v1/articles?limit=1&cursor=${encodeURIComponent(tagged.next)}`, 'a cursor with its filter dropped'],
    [`/v1/articles?section=${section.id}&descendants=true&limit=1&cursor=${encodeURIComponent(front.next)}`, 'a cursor with descendants added']
  ]
  for (const [url, what] of foreign) problem(t, await req(app, { method: 'GET', url }), 400, what)
})

t.test('hostile input is a 4xx, never a 500, and creates nothing', async (t) => {
  const { app } = await build(t)
  // not `req`: a 500 here fails its own assertion without stopping the other cases
  const post = (payload: any, headers: Record<string, string> = {}) => app.inject({ method: 'POST', url: '/v1/articles', payload, headers })

  t.equal((await post({ headline: 'x'.repeat(300) })).statusCode, 201, '300 characters is fine')
  problem(t, await post({ headline: 'x'.repeat(301) }), 400, 'headline over 300')
  problem(t, await post({ headline: '' }), 400, 'empty headline')
  problem(t, await post({}), 400, 'missing headline')
  t.same(paths(problem(t, await post({}), 400)), ['/headline'])
  t.same(paths(problem(t, await post({ headline: 'x', body: [p('ok'), { type: 'heading', level: 9, text: 'x' }] }), 400)), ['/body/1/level'])
  for (const ch of ['\u0000', '\u0007', '\n', '\u001b', '\u007f']) {
    problem(t, await post({ headline: `Bad${ch}headline` }), 400, `control char ${JSON.stringify(ch)} in headline`)
  }
  problem(t, await post({ headline: 'x', summary: 'bell\u0007' }), 400, 'control char in summary')
  problem(t, await post({ headline: 'x', body: [p('nul\u0000')] }), 400, 'NUL in text')
  const blocks = Array.from({ length: 1000 }, (_, i) => p(`b${i}`))
  t.equal((await post({ headline: 'Many blocks', body: blocks })).statusCode, 201, '1000 blocks are fine')
  problem(t, await post({ headline: 'Too many blocks', body: [...blocks, p('one more')] }), 400, '1001 blocks')

  const wrong: [string, object][] = [
    ['headline number', { headline: 5 }],
    ['headline array', { headline: ['x'] }],
    ['body object', { headline: 'x', body: { type: 'paragraph', text: 'x' } }],
    ['body string', { headline: 'x', body: 'text' }],
    ['block null', { headline: 'x', body: [null] }],
    ['block number', { headline: 'x', body: [1] }],
    ['block string', { headline: 'x', body: ['text'] }],
    ['block array', { headline: 'x', body: [[]] }],
    ['block type number', { headline: 'x', body: [{ type: 5, text: 'x' }] }],
    ['block type null', { headline: 'x', body: [{ type: null, text: 'x' }] }],
    ['block type constructor', { headline: 'x', body: [{ type: 'constructor', text: 'x' }] }],
    ['text number', { headline: 'x', body: [{ type: 'paragraph', text: 1 }] }],
    ['tags string', { headline: 'x', tags: 'a,b' }],
    ['tags numbers', { headline: 'x', tags: [1, 2] }],
    ['too many tags', { headline: 'x', tags: Array.from({ length: 51 }, (_, i) => `t${i}`) }],
    ['bylines objects', { headline: 'x', bylines: [{ bylineId: 1 }] }],
    ['byline role', { headline: 'x', bylines: [{ bylineId: 'b', role: 'editor' }] }],
    ['sectionId number', { headline: 'x', sectionId: 12 }],
    ['status', { headline: 'x', status: 'live' }],
    ['publishedAt', { headline: 'x', publishedAt: 'last tuesday' }],
    ['updatedAt null', { headline: 'x', updatedAt: null }],
    ['updatedAt date only', { headline: 'x', updatedAt: '2014-07-02' }],
    ['canonicalUrl', { headline: 'x', canonicalUrl: 'javascript:alert(1)' }],
    ['language', { headline: 'x', language: 'english please' }],
    ['unknown field', { headline: 'x', author: 'me' }],
    ['revision', { headline: 'x', revision: 7 }],
    ['id', { headline: 'x', id: 'mine' }]
  ]
  for (const [label, payload] of wrong) problem(t, await post(payload), 400, label)

  const huge = JSON.stringify({ headline: 'Huge', body: [p('x'.repeat(1024 * 1024 + 10))] })
  const tooLarge = problem(t, await post(huge, { 'content-type': 'application/json' }), 413, 'body over 1 MiB')
  t.match(tooLarge, { code: 'CMS_PAYLOAD_TOO_LARGE', detail: 'The body is larger than the 1,048,576 bytes accepted here' })
  problem(t, await post('{"headline": "x",', { 'content-type': 'application/json' }), 400, 'malformed JSON')
  problem(t, await post('', { 'content-type': 'application/json' }), 400, 'empty JSON body')
  problem(t, await post('null', { 'content-type': 'application/json' }), 400, 'null body')
  problem(t, await post('[]', { 'content-type': 'application/json' }), 400, 'array body')
  problem(t, await post('{"headline":"x","__proto__":{"admin":true}}', { 'content-type': 'application/json' }), 400, '__proto__')
  problem(t, await post('headline=x', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'form body')
  const text = problem(t, await post('hello', { 'content-type': 'text/plain' }), 415, 'text body')
  t.match(text, { code: 'CMS_UNSUPPORTED_MEDIA_TYPE', detail: 'Content-Type "text/plain" is not accepted here: send application/json' }, 'says what is accepted')
  // forms are read by the photo uploads only
  const form = multipart({ headline: 'x' }, { data: Buffer.from('x') })
  problem(t, await post(form.payload, form.headers), 415, 'multipart form')

  const list = (await req(app, { method: 'GET', url: '/v1/articles?limit=100' })).json()
  t.same(list.data.map((a: any) => a.headline).sort(), ['Many blocks', 'x'.repeat(300)].sort(), 'only the valid articles exist')
})

t.test('a body block that is not an object is a 400 and never poisons later reads', async (t) => {
  const { app } = await build(t)
  const a = await create(app, '/v1/articles', { headline: 'Healthy', body: [p('fine')] })
  for (const block of [null, 1, 'text', [], true]) {
    const created = await app.inject({ method: 'POST', url: '/v1/articles', payload: { headline: 'Poison', body: [p('ok'), block] } })
    problem(t, created, 400, `create with block ${JSON.stringify(block)}`)
    const patched = await app.inject({ method: 'PATCH', url: `/v1/articles/${a.id}`, payload: { body: [block] } })
    problem(t, patched, 400, `patch with block ${JSON.stringify(block)}`)
  }
  const list = await app.inject({ method: 'GET', url: '/v1/articles' })
  t.equal(list.statusCode, 200, 'the list still answers')
  t.same(list.json().data?.map((x: any) => x.headline), ['Healthy'], 'nothing was stored')
  const read = await app.inject({ method: 'GET', url: `/v1/articles/${a.id}` })
  t.equal(read.statusCode, 200, 'the article still reads')
  t.same(read.json().body, [p('fine')], 'its body is untouched')
  t.equal(read.json().revision, 1)
})

t.test('a leap second (23:59:60, valid RFC 3339 that no Date can hold) is a 400 wherever a date goes, never a 500', async (t) => {
  const { app } = await build(t)
  const a = await create(app, '/v1/articles', { headline: 'Dated' })
  const writes: [string, string, object, string][] = [
    ['POST', '/v1/articles', { headline: 'x', updatedAt: '2016-12-31T23:59:60Z' }, '/updatedAt'],
    ['POST', '/v1/articles', { headline: 'x', status: 'published', publishedAt: '2016-12-31T23:59:60.5Z' }, '/publishedAt'],
    ['PATCH', `/v1/articles/${a.id}`, { publishedAt: '2017-01-01T00:59:60+01:00' }, '/publishedAt'],
    ['POST', `/v1/articles/${a.id}/publish`, { publishedAt: '2030-06-30T23:59:60Z' }, '/publishedAt']
  ]
  for (const [method, url, payload, path] of writes) {
    const body = problem(t, await req(app, { method: method as 'POST', url, payload }), 400, `${method} ${url} ${JSON.stringify(payload)}`)
    t.same(paths(body), [path])
  }
  for (const filter of ['publishedAfter', 'publishedBefore', 'updatedSince']) {
    problem(t, await req(app, { method: 'GET', url: `/v1/articles?${filter}=2016-12-31T23:59:60Z` }), 400, filter)
  }
  t.equal(await count(app), 1, 'nothing created')
  const read = (await req(app, { method: 'GET', url: `/v1/articles/${a.id}` })).json()
  t.match(read, { status: 'draft', publishedAt: null, revision: 1 }, 'nothing changed')
  t.ok(await create(app, '/v1/articles', { headline: 'y', updatedAt: '2016-12-31T23:59:59.999Z' }), 'the moment before is fine')
})

t.test('ids in a path or a query string are read in any case (a UUID is, as input): Swift writes them in upper case', async (t) => {
  const { app, anon } = await build(t)
  const section = await create(app, '/v1/sections', { name: 'World' })
  const byline = await create(app, '/v1/bylines', { name: 'Li Wei' })
  const target = await create(app, '/v1/articles', { headline: 'Target', status: 'published' })
  const a = await create(app, '/v1/articles', { headline: 'Cased', sectionId: section.id, bylines: [{ bylineId: byline.id }], status: 'published' })
  const upper = (id: string) => id.toUpperCase()
  const read = await anon({ url: `/v1/articles/${upper(a.id)}` })
  t.equal(read.statusCode, 200, read.body)
  t.same(read.json(), (await anon({ url: `/v1/articles/${a.id}` })).json(), 'the same article')
  const patched = await req(app, { method: 'PATCH', url: `/v1/articles/${upper(a.id)}`, payload: { summary: 'Read in any case' } })
  t.equal(patched.statusCode, 200, patched.body)
  const links = (await req(app, { method: 'PUT', url: `/v1/articles/${upper(a.id)}/related`, payload: [{ articleId: target.id }] })).json().data
  t.equal((await req(app, { method: 'DELETE', url: `/v1/articles/${a.id}/related/${upper(links[0].id)}` })).statusCode, 204, 'a link by its id in upper case')
  const ids = async (query: string) => (await anon({ url: `/v1/articles?${query}` })).json().data.map((x: any) => x.id)
  t.same(await ids(`section=${upper(section.id)}`), [a.id], 'section=')
  t.same(await ids(`byline=${upper(byline.id)}`), [a.id], 'byline=')
  t.equal((await anon({ url: `/v1/sections/${upper(section.id)}/articles` })).json().data[0]?.id, a.id, 'a front')
  t.equal((await anon({ url: `/v1/bylines/${upper(byline.id)}/articles` })).json().data[0]?.id, a.id, 'an archive')
  t.equal((await anon({ url: `/v1/sections/${upper(section.id)}` })).statusCode, 200, 'a section')
  problem(t, await anon({ url: `/v1/articles/${upper(a.id).replace(/.$/, 'G')}` }), 404, 'not a UUID: looked up as given')
  // any mix of cases: upper case only after a lower-case letter, or only the last digit
  const mixed = (id: string) => id.replace(/[a-f](?=[^a-f]*$)/, (c) => c.toUpperCase())
  for (const id of [mixed(section.id), section.id.slice(0, -1) + section.id.slice(-1).toUpperCase()]) {
    if (id === section.id) continue
    t.equal((await anon({ url: `/v1/sections/${id}` })).statusCode, 200, `a section as ${id}`)
    t.same(await ids(`section=${id}`), [a.id], `section=${id}`)
  }
})

t.test('ids in a request body are read in any case too, and kept as the service writes them', async (t) => {
  const { app } = await build(t)
  const upper = (id: string) => id.toUpperCase()
  const photo = await upload(app, { caption: 'Harbin at night' })
  const parent = await create(app, '/v1/sections', { name: 'World' })
  const section = await create(app, '/v1/sections', { name: 'Asia', parentId: upper(parent.id) })
  t.equal(section.parentId, parent.id, 'a section\'s parent')
  const byline = await create(app, '/v1/bylines', { name: 'Li Wei', photoId: upper(photo.id) })
  t.equal(byline.photoId, photo.id, 'a byline\'s photo')
  const target = await create(app, '/v1/articles', { headline: 'Target', status: 'published' })
  const a = await create(app, '/v1/articles', {
    headline: 'Cased',
    sectionId: upper(section.id),
    leadPhotoId: upper(photo.id),
    bylines: [{ bylineId: upper(byline.id), role: 'author' }],
    body: [{ type: 'photo', photoId: upper(photo.id) }, { type: 'paragraph', text: 'Text' }],
    status: 'published'
  })
  t.match(a, { sectionId: section.id, section: { id: section.id }, leadPhotoId: photo.id, leadPhoto: { id: photo.id }, bylines: [{ bylineId: byline.id }], body: [{ photoId: photo.id, caption: 'Harbin at night' }] })
  const links = ok(t, await req(app, { method: 'PUT', url: `/v1/articles/${a.id}/related`, payload: [{ articleId: upper(target.id) }] })).data
  t.match(links, [{ articleId: target.id, headline: 'Target' }], 'a related link')
  const other = await create(app, '/v1/articles', { headline: 'Other', status: 'published' })
  const added = ok(t, await req(app, { method: 'POST', url: `/v1/articles/${a.id}/related`, payload: { articleId: upper(other.id) } }), 201).data
  t.equal(added.at(-1).articleId, other.id, 'a link appended')
  const patched = ok(t, await req(app, { method: 'PATCH', url: `/v1/articles/${a.id}`, payload: { sectionId: upper(parent.id) } }))
  t.equal(patched.sectionId, parent.id, 'a patch')
  const lastUpper = (id: string) => id.replace(/[a-f](?=[^a-f]*$)/, (c) => c.toUpperCase())
  t.not(lastUpper(section.id), section.id)
  t.equal(ok(t, await req(app, { method: 'PATCH', url: `/v1/articles/${a.id}`, payload: { sectionId: lastUpper(section.id) } })).sectionId, section.id, 'upper case after lower case')
  t.equal(ok(t, await req(app, { method: 'PATCH', url: `/v1/articles/${a.id}`, payload: { sectionId: lastUpper(parent.id) } })).sectionId, parent.id)
  // the section filter finds it by the id as stored
  t.same((await req(app, { method: 'GET', url: `/v1/articles?section=${parent.id}` })).json().data.map((x: any) => x.id), [a.id])
  // not a UUID: compared as given, and named as missing
  const wrong = problem(t, await req(app, { method: 'PATCH', url: `/v1/articles/${a.id}`, payload: { sectionId: upper(parent.id).replace(/.$/, 'G') } }), 422)
  t.match(JSON.stringify(wrong), /G/, 'the id as sent')
})
