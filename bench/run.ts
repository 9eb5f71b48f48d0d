// npm run bench: every figure is measured in this run against a baseline measured in the same
// run on the same machine, and reported as a ratio beside its absolute value. Loopback only;
// every load is bounded in time and every loop in count.
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { createTenant } from '../src/testing/processes.ts'
import { api, type Child, freePort, type Load, load, startChild } from './lib.ts'

const ROOT = new URL('..', import.meta.url).pathname
const CORE = join(ROOT, 'src/main.ts')
const MASTER = 'sk_master_bench_0123456789abcdefghijklmnopqrstuvwxyz'
const PG_ADMIN = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const REDIS = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)

type Row = { name: string; subject: Load | number; baseline: Load | number; target: string; unit?: string }
const rows: Row[] = []

function coreEnv(extra: Record<string, string>): Record<string, string> {
  return {
    CORE_API_MASTER_KEY: MASTER,
    RATE_LIMIT_IP_PER_HOUR: '0',
    WEBHOOK_ALLOW_INSECURE_URLS: '1',
    ...extra,
  }
}

async function startCore(extra: Record<string, string>): Promise<Child> {
  return startChild(CORE, coreEnv(extra))
}

/** An enterprise workspace (no plan or tier limit in the way) and a key in it. */
async function tenant(core: Child) {
  const { workspace, key } = await createTenant(core.url, MASTER)
  return { workspaceId: workspace, key }
}

async function withDatabase<T>(run: (url: string) => Promise<T>): Promise<T> {
  const name = `core_api_bench_${Date.now()}`
  const admin = new pg.Client({ connectionString: PG_ADMIN })
  await admin.connect()
  await admin.query(`create database ${name}`)
  const url = new URL(PG_ADMIN)
  url.pathname = `/${name}`
  try {
    return await run(url.toString())
  } finally {
    await admin.query(`drop database if exists ${name} with (force)`)
    await admin.end()
  }
}

const tempDir = () => mkdtempSync(join(tmpdir(), 'core-api-bench-'))

async function helloBaseline(): Promise<Load> {
  const hello = await startChild(join(ROOT, 'bench/hello.ts'), {})
  try {
    return await load({ url: `${hello.url}/hello`, seconds: SECONDS })
  } finally {
    await hello.stop()
  }
}

async function authPath(base: Load) {
  const dir = tempDir()
  const core = await startCore({ DATA_DIR: dir })
  try {
    const { key } = await tenant(core)
    const me = await load({
      url: `${core.url}/api/v1/me`,
      headers: { authorization: `Bearer ${key}` },
      seconds: SECONDS,
    })
    rows.push({
      name: 'auth path: GET /api/v1/me (warm key cache) vs hello-world',
      subject: me,
      baseline: base,
      target: '>= 0.6',
    })
  } finally {
    await core.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

async function resourceReadPglite() {
  const a = tempDir()
  const b = tempDir()
  try {
    let core = await startCore({ DATA_DIR: a })
    const { workspaceId, key } = await tenant(core)
    await core.stop()
    // PGlite is single-process: the bare route reads an identical copy of the data.
    cpSync(a, b, { recursive: true })
    rmSync(join(b, 'core-api.lock'), { force: true })
    const bare = await startChild(join(ROOT, 'bench/bare-read.ts'), { DATA_DIR: b })
    const baseline = await load({ url: `${bare.url}/workspaces/${workspaceId}`, seconds: SECONDS })
    await bare.stop()
    core = await startCore({ DATA_DIR: a })
    const subject = await load({
      url: `${core.url}/api/v1/workspaces/${workspaceId}`,
      headers: { authorization: `Bearer ${key}` },
      seconds: SECONDS,
    })
    await core.stop()
    rows.push({
      name: 'resource read, PGlite: GET /api/v1/workspaces/{id} vs bare SELECT route',
      subject,
      baseline,
      target: '>= 0.8',
    })
  } finally {
    rmSync(a, { recursive: true, force: true })
    rmSync(b, { recursive: true, force: true })
  }
}

async function resourceReadPostgres() {
  await withDatabase(async (url) => {
    const core = await startCore({ DATABASE_URL: url })
    const { workspaceId, key } = await tenant(core)
    const bare = await startChild(join(ROOT, 'bench/bare-read.ts'), { DATABASE_URL: url })
    const baseline = await load({ url: `${bare.url}/workspaces/${workspaceId}`, seconds: SECONDS })
    await bare.stop()
    const subject = await load({
      url: `${core.url}/api/v1/workspaces/${workspaceId}`,
      headers: { authorization: `Bearer ${key}` },
      seconds: SECONDS,
    })
    await core.stop()
    rows.push({
      name: 'resource read, PostgreSQL: GET /api/v1/workspaces/{id} vs bare SELECT route',
      subject,
      baseline,
      target: '>= 0.8',
    })
  })
}

/** GET /api/v1/me with rate limiting off, in memory, and through Redis. */
async function rateLimitCost() {
  const results: Record<string, Load> = {}
  for (const [mode, env] of [
    ['off', { RATE_LIMIT_ENABLED: '0' }],
    ['memory', {}],
    ['redis', { REDIS_URL: REDIS, REDIS_PREFIX: `core-api-bench-${Date.now()}:` }],
  ] as const) {
    const dir = tempDir()
    const core = await startCore({ DATA_DIR: dir, ...env })
    try {
      const { key } = await tenant(core)
      results[mode] = await load({
        url: `${core.url}/api/v1/me`,
        headers: { authorization: `Bearer ${key}` },
        seconds: SECONDS,
      })
    } finally {
      await core.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  }
  rows.push({
    name: 'rate limiting in memory: GET /api/v1/me, limits on vs off',
    subject: results.memory!,
    baseline: results.off!,
    target: '>= 0.9',
  })
  rows.push({
    name: 'rate limiting in Redis (3 buckets, 1 round trip) vs off',
    subject: results.redis!,
    baseline: results.off!,
    target: '>= 0.7',
  })
}

/** POST /api/v1/posts with a fresh Idempotency-Key on every request vs without one. */
async function idempotencyCost() {
  await withDatabase(async (url) => {
    const core = await startCore({ DATABASE_URL: url, WEBHOOK_WORKER: '0' })
    try {
      const { key } = await tenant(core)
      const post = {
        url: `${core.url}/api/v1/posts`,
        method: 'POST' as const,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'Benchmark', body: 'A post created by the benchmark.' }),
        seconds: SECONDS,
      }
      const plain = await load(post)
      let n = 0
      const keyed = await load({
        ...post,
        perRequest: () => ({ 'idempotency-key': `bench-${process.pid}-${++n}` }),
      })
      rows.push({
        name: 'idempotent POST /api/v1/posts (PostgreSQL) vs the same POST without a key',
        subject: keyed,
        baseline: plain,
        target: '>= 0.8',
      })
    } finally {
      await core.stop()
    }
  })
}

/** A receiver on loopback that counts requests and notes when each arrived. */
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

/** The receiver fed directly by a plain HTTP loop: the most a client could send it. */
async function plainDeliveries(url: string, count: number, concurrency: number): Promise<number> {
  const body = JSON.stringify({ id: 'evt_bench', type: 'post.created', data: { title: 'x'.repeat(40) } })
  let next = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next++
        await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      }
    }),
  )
  return count / ((performance.now() - started) / 1000)
}

async function webhookThroughput(engine: 'PGlite' | 'PostgreSQL', count: number) {
  const sink = await receiver()
  const run = async (env: Record<string, string>) => {
    // Queue `count` deliveries with the worker off, then time a fresh worker draining them.
    let core = await startCore({ ...env, WEBHOOK_WORKER: '0' })
    const { key } = await tenant(core)
    await api(core.url, key, 'POST', '/api/v1/webhooks', { url: sink.url, events: ['post.created'] })
    let made = 0
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (made < count) {
          made++
          await api(core.url, key, 'POST', '/api/v1/posts', { title: `queued-${made}` })
        }
      }),
    )
    await core.stop()
    sink.arrivals.length = 0
    core = await startCore(env)
    const deadline = Date.now() + 120_000
    while (sink.arrivals.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    const received = sink.arrivals.length
    const rate = (received - 1) / ((sink.arrivals.at(-1)! - sink.arrivals[0]!) / 1000)
    // Commit-to-receipt latency while idle: one post at a time.
    const latencies: number[] = []
    for (let i = 0; i < 200; i++) {
      const title = `latency-${i}`
      await api(core.url, key, 'POST', '/api/v1/posts', { title })
      const committed = performance.now()
      const until = Date.now() + 5000
      while (!sink.byTitle.has(title) && Date.now() < until) await new Promise((r) => setImmediate(r))
      latencies.push(sink.byTitle.get(title)! - committed)
      await new Promise((r) => setTimeout(r, 5))
    }
    await core.stop()
    latencies.sort((a, b) => a - b)
    return { rate, received, p50: latencies[99]!, p99: latencies[197]! }
  }
  try {
    const result =
      engine === 'PGlite'
        ? await (async () => {
            const dir = tempDir()
            try {
              return await run({ DATA_DIR: dir })
            } finally {
              rmSync(dir, { recursive: true, force: true })
            }
          })()
        : await withDatabase((url) => run({ DATABASE_URL: url }))
    const baseline = await plainDeliveries(sink.url, count, 64)
    const target = engine === 'PGlite' ? '>= 500/s' : '>= 2,000/s'
    rows.push({
      name: `webhook deliveries/s, ${engine} (${result.received}/${count} signed) vs plain HTTP loop`,
      subject: result.rate,
      baseline,
      target,
      unit: '/s',
    })
    rows.push({
      name: `webhook commit-to-receipt latency when idle, ${engine}: p50 / p99 (ms)`,
      subject: result.p50,
      baseline: result.p99,
      target: 'p50 < 25 ms',
      unit: 'ms',
    })
  } finally {
    sink.close()
  }
}

function describe(value: Load | number, unit = 'req/s'): string {
  if (typeof value === 'number') return `${value.toFixed(unit === 'ms' ? 1 : 0)} ${unit}`
  return `${value.rps.toFixed(0)} req/s, p99 ${value.p99} ms${value.errors || value.non2xx ? ` (${value.errors} errors, ${value.non2xx} non-2xx)` : ''}`
}

function ratio(row: Row): string {
  if (row.unit === 'ms') return '—'
  const s = typeof row.subject === 'number' ? row.subject : row.subject.rps
  const b = typeof row.baseline === 'number' ? row.baseline : row.baseline.rps
  return (s / b).toFixed(2)
}

const only = process.argv[2]
const started = Date.now()
console.log(
  `core-api benchmarks — ${new Date().toISOString().slice(0, 10)}, Node ${process.versions.node}, ${cpus().length} × ${cpus()[0]?.model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
)
const suites: Record<string, () => Promise<void>> = {
  auth: async () => authPath(await helloBaseline()),
  read: async () => {
    await resourceReadPglite()
    await resourceReadPostgres()
  },
  guards: async () => {
    await rateLimitCost()
    await idempotencyCost()
  },
  webhooks: async () => {
    await webhookThroughput('PostgreSQL', 5000)
    await webhookThroughput('PGlite', 2000)
  },
}
for (const [name, suite] of Object.entries(suites)) {
  if (only && only !== name) continue
  await suite()
}
console.log('\n| benchmark | subject | baseline | ratio | target |\n| --- | --- | --- | --- | --- |')
for (const row of rows) {
  const latency = row.unit === 'ms'
  console.log(
    `| ${row.name} | ${latency ? `p50 ${describe(row.subject, 'ms')}` : describe(row.subject, row.unit)} | ${latency ? `p99 ${describe(row.baseline, 'ms')}` : describe(row.baseline, row.unit)} | ${ratio(row)} | ${row.target} |`,
  )
}
console.log(`\n(${((Date.now() - started) / 1000).toFixed(0)} s)`)
process.exit(0)
