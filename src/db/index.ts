import { openSqlite, type OpenOptions } from './sqlite/client.js'
import { openPostgres } from './postgres/client.js'
import { sectionsRepository } from './sqlite/repositories/sections.js'
import { bylinesRepository } from './sqlite/repositories/bylines.js'
import { photosRepository } from './sqlite/repositories/photos.js'
import { articlesRepository } from './sqlite/repositories/articles.js'
import { keysRepository } from './sqlite/repositories/keys.js'
import * as pg from './postgres/repositories/index.js'

/** Where the data is: an SQLite file (the embedded default) or a PostgreSQL database (`postgres://…`). */
export type DatabaseLocation = { file: string } | { url: string }

/** The repositories: every SQL statement the service runs, the same functions on either database. */
interface Repositories {
  sections: ReturnType<typeof sectionsRepository>
  bylines: ReturnType<typeof bylinesRepository>
  photos: ReturnType<typeof photosRepository>
  articles: ReturnType<typeof articlesRepository>
  keys: ReturnType<typeof keysRepository>
}

/** What a dialect's handle gives the store besides its repositories. */
interface Handle {
  cursorKey: Buffer
  transaction: <T>(fn: () => Promise<T>) => Promise<T>
  afterWrites: (key: string, fn: () => Promise<void>) => void
  version: () => Promise<string>
  ping: () => Promise<void>
  close: () => void | Promise<void>
}

/**
 * The data layer. The dialect is chosen here, from where the data is; each dialect's differences live in its own
 * folder (`sqlite/`, `postgres/`), behind repositories with the same functions.
 */
export async function openStore (where: DatabaseLocation, options: OpenOptions & { poolSize?: number } = {}) {
  if ('url' in where) {
    const handle = await openPostgres(where.url, options)
    return storeOf(handle, {
      sections: pg.sectionsRepository(handle.db),
      bylines: pg.bylinesRepository(handle.db),
      photos: pg.photosRepository(handle.db),
      articles: pg.articlesRepository(handle.db),
      keys: pg.keysRepository(handle.db)
    })
  }
  const handle = openSqlite(where.file, options)
  return storeOf(handle, {
    sections: sectionsRepository(handle.db),
    bylines: bylinesRepository(handle.db),
    photos: photosRepository(handle.db),
    articles: articlesRepository(handle.db),
    keys: keysRepository(handle.db)
  })
}

function storeOf (handle: Handle, repositories: Repositories) {
  let closed = false
  return {
    ...repositories,
    cursorKey: handle.cursorKey,
    transaction: handle.transaction,
    afterWrites: handle.afterWrites,
    version: handle.version,
    ping: handle.ping,
    /**
     * Merges the full-text index back into one segment (see articles.mergeSearchIndex), in steps of about
     * 400 KB written, each a write of its own with a pause after it, so that requests and other writes
     * go on meanwhile. At 100,000 articles the whole merge is ~430 steps of 3–5 ms.
     */
    async mergeSearchIndex () {
      while (!closed && await handle.transaction(() => repositories.articles.mergeSearchIndex(100))) {
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    },
    async close () {
      closed = true
      await handle.close()
    }
  }
}

export type Store = Awaited<ReturnType<typeof openStore>>

// the rows and keys the service works with, the same on either database
export type { ArticleRow, ArticleKey, ArticleSort, ArticleBylineLink, RelatedInsert, SearchDocument } from './sqlite/repositories/articles.js'
export type { BylineRow } from './sqlite/repositories/bylines.js'
export type { KeyRow } from './sqlite/repositories/keys.js'
export type { PhotoRow, PhotoKey } from './sqlite/repositories/photos.js'
export type { SectionRow } from './sqlite/repositories/sections.js'
