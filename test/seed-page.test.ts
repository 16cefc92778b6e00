import t from 'tap'
import fs from 'node:fs'
import { build, upload, create } from './helper.js'

/**
 * The page in ../shared/seed, rebuilt through the API the way an editor would, then fetched the way
 * a frontend would and rendered back to the page's text: every line must come from one response.
 */
const seedDir = new URL('../../shared/seed/', import.meta.url)
const seedFile = fs.readdirSync(seedDir).find((f) => f.endsWith('.txt'))!
const page = fs.readFileSync(new URL(seedFile, seedDir), 'utf8').trimEnd()
const lines = page.split('\n')

const [crumbLine, headline, updatedLine, bylineLine] = lines

const firstDash = lines.indexOf('-')
const bodyLines = lines.slice(4, firstDash - 2)
const captionIndex = bodyLines.findIndex((l) => l.endsWith('[Photo/Xinhua]'))
const related: { headline: string, summary: string }[] = []
for (let i = firstDash - 2; i < lines.length; i += 3) related.push({ headline: lines[i]!, summary: lines[i + 1]! })

/** What a frontend does with the one response: the page's text. */
function render (a: any): string {
  const out = [
    a.section.breadcrumb.map((c: any) => c.name).join('>'),
    a.headline,
    `Updated : ${a.updatedAt.slice(0, 10)}`,
    `By ( ${a.bylines.map((b: any) => b.name).join(', ')} )`
  ]
  for (const block of a.body) {
    out.push(block.type === 'photo' ? `${block.caption} [Photo/${block.credit}]` : block.text)
  }
  a.related.forEach((r: any, i: number) => {
    if (i > 0) out.push('-')
    out.push(r.headline, r.summary)
  })
  return out.join('\n')
}

t.test('the seed page is rebuilt with curl-style requests and served in one response', async (t) => {
  t.equal(crumbLine, 'Home>Harbin Today')
  t.equal(bylineLine, 'By ( Xinhua )')
  t.equal(captionIndex, 2, 'the photo sits between the second and third paragraph')
  const { app } = await build(t)

  const home = await create(app, '/v1/sections', { name: 'Home' })
  const harbin = await create(app, '/v1/sections', { name: 'Harbin Today', parentId: home.id })
  t.equal(harbin.path, 'home/harbin-today')
  const xinhua = await create(app, '/v1/bylines', { name: 'Xinhua', kind: 'agency' })

  const caption = bodyLines[captionIndex]!.replace(/ \[Photo\/Xinhua\]$/, '')
  const photo = await upload(app, { caption, credit: 'Xinhua', altText: 'Visitors at the China-Russia Exposition in Harbin' })

  const stories = []
  for (const [i, r] of related.entries()) {
    stories.push(await create(app, '/v1/articles', {
      headline: r.headline, summary: r.summary, sectionId: harbin.id, status: 'published', publishedAt: `2024-0${i + 1}-15T08:00:00Z`
    }))
  }

  const paragraphs = bodyLines.filter((_, i) => i !== captionIndex)
  const article = await create(app, '/v1/articles', {
    headline,
    sectionId: harbin.id,
    status: 'published',
    publishedAt: '2014-07-02T02:00:00Z',
    updatedAt: `${updatedLine!.replace('Updated : ', '')}T02:00:00Z`,
    source: 'Xinhua',
    language: 'en',
    tags: ['China-Russia', 'Harbin'],
    bylines: [{ bylineId: xinhua.id, role: 'agency' }],
    leadPhotoId: photo.id,
    body: [
      ...paragraphs.slice(0, 2).map((text) => ({ type: 'paragraph', text })),
      { type: 'photo', photoId: photo.id },
      ...paragraphs.slice(2).map((text) => ({ type: 'paragraph', text }))
    ]
  })
  const put = await app.inject({ method: 'PUT', url: `/v1/articles/${article.id}/related`, payload: stories.map((s) => ({ articleId: s.id })) })
  t.equal(put.statusCode, 200)

  for (const url of [`/v1/articles/${article.id}`, `/v1/articles/slug/${article.slug}`]) {
    const res = await app.inject({ url })
    t.equal(res.statusCode, 200, url)
    const a = res.json()
    t.equal(render(a), page, `${url} holds the whole page`)
    t.match(a, {
      section: { id: harbin.id, path: 'home/harbin-today', breadcrumb: [{ name: 'Home', slug: 'home' }, { name: 'Harbin Today' }] },
      bylines: [{ bylineId: xinhua.id, name: 'Xinhua', kind: 'agency', role: 'agency' }],
      leadPhoto: { id: photo.id, caption, credit: 'Xinhua', width: photo.width, height: photo.height, url: photo.url },
      updatedAt: '2014-07-02T02:00:00.000Z',
      revision: 2
    })
    t.match(a.body[2], { type: 'photo', photoId: photo.id, width: 64, height: 48, mimeType: 'image/jpeg', url: photo.url, altText: String })
    t.same(a.related.map((r: any) => r.slug), stories.map((s) => s.slug))
    t.ok(a.related.every((r: any) => typeof r.publishedAt === 'string'))
  }

  const img = await app.inject({ url: photo.url })
  t.equal(img.statusCode, 200)
  t.equal(img.headers['content-type'], 'image/jpeg')

  const front = await app.inject({ url: `/v1/sections/${harbin.id}/articles` })
  t.equal(front.statusCode, 200)
  t.same(front.json().data.map((a: any) => a.headline), [...related.map((r) => r.headline).reverse(), headline],
    'the section front lists the stories newest first')
  const home2 = await app.inject({ url: `/v1/sections/${home.id}/articles?descendants=true&limit=2` })
  t.equal(home2.json().data.length, 2)
  t.match(home2.headers.link, /rel="next"/)
})
