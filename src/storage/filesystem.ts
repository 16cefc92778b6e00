import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { randomUUID } from 'node:crypto'
import { assertKey, assertPrefix, isRenditionKey, type Storage } from './index.js'

/** Files under `root`: originals fanned out by their first hash characters (root/ab/cd/abcd….jpg), renditions under root/r/<sha256>/. */
export function filesystemStorage (root: string): Storage {
  const tmpDir = path.join(root, '.tmp')
  fs.mkdirSync(tmpDir, { recursive: true })
  const fileOf = (key: string) => {
    assertKey(key)
    return isRenditionKey(key) ? path.join(root, key) : path.join(root, key.slice(0, 2), key.slice(2, 4), key)
  }

  return {
    async put (key, data) {
      const file = fileOf(key)
      await fsp.mkdir(path.dirname(file), { recursive: true })
      const tmp = path.join(tmpDir, randomUUID())
      const handle = await fsp.open(tmp, 'wx')
      try {
        await handle.writeFile(data)
        await handle.sync()
      } finally {
        await handle.close()
      }
      await fsp.rename(tmp, file)
    },
    async get (key) {
      const file = fileOf(key)
      try {
        const handle = await fsp.open(file, 'r')
        const { size } = await handle.stat().catch(async (err) => { await handle.close(); throw err })
        return {
          size,
          read: (range) => handle.createReadStream(range ?? {}),
          discard: () => { handle.close().catch(() => {}) }
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw err
      }
    },
    async exists (key) {
      try {
        await fsp.access(fileOf(key))
        return true
      } catch {
        return false
      }
    },
    async delete (key) {
      await fsp.rm(fileOf(key), { force: true })
    },
    async withdraw (key) {
      const file = fileOf(key)
      // aside in the same file system, so that both moves are renames: atomic, and no byte is copied
      const aside = path.join(tmpDir, `withdrawn-${randomUUID()}`)
      try {
        await fsp.rename(file, aside)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw err
      }
      return {
        where: aside,
        restore: async () => {
          await fsp.mkdir(path.dirname(file), { recursive: true })
          await fsp.rename(aside, file)
        },
        discard: () => fsp.rm(aside, { force: true })
      }
    },
    async deletePrefix (prefix) {
      assertPrefix(prefix)
      await fsp.rm(path.join(root, prefix), { recursive: true, force: true })
    },
    async check () {
      // a file written and removed where uploads are written: access() passed for a file in the folder's place,
      // and always passes for root
      const probe = path.join(tmpDir, `ready-${randomUUID()}`)
      await fsp.writeFile(probe, '')
      await fsp.rm(probe)
    }
  }
}
