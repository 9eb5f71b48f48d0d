// The limiter shared by every instance. Each request waits for exactly one round trip, however
// many buckets it draws from: the requests an instance receives in one turn of its event loop
// travel together in one call of a Lua script, which decides them one after the other, each
// atomically (every bucket checked, then a token taken from all or none) — the same arithmetic
// as the memory limiter. A bucket shared by several requests of a batch (their workspace's) is
// read and written once per batch, which keeps Redis's work per request small.
// If Redis cannot answer within 250 ms, the requests are decided by this instance's memory
// limiter instead (logged and counted), never failed; Redis is used again as soon as it answers.
import type { Redis } from 'ioredis'
import { type BucketRequest, capacityOf, type Decision, ratePerMs, stateOf } from './bucket.ts'
import { type Limiter, MemoryLimiter } from './memory-limiter.ts'

// KEYS: the distinct buckets of the batch. ARGV[1]: now (ms); ARGV[2]: the number of requests;
// then per request its number of buckets, and per bucket its KEYS index, capacity and refill
// rate (tokens/ms). A bucket is a hash {t: tokens, u: updated at} that expires once it would be
// full again. Returns, per request, 1 or 0 (admitted) and the tokens left in each bucket.
const TAKE_BATCH = `
local now = tonumber(ARGV[1])
local level, cap, rate, touched = {}, {}, {}, {}
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
      local state = redis.call('HMGET', KEYS[k], 't', 'u')
      if state[1] then
        local elapsed = math.max(0, now - tonumber(state[2]))
        level[k] = math.min(cap[k], tonumber(state[1]) + elapsed * rate[k])
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
  redis.call('HSET', KEYS[k], 't', tostring(level[k]), 'u', ARGV[1])
  redis.call('PEXPIRE', KEYS[k], math.ceil((cap[k] - level[k]) / rate[k]) + 1000)
end
return out
`

type TakeBatch = (...args: Array<string | number>) => Promise<Array<number | string>>
type Waiting = { requests: readonly BucketRequest[]; now: number; resolve: (decision: Decision) => void }
type Batch = { startedAt: number; waiting: Waiting[] }

/** How long a request waits for Redis before this instance decides alone. */
const PATIENCE_MS = 250
/** The most requests one script call decides (a bigger backlog goes in several calls). */
const MAX_BATCH = 256

export class RedisLimiter implements Limiter {
  private readonly redis: Redis & { rateLimitTakeBatch?: TakeBatch }
  private readonly prefix: string
  private readonly fallback = new MemoryLimiter()
  private readonly onFallback: (error: unknown) => void
  private queue: Waiting[] = []
  private flushing: NodeJS.Immediate | null = null
  private readonly inFlight = new Set<Batch>()
  // One timer for all batches (a timer per call would cost more than the call).
  private readonly watchdog: NodeJS.Timeout

  constructor(redis: Redis, prefix: string, onFallback: (error: unknown) => void) {
    this.redis = redis
    this.prefix = prefix
    this.onFallback = onFallback
    if (!this.redis.rateLimitTakeBatch) this.redis.defineCommand('rateLimitTakeBatch', { lua: TAKE_BATCH })
    this.watchdog = setInterval(() => this.expire(), PATIENCE_MS / 2)
    this.watchdog.unref()
  }

  take(requests: readonly BucketRequest[], now: number): Promise<Decision> {
    if (requests.length === 0) return Promise.resolve({ allowed: true, buckets: [] })
    return new Promise((resolve) => {
      this.queue.push({ requests, now, resolve })
      // After the poll phase: every request read in this turn of the loop joins the batch.
      this.flushing ??= setImmediate(() => this.flush())
    })
  }

  private flush(): void {
    this.flushing = null
    const waiting = this.queue.length > MAX_BATCH ? this.queue.splice(0, MAX_BATCH) : this.queue
    if (waiting === this.queue) this.queue = []
    else this.flushing = setImmediate(() => this.flush())

    const keys = new Map<string, number>()
    const args: Array<string | number> = [0] // KEYS count, set below
    const argv: Array<string | number> = [0, waiting.length] // now, set below
    let now = 0
    for (const entry of waiting) {
      now = Math.max(now, entry.now)
      argv.push(entry.requests.length)
      for (const { key, policy } of entry.requests) {
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
    const batch: Batch = { startedAt: Date.now(), waiting }
    this.inFlight.add(batch)
    this.redis.rateLimitTakeBatch!(...args, ...argv).then(
      (reply) => {
        if (!this.inFlight.delete(batch)) return // already decided locally
        let at = 0
        for (const { requests, resolve } of waiting) {
          const allowed = reply[at++] === 1
          const buckets = requests.map(({ policy }) => stateOf(policy, Number(reply[at++])))
          resolve({ allowed, buckets })
        }
      },
      (error) => {
        if (!this.inFlight.delete(batch)) return
        this.onFallback(error)
        this.decideLocally(batch)
      },
    )
  }

  private decideLocally(batch: Batch): void {
    for (const { requests, now, resolve } of batch.waiting) resolve(this.fallback.takeSync(requests, now))
  }

  /** Lets requests that waited too long for Redis go on with the memory limiter. */
  private expire(): void {
    const limit = Date.now() - PATIENCE_MS
    let expired = 0
    for (const batch of this.inFlight) {
      if (batch.startedAt > limit) continue
      this.inFlight.delete(batch)
      expired += batch.waiting.length
      this.decideLocally(batch)
    }
    if (expired > 0) this.onFallback(new Error(`Redis did not answer within ${PATIENCE_MS} ms`))
  }

  async close(): Promise<void> {
    clearInterval(this.watchdog)
    if (this.flushing) clearImmediate(this.flushing)
    this.flushing = null
    for (const batch of this.inFlight) this.decideLocally(batch)
    this.inFlight.clear()
    this.decideLocally({ startedAt: 0, waiting: this.queue })
    this.queue = []
    await this.fallback.close()
  }
}
