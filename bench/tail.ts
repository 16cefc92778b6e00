/**
 * The long tail's client: asks each URL once, one at a time, and answers each one's time in ms and status.
 * A fresh process, so that the load generator's own heap and garbage collection do not count in the timings.
 */
process.once('message', async (urls: string[]) => {
  // the client's own first requests (its connection, its HTTP code compiled) are not the server's time: three
  // untimed requests for the health check, which reads nothing a search reads
  for (let i = 0; i < 3; i++) await (await fetch(new URL('/healthz', urls[0]))).arrayBuffer()
  const results: { ms: number, status: number }[] = []
  for (const url of urls) {
    const t0 = performance.now()
    const res = await fetch(url)
    await res.arrayBuffer()
    results.push({ ms: performance.now() - t0, status: res.status })
  }
  process.send!(results, () => process.exit(0))
})
process.send!('ready')
