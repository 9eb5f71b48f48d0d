// The limiter of a single instance, and the fallback of the Redis limiter while Redis is
// unreachable. Check every bucket, then take from all or from none.
import type { BucketRequest, BucketState, Decision, Policy } from './bucket.ts'
import { capacityOf, refill, stateOf } from './bucket.ts'

export interface Limiter {
  /** Takes one token from every bucket, or from none when any is empty (synchronously when it can). */
  take(requests: readonly BucketRequest[], now: number): Decision | Promise<Decision>
  close(): Promise<void>
}

type Entry = { tokens: number; updatedAt: number; fullAt: number }

const SWEEP_EVERY = 10_000

export class MemoryLimiter implements Limiter {
  private readonly buckets = new Map<string, Entry>()
  private calls = 0

  take(requests: readonly BucketRequest[], now: number): Decision {
    return this.takeSync(requests, now)
  }

  takeSync(requests: readonly BucketRequest[], now: number): Decision {
    if (++this.calls % SWEEP_EVERY === 0) this.sweep(now)
    const levels: number[] = new Array(requests.length)
    let allowed = true
    for (let i = 0; i < requests.length; i++) {
      const { key, policy } = requests[i]!
      const level = this.level(key, policy, now)
      levels[i] = level
      if (level < 1) allowed = false
    }
    const buckets: BucketState[] = new Array(requests.length)
    for (let i = 0; i < requests.length; i++) {
      const { key, policy } = requests[i]!
      const tokens = allowed ? levels[i]! - 1 : levels[i]!
      if (allowed) this.save(key, policy, tokens, now)
      buckets[i] = stateOf(policy, tokens)
    }
    return { allowed, buckets }
  }

  async close(): Promise<void> {
    this.buckets.clear()
  }

  private level(key: string, policy: Policy, now: number): number {
    const entry = this.buckets.get(key)
    return entry ? refill(policy, entry.tokens, entry.updatedAt, now) : capacityOf(policy)
  }

  /** The bucket's time never moves back, or a clock stepping back would count a refill twice. */
  private save(key: string, policy: Policy, tokens: number, now: number): void {
    const entry = this.buckets.get(key)
    const at = entry ? Math.max(entry.updatedAt, now) : now
    const fullAt = at + ((capacityOf(policy) - tokens) * policy.windowMs) / policy.limit
    if (!entry) return void this.buckets.set(key, { tokens, updatedAt: at, fullAt })
    entry.tokens = tokens
    entry.updatedAt = at
    entry.fullAt = fullAt
  }

  /** Forgets buckets that have refilled completely: they hold no information. */
  private sweep(now: number): void {
    for (const [key, entry] of this.buckets) if (entry.fullAt <= now) this.buckets.delete(key)
  }
}
