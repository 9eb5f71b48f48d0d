// Sign-in, sign-out and the session credential. A session is an opaque random id in an
// HttpOnly cookie, stored only as its SHA-256; it ends after SESSION_IDLE_MINUTES without a
// request or SESSION_LIFETIME_HOURS after sign-in, whichever comes first, and at sign-out on
// every instance (the credential cache is told through pub/sub). Its anti-CSRF token is an
// HMAC of the session's hash, so it needs no storage and cannot be derived without the server's
// key. Failed sign-ins are counted per email in the database (shared by every instance): after
// SIGN_IN_MAX_FAILURES within SIGN_IN_LOCKOUT_MINUTES the email is locked for that long (429),
// whether or not a user has it, so the lockout tells nothing about which emails exist.
import { createHmac } from 'node:crypto'
import {
  type CredentialSource,
  expandScopes,
  type Principal,
  type PrincipalUser,
  type PrincipalWorkspace,
  type WorkspaceResolver,
} from '../../platform/auth/index.ts'
import type { Deps } from '../../platform/deps.ts'
import { ApiError } from '../../platform/http/errors.ts'
import { isoSeconds } from '../../platform/lib/clock.ts'
import { sha256Hex } from '../../platform/lib/hash.ts'
import { randomBase62 } from '../../platform/lib/random.ts'
import {
  checkPassword,
  findUserForSignIn,
  hashPassword,
  insertUser,
  setPassword,
  updatePasswordHash,
} from '../users/index.ts'
import { claimInvitation, findPendingInvitation, joinWorkspace } from '../workspaces/index.ts'
import { sessionSettings } from './settings.ts'
import {
  clearFailures,
  deleteOtherSessions,
  deleteSession,
  findLiveSession,
  insertSession,
  lockedUntil,
  purgeEndedSessions,
  recordFailure,
  touchSession,
} from './store.ts'

export const SESSION_COOKIE = 'core_api_session'
const SESSION_PREFIX = 'ses_'
/** last_seen_at is written at most this often per session. */
const TOUCH_EVERY_MS = 60_000
const ALL = ['*'] as const

export type SessionOut = {
  user: PrincipalUser
  workspace: Omit<PrincipalWorkspace, 'granted'> | null
  expires_at: string
  idle_expires_at: string
  csrf_token: string
}

type Known = { id: number; hash: string; lastSeenAt: number; expiresAt: number }

export class SessionService {
  private readonly deps: Deps
  private readonly csrfKey: string
  private readonly findWorkspace: WorkspaceResolver
  private readonly settings: ReturnType<typeof sessionSettings.from>
  /** What each loaded session principal is, for touching, sign-out and the session view. */
  private readonly known = new WeakMap<Principal, Known>()

  constructor(deps: Deps, options: { csrfKey: string; findWorkspace: WorkspaceResolver }) {
    this.deps = deps
    this.csrfKey = options.csrfKey
    this.findWorkspace = options.findWorkspace
    this.settings = sessionSettings.from(deps.config)
  }

  private get idleMs(): number {
    return this.settings.idleMinutes * 60_000
  }

  csrfToken(secret: string): string {
    return createHmac('sha256', this.csrfKey)
      .update(`csrf:${sha256Hex(secret)}`)
      .digest('base64url')
  }

  /** Sessions as a credential of the auth platform: read from the cookie only, never as a bearer. */
  credentialSource(): CredentialSource {
    return {
      prefixes: [],
      cookie: SESSION_COOKIE,
      find: (hash) => this.principalFor(hash),
      recordUse: (principal, at) => this.touch(principal, at),
      csrfToken: (secret) => this.csrfToken(secret),
    }
  }

  private async principalFor(hash: string): Promise<Principal | null> {
    const now = this.deps.clock.now()
    const row = await findLiveSession(this.deps.db, hash, new Date(now), new Date(now - this.idleMs))
    if (!row) return null
    const lastSeenAt = row.lastSeenAt.getTime()
    const expiresAt = row.expiresAt.getTime()
    const principal: Principal = {
      type: 'session',
      user: row.user,
      workspace: null,
      key: null,
      scopes: ALL,
      granted: expandScopes(ALL),
      rateLimitTier: null,
      expiresAt: Math.min(expiresAt, lastSeenAt + this.idleMs),
    }
    this.known.set(principal, { id: row.id, hash, lastSeenAt, expiresAt })
    return principal
  }

  private touch(principal: Principal, at: number): void {
    const session = this.known.get(principal)
    if (!session || at - session.lastSeenAt < TOUCH_EVERY_MS) return
    session.lastSeenAt = at
    touchSession(this.deps.db, session.id, new Date(at)).catch(() => {
      // A missed touch only shortens the idle window by a minute; the next request retries.
    })
  }

  /**
   * The user with this email and password, counting a failure against the email's lockout;
   * throws 401 for a wrong pair, 429 while the email is locked.
   */
  private async checkCredentials(email: string, password: string) {
    const { db, clock } = this.deps
    const now = clock.now()
    const normalized = email.trim().toLowerCase()
    const locked = await lockedUntil(db, normalized, new Date(now))
    if (locked) throw tooManyFailures(locked.getTime() - now)
    const user = await findUserForSignIn(db, normalized)
    const ok = await checkPassword(user?.passwordHash ?? null, password)
    if (!user || !ok) {
      const windowMs = this.settings.signInLockoutMinutes * 60_000
      const { signInMaxFailures: max } = this.settings
      const failures = await recordFailure(
        db,
        normalized,
        new Date(now),
        new Date(now - windowMs),
        max,
        new Date(now + windowMs),
      )
      if (failures >= max) throw tooManyFailures(windowMs)
      throw new ApiError('unauthorized', 'Invalid email or password.')
    }
    await clearFailures(db, normalized)
    return user
  }

  /** Signs in: a new session for the user with this email and password; throws 401 or 429. */
  async signIn(email: string, password: string): Promise<{ secret: string; session: SessionOut }> {
    return this.startSession(await this.checkCredentials(email, password))
  }

  /**
   * Accepts an invitation and signs the invitee in. The invitee proves who they are with a
   * password: a new account gets it (and `name`); an account without a password (an owner named
   * by the master key) gets it too; an account with one must give that one (checked as a
   * sign-in, with its lockout). The invitation is used up in the same transaction as the
   * membership, so it joins exactly once.
   */
  async acceptInvitation(
    token: string,
    password: string,
    name: string | undefined,
  ): Promise<{ secret: string; session: SessionOut }> {
    const { db, clock } = this.deps
    const hash = sha256Hex(token)
    const now = new Date(clock.now())
    const gone = () =>
      new ApiError('not_found', 'This invitation does not exist, was already used, or has expired.')
    const pending = await findPendingInvitation(db, hash, now)
    if (!pending) throw gone()
    const existing = await findUserForSignIn(db, pending.email)
    // An account with a password: the invitee proves it is theirs, as a sign-in does.
    if (existing?.passwordHash) await this.checkCredentials(pending.email, password)
    // Hashing takes tens of milliseconds: done before any row is locked.
    const passwordHash = existing?.passwordHash ? null : await hashPassword(password)
    const joined = await db.transaction(async (tx) => {
      const invitation = await claimInvitation(tx, hash, now)
      if (!invitation) throw gone()
      let user: PrincipalUser
      if (!existing) {
        const created = await insertUser(tx, {
          email: invitation.email,
          name: name?.trim() ?? null,
          passwordHash: passwordHash!,
        })
        if (!created)
          throw new ApiError('conflict', 'A user with this email was created meanwhile: accept again.')
        user = { id: created.id, email: created.email, name: created.name }
      } else {
        if (passwordHash !== null) await updatePasswordHash(tx, existing.id, passwordHash)
        user = { id: existing.id, email: existing.email, name: existing.name }
      }
      await joinWorkspace(tx, invitation.workspaceId, user.id, invitation.role)
      return user
    })
    return this.startSession(joined)
  }

  private async startSession(user: PrincipalUser): Promise<{ secret: string; session: SessionOut }> {
    const { db, clock } = this.deps
    const now = clock.now()
    const secret = `${SESSION_PREFIX}${randomBase62(43)}`
    const row = await insertSession(db, {
      tokenHash: sha256Hex(secret),
      userId: user.id,
      expiresAt: new Date(now + this.settings.lifetimeHours * 3_600_000),
      now: new Date(now),
    })
    const principal: Principal = {
      type: 'session',
      user: { id: user.id, email: user.email, name: user.name },
      workspace: null,
      key: null,
      scopes: ALL,
      granted: expandScopes(ALL),
      rateLimitTier: null,
      expiresAt: null,
    }
    this.known.set(principal, {
      id: row.id,
      hash: row.tokenHash,
      lastSeenAt: now,
      expiresAt: row.expiresAt.getTime(),
    })
    return { secret, session: await this.view(principal, null, secret) }
  }

  /** The session as `GET /api/auth/session` shows it; 401 for any other credential. */
  async view(
    principal: Principal,
    workspace: PrincipalWorkspace | null,
    secret: string,
  ): Promise<SessionOut> {
    const session = this.known.get(principal)
    if (!session || !principal.user) throw new ApiError('unauthorized', 'No session: sign in first.')
    const home = workspace ?? (await this.findWorkspace(principal, null))
    const shown = home && { id: home.id, name: home.name, slug: home.slug, tier: home.tier, role: home.role }
    return {
      user: principal.user,
      workspace: shown,
      expires_at: isoSeconds(session.expiresAt) as string,
      idle_expires_at: isoSeconds(Math.min(session.expiresAt, session.lastSeenAt + this.idleMs)) as string,
      csrf_token: this.csrfToken(secret),
    }
  }

  /**
   * Changes the signed-in user's password, after checking the current one (it counts against the
   * lockout like a sign-in), and ends every other session of the user on every instance.
   */
  async changePassword(principal: Principal, secret: string, current: string, next: string): Promise<void> {
    if (!this.known.has(principal) || !principal.user)
      throw new ApiError('unauthorized', 'No session: sign in first.')
    const user = await this.checkCredentials(principal.user.email, current).catch((error: unknown) => {
      if (error instanceof ApiError && error.code === 'unauthorized')
        throw ApiError.invalid('current_password', 'The current password is wrong.')
      throw error
    })
    await setPassword(this.deps.db, user.id, next)
    await deleteOtherSessions(this.deps.db, user.id, sha256Hex(secret))
    await this.deps.credentials.invalidateUser(user.id)
  }

  /** Ends the session whose cookie secret this is, on every instance. */
  async signOut(secret: string): Promise<void> {
    const hash = sha256Hex(secret)
    await deleteSession(this.deps.db, hash)
    await this.deps.credentials.invalidateCredential(hash)
  }

  /** Deletes ended sessions, in bounded batches. */
  async purge(): Promise<number> {
    const now = this.deps.clock.now()
    let total = 0
    for (let batch = 0; batch < 100; batch++) {
      const deleted = await purgeEndedSessions(this.deps.db, new Date(now), new Date(now - this.idleMs), 1000)
      total += deleted
      if (deleted < 1000) break
    }
    return total
  }
}

function tooManyFailures(retryMs: number): ApiError {
  const retryAfter = Math.max(1, Math.ceil(retryMs / 1000))
  const minutes = Math.ceil(retryAfter / 60)
  return new ApiError(
    'rate_limit_exceeded',
    `Too many failed sign-ins for this email: try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
    { retry_after: retryAfter, policy: 'sign-in-failures' },
    { 'retry-after': String(retryAfter) },
  )
}
