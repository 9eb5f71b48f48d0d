// Queries on webhook endpoints, events and deliveries. The outbox write (`insertEvent`) runs in
// the caller's transaction; claiming uses FOR UPDATE SKIP LOCKED so any number of workers on
// one database share the work without taking the same delivery twice.
import { and, count, desc, eq, getTableColumns, inArray, type SQL, sql } from 'drizzle-orm'
import { PgDialect } from 'drizzle-orm/pg-core'
import type { Database, Executor } from '../../platform/db/index.ts'
import { dateFilters, paginate } from '../../platform/db/list.ts'
import { preparedStatement, type RawRow } from '../../platform/db/prepared.ts'
import type { ListQuery } from '../../platform/http/list.ts'
import { releaseStep } from '../entitlements/index.ts'
import type { Outcome } from './outcomes.ts'
import { webhookDeliveries, webhookDeliveryAttempts, webhookEndpoints } from './tables.ts'

export type EndpointRow = typeof webhookEndpoints.$inferSelect
export type NewEndpoint = typeof webhookEndpoints.$inferInsert
export type DeliveryRow = typeof webhookDeliveries.$inferSelect
export type AttemptRow = typeof webhookDeliveryAttempts.$inferSelect
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

/**
 * Deletes an endpoint and gives its slot back to the workspace's `webhooks` counter, in one
 * statement. False when the workspace has no such endpoint.
 */
export async function deleteEndpoint(db: Executor, workspaceId: number, id: number): Promise<boolean> {
  const removed = db.$with('removed', { id: webhookEndpoints.id }).as(
    sql`delete from ${webhookEndpoints} where id = ${id}::integer and workspace_id = ${workspaceId}::integer
      returning id`,
  )
  const released = releaseStep(db, { workspaceId, feature: 'webhooks', removed })
  const rows = await db.with(removed, released).select({ id: removed.id }).from(removed)
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

const ph = sql.placeholder
const dialect = new PgDialect()
/** A raw statement in the shape `preparedStatement` builds from. */
const asQuery = (statement: SQL) => ({ toSQL: () => dialect.sqlToQuery(statement) })

/** A delivery row as the driver returns it (column names, timestamps as text) to a DeliveryRow. */
function toDeliveryRow(raw: RawRow): DeliveryRow {
  const row: Record<string, unknown> = {}
  for (const [key, column] of Object.entries(getTableColumns(webhookDeliveries))) {
    const value = raw[column.name]
    row[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value as never)
  }
  return row as DeliveryRow
}

/**
 * The outbox write, one statement: the event, one pending delivery per endpoint that takes it
 * (the workspace's active endpoints whose patterns match its type — an exact type, `resource.*`
 * or `*`, as `matches` says — or the one endpoint `only` names), and the NOTIFY that wakes the
 * workers once the transaction commits (sent only when a delivery was queued; the repeated
 * calls of one statement are one notification, as PostgreSQL folds identical ones).
 */
function buildInsertEvent() {
  const type = sql`${ph('type')}::text`
  const workspaceId = sql`${ph('workspaceId')}::integer`
  const now = sql`${ph('now')}::timestamptz`
  const only = sql`${ph('only')}::integer`
  return sql`with event as (
      insert into webhook_events (id, workspace_id, type, payload, created_at)
        values (${ph('id')}::text, ${workspaceId}, ${type}, ${ph('payload')}::text, ${now})
        returning id),
    targets as (
      select e.id from webhook_endpoints e
        where e.workspace_id = ${workspaceId}
          and case when ${only} is null
            then e.is_active and exists (select 1 from unnest(e.events) as p(pattern)
              where pattern = '*' or pattern = ${type}
                or (right(pattern, 2) = '.*' and starts_with(${type}, left(pattern, -1))))
            else e.id = ${only} end
        -- Held until commit, so an endpoint deleted meanwhile is either skipped here or waits:
        -- never a delivery whose endpoint is gone (a foreign-key violation, a 500 for the writer).
        for key share),
    queued as (
      insert into webhook_deliveries
          (workspace_id, endpoint_id, event_id, event_type, next_attempt_at, created_at, updated_at)
        select ${workspaceId}, t.id, (select id from event), ${type}, ${now}, ${now}, ${now}
          from targets t order by t.id
        returning id)
    select id, pg_notify(${sql.raw(`'${NOTIFY_CHANNEL}'`)}, '')::text as notified from queued order by id`
}

/** The statements the worker and the outbox run most, built once and prepared per connection. */
const statements = {
  insertEvent: preparedStatement('webhook_insert_event', () => asQuery(buildInsertEvent())),
}

/**
 * Writes an event and one pending delivery per matching active endpoint (or for the endpoint
 * `onlyEndpointId` names, active or not), and wakes the workers once it commits: one
 * statement. Returns the deliveries' ids.
 */
export async function insertEvent(
  tx: Executor,
  event: { id: string; workspaceId: number; type: string; payload: string; now: Date },
  onlyEndpointId: number | null = null,
): Promise<number[]> {
  const { rows } = await statements.insertEvent(tx).execute({
    id: event.id,
    workspaceId: event.workspaceId,
    type: event.type,
    payload: event.payload,
    now: event.now.toISOString(),
    only: onlyEndpointId,
  })
  return rows.map((r) => Number(r.id))
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
 * Takes up to `limit` due deliveries until `lockedUntil`, fairly: no endpoint gets more than
 * `perEndpoint` deliveries held at once (counting what every worker holds), and the deliveries
 * are taken round-robin — each workspace's endpoints' oldest first, then their second oldest —
 * so a backlog or a slow receiver in one workspace never delays another's. The endpoints with
 * work left are found with a loose index scan, so a claim costs one probe per such endpoint,
 * not a sort of the whole queue. One statement returns each claimed delivery with its payload
 * and endpoint: a claim is one round trip.
 */
function buildClaim() {
  const now = sql`${ph('now')}::timestamptz`
  const due = sql`status in ('pending', 'retrying') and next_attempt_at <= ${now}
    and (locked_until is null or locked_until < ${now})`
  return sql`
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
            limit greatest(${ph('perEndpoint')}::integer - coalesce(b.n, 0), 0)
        ) oldest
        where e.id is not null
    ),
    chosen as (
      select id from picked
        order by row_number() over (partition by workspace_id order by turn, next_attempt_at, id),
          next_attempt_at, id
        limit ${ph('limit')}::integer
    ),
    -- Locked and checked again row by row: a concurrent worker may have taken some meanwhile.
    lockable as (
      select c.id from webhook_deliveries c
        where c.id in (select id from chosen) and ${due}
        for update skip locked
    ),
    claimed as (
      update webhook_deliveries set locked_until = ${ph('lockedUntil')}::timestamptz,
          claim_token = ${ph('token')}::text
        where id in (select id from lockable)
        returning *
    )
    select claimed.*, ev.payload as claim_payload, ep.url as claim_url, ep.is_active as claim_is_active,
        ep.secret as claim_secret, ep.previous_secret as claim_previous_secret,
        ep.previous_secret_expires_at as claim_previous_secret_expires_at
      from claimed
        join webhook_events ev on ev.id = claimed.event_id
        join webhook_endpoints ep on ep.id = claimed.endpoint_id`
}

const claimStatement = preparedStatement('webhook_claim', () => asQuery(buildClaim()))

export async function claimDue(
  db: Executor,
  input: { now: Date; lockedUntil: Date; limit: number; perEndpoint: number; token: string },
): Promise<Claimed[]> {
  const { rows } = await claimStatement(db).execute({
    now: input.now.toISOString(),
    lockedUntil: input.lockedUntil.toISOString(),
    limit: input.limit,
    perEndpoint: input.perEndpoint,
    token: input.token,
  })
  return rows.map((raw) => {
    const delivery = toDeliveryRow(raw)
    const expires = raw.claim_previous_secret_expires_at
    return {
      delivery,
      payload: String(raw.claim_payload),
      endpoint: {
        id: delivery.endpointId,
        url: String(raw.claim_url),
        isActive: raw.claim_is_active === true || raw.claim_is_active === 't',
        secret: String(raw.claim_secret),
        previousSecret: (raw.claim_previous_secret as string | null) ?? null,
        previousSecretExpiresAt:
          expires === null || expires === undefined ? null : new Date(expires as string),
      },
    }
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

/** The attempts of a delivery, newest first, at most `limit`. */
export async function listAttempts(
  db: Executor,
  workspaceId: number,
  deliveryId: number,
  limit: number,
): Promise<AttemptRow[]> {
  return db
    .select()
    .from(webhookDeliveryAttempts)
    .where(
      and(
        eq(webhookDeliveryAttempts.deliveryId, deliveryId),
        eq(webhookDeliveryAttempts.workspaceId, workspaceId),
      ),
    )
    .orderBy(desc(webhookDeliveryAttempts.attempt))
    .limit(limit)
}

export type StatsBucket = { start: Date; succeeded: number; failed: number; pending: number }

/**
 * A workspace's deliveries created in [from, to), by their status now, per UTC hour or day of
 * their creation (only the buckets that have any). `endpointId` narrows to one endpoint.
 */
export async function deliveryStats(
  db: Executor,
  input: { workspaceId: number; from: Date; to: Date; interval: 'hour' | 'day'; endpointId: number | null },
): Promise<StatsBucket[]> {
  const bucket = sql`date_trunc(${input.interval}::text, ${webhookDeliveries.createdAt}, 'UTC')`
  const result = await db.execute(sql`
    select ${bucket} as start,
        count(*) filter (where ${webhookDeliveries.status} = 'success')::integer as succeeded,
        count(*) filter (where ${webhookDeliveries.status} = 'failed')::integer as failed,
        count(*) filter (where ${webhookDeliveries.status} in ('pending', 'retrying'))::integer as pending
      from ${webhookDeliveries}
      where ${webhookDeliveries.workspaceId} = ${input.workspaceId}::integer
        and ${webhookDeliveries.createdAt} >= ${input.from.toISOString()}::timestamptz
        and ${webhookDeliveries.createdAt} < ${input.to.toISOString()}::timestamptz
        ${input.endpointId === null ? sql`` : sql`and ${webhookDeliveries.endpointId} = ${input.endpointId}::integer`}
      group by 1 order by 1`)
  type Raw = { start: string | Date; succeeded: number; failed: number; pending: number }
  return (result as unknown as { rows: Raw[] }).rows.map((r) => ({
    start: new Date(r.start),
    succeeded: Number(r.succeeded),
    failed: Number(r.failed),
    pending: Number(r.pending),
  }))
}

/** An endpoint after the outcomes of a batch were added to its counters. */
export type Tallied = {
  endpointId: number
  workspaceId: number
  isActive: boolean
  failingSince: Date | null
  /** The deliveries of the batch written for this endpoint. */
  deliveryIds: Set<number>
}

/**
 * Writes the outcomes of delivery attempts — each delivery's new state and a row per attempt —
 * and adds them to their endpoints' counters, in one statement. Each outcome is written only if its delivery is still held under the claim it was
 * attempted with (its claim is released), and only the outcomes written are counted. Per
 * endpoint, in the order the attempts finished (`outcomes`' order): successes and failures
 * are added; with a success among them, the run of failures is the failures after the last
 * one (starting at the first of them), otherwise the failures add to the current run, which
 * starts at the first of them unless it had started already. Returns the endpoints counted,
 * with what decides whether to disable them.
 */
export async function recordOutcomes(tx: Executor, outcomes: Outcome[]): Promise<Tallied[]> {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())
  const rows = outcomes.map(
    (
      o,
      ord,
    ) => sql`(${o.deliveryId}::integer, ${o.claimToken}::text, ${o.status}::text, ${o.attempt}::integer,
      ${iso(o.nextAttemptAt)}::timestamptz,
      ${o.result.status}::integer, ${o.result.body}::text, ${o.result.durationMs}::integer, ${o.result.error}::text,
      ${JSON.stringify({ url: o.url, headers: o.headers })}::jsonb,
      ${o.result.ok ? iso(o.at) : null}::timestamptz, ${iso(o.at)}::timestamptz,
      ${o.endpointId}::integer, ${o.result.ok}::boolean, ${ord}::integer)`,
  )
  const result = await tx.execute(sql`
    with v(id, claim, status, attempt, next_attempt_at, code, body, ms, error, request, delivered_at, at,
        endpoint_id, ok, ord) as (values ${sql.join(rows, sql`, `)}),
    written as (
      update webhook_deliveries as d set
        status = v.status, attempt = v.attempt, next_attempt_at = v.next_attempt_at,
        locked_until = null, claim_token = null,
        response_code = v.code, response_body = v.body, response_time_ms = v.ms, error = v.error,
        request = v.request, delivered_at = coalesce(v.delivered_at, d.delivered_at), updated_at = v.at
      from v where d.id = v.id and d.claim_token = v.claim
      returning d.id, d.workspace_id),
    w as (select v.* from v where v.id in (select id from written)),
    -- Every attempt written keeps a row of its own (the delivery keeps only the last answer).
    logged as (
      insert into webhook_delivery_attempts (delivery_id, workspace_id, attempt, started_at, finished_at,
          duration_ms, response_code, response_body, error)
        select v.id, written.workspace_id, v.attempt, v.at - make_interval(secs => v.ms / 1000.0), v.at,
            v.ms, v.code, v.body, v.error
          from v join written on written.id = v.id
          order by v.ord
        on conflict do nothing),
    per as (
      select endpoint_id,
          count(*) filter (where ok)::integer as successes,
          count(*) filter (where not ok)::integer as failures,
          coalesce(max(ord) filter (where ok), -1) as last_ok,
          array_agg(id order by ord) as ids
        from w group by endpoint_id),
    tally as (
      select per.*,
          (select count(*)::integer from w
            where w.endpoint_id = per.endpoint_id and not w.ok and w.ord > per.last_ok) as run,
          (select w.at from w
            where w.endpoint_id = per.endpoint_id and not w.ok and w.ord > per.last_ok
            order by w.ord limit 1) as first_failure,
          (select w.at from w where w.endpoint_id = per.endpoint_id order by w.ord desc limit 1) as last
        from per)
    update webhook_endpoints as e set
      success_count = e.success_count + t.successes,
      failure_count = e.failure_count + t.failures,
      consecutive_failures = case when t.last_ok < 0 then e.consecutive_failures + t.failures else t.run end,
      failing_since = case when t.last_ok < 0 then coalesce(e.failing_since, t.first_failure)
        else t.first_failure end,
      last_delivery_at = t.last
    from tally t where e.id = t.endpoint_id
    returning e.id, e.workspace_id, e.is_active, e.failing_since, t.ids`)
  type Raw = {
    id: number
    workspace_id: number
    is_active: boolean
    failing_since: string | Date | null
    ids: number[]
  }
  return (result as unknown as { rows: Raw[] }).rows.map((r) => ({
    endpointId: Number(r.id),
    workspaceId: Number(r.workspace_id),
    isActive: r.is_active,
    failingSince: r.failing_since === null ? null : new Date(r.failing_since),
    deliveryIds: new Set(r.ids.map(Number)),
  }))
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
 * deliveries last changed before `before` (their attempts go with them: the foreign key cascades), then up to `batch` events created before it that no
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
