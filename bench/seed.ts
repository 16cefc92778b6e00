/**
 * Seeds a realistic newsroom corpus straight into a fresh database (bypassing the API, in large
 * transactions): sections in a tree, bylines, photo records, articles of ~600 words with bylines, tags,
 * photos, related links and their full-text entries.
 */
import { randomUUID } from 'node:crypto'
import Database from 'better-sqlite3'
import { openStore } from '../src/db/index.js'
import { sortKeyOf } from '../src/db/names.js'

export interface SeedOptions { articles: number, sections: number, bylines: number, photos: number }

const WORDS = ('china russia economic cooperation exposition harbin heilongjiang province trade gas deal energy ' +
  'market growth policy talent winter games website city council budget transport railway airport festival ice ' +
  'snow culture museum university students research technology investment bank finance export import agriculture ' +
  'harvest river bridge construction hospital health school teachers police court election minister president ' +
  'summit delegation forum conference agreement partnership border logistics industry factory workers tourism ' +
  'visitors hotel restaurant weather temperature record season development infrastructure digital innovation').split(' ')

function rng (seed: number) {
  let s = seed >>> 0
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

/**
 * Words follow Zipf's law, as in real text: a word's frequency is proportional to 1 / rank^1.07. The news
 * words above are the most frequent (each in most articles, like "said" in a real archive: the worst case
 * for a search), followed by 30,000 generated words down to ones that occur in a handful of articles.
 */
function vocabulary (rand: () => number) {
  const syllables = ('ba be bi bo bu da de di do du ka ke ki ko ku la le li lo lu ma me mi mo mu na ne ni no nu ' +
    'ra re ri ro ru sa se si so su ta te ti to tu va ve vi vo vu zan ler mon tis par dor vel kin').split(' ')
  const words = [...WORDS]
  const seen = new Set(words)
  while (words.length < WORDS.length + 30_000) {
    const n = 2 + Math.floor(rand() * 3)
    const w = Array.from({ length: n }, () => syllables[Math.floor(rand() * syllables.length)]).join('')
    if (!seen.has(w)) { seen.add(w); words.push(w) }
  }
  const cumulative = new Float64Array(words.length)
  let total = 0
  words.forEach((_, i) => { total += 1 / Math.pow(i + 1, 1.07); cumulative[i] = total })
  return {
    words,
    /** A word drawn by its frequency (binary search over the cumulative weights). */
    draw () {
      const x = rand() * total
      let lo = 0
      let hi = words.length - 1
      while (lo < hi) {
        const mid = (lo + hi) >> 1
        if (cumulative[mid]! < x) lo = mid + 1
        else hi = mid
      }
      return words[lo]!
    }
  }
}

export async function seed (file: string, o: SeedOptions) {
  await (await openStore({ file })).close() // create the schema through the real migrations
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = OFF')
  const rand = rng(42)
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!
  const vocab = vocabulary(rand)
  const sentence = (n: number) => {
    const w = Array.from({ length: n }, () => vocab.draw())
    return w[0]![0]!.toUpperCase() + w.join(' ').slice(1) + '.'
  }
  const now = Date.now()

  const sectionIds: string[] = []
  const insertSection = db.prepare('insert into sections (id, slug, name, sort_name, description, parent_id, position, created_at, updated_at) values (?, ?, ?, ?, null, ?, ?, ?, ?)')
  db.transaction(() => {
    for (let i = 0; i < o.sections; i++) {
      const id = randomUUID()
      const parent = i < 5 ? null : sectionIds[i % 5]!
      insertSection.run(id, `section-${i}`, `Section ${i}`, sortKeyOf(`Section ${i}`), parent, i, now, now)
      sectionIds.push(id)
    }
  })()

  const bylineIds: string[] = []
  const bylineNames: string[] = []
  const insertByline = db.prepare("insert into bylines (id, slug, name, sort_name, kind, title, bio, url, photo_id, created_at, updated_at) values (?, ?, ?, ?, 'person', 'Staff reporter', null, null, null, ?, ?)")
  db.transaction(() => {
    for (let i = 0; i < o.bylines; i++) {
      const id = randomUUID()
      const name = `${pick(['Li', 'Wang', 'Zhang', 'Liu', 'Chen', 'Yang', 'Anna', 'Ivan', 'Maria', 'Olga'])} ${pick(['Wei', 'Na', 'Jing', 'Petrov', 'Smirnova', 'Hong', 'Min', 'Lei'])} ${i}`
      insertByline.run(id, `byline-${i}`, name, sortKeyOf(name), now, now)
      bylineIds.push(id)
      bylineNames.push(name)
    }
  })()

  const photoIds: string[] = []
  const captions = new Map<string, string>()
  const insertPhoto = db.prepare('insert into photos (id, caption, credit, alt_text, width, height, mime_type, bytes, sha256, storage_key, focal_x, focal_y, original_filename, placeholder, dominant_color, created_at, updated_at) values (?, ?, ?, ?, 1600, 1067, \'image/jpeg\', 250000, ?, ?, null, null, null, ?, ?, ?, ?)')
  db.transaction(() => {
    for (let i = 0; i < o.photos; i++) {
      const id = randomUUID()
      const sha = i.toString(16).padStart(64, '0')
      const caption = sentence(12)
      insertPhoto.run(id, caption, 'Xinhua', sentence(6), sha, `${sha}.jpg`, 'FfYC9CiHd4gId4n3WBeIgIgIiA==', '#808080', now, now)
      photoIds.push(id)
      captions.set(id, caption)
    }
  })()

  const insertArticle = db.prepare(`insert into articles (id, slug, headline, summary, body, status, published_at, updated_at, created_at, revision,
    section_id, lead_photo_id, tags, source, canonical_url, language) values (?, ?, ?, ?, ?, 'published', ?, ?, ?, 1, ?, ?, ?, 'Xinhua', null, 'en')`)
  const insertByl = db.prepare('insert into article_bylines (article_id, position, byline_id, role, status, published_at) values (?, ?, ?, ?, \'published\', ?)')
  const insertTag = db.prepare('insert into article_tags (article_id, tag, status, published_at) values (?, ?, \'published\', ?)')
  const insertPh = db.prepare('insert or ignore into article_photos (article_id, photo_id) values (?, ?)')
  const insertRel = db.prepare('insert into article_related (id, article_id, position, target_id, url, headline, summary) values (?, ?, ?, ?, null, null, null)')
  // (each article last changed when it went out: see articleSearch.changedAt)
  const insertDoc = db.prepare('insert into article_search (article_id, status, published_at, updated_at, section_id, changed_at) values (?, \'published\', ?, ?, ?, ?)')
  const insertFts = db.prepare('insert into articles_fts (rowid, headline, summary, body, tags, bylines) values (?, ?, ?, ?, ?, ?)')
  const insertShort = db.prepare('insert into articles_fts_short (rowid, headline, summary, tags, bylines) values (?, ?, ?, ?, ?)')
  const ids: string[] = []
  const slugs: string[] = []
  const docs: [number | bigint, string, string, string, string][] = []
  const links: [string, string, number, string][] = []
  const credits: [string, number, string, string, number][] = []
  const tagRows: [string, string, number][] = []
  const batch = 2000
  // publication times over five years, written oldest first, as an archive grows (from a generator of their own,
  // so that the text drawn is the same whatever their order)
  const times = rng(43)
  const publication = Array.from({ length: o.articles }, () => now - Math.floor(times() * 5 * 365 * 86400_000)).sort((a, b) => a - b)
  for (let start = 0; start < o.articles; start += batch) {
    db.transaction(() => {
      for (let i = start; i < Math.min(o.articles, start + batch); i++) {
        const id = randomUUID()
        const headline = sentence(8).slice(0, -1)
        const summary = sentence(20)
        const paragraphs = Array.from({ length: 10 }, () => Array.from({ length: 3 }, () => sentence(20)).join(' '))
        const photo = pick(photoIds)
        const body = [
          ...paragraphs.slice(0, 2).map((text) => ({ type: 'paragraph', text })),
          { type: 'photo', photoId: photo },
          ...paragraphs.slice(2).map((text) => ({ type: 'paragraph', text }))
        ]
        const tags = [pick(WORDS), pick(WORDS)].filter((t, j, a) => a.indexOf(t) === j)
        const published = publication[i]!
        const slug = `article-${i}`
        const sectionId = pick(sectionIds)
        insertArticle.run(id, slug, headline, summary, JSON.stringify(body), published, published, published,
          sectionId, photo, JSON.stringify(tags))
        const b1 = Math.floor(rand() * bylineIds.length)
        // with their article's status and date, as the service writes them (the trigger then has nothing to fill in)
        credits.push([id, 0, bylineIds[b1]!, 'author', published])
        for (const tag of tags) tagRows.push([id, tag, published])
        insertPh.run(id, photo)
        for (let r = 0; r < 3 && ids.length > 3; r++) links.push([randomUUID(), id, r, ids[ids.length - 1 - r * 7 % ids.length]!])
        const doc = insertDoc.run(id, published, published, sectionId, published).lastInsertRowid
        // the text as the service indexes it (see documentOf in src/services/search.ts): the lead photo's caption,
        // then the blocks, the photo's caption in its place; blocks and tags parted by BOUNDARY
        const caption = captions.get(photo)!
        const text = [caption, ...paragraphs.slice(0, 2), caption, ...paragraphs.slice(2)].join(' \uE002 ')
        insertFts.run(doc, headline, summary, text, tags.join(' \uE002 '), bylineNames[b1])
        docs.push([doc, headline, summary, tags.join(' \uE002 '), bylineNames[b1]!])
        ids.push(id)
        slugs.push(slug)
      }
      // the batch's credits, tags and links after its full-text entries: the triggers that copy each article's
      // status and date into its credits and tags, and each target into its link, run inside a savepoint, at which
      // FTS5 writes out what it holds (between two entries, a segment each: seeding took 3× as long)
      for (const credit of credits.splice(0)) insertByl.run(...credit)
      for (const tag of tagRows.splice(0)) insertTag.run(...tag)
      for (const link of links.splice(0)) insertRel.run(...link)
    })()
  }
  // the short fields' index written after the full one, each in one run (FTS5 flushes when writes interleave)
  for (let i = 0; i < docs.length; i += batch) db.transaction(() => { for (const d of docs.slice(i, i + batch)) insertShort.run(...d) })()
  // as after any bulk load, the full-text indexes are merged into one segment (the server keeps them so, hourly)
  db.exec("insert into articles_fts (articles_fts) values ('optimize')")
  db.exec("insert into articles_fts_short (articles_fts_short) values ('optimize')")
  db.exec('ANALYZE') // a database in service has its statistics kept by PRAGMA optimize
  db.pragma('wal_checkpoint(TRUNCATE)')
  db.close()
  return { sectionIds, bylineIds, articleIds: ids, slugs, words: vocab.words }
}
