// Queries on webhook endpoints, events and deliveries. The outbox write (`insertEvent`) runs in
// the caller's transaction; claiming uses FOR UPDATE SKIP LOCKED so any number of workers on
// one database share the work without taking the same delivery twice.
import { and, count, eq, inArray, type SQL, sql } from 'drizzle-orm'
import type { Database, Executor } from '../../platform/db/index.ts'
import { dateFilters, paginate } from '../../platform/db/list.ts'
import type { ListQuery } from '../../platform/http/list.ts'
import { matches } from './events.ts'
import type { Outcome } from './outcomes.ts'
import { webhookDeliveries, webhookEndpoints, webhookEvents } from './tables.ts'

export type EndpointRow = typeof webhookEndpoints.$inferSelect
export type NewEndpoint = typeof webhookEndpoints.$inferInsert
export type DeliveryRow = typeof webhookDeliveries.$inferSelect
export const NOTIFY_CHANNEL = 'core_api_webhooks'

/** Wakes the delivery workers (they LISTEN on NOTIFY_CHANNEL); in a transaction, once it commits. */
export async function notifyWorkers(db: Executor): Promise<void> {
  await db.execute(sql`select pg_notify(${NOTIFY_CHANNEL}, '')`)
}

const endpointSort = {
  id: webhookEndpoints.id,
  url: webhookEndpoints.url,
  created_at: webhookEndpoints.createdAt,
  updated_at: webhookEndpoints.updatedAt,
  last_delivery_at: webhookEndpoints.lastDeliveryAt,
}
const deliverySort = { id: webhookDeliveries.id, created_at: webhookDeliveries.createdAt }

export async function listEndpoints(db: Database, workspaceId: number, query: ListQuery) {
  const conditions: Array<SQL | undefined> = [
    eq(webhookEndpoints.workspaceId, workspaceId),
    ...dateFilters(query, webhookEndpoints),
  ]
  if (query.status === 'active') conditions.push(eq(webhookEndpoints.isActive, true))
  if (query.status === 'disabled') conditions.push(eq(webhookEndpoints.isActive, false))
  const where = and(...conditions)
  const select = db.select().from(webhookEndpoints).$dynamic()
  return paginate(db, select, { from: webhookEndpoints, where, query, sort: endpointSort })
}

export async function findEndpoint(
  db: Executor,
  workspaceId: number,
  id: number,
): Promise<EndpointRow | null> {
  const [row] = await db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.workspaceId, workspaceId)))
  return row ?? null
}

export async function insertEndpoint(tx: Executor, endpoint: NewEndpoint): Promise<EndpointRow> {
  const [row] = await tx.insert(webhookEndpoints).values(endpoint).returning()
  return row!
}

export async function updateEndpoint(
  db: Executor,
  workspaceId: number,
  id: number,
  changes: Partial<NewEndpoint>,
  now: Date,
): Promise<EndpointRow | null> {
  const [row] = await db
    .update(webhookEndpoints)
    .set({ ...changes, updatedAt: now })
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.workspaceId, workspaceId)))
    .returning()
  return row ?? null
}

/** False when the workspace has no such endpoint. */
export async function deleteEndpoint(db: Executor, workspaceId: number, id: number): Promise<boolean> {
  const rows = await db
    .delete(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.workspaceId, workspaceId)))
    .returning({ id: webhookEndpoints.id })
  return rows.length > 0
}

/**
 * Replaces an endpoint's (sealed) secret, keeping the one it replaces until `previousExpiresAt`
 * (null: keeps none). One statement: the secret kept is the one the row holds when this update
 * takes its lock, so concurrent rotations lose none. False when the workspace has no such
 * endpoint.
 */
export async function replaceSecret(
  db: Executor,
  workspaceId: number,
  id: number,
  input: { sealed: string; previousExpiresAt: Date | null; now: Date },
): Promise<boolean> {
  const rows = await db
    .update(webhookEndpoints)
    .set({
      secret: input.sealed,
      previousSecret: input.previousExpiresAt ? sql`${webhookEndpoints.secret}` : null,
      previousSecretExpiresAt: input.previousExpiresAt,
      updatedAt: input.now,
    })
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.workspaceId, workspaceId)))
    .returning({ id: webhookEndpoints.id })
  return rows.length > 0
}

export async function countEndpoints(db: Executor, workspaceId: number): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(webhookEndpoints)
    .where(eq(webhookEndpoints.workspaceId, workspaceId))
  return row?.n ?? 0
}

/** Writes an event and one pending delivery per matching active endpoint, then wakes workers. */
export async function insertEvent(
  tx: Executor,
  event: { id: string; workspaceId: number; type: string; payload: string; now: Date },
  onlyEndpointId: number | null = null,
): Promise<number[]> {
  await tx.insert(webhookEvents).values({
    id: event.id,
    workspaceId: event.workspaceId,
    type: event.type,
    payload: event.payload,
    createdAt: event.now,
  })
  const endpoints = await tx
    .select({ id: webhookEndpoints.id, events: webhookEndpoints.events })
    .from(webhookEndpoints)
    .where(
      and(
        eq(webhookEndpoints.workspaceId, event.workspaceId),
        onlyEndpointId === null
          ? eq(webhookEndpoints.isActive, true)
          : eq(webhookEndpoints.id, onlyEndpointId),
      ),
    )
    // Held until commit, so an endpoint deleted meanwhile is either skipped here or waits:
    // never a delivery whose endpoint is gone (a foreign-key violation, a 500 for the writer).
    .for('key share')
  const targets = onlyEndpointId === null ? endpoints.filter((e) => matches(e.events, event.type)) : endpoints
  if (targets.length === 0) return []
  const rows = await tx
    .insert(webhookDeliveries)
    .values(
      targets.map((e) => ({
        workspaceId: event.workspaceId,
        endpointId: e.id,
        eventId: event.id,
        eventType: event.type,
        nextAttemptAt: event.now,
        createdAt: event.now,
        updatedAt: event.now,
      })),
    )
    .returning({ id: webhookDeliveries.id })
  await notifyWorkers(tx)
  return rows.map((r) => r.id)
}

/** Claims these deliveries for the caller until `lockedUntil`, so that no worker sends them too. */
export async function holdDeliveries(
  tx: Executor,
  ids: number[],
  claim: { lockedUntil: Date; token: string },
): Promise<DeliveryRow[]> {
  return tx
    .update(webhookDeliveries)
    .set({ lockedUntil: claim.lockedUntil, claimToken: claim.token })
    .where(inArray(webhookDeliveries.id, ids))
    .returning()
}

/** Marks a claimed delivery failed without sending it, if it is still held under its claim. */
export async function failUnsent(
  db: Executor,
  delivery: DeliveryRow,
  error: string,
  now: Date,
): Promise<void> {
  await db
    .update(webhookDeliveries)
    .set({
      status: 'failed',
      lockedUntil: null,
      claimToken: null,
      nextAttemptAt: null,
      error,
      updatedAt: now,
    })
    .where(
      and(eq(webhookDeliveries.id, delivery.id), eq(webhookDeliveries.claimToken, delivery.claimToken ?? '')),
    )
}

export type Claimed = {
  delivery: DeliveryRow
  payload: string
  endpoint: Pick<
    EndpointRow,
    'id' | 'url' | 'isActive' | 'secret' | 'previousSecret' | 'previousSecretExpiresAt'
  >
}

/**
 * Takes up to `limit` due deliveries for this worker until `lockedUntil`, fairly: no endpoint
 * gets more than `perEndpoint` deliveries held at once (counting what every worker holds), and
 * the deliveries are taken round-robin — each workspace's endpoints' oldest first, then their
 * second oldest — so a backlog or a slow receiver in one workspace never delays another's.
 * The endpoints with work left are found with a loose index scan, so a claim costs one probe
 * per such endpoint, not a sort of the whole queue.
 */
export async function claimDue(
  db: Database,
  input: { now: Date; lockedUntil: Date; limit: number; perEndpoint: number; token: string },
): Promise<Claimed[]> {
  const now = sql`${input.now.toISOString()}::timestamptz`
  const due = sql`status in ('pending', 'retrying') and next_attempt_at <= ${now}
    and (locked_until is null or locked_until < ${now})`
  const picked = sql`
    with recursive endpoints(id) as (
      (select endpoint_id from webhook_deliveries
        where status in ('pending', 'retrying') order by endpoint_id limit 1)
      union all
      select (select q.endpoint_id from webhook_deliveries q
          where q.status in ('pending', 'retrying') and q.endpoint_id > e.id
          order by q.endpoint_id limit 1)
        from endpoints e where e.id is not null
    ),
    busy as (
      select endpoint_id, count(*)::integer as n from webhook_deliveries
        where locked_until > ${now} and status in ('pending', 'retrying')
        group by endpoint_id
    ),
    picked as (
      select oldest.* from endpoints e
        left join busy b on b.endpoint_id = e.id
        cross join lateral (
          select q.id, q.workspace_id, q.next_attempt_at,
              row_number() over (order by q.next_attempt_at, q.id) as turn
            from webhook_deliveries q
            where q.endpoint_id = e.id and ${due}
            order by q.next_attempt_at, q.id
            limit greatest(${input.perEndpoint}::integer - coalesce(b.n, 0), 0)
        ) oldest
        where e.id is not null
    )
    select id from picked
      order by row_number() over (partition by workspace_id order by turn, next_attempt_at, id),
        next_attempt_at, id
      limit ${input.limit}::integer`
  // Locked and checked again row by row: a concurrent worker may have taken some meanwhile.
  const lockable = sql`select c.id from webhook_deliveries c
    where c.id in (${picked}) and ${due} for update skip locked`
  const claimed = await db
    .update(webhookDeliveries)
    .set({ lockedUntil: input.lockedUntil, claimToken: input.token })
    .where(sql`${webhookDeliveries.id} in (${lockable})`)
    .returning()
  if (claimed.length === 0) return []
  const [events, endpoints] = await Promise.all([
    db
      .select({ id: webhookEvents.id, payload: webhookEvents.payload })
      .from(webhookEvents)
      .where(inArray(webhookEvents.id, [...new Set(claimed.map((d) => d.eventId))])),
    db
      .select({
        id: webhookEndpoints.id,
        url: webhookEndpoints.url,
        isActive: webhookEndpoints.isActive,
        secret: webhookEndpoints.secret,
        previousSecret: webhookEndpoints.previousSecret,
        previousSecretExpiresAt: webhookEndpoints.previousSecretExpiresAt,
      })
      .from(webhookEndpoints)
      .where(inArray(webhookEndpoints.id, [...new Set(claimed.map((d) => d.endpointId))])),
  ])
  const payloads = new Map(events.map((e) => [e.id, e.payload]))
  const byId = new Map(endpoints.map((e) => [e.id, e]))
  return claimed.flatMap((delivery) => {
    const endpoint = byId.get(delivery.endpointId)
    const payload = payloads.get(delivery.eventId)
    return endpoint && payload !== undefined ? [{ delivery, payload, endpoint }] : []
  })
}

export async function listDeliveries(
  db: Database,
  workspaceId: number,
  endpointId: number,
  query: ListQuery,
) {
  const conditions: Array<SQL | undefined> = [
    eq(webhookDeliveries.workspaceId, workspaceId),
    eq(webhookDeliveries.endpointId, endpointId),
    ...dateFilters(query, webhookDeliveries),
  ]
  if (query.status) conditions.push(eq(webhookDeliveries.status, query.status as DeliveryRow['status']))
  if (typeof query.filters.event_type === 'string')
    conditions.push(eq(webhookDeliveries.eventType, query.filters.event_type))
  const where = and(...conditions)
  const select = db.select().from(webhookDeliveries).$dynamic()
  return paginate(db, select, { from: webhookDeliveries, where, query, sort: deliverySort })
}

export async function findDelivery(db: Executor, workspaceId: number, endpointId: number, id: number) {
  const [row] = await db
    .select()
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.id, id),
        eq(webhookDeliveries.endpointId, endpointId),
        eq(webhookDeliveries.workspaceId, workspaceId),
      ),
    )
  return row ?? null
}

/**
 * Writes the outcomes of delivery attempts in one statement, each only if its delivery is still
 * held under the claim it was attempted with, and releases those claims. Returns the ids of the
 * deliveries written.
 */
export async function recordOutcomes(tx: Executor, outcomes: Outcome[]): Promise<Set<number>> {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())
  const rows = outcomes.map(
    (o) => sql`(${o.deliveryId}::integer, ${o.claimToken}::text, ${o.status}::text, ${o.attempt}::integer,
      ${iso(o.nextAttemptAt)}::timestamptz,
      ${o.result.status}::integer, ${o.result.body}::text, ${o.result.durationMs}::integer, ${o.result.error}::text,
      ${JSON.stringify({ url: o.url, headers: o.headers })}::jsonb,
      ${o.result.ok ? iso(o.at) : null}::timestamptz, ${iso(o.at)}::timestamptz)`,
  )
  const result = await tx.execute(sql`
    update webhook_deliveries as d set
      status = v.status, attempt = v.attempt, next_attempt_at = v.next_attempt_at,
      locked_until = null, claim_token = null,
      response_code = v.code, response_body = v.body, response_time_ms = v.ms, error = v.error,
      request = v.request, delivered_at = coalesce(v.delivered_at, d.delivered_at), updated_at = v.at
    from (values ${sql.join(rows, sql`, `)})
      as v(id, claim, status, attempt, next_attempt_at, code, body, ms, error, request, delivered_at, at)
    where d.id = v.id and d.claim_token = v.claim
    returning d.id`)
  return new Set((result as unknown as { rows: Array<{ id: number }> }).rows.map((r) => r.id))
}

/**
 * Adds attempts to an endpoint's counters. `failuresSinceSuccess` is null when none of them
 * succeeded: the failures then add to the current run, which started at `firstFailure` unless
 * it had started already. Returns what decides whether to disable the endpoint.
 */
export async function tallyEndpoint(
  tx: Executor,
  endpointId: number,
  tally: {
    successes: number
    failures: number
    failuresSinceSuccess: number | null
    firstFailure: string | null
    last: Date
  },
): Promise<{ workspaceId: number; isActive: boolean; failingSince: Date | null } | null> {
  const { successes, failures, failuresSinceSuccess, firstFailure } = tally
  const [row] = await tx
    .update(webhookEndpoints)
    .set({
      successCount: sql`${webhookEndpoints.successCount} + ${successes}`,
      failureCount: sql`${webhookEndpoints.failureCount} + ${failures}`,
      ...(failuresSinceSuccess !== null
        ? {
            consecutiveFailures: failuresSinceSuccess,
            failingSince: firstFailure === null ? null : new Date(firstFailure),
          }
        : {
            consecutiveFailures: sql`${webhookEndpoints.consecutiveFailures} + ${failures}`,
            failingSince: sql`coalesce(${webhookEndpoints.failingSince}, ${firstFailure}::timestamptz)`,
          }),
      lastDeliveryAt: tally.last,
    })
    .where(eq(webhookEndpoints.id, endpointId))
    .returning({
      workspaceId: webhookEndpoints.workspaceId,
      isActive: webhookEndpoints.isActive,
      failingSince: webhookEndpoints.failingSince,
    })
  return row ?? null
}

/** Disables an active endpoint, saying why. */
export async function disableEndpoint(
  tx: Executor,
  endpointId: number,
  reason: string,
  at: Date,
): Promise<void> {
  await tx
    .update(webhookEndpoints)
    .set({ isActive: false, disabledReason: reason, updatedAt: at })
    .where(and(eq(webhookEndpoints.id, endpointId), eq(webhookEndpoints.isActive, true)))
}

/**
 * Queues a failed or retrying delivery for an attempt at `now`, unless it is held under a claim
 * or has used `maxAttempts`. The claim token is cleared, so an attempt whose claim lapsed cannot
 * record over this retry. Null when the delivery is not (or no longer) in such a state.
 */
export async function requeueDelivery(
  db: Executor,
  input: { workspaceId: number; endpointId: number; id: number; now: Date; maxAttempts: number },
): Promise<DeliveryRow | null> {
  const { now, maxAttempts } = input
  const [row] = await db
    .update(webhookDeliveries)
    .set({ status: 'pending', nextAttemptAt: now, lockedUntil: null, claimToken: null, updatedAt: now })
    .where(
      and(
        eq(webhookDeliveries.id, input.id),
        eq(webhookDeliveries.endpointId, input.endpointId),
        eq(webhookDeliveries.workspaceId, input.workspaceId),
        inArray(webhookDeliveries.status, ['failed', 'retrying']),
        sql`(${webhookDeliveries.lockedUntil} is null or ${webhookDeliveries.lockedUntil} <= ${now.toISOString()}::timestamptz)`,
        sql`${webhookDeliveries.attempt} < ${maxAttempts}`,
      ),
    )
    .returning()
  return row ?? null
}

/** The number a `select count(*)::integer as n` statement answered. */
function countOf(result: unknown): number {
  return (result as { rows: Array<{ n: number }> }).rows[0]?.n ?? 0
}

/**
 * One bounded step of the retention purge: deletes up to `batch` finished (`success`, `failed`)
 * deliveries last changed before `before`, then up to `batch` events created before it that no
 * delivery refers to any more. Pending and retrying deliveries — and so their events — are
 * never touched. Rows another worker is deleting are skipped, not waited for.
 */
export async function purgeFinished(
  db: Database,
  before: Date,
  batch: number,
): Promise<{ deliveries: number; events: number }> {
  const cutoff = sql`${before.toISOString()}::timestamptz`
  const deliveries = await db.execute(sql`
    with gone as (
      delete from webhook_deliveries where id in (
        select id from webhook_deliveries
          where status in ('success', 'failed') and updated_at < ${cutoff}
          limit ${batch}::integer for update skip locked)
      returning 1)
    select count(*)::integer as n from gone`)
  const events = await db.execute(sql`
    with gone as (
      delete from webhook_events where id in (
        select e.id from webhook_events e
          where e.created_at < ${cutoff}
            and not exists (select 1 from webhook_deliveries d where d.event_id = e.id)
          limit ${batch}::integer for update skip locked)
      returning 1)
    select count(*)::integer as n from gone`)
  return { deliveries: countOf(deliveries), events: countOf(events) }
}
