import t from 'tap'
import { takingTurns } from '../src/services/turns.js'

/** A task that runs until released, recording when it starts. */
function gated (log: string[], name: string) {
  let release!: () => void
  const done = new Promise<void>((resolve) => { release = resolve })
  return { release, task: async () => { log.push(name); await done; return name } }
}
const tick = () => new Promise((resolve) => setImmediate(resolve))

t.test('one task at a time, the waiting clients served in turn', async (t) => {
  const turn = takingTurns({ perClient: 10, total: 100, retryAfter: 2 })
  const log: string[] = []
  let running = 0
  let most = 0
  const task = (name: string) => async () => {
    running++
    most = Math.max(most, running)
    log.push(name)
    await tick()
    running--
    return name
  }
  const all = [
    ...['a1', 'a2', 'a3', 'a4', 'a5'].map((name) => turn('a', task(name))),
    turn('b', task('b1')),
    turn('c', task('c1')),
    turn('b', task('b2'))
  ]
  t.same(await Promise.all(all), ['a1', 'a2', 'a3', 'a4', 'a5', 'b1', 'c1', 'b2'], 'each caller gets its own result')
  t.equal(most, 1, 'never two at once')
  t.same(log, ['a1', 'a2', 'b1', 'c1', 'a3', 'b2', 'a4', 'a5'], 'a client with many waiting delays the others by one task per turn')
})

t.test('a failing task hands the turn on', async (t) => {
  const turn = takingTurns({ perClient: 10, total: 100, retryAfter: 2 })
  const failing = turn('a', async () => { throw new Error('broken image') })
  const next = turn('b', async () => 'ok')
  await t.rejects(failing, /broken image/)
  t.equal(await next, 'ok')
  t.equal(await turn('c', async () => 'free'), 'free', 'and the line is free again')
})

t.test('how much may wait is bounded per client (429) and in all (503), with Retry-After', async (t) => {
  const turn = takingTurns({ perClient: 2, total: 3, retryAfter: 7 })
  const log: string[] = []
  const first = gated(log, 'a0')
  const running = turn('a', first.task)
  const waiting = [turn('a', async () => 'a1'), turn('a', async () => 'a2')]
  const refused = await turn('a', async () => 'a3').catch((err) => err)
  t.match(refused, { statusCode: 429, code: 'CMS_TOO_MANY_REQUESTS', headers: { 'retry-after': '7' } }, 'a third waiting task of one client')
  t.match(refused.message, /2 images waiting/)
  waiting.push(turn('b', async () => 'b1'))
  const busy = await turn('c', async () => 'c1').catch((err) => err)
  t.match(busy, { statusCode: 503, code: 'CMS_BUSY', headers: { 'retry-after': '7' } }, 'a fourth waiting task in all')
  waiting.push(turn(null, async () => 'upload'))
  first.release()
  t.same(await Promise.all([running, ...waiting]), ['a0', 'a1', 'a2', 'b1', 'upload'], 'a task without a client is never refused')
  t.equal(await turn('a', async () => 'again'), 'again', 'once the line is short again, the client is served')
})

t.test('a task whose signal aborts while it waits leaves the line without running; once started it runs to the end', async (t) => {
  const turn = takingTurns({ perClient: 2, total: 10, retryAfter: 2 })
  const log: string[] = []
  const first = gated(log, 'a0')
  const gone = new AbortController()
  const running = turn('a', first.task, gone.signal)
  const left = [turn('a', async () => { log.push('a1'); return 'a1' }, gone.signal), turn('b', async () => { log.push('b1'); return 'b1' }, gone.signal)]
  const stays = turn('a', async () => { log.push('a2'); return 'a2' })
  t.match(await turn('a', async () => 'a3').catch((err) => err), { statusCode: 429 }, 'two of client a wait')
  gone.abort()
  for (const p of left) t.match(await p.catch((err) => err), { statusCode: 499, code: 'CMS_CLIENT_CLOSED' }, 'a task given up while waiting')
  const again = turn('a', async () => { log.push('a4'); return 'a4' })
  first.release()
  t.same(await Promise.all([running, stays, again]), ['a0', 'a2', 'a4'], 'the task running when its signal aborted finishes; the given-up one frees its place in the line')
  t.same(log, ['a0', 'a2', 'a4'], 'the tasks given up never ran')
  t.match(await turn('c', async () => 'c', gone.signal).catch((err) => err), { statusCode: 499 }, 'a task whose signal has aborted already does not start')
  t.equal(await turn('c', async () => 'free'), 'free', 'and the line is free again')
})
