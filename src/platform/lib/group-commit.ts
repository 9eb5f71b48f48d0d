// Group commit: a request is answered only once its row is committed (a tracked pixel event,
// an audited MCP call), so what was acknowledged survives a crash; to keep that affordable,
// the rows that arrive while a batch is being written wait and go together as the next batch —
// one multi-row INSERT and one commit for all of them. An idle server writes a row at once
// (after the current turn of the event loop); a busy one writes fewer, larger batches.

type Waiter<T> = { item: T; resolve: () => void; reject: (error: unknown) => void }

export class GroupCommit<T> {
  private queue: Array<Waiter<T>> = []
  private inFlight = 0
  private scheduled = false
  private idle: Array<() => void> = []
  private readonly write: (items: T[]) => Promise<ReadonlyArray<unknown> | undefined>
  private readonly maxInFlight: number
  private readonly maxBatch: number

  /**
   * `write` commits every item, or throws (every item failed), or answers the error of each
   * item that failed (undefined for those committed); `maxInFlight` batches may be written at
   * once (one for an engine that serialises writes anyway), each of at most `maxBatch` items.
   */
  constructor(
    write: (items: T[]) => Promise<ReadonlyArray<unknown> | undefined>,
    options: { maxInFlight: number; maxBatch: number },
  ) {
    this.write = write
    this.maxInFlight = options.maxInFlight
    this.maxBatch = options.maxBatch
  }

  /** Resolves when `item` is committed; rejects with the write's error otherwise. */
  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ item, resolve, reject })
      this.schedule()
    })
  }

  /** Resolves when every item added so far is written (or failed). */
  drain(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve()
    return new Promise((resolve) => this.idle.push(resolve))
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight || this.queue.length === 0) return
    this.scheduled = true
    // Collect what the rest of this turn adds before writing.
    setImmediate(() => {
      this.scheduled = false
      this.dispatch()
    })
  }

  private dispatch(): void {
    // More than a batch waiting: the rest goes at once too, as far as maxInFlight allows.
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) this.dispatchOne()
  }

  private dispatchOne(): void {
    const batch = this.queue.length > this.maxBatch ? this.queue.splice(0, this.maxBatch) : this.queue
    if (batch === this.queue) this.queue = []
    this.inFlight++
    let written: Promise<ReadonlyArray<unknown> | undefined>
    try {
      written = this.write(batch.map((w) => w.item))
    } catch (error) {
      written = Promise.reject(error)
    }
    written
      .then(
        (errors) => {
          for (const [i, w] of batch.entries()) {
            const error = errors?.[i]
            if (error === undefined) w.resolve()
            else w.reject(error)
          }
        },
        (error: unknown) => {
          for (const w of batch) w.reject(error)
        },
      )
      .finally(() => {
        this.inFlight--
        // What queued meanwhile is the next batch: written now, without waiting for a turn.
        if (this.queue.length > 0) this.dispatch()
        else if (this.inFlight === 0) for (const resolve of this.idle.splice(0)) resolve()
      })
  }
}
