import { TooManyRequests, ServiceUnavailable, ClientClosed } from '../errors.js'

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
 * (`null`) is never refused and takes turns as a client of its own. A task whose `signal` aborts while it waits
 * leaves its line without running (a ClientClosed error); once started, it runs to the end.
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

  return async function turn<T> (client: string | null, task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) throw new ClientClosed('The request was given up before its turn')
    if (busy) {
      const name = client ?? ''
      const line = lines.get(name) ?? []
      if (client !== null) {
        const retry = { headers: { 'retry-after': String(limits.retryAfter) } }
        if (line.length >= limits.perClient) {
          throw Object.assign(new TooManyRequests(`You have ${limits.perClient} images waiting to be made already; retry in ${limits.retryAfter} s`), retry)
        }
        if (waiting >= limits.total) {
          throw Object.assign(new ServiceUnavailable(`${limits.total} images are waiting to be made; retry in ${limits.retryAfter} s`), retry)
        }
      }
      await new Promise<void>((resolve, reject) => {
        const start = () => {
          signal?.removeEventListener('abort', giveUp)
          resolve()
        }
        const giveUp = () => {
          // a line holding the task is in the map: only an empty line leaves it
          const at = line.indexOf(start)
          if (at === -1) return
          line.splice(at, 1)
          if (!line.length) lines.delete(name)
          waiting--
          reject(new ClientClosed('The request was given up before its turn'))
        }
        signal?.addEventListener('abort', giveUp, { once: true })
        line.push(start)
        if (line.length === 1) lines.set(name, line)
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
