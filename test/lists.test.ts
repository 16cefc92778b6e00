import t from 'tap'
import { build, create, ok, ago, DAY } from './helper.js'

/* eslint-disable @typescript-eslint/no-explicit-any */

/**
 * Every combination of the list filters and sorts, paged three at a time, as an editor and as a reader, against the
 * same answer worked out here from each article as it reads by id. The lists take different paths through the
 * database (a byline's or tag's own index, the search rows for several sections, the articles' indexes), and each
 * must answer as the others would.
 */
t.test('every list filter and sort, paged, answers what the articles themselves say', async (t) => {
  const { app, anon } = await build(t)
  let seed = 7
  const random = () => { seed = (seed * 1664525 + 1013904223) >>> 0; return seed / 2 ** 32 }
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!

  const news = await create(app, '/v1/sections', { name: 'News' })
  const harbin = await create(app, '/v1/sections', { name: 'Harbin', parentId: news.id })
  const oldTown = await create(app, '/v1/sections', { name: 'Old Town', parentId: harbin.id })
  const sport = await create(app, '/v1/sections', { name: 'Sport' })
  const bylines = await Promise.all(['Li Na', 'Xinhua', 'Zhang Wei'].map((name) => create(app, '/v1/bylines', { name })))
  const TAGS = ['energy', 'rail', 'trade']
  // a few shared dates, so that ties are parted by id
  const dates = [ago(1), ago(2), ago(2), ago(3), ago(10), ago(10), ago(40)]

  const ids: string[] = []
  for (let i = 0; i < 36; i++) {
    const kind = pick(['draft', 'published', 'published', 'published', 'scheduled', 'archived'] as const)
    const credited = bylines.filter(() => random() < 0.45)
    const input: Record<string, unknown> = {
      headline: `Story ${i}`,
      sectionId: pick([news.id, harbin.id, oldTown.id, sport.id, null]),
      tags: TAGS.filter(() => random() < 0.4),
      // now and then one byline credited twice (author and photographer)
      bylines: [...credited.map((b) => ({ bylineId: b.id })), ...(credited.length && random() < 0.3 ? [{ bylineId: credited[0]!.id, role: 'photographer' }] : [])]
    }
    if (kind === 'published') Object.assign(input, { status: 'published', publishedAt: pick(dates) })
    if (kind === 'scheduled') Object.assign(input, { status: 'published', publishedAt: new Date(Date.now() + DAY).toISOString() })
    if (kind === 'archived') Object.assign(input, { status: 'archived', publishedAt: pick(dates) })
    ids.push((await create(app, '/v1/articles', input)).id)
  }
  // and then the desk works: drafts published, stories taken down, credits and tags rewritten
  for (const id of ids.slice(0, 12)) {
    const action = pick(['publish', 'unpublish', 'credits', 'none'] as const)
    if (action === 'publish') await app.inject({ method: 'POST', url: `/v1/articles/${id}/publish` })
    if (action === 'unpublish') await app.inject({ method: 'POST', url: `/v1/articles/${id}/unpublish` })
    if (action === 'credits') {
      await app.inject({ method: 'PATCH', url: `/v1/articles/${id}`, payload: { bylines: [{ bylineId: pick(bylines).id }], tags: [pick(TAGS)] } })
    }
  }
  const articles = await Promise.all(ids.map(async (id) => ok(t, await app.inject({ url: `/v1/articles/${id}` }))))
  const now = Date.now()
  const subtree: Record<string, string[]> = { [news.id]: [news.id, harbin.id, oldTown.id], [harbin.id]: [harbin.id, oldTown.id] }

  const expected = (o: { byline?: string, tag?: string, section?: string, descendants?: boolean, status?: string, sort: string, reader: boolean }) => {
    const key = o.sort.replace('-', '') as 'publishedAt' | 'updatedAt'
    const descending = o.sort.startsWith('-')
    const time = (a: any) => a[key] === null ? null : Date.parse(a[key])
    return articles
      .filter((a) => !o.reader || (a.status === 'published' && Date.parse(a.publishedAt) <= now))
      .filter((a) => !o.status || a.status === o.status)
      .filter((a) => !o.byline || a.bylines.some((b: any) => b.bylineId === o.byline))
      .filter((a) => !o.tag || a.tags.includes(o.tag))
      .filter((a) => !o.section || (o.descendants ? subtree[o.section]!.includes(a.sectionId) : a.sectionId === o.section))
      .sort((x, y) => {
        const [a, b] = descending ? [y, x] : [x, y]
        const [ta, tb] = [time(a), time(b)]
        // dates missing (a draft's publication) sort lowest, as SQLite orders NULL
        if (ta !== tb) return ta === null ? -1 : tb === null ? 1 : ta - tb
        return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
      })
      .map((a) => a.headline)
  }

  let lists = 0
  for (const byline of [undefined, bylines[0]!.id, bylines[1]!.id]) {
    for (const tag of [undefined, 'energy', 'rail']) {
      for (const [section, descendants] of [[undefined, false], [news.id, true], [harbin.id, false]] as const) {
        for (const sort of ['-publishedAt', 'publishedAt', '-updatedAt', 'updatedAt']) {
          for (const [reader, status] of [[true, undefined], [false, undefined], [false, 'draft']] as const) {
            const query = new URLSearchParams({ limit: '3', sort })
            if (byline) query.set('byline', byline)
            if (tag) query.set('tag', tag)
            if (section) query.set('section', section)
            if (descendants) query.set('descendants', 'true')
            if (status) query.set('status', status)
            const seen: string[] = []
            let url: string | null = `/v1/articles?${query}`
            for (let page = 0; url && page < 20; page++) {
              const body: any = ok(t, reader ? await anon({ url }) : await app.inject({ url }))
              seen.push(...body.data.map((a: any) => a.headline))
              url = body.next ? `/v1/articles?${query}&cursor=${encodeURIComponent(body.next)}` : null
            }
            const want = expected({ byline, tag, section, descendants, status, sort, reader })
            if (JSON.stringify(seen) !== JSON.stringify(want)) t.same(seen, want, `${reader ? 'reader' : 'editor'}: /v1/articles?${query}`)
            lists++
          }
        }
      }
    }
  }
  t.equal(lists, 324, 'every combination was asked')
  t.ok(articles.some((a) => a.bylines.length > new Set(a.bylines.map((b: any) => b.bylineId)).size), 'a byline credited twice on a story was among them')
  t.ok(articles.some((a) => a.status === 'published' && Date.parse(a.publishedAt) > now), 'and a scheduled story')
  t.ok(articles.some((a) => a.status === 'draft'), 'and a draft')
})
