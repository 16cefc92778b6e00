import { TooManyRequests, ServiceUnavailable } from '../errors.js'

export interface TurnLimits {
  /** Tasks one client may have waiting; one more is a 429. */
  perClient: number
  /** Tasks waiting in all; one more is a 503. */
  total: number
  /** The Retry-After of both refusals, in seconds. */
  retryAfter: number
}

/**
 * Runs one task at a time, the clients waiting taking turns: each client's tasks wait in its own line, and the
 * clients are served round-robin, one task each. A client that asks for hundreds of renditions at once then delays
 * another's by one render per turn, rather than by all of its own. How much may wait is bounded, per client and in
 * all: past that the request is refused with Retry-After, before it holds anything. A task given no client
 * (`null`) is never refused and takes turns as a client of its own.
 */
export function takingTurns (limits: TurnLimits) {
  const lines = new Map<string, (() => void)[]>()
  let waiting = 0
  let busy = false

  function next () {
    const first = lines.entries().next()
    if (first.done) {
      busy = false
      return
    }
    const [client, line] = first.value
    const start = line.shift()!
    // the client goes to the back, behind every other client waiting
    lines.delete(client)
    if (line.length) lines.set(client, line)
    waiting--
    start()
  }

  return async function turn<T> (client: string | null, task: () => Promise<T>): Promise<T> {
    if (busy) {
      const line = lines.get(client ?? '') ?? []
      if (client !== null) {
        const retry = { headers: { 'retry-after': String(limits.retryAfter) } }
        if (line.length >= limits.perClient) {
          throw Object.assign(new TooManyRequests(`You have ${limits.perClient} images waiting to be made already; retry in ${limits.retryAfter} s`), retry)
        }
        if (waiting >= limits.total) {
          throw Object.assign(new ServiceUnavailable(`${limits.total} images are waiting to be made; retry in ${limits.retryAfter} s`), retry)
        }
      }
      await new Promise<void>((resolve) => {
        line.push(resolve)
        if (line.length === 1) lines.set(client ?? '', line)
        waiting++
      })
    }
    busy = true
    try {
      return await task()
    } finally {
      next()
    }
  }
}
