// The audit worker: claims queued audits (and audits whose holder died) with FOR UPDATE SKIP
// LOCKED, at most `concurrency` on this instance and `perWorkspace` per workspace across all
// instances, runs each in a Lighthouse child process, and records the outcome — a report and
// `seo.audit.completed` — under its claim. Woken by NOTIFY when an audit is queued, polling as
// a fallback. A lease is the timeout plus a margin: an audit still `running` after it has
// outlived its process, and is run once more, then failed.
import type { Database, DatabaseHandle } from '../../platform/db/index.ts'
import type { EventSink } from '../../platform/events.ts'
import type { Clock } from '../../platform/lib/clock.ts'
import { JobPump } from '../../platform/lib/job-pump.ts'
import { randomBase62 } from '../../platform/lib/random.ts'
import type { LighthouseRunner } from './runner.ts'
import { auditOut, type SeoService } from './service.ts'
import {
  AUDIT_CHANNEL,
  type AuditRow,
  claimAudits,
  failAbandoned,
  finishAudit,
  releaseAudit,
} from './store.ts'

export type AuditWorkerOptions = {
  concurrency: number
  perWorkspace: number
  pollMs: number
  /** How long a claim lasts: the audit's timeout and a margin. */
  leaseMs: number
}

export const ABANDONED =
  'The audit was interrupted twice (the process running it stopped); it was not retried again.'

class LostClaim extends Error {}

export class AuditWorker {
  private readonly db: Database
  private readonly clock: Clock
  private readonly events: EventSink
  private readonly service: SeoService
  private readonly runner: LighthouseRunner
  private readonly options: AuditWorkerOptions
  private readonly log: (message: string, error: unknown) => void
  private readonly pump: JobPump
  /** Audits in flight on this instance. */
  private running = 0

  constructor(input: {
    database: DatabaseHandle
    db: Database
    clock: Clock
    events: EventSink
    service: SeoService
    runner: LighthouseRunner
    options: AuditWorkerOptions
    log: (message: string, error: unknown) => void
  }) {
    this.db = input.db
    this.clock = input.clock
    this.events = input.events
    this.service = input.service
    this.runner = input.runner
    this.options = input.options
    this.log = input.log
    this.pump = new JobPump({
      database: input.database,
      channel: AUDIT_CHANNEL,
      pollMs: input.options.pollMs,
      claim: () => this.claim(),
      onClaimError: (error) => this.log('could not claim SEO audits', error),
    })
  }

  async start(): Promise<void> {
    if (this.options.concurrency === 0) return
    await this.pump.start()
  }

  /** Stops claiming, kills the audits in flight and puts them back in the queue. */
  async stop(): Promise<void> {
    const stopping = this.pump.stop()
    this.runner.killAll()
    await stopping
  }

  /** Looks for audits to run now. */
  wake(): void {
    this.pump.wake()
  }

  /** Fails the audits abandoned twice, then claims what the free slots allow and starts it. */
  private async claim(): Promise<boolean> {
    const room = this.options.concurrency - this.running
    if (room <= 0) return false
    const now = new Date(this.clock.now())
    const claimed = await this.db.transaction(async (tx) => {
      for (const row of await failAbandoned(tx, now, ABANDONED))
        await this.events.emit(tx, {
          workspaceId: row.workspaceId,
          type: 'seo.audit.completed',
          data: auditOut(row),
        })
      return claimAudits(tx, {
        now,
        lockedUntil: new Date(now.getTime() + this.options.leaseMs),
        limit: room,
        perWorkspace: this.options.perWorkspace,
        token: randomBase62(16),
      })
    })
    for (const job of claimed) this.run(job)
    return false
  }

  private run(job: AuditRow): void {
    this.running++
    const result = this.pump.stopping ? Promise.resolve(null) : this.runner.run(job.url)
    this.pump.track(
      result
        .then((result) =>
          this.pump.stopping || result === null ? releaseAudit(this.db, job) : this.record(job, result),
        )
        .catch((error) => this.log('could not record an SEO audit', error))
        .finally(() => {
          this.running--
          this.wake()
        }),
    )
  }

  /** Stores the outcome under the job's claim: the report (if any) and the job's end, or nothing. */
  private async record(job: AuditRow, result: Awaited<ReturnType<LighthouseRunner['run']>>): Promise<void> {
    const now = new Date(this.clock.now())
    const claim = { id: job.id, token: job.claimToken ?? '' }
    try {
      await this.db.transaction(async (tx) => {
        let reportId: number | null = null
        if (result.ok) {
          const report = await this.service.storeReport(tx, {
            workspaceId: job.workspaceId,
            url: job.url,
            scores: result.scores,
            source: 'audit',
            issues: result.issues,
            now,
          })
          reportId = report.id
        }
        const row = await finishAudit(tx, claim, {
          status: result.ok ? 'succeeded' : 'failed',
          reportId,
          error: result.ok ? null : result.error.slice(0, 2000),
          now,
        })
        // Another worker took the job over (this one outlived its lease): its outcome counts.
        if (!row) throw new LostClaim()
        await this.events.emit(tx, {
          workspaceId: job.workspaceId,
          type: 'seo.audit.completed',
          data: auditOut(row),
        })
      })
    } catch (error) {
      if (!(error instanceof LostClaim)) throw error
    }
  }
}
