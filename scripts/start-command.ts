import fs from 'node:fs'

/**
 * package.json's start script as the shell runs it: the variables it sets (`NAME=value` words first), the program
 * (node) and its arguments (node's flags, the built server). The benchmark and the tests start the server with it,
 * and a test holds the Dockerfile to it.
 */
export function startCommand (root: string) {
  const words = (JSON.parse(fs.readFileSync(`${root}/package.json`, 'utf8')).scripts.start as string).split(/\s+/)
  const assigned = words.filter((w) => /^[A-Z_]+=/.test(w))
  const [program, ...args] = words.slice(assigned.length)
  return { env: Object.fromEntries(assigned.map((w) => w.split('=') as [string, string])), program: program!, args }
}
