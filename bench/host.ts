/**
 * What the host gives a search at the moment of the long tail, measured beside it: the long tail is the server's own
 * CPU (B-tree walks, building and encoding 20 articles: memory-bound work) and its reads of the database (a syscall
 * each, from the page cache or the disk), so the same code and database gave a tail twice as slow from one hour to
 * the next. These figures let a run say which of the two moved.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'

/**
 * A random memory access, in ns: a walk through a random cycle over 64 MiB (more than any cache of the CPU), each
 * step depending on the one before, as a B-tree's walk from page to page does.
 */
function memoryLatencyNs (): number {
  const n = 1 << 24
  const next = new Int32Array(n)
  for (let i = 0; i < n; i++) next[i] = i
  // Sattolo's shuffle: one cycle through every slot
  let seed = 12345
  for (let i = n - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) >>> 0
    const j = seed % i
    const t = next[i]!
    next[i] = next[j]!
    next[j] = t
  }
  const steps = 4_000_000
  let at = 0
  for (let i = 0; i < 100_000; i++) at = next[at]!
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < steps; i++) at = next[at]!
  const ns = Number(process.hrtime.bigint() - t0) / steps
  return at === -1 ? 0 : ns
}

/** A 4 KiB read of the file at random places in its first 16 MiB, from the page cache (read once before), in µs. */
function cachedReadUs (file: string): number {
  const fd = fs.openSync(file, 'r')
  try {
    const span = Math.min(16 * 2 ** 20, fs.fstatSync(fd).size)
    const pages = Math.max(1, Math.floor(span / 4096))
    const buffer = Buffer.alloc(4096)
    for (let p = 0; p < pages; p++) fs.readSync(fd, buffer, 0, 4096, p * 4096)
    const reads = 50_000
    let seed = 777
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < reads; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0
      fs.readSync(fd, buffer, 0, 4096, (seed % pages) * 4096)
    }
    return Number(process.hrtime.bigint() - t0) / reads / 1000
  } finally {
    fs.closeSync(fd)
  }
}

export interface HostSpeed { memoryNs: number, cachedReadUs: number }
export const hostSpeed = (file: string): HostSpeed => ({ memoryNs: memoryLatencyNs(), cachedReadUs: cachedReadUs(file) })

const ticksPerSecond = (() => {
  try { return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100 } catch { return 100 }
})()

/** A process's CPU time so far (ms, user and system), its reads (syscalls) and the bytes it had read from the disk. */
export function processUse (pid: number) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')
  const io = Object.fromEntries(fs.readFileSync(`/proc/${pid}/io`, 'utf8').trim().split('\n').map((l) => {
    const [k, v] = l.split(': ')
    return [k, Number(v)]
  }))
  // utime and stime are the 14th and 15th fields of stat, the 12th and 13th after the command name
  return { userMs: Number(fields[11]) * 1000 / ticksPerSecond, systemMs: Number(fields[12]) * 1000 / ticksPerSecond, reads: io.syscr ?? 0, diskBytes: io.read_bytes ?? 0 }
}
