// Load from autocannon, in this process: a fixed number of connections, a short warm-up (JIT,
// caches, connection pools), then a measured run bounded in time.
import autocannon from 'autocannon'
import type { Child } from './child.ts'
import { watchDatabaseCpu, watchOtherCpu, watchProcessCpu } from './cpu.ts'

export type Load = {
  rps: number
  p99: number
  errors: number
  non2xx: number
  /** Share of the machine's CPU that other processes took during the measured run. */
  otherCpu: number
  /** The server process's own CPU time per answered request, in µs (null without /proc). */
  cpuPerRequest: number | null
  /** The benchmark's PostgreSQL backends' CPU time per answered request, in µs (0 on PGlite). */
  dbCpuPerRequest: number | null
}

/** One request of the rotation: each connection sends them in turn, then starts over. */
type Target = { path: string; headers?: Record<string, string> }

export type LoadOptions = {
  server: Child
  /** Several tenants keep each one's rate-limit buckets far from empty during the run. */
  targets: Target[]
  method?: 'GET' | 'POST'
  headers?: Record<string, string>
  body?: string
  /** Headers added to each request (such as a unique Idempotency-Key). */
  perRequest?: () => Record<string, string>
  /** The status each target must answer a probe with before the load starts. */
  expect?: number
}

export const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)
export const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5))
export const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 2)
export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50)

/** Loads the targets; returns mean requests per second and p99 latency in ms. */
export async function load(options: LoadOptions): Promise<Load> {
  const { server, targets, method = 'GET', headers = {}, body, perRequest } = options
  // A wrong key or path would otherwise be measured as a fast stream of errors.
  for (const target of targets) {
    const all = { ...headers, ...target.headers, ...perRequest?.() }
    const probe = await fetch(server.url + target.path, { method, headers: all, body })
    await probe.arrayBuffer()
    if (probe.status !== (options.expect ?? 200)) throw new Error(`${method} ${target.path}: ${probe.status}`)
  }
  const requests = targets.map((target) => ({
    ...target,
    ...(perRequest && {
      setupRequest: (req: autocannon.Request) => ({ ...req, headers: { ...req.headers, ...perRequest() } }),
    }),
  }))
  const run = (duration: number) =>
    autocannon({ url: server.url, method, headers, body, requests, connections: CONNECTIONS, duration })
  if (WARMUP_SECONDS > 0) await run(WARMUP_SECONDS)
  const otherCpu = watchOtherCpu(server.child.pid!)
  const serverCpu = watchProcessCpu(server.child.pid!)
  const databaseCpu = watchDatabaseCpu()
  const result = await run(SECONDS)
  const cpuMs = serverCpu()
  const dbMs = databaseCpu()
  const perAnswer = (ms: number | null) =>
    ms === null || result.requests.total === 0 ? null : (ms * 1000) / result.requests.total
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    otherCpu: otherCpu(),
    cpuPerRequest: perAnswer(cpuMs),
    dbCpuPerRequest: perAnswer(dbMs),
  }
}

/**
 * `cpuRatio`: the median over the rounds of baseline CPU per request ÷ subject CPU per request,
 * the throughput ratio a server bound by its own CPU would show; it leaves out time spent
 * waiting (for Redis, say).
 */
export type Comparison = { subject: Load; baseline: Load; ratios: number[]; cpuRatio: number | null }

/**
 * Baseline and subject measured in turns, `ROUNDS` times (the order swapped every round, so a
 * drift of the machine weighs on both alike); the round with the median ratio is reported, with
 * every round's ratio. Both servers stay up throughout: the idle one costs nothing.
 */
export async function compare(
  baseline: () => Promise<Load>,
  subject: () => Promise<Load>,
): Promise<Comparison> {
  const rounds: Array<{ subject: Load; baseline: Load; ratio: number }> = []
  for (let i = 0; i < ROUNDS; i++) {
    let b: Load
    let s: Load
    if (i % 2 === 0) {
      b = await baseline()
      s = await subject()
    } else {
      s = await subject()
      b = await baseline()
    }
    rounds.push({ subject: s, baseline: b, ratio: s.rps / b.rps })
  }
  const ratios = rounds.map((r) => r.ratio)
  const middle = <T>(values: T[], by: (v: T) => number) =>
    [...values].sort((x, y) => by(x) - by(y))[Math.floor(values.length / 2)]!
  const median = middle(rounds, (r) => r.ratio)
  const cpuRatios = rounds.flatMap(({ subject: s, baseline: b }) =>
    s.cpuPerRequest && b.cpuPerRequest ? [b.cpuPerRequest / s.cpuPerRequest] : [],
  )
  const cpuRatio = cpuRatios.length === rounds.length ? middle(cpuRatios, (r) => r) : null
  return { subject: median.subject, baseline: median.baseline, ratios, cpuRatio }
}
