// Token-bucket arithmetic (bucket.ts) and the in-memory limiter (memory-limiter.ts), without
// HTTP: capacity = limit × (1 + burst), continuous refill, all-or-nothing takes over several
// buckets, and strictest() choosing the bucket the headers describe. When REDIS_URL is set,
// the Lua limiter is run through the same sequence and must answer exactly as memory does.
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { randomBase62 } from '../../platform/lib/random.ts'
import {
  type BucketRequest,
  type BucketState,
  capacityOf,
  type Decision,
  type Policy,
  ratePerMs,
  refill,
  stateOf,
  strictest,
} from './bucket.ts'
import { MemoryLimiter } from './memory-limiter.ts'
import { TIER_LIMITS } from './policies.ts'
import { RedisLimiter } from './redis-limiter.ts'

const MINUTE = 60_000
const tier = (name: keyof typeof TIER_LIMITS): Policy => ({
  name: 'key',
  limit: TIER_LIMITS[name].perMinute,
  windowMs: MINUTE,
  burst: TIER_LIMITS[name].burst,
})
const free = tier('free')
const starter = tier('starter')
const policy = (name: string, limit: number, windowMs = MINUTE, burst = 0): Policy => ({
  name,
  limit,
  windowMs,
  burst,
})

describe('bucket arithmetic: happy paths', () => {
  it('uses the seed 004 tier table', () => {
    expect(TIER_LIMITS).toEqual({
      free: { perMinute: 60, burst: 0 },
      starter: { perMinute: 1000, burst: 0.2 },
      pro: { perMinute: 5000, burst: 0.3 },
      agency: { perMinute: 20_000, burst: 0.5 },
      enterprise: { perMinute: 100_000, burst: 1 },
    })
  })

  it('holds limit × (1 + burst) tokens', () => {
    expect(capacityOf(free)).toBe(60)
    expect(capacityOf(starter)).toBe(1200)
    expect(capacityOf(tier('pro'))).toBe(6500)
    expect(capacityOf(tier('agency'))).toBe(30_000)
    expect(capacityOf(tier('enterprise'))).toBe(200_000)
    expect(capacityOf(policy('ip', 10_000, 3_600_000))).toBe(10_000)
  })

  it('refills continuously at limit per window, never past capacity', () => {
    expect(ratePerMs(free)).toBeCloseTo(0.001, 12)
    expect(refill(free, 0, 0, 1)).toBeCloseTo(0.001, 12) // a thousandth of a token after 1 ms
    expect(refill(free, 0, 0, 500)).toBeCloseTo(0.5, 12)
    expect(refill(free, 0, 0, 1000)).toBeCloseTo(1, 12)
    expect(refill(starter, 0, 0, 30_000)).toBeCloseTo(500, 9)
    expect(refill(starter, 0, 0, MINUTE)).toBeCloseTo(1000, 9) // one window refills `limit`, not capacity
    expect(refill(starter, 0, 0, 72_000)).toBeCloseTo(1200, 9)
    expect(refill(starter, 1100, 0, MINUTE)).toBe(1200) // capped
    expect(refill(starter, 10, 5000, 5000)).toBe(10) // no time, no tokens
  })

  it('never takes tokens away when time goes backwards', () => {
    expect(refill(free, 10, 5000, 4000)).toBe(10)
  })

  it('describes a bucket: whole tokens left, time to full, time to the next token', () => {
    expect(stateOf(free, 60)).toEqual({ policy: free, remaining: 60, resetMs: 0, retryAfterMs: 0 })
    expect(stateOf(free, 59.5)).toEqual({ policy: free, remaining: 59, resetMs: 500, retryAfterMs: 0 })
    expect(stateOf(free, 0)).toEqual({ policy: free, remaining: 0, resetMs: 60_000, retryAfterMs: 1000 })
    expect(stateOf(free, 0.25)).toMatchObject({ remaining: 0, retryAfterMs: 750 })
    expect(stateOf(starter, 0)).toMatchObject({ remaining: 0, resetMs: 72_000, retryAfterMs: 60 })
    expect(stateOf(starter, 1)).toMatchObject({ remaining: 1, retryAfterMs: 0 })
  })
})

describe('strictest(): the bucket the headers describe', () => {
  const state = (p: Policy, remaining: number): BucketState => ({
    policy: p,
    remaining,
    resetMs: 0,
    retryAfterMs: 0,
  })

  it('picks the bucket with the fewest tokens left, wherever it is', () => {
    const ip = policy('ip', 10_000, 3_600_000)
    const key = policy('key', 60)
    const workspace = policy('workspace', 1000, MINUTE, 0.2)
    const buckets = [state(ip, 9000), state(key, 40), state(workspace, 700)]
    expect(strictest({ allowed: true, buckets })?.policy.name).toBe('key')
    expect(strictest({ allowed: true, buckets: [...buckets].reverse() })?.policy.name).toBe('key')
    expect(strictest({ allowed: true, buckets: [state(ip, 3), state(key, 40)] })?.policy.name).toBe('ip')
  })

  it('breaks a tie by the smaller limit, and is null without buckets', () => {
    const small = policy('small', 60)
    const big = policy('big', 1000)
    expect(strictest({ allowed: true, buckets: [state(big, 5), state(small, 5)] })?.policy.name).toBe('small')
    expect(strictest({ allowed: true, buckets: [state(small, 5), state(big, 5)] })?.policy.name).toBe('small')
    expect(strictest({ allowed: true, buckets: [] })).toBeNull()
  })
})

describe('MemoryLimiter: happy paths', () => {
  it('starts a bucket full and takes one token per request', () => {
    const limiter = new MemoryLimiter()
    const remaining: number[] = []
    for (let i = 0; i < 3; i++)
      remaining.push(limiter.takeSync([{ key: 'k', policy: free }], 0).buckets[0]!.remaining)
    expect(remaining).toEqual([59, 58, 57])
  })

  it('admits a starter burst of exactly 1,200 at one instant, then refuses', () => {
    const limiter = new MemoryLimiter()
    const requests = [{ key: 'starter', policy: starter }]
    let admitted = 0
    let refused: Decision | null = null
    for (let i = 0; i < 1300 && refused === null; i++) {
      const decision = limiter.takeSync(requests, 1_000)
      if (decision.allowed) admitted++
      else refused = decision
    }
    expect(admitted).toBe(1200)
    expect(refused?.buckets[0]).toMatchObject({ remaining: 0, retryAfterMs: 60, resetMs: 72_000 })
  })

  it('refills continuously: a token every 60 ms at 1,000/min, not a window at a time', () => {
    const limiter = new MemoryLimiter()
    const requests = [{ key: 'k', policy: starter }]
    for (let i = 0; i < 1200; i++) limiter.takeSync(requests, 0)
    expect(limiter.takeSync(requests, 59).allowed).toBe(false) // 0.98 of a token
    expect(limiter.takeSync(requests, 60).allowed).toBe(true)
    expect(limiter.takeSync(requests, 60).allowed).toBe(false)
    // Half a minute later: 500 tokens came back, not 0 and not a whole window's 1,000.
    let admitted = 0
    while (admitted < 2000 && limiter.takeSync(requests, 30_060).allowed) admitted++
    expect(admitted).toBe(500)
    // Long after: full again, never more than capacity.
    admitted = 0
    while (admitted < 2000 && limiter.takeSync(requests, 10 * MINUTE).allowed) admitted++
    expect(admitted).toBe(1200)
  })

  it('keeps buckets of different keys apart', () => {
    const limiter = new MemoryLimiter()
    for (let i = 0; i < 60; i++) limiter.takeSync([{ key: 'a', policy: free }], 0)
    expect(limiter.takeSync([{ key: 'a', policy: free }], 0).allowed).toBe(false)
    expect(limiter.takeSync([{ key: 'b', policy: free }], 0)).toMatchObject({
      allowed: true,
      buckets: [{ remaining: 59 }],
    })
  })

  it('answers synchronously through take()', () => {
    const decision = new MemoryLimiter().take([{ key: 'k', policy: free }], 0)
    expect(decision).not.toBeInstanceOf(Promise)
    expect((decision as Decision).allowed).toBe(true)
  })
})

describe('MemoryLimiter: check every bucket, then take from all or none', () => {
  const one = policy('one', 1)
  const ten = policy('ten', 10)

  it('a request refused by one bucket takes from none of the others', () => {
    const limiter = new MemoryLimiter()
    const both: BucketRequest[] = [
      { key: 'a', policy: one },
      { key: 'b', policy: ten },
    ]
    expect(limiter.takeSync(both, 0).allowed).toBe(true)
    for (let i = 0; i < 5; i++) {
      const refused = limiter.takeSync(both, 0)
      expect(refused.allowed).toBe(false)
      expect(refused.buckets.map((b) => b.remaining)).toEqual([0, 9])
    }
    // "b" alone still has the 9 tokens the first request left it.
    let admitted = 0
    while (admitted < 20 && limiter.takeSync([{ key: 'b', policy: ten }], 0).allowed) admitted++
    expect(admitted).toBe(9)
  })

  it('does not depend on where the empty bucket is in the list', () => {
    const limiter = new MemoryLimiter()
    limiter.takeSync([{ key: 'empty', policy: one }], 0)
    const refused = limiter.takeSync(
      [
        { key: 'x', policy: ten },
        { key: 'y', policy: ten },
        { key: 'empty', policy: one },
      ],
      0,
    )
    expect(refused.allowed).toBe(false)
    expect(refused.buckets.map((b) => b.remaining)).toEqual([10, 10, 0])
    const after = limiter.takeSync(
      [
        { key: 'x', policy: ten },
        { key: 'y', policy: ten },
      ],
      0,
    )
    expect(after.buckets.map((b) => b.remaining)).toEqual([9, 9])
  })

  it('takes one token from every bucket of an admitted request', () => {
    const limiter = new MemoryLimiter()
    const requests: BucketRequest[] = [
      { key: 'ip', policy: policy('ip', 100, 3_600_000) },
      { key: 'key', policy: free },
      { key: 'workspace', policy: starter },
    ]
    limiter.takeSync(requests, 0)
    const second = limiter.takeSync(requests, 0)
    expect(second.allowed).toBe(true)
    expect(second.buckets.map((b) => b.remaining)).toEqual([98, 58, 1198])
    expect(strictest(second)?.policy.name).toBe('key')
  })

  it('admits no more than capacity when its clock steps back and forth (no refill is counted twice)', () => {
    const limiter = new MemoryLimiter()
    const fast = policy('fast', 1000, 1000) // a token per ms, capacity 1,000
    let admitted = 0
    for (let i = 0; i < 3000; i++) {
      if (limiter.takeSync([{ key: 'k', policy: fast }], i % 2 === 0 ? 10_000 : 9_950).allowed) admitted++
    }
    expect(admitted).toBe(1000)
  })

  it('frees buckets that are full again, without changing any answer', () => {
    const limiter = new MemoryLimiter()
    const size = () => (limiter as unknown as { buckets: Map<string, unknown> }).buckets.size
    for (let i = 0; i < 100; i++) limiter.takeSync([{ key: `old-${i}`, policy: free }], 0)
    expect(size()).toBe(100)
    // The sweep runs every 10,000 calls; an hour later every old bucket is full.
    for (let i = 0; i < 10_000; i++) limiter.takeSync([{ key: 'live', policy: starter }], 3_600_000 + i * 60)
    expect(size()).toBe(1)
    expect(limiter.takeSync([{ key: 'old-1', policy: free }], 3_600_000).buckets[0]!.remaining).toBe(59)
  })
})

// The Lua script must implement the same arithmetic: the same sequence of takes gives the same
// decisions and the same whole tokens left.
describe.skipIf(!process.env.REDIS_URL)('RedisLimiter answers as MemoryLimiter does', () => {
  const redis = process.env.REDIS_URL ? new Redis(process.env.REDIS_URL, { lazyConnect: true }) : null
  const prefix = `core-api-test:${randomBase62(8)}:rl:`
  afterAll(async () => {
    if (!redis) return
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length > 0) await redis.del(...keys)
    redis.disconnect()
  })

  it('gives identical decisions over a sequence of takes', async () => {
    const fallbacks: unknown[] = []
    const shared = new RedisLimiter(redis!, prefix, (error) => fallbacks.push(error))
    const memory = new MemoryLimiter()
    const small = policy('small', 3)
    const requests: BucketRequest[] = [
      { key: 'key', policy: free },
      { key: 'small', policy: small },
      { key: 'starter', policy: starter },
    ]
    const steps: Array<[number, readonly BucketRequest[]]> = []
    for (let i = 0; i < 5; i++) steps.push([1_000_000, requests])
    steps.push([1_020_000, requests], [1_020_000, requests], [1_040_000, requests])
    for (let i = 0; i < 70; i++) steps.push([1_040_000, requests.slice(0, 1)])
    steps.push([1_041_000, requests.slice(0, 1)], [1_041_000, requests.slice(0, 1)])
    steps.push([1_200_000, requests])
    try {
      for (const [now, take] of steps) {
        const expected = memory.takeSync(take, now)
        const actual = await shared.take(take, now)
        expect(actual.allowed, `at ${now}`).toBe(expected.allowed)
        expect(actual.buckets.map((b) => b.remaining)).toEqual(expected.buckets.map((b) => b.remaining))
        expect(actual.buckets.map((b) => b.retryAfterMs)).toEqual(expected.buckets.map((b) => b.retryAfterMs))
      }
    } finally {
      await shared.close()
    }
    expect(fallbacks).toEqual([])
    expect(await redis!.exists(`${prefix}key`)).toBe(1)
  })

  // Two instances whose clocks are 50 ms apart share one bucket: a write by the late clock must
  // not move the bucket's time back, or the early clock would count those 50 ms of refill again
  // on its next take (PRODUCT.md: a shared limit admits no more than its capacity).
  it('two instances with skewed clocks admit no more than capacity', async () => {
    const fallbacks: unknown[] = []
    const ahead = new RedisLimiter(redis!, prefix, (error) => fallbacks.push(error))
    const behind = new RedisLimiter(redis!, prefix, (error) => fallbacks.push(error))
    const fast = policy('fast', 100, 100) // a token per ms, capacity 100
    const take = [{ key: 'skewed', policy: fast }]
    let admitted = 0
    try {
      for (let i = 0; i < 300; i++) {
        const decision =
          i % 2 === 0 ? await ahead.take(take, 5_000_000) : await behind.take(take, 5_000_000 - 50)
        if (decision.allowed) admitted++
      }
    } finally {
      await ahead.close()
      await behind.close()
    }
    expect(fallbacks).toEqual([])
    expect(admitted).toBe(100)
  })

  it('decides the requests of one batch in order, as if they came one by one', async () => {
    const fallbacks: unknown[] = []
    const shared = new RedisLimiter(redis!, prefix, (error) => fallbacks.push(error))
    const memory = new MemoryLimiter()
    const small = policy('small', 3)
    // Two keys of one workspace, and a third request shape that also draws from a tiny bucket.
    const shapes: BucketRequest[][] = [
      [
        { key: 'batch-key-a', policy: free },
        { key: 'batch-workspace', policy: free },
      ],
      [
        { key: 'batch-key-b', policy: free },
        { key: 'batch-workspace', policy: free },
      ],
      [
        { key: 'batch-small', policy: small },
        { key: 'batch-workspace', policy: free },
      ],
    ]
    const takes = Array.from({ length: 90 }, (_, i) => shapes[i % 3]!)
    try {
      // Issued in one turn of the event loop: one script call decides all 90. The small bucket
      // runs dry after 3, the workspace after 60 admitted.
      const actual = await Promise.all(takes.map((take) => shared.take(take, 2_000_000)))
      const expected = takes.map((take) => memory.takeSync(take, 2_000_000))
      expect(actual.map((d) => d.allowed)).toEqual(expected.map((d) => d.allowed))
      expect(actual.filter((d) => d.allowed)).toHaveLength(60)
      expect(actual.map((d) => d.buckets.map((b) => b.remaining))).toEqual(
        expected.map((d) => d.buckets.map((b) => b.remaining)),
      )
      // The state written back is the batch's end state.
      const next = await shared.take(shapes[0]!, 2_000_000)
      expect(next).toEqual(memory.takeSync(shapes[0]!, 2_000_000))
    } finally {
      await shared.close()
    }
    expect(fallbacks).toEqual([])
  })
})
