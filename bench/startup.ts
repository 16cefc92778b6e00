/**
 * Time to ready: `npm run bench:startup -- DATA_DIR [RUNS]`.
 * Starts the built server as `npm start` does on an existing data folder RUNS times (default 7),
 * polls /readyz every 10 ms, and prints each time from process start to the first 200, and their median.
 * The server only reads and migrates the database; point it at a copy of a large one (e.g. one `npm run bench`
 * seeded) to see what a restart of a full newsroom costs.
 */
import fs from 'node:fs'
import path from 'node:path'
import { startServer } from './server.js'

const [dataDir, runs = '7'] = process.argv.slice(2)
if (!dataDir || !fs.existsSync(path.join(dataDir, 'cms.sqlite'))) {
  console.error('usage: npm run bench:startup -- DATA_DIR [RUNS]   (DATA_DIR holds an existing cms.sqlite)')
  process.exit(2)
}
const PORT = 3903

const times: number[] = []
for (let i = 0; i < Number(runs); i++) {
  const { server, readyMs } = await startServer({ DATA_DIR: dataDir, PORT: String(PORT), HOST: '127.0.0.1', LOG_LEVEL: 'warn' })
  const exited = new Promise((resolve) => server.once('exit', resolve))
  times.push(readyMs)
  server.kill('SIGTERM')
  await exited
}
const median = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)]!
console.log(`ready in ${times.map((t) => t.toFixed(0)).join(', ')} ms; median ${median.toFixed(0)} ms`)
