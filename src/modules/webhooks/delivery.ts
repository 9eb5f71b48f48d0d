// Delivering: one attempt of a claimed delivery (sign, send, record the outcome), and the
// worker that claims due deliveries and runs attempts — woken by NOTIFY when an event commits,
// polling as a fallback, never letting one slow endpoint hold up the others.
import { and, eq, sql } from 'drizzle-orm'
import type { Database, DatabaseHandle } from '../../platform/db/index.ts'
import type { Clock } from '../../platform/lib/clock.ts'
import type { SecretBox } from '../../platform/lib/secret-box.ts'
import type { Attempt, Sender } from './sender.ts'
import { signedHeaders } from './signature.ts'
import { type Claimed, claimDue, NOTIFY_CHANNEL } from './store.ts'
import { webhookDeliveries, webhookEndpoints } from './tables.ts'

export type DeliveryPolicy = {
  /** Delay before each attempt, in ms: [0] is the first attempt, then the retries. */
  scheduleMs: readonly number[]
  /** Further attempts a person may start by hand once the schedule is spent. */
  manualAttempts: number
  /** An endpoint failing without a success for this long is disabled. */
  disableAfterMs: number
}

/** What happens after an attempt, decided from its result alone. */
export function nextState(
  policy: DeliveryPolicy,
  attemptNumber: number,
  result: Attempt,
  now: number,
  random = Math.random,
): { status: 'success' | 'retrying' | 'failed'; nextAttemptAt: number | null; gone: boolean } {
  if (result.ok) return { status: 'success', nextAttemptAt: null, gone: false }
  if (result.status === 410) return { status: 'failed', nextAttemptAt: null, gone: true }
  const delay = policy.scheduleMs[attemptNumber]
  if (delay === undefined) return { status: 'failed', nextAttemptAt: null, gone: false }
  const jittered = delay * (0.9 + 0.2 * random())
  return {
    status: 'retrying',
    nextAttemptAt: now + Math.max(jittered, result.retryAfterMs ?? 0),
    gone: false,
  }
}

export type DisabledEndpoint = { workspaceId: number; endpointId: number; url: string; reason: string }

export class Deliverer {
  private readonly db: Database
  private readonly clock: Clock
  private readonly box: SecretBox
  private readonly sender: Sender
  private readonly policy: DeliveryPolicy
  private readonly onDisabled: (endpoint: DisabledEndpoint) => Promise<void>

  constructor(input: {
    db: Database
    clock: Clock
    box: SecretBox
    sender: Sender
    policy: DeliveryPolicy
    onDisabled: (endpoint: DisabledEndpoint) => Promise<void>
  }) {
    this.db = input.db
    this.clock = input.clock
    this.box = input.box
    this.sender = input.sender
    this.policy = input.policy
    this.onDisabled = input.onDisabled
  }

  /** Signs with the current secret, and the previous one while its grace period lasts. */
  private secretsOf(endpoint: Claimed['endpoint'], now: number): string[] {
    const secrets = [this.box.open(endpoint.secret)]
    if (
      endpoint.previousSecret &&
      endpoint.previousSecretExpiresAt &&
      endpoint.previousSecretExpiresAt.getTime() > now
    ) {
      secrets.push(this.box.open(endpoint.previousSecret))
    }
    return secrets
  }

  /** One attempt; `retries: false` (test sends) fails for good instead of scheduling a retry. */
  async attempt(claimed: Claimed, options: { retries: boolean } = { retries: true }): Promise<Attempt> {
    const { delivery, endpoint, payload } = claimed
    const url = new URL(endpoint.url)
    const now = this.clock.now()
    const headers = signedHeaders(
      this.secretsOf(endpoint, now),
      delivery.eventId,
      Math.floor(now / 1000),
      payload,
    )
    const result = await this.sender.send(url, headers, payload)
    await this.record(claimed, result, headers, options.retries)
    return result
  }

  /** Marks deliveries of a disabled endpoint failed without sending them. */
  async skip(claimed: Claimed): Promise<void> {
    await this.db
      .update(webhookDeliveries)
      .set({
        status: 'failed',
        lockedUntil: null,
        nextAttemptAt: null,
        error: 'Endpoint disabled',
        updatedAt: new Date(this.clock.now()),
      })
      .where(eq(webhookDeliveries.id, claimed.delivery.id))
  }

  private async record(claimed: Claimed, result: Attempt, headers: Record<string, string>, retries: boolean) {
    const { delivery, endpoint } = claimed
    const now = this.clock.now()
    const attemptNumber = delivery.attempt + 1
    const state = retries
      ? nextState(this.policy, attemptNumber, result, now)
      : {
          status: result.ok ? ('success' as const) : ('failed' as const),
          nextAttemptAt: null,
          gone: result.status === 410,
        }
    const at = new Date(now)
    const disabled = await this.db.transaction(async (tx) => {
      await tx
        .update(webhookDeliveries)
        .set({
          status: state.status,
          attempt: attemptNumber,
          nextAttemptAt: state.nextAttemptAt === null ? null : new Date(state.nextAttemptAt),
          lockedUntil: null,
          responseCode: result.status,
          responseBody: result.body,
          responseTimeMs: result.durationMs,
          error: result.error,
          request: { url: endpoint.url, headers },
          deliveredAt: result.ok ? at : delivery.deliveredAt,
          updatedAt: at,
        })
        .where(eq(webhookDeliveries.id, delivery.id))
      if (result.ok) {
        await tx
          .update(webhookEndpoints)
          .set({
            successCount: sql`${webhookEndpoints.successCount} + 1`,
            consecutiveFailures: 0,
            failingSince: null,
            lastDeliveryAt: at,
          })
          .where(eq(webhookEndpoints.id, endpoint.id))
        return null
      }
      const disableBefore = new Date(now - this.policy.disableAfterMs)
      const [updated] = await tx
        .update(webhookEndpoints)
        .set({
          failureCount: sql`${webhookEndpoints.failureCount} + 1`,
          consecutiveFailures: sql`${webhookEndpoints.consecutiveFailures} + 1`,
          failingSince: sql`coalesce(${webhookEndpoints.failingSince}, ${at.toISOString()}::timestamptz)`,
          lastDeliveryAt: at,
        })
        .where(eq(webhookEndpoints.id, endpoint.id))
        .returning({
          workspaceId: webhookEndpoints.workspaceId,
          isActive: webhookEndpoints.isActive,
          failingSince: webhookEndpoints.failingSince,
        })
      if (!updated?.isActive) return null
      const tooLong = updated.failingSince !== null && updated.failingSince <= disableBefore
      if (!state.gone && !tooLong) return null
      const reason = state.gone
        ? 'The endpoint answered 410 Gone.'
        : 'The endpoint kept failing without a success.'
      await tx
        .update(webhookEndpoints)
        .set({ isActive: false, disabledReason: reason, updatedAt: at })
        .where(and(eq(webhookEndpoints.id, endpoint.id), eq(webhookEndpoints.isActive, true)))
      return { workspaceId: updated.workspaceId, endpointId: endpoint.id, url: endpoint.url, reason }
    })
    if (disabled) await this.onDisabled(disabled)
  }
}

export type WorkerOptions = {
  concurrency: number
  perEndpoint: number
  pollMs: number
  lockMs: number
  batch: number
}

/** Claims due deliveries and attempts them, within global and per-endpoint concurrency limits. */
export class DeliveryWorker {
  private readonly database: DatabaseHandle
  private readonly deliverer: Deliverer
  private readonly clock: Clock
  private readonly options: WorkerOptions
  private readonly log: (message: string, error: unknown) => void
  private readonly inFlight = new Map<number, number>()
  private running = 0
  private stopped = true
  private pumping = false
  private again = false
  private timer: NodeJS.Timeout | null = null
  private unlisten: (() => Promise<void>) | null = null
  private readonly idle = new Set<() => void>()

  constructor(input: {
    database: DatabaseHandle
    deliverer: Deliverer
    clock: Clock
    options: WorkerOptions
    log: (message: string, error: unknown) => void
  }) {
    this.database = input.database
    this.deliverer = input.deliverer
    this.clock = input.clock
    this.options = input.options
    this.log = input.log
  }

  async start(): Promise<void> {
    this.stopped = false
    this.unlisten = await this.database.listen(NOTIFY_CHANNEL, () => this.wake())
    this.timer = setInterval(() => this.wake(), this.options.pollMs)
    this.timer.unref()
    this.wake()
  }

  /** Stops claiming and waits for the attempts in flight. */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    await this.unlisten?.().catch(() => {})
    if (this.running > 0 || this.pumping) await new Promise<void>((resolve) => this.idle.add(resolve))
  }

  /** Looks for due deliveries now (after a commit, or from the poll timer). */
  wake(): void {
    if (this.stopped) return
    if (this.pumping) {
      this.again = true
      return
    }
    void this.pump()
  }

  private async pump(): Promise<void> {
    this.pumping = true
    try {
      do {
        this.again = false
        const room = this.options.concurrency - this.running
        if (room <= 0) break
        const now = this.clock.now()
        const claimed = await claimDue(this.database.db, {
          now: new Date(now),
          lockedUntil: new Date(now + this.options.lockMs),
          limit: Math.min(room, this.options.batch),
        })
        for (const item of claimed) this.run(item)
        if (claimed.length === Math.min(room, this.options.batch)) this.again = true
      } while (this.again && !this.stopped)
    } catch (error) {
      this.log('could not claim webhook deliveries', error)
    } finally {
      this.pumping = false
      this.settle()
    }
  }

  private run(item: Claimed): void {
    const endpointId = item.endpoint.id
    const busy = this.inFlight.get(endpointId) ?? 0
    if (busy >= this.options.perEndpoint) {
      // This endpoint is saturated: give the delivery back (its lock lapses) and move on.
      void this.release(item)
      return
    }
    this.inFlight.set(endpointId, busy + 1)
    this.running++
    const task = item.endpoint.isActive ? this.deliverer.attempt(item) : this.deliverer.skip(item)
    void task
      .catch((error) => this.log('webhook delivery attempt failed', error))
      .finally(() => {
        const left = (this.inFlight.get(endpointId) ?? 1) - 1
        if (left === 0) this.inFlight.delete(endpointId)
        else this.inFlight.set(endpointId, left)
        this.running--
        this.settle()
        this.wake()
      })
  }

  private async release(item: Claimed): Promise<void> {
    const retryAt = new Date(this.clock.now() + 250)
    await this.database.db
      .update(webhookDeliveries)
      .set({ lockedUntil: null, nextAttemptAt: retryAt })
      .where(eq(webhookDeliveries.id, item.delivery.id))
      .catch((error) => this.log('could not release a webhook delivery', error))
  }

  private settle(): void {
    if (this.running === 0 && !this.pumping) {
      for (const resolve of this.idle) resolve()
      this.idle.clear()
    }
  }
}
