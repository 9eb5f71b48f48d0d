// The principal is who is calling: the credential type, the user and workspace behind it and
// what it may do. It is built once per credential and cached, so a request only reads it.
import type { Scope } from './scopes.ts'

type CredentialType = 'api_key' | 'oauth_token' | 'session' | 'master_key'

/** Roles of a user in a workspace (a membership); what each allows is the workspaces module's rule. */
export const ROLES = ['owner', 'admin', 'member'] as const
export type Role = (typeof ROLES)[number]

export const TIERS = ['free', 'starter', 'pro', 'agency', 'enterprise'] as const
export type Tier = (typeof TIERS)[number]

export type PrincipalUser = { id: number; email: string; name: string | null }
export type PrincipalWorkspace = {
  id: number
  name: string
  slug: string
  tier: Tier
  /** A user-level credential's role in this workspace (its membership). */
  role?: Role
  /** What that role allows here; the credential's own scopes still apply on top. */
  granted?: ReadonlySet<Scope>
  /**
   * Resources whose records this credential manages only where they are its user's own (a
   * member's keys): the owning module filters on the record's user, so another user's record
   * does not exist for it (404).
   */
  ownOnly?: ReadonlySet<string>
}

export interface Principal {
  readonly type: CredentialType
  readonly user: PrincipalUser | null
  /** The workspace a key belongs to; null for user-level credentials and the master key. */
  readonly workspace: PrincipalWorkspace | null
  readonly key: { id: number; name: string; prefix: string } | null
  /** The scopes as granted, for display. */
  readonly scopes: readonly string[]
  /** Every concrete scope the credential grants. */
  readonly granted: ReadonlySet<Scope>
  /** The key's own rate-limit tier; null inherits the workspace's. */
  readonly rateLimitTier: Tier | null
  /** Epoch ms after which the credential stops working (expiry or end of a rotation grace). */
  readonly expiresAt: number | null
  /** The OAuth client (`client_id`) an OAuth token was issued to, so a change to the app reaches it. */
  readonly client?: string
}

// Both sets outlive a request (a principal in the credential cache, a role's grant), so what
// they make together is worked out once per pair, not on every call.
const narrowed = new WeakMap<ReadonlySet<Scope>, WeakMap<ReadonlySet<Scope>, ReadonlySet<Scope>>>()
const listed = new WeakMap<ReadonlySet<Scope>, Scope[]>()

/**
 * What a credential may do in the workspace it acts in: its own scopes, narrowed by its user's
 * role there when it is a user-level credential. A key made by a credential can never hold more.
 */
export function effectiveScopes(
  principal: Principal,
  workspace: PrincipalWorkspace | null,
): ReadonlySet<Scope> {
  const role = workspace?.granted
  if (!role) return principal.granted
  let byRole = narrowed.get(principal.granted)
  if (!byRole) {
    byRole = new WeakMap()
    narrowed.set(principal.granted, byRole)
  }
  let scopes = byRole.get(role)
  if (!scopes) {
    scopes = new Set([...principal.granted].filter((scope) => role.has(scope)))
    byRole.set(role, scopes)
  }
  return scopes
}

/** A set of scopes in order, as answers list them: remembered per set, and frozen. */
export function scopeList(scopes: ReadonlySet<Scope>): Scope[] {
  let list = listed.get(scopes)
  if (!list) {
    list = Object.freeze([...scopes].sort()) as Scope[]
    listed.set(scopes, list)
  }
  return list
}

export function isTier(value: unknown): value is Tier {
  return typeof value === 'string' && (TIERS as readonly string[]).includes(value)
}

export function tierRank(tier: Tier): number {
  return TIERS.indexOf(tier)
}
