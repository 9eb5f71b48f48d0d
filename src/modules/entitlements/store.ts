// Usage counters of metered and size features, and the counters of count features that their
// module keeps. Check-and-increment is one conditional statement, so concurrent writers can
// never push a hard limit over, on any number of instances.
import { and, asc, eq, gt, type SQL, type SQLWrapper, sql } from 'drizzle-orm'
import type { Executor } from '../../platform/db/index.ts'
import { entitlementCounters, entitlementUsage, entitlementUsageEvents } from './tables.ts'

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

/** A value of a counter step: a number or string, or a placeholder of a prepared statement. */
type Value = SQLWrapper | number | string | null

/**
 * The entitlement steps of a statement that creates resources of a kept count feature, as
 * parts of its WITH clause, with `admitted`, the condition the creating part must meet:
 * - with a hard limit (`limit` not null), `reserved` adds `quantity` to the counter when the
 *   total stays within the limit, in one conditional UPDATE whose row lock orders concurrent
 *   creators; no row means refused, or no counter yet (see `openCounter`);
 * - without one, `untracked` removes the counter, which such creates do not keep (the next
 *   create under a hard limit starts it again from a COUNT).
 * The creating part must select from `admitted` so that the counter is updated before the row
 * is written.
 */
export function counterSteps(
  db: Executor,
  input: { workspaceId: Value; feature: string; quantity: Value; limit: Value },
) {
  const { workspaceId, feature, quantity, limit } = input
  const c = entitlementCounters
  const reserved = db.$with('reserved', { used: c.used }).as(
    sql`update ${c} set used = used + ${quantity}::bigint
      where workspace_id = ${workspaceId}::integer and feature = ${feature}::text
        and ${limit}::bigint is not null and used + ${quantity}::bigint <= ${limit}::bigint
      returning used`,
  )
  const untracked = db.$with('untracked', { used: c.used }).as(
    sql`delete from ${c} where workspace_id = ${workspaceId}::integer and feature = ${feature}::text
        and ${limit}::bigint is null
      returning used`,
  )
  const admitted = sql`(${limit}::bigint is null or exists (select 1 from ${reserved}))`
  return { reserved, untracked, admitted }
}

/**
 * The release step of a statement that deletes resources of a kept count feature: subtracts
 * the rows of `removed` (a WITH part returning one row per resource deleted) from the counter,
 * if the workspace has one.
 */
export function releaseStep(
  db: Executor,
  input: { workspaceId: Value; feature: string; removed: SQLWrapper },
) {
  const { workspaceId, feature, removed } = input
  const c = entitlementCounters
  return db.$with('released', { used: c.used }).as(
    sql`update ${c} set used = greatest(used - (select count(*) from ${removed}), 0)
      where workspace_id = ${workspaceId}::integer and feature = ${feature}::text
        and exists (select 1 from ${removed})
      returning used`,
  )
}

/** Runs the counter steps on their own; true when admitted. */
export async function reserveCounter(
  db: Executor,
  input: { workspaceId: number; feature: string; quantity: number; limit: number | null },
): Promise<boolean> {
  const { reserved, untracked, admitted } = counterSteps(db, input)
  const [row] = await db
    .with(reserved, untracked)
    .select({ admitted: sql<boolean>`${admitted}` })
    .from(sql`(select 1) as one`)
  return row?.admitted === true
}

/** Subtracts `quantity` (adds, when negative) from the workspace's counter of `feature`, if it has one. */
export async function releaseCounter(
  db: Executor,
  input: { workspaceId: number; feature: string; quantity: number },
): Promise<void> {
  const c = entitlementCounters
  await db
    .update(c)
    .set({ used: sql`greatest(${c.used} - ${input.quantity}, 0)` })
    .where(and(eq(c.workspaceId, input.workspaceId), eq(c.feature, input.feature)))
}

/** Locks the workspace's counter of `feature` until the transaction ends. */
export async function lockCounter(db: Executor, workspaceId: number, feature: string): Promise<void> {
  const c = entitlementCounters
  await db
    .select({ used: c.used })
    .from(c)
    .where(and(eq(c.workspaceId, workspaceId), eq(c.feature, feature)))
    .for('update')
}

/** The workspace's counter of `feature`; null when it has none. */
export async function readCounter(
  db: Executor,
  workspaceId: number,
  feature: string,
): Promise<number | null> {
  const c = entitlementCounters
  const [row] = await db
    .select({ used: c.used })
    .from(c)
    .where(and(eq(c.workspaceId, workspaceId), eq(c.feature, feature)))
  return row?.used ?? null
}

/**
 * Starts the workspace's counter of `feature` at `count()` unless it has one. Returns the
 * counter's value and whether this call started it. Racing starters all end with the row of
 * the first: their own COUNT is then discarded.
 */
export async function openCounter(
  db: Executor,
  workspaceId: number,
  feature: string,
  count: () => Promise<number>,
): Promise<{ used: number; started: boolean }> {
  const existing = await readCounter(db, workspaceId, feature)
  if (existing !== null) return { used: existing, started: false }
  const used = await count()
  const rows = await db
    .insert(entitlementCounters)
    .values({ workspaceId, feature, used })
    .onConflictDoNothing()
    .returning({ used: entitlementCounters.used })
  if (rows[0]) return { used, started: true }
  return { used: (await readCounter(db, workspaceId, feature)) ?? used, started: false }
}

/** Up to `limit` counters of `feature` after workspace `after`, in workspace order. */
export async function countersAfter(
  db: Executor,
  feature: string,
  after: number,
  limit: number,
): Promise<number[]> {
  const c = entitlementCounters
  const rows = await db
    .select({ workspaceId: c.workspaceId })
    .from(c)
    .where(and(eq(c.feature, feature), gt(c.workspaceId, after)))
    .orderBy(asc(c.workspaceId))
    .limit(limit)
  return rows.map((r) => r.workspaceId)
}

/**
 * Sets the workspace's counter of `feature` to `count()`, taken while the counter row is
 * locked: no create or delete that keeps the counter can run between the count and the write.
 * Returns the values before and after, or null when the workspace has no counter.
 */
export async function recountCounter(
  db: Executor,
  workspaceId: number,
  feature: string,
  count: () => Promise<number>,
): Promise<{ before: number; after: number } | null> {
  const c = entitlementCounters
  const where: SQL = and(eq(c.workspaceId, workspaceId), eq(c.feature, feature))!
  const [locked] = await db.select({ used: c.used }).from(c).where(where).for('update')
  if (!locked) return null
  const after = await count()
  if (after !== locked.used) await db.update(c).set({ used: after }).where(where)
  return { before: locked.used, after }
}
