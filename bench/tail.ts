/**
 * The long tail's client: asks each URL once, one at a time, and answers each one's time in ms and status.
 * A fresh process, so that the load generator's own heap and garbage collection do not count in the timings.
 */
process.once('message', async (urls: string[]) => {
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
