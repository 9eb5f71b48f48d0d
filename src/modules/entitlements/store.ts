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
  input: { workspaceId: number; eventId: string; feature: string; quantity: number },
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
