import { spawn, type ChildProcess } from 'node:child_process'
import { startCommand } from '../scripts/start-command.js'

const root = new URL('..', import.meta.url).pathname

/**
 * Starts the built server exactly as `npm start` does — the same environment and node flags, read from
 * package.json's start script — with `env` added to this process's environment, and resolves once /readyz answers 200, with the
 * time that took from process start.
 */
export async function startServer (env: Record<string, string>): Promise<{ server: ChildProcess, readyMs: number }> {
  const { env: assigned, program, args } = startCommand(root)
  if (program !== 'node') throw new Error('package.json\'s start script is expected to run node')
  const start = performance.now()
  const server = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...assigned, ...env },
    stdio: ['ignore', 'inherit', 'inherit']
  })
  const exited = new Promise((resolve) => server.once('exit', resolve))
  for (;;) {
    try { if ((await fetch(`http://127.0.0.1:${env.PORT}/readyz`)).ok) break } catch {}
    if (await Promise.race([exited.then(() => true), new Promise((resolve) => setTimeout(resolve, 10, false))])) {
      throw new Error(`the server exited before it was ready (code ${server.exitCode})`)
    }
  }
  return { server, readyMs: performance.now() - start }
}
