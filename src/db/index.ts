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
  return {
    sections: sectionsRepository(handle.db),
    bylines: bylinesRepository(handle.db),
    photos: photosRepository(handle.db),
    articles: articlesRepository(handle.db),
    keys: keysRepository(handle.db),
    transaction: handle.transaction,
    afterWrites: handle.afterWrites,
    version: handle.version,
    ping: handle.ping,
    close: handle.close
  }
}

export type Store = ReturnType<typeof openStore>
