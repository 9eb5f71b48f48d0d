// Delivering: one attempt of a claimed delivery (sign, send, record the outcome), and the
// worker that claims due deliveries and runs attempts — woken by NOTIFY when an event commits,
// polling as a fallback, never letting one slow endpoint hold up the others — and purges
// what has outlived the retention period.
import type { Database, DatabaseHandle } from '../../platform/db/index.ts'
import type { Clock } from '../../platform/lib/clock.ts'
import { JobPump } from '../../platform/lib/job-pump.ts'
import { randomBase62 } from '../../platform/lib/random.ts'
import type { SecretBox } from '../../platform/lib/secret-box.ts'
import type { OutcomeWriter } from './outcomes.ts'
import { type Attempt, MAX_RETRY_AFTER_MS, type Sender } from './sender.ts'
import { signedHeaders } from './signature.ts'
import { type Claimed, claimDue, failUnsent, NOTIFY_CHANNEL, purgeFinished } from './store.ts'

export type DeliveryPolicy = {
  /** Delay before each attempt, in ms: [0] is the first attempt, then the retries. */
  scheduleMs: readonly number[]
  /** Further attempts a person may start by hand once the schedule is spent. */
  manualAttempts: number
  /** An endpoint failing without a success for this long is disabled. */
  disableAfterMs: number
}

/** What happens after an attempt, decided from its result alone. */
function nextState(
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
    nextAttemptAt: now + Math.max(jittered, Math.min(result.retryAfterMs ?? 0, MAX_RETRY_AFTER_MS)),
    gone: false,
  }
}

/** Signs, sends and hands the outcome to the OutcomeWriter: one attempt of a claimed delivery. */
export class Deliverer {
  private readonly db: Database
  private readonly clock: Clock
  private readonly box: SecretBox
  private readonly sender: Sender
  private readonly policy: DeliveryPolicy
  readonly outcomes: OutcomeWriter

  constructor(input: {
    db: Database
    clock: Clock
    box: SecretBox
    sender: Sender
    policy: DeliveryPolicy
    outcomes: OutcomeWriter
  }) {
    this.db = input.db
    this.clock = input.clock
    this.box = input.box
    this.sender = input.sender
    this.policy = input.policy
    this.outcomes = input.outcomes
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

  /**
   * One attempt. `retries: false` (test sends) fails for good instead of scheduling a retry.
   * `written` resolves once the outcome is stored.
   */
  async attempt(claimed: Claimed, options: { retries: boolean } = { retries: true }) {
    const { delivery, endpoint, payload } = claimed
    const now = this.clock.now()
    const headers = signedHeaders(
      this.secretsOf(endpoint, now),
      delivery.eventId,
      Math.floor(now / 1000),
      payload,
    )
    const result = await this.sender.send(new URL(endpoint.url), headers, payload)
    const at = this.clock.now()
    const attempt = delivery.attempt + 1
    const state = options.retries
      ? nextState(this.policy, attempt, result, at)
      : {
          status: result.ok ? ('success' as const) : ('failed' as const),
          nextAttemptAt: null,
          gone: result.status === 410,
        }
    const written = this.outcomes.add({
      deliveryId: delivery.id,
      endpointId: endpoint.id,
      claimToken: delivery.claimToken ?? '',
      url: endpoint.url,
      attempt,
      ...state,
      result,
      headers,
      at,
    })
    return { result, written }
  }

  /** Marks a delivery of a disabled endpoint failed without sending it. */
  async skip(claimed: Claimed): Promise<void> {
    await failUnsent(this.db, claimed.delivery, 'Endpoint disabled', new Date(this.clock.now()))
  }
}

/** A claim token: names one claim, so that only its holder records an outcome. */
export function newClaimToken(): string {
  return randomBase62(16)
}

export type WorkerOptions = {
  concurrency: number
  perEndpoint: number
  pollMs: number
  lockMs: number
  batch: number
  /** Finished deliveries and their events older than this are purged; 0 keeps them forever. */
  retentionMs: number
  purgeEveryMs: number
}

/** Rows one purge statement deletes, and statements one purge runs: bounded work per run. */
const PURGE_BATCH = 1000
const PURGE_BATCHES_PER_RUN = 20
/** How long after a slot frees the worker looks for more work (freed slots are claimed together). */
const REFILL_MS = 2
/** Outcomes waiting to be written, per slot, beyond which the worker claims no more. */
const UNWRITTEN_PER_SLOT = 4

/**
 * Claims due deliveries and attempts them, at most `concurrency` at once. It claims only what
 * it can start at once — never more than its free slots, never more for one endpoint than
 * that endpoint's free slots (`perEndpoint`, across all workers; see `claimDue`) — and leaves
 * the rest unclaimed for the other workers. So a slow or dead endpoint costs at most its own
 * `perEndpoint` slots, and every other endpoint's deliveries start as soon as a slot is free.
 */
export class DeliveryWorker {
  private readonly db: Database
  private readonly deliverer: Deliverer
  private readonly clock: Clock
  private readonly options: WorkerOptions
  private readonly log: (message: string, error: unknown) => void
  private readonly pump: JobPump
  /** Attempts in flight: each holds a slot. */
  private running = 0
  /** Attempts over whose outcome is not written yet. */
  private unwritten = 0
  private purging: Promise<void> | null = null
  private purgeTimer: NodeJS.Timeout | null = null
  private soon: NodeJS.Timeout | null = null

  constructor(input: {
    database: DatabaseHandle
    /** Where claims and purges run (the worker's own connections). */
    db: Database
    deliverer: Deliverer
    clock: Clock
    options: WorkerOptions
    log: (message: string, error: unknown) => void
  }) {
    this.db = input.db
    this.deliverer = input.deliverer
    this.clock = input.clock
    this.options = input.options
    this.log = input.log
    this.pump = new JobPump({
      database: input.database,
      channel: NOTIFY_CHANNEL,
      pollMs: input.options.pollMs,
      claim: () => this.claim(),
      onClaimError: (error) => this.log('could not claim webhook deliveries', error),
    })
  }

  async start(): Promise<void> {
    await this.pump.start()
    if (this.pump.stopping) return // stopped while starting
    this.purgeTimer = setInterval(() => void this.purge(), this.options.purgeEveryMs)
    this.purgeTimer.unref()
    void this.purge()
  }

  /** Stops claiming and waits for the attempts in flight, their outcomes and the purge. */
  async stop(): Promise<void> {
    const stopping = this.pump.stop()
    if (this.purgeTimer) clearInterval(this.purgeTimer)
    if (this.soon) clearTimeout(this.soon)
    await stopping
    await this.purging
    await this.deliverer.outcomes.flush()
  }

  /** Looks for due deliveries now (after a commit, or from the poll timer). */
  wake(): void {
    this.pump.wake()
  }

  /**
   * Looks for more work shortly after a slot frees: the slots freed meanwhile are filled by
   * one claim, not one claim each.
   */
  private wakeSoon(): void {
    this.soon ??= setTimeout(() => {
      this.soon = null
      this.wake()
    }, REFILL_MS)
  }

  /** Deletes finished deliveries and unreferenced events older than the retention period, in bounded batches. */
  purge(): Promise<void> {
    if (this.options.retentionMs === 0 || this.purging) return this.purging ?? Promise.resolve()
    const before = new Date(this.clock.now() - this.options.retentionMs)
    this.purging = (async () => {
      for (let run = 0; run < PURGE_BATCHES_PER_RUN && !this.pump.stopping; run++) {
        const gone = await purgeFinished(this.db, before, PURGE_BATCH)
        if (gone.deliveries < PURGE_BATCH && gone.events < PURGE_BATCH) break
      }
    })()
      .catch((error) => this.log('could not purge old webhook deliveries', error))
      .finally(() => {
        this.purging = null
      })
    return this.purging
  }

  /** Claims what the free slots allow and starts it; true when that was all the room. */
  private async claim(): Promise<boolean> {
    const room = Math.min(
      this.options.batch,
      this.options.concurrency - this.running,
      // Outcomes waiting for the writer are bounded too: a writer that falls behind slows the claims.
      this.options.concurrency * UNWRITTEN_PER_SLOT - this.unwritten,
    )
    if (room <= 0) return false
    const now = this.clock.now()
    const claimed = await claimDue(this.db, {
      now: new Date(now),
      lockedUntil: new Date(now + this.options.lockMs),
      limit: room,
      perEndpoint: this.options.perEndpoint,
      token: newClaimToken(),
    })
    for (const item of claimed) this.run(item)
    return claimed.length === room
  }

  private run(item: Claimed): void {
    this.running++
    const task = item.endpoint.isActive
      ? this.deliverer.attempt(item)
      : this.deliverer.skip(item).then(() => ({ written: Promise.resolve() }))
    this.pump.track(
      task
        .then(({ written }) => {
          // The attempt is over, so its slot is free. Its delivery stays claimed, and so counts
          // against its endpoint's share (`perEndpoint`, counted in the database), until the
          // outcome is written; the writer batches outcomes, so waiting for it here would hold
          // each slot a batch longer than the send.
          this.unwritten++
          this.pump.track(
            written
              .catch((error) => this.log('webhook delivery outcome failed', error))
              .finally(() => {
                this.unwritten--
                this.wakeSoon()
              }),
          )
        })
        .catch((error) => this.log('webhook delivery attempt failed', error))
        .finally(() => {
          this.running--
          this.wakeSoon()
        }),
    )
  }
}
