// API keys: `sk_live_`/`sk_test_` + 40 base62 characters (~238 bits). Only the SHA-256 is
// stored; the key is shown once. A key cannot grant more than its creator holds, nor a
// rate-limit tier above its workspace's. Rotation issues a new key and lets the old one work
// until the end of the grace period; revocation is immediate on every instance.
import type { Static } from 'typebox'
import {
  effectiveScopes,
  expandScopes,
  isTier,
  isValidScope,
  missingScope,
  type Principal,
  type PrincipalWorkspace,
  type Scope,
  type Tier,
  tierRank,
} from '../../platform/auth/index.ts'
import type { Executor } from '../../platform/db/index.ts'
import type { Deps } from '../../platform/deps.ts'
import { ApiError } from '../../platform/http/errors.ts'
import { type ListQuery, type Page, selectFields, toPage } from '../../platform/http/list.ts'
import { isoSeconds } from '../../platform/lib/clock.ts'
import { sha256Hex } from '../../platform/lib/hash.ts'
import { randomBase62 } from '../../platform/lib/random.ts'
import type { EntitlementService } from '../entitlements/index.ts'
import { usersById } from '../users/index.ts'
import type { ApiKeyCreate, ApiKeyRotate } from './schemas.ts'
import {
  type ApiKeyRow,
  endKey,
  findKey,
  findKeyForAuth,
  insertKey,
  isHeldKey,
  type KeyOwner,
  listKeys,
  lockUnrevokedKey,
  revokeKey,
  successorOf,
  writeLastUsed,
} from './store.ts'
import type { RevokedBy } from './tables.ts'

const DEFAULT_SCOPES = ['read', 'write'] as const
const SECRET_LENGTH = 40
const PREFIX_LENGTH = 4 // random characters kept visible after `sk_live_`
const HOUR = 3_600_000
const OWN_KEYS_ONLY: ReadonlySet<string> = new Set(['api-keys'])

export type Environment = 'live' | 'test'

/** A new secret and what is stored of it. */
export function generateKey(environment: Environment) {
  const key = `sk_${environment}_${randomBase62(SECRET_LENGTH)}`
  return { key, hash: sha256Hex(key), prefix: key.slice(0, 8 + PREFIX_LENGTH) }
}

function environmentOf(row: ApiKeyRow): Environment {
  return row.prefix.startsWith('sk_test_') ? 'test' : 'live'
}

/** The audit record of who revoked a key. */
function revoker(principal: Principal): RevokedBy {
  return { type: principal.type, key_id: principal.key?.id ?? null, user_id: principal.user?.id ?? null }
}

/** Buffers `last_used_at` in memory and writes it in batches, off the request path. */
export class UsageRecorder {
  private pending = new Map<number, number>()
  private readonly latest = new Map<number, number>()
  private timer: NodeJS.Timeout | null = null

  private readonly deps: Deps
  private readonly onError: (error: unknown) => void

  constructor(deps: Deps, onError: (error: unknown) => void) {
    this.deps = deps
    this.onError = onError
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.deps.config.lastUsedFlushSeconds * 1000)
    this.timer.unref()
  }

  record(keyId: number, at: number): void {
    this.pending.set(keyId, at)
    this.latest.set(keyId, at)
  }

  /** The newest use this instance has seen, written or not. */
  lastUsed(keyId: number): number | undefined {
    return this.latest.get(keyId)
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return
    const batch = this.pending
    this.pending = new Map()
    try {
      await writeLastUsed(this.deps.db, batch)
      for (const [id, at] of batch) if (this.latest.get(id) === at) this.latest.delete(id)
    } catch (error) {
      for (const [id, at] of batch) if (!this.pending.has(id)) this.pending.set(id, at)
      this.onError(error)
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    await this.flush()
  }
}

/**
 * When the calling API key stops working, if it ever does: a key never mints a key that
 * outlives it. Null for keys without expiry and for the other credentials (a dashboard
 * session or the master key makes keys that outlive it by design).
 */
function expiryOfCallingKey(principal: Principal): number | null {
  return principal.type === 'api_key' ? principal.expiresAt : null
}

/**
 * Whose keys the caller manages: every key of the workspace, or — for a member's credential,
 * or a key a member made — only the keys its user made. Another user's key then does not
 * exist for it (404), as another tenant's does not.
 */
function keyOwner(principal: Principal, workspace: PrincipalWorkspace): KeyOwner {
  return workspace.ownOnly?.has('api-keys') ? (principal.user?.id ?? 0) : null
}

/** The 403 for a scope the caller cannot hand out, naming it (and the role that lacks it). */
function beyondCaller(what: string, scope: Scope, principal: Principal, workspace: PrincipalWorkspace) {
  const byRole =
    workspace.role && principal.granted.has(scope)
      ? ` (not granted to the ${workspace.role} role in this workspace)`
      : ''
  return new ApiError('access_denied', `Insufficient permissions. ${what}: ${scope}${byRole}`)
}

function earliest(expiresAt: Date | null, cap: number | null): Date | null {
  if (cap === null) return expiresAt
  return expiresAt !== null && expiresAt.getTime() <= cap ? expiresAt : new Date(cap)
}

export class ApiKeyService {
  private readonly deps: Deps
  private readonly entitlements: EntitlementService
  readonly usage: UsageRecorder

  constructor(deps: Deps, entitlements: EntitlementService, usage: UsageRecorder) {
    this.deps = deps
    this.entitlements = entitlements
    this.usage = usage
  }

  /**
   * A key as the API shows it. `rate_limit_tier` is the effective tier: a key created without
   * one follows its workspace's, so it shows the workspace's current tier.
   */
  private toOut(row: ApiKeyRow, workspace: PrincipalWorkspace) {
    const used = Math.max(row.lastUsedAt?.getTime() ?? 0, this.usage.lastUsed(row.id) ?? 0)
    const expired = row.expiresAt !== null && row.expiresAt.getTime() <= this.deps.clock.now()
    return {
      id: row.id,
      name: row.name,
      prefix: row.prefix,
      environment: environmentOf(row),
      scopes: row.scopes,
      rate_limit_tier: row.rateLimitTier ?? workspace.tier,
      status:
        row.revokedAt !== null ? ('revoked' as const) : expired ? ('expired' as const) : ('active' as const),
      last_used_at: used > 0 ? isoSeconds(used) : null,
      expires_at: isoSeconds(row.expiresAt),
      created_at: isoSeconds(row.createdAt)!,
      revoked_at: isoSeconds(row.revokedAt),
      revoked_by: row.revokedBy ?? null,
    }
  }

  /** What a creation or rotation shows of the new key (and its event): no usage, no status. */
  private summary(row: ApiKeyRow, workspace: PrincipalWorkspace) {
    const {
      status: _s,
      last_used_at: _u,
      revoked_at: _r,
      revoked_by: _b,
      ...out
    } = this.toOut(row, workspace)
    return out
  }

  async list(
    principal: Principal,
    workspace: PrincipalWorkspace,
    query: ListQuery,
    url: URL,
  ): Promise<Page<Record<string, unknown>>> {
    const { db, clock } = this.deps
    const owner = keyOwner(principal, workspace)
    const { rows, total } = await listKeys(db, workspace.id, owner, query, new Date(clock.now()))
    const people = query.include.has('user')
      ? await usersById(
          db,
          rows.map((r) => r.userId),
        )
      : null
    const items = rows.map((row) => {
      const out: Record<string, unknown> = this.toOut(row, workspace)
      if (people) out.user = row.userId === null ? null : (people.get(row.userId) ?? null)
      return selectFields(out, query.fields)
    })
    return toPage(items, total, query, url)
  }

  async get(principal: Principal, workspace: PrincipalWorkspace, id: number, include: ReadonlySet<string>) {
    const row = await findKey(this.deps.db, workspace.id, keyOwner(principal, workspace), id)
    if (!row) throw ApiError.notFound('API key')
    const out: Record<string, unknown> = this.toOut(row, workspace)
    if (include.has('user')) {
      out.user =
        row.userId === null ? null : ((await usersById(this.deps.db, [row.userId])).get(row.userId) ?? null)
    }
    return out
  }

  async create(principal: Principal, workspace: PrincipalWorkspace, body: Static<typeof ApiKeyCreate>) {
    const { db, clock } = this.deps
    const scopes = body.scopes ?? [...DEFAULT_SCOPES]
    const invalid = scopes.filter((s) => !isValidScope(s))
    if (invalid.length > 0) {
      throw new ApiError('validation_failed', undefined, {
        errors: {
          scopes: invalid.map((s) => `Unknown scope "${s}". Use resource:action, such as posts:read.`),
        },
      })
    }
    // Within what the caller may do here: a user's credential is narrowed by the user's role.
    const beyond = missingScope(scopes, effectiveScopes(principal, workspace))
    if (beyond)
      throw beyondCaller('A key cannot grant a scope its creator lacks', beyond, principal, workspace)
    const tier = body.rate_limit_tier ?? null
    if (tier !== null && principal.type !== 'master_key' && tierRank(tier) > tierRank(workspace.tier)) {
      throw ApiError.invalid(
        'rate_limit_tier',
        `The rate_limit_tier field must not exceed the workspace tier (${workspace.tier}).`,
      )
    }
    const creatorEnds = expiryOfCallingKey(principal)
    let expiresAt: Date | null = creatorEnds === null ? null : new Date(creatorEnds)
    if (body.expires_at) {
      expiresAt = new Date(body.expires_at)
      if (expiresAt.getTime() <= clock.now())
        throw ApiError.invalid('expires_at', 'The expires_at field must be in the future.')
      if (creatorEnds !== null && expiresAt.getTime() > creatorEnds) {
        throw ApiError.invalid(
          'expires_at',
          `The expires_at field must not be later than the calling key's own expiry (${isoSeconds(creatorEnds)}).`,
        )
      }
    }
    const secret = generateKey(body.environment ?? 'live')
    const now = new Date(clock.now())
    const row = await db.transaction(async (tx) => {
      await this.entitlements.reserve(tx, workspace, 'api_keys')
      const created = await insertKey(tx, {
        workspaceId: workspace.id,
        userId: principal.user?.id ?? null,
        name: body.name.trim(),
        prefix: secret.prefix,
        keyHash: secret.hash,
        scopes,
        rateLimitTier: tier,
        expiresAt,
        ownKeysOnly: keyOwner(principal, workspace) !== null,
        createdAt: now,
        updatedAt: now,
      })
      const data = this.summary(created, workspace)
      await this.deps.events.emit(tx, { workspaceId: workspace.id, type: 'api_key.created', data })
      return created
    })
    return this.created(row, secret.key, workspace)
  }

  private created(row: ApiKeyRow, key: string, workspace: PrincipalWorkspace) {
    return { ...this.summary(row, workspace), key }
  }

  async rotate(
    principal: Principal,
    workspace: PrincipalWorkspace,
    id: number,
    body: Static<typeof ApiKeyRotate>,
  ) {
    const { db, clock, credentials } = this.deps
    const graceHours = body.grace_period_hours ?? 24
    const allowed = effectiveScopes(principal, workspace)
    // No grace revokes the old key at once: that is deleting it, and needs the scope to.
    if (graceHours === 0) {
      const missing = missingScope(['api-keys:delete'], allowed)
      if (missing) {
        throw new ApiError(
          'access_denied',
          `Insufficient permissions. Required scope: ${missing} (grace_period_hours 0 revokes the old key at once).`,
        )
      }
    }
    const creatorEnds = expiryOfCallingKey(principal)
    const now = clock.now()
    const result = await db.transaction(async (tx) => {
      const old = await lockUnrevokedKey(tx, workspace.id, keyOwner(principal, workspace), id)
      if (!old) throw ApiError.notFound('API key')
      // Rotating hands out a new secret with the old key's scopes: the same rule as creating one,
      // or a key with only api-keys:write could mint itself an admin secret.
      const beyond = missingScope(old.scopes, allowed)
      if (beyond)
        throw beyondCaller('A key cannot rotate a key with a scope it lacks', beyond, principal, workspace)
      if (old.expiresAt !== null && old.expiresAt.getTime() <= now) {
        throw new ApiError('conflict', 'This API key has expired and cannot be rotated; create a new key.')
      }
      const successor = await successorOf(tx, workspace.id, old.id)
      if (successor !== null) {
        throw new ApiError(
          'conflict',
          `This API key was already rotated; rotate its replacement (id ${successor}).`,
        )
      }
      const graceEnd = now + graceHours * HOUR
      const secret = generateKey(environmentOf(old))
      const fresh = await insertKey(tx, {
        workspaceId: old.workspaceId,
        userId: old.userId,
        name: old.name,
        prefix: secret.prefix,
        keyHash: secret.hash,
        scopes: old.scopes,
        rateLimitTier: old.rateLimitTier,
        expiresAt: earliest(old.expiresAt, creatorEnds),
        rotatedFromId: old.id,
        ownKeysOnly: old.ownKeysOnly,
        createdAt: new Date(now),
        updatedAt: new Date(now),
      })
      const oldEnds = old.expiresAt === null ? graceEnd : Math.min(old.expiresAt.getTime(), graceEnd)
      await endKey(
        tx,
        workspace.id,
        old.id,
        graceHours === 0
          ? { revokedAt: new Date(now), revokedBy: revoker(principal) }
          : { expiresAt: new Date(oldEnds) },
        new Date(now),
      )
      const ends = graceHours === 0 ? now : oldEnds
      await this.deps.events.emit(tx, {
        workspaceId: workspace.id,
        type: 'api_key.rotated',
        data: {
          id: fresh.id,
          name: fresh.name,
          prefix: fresh.prefix,
          rotated_from_id: old.id,
          grace_period_ends_at: isoSeconds(ends),
        },
      })
      return { fresh, key: secret.key, oldEnds: ends }
    })
    await credentials.invalidateKey(id) // every instance reloads the old key's new expiry
    return {
      ...this.created(result.fresh, result.key, workspace),
      rotated_from_id: id,
      grace_period_ends_at: isoSeconds(result.oldEnds)!,
    }
  }

  /** Revokes a key at once; a key already revoked keeps its record and answers 409. */
  async revoke(principal: Principal, workspace: PrincipalWorkspace, id: number): Promise<void> {
    const { db, clock, credentials } = this.deps
    await db.transaction(async (tx) => {
      const now = new Date(clock.now())
      const owner = keyOwner(principal, workspace)
      const revoked = await revokeKey(tx, workspace.id, owner, id, revoker(principal), now)
      if (!revoked) {
        if (await findKey(tx, workspace.id, owner, id))
          throw new ApiError('conflict', 'This API key is already revoked.')
        throw ApiError.notFound('API key')
      }
      const { rotatedFromId: _, ...data } = revoked
      const released = await this.heldChange(tx, workspace, revoked)
      if (released !== 0) await this.entitlements.release(tx, workspace, 'api_keys', released)
      await this.deps.events.emit(tx, { workspaceId: workspace.id, type: 'api_key.revoked', data })
    })
    await credentials.invalidateKey(id)
  }

  /**
   * How many fewer keys the workspace holds (`countHeldKeys`) after a revocation, in its
   * transaction: the key, unless a rotation had replaced it already; less its predecessor, held
   * again when the key that replaced it during its grace period is revoked.
   */
  private async heldChange(
    tx: Executor,
    workspace: PrincipalWorkspace,
    revoked: { id: number; rotatedFromId: number | null },
  ): Promise<number> {
    const wasHeld = (await successorOf(tx, workspace.id, revoked.id)) === null
    const heldAgain =
      revoked.rotatedFromId !== null && (await isHeldKey(tx, workspace.id, revoked.rotatedFromId))
    return (wasHeld ? 1 : 0) - (heldAgain ? 1 : 0)
  }

  /** The principal of a live key, for the auth platform. */
  async principalFor(hash: string): Promise<Principal | null> {
    const found = await findKeyForAuth(this.deps.db, hash)
    if (!found) return null
    const { key, workspace, user } = found
    const tier = key.rateLimitTier
    return {
      type: 'api_key',
      user,
      workspace: {
        ...workspace,
        tier: workspace.tier as Tier,
        ...(key.ownKeysOnly && { ownOnly: OWN_KEYS_ONLY }),
      },
      key: { id: key.id, name: key.name, prefix: key.prefix },
      scopes: key.scopes,
      granted: expandScopes(key.scopes),
      rateLimitTier: isTier(tier) ? tier : null,
      expiresAt: key.expiresAt?.getTime() ?? null,
    }
  }
}
