/**
 * The long tail's client: asks each URL of a run once, one at a time, and answers each one's time in ms and status;
 * then waits for the next run ('done' ends it). A process of its own, started once before the first run, so that
 * neither the load generator's heap and garbage collection nor its own start count in the timings.
 */
let warm = false
process.on('message', async (urls: string[] | 'done') => {
  if (urls === 'done') process.exit(0)
  // the client's own first requests (its connection, its HTTP code compiled) are not the server's time: three
  // untimed requests for the health check, which reads nothing a search reads
  if (!warm) for (let i = 0; i < 3; i++) await (await fetch(new URL('/healthz', urls[0]))).arrayBuffer()
  warm = true
  const results: { ms: number, status: number }[] = []
  for (const url of urls) {
    const t0 = performance.now()
    const res = await fetch(url)
    await res.arrayBuffer()
    results.push({ ms: performance.now() - t0, status: res.status })
  }
  process.send!(results)
})
process.send!('ready')
