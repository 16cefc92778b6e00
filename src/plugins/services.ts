import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { openStore, type Store } from '../db/index.js'
import { filesystemStorage } from '../storage/filesystem.js'
import { s3Storage } from '../storage/s3.js'
import type { Storage } from '../storage/index.js'
import { sectionsService, type SectionsService } from '../services/sections.js'
import { bylinesService, type BylinesService } from '../services/bylines.js'
import { photosService, type PhotosService } from '../services/photos.js'
import { articlesService, type ArticlesService } from '../services/articles.js'
import { keysService, type KeysService } from '../services/keys.js'

export interface Services {
  sections: SectionsService
  bylines: BylinesService
  photos: PhotosService
  articles: ArticlesService
  keys: KeysService
}

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    store: Store
    storage: Storage
    services: Services
  }
}

export interface ServicesOptions {
  config: Config
  /** Called for every SQL statement (tests use it to count statements per request). */
  onQuery?: (sql: string, params: unknown[]) => void
}

/** Opens the database and photo storage, and wires the newsroom services on top of them. */
export default fp<ServicesOptions>(async (app, { config, onQuery }) => {
  const store = await openStore(config.database, { onQuery, poolSize: config.DATABASE_POOL_SIZE })
  const storage = config.s3 ? await s3Storage(config.s3) : filesystemStorage(config.photoDir)
  const sections = sectionsService(store)
  const photos = photosService(store, storage, { publicUrl: config.PUBLIC_URL, maxPixels: config.IMAGE_MAX_PIXELS, widths: config.renditionWidths, aspects: config.renditionAspects, log: app.log })
  const articles = articlesService(store, photos, sections)
  app.decorate('config', config)
  app.decorate('store', store)
  app.decorate('storage', storage)
  app.decorate('services', {
    sections,
    bylines: bylinesService(store),
    photos,
    articles,
    keys: keysService(store, { adminSecret: config.CMS_ADMIN_KEY })
  })
  // every second, the scheduled stories whose time has come are marked as changed (what changedSince follows)
  const goingLive = setInterval(() => {
    articles.markGoneLive().catch((err: unknown) => app.log.warn({ err }, 'marking the stories gone live failed; tried again in a second'))
  }, 1000).unref()
  // every hour, the full-text index is merged back into one segment: searches slow down as writes add segments
  const upkeep = setInterval(() => {
    store.mergeSearchIndex().catch((err: unknown) => app.log.warn({ err }, 'merging the full-text index failed; tried again in an hour'))
  }, 3_600_000).unref()
  app.addHook('onClose', async () => {
    clearInterval(upkeep)
    clearInterval(goingLive)
    await store.close()
  })
}, { name: 'services' })
