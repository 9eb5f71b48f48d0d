// The loop of a queue worker (webhook deliveries, SEO audits): woken by a database notification
// on its channel, by a poll timer as a fallback, and by the worker itself when a job ends, it
// asks the worker to claim what it has room for. Claims never overlap: a wake during a claim
// makes one more claim once it is over, so a burst of notifications costs one claim, not one
// each. `stop` waits for the claim and every job in flight.
import type { DatabaseHandle } from '../db/index.ts'

export type JobPumpOptions = {
  database: DatabaseHandle
  /** The channel a `NOTIFY` wakes the pump on. */
  channel: string
  pollMs: number
  /**
   * Claims work and starts it (each job handed to `track`); answers true when it took all it
   * had room for, so that more may be waiting and the pump claims again at once.
   */
  claim: () => Promise<boolean>
  /** Told a claim that failed (the pump goes on at the next wake). */
  onClaimError: (error: unknown) => void
}

export class JobPump {
  private readonly options: JobPumpOptions
  private stopped = true
  private pumping = false
  private again = false
  /** Jobs (and any other work `track`ed) not settled yet. */
  private pending = 0
  private timer: NodeJS.Timeout | null = null
  private unlisten: (() => Promise<void>) | null = null
  private readonly idle = new Set<() => void>()

  constructor(options: JobPumpOptions) {
    this.options = options
  }

  /** True once `stop` has been called: jobs still running should wind down. */
  get stopping(): boolean {
    return this.stopped
  }

  async start(): Promise<void> {
    this.stopped = false
    const unlisten = await this.options.database.listen(this.options.channel, () => this.wake())
    // Stopped while the listener was being set up: nothing of it may outlive the stop.
    if (this.stopped) return void (await unlisten().catch(() => {}))
    this.unlisten = unlisten
    this.timer = setInterval(() => this.wake(), this.options.pollMs)
    this.timer.unref()
    this.wake()
  }

  /**
   * Stops claiming at once (before this first yields: a caller may then stop its jobs), then
   * waits for the claim and the tracked work in flight.
   */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    await this.unlisten?.().catch(() => {})
    this.unlisten = null
    if (this.pending > 0 || this.pumping) await new Promise<void>((resolve) => this.idle.add(resolve))
  }

  /** Claims now, or once the claim under way is over. */
  wake(): void {
    if (this.stopped) return
    if (this.pumping) {
      this.again = true
      return
    }
    void this.pump()
  }

  /** Counts `work` as in flight until it settles (`stop` waits for it); its failure is its own. */
  track(work: Promise<unknown>): void {
    this.pending++
    const done = () => {
      this.pending--
      this.settle()
    }
    work.then(done, done)
  }

  private async pump(): Promise<void> {
    this.pumping = true
    try {
      do {
        this.again = false
        if (await this.options.claim()) this.again = true
      } while (this.again && !this.stopped)
    } catch (error) {
      this.options.onClaimError(error)
    } finally {
      this.pumping = false
      this.settle()
    }
  }

  private settle(): void {
    if (this.pending === 0 && !this.pumping) {
      for (const resolve of this.idle) resolve()
      this.idle.clear()
    }
  }
}
