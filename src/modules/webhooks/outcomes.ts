// Writes the outcomes of delivery attempts in batches: one statement for all the deliveries
// of a batch and their endpoints' counters (and one more per endpoint it disables), in one
// transaction, every few milliseconds. Per-attempt transactions would serialise on the
// endpoint's row under load, and a statement per endpoint costs a round trip each.
// Until its outcome is written a delivery stays claimed, so no other worker sends it again;
// if the process dies first, the claim lapses and it is sent again (at least once).
//
// An outcome is written only under the claim it was attempted with (`claim_token`): once a
// claim has lapsed, been re-claimed or been reset by a manual retry, a late outcome is dropped.
// One outcome that cannot be written must not sink the others of its batch (they belong to
// other endpoints, often other workspaces): when a batch fails, its outcomes are written one
// by one, and one that still fails is written without the receiver's answer.
import type { Database, Transaction } from '../../platform/db/index.ts'
import { type Attempt, MAX_RETRY_AFTER_MS } from './sender.ts'
import { disableEndpoint, recordOutcomes } from './store.ts'

export type Outcome = {
  deliveryId: number
  endpointId: number
  /** The claim the attempt was made under. */
  claimToken: string
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

/** The outcome without anything the receiver sent, for when the full one cannot be stored. */
function withoutAnswer(o: Outcome): Outcome {
  const code = o.result.status
  return {
    ...o,
    nextAttemptAt:
      o.nextAttemptAt === null
        ? null
        : Math.min(Number.isFinite(o.nextAttemptAt) ? o.nextAttemptAt : Infinity, o.at + MAX_RETRY_AFTER_MS),
    result: {
      ...o.result,
      status: code !== null && Number.isInteger(code) && code >= 100 && code <= 999 ? code : null,
      body: '',
      durationMs: Number.isFinite(o.result.durationMs)
        ? Math.min(Math.round(o.result.durationMs), 2 ** 31 - 1)
        : 0,
      error: o.result.ok ? null : 'The answer could not be stored.',
      retryAfterMs: null,
    },
  }
}

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

  /** Queues an outcome; resolves once it is written (or given up). */
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
    let disabled: DisabledEndpoint[]
    try {
      disabled = await this.writeTogether(outcomes)
    } catch (error) {
      this.log('could not record a batch of webhook delivery outcomes; recording them one by one', error)
      disabled = []
      for (const outcome of outcomes) disabled.push(...(await this.writeAlone(outcome)))
    }
    for (const endpoint of disabled)
      await this.onDisabled(endpoint).catch((e) => this.log('could not announce a disabled endpoint', e))
    for (const { done } of batch) done()
  }

  private writeTogether(outcomes: Outcome[]): Promise<DisabledEndpoint[]> {
    return this.db.transaction(async (tx) =>
      this.disableFailing(tx, outcomes, await recordOutcomes(tx, outcomes)),
    )
  }

  /** One outcome in its own transaction; without the receiver's answer if it must. */
  private async writeAlone(outcome: Outcome): Promise<DisabledEndpoint[]> {
    try {
      return await this.writeTogether([outcome])
    } catch (error) {
      this.log(
        `could not record the outcome of webhook delivery ${outcome.deliveryId}; recording it without the answer`,
        error,
      )
    }
    try {
      return await this.writeTogether([withoutAnswer(outcome)])
    } catch (error) {
      // Left claimed: the claim lapses and the delivery is sent again.
      this.log(`could not record the outcome of webhook delivery ${outcome.deliveryId}`, error)
      return []
    }
  }

  /**
   * Disables the endpoints of the batch that answered 410 Gone or have failed without a
   * success for longer than the limit; returns them.
   */
  private async disableFailing(
    tx: Transaction,
    outcomes: Outcome[],
    tallied: Awaited<ReturnType<typeof recordOutcomes>>,
  ): Promise<DisabledEndpoint[]> {
    const disabled: DisabledEndpoint[] = []
    for (const endpoint of tallied) {
      if (!endpoint.isActive) continue
      const list = outcomes.filter((o) => endpoint.deliveryIds.has(o.deliveryId))
      if (list.length === 0) continue
      const last = new Date(list.at(-1)!.at)
      const gone = list.some((o) => o.gone)
      const tooLong =
        endpoint.failingSince !== null &&
        endpoint.failingSince.getTime() <= last.getTime() - this.disableAfterMs
      if (!gone && !tooLong) continue
      const reason = gone ? 'The endpoint answered 410 Gone.' : 'The endpoint kept failing without a success.'
      await disableEndpoint(tx, endpoint.endpointId, reason, last)
      disabled.push({
        workspaceId: endpoint.workspaceId,
        endpointId: endpoint.endpointId,
        url: list[0]!.url,
        reason,
      })
    }
    return disabled
  }
}
