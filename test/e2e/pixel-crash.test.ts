// Group commit keeps its promise through a crash: a server takes a load of track requests and
// is killed with SIGKILL in the middle of it; every event it acknowledged with
// `{"tracked": true}` is in the database when it comes back — on the embedded engine, and on
// PostgreSQL when DATABASE_URL is set.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { pixelEvents } from '../../src/modules/pixel/tables.ts'
import { openDatabase } from '../../src/platform/db/index.ts'
import { randomBase62 } from '../../src/platform/lib/random.ts'
import { testDatabase } from '../../src/testing/harness.ts'
import { call, createTenant, startServer } from '../../src/testing/processes.ts'

const MASTER = `sk_master_${randomBase62(40)}`
const UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36'

/** Sends track requests from `workers` loops until `stop()`; returns the paths acknowledged. */
function load(base: string, workers: number) {
  const acknowledged: string[] = []
  let sent = 0
  let running = true
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      const path = `/e/${sent++}`
      try {
        const res = await fetch(`${base}/api/v1/pixel/track`, {
          method: 'POST',
          headers: { 'content-type': 'text/plain', 'user-agent': UA },
          body: JSON.stringify({ event: 'pageview', url: `https://crash.example${path}` }),
        })
        const body = (await res.json()) as { tracked?: boolean }
        if (res.status === 200 && body.tracked === true) acknowledged.push(path)
      } catch {
        return // the server is gone: whatever was not answered was not acknowledged
      }
    }
  })
  return {
    acknowledged,
    sent: () => sent,
    stop: async () => {
      running = false
      await Promise.all(loops)
    },
  }
}

async function crashUnderLoad(
  engine: 'pglite' | 'postgres',
  env: Record<string, string>,
  open: () => ReturnType<typeof openDatabase>,
) {
  const settings = {
    ...env,
    CORE_API_MASTER_KEY: MASTER,
    RATE_LIMIT_IP_PER_HOUR: '0',
    RATE_LIMIT_PIXEL_PER_MINUTE: '0',
  }
  const first = await startServer(settings)
  const ready = (await (await fetch(`${first.url}/ready`)).json()) as { database: string }
  expect(ready.database).toBe(engine)
  const { workspace, key } = await createTenant(first.url, MASTER)
  const site = await call(first.url, key, 'POST', '/api/v1/pixel/sites', { domain: 'crash.example' })
  expect(site.status).toBe(201)

  const traffic = load(first.url, 32)
  // Kill it once a good number of events were acknowledged, with many more in flight.
  const deadline = Date.now() + 30_000
  while (traffic.acknowledged.length < 500 && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 5))
  first.child.kill('SIGKILL')
  await traffic.stop()
  await first.stop()
  const acknowledged = [...traffic.acknowledged]
  expect(acknowledged.length).toBeGreaterThanOrEqual(500)

  // It comes back, and answers for what it acknowledged.
  const second = await startServer(settings)
  const stats = await call(
    second.url,
    key,
    'GET',
    `/api/v1/pixel/sites/${site.body.data.id}/stats`,
    undefined,
    { 'x-workspace-id': String(workspace) },
  )
  expect(stats.status).toBe(200)
  expect(stats.body.data.totals.pageviews).toBeGreaterThanOrEqual(acknowledged.length)
  await second.stop()

  const database = await open()
  try {
    const rows = await database.db
      .select({ path: pixelEvents.pathname })
      .from(pixelEvents)
      .where(eq(pixelEvents.siteId, site.body.data.id))
    const stored = new Set(rows.map((r) => r.path))
    const lost = acknowledged.filter((path) => !stored.has(path))
    expect(lost).toEqual([])
    // Nothing was stored twice, and nothing beyond what was sent.
    expect(rows.length).toBe(stored.size)
    expect(rows.length).toBeLessThanOrEqual(traffic.sent())
    console.log(
      `pixel crash: ${acknowledged.length} acknowledged, ${rows.length} stored, ${traffic.sent()} sent`,
    )
  } finally {
    await database.close()
  }
}

describe('pixel ingestion across a kill -9', () => {
  it('keeps every acknowledged event on the embedded engine', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'core-api-pixel-crash-'))
    try {
      // Not the PostgreSQL or Redis of this environment, if it names them: embedded only.
      await crashUnderLoad('pglite', { DATA_DIR: dir, DATABASE_URL: '', REDIS_URL: '' }, () =>
        openDatabase({ dataDir: dir }),
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 180_000)

  it.skipIf(!process.env.DATABASE_URL)(
    'keeps every acknowledged event on PostgreSQL',
    async () => {
      const db = await testDatabase()
      await db.handle.close()
      try {
        await crashUnderLoad('postgres', { DATABASE_URL: db.url! }, () =>
          openDatabase({ databaseUrl: db.url! }),
        )
      } finally {
        await db.drop()
      }
    },
    180_000,
  )
})
