// Webhook delivery: how fast the worker drains a backlog of signed deliveries to a loopback
// receiver, against a plain HTTP loop (64 concurrent fetches) feeding the same receiver, and
// how long an event takes from its commit to its arrival when the worker is idle.
// Targets: >= 2,000 deliveries/s on PostgreSQL, >= 500/s on PGlite, idle p50 < 25 ms.
import { createServer } from 'node:http'
import { freePort } from '../src/testing/processes.ts'
import { api, tenants, withCore, withDataDirs, withPostgres } from './lib/core.ts'
import type { Row } from './lib/report.ts'

type Sink = Awaited<ReturnType<typeof receiver>>

/** A receiver that notes when each request arrived, and when each post title did. */
async function receiver() {
  const arrivals: number[] = []
  const byTitle = new Map<string, number>()
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => {
      body += chunk
    })
    req.on('end', () => {
      const now = performance.now()
      arrivals.push(now)
      const title = /"title":"([^"]+)"/.exec(body)?.[1]
      if (title) byTitle.set(title, now)
      res.end('{"received":true}')
    })
  })
  const port = await freePort()
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${port}/hook`, arrivals, byTitle, close: () => server.close() }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** `concurrency` loops sharing `count` calls of `task`. */
async function inParallel(count: number, concurrency: number, task: (i: number) => Promise<unknown>) {
  let next = 0
  const worker = async () => {
    while (next < count) await task(next++)
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
}

/** The most the receiver takes from a plain client: deliveries per second. */
async function plainLoop(url: string, count: number): Promise<number> {
  const body = JSON.stringify({ id: 'evt_bench', type: 'post.created', data: { title: 'x'.repeat(40) } })
  const started = performance.now()
  await inParallel(count, 64, async () => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    await res.arrayBuffer()
  })
  return count / ((performance.now() - started) / 1000)
}

/** Queues `count` deliveries with the worker off, then times a fresh worker draining them. */
async function drain(env: Record<string, string>, count: number, sink: Sink) {
  const key = await withCore({ ...env, WEBHOOK_WORKER: '0' }, async (core) => {
    const { key } = (await tenants(core, 1))[0]!
    await api(core, key, 'POST', '/api/v1/webhooks', { url: sink.url, events: ['post.created'] })
    await inParallel(count, 16, (i) => api(core, key, 'POST', '/api/v1/posts', { title: `queued-${i}` }))
    return key
  })
  sink.arrivals.length = 0
  sink.byTitle.clear()
  return withCore(env, async (core) => {
    const deadline = Date.now() + 120_000
    while (sink.arrivals.length < count && Date.now() < deadline) await sleep(20)
    const received = sink.arrivals.length
    const rate = (received - 1) / ((sink.arrivals.at(-1)! - sink.arrivals[0]!) / 1000)
    // Commit-to-receipt when idle: one post at a time, from its 201 to its arrival.
    const latencies: number[] = []
    for (let i = 0; i < 200; i++) {
      const title = `latency-${i}`
      await api(core, key, 'POST', '/api/v1/posts', { title })
      const committed = performance.now()
      const until = Date.now() + 5000
      while (!sink.byTitle.has(title) && Date.now() < until) await sleep(0)
      latencies.push((sink.byTitle.get(title) ?? Number.POSITIVE_INFINITY) - committed)
      await sleep(5)
    }
    latencies.sort((x, y) => x - y)
    return { rate, received, p50: latencies[100]!, p99: latencies[198]! }
  })
}

async function deliveries(engine: 'PostgreSQL' | 'PGlite', count: number, sink: Sink): Promise<Row> {
  const result =
    engine === 'PGlite'
      ? await withDataDirs(1, ([dir]) => drain({ DATA_DIR: dir! }, count, sink))
      : await withPostgres((url) => drain({ DATABASE_URL: url }, count, sink))
  const baseline = await plainLoop(sink.url, count)
  const min = engine === 'PGlite' ? 500 : 2000
  return {
    name: `webhook deliveries, ${engine} (${count.toLocaleString('en-US')} signed) vs plain HTTP loop`,
    subject: { rps: result.rate },
    baseline: { rps: baseline },
    target: `>= ${min.toLocaleString('en-US')}/s, idle p50 < 25 ms`,
    met: result.received === count && result.rate >= min && result.p50 < 25,
    note:
      `${result.received}/${count} delivered; commit-to-receipt when idle ` +
      `p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms`,
  }
}

export async function webhooks(): Promise<Row[]> {
  const sink = await receiver()
  try {
    return [await deliveries('PostgreSQL', 5000, sink), await deliveries('PGlite', 2000, sink)]
  } finally {
    sink.close()
  }
}
