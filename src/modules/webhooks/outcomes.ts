// Writes the outcomes of delivery attempts in batches: one statement for all the deliveries
// of a batch and one per endpoint for its counters, in one transaction, every few
// milliseconds. Per-attempt transactions would serialise on the endpoint's row under load.
// Until its outcome is written a delivery stays claimed, so no other worker sends it again;
// if the process dies first, the claim lapses and it is sent again (at least once).
import { and, eq, sql } from 'drizzle-orm'
import type { Database, Transaction } from '../../platform/db/index.ts'
import type { Attempt } from './sender.ts'
import { webhookEndpoints } from './tables.ts'

export type Outcome = {
  deliveryId: number
  endpointId: number
  url: string
  attempt: number
  status: 'success' | 'retrying' | 'failed'
  nextAttemptAt: number | null
  gone: boolean
  result: Attempt
  headers: Record<string, string>
  at: number
}

export type DisabledEndpoint = { workspaceId: number; endpointId: number; url: string; reason: string }

const FLUSH_MS = 5
const MAX_BATCH = 200

export class OutcomeWriter {
  private readonly db: Database
  private readonly disableAfterMs: number
  private readonly onDisabled: (endpoint: DisabledEndpoint) => Promise<void>
  private readonly log: (message: string, error: unknown) => void
  private queue: Array<{ outcome: Outcome; done: () => void }> = []
  private timer: NodeJS.Timeout | null = null
  private writing: Promise<void> = Promise.resolve()

  constructor(input: {
    db: Database
    disableAfterMs: number
    onDisabled: (endpoint: DisabledEndpoint) => Promise<void>
    log: (message: string, error: unknown) => void
  }) {
    this.db = input.db
    this.disableAfterMs = input.disableAfterMs
    this.onDisabled = input.onDisabled
    this.log = input.log
  }

  /** Queues an outcome; resolves once it is written. */
  add(outcome: Outcome): Promise<void> {
    return new Promise<void>((done) => {
      this.queue.push({ outcome, done })
      if (this.queue.length >= MAX_BATCH) void this.flush()
      else this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS)
    })
  }

  /** Writes everything queued so far. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    const batch = this.queue
    this.queue = []
    if (batch.length === 0) return this.writing
    this.writing = this.writing.then(() => this.write(batch))
    return this.writing
  }

  private async write(batch: Array<{ outcome: Outcome; done: () => void }>): Promise<void> {
    const outcomes = batch.map((b) => b.outcome)
    for (let attempt = 1; ; attempt++) {
      try {
        const disabled = await this.db.transaction(async (tx) => {
          await this.writeDeliveries(tx, outcomes)
          return this.writeEndpoints(tx, outcomes)
        })
        for (const endpoint of disabled)
          await this.onDisabled(endpoint).catch((e) => this.log('could not announce a disabled endpoint', e))
        break
      } catch (error) {
        this.log('could not record webhook delivery outcomes', error)
        // The claims lapse and the deliveries are sent again if this keeps failing.
        if (attempt >= 3) break
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt))
      }
    }
    for (const { done } of batch) done()
  }

  private async writeDeliveries(tx: Transaction, outcomes: Outcome[]): Promise<void> {
    const rows = outcomes.map(
      (o) => sql`(${o.deliveryId}::integer, ${o.status}::text, ${o.attempt}::integer,
        ${o.nextAttemptAt === null ? null : new Date(o.nextAttemptAt).toISOString()}::timestamptz,
        ${o.result.status}::integer, ${o.result.body}::text, ${o.result.durationMs}::integer, ${o.result.error}::text,
        ${JSON.stringify({ url: o.url, headers: o.headers })}::jsonb,
        ${o.result.ok ? new Date(o.at).toISOString() : null}::timestamptz, ${new Date(o.at).toISOString()}::timestamptz)`,
    )
    await tx.execute(sql`
      update webhook_deliveries as d set
        status = v.status, attempt = v.attempt, next_attempt_at = v.next_attempt_at, locked_until = null,
        response_code = v.code, response_body = v.body, response_time_ms = v.ms, error = v.error,
        request = v.request, delivered_at = coalesce(v.delivered_at, d.delivered_at), updated_at = v.at
      from (values ${sql.join(rows, sql`, `)})
        as v(id, status, attempt, next_attempt_at, code, body, ms, error, request, delivered_at, at)
      where d.id = v.id`)
  }

  /** Updates each endpoint's counters in the order its attempts finished; returns the endpoints it disabled. */
  private async writeEndpoints(tx: Transaction, outcomes: Outcome[]): Promise<DisabledEndpoint[]> {
    const byEndpoint = new Map<number, Outcome[]>()
    for (const o of outcomes) byEndpoint.set(o.endpointId, [...(byEndpoint.get(o.endpointId) ?? []), o])
    const disabled: DisabledEndpoint[] = []
    for (const [endpointId, list] of byEndpoint) {
      const lastSuccess = list.findLastIndex((o) => o.result.ok)
      const successes = list.filter((o) => o.result.ok).length
      const failures = list.length - successes
      const after = list.slice(lastSuccess + 1) // failures since the last success of the batch
      const firstFailure = after[0] ? new Date(after[0].at).toISOString() : null
      const last = new Date(list.at(-1)!.at)
      const [endpoint] = await tx
        .update(webhookEndpoints)
        .set({
          successCount: sql`${webhookEndpoints.successCount} + ${successes}`,
          failureCount: sql`${webhookEndpoints.failureCount} + ${failures}`,
          ...(lastSuccess >= 0
            ? {
                consecutiveFailures: after.length,
                failingSince: firstFailure === null ? null : new Date(firstFailure),
              }
            : {
                consecutiveFailures: sql`${webhookEndpoints.consecutiveFailures} + ${failures}`,
                failingSince: sql`coalesce(${webhookEndpoints.failingSince}, ${firstFailure}::timestamptz)`,
              }),
          lastDeliveryAt: last,
        })
        .where(eq(webhookEndpoints.id, endpointId))
        .returning({
          workspaceId: webhookEndpoints.workspaceId,
          isActive: webhookEndpoints.isActive,
          failingSince: webhookEndpoints.failingSince,
        })
      if (!endpoint?.isActive) continue
      const gone = list.some((o) => o.gone)
      const tooLong =
        endpoint.failingSince !== null &&
        endpoint.failingSince.getTime() <= last.getTime() - this.disableAfterMs
      if (!gone && !tooLong) continue
      const reason = gone ? 'The endpoint answered 410 Gone.' : 'The endpoint kept failing without a success.'
      await tx
        .update(webhookEndpoints)
        .set({ isActive: false, disabledReason: reason, updatedAt: last })
        .where(and(eq(webhookEndpoints.id, endpointId), eq(webhookEndpoints.isActive, true)))
      disabled.push({ workspaceId: endpoint.workspaceId, endpointId, url: list[0]!.url, reason })
    }
    return disabled
  }
}
