// npm run bench [-- <group>...]: runs the benchmarks one after the other and prints a table.
// Every figure is a ratio against a baseline measured in the same run, on the same machine,
// in turns with it (never at the same time: the load generator shares the cores), in several
// rounds of which the median is reported, with the absolute throughput and p99 latency beside
// it. The first row, the noise floor, compares two identical servers. Loopback only; every
// load is bounded in time, and every child server is killed when this process ends, however
// it ends.
import { cpus, loadavg, totalmem } from 'node:os'
import { authPath } from './auth-path.ts'
import { idempotency } from './idempotency.ts'
import { CONNECTIONS, ROUNDS, SECONDS, WARMUP_SECONDS } from './lib/load.ts'
import { type Row, table } from './lib/report.ts'
import { mcpGateway } from './mcp.ts'
import { noise } from './noise.ts'
import { pixelPglite, pixelPostgres } from './pixel.ts'
import { pixelStats } from './pixel-stats.ts'
import { rateLimit } from './rate-limit.ts'
import { resourceReadPglite, resourceReadPostgres } from './resource-read.ts'
import { webhooks, webhooksUnderLoad } from './webhooks.ts'
import { writesFullWorkspace, writesLogging, writesPglite, writesPostgres } from './writes.ts'

const groups: Record<string, Array<() => Promise<Row[]>>> = {
  noise: [noise],
  auth: [authPath],
  read: [resourceReadPglite, resourceReadPostgres],
  guards: [rateLimit, idempotency],
  webhooks: [webhooks],
  'webhook-load': [webhooksUnderLoad],
  writes: [writesPostgres, writesPglite, writesFullWorkspace],
  logging: [writesLogging],
  pixel: [pixelPostgres, pixelPglite],
  'pixel-stats': [pixelStats],
  mcp: [mcpGateway],
}

// A signal would end the process without its 'exit' handlers, which kill the children.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130))

const chosen = process.argv.slice(2)
const unknown = chosen.filter((name) => !(name in groups))
if (unknown.length > 0) {
  console.error(`unknown group ${unknown.join(', ')}; groups: ${Object.keys(groups).join(', ')}`)
  process.exit(2)
}

const started = Date.now()
const load1 = () => loadavg()[0]!.toFixed(2)
console.log(
  `core-api benchmarks, ${new Date().toISOString().slice(0, 10)}: Node ${process.versions.node}, ` +
    `${cpus().length} × ${cpus()[0]?.model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; ` +
    `autocannon ${CONNECTIONS} connections, ${WARMUP_SECONDS} s warm-up + ${SECONDS} s per load, ` +
    `${ROUNDS} rounds per comparison; ` +
    `load average ${load1()}`,
)
const rows: Row[] = []
try {
  for (const [name, benchmarks] of Object.entries(groups)) {
    if (chosen.length > 0 && !chosen.includes(name)) continue
    for (const benchmark of benchmarks) {
      const done = await benchmark()
      for (const row of done) console.log(`  done: ${row.name}`)
      rows.push(...done)
    }
  }
} catch (error) {
  console.error(error)
  process.exitCode = 1
}
console.log(`\n${table(rows)}\n\n(${((Date.now() - started) / 1000).toFixed(0)} s; load average ${load1()})`)
// autocannon and pg may leave handles open; the 'exit' handler kills any child left.
process.exit()
