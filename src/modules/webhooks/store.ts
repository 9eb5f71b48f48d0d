// Queries on webhook endpoints, events and deliveries. The outbox write (`insertEvent`) runs in
// the caller's transaction; claiming uses FOR UPDATE SKIP LOCKED so any number of workers on
// one database share the work without taking the same delivery twice.
import { and, count, eq, inArray, lt, or, type SQL, sql } from 'drizzle-orm'
import type { Database, Executor } from '../../platform/db/index.ts'
import { dateFilters, orderBy } from '../../platform/db/list.ts'
import type { ListQuery } from '../../platform/http/list.ts'
import { matches } from './events.ts'
import { webhookDeliveries, webhookEndpoints, webhookEvents } from './tables.ts'

export type EndpointRow = typeof webhookEndpoints.$inferSelect
export type DeliveryRow = typeof webhookDeliveries.$inferSelect
export const NOTIFY_CHANNEL = 'core_api_webhooks'

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
  const [rows, [total]] = await Promise.all([
    db
      .select()
      .from(webhookEndpoints)
      .where(where)
      .orderBy(...orderBy(query, endpointSort))
      .limit(query.perPage)
      .offset(query.offset),
    db.select({ n: count() }).from(webhookEndpoints).where(where),
  ])
  return { rows, total: total?.n ?? 0 }
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
  await tx.execute(sql`select pg_notify(${NOTIFY_CHANNEL}, '')`)
  return rows.map((r) => r.id)
}

export type Claimed = {
  delivery: DeliveryRow
  payload: string
  endpoint: Pick<
    EndpointRow,
    'id' | 'url' | 'isActive' | 'secret' | 'previousSecret' | 'previousSecretExpiresAt'
  >
}

/** Takes up to `limit` due deliveries for this worker until `lockedUntil`. */
export async function claimDue(
  db: Database,
  input: { now: Date; lockedUntil: Date; limit: number },
): Promise<Claimed[]> {
  const due = db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(
      and(
        inArray(webhookDeliveries.status, ['pending', 'retrying']),
        sql`${webhookDeliveries.nextAttemptAt} <= ${input.now.toISOString()}::timestamptz`,
        or(sql`${webhookDeliveries.lockedUntil} is null`, lt(webhookDeliveries.lockedUntil, input.now)),
      ),
    )
    .orderBy(webhookDeliveries.nextAttemptAt)
    .limit(input.limit)
    .for('update', { skipLocked: true })
  const claimed = await db
    .update(webhookDeliveries)
    .set({ lockedUntil: input.lockedUntil })
    .where(inArray(webhookDeliveries.id, due))
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
  const [rows, [total]] = await Promise.all([
    db
      .select()
      .from(webhookDeliveries)
      .where(where)
      .orderBy(...orderBy(query, deliverySort))
      .limit(query.perPage)
      .offset(query.offset),
    db.select({ n: count() }).from(webhookDeliveries).where(where),
  ])
  return { rows, total: total?.n ?? 0 }
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
