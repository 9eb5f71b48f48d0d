// Webhook endpoints and their delivery log, as the API exposes them: endpoint CRUD, secret
// rotation, test sends and manual retries. URLs pass the SSRF guard when stored and again at
// every connect.
import type { Static } from 'typebox'
import type { Principal, PrincipalWorkspace } from '../../platform/auth/index.ts'
import type { Deps } from '../../platform/deps.ts'
import { type DomainEvent, registeredEventTypes } from '../../platform/events.ts'
import { ApiError, type FieldErrors } from '../../platform/http/errors.ts'
import { type ListQuery, type Page, selectFields, toPage } from '../../platform/http/list.ts'
import { isoSeconds } from '../../platform/lib/clock.ts'
import type { SecretBox } from '../../platform/lib/secret-box.ts'
import { checkUrl, UnsafeUrlError } from '../../platform/net/ssrf.ts'
import type { EntitlementService } from '../entitlements/index.ts'
import { type Deliverer, type DeliveryPolicy, newClaimToken } from './delivery.ts'
import { missingReadScope, patternProblem, TEST_MESSAGE } from './events.ts'
import { envelope, newEventId } from './outbox.ts'
import {
  type EndpointCreate,
  type EndpointUpdate,
  MAX_ATTEMPTS_SHOWN,
  MAX_STATS_DAYS,
  type SecretRotate,
  type StatsQuery,
} from './schemas.ts'
import { generateSecret, isValidSecret } from './signature.ts'
import {
  type AttemptRow,
  type DeliveryRow,
  deleteEndpoint,
  deliveryStats,
  type EndpointRow,
  findDelivery,
  findEndpoint,
  holdDeliveries,
  insertEndpoint,
  insertEvent,
  listAttempts,
  listDeliveries,
  listEndpoints,
  notifyWorkers,
  replaceSecret,
  requeueDelivery,
  updateEndpoint,
} from './store.ts'

const HOUR = 3_600_000
const DAY = 24 * HOUR
/** The last instant stats may reach: every date the database and ISO 8601 both spell alike. */
const LATEST = Date.parse('9999-01-01T00:00:00Z')
/** The date every catalogue example carries. */
const EXAMPLE_AT = Date.parse('2026-01-15T10:30:00Z')

function attemptOut(row: AttemptRow) {
  return {
    attempt: row.attempt,
    started_at: isoSeconds(row.startedAt)!,
    finished_at: isoSeconds(row.finishedAt)!,
    duration_ms: row.durationMs,
    response_code: row.responseCode,
    error: row.error,
    response_body: row.responseBody,
  }
}

export class WebhookService {
  private readonly deps: Deps
  private readonly box: SecretBox
  private readonly entitlements: EntitlementService
  private readonly deliverer: Deliverer
  private readonly policy: DeliveryPolicy
  private readonly claimMs: number

  constructor(input: {
    deps: Deps
    box: SecretBox
    entitlements: EntitlementService
    deliverer: Deliverer
    policy: DeliveryPolicy
    /** How long a claim on a delivery lasts (a test send holds its own). */
    claimMs: number
  }) {
    this.deps = input.deps
    this.box = input.box
    this.entitlements = input.entitlements
    this.deliverer = input.deliverer
    this.policy = input.policy
    this.claimMs = input.claimMs
  }

  private toOut(row: EndpointRow) {
    return {
      id: row.id,
      url: row.url,
      description: row.description,
      events: row.events,
      is_active: row.isActive,
      disabled_reason: row.disabledReason,
      success_count: row.successCount,
      failure_count: row.failureCount,
      consecutive_failures: row.consecutiveFailures,
      last_delivery_at: isoSeconds(row.lastDeliveryAt),
      created_at: isoSeconds(row.createdAt)!,
      updated_at: isoSeconds(row.updatedAt)!,
    }
  }

  private deliveryOut(row: DeliveryRow, detail: boolean) {
    return {
      id: row.id,
      event_id: row.eventId,
      event_type: row.eventType,
      status: row.status,
      attempt: row.attempt,
      response_code: row.responseCode,
      response_time_ms: row.responseTimeMs,
      error: row.error,
      next_retry_at:
        row.status === 'retrying' || row.status === 'pending' ? isoSeconds(row.nextAttemptAt) : null,
      delivered_at: isoSeconds(row.deliveredAt),
      created_at: isoSeconds(row.createdAt)!,
      ...(detail && { request: row.request, response_body: row.responseBody }),
    }
  }

  private validate(body: { url?: string; events?: string[]; secret?: string }): void {
    const errors: FieldErrors = {}
    if (body.url !== undefined) {
      try {
        checkUrl(body.url, this.deps.config.webhookAllowInsecureUrls)
      } catch (error) {
        if (!(error instanceof UnsafeUrlError)) throw error
        errors.url = [`The url ${error.message}.`]
      }
    }
    const problems = (body.events ?? []).map(patternProblem).filter((p): p is string => p !== null)
    if (problems.length > 0) errors.events = problems
    if (body.secret !== undefined && !isValidSecret(body.secret)) {
      errors.secret = ['The secret must be whsec_ followed by the base64 of 24 to 64 bytes.']
    }
    if (Object.keys(errors).length > 0) throw new ApiError('validation_failed', undefined, { errors })
  }

  /** Subscribing is reading: the credential needs the read scope of every resource `events` match. */
  private mayRead(principal: Principal, events: readonly string[]): void {
    const missing = missingReadScope(events, principal.granted)
    if (missing) {
      throw new ApiError(
        'access_denied',
        `Insufficient permissions. Required scope: ${missing.scope} (to subscribe to ${missing.pattern})`,
      )
    }
  }

  async list(
    workspace: PrincipalWorkspace,
    query: ListQuery,
    url: URL,
  ): Promise<Page<Record<string, unknown>>> {
    const { rows, total } = await listEndpoints(this.deps.db, workspace.id, query)
    return toPage(
      rows.map((row) => selectFields(this.toOut(row), query.fields)),
      total,
      query,
      url,
    )
  }

  async get(workspace: PrincipalWorkspace, id: number) {
    const row = await findEndpoint(this.deps.db, workspace.id, id)
    if (!row) throw ApiError.notFound('Webhook endpoint')
    return this.toOut(row)
  }

  async create(principal: Principal, workspace: PrincipalWorkspace, body: Static<typeof EndpointCreate>) {
    this.validate(body)
    this.mayRead(principal, body.events)
    const secret = body.secret ?? generateSecret()
    const now = new Date(this.deps.clock.now())
    const row = await this.deps.db.transaction(async (tx) => {
      await this.entitlements.reserve(tx, workspace, 'webhooks')
      return insertEndpoint(tx, {
        workspaceId: workspace.id,
        url: body.url,
        description: body.description ?? null,
        events: body.events,
        secret: this.box.seal(secret),
        createdAt: now,
        updatedAt: now,
      })
    })
    return { ...this.toOut(row), secret }
  }

  async update(
    principal: Principal,
    workspace: PrincipalWorkspace,
    id: number,
    body: Static<typeof EndpointUpdate>,
  ) {
    this.validate(body)
    if (body.events !== undefined) this.mayRead(principal, body.events)
    else if (body.url !== undefined) {
      // Pointing a subscription at a new receiver is subscribing that receiver.
      const current = await findEndpoint(this.deps.db, workspace.id, id)
      if (!current) throw ApiError.notFound('Webhook endpoint')
      this.mayRead(principal, current.events)
    }
    const changes = {
      ...(body.url !== undefined && { url: body.url }),
      ...(body.events !== undefined && { events: body.events }),
      ...(body.description !== undefined && { description: body.description }),
      ...(body.is_active !== undefined && { isActive: body.is_active }),
      // Re-enabling starts the failure clock afresh.
      ...(body.is_active === true && { disabledReason: null, failingSince: null, consecutiveFailures: 0 }),
      ...(body.is_active === false && { disabledReason: 'Disabled through the API.' }),
    }
    const row = await updateEndpoint(this.deps.db, workspace.id, id, changes, new Date(this.deps.clock.now()))
    if (!row) throw ApiError.notFound('Webhook endpoint')
    return this.toOut(row)
  }

  async remove(workspace: PrincipalWorkspace, id: number): Promise<void> {
    if (!(await deleteEndpoint(this.deps.db, workspace.id, id))) throw ApiError.notFound('Webhook endpoint')
  }

  async rotateSecret(workspace: PrincipalWorkspace, id: number, body: Static<typeof SecretRotate>) {
    this.validate(body)
    const now = this.deps.clock.now()
    const graceHours = body.grace_period_hours ?? 24
    const secret = body.secret ?? generateSecret()
    const expiresAt = graceHours === 0 ? null : new Date(now + graceHours * HOUR)
    const replaced = await replaceSecret(this.deps.db, workspace.id, id, {
      sealed: this.box.seal(secret),
      previousExpiresAt: expiresAt,
      now: new Date(now),
    })
    if (!replaced) throw ApiError.notFound('Webhook endpoint')
    return { id, secret, previous_secret_expires_at: isoSeconds(expiresAt) }
  }

  /** Sends a `webhook.test` event now and reports the outcome; it is logged as a delivery. */
  async test(workspace: PrincipalWorkspace, id: number) {
    const { db, clock } = this.deps
    const endpoint = await findEndpoint(db, workspace.id, id)
    if (!endpoint) throw ApiError.notFound('Webhook endpoint')
    const now = clock.now()
    const eventId = newEventId()
    const event: DomainEvent = {
      workspaceId: workspace.id,
      type: 'webhook.test',
      data: { webhook_id: id, message: TEST_MESSAGE },
    }
    const payload = envelope(eventId, event, now)
    const [delivery] = await db.transaction(async (tx) => {
      const ids = await insertEvent(
        tx,
        { id: eventId, workspaceId: workspace.id, type: event.type, payload, now: new Date(now) },
        id,
      )
      // No delivery: the endpoint was deleted since it was read (the event goes with this rollback).
      if (ids.length === 0) throw ApiError.notFound('Webhook endpoint')
      // Held by this request, so no worker also sends it.
      return holdDeliveries(tx, ids, { lockedUntil: new Date(now + this.claimMs), token: newClaimToken() })
    })
    const deliveryId = delivery!.id
    const { result, written } = await this.deliverer.attempt(
      { delivery: delivery!, payload, endpoint },
      { retries: false },
    )
    await written // the log shows the outcome by the time this answers
    if (result.ok) {
      return {
        success: true,
        status_code: result.status,
        response_time_ms: result.durationMs,
        response_body: result.body,
        delivery_id: deliveryId,
      }
    }
    return {
      success: false,
      status_code: result.status,
      error: result.error ?? 'Delivery failed',
      response_time_ms: result.durationMs,
      delivery_id: deliveryId,
    }
  }

  async deliveries(workspace: PrincipalWorkspace, endpointId: number, query: ListQuery, url: URL) {
    if (!(await findEndpoint(this.deps.db, workspace.id, endpointId)))
      throw ApiError.notFound('Webhook endpoint')
    const { rows, total } = await listDeliveries(this.deps.db, workspace.id, endpointId, query)
    return toPage(
      rows.map((row) => selectFields(this.deliveryOut(row, false), query.fields)),
      total,
      query,
      url,
    )
  }

  async delivery(workspace: PrincipalWorkspace, endpointId: number, id: number) {
    const row = await findDelivery(this.deps.db, workspace.id, endpointId, id)
    if (!row) throw ApiError.notFound('Delivery')
    const attempts = await listAttempts(this.deps.db, workspace.id, id, MAX_ATTEMPTS_SHOWN)
    return { ...this.deliveryOut(row, true), attempts: attempts.map(attemptOut) }
  }

  /** The catalogue: every registered event type, with an example payload in its envelope. */
  eventTypes() {
    return registeredEventTypes().map((def, i) => ({
      type: def.type,
      description: def.description,
      read_scope: def.readScope,
      example: JSON.parse(
        envelope(
          `evt_example${String(i + 1).padStart(17, '0')}`,
          { workspaceId: 1, type: def.type, data: def.example },
          EXAMPLE_AT,
        ),
      ) as Record<string, unknown>,
    }))
  }

  /**
   * Deliveries created in the range, counted by their status now, per UTC hour or day: `from`
   * is rounded down and `to` up to whole buckets; every bucket is answered, empty ones too.
   */
  async stats(workspace: PrincipalWorkspace, query: Static<typeof StatsQuery>) {
    const interval = query.interval ?? 'day'
    const size = interval === 'hour' ? HOUR : DAY
    const errors: FieldErrors = {}
    // By default the last 14 days (24 hours), the current one included.
    const to =
      query.to === undefined ? Math.ceil((this.deps.clock.now() + 1) / size) * size : Date.parse(query.to)
    const from =
      query.from === undefined ? to - (interval === 'hour' ? 24 : 14) * size : Date.parse(query.from)
    if (Number.isNaN(to)) errors.to = ['The end must be a date-time.']
    if (Number.isNaN(from)) errors.from = ['The start must be a date-time.']
    const start = Math.floor(from / size) * size
    const end = Math.ceil(to / size) * size
    if (!errors.from && start < 0) errors.from = ['The start must be in 1970 or later.']
    if (!errors.to && end > LATEST) errors.to = ['The end must be before the year 9999.']
    if (!errors.from && !errors.to && from >= to) errors.to = ['The end must come after the start.']
    else if (!errors.from && !errors.to && end - start > MAX_STATS_DAYS * DAY)
      errors.from = [`The range covers at most ${MAX_STATS_DAYS} days (in whole UTC ${interval}s).`]
    if (Object.keys(errors).length > 0) throw new ApiError('validation_failed', undefined, { errors })
    const endpointId = query.webhook_id ?? null
    if (endpointId !== null && !(await findEndpoint(this.deps.db, workspace.id, endpointId)))
      throw ApiError.notFound('Webhook endpoint')
    const rows = await deliveryStats(this.deps.db, {
      workspaceId: workspace.id,
      from: new Date(start),
      to: new Date(end),
      interval,
      endpointId,
    })
    const byStart = new Map(rows.map((r) => [r.start.getTime(), r]))
    const totals = { succeeded: 0, failed: 0, pending: 0, total: 0 }
    const buckets = []
    for (let at = start; at < end; at += size) {
      const row = byStart.get(at)
      const counts = { succeeded: row?.succeeded ?? 0, failed: row?.failed ?? 0, pending: row?.pending ?? 0 }
      totals.succeeded += counts.succeeded
      totals.failed += counts.failed
      totals.pending += counts.pending
      buckets.push({ start: isoSeconds(at)!, ...counts })
    }
    totals.total = totals.succeeded + totals.failed + totals.pending
    const finished = totals.succeeded + totals.failed
    return {
      from: isoSeconds(start)!,
      to: isoSeconds(end)!,
      interval,
      webhook_id: endpointId,
      buckets,
      totals,
      success_rate: finished === 0 ? null : Math.round((totals.succeeded / finished) * 10_000) / 10_000,
    }
  }

  /**
   * Queues a failed or retrying delivery for an attempt now. A delivery a worker is sending at
   * this moment is refused: a second send would run beside the first.
   */
  async retry(workspace: PrincipalWorkspace, endpointId: number, id: number) {
    const { db, clock } = this.deps
    const row = await findDelivery(db, workspace.id, endpointId, id)
    if (!row) throw ApiError.notFound('Delivery')
    const now = new Date(clock.now())
    const maxAttempts = this.policy.scheduleMs.length + this.policy.manualAttempts
    const refusal = (current: DeliveryRow) => {
      if (current.status === 'success') return 'This delivery already succeeded.'
      if (current.lockedUntil !== null && current.lockedUntil > now)
        return 'This delivery is being sent right now; retry it once that attempt has finished.'
      if (current.status === 'pending') return 'This delivery is already queued.'
      if (current.attempt >= maxAttempts) return `This delivery has used all ${maxAttempts} attempts.`
      return null
    }
    const refused = refusal(row)
    if (refused) throw new ApiError('cannot_retry', refused)
    // The same conditions again in the update: a worker may have claimed it meanwhile.
    const updated = await requeueDelivery(db, { workspaceId: workspace.id, endpointId, id, now, maxAttempts })
    if (!updated) {
      const current = await findDelivery(db, workspace.id, endpointId, id)
      throw new ApiError(
        'cannot_retry',
        (current && refusal(current)) ?? 'This delivery changed state; fetch it and try again.',
      )
    }
    await notifyWorkers(db)
    return { id: updated.id, status: updated.status, attempt: updated.attempt + 1 }
  }
}
