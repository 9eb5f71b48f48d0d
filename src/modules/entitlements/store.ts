// Usage counters of metered and size features. Check-and-increment is one conditional upsert,
// so concurrent records can never push a hard limit over, on any number of instances.
import { and, eq, sql } from 'drizzle-orm'
import type { Executor } from '../../platform/db/index.ts'
import { entitlementUsage, entitlementUsageEvents } from './tables.ts'

export async function readUsage(
  db: Executor,
  workspaceId: number,
  feature: string,
  periodStart: Date,
): Promise<number> {
  const [row] = await db
    .select({ used: entitlementUsage.used })
    .from(entitlementUsage)
    .where(
      and(
        eq(entitlementUsage.workspaceId, workspaceId),
        eq(entitlementUsage.feature, feature),
        eq(entitlementUsage.periodStart, periodStart),
      ),
    )
  return row?.used ?? 0
}

/**
 * Adds `quantity` unless that would pass `limit` (null: no limit). Returns the new usage, or
 * null when refused.
 */
export async function addUsage(
  db: Executor,
  input: {
    workspaceId: number
    feature: string
    periodStart: Date
    quantity: number
    limit: number | null
    now: Date
  },
): Promise<number | null> {
  const { workspaceId, feature, periodStart, quantity, limit, now } = input
  if (limit !== null && quantity > limit) return null
  const rows = await db
    .insert(entitlementUsage)
    .values({ workspaceId, feature, periodStart, used: quantity, updatedAt: now })
    .onConflictDoUpdate({
      target: [entitlementUsage.workspaceId, entitlementUsage.feature, entitlementUsage.periodStart],
      set: { used: sql`${entitlementUsage.used} + ${quantity}`, updatedAt: now },
      ...(limit !== null && { setWhere: sql`${entitlementUsage.used} + ${quantity} <= ${limit}` }),
    })
    .returning({ used: entitlementUsage.used })
  return rows[0]?.used ?? null
}

/** Remembers a client event id; false when it was already counted. */
export async function rememberEvent(
  db: Executor,
  input: { workspaceId: number; eventId: string; feature: string; quantity: number; createdAt: Date },
): Promise<boolean> {
  const rows = await db
    .insert(entitlementUsageEvents)
    .values(input)
    .onConflictDoNothing()
    .returning({ eventId: entitlementUsageEvents.eventId })
  return rows.length > 0
}

/** Serialises check-and-create of one count feature in one workspace until the transaction ends. */
export async function lockFeature(tx: Executor, workspaceId: number, feature: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${workspaceId}::integer, hashtext(${feature}))`)
}

const EPOCH = new Date(0)

/**
 * Deletes event ids remembered before `cutoff` and the counters of periods that ended by then
 * (started before `periodsBefore`) — never those of features that do not reset (period start:
 * the epoch) — `batchSize` rows per statement and at most `maxBatches` statements per table.
 * Returns the rows deleted.
 */
export async function purgeUsageBefore(
  db: Executor,
  input: { cutoff: Date; periodsBefore: Date; batchSize: number; maxBatches: number },
): Promise<number> {
  const { batchSize, maxBatches } = input
  const statements = [
    sql`delete from ${entitlementUsageEvents} where (workspace_id, event_id) in (
      select workspace_id, event_id from ${entitlementUsageEvents}
      where created_at < ${input.cutoff.toISOString()}::timestamptz limit ${batchSize})`,
    sql`delete from ${entitlementUsage} where (workspace_id, feature, period_start) in (
      select workspace_id, feature, period_start from ${entitlementUsage}
      where period_start < ${input.periodsBefore.toISOString()}::timestamptz
        and period_start > ${EPOCH.toISOString()}::timestamptz
      limit ${batchSize})`,
  ]
  let deleted = 0
  for (const statement of statements) {
    for (let batch = 0; batch < maxBatches; batch++) {
      const result = (await db.execute(statement)) as { rowCount?: number | null; affectedRows?: number }
      const count = result.rowCount ?? result.affectedRows ?? 0
      deleted += count
      if (count < batchSize) break
    }
  }
  return deleted
}
