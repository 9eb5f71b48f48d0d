// Webhook delivery: how fast the worker drains a backlog of signed deliveries to a loopback
// receiver, against a plain HTTP loop (64 concurrent fetches) feeding the same receiver, and
// how long an event takes from its commit to its arrival when the worker is idle.
// Targets: >= 2,000 deliveries/s on PostgreSQL, >= 500/s on PGlite, idle p50 < 25 ms.
// Then, on PostgreSQL, the same 201-to-receipt latency for every post while posts are written
// at a steady rate (BENCH_WEBHOOK_RATE, default 400/s) into workspaces whose endpoints receive
// them all, against the idle figure of the same server: target p50 < 25 ms under load.
import { createServer } from 'node:http'
import { freePort } from '../src/testing/processes.ts'
import type { Child } from './lib/child.ts'
import { api, tenants, withCore, withDataDirs, withPostgres } from './lib/core.ts'
import { watchOtherCpu } from './lib/cpu.ts'
import { SECONDS, WARMUP_SECONDS } from './lib/load.ts'
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

/**
 * Posts at `rate` per second for `seconds`, open loop (each is sent on its schedule whether the
 * earlier ones have answered or not), over the tenants in turn; notes when each 201 arrived.
 */
async function writeAtRate(
  core: Child,
  keys: string[],
  rate: number,
  seconds: number,
  prefix: string,
): Promise<{ created: Map<string, number>; failed: number; failures: Map<string, number>; rps: number }> {
  const created = new Map<string, number>()
  /** Failed posts by status (or error). */
  const failures = new Map<string, number>()
  let failed = 0
  const fail = (why: string) => {
    failed++
    failures.set(why, (failures.get(why) ?? 0) + 1)
  }
  const total = Math.round(rate * seconds)
  const inFlight = new Set<Promise<void>>()
  const post = async (i: number) => {
    const title = `${prefix}-${i}`
    try {
      const res = await fetch(`${core.url}/api/v1/posts`, {
        method: 'POST',
        headers: { authorization: `Bearer ${keys[i % keys.length]}`, 'content-type': 'application/json' },
        body: JSON.stringify({ title }),
      })
      await res.arrayBuffer()
      if (res.status === 201) created.set(title, performance.now())
      else fail(String(res.status))
    } catch (error) {
      fail((error as Error).message)
    }
  }
  const started = performance.now()
  let sent = 0
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1)
    while (sent < due) {
      const task = post(sent++)
      inFlight.add(task)
      void task.finally(() => inFlight.delete(task))
    }
    await sleep(1)
  }
  await Promise.all(inFlight)
  return { created, failed, failures, rps: created.size / ((performance.now() - started) / 1000) }
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.POSITIVE_INFINITY

/** 201-to-receipt of the posts in `created` (not yet received: infinite), sorted. */
async function receipts(sink: Sink, created: Map<string, number>): Promise<number[]> {
  const until = Date.now() + 10_000
  while ([...created.keys()].some((t) => !sink.byTitle.has(t)) && Date.now() < until) await sleep(20)
  return [...created]
    .map(([title, at]) => (sink.byTitle.get(title) ?? Number.POSITIVE_INFINITY) - at)
    .sort((x, y) => x - y)
}

export const WEBHOOK_RATE = Number(process.env.BENCH_WEBHOOK_RATE ?? 400)

/**
 * Delivery latency under write load, PostgreSQL: four enterprise workspaces, each with an
 * endpoint subscribed to post.created; posts written at WEBHOOK_RATE per second over the four
 * (a warm-up, then a measured load of SECONDS), every one delivered. The baseline is the same
 * server idle: one post at a time, as in the row above.
 */
export async function webhooksUnderLoad(): Promise<Row[]> {
  const sink = await receiver()
  try {
    return await withPostgres((url) =>
      withCore({ DATABASE_URL: url }, async (core) => {
        const made = await tenants(core, 4)
        for (const { key } of made)
          await api(core, key, 'POST', '/api/v1/webhooks', { url: sink.url, events: ['post.created'] })
        const keys = made.map((t) => t.key)
        const idle: number[] = []
        for (let i = 0; i < 100; i++) {
          const title = `idle-${i}`
          await api(core, keys[i % keys.length]!, 'POST', '/api/v1/posts', { title })
          const committed = performance.now()
          const until = Date.now() + 5000
          while (!sink.byTitle.has(title) && Date.now() < until) await sleep(0)
          idle.push((sink.byTitle.get(title) ?? Number.POSITIVE_INFINITY) - committed)
          await sleep(5)
        }
        idle.sort((x, y) => x - y)
        await writeAtRate(core, keys, WEBHOOK_RATE, WARMUP_SECONDS, 'warm')
        const otherCpu = watchOtherCpu(core.child.pid!)
        const loaded = await writeAtRate(core, keys, WEBHOOK_RATE, SECONDS, 'load')
        const other = otherCpu()
        const latencies = await receipts(sink, loaded.created)
        const p50 = percentile(latencies, 0.5)
        const p99 = percentile(latencies, 0.99)
        const received = latencies.filter(Number.isFinite).length
        const ms = (n: number) => `${n.toFixed(1)} ms`
        return [
          {
            name: `webhook 201→receipt p50/p99 under ${WEBHOOK_RATE} posts/s, PostgreSQL, vs idle`,
            subject: { rps: loaded.rps, p99: Math.round(p99), errors: loaded.failed, otherCpu: other },
            baseline: { rps: 1000 / (idle[50]! + 5), p99: Math.round(percentile(idle, 0.99)) },
            target: 'p50 < 25 ms under load',
            met: received === loaded.created.size && p50 < 25,
            ratio: `p50 ${ms(p50)} vs ${ms(idle[50]!)}`,
            note:
              `${received}/${loaded.created.size} delivered; under load p50 ${ms(p50)}, p99 ${ms(p99)}, ` +
              `max ${ms(latencies.at(-1)!)}; idle p50 ${ms(idle[50]!)}, p99 ${ms(percentile(idle, 0.99))}` +
              (loaded.failed > 0
                ? `; failed posts: ${[...loaded.failures].map(([why, n]) => `${n} × ${why}`).join(', ')}`
                : ''),
          },
        ]
      }),
    )
  } finally {
    sink.close()
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
