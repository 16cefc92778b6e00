import { openSqlite, type OpenOptions } from './sqlite/client.js'
import { sectionsRepository } from './repositories/sections.js'
import { bylinesRepository } from './repositories/bylines.js'
import { photosRepository } from './repositories/photos.js'
import { articlesRepository } from './repositories/articles.js'
import { keysRepository } from './repositories/keys.js'

/**
 * The data layer: every SQL statement the service runs lives behind this object.
 * A PostgreSQL dialect adds a folder beside `sqlite/` and is chosen here from DATABASE_URL.
 */
export function openStore (databaseFile: string, options: OpenOptions = {}) {
  const handle = openSqlite(databaseFile, options)
  const articles = articlesRepository(handle.db)
  let closed = false
  return {
    sections: sectionsRepository(handle.db),
    bylines: bylinesRepository(handle.db),
    photos: photosRepository(handle.db),
    articles,
    keys: keysRepository(handle.db),
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
      while (!closed && await handle.transaction(() => articles.mergeSearchIndex(100))) {
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    },
    close () {
      closed = true
      handle.close()
    }
  }
}

export type Store = ReturnType<typeof openStore>
