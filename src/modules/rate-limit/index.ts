// Rate-limit module (seed 004 "Rate Limits", seed 002's three buckets): token buckets per
// credential, workspace and client IP, plus failed-authentication buckets and the per-IP
// budgets that routes declare for themselves (`config.rateLimit`, see RouteLimit). The
// strictest bucket decides and is described by the headers; a refused request takes from none.
// Every route is metered but those marked `config.unmetered`. Shared through Redis when
// REDIS_URL is set.
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Redis } from 'ioredis'
import { Counter } from 'prom-client'
import type { RequestLimiter } from '../../platform/auth/index.ts'
import type { Config } from '../../platform/config/index.ts'
import { ApiError } from '../../platform/http/errors.ts'
import type { Clock } from '../../platform/lib/clock.ts'
import { isoSeconds } from '../../platform/lib/clock.ts'
import type { Metrics } from '../../platform/metrics.ts'
import { type BucketRequest, type BucketState, type Decision, strictest } from './bucket.ts'
import { type Limiter, MemoryLimiter } from './memory-limiter.ts'
import { Policies, type RouteLimit } from './policies.ts'
import { RedisLimiter } from './redis-limiter.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * A per-IP budget of the route's own, on top of the usual buckets: the module that owns the
     * route declares it (`{ name: 'pixel', limit: 300, windowMs: 60_000 }`). Routes that share a
     * name share the bucket. Create it once (not per request): its headers are cached by identity.
     */
    rateLimit?: RouteLimit
  }
}

export type RateLimitDeps = {
  config: Config
  clock: Clock
  metrics: Metrics
  redis: Redis | null
  warn: (message: string, error: unknown) => void
}

const WARN_EVERY_MS = 10_000

export function createLimiter(deps: RateLimitDeps): Limiter {
  if (!deps.redis) return new MemoryLimiter()
  const fallbacks = new Counter({
    name: 'core_api_rate_limit_fallbacks_total',
    help: 'Requests rate-limited in memory because Redis did not answer',
    registers: [deps.metrics.registry],
  })
  let lastWarning = 0
  return new RedisLimiter(deps.redis, `${deps.config.redisPrefix}rl:`, (error) => {
    fallbacks.inc()
    const now = Date.now()
    if (now - lastWarning > WARN_EVERY_MS) {
      lastWarning = now
      deps.warn('Redis did not answer: rate limits are applied per instance until it does', error)
    }
  })
}

const described = new WeakMap<BucketState['policy'], string>()

/** A bucket's entry in RateLimit-Policy (computed once per policy). */
function describe(policy: BucketState['policy']): string {
  let text = described.get(policy)
  if (text === undefined) {
    const { name, limit, windowMs, burst } = policy
    text = `"${name}";q=${limit};w=${windowMs / 1000}${burst > 0 ? `;burst=${Math.floor(limit * burst)}` : ''}`
    described.set(policy, text)
  }
  return text
}

// The bucket lists of cached principals are reused (see Policies), so is their policy header.
const policyHeaders = new WeakMap<readonly BucketRequest[], string>()

function policyHeader(buckets: readonly BucketRequest[]): string {
  // A request's own list (per-IP buckets, built for each request) is not worth remembering.
  if (buckets.length === 1) return describe(buckets[0]!.policy)
  let text = policyHeaders.get(buckets)
  if (text === undefined) {
    text = buckets.map((b) => describe(b.policy)).join(', ')
    policyHeaders.set(buckets, text)
  }
  return text
}

// Header values are given as strings: Node serialises a number header noticeably slower, and
// on the auth path these five headers are a measurable share of the response's cost.
function setHeaders(
  reply: FastifyReply,
  buckets: readonly BucketRequest[],
  decision: Decision,
  now: number,
): BucketState | null {
  const top = strictest(decision)
  if (!top) return null
  const remaining = String(top.remaining)
  reply.header('x-ratelimit-limit', String(top.policy.limit))
  reply.header('x-ratelimit-remaining', remaining)
  reply.header('x-ratelimit-reset', String(Math.ceil((now + top.resetMs) / 1000)))
  reply.header('ratelimit-policy', policyHeader(buckets))
  reply.header('ratelimit', `"${top.policy.name}";r=${remaining};t=${Math.ceil(top.resetMs / 1000)}`)
  return top
}

function tooManyRequests(decision: Decision, now: number): ApiError {
  const empty = decision.buckets.filter((b) => b.remaining < 1)
  const blocking = empty.reduce((a, b) => (b.retryAfterMs > a.retryAfterMs ? b : a), empty[0]!)
  const retryAfter = Math.max(1, Math.ceil(blocking.retryAfterMs / 1000))
  return new ApiError(
    'rate_limit_exceeded',
    `Too many requests. Please retry after ${retryAfter} second${retryAfter === 1 ? '' : 's'}.`,
    {
      retry_after: retryAfter,
      limit: blocking.policy.limit,
      remaining: 0,
      reset_at: isoSeconds(now + blocking.resetMs),
      policy: blocking.policy.name,
    },
    { 'retry-after': String(retryAfter) },
  )
}

/** The guard the auth platform runs after authentication (see RequestLimiter). */
export function createRequestLimiter(deps: RateLimitDeps, limiter: Limiter): RequestLimiter {
  const policies = new Policies(deps.config)
  const rateLimited = new Counter({
    name: 'core_api_rate_limited_total',
    help: 'Requests refused with 429, by policy',
    labelNames: ['policy'],
    registers: [deps.metrics.registry],
  })
  return function applyRateLimits(req: FastifyRequest, reply: FastifyReply, refusal: ApiError | null) {
    const buckets = policies.bucketsFor({
      ip: req.ip,
      principal: req.principal,
      workspace: req.workspace,
      route: req.routeOptions.config.rateLimit ?? null,
      refused: refusal === null ? null : refusal.code === 'unauthorized' ? 'unauthenticated' : 'forbidden',
    })
    if (buckets.length === 0) return undefined
    const now = deps.clock.now()
    // The memory limiter answers synchronously: no promise on the hot path.
    const decision = limiter.take(buckets, now)
    if (decision instanceof Promise) return decision.then((d) => applyDecision(reply, buckets, d, now))
    applyDecision(reply, buckets, decision, now)
    return undefined
  }

  /** Describes the decision in the headers; throws the 429 when it refuses the request. */
  function applyDecision(
    reply: FastifyReply,
    buckets: readonly BucketRequest[],
    decision: Decision,
    now: number,
  ) {
    setHeaders(reply, buckets, decision, now)
    if (decision.allowed) return
    const error = tooManyRequests(decision, now)
    rateLimited.inc({ policy: String(error.extra?.policy) })
    throw error
  }
}

export type { RouteLimit } from './policies.ts'
export type { Limiter }
