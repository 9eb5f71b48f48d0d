// The limiter shared by every instance. Each request waits for exactly one round trip, however
// many buckets it draws from: the requests an instance receives in one turn of its event loop
// travel together in one call of a Lua script, which decides them one after the other, each
// atomically (every bucket checked, then a token taken from all or none) — the same arithmetic
// as the memory limiter. Every bucket of the batch is read with one MGET, and a bucket shared
// by several requests (their workspace's) is written once: little work for Redis per request.
// If Redis cannot answer within 250 ms, the requests are decided by this instance's memory
// limiter instead (logged and counted), never failed; Redis is used again as soon as it answers.
import type { Redis } from 'ioredis'
import { TurnBatcher } from '../../platform/lib/batcher.ts'
import { type BucketRequest, capacityOf, type Decision, ratePerMs, stateOf } from './bucket.ts'
import { type Limiter, MemoryLimiter } from './memory-limiter.ts'

// KEYS: the distinct buckets of the batch. ARGV[1]: now (ms); ARGV[2]: the number of requests;
// then per request its number of buckets, and per bucket its KEYS index, capacity and refill
// rate (tokens/ms). A bucket is the string "<tokens>:<updated at>", read for the whole batch
// with one MGET and written once, expiring when it would be full again. Its time never moves
// back: instances' clocks differ by a few ms, and a write stamped with a late clock would let
// the next take on an early one count the same refill twice. Returns, per request, 1 or 0
// (admitted) and the tokens left in each of its buckets.
const TAKE_BATCH = `
local now = tonumber(ARGV[1])
local stored = redis.call('MGET', unpack(KEYS))
local level, cap, rate, stamp, touched = {}, {}, {}, {}, {}
local out = {}
local a = 3
for _ = 1, tonumber(ARGV[2]) do
  local n = tonumber(ARGV[a])
  local first = a + 1
  local allowed = 1
  for b = 0, n - 1 do
    local at = first + 3 * b
    local k = tonumber(ARGV[at])
    if level[k] == nil then
      cap[k] = tonumber(ARGV[at + 1])
      rate[k] = tonumber(ARGV[at + 2])
      local state = stored[k]
      stamp[k] = now
      if state then
        local sep = string.find(state, ':', 1, true)
        local updated = tonumber(string.sub(state, sep + 1))
        level[k] = math.min(cap[k], tonumber(string.sub(state, 1, sep - 1)) + math.max(0, now - updated) * rate[k])
        stamp[k] = math.max(now, updated)
      else
        level[k] = cap[k]
      end
    end
    if level[k] < 1 then allowed = 0 end
  end
  out[#out + 1] = allowed
  for b = 0, n - 1 do
    local k = tonumber(ARGV[first + 3 * b])
    if allowed == 1 then
      level[k] = level[k] - 1
      touched[k] = true
    end
    out[#out + 1] = tostring(level[k])
  end
  a = first + 3 * n
end
for k in pairs(touched) do
  local ttl = math.ceil((cap[k] - level[k]) / rate[k]) + 1000
  redis.call('SET', KEYS[k], tostring(level[k]) .. ':' .. string.format('%d', stamp[k]), 'PX', ttl)
end
return out
`

type TakeBatch = (...args: Array<string | number>) => Promise<Array<number | string>>
type Take = { requests: readonly BucketRequest[]; now: number }

/** How long a request waits for Redis before this instance decides alone. */
const PATIENCE_MS = 250

export class RedisLimiter implements Limiter {
  private readonly redis: Redis & { rateLimitTakeBatch?: TakeBatch }
  private readonly prefix: string
  private readonly fallback = new MemoryLimiter()
  private readonly onFallback: (error: unknown) => void
  private readonly batcher = new TurnBatcher<Take, Decision>((takes) => this.decide(takes))
  private closed = false

  constructor(redis: Redis, prefix: string, onFallback: (error: unknown) => void) {
    this.redis = redis
    this.prefix = prefix
    this.onFallback = onFallback
    if (!this.redis.rateLimitTakeBatch) this.redis.defineCommand('rateLimitTakeBatch', { lua: TAKE_BATCH })
  }

  take(requests: readonly BucketRequest[], now: number): Promise<Decision> {
    if (requests.length === 0) return Promise.resolve({ allowed: true, buckets: [] })
    return this.batcher.add({ requests, now })
  }

  /** One script call for the batch; this instance's buckets if Redis fails or is too slow. */
  private decide(takes: Take[]): Promise<Decision[]> {
    if (this.closed) return Promise.resolve(this.decideLocally(takes))
    const keys = new Map<string, number>()
    const args: Array<string | number> = [0] // the number of KEYS, set below
    const argv: Array<string | number> = [0, takes.length] // now, set below
    let now = 0
    for (const take of takes) {
      now = Math.max(now, take.now)
      argv.push(take.requests.length)
      for (const { key, policy } of take.requests) {
        let index = keys.get(key)
        if (index === undefined) {
          index = keys.size + 1
          keys.set(key, index)
          args.push(this.prefix + key)
        }
        argv.push(index, capacityOf(policy), ratePerMs(policy))
      }
    }
    args[0] = keys.size
    argv[0] = now
    return new Promise((resolve) => {
      let settled = false
      const settle = (error: unknown, reply?: Array<number | string>) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        if (reply) return resolve(this.read(takes, reply))
        this.onFallback(error)
        resolve(this.decideLocally(takes))
      }
      const timer = setTimeout(
        () => settle(new Error(`Redis did not answer within ${PATIENCE_MS} ms`)),
        PATIENCE_MS,
      )
      this.redis.rateLimitTakeBatch!(...args, ...argv).then((reply) => settle(null, reply), settle)
    })
  }

  private read(takes: Take[], reply: Array<number | string>): Decision[] {
    let at = 0
    return takes.map(({ requests }) => {
      const allowed = reply[at++] === 1
      return { allowed, buckets: requests.map(({ policy }) => stateOf(policy, Number(reply[at++]))) }
    })
  }

  private decideLocally(takes: Take[]): Decision[] {
    return takes.map(({ requests, now }) => this.fallback.takeSync(requests, now))
  }

  async close(): Promise<void> {
    this.closed = true
    await this.fallback.close()
  }
}
