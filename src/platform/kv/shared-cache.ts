// A cache every instance keeps of rows read on a hot path and changed rarely (a workspace's MCP
// allowlist, the pixel site of a hostname). A change is applied here at once and announced on
// a pub/sub channel, so every instance drops its copy; entries also expire after `ttlMs`, which
// bounds how stale a copy can get when an announcement is lost (Redis unreachable; after a
// reconnection everything is dropped). Loads are shared by the callers that ask at once, and a
// load that overlaps a change is not kept, so it cannot bring back what the change removed.
import type { Clock } from '../lib/clock.ts'
import type { PubSub } from './index.ts'

/** The announcement that drops every entry. */
const ALL = '*'

type Entry<V> = { value: Promise<V>; until: number }

export class SharedCache<V> {
  private readonly entries = new Map<string, Entry<V>>()
  private readonly pubsub: PubSub
  private readonly channel: string
  private readonly clock: Clock
  private readonly ttlMs: number
  private readonly maxEntries: number

  constructor(pubsub: PubSub, channel: string, clock: Clock, options: { ttlMs: number; maxEntries: number }) {
    this.pubsub = pubsub
    this.channel = channel
    this.clock = clock
    this.ttlMs = options.ttlMs
    this.maxEntries = options.maxEntries
  }

  /** Listens for the changes other instances announce (the app's onReady). */
  async start(): Promise<void> {
    await this.pubsub.subscribe(this.channel, (message) => this.apply(message))
    this.pubsub.onReconnect(() => this.apply(ALL))
  }

  /** The cached value of `key`, or what `load` answers (kept until a change or the TTL). */
  get(key: string, load: () => Promise<V>): Promise<V> {
    const now = this.clock.now()
    const hit = this.entries.get(key)
    if (hit && hit.until > now) return hit.value
    if (hit) this.entries.delete(key)
    else if (this.entries.size >= this.maxEntries) {
      // The oldest entry goes: a flood of distinct keys cannot grow memory.
      const oldest = this.entries.keys().next().value
      if (oldest !== undefined) this.entries.delete(oldest)
    }
    const entry: Entry<V> = { value: load(), until: now + this.ttlMs }
    this.entries.set(key, entry)
    // A failed load is not kept: the next caller tries again.
    entry.value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key)
    })
    return entry.value
  }

  /** Drops `key` (every key when none is given) here at once, then on every other instance. */
  async invalidate(key?: string): Promise<void> {
    const message = key ?? ALL
    this.apply(message)
    await this.pubsub.publish(this.channel, message)
  }

  private apply(message: string): void {
    if (message === ALL) this.entries.clear()
    else this.entries.delete(message)
  }
}
