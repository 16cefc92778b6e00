/**
 * The migrations are the schema's: drizzle-kit, asked to generate from each dialect's schema (src/db/*\/schema.ts)
 * against a copy of its committed migrations, finds nothing to add. A schema changed without `npm run db:generate`
 * fails here rather than at some user's start.
 */
import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

for (const [dialect, kit] of [['sqlite', 'sqlite'], ['postgres', 'postgresql']] as const) {
  t.test(`${dialect}: the committed migrations hold the whole schema`, async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cms-migrations-'))
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
    fs.cpSync(path.join(ROOT, 'migrations', dialect), path.join(dir, dialect), { recursive: true })
    const before = fs.readdirSync(path.join(dir, dialect)).sort()
    // paths relative to the copy (drizzle-kit writes an absolute --out under the working folder)
    const schema = path.relative(dir, path.join(ROOT, 'src', 'db', dialect, 'schema.ts'))
    const output = await new Promise<string>((resolve, reject) => {
      execFile(path.join(ROOT, 'node_modules', '.bin', 'drizzle-kit'), ['generate', '--dialect', kit, '--schema', schema, '--out', dialect], { cwd: dir, timeout: 60_000 },
        (err, stdout, stderr) => err ? reject(Object.assign(err, { stderr })) : resolve(stdout + stderr))
    })
    t.match(output, /No schema changes, nothing to migrate/, 'drizzle-kit has nothing to generate')
    t.same(fs.readdirSync(path.join(dir, dialect)).sort(), before, 'and wrote no migration')
  })
}
