// The limiter shared by every instance: one Lua script reads all of a request's buckets,
// admits only if each has a token, and takes from all of them — one round trip, atomic.
// If Redis cannot answer quickly, the request is decided by this instance's memory limiter
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

export class RedisLimiter implements Limiter {
  private readonly redis: Redis & { rateLimitTake?: TakeCommand }
  private readonly prefix: string
  private readonly fallback = new MemoryLimiter()
  private readonly onFallback: (error: unknown) => void

  constructor(redis: Redis, prefix: string, onFallback: (error: unknown) => void) {
    this.redis = redis
    this.prefix = prefix
    this.onFallback = onFallback
    if (!this.redis.rateLimitTake) this.redis.defineCommand('rateLimitTake', { lua: TAKE })
  }

  async take(requests: readonly BucketRequest[], now: number): Promise<Decision> {
    if (requests.length === 0) return { allowed: true, buckets: [] }
    const args: Array<string | number> = [requests.length]
    for (const { key } of requests) args.push(this.prefix + key)
    args.push(now)
    for (const { policy } of requests) args.push(capacityOf(policy), ratePerMs(policy))
    try {
      const [allowed, ...levels] = await this.redis.rateLimitTake!(...args)
      return {
        allowed: allowed === 1,
        buckets: requests.map(({ policy }, i) => stateOf(policy, Number(levels[i]))),
      }
    } catch (error) {
      this.onFallback(error)
      return this.fallback.takeSync(requests, now)
    }
  }

  async close(): Promise<void> {
    await this.fallback.close()
  }
}
