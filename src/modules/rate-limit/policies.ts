// Which buckets a request draws from. The tier table is the reference's; the other budgets
// come from the config. A request with a key draws from the key's bucket (the key's tier, or
// its workspace's), the workspace's bucket (all its keys together, the workspace's tier) and
// the client IP's; the master key only from the IP's. Some routes add a per-IP bucket of
// their own, and failed authentications draw from one more.
import type { Principal, PrincipalWorkspace, Tier } from '../../platform/auth/index.ts'
import type { Config } from '../../platform/config/index.ts'
import type { BucketRequest, Policy } from './bucket.ts'

const MINUTE = 60_000

/** Requests per minute and burst allowance of each tier (seed 004 "Rate Limits"). */
export const TIER_LIMITS: Readonly<Record<Tier, { perMinute: number; burst: number }>> = {
  free: { perMinute: 60, burst: 0 },
  starter: { perMinute: 1_000, burst: 0.2 },
  pro: { perMinute: 5_000, burst: 0.3 },
  agency: { perMinute: 20_000, burst: 0.5 },
  enterprise: { perMinute: 100_000, burst: 1 },
}

function tierPolicy(name: string, tier: Tier): Policy {
  const { perMinute, burst } = TIER_LIMITS[tier] ?? TIER_LIMITS.free
  return { name, limit: perMinute, windowMs: MINUTE, burst }
}

/** A per-IP budget a route declares for itself (no burst): `limit` requests per `windowMs`. */
export type RouteLimit = Readonly<{ name: string; limit: number; windowMs: number }>

function routePolicy(limit: RouteLimit): Policy {
  return { name: limit.name, limit: limit.limit, windowMs: limit.windowMs, burst: 0 }
}

export class Policies {
  private readonly ip: Policy | null
  private readonly routes = new WeakMap<RouteLimit, Policy>()
  private readonly authFailures: Policy | null
  private readonly tiers = new Map<string, Policy>()
  private readonly ofPrincipal = new WeakMap<Principal, BucketRequest[]>()

  constructor(config: Config) {
    const perIp = (name: string, limit: number, windowMs: number) =>
      limit > 0 ? { name, limit, windowMs, burst: 0 } : null
    this.ip = perIp('ip', config.rateLimitIpPerHour, 60 * MINUTE)
    this.authFailures = perIp('auth-failures', config.rateLimitAuthFailuresPerMinute, MINUTE)
  }

  private tier(name: 'key' | 'workspace', tier: Tier): Policy {
    const id = `${name}:${tier}`
    let policy = this.tiers.get(id)
    if (!policy) {
      policy = tierPolicy(name, tier)
      this.tiers.set(id, policy)
    }
    return policy
  }

  private routePolicy(limit: RouteLimit): Policy {
    let policy = this.routes.get(limit)
    if (!policy) {
      policy = routePolicy(limit)
      this.routes.set(limit, policy)
    }
    return policy
  }

  /** The buckets of a request; `refused` is true when authentication or authorization failed. */
  bucketsFor(input: {
    ip: string
    principal: Principal | null
    workspace: PrincipalWorkspace | null
    route: RouteLimit | null
    refused: 'unauthenticated' | 'forbidden' | null
  }): BucketRequest[] {
    const out: BucketRequest[] = []
    if (this.ip) out.push({ key: `ip:${input.ip}`, policy: this.ip })
    if (input.route && input.route.limit > 0) {
      const route = this.routePolicy(input.route)
      out.push({ key: `${route.name}:${input.ip}`, policy: route })
    }
    if (input.refused === 'unauthenticated' && this.authFailures) {
      out.push({ key: `auth-failures:${input.ip}`, policy: this.authFailures })
    }
    const { principal } = input
    if (input.refused || !principal || principal.type === 'master_key') return out
    if (principal.workspace) {
      // A key's buckets never change while its principal is cached: work them out once.
      let own = this.ofPrincipal.get(principal)
      if (!own) {
        own = this.credentialBuckets(principal, principal.workspace)
        this.ofPrincipal.set(principal, own)
      }
      return out.length === 0 ? own : [...out, ...own]
    }
    if (input.workspace) out.push(...this.credentialBuckets(principal, input.workspace))
    return out
  }

  private credentialBuckets(principal: Principal, home: PrincipalWorkspace): BucketRequest[] {
    const out: BucketRequest[] = []
    if (principal.key && principal.workspace) {
      const tier = principal.rateLimitTier ?? principal.workspace.tier
      out.push({ key: `key:${principal.key.id}`, policy: this.tier('key', tier) })
    }
    out.push({ key: `workspace:${home.id}`, policy: this.tier('workspace', home.tier) })
    return out
  }
}
