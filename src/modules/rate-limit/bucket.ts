// Token buckets: a bucket holds up to `capacity` tokens and refills continuously at
// `limit` tokens per `windowMs`; a request takes one. The same arithmetic runs in memory
// (memory-limiter.ts) and inside Redis (redis-limiter.ts, in Lua), so both answer alike.

export type Policy = {
  /** Name shown in RateLimit-Policy: `key`, `workspace`, `ip`, `pixel`, `oauth`, `auth-failures`. */
  name: string
  /** Requests per window, as documented (X-RateLimit-Limit). */
  limit: number
  windowMs: number
  /** Extra capacity as a fraction of `limit` (0.2 = 20 % burst). */
  burst: number
}

export type BucketRequest = { key: string; policy: Policy }

export type BucketState = {
  policy: Policy
  /** Whole tokens left after this request. */
  remaining: number
  /** Milliseconds until the bucket is full again. */
  resetMs: number
  /** Milliseconds until one token is available (0 when one is). */
  retryAfterMs: number
}

export type Decision = { allowed: boolean; buckets: BucketState[] }

export function capacityOf(policy: Policy): number {
  return Math.floor(policy.limit * (1 + policy.burst))
}

export function ratePerMs(policy: Policy): number {
  return policy.limit / policy.windowMs
}

/** The bucket the headers describe: the one with the fewest tokens left. */
export function strictest(decision: Decision): BucketState | null {
  let best: BucketState | null = null
  for (const bucket of decision.buckets) {
    if (
      !best ||
      bucket.remaining < best.remaining ||
      (bucket.remaining === best.remaining && bucket.policy.limit < best.policy.limit)
    ) {
      best = bucket
    }
  }
  return best
}

/** Tokens in a bucket last seen with `tokens` at `updatedAt`, refilled up to `now`. */
export function refill(policy: Policy, tokens: number, updatedAt: number, now: number): number {
  return Math.min(capacityOf(policy), tokens + Math.max(0, now - updatedAt) * ratePerMs(policy))
}

export function stateOf(policy: Policy, tokens: number): BucketState {
  const rate = ratePerMs(policy)
  return {
    policy,
    remaining: Math.floor(tokens),
    resetMs: Math.ceil((capacityOf(policy) - tokens) / rate),
    retryAfterMs: tokens >= 1 ? 0 : Math.ceil((1 - tokens) / rate),
  }
}
