// The limiter shared by every instance: one Lua script reads all of a request's buckets,
// admits only if each has a token, and takes from all of them — one round trip, atomic.
// If Redis cannot answer within 250 ms, the request is decided by this instance's memory limiter
// instead (logged and counted), never failed; Redis is used again as soon as it answers.
import type { Redis } from 'ioredis'
import { type BucketRequest, capacityOf, type Decision, ratePerMs, stateOf } from './bucket.ts'
import { type Limiter, MemoryLimiter } from './memory-limiter.ts'

// KEYS: the buckets. ARGV[1]: now (ms); then capacity and refill rate (tokens/ms) per bucket.
// Each bucket is a hash {t: tokens, u: updated at}; it expires once it would be full again.
const TAKE = `
local now = tonumber(ARGV[1])
local levels = {}
local allowed = 1
for i = 1, #KEYS do
  local cap = tonumber(ARGV[2 * i])
  local rate = tonumber(ARGV[2 * i + 1])
  local state = redis.call('HMGET', KEYS[i], 't', 'u')
  local tokens = cap
  if state[1] then
    local elapsed = math.max(0, now - tonumber(state[2]))
    tokens = math.min(cap, tonumber(state[1]) + elapsed * rate)
  end
  levels[i] = tokens
  if tokens < 1 then allowed = 0 end
end
if allowed == 1 then
  for i = 1, #KEYS do
    local cap = tonumber(ARGV[2 * i])
    local rate = tonumber(ARGV[2 * i + 1])
    levels[i] = levels[i] - 1
    redis.call('HSET', KEYS[i], 't', tostring(levels[i]), 'u', ARGV[1])
    redis.call('PEXPIRE', KEYS[i], math.ceil((cap - levels[i]) / rate) + 1000)
  end
end
local out = { allowed }
for i = 1, #KEYS do out[i + 1] = tostring(levels[i]) end
return out
`

type TakeCommand = (...args: Array<string | number>) => Promise<[number, ...string[]]>
type Pending = { startedAt: number; settle: (decision: Decision | null) => void }

/** How long a request waits for Redis before this instance decides alone. */
const PATIENCE_MS = 250

export class RedisLimiter implements Limiter {
  private readonly redis: Redis & { rateLimitTake?: TakeCommand }
  private readonly prefix: string
  private readonly fallback = new MemoryLimiter()
  private readonly onFallback: (error: unknown) => void
  private readonly pending = new Set<Pending>()
  // One timer for all requests (a timer per command would cost more than the command).
  private readonly watchdog: NodeJS.Timeout

  constructor(redis: Redis, prefix: string, onFallback: (error: unknown) => void) {
    this.redis = redis
    this.prefix = prefix
    this.onFallback = onFallback
    if (!this.redis.rateLimitTake) this.redis.defineCommand('rateLimitTake', { lua: TAKE })
    this.watchdog = setInterval(() => this.expire(), PATIENCE_MS / 2)
    this.watchdog.unref()
  }

  async take(requests: readonly BucketRequest[], now: number): Promise<Decision> {
    if (requests.length === 0) return { allowed: true, buckets: [] }
    const args: Array<string | number> = [requests.length]
    for (const { key } of requests) args.push(this.prefix + key)
    args.push(now)
    for (const { policy } of requests) args.push(capacityOf(policy), ratePerMs(policy))
    const decision = await new Promise<Decision | null>((resolve) => {
      const entry: Pending = {
        startedAt: Date.now(),
        settle: (value) => {
          if (this.pending.delete(entry)) resolve(value)
        },
      }
      this.pending.add(entry)
      this.redis.rateLimitTake!(...args).then(
        ([allowed, ...levels]) =>
          entry.settle({
            allowed: allowed === 1,
            buckets: requests.map(({ policy }, i) => stateOf(policy, Number(levels[i]))),
          }),
        (error) => {
          this.onFallback(error)
          entry.settle(null)
        },
      )
    })
    return decision ?? this.fallback.takeSync(requests, now)
  }

  /** Lets requests that waited too long for Redis go on with the memory limiter. */
  private expire(): void {
    const limit = Date.now() - PATIENCE_MS
    let expired = 0
    for (const entry of this.pending) {
      if (entry.startedAt > limit) continue
      expired++
      entry.settle(null)
    }
    if (expired > 0) this.onFallback(new Error(`Redis did not answer within ${PATIENCE_MS} ms`))
  }

  async close(): Promise<void> {
    clearInterval(this.watchdog)
    for (const entry of this.pending) entry.settle(null)
    await this.fallback.close()
  }
}
