// The request guards, run first for every request (one `onRequest` hook, `guardRequest`):
//   1. authenticate: `Authorization: Bearer <secret>` → a principal (cached by secret hash);
//   2. authorize: the route's scope must be granted (403 names the missing scope), and the
//      workspace the request acts in is resolved (the key's own, or X-Workspace-ID);
//   3. rate-limit (the injected `limiter`), knowing whether 1–2 refused the request, so a
//      refused request only spends the caller's per-IP budget, never a victim's quota;
//   4. answer the refusal of 1–2, if any.
// Routes without `config.auth` (health, docs, public pixel endpoints) skip 1 and 2; routes with
// `config.unmetered` (operations, the reference) skip 3, so no bucket ever refuses them.
//
// Default-deny: a route under /api/ must declare `config.auth`, or `config.public: true` to say
// it is public on purpose; anything else is an error when the route is registered, so the
// server does not start with a route that is public by accident.
//
// Credentials come from sources that modules contribute (API keys today; sessions and OAuth
// tokens plug in the same way): each source owns the secret prefixes it issues. Which
// workspaces a principal may act in is decided by one resolver (the workspaces module's),
// never here.

import { timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { ApiError, hookFailure } from '../http/errors.ts'
import type { Clock } from '../lib/clock.ts'
import { sha256Hex } from '../lib/hash.ts'
import type { CredentialCache } from './cache.ts'
import { readCookie } from './cookies.ts'
import type { Principal, PrincipalWorkspace } from './principal.ts'
import { expandScopes, isValidScope, type Scope } from './scopes.ts'

export type RouteAuth = {
  /** The scope the route needs; null for routes any valid credential may call (`/me`). */
  scope: Scope | null
  /**
   * True when the route acts inside one workspace (everything but /workspaces and /me);
   * 'optional' resolves X-Workspace-ID when given and leaves `req.workspace` null otherwise.
   */
  workspace: boolean | 'optional'
}

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth
    /** Declares a route under /api/ public on purpose (no credential): see default-deny above. */
    public?: boolean
    /**
     * Never refused by a rate-limit bucket, nor charged to one: `/health`, `/ready`, `/metrics`,
     * `/docs` and `/api/openapi.json` must answer a caller whose per-IP budget is spent.
     */
    unmetered?: boolean
  }
  interface FastifyInstance {
    /** Every route that declares `config.auth`, for documentation and the shared security tests. */
    authenticatedRoutes: ReadonlyArray<{ method: string; url: string; auth: RouteAuth }>
    /** Every route under /api/ declared public (`config.public`), for the shared security tests. */
    publicApiRoutes: ReadonlyArray<{ method: string; url: string }>
  }
  interface FastifyRequest {
    principal: Principal | null
    /** The workspace the request acts in, for routes with `auth.workspace`. */
    workspace: PrincipalWorkspace | null
  }
}

/**
 * A kind of credential, contributed by the module that issues it; the platform never reads
 * their tables. A secret is offered only to the source that owns its prefix.
 */
export interface CredentialSource {
  /** Prefixes of the secrets this source issues, such as `sk_live_`. */
  readonly prefixes: readonly string[]
  /** The principal of the live (not revoked, not expired) credential with this secret hash. */
  find(hash: string): Promise<Principal | null>
  /** Notes that the credential was used (persisted in batches, never on the request path). */
  recordUse?(principal: Principal, at: number): void
  /**
   * A cookie this source reads when a request has no Authorization header (a browser session).
   * Writes authenticated by it must come from core-api's own origin and carry `X-CSRF-Token`.
   */
  readonly cookie?: string
  /** The anti-CSRF token bound to a cookie credential's secret. */
  csrfToken?(secret: string): string
}

/**
 * The workspace `id` if `principal` may act in it, else null; with `id` null, the workspace a
 * user-level credential acts in by default (null when it has none). The master key may act in
 * every workspace, a user-level credential in those it is a member of.
 */
export type WorkspaceResolver = (
  principal: Principal,
  id: number | null,
) => Promise<PrincipalWorkspace | null>

/** Applies rate limits to a request; throws the 429. `refusal` is the 401/403 about to be sent. */
export type RequestLimiter = (
  req: FastifyRequest,
  reply: FastifyReply,
  refusal: ApiError | null,
) => Promise<void> | undefined

export type AuthOptions = {
  limiter?: RequestLimiter
  sources: readonly CredentialSource[]
  findWorkspace: WorkspaceResolver
  cache: CredentialCache
  clock: Clock
  /** SHA-256 of the platform master key. */
  masterKeyHash: string
  /** core-api's own origin (from PUBLIC_URL): the only one cookie-authenticated writes may come from. */
  ownOrigin: string
}

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

const BEARER_SCHEME = /^Bearer(?: |$)/
const BEARER = /^Bearer ([A-Za-z0-9_\-.~+/]{16,256}=*)$/

const MASTER_SCOPES = ['*'] as const
/** The principal of the master key (also used by the CLI, which acts as the operator). */
export function masterPrincipal(): Principal {
  return {
    type: 'master_key',
    user: null,
    workspace: null,
    key: null,
    scopes: MASTER_SCOPES,
    granted: expandScopes(MASTER_SCOPES),
    rateLimitTier: null,
    expiresAt: null,
  }
}

const SECRET = /^[A-Za-z0-9_\-.~+/]{16,256}=*$/

function missing(scope: string, role?: string): ApiError {
  const by = role ? ` (not granted to the ${role} role in this workspace)` : ''
  return new ApiError('access_denied', `Insufficient permissions. Required scope: ${scope}${by}`)
}

/** A concrete scope (`posts:read`) of a registered resource. */
function isKnownScope(scope: string): boolean {
  return scope.includes(':') && !scope.endsWith(':*') && isValidScope(scope)
}

function cannotAct(): ApiError {
  return new ApiError('access_denied', 'This credential cannot act in the requested workspace.')
}

/** The workspace named by X-Workspace-ID, if any. */
function requestedWorkspace(req: FastifyRequest): string | null {
  const raw = req.headers['x-workspace-id']
  return typeof raw === 'string' && raw !== '' ? raw : null
}

/** Undefined when a step finished synchronously, else the promise of its end. */
type Pending = Promise<void> | undefined

function unauthorized(message = 'Invalid or missing API key.'): ApiError {
  return new ApiError('unauthorized', message, undefined, { 'www-authenticate': 'Bearer realm="core-api"' })
}

async function authPlugin(app: FastifyInstance, options: AuthOptions): Promise<void> {
  const { findWorkspace, cache, clock, masterKeyHash, ownOrigin } = options
  const { sources } = options
  const master = masterPrincipal()
  const sourceOf = (secret: string) => sources.find((s) => s.prefixes.some((p) => secret.startsWith(p)))

  app.decorateRequest('principal', null)
  app.decorateRequest('workspace', null)

  const routes: Array<{ method: string; url: string; auth: RouteAuth }> = []
  const publicRoutes: Array<{ method: string; url: string }> = []
  app.decorate('authenticatedRoutes', routes)
  app.decorate('publicApiRoutes', publicRoutes)
  app.addHook('onRoute', function requireDeclaredAccess(route) {
    const auth = route.config?.auth
    const methods = [route.method].flat().filter((m) => m !== 'HEAD')
    if (auth) {
      if (auth.scope !== null && !isKnownScope(auth.scope))
        throw new Error(
          `${methods.join(',')} ${route.url} needs scope "${auth.scope}", which no module registered`,
        )
      for (const method of methods) routes.push({ method, url: route.url, auth })
      return
    }
    if (!route.url.startsWith('/api/')) return
    if (route.config?.public !== true)
      throw new Error(
        `${methods.join(',')} ${route.url} declares neither config.auth nor config.public: every /api/ route needs one`,
      )
    for (const method of methods) publicRoutes.push({ method, url: route.url })
  })

  const masterHash = Buffer.from(masterKeyHash)
  /** Whether a secret's hash is the master key's: both 64 hex characters, compared in constant time. */
  function isMaster(hash: string): boolean {
    const candidate = Buffer.from(hash)
    return candidate.length === masterHash.length && timingSafeEqual(candidate, masterHash)
  }

  /**
   * The `onRequest` hook, callback style: a request whose credential is cached (and, with
   * several instances, one that need not wait for the pub/sub) is guarded without a promise.
   */
  function guardRequest(req: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void): void {
    let pending: Pending
    try {
      pending = guard(req, reply)
    } catch (error) {
      done(hookFailure(error))
      return
    }
    if (pending === undefined) done()
    else
      pending.then(
        () => done(),
        (error: unknown) => done(hookFailure(error)),
      )
  }

  function guard(req: FastifyRequest, reply: FastifyReply): Pending {
    const auth = req.routeOptions.config.auth
    if (!auth) return limit(req, reply, null)
    let authenticated: Pending
    try {
      authenticated = authenticate(req, auth)
    } catch (error) {
      return refuse(req, reply, error)
    }
    if (authenticated === undefined) return limit(req, reply, null)
    return authenticated.then(
      () => limit(req, reply, null),
      (error: unknown) => refuse(req, reply, error),
    )
  }

  /** A refused request still spends the buckets that apply to it (step 3), then gets its refusal. */
  function refuse(req: FastifyRequest, reply: FastifyReply, error: unknown): Pending {
    if (!(error instanceof ApiError)) throw error
    const limited = limit(req, reply, error)
    if (limited === undefined) throw error
    return limited.then(() => {
      throw error
    })
  }

  function limit(req: FastifyRequest, reply: FastifyReply, refusal: ApiError | null): Pending {
    if (req.routeOptions.config.unmetered || !options.limiter) return undefined
    return options.limiter(req, reply, refusal)
  }

  /** A credential from a cookie, for a request without an Authorization header. */
  async function cookieCredential(req: FastifyRequest): Promise<Principal> {
    for (const source of sources) {
      if (!source.cookie) continue
      const secret = readCookie(req.headers.cookie, source.cookie)
      if (secret === null) continue
      const hash = SECRET.test(secret) ? sha256Hex(secret) : null
      const principal = hash === null ? null : await cache.principal(hash, () => source.find(hash))
      if (!principal) throw unauthorized('Your session has ended: sign in again.')
      if (UNSAFE_METHODS.has(req.method)) checkCsrf(req, source, secret)
      source.recordUse?.(principal, clock.now())
      return principal
    }
    throw unauthorized()
  }

  /** A write authenticated by a cookie must come from our own pages: origin and token. */
  function checkCsrf(req: FastifyRequest, source: CredentialSource, secret: string): void {
    const site = req.headers['sec-fetch-site']
    const origin = req.headers.origin
    const token = req.headers['x-csrf-token']
    const expected = source.csrfToken?.(secret)
    const sameOrigin =
      (site === undefined || site === 'same-origin') && (origin === undefined || origin === ownOrigin)
    const tokenOk =
      typeof token === 'string' &&
      expected !== undefined &&
      token.length === expected.length &&
      timingSafeEqual(Buffer.from(token), Buffer.from(expected))
    if (!sameOrigin || !tokenOk)
      throw new ApiError(
        'access_denied',
        "A write signed in by cookie must come from core-api's own pages and carry X-CSRF-Token.",
      )
  }

  function authenticate(req: FastifyRequest, auth: RouteAuth): Pending {
    const header = req.headers.authorization
    if (!header)
      return cookieCredential(req).then((principal) => {
        req.principal = principal
        return authorize(req, auth, principal)
      })
    // Only another scheme is told about the scheme; a malformed, short or placeholder key under
    // Bearer is as wrong as an unknown one.
    if (!BEARER_SCHEME.test(header))
      throw unauthorized('Use the Bearer scheme: "Authorization: Bearer <key>".')
    const match = BEARER.exec(header)
    if (!match) throw unauthorized()
    const secret = match[1]!
    const hash = sha256Hex(secret)
    if (isMaster(hash)) return admit(req, auth, master)
    const source = sourceOf(secret)
    if (!source) throw unauthorized()
    const known = cache.cachedPrincipal(hash)
    if (known !== undefined) return admit(req, auth, known, source)
    return cache
      .principal(hash, () => source.find(hash))
      .then((principal) => admit(req, auth, principal, source))
  }

  /** A bearer credential, once looked up: unknown or expired is 401; its use is noted. */
  function admit(
    req: FastifyRequest,
    auth: RouteAuth,
    principal: Principal | null,
    source?: CredentialSource,
  ) {
    if (!principal) throw unauthorized()
    const now = clock.now()
    if (principal.expiresAt !== null && principal.expiresAt <= now)
      throw unauthorized('This API key has expired.')
    if (principal !== master) source?.recordUse?.(principal, now)
    req.principal = principal
    return authorize(req, auth, principal)
  }

  /** The route's scope, then the workspace; a member's role may narrow what it grants there. */
  function authorize(req: FastifyRequest, auth: RouteAuth, principal: Principal): Pending {
    if (principal.expiresAt !== null && principal.expiresAt <= clock.now())
      throw unauthorized('This credential has expired.')
    if (auth.scope !== null && !principal.granted.has(auth.scope)) throw missing(auth.scope)
    if (!auth.workspace) return undefined
    const requested = requestedWorkspace(req)
    // A key acts in its own workspace, and only there.
    if (principal.workspace) {
      if (requested !== null && requested !== String(principal.workspace.id)) throw cannotAct()
      return enter(req, auth, principal.workspace)
    }
    return resolveWorkspace(principal, requested, auth.workspace === 'optional').then((workspace) =>
      enter(req, auth, workspace),
    )
  }

  function enter(req: FastifyRequest, auth: RouteAuth, workspace: PrincipalWorkspace | null): undefined {
    req.workspace = workspace
    if (auth.scope !== null && workspace?.granted && !workspace.granted.has(auth.scope))
      throw missing(auth.scope, workspace.role)
    return undefined
  }

  /** The workspace of a credential that has none of its own: the master key or a user's. */
  async function resolveWorkspace(
    principal: Principal,
    requested: string | null,
    optional: boolean,
  ): Promise<PrincipalWorkspace | null> {
    if (requested === null) {
      // A user-level credential acts in its default workspace; the master key must choose.
      const fallback = principal.type === 'master_key' ? null : await findWorkspace(principal, null)
      if (fallback || optional) return fallback
      throw new ApiError('workspace_required')
    }
    const id = /^[1-9][0-9]{0,9}$/.test(requested) ? Number(requested) : 0
    const workspace =
      id > 0 && id <= 2_147_483_647
        ? principal.type === 'master_key'
          ? await cache.workspace(id, () => findWorkspace(principal, id))
          : await findWorkspace(principal, id)
        : null
    if (workspace) return workspace
    // The master key may act in every workspace, so for it the only reason is that there is
    // none; any other credential learns nothing about workspaces it cannot act in.
    if (principal.type === 'master_key') throw ApiError.notFound('Workspace')
    throw cannotAct()
  }

  app.addHook('onRequest', guardRequest)
}

export const auth = fp(authPlugin, { name: 'core-api-auth' })
export { CredentialCache } from './cache.ts'
export { readCookie, secureCookies, serializeCookie } from './cookies.ts'
export type { Principal, PrincipalUser, PrincipalWorkspace, Tier } from './principal.ts'
export { effectiveScopes, isTier, ROLES, type Role, scopeList, TIERS, tierRank } from './principal.ts'
export {
  expandScopes,
  isValidScope,
  missingScope,
  registerScopeResources,
  type Scope,
  scopeResources,
} from './scopes.ts'
