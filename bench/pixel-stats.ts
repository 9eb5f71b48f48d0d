// Pixel stats over a large history: BENCH_PIXEL_EVENTS events (default 10,000,000) spread over
// the last 365 days of one site, bulk-loaded into a throwaway PostgreSQL database with one
// INSERT … SELECT FROM generate_series, its finished UTC days rolled up as the hourly upkeep
// does (31 days per statement), then `GET /api/v1/pixel/sites/{id}/stats` for the year (UTC, by
// day; today's events are read from the events) timed BENCH_STATS_REQUESTS times one after the
// other. Target: a p50 under 200 ms. The same range by month is reported beside it, and with
// BENCH_PIXEL_STATS_ZONED=1 one request in Europe/Paris, which reads the events (minutes at
// 10 million events: the rollups are UTC days).
import { drizzle } from 'drizzle-orm/node-postgres'
import pg from 'pg'
import { rollUpDays } from '../src/modules/pixel/store.ts'
import type { Child } from './lib/child.ts'
import { api, MASTER, withCore, withPostgres } from './lib/core.ts'
import { watchProcessCpu } from './lib/cpu.ts'
import type { Row } from './lib/report.ts'

const EVENTS = Number(process.env.BENCH_PIXEL_EVENTS ?? 10_000_000)
const REQUESTS = Number(process.env.BENCH_STATS_REQUESTS ?? 20)
const DAY_MS = 86_400_000
const TARGET_MS = 200

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10)

/** Events of one site over the 365 days up to now: 50,000 visitors a day, 200 pages, a few sources. */
async function load(client: pg.Client, siteId: number, now: number): Promise<void> {
  const start = new Date(now - 365 * DAY_MS).toISOString()
  await client.query(
    `insert into pixel_events (site_id, occurred_at, name, visitor_id, hostname, pathname, source,
       referrer_host, utm_campaign, device, browser, os)
     select $1::integer,
       $2::timestamptz + (g::double precision / $3::double precision) * interval '365 days',
       case when g % 20 = 0 then 'signup' else 'pageview' end,
       ((g / ($3::bigint / 365)) * 100000 + (g * 7919) % 50000)::bigint,
       'stats.example',
       '/page/' || (g % 200),
       (array[null, 'Google', 'Twitter', 'newsletter', 'GitHub'])[1 + g % 5],
       (array[null, 'google.com', 't.co', null, 'github.com'])[1 + g % 5],
       case when g % 7 = 0 then 'winter' end,
       (array['desktop', 'mobile', 'tablet'])[1 + g % 3],
       (array['Chrome', 'Safari', 'Firefox', 'Edge'])[1 + g % 4],
       (array['Windows', 'macOS', 'iOS', 'Android', 'Linux'])[1 + g % 5]
     from generate_series(0, $3::bigint - 1) as g`,
    [siteId, start, EVENTS],
  )
  await client.query('analyze pixel_events')
}

/** Rolls the site's finished days up, 31 at a time, as the hourly upkeep would over a few hours. */
async function rollUp(url: string, siteId: number, now: number): Promise<void> {
  const pool = new pg.Pool({ connectionString: url, max: 1 })
  try {
    const db = drizzle(pool) as unknown as Parameters<typeof rollUpDays>[0]
    const through = day(now - DAY_MS)
    for (let from = now - 366 * DAY_MS; day(from) <= through; from += 31 * DAY_MS) {
      const to = [day(from + 30 * DAY_MS), through].sort()[0]!
      await rollUpDays(db, siteId, day(from), to, 'UTC')
    }
    await pool.query('analyze pixel_daily_stats')
  } finally {
    await pool.end()
  }
}

type Timing = { p50: number; max: number; cpuMs: number | null }

async function time(core: Child, path: string, workspace: string, count: number): Promise<Timing> {
  const headers = { authorization: `Bearer ${MASTER}`, 'x-workspace-id': workspace }
  if (count > 1) {
    const warm = await fetch(`${core.url}${path}`, { headers })
    if (warm.status !== 200) throw new Error(`${path}: ${warm.status} ${await warm.text()}`)
  }
  const cpu = watchProcessCpu(core.child.pid!)
  const took: number[] = []
  for (let i = 0; i < count; i++) {
    const started = performance.now()
    const res = await fetch(`${core.url}${path}`, { headers })
    await res.arrayBuffer()
    if (res.status !== 200) throw new Error(`${path}: ${res.status}`)
    took.push(performance.now() - started)
  }
  took.sort((a, b) => a - b)
  const cpuMs = cpu()
  return {
    p50: took[Math.floor(count / 2)]!,
    max: took.at(-1)!,
    cpuMs: cpuMs === null ? null : cpuMs / count,
  }
}

const ms = (n: number) => `${n.toFixed(0)} ms`

export async function pixelStats(): Promise<Row[]> {
  return withPostgres((url) =>
    withCore({ DATABASE_URL: url }, async (core) => {
      const made = await api(core, MASTER, 'POST', '/api/v1/workspaces', {
        name: 'Stats',
        tier: 'enterprise',
      })
      const workspace = String((made as { data: { id: number } }).data.id)
      const created = await fetch(`${core.url}/api/v1/pixel/sites`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${MASTER}`,
          'content-type': 'application/json',
          'x-workspace-id': workspace,
        },
        body: JSON.stringify({ domain: 'stats.example' }),
      })
      const siteId = ((await created.json()) as { data: { id: number } }).data.id
      const now = Date.now()
      const client = new pg.Client({ connectionString: url })
      await client.connect()
      const loadStarted = performance.now()
      try {
        await load(client, siteId, now)
      } finally {
        await client.end()
      }
      const loadSeconds = (performance.now() - loadStarted) / 1000
      const rollStarted = performance.now()
      await rollUp(url, siteId, now)
      const rollSeconds = (performance.now() - rollStarted) / 1000
      const range = `from=${day(now - 364 * DAY_MS)}&to=${day(now)}`
      const base = `/api/v1/pixel/sites/${siteId}/stats?${range}`
      const byDay = await time(core, base, workspace, REQUESTS)
      const byMonth = await time(core, `${base}&interval=month`, workspace, REQUESTS)
      const zoned =
        process.env.BENCH_PIXEL_STATS_ZONED === '1'
          ? await time(core, `${base}&timezone=Europe/Paris`, workspace, 1)
          : null
      const note =
        `${EVENTS.toLocaleString('en-US')} events loaded in ${loadSeconds.toFixed(0)} s, rolled up in ` +
        `${rollSeconds.toFixed(0)} s; year by day p50 ${ms(byDay.p50)} (max ${ms(byDay.max)}, server CPU ` +
        `${byDay.cpuMs?.toFixed(0) ?? '?'} ms a request), by month p50 ${ms(byMonth.p50)}` +
        (zoned ? `, Europe/Paris (from the events, not the rollups) ${ms(zoned.p50)}` : '')
      return [
        {
          name: `pixel stats for a year of ${EVENTS.toLocaleString('en-US')} events, PostgreSQL (UTC, by day)`,
          subject: { rps: 1000 / byDay.p50 },
          baseline: { rps: 1000 / TARGET_MS },
          ratio: `p50 ${ms(byDay.p50)}`,
          target: `p50 < ${TARGET_MS} ms`,
          met: byDay.p50 < TARGET_MS,
          note,
        },
      ]
    }),
  )
}
