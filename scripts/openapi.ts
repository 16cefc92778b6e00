/** Writes openapi/openapi.json from the route schemas: `npm run openapi`. */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'

export async function generateOpenApi (): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-openapi-'))
  const app = await buildApp({ config: loadConfig({ DATA_DIR: dir }) })
  try {
    await app.ready()
    return JSON.stringify(app.swagger(), null, 2) + '\n'
  } finally {
    await app.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const target = new URL('../openapi/openapi.json', import.meta.url)
  fs.writeFileSync(target, await generateOpenApi())
  console.log(`wrote ${target.pathname}`)
}
