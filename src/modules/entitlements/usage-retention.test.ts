// Recorded usage does not pile up forever: remembered event ids and the counters of past
// monthly periods older than USAGE_RETENTION_DAYS are purged in bounded batches, while what the
// summary, a late retry and the last invoice need — the current and the previous month, and
// the counters of features that never reset — is always kept. Against the real database.

import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../platform/config/index.ts'
import { noEvents } from '../../platform/events.ts'
import { MemoryPubSub } from '../../platform/kv/index.ts'
import { ManualClock } from '../../platform/lib/clock.ts'
import { useTestApp } from '../../testing/harness.ts'
import { createEntitlementService } from './index.ts'

const clock = new ManualClock(Date.UTC(2026, 0, 10, 12))
const t = useTestApp({ clock })

/** A purge as the module's timer runs it, with the given retention. */
function purge(days: number, batchSize?: number) {
  const config = loadConfig({ USAGE_RETENTION_DAYS: String(days) })
  const service = createEntitlementService({
    config,
    db: t.database.db,
    clock,
    credentials: undefined as never,
    events: noEvents,
    pubsub: new MemoryPubSub(),
  })
  return service.purgeUsage(batchSize)
}

async function rows(table: 'entitlement_usage_events' | 'entitlement_usage', workspace: number) {
  const result = await t.database.db.execute(
    sql`select * from ${sql.raw(table)} where workspace_id = ${workspace} order by 1, 2, 3`,
  )
  return (result as unknown as { rows: Array<Record<string, unknown>> }).rows
}

describe('entitlements: usage retention', () => {
  it('purges old event ids and past periods, keeping the current and previous month', async () => {
    const ws = await t.workspace({ tier: 'free' })
    const { key } = await t.key(ws.id)
    const record = async (feature: string, quantity: number, eventId: string) => {
      const res = await t.call(key, {
        method: 'POST',
        url: '/api/v1/entitlements/usage',
        payload: { feature, quantity, event_id: eventId },
      })
      expect(res.statusCode, res.body).toBe(200)
      return res.json().current_usage as number
    }
    const summary = async () =>
      (await t.call(key, { method: 'GET', url: '/api/v1/entitlements/summary' })).json().data.entitlements

    // January, March and April 2026 (none in February).
    await record('api_calls', 5, 'jan-1')
    await record('storage', 100, 'store-jan')
    clock.set(Date.UTC(2026, 2, 15, 12))
    await record('api_calls', 7, 'mar-1')
    clock.set(Date.UTC(2026, 3, 20, 12))
    await record('api_calls', 3, 'apr-1')
    expect(await rows('entitlement_usage_events', ws.id)).toHaveLength(4)
    expect(await rows('entitlement_usage', ws.id)).toHaveLength(4) // 3 months + storage
    const before = await summary()

    // One day of retention: still, March (the previous month) and April are kept.
    expect(await purge(1, 1)).toBe(3) // jan-1, store-jan, January's counter, one row a batch
    const events = await rows('entitlement_usage_events', ws.id)
    expect(events.map((e) => e.event_id).sort()).toEqual(['apr-1', 'mar-1'])
    const counters = await rows('entitlement_usage', ws.id)
    expect(counters.map((c) => [c.feature, Number(c.used)])).toEqual(
      expect.arrayContaining([
        ['api_calls', 7],
        ['api_calls', 3],
        ['storage', 100],
      ]),
    )
    expect(counters).toHaveLength(3)

    // The summary is what it was; a retried record of this period still counts once.
    expect(await summary()).toEqual(before)
    expect(before.api_calls.used).toBe(3)
    expect(before.storage.used).toBe(100)
    expect(await record('api_calls', 3, 'apr-1')).toBe(3)

    // Nothing more to purge until time passes. On 20 June, with 90 days (back to 22 March):
    // the March event goes, March's counter stays (part of its month is within 90 days).
    expect(await purge(1)).toBe(0)
    clock.set(Date.UTC(2026, 5, 20, 12))
    expect(await purge(90)).toBe(1)
    expect((await rows('entitlement_usage_events', ws.id)).map((e) => e.event_id)).toEqual(['apr-1'])
    expect(await rows('entitlement_usage', ws.id)).toHaveLength(3)
    // On 20 July, back to 21 April: March's counter and the April event go; April's counter stays.
    clock.set(Date.UTC(2026, 6, 20, 12))
    expect(await purge(90)).toBe(2)
    expect(await rows('entitlement_usage_events', ws.id)).toEqual([])
    expect((await rows('entitlement_usage', ws.id)).map((c) => Number(c.used)).sort((a, b) => a - b)).toEqual(
      [3, 100],
    )
    expect((await summary()).storage.used).toBe(100)
  })
})
