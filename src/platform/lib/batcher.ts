// Calls made in one turn of the event loop, run together. Under load, the requests an instance
// reads in one turn each need the same kind of round trip (a Redis script, an INSERT); sending
// them as one call saves a write, a parse and an execution per request, while every caller
// still waits for exactly one round trip. The batch leaves after the poll phase (setImmediate),
// so an idle server adds no delay beyond the current turn.

type Entry<I, O> = { item: I; resolve: (out: O) => void; reject: (error: unknown) => void }

export class TurnBatcher<I, O> {
  private queue: Array<Entry<I, O>> = []
  private scheduled: NodeJS.Immediate | null = null
  private readonly run: (items: I[]) => Promise<O[]>
  private readonly maxBatch: number

  /** `run` answers each item in order; if it rejects, every caller of the batch gets its error. */
  constructor(run: (items: I[]) => Promise<O[]>, maxBatch = 256) {
    this.run = run
    this.maxBatch = maxBatch
  }

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject })
      this.scheduled ??= setImmediate(() => this.flush())
    })
  }

  private flush(): void {
    this.scheduled = null
    const batch = this.queue.length > this.maxBatch ? this.queue.splice(0, this.maxBatch) : this.queue
    if (batch === this.queue) this.queue = []
    else this.scheduled = setImmediate(() => this.flush())
    let pending: Promise<O[]>
    try {
      pending = this.run(batch.map((entry) => entry.item))
    } catch (error) {
      pending = Promise.reject(error)
    }
    pending.then(
      (out) => {
        for (const [i, entry] of batch.entries()) entry.resolve(out[i]!)
      },
      (error: unknown) => {
        for (const entry of batch) entry.reject(error)
      },
    )
  }
}
