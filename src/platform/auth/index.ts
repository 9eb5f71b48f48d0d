// The request guards, run first for every request (one `onRequest` hook, `guardRequest`):
//   1. authenticate: `Authorization: Bearer <secret>` → a principal (cached by secret hash);
//   2. authorize: the route's scope must be granted (403 names the missing scope), and the
//      workspace the request acts in is resolved (the key's own, or X-Workspace-ID);
//   3. rate-limit (the injected `limiter`), knowing whether 1–2 refused the request, so a
//      refused request only spends the caller's per-IP budget, never a victim's quota;
//   4. answer the refusal of 1–2, if any.
// Routes without `config.auth` (health, docs, public pixel endpoints) skip 1 and 2; routes with
// `config.unmetered` (operations, the reference) skip 3, so no bucket ever refuses them.

import { timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { ApiError } from '../http/errors.ts'
import type { Clock } from '../lib/clock.ts'
import { sha256Hex } from '../lib/hash.ts'
import type { CredentialCache } from './cache.ts'
import type { Principal, PrincipalWorkspace } from './principal.ts'
import { expandScopes, type Scope } from './scopes.ts'

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
    /**
     * Never refused by a rate-limit bucket, nor charged to one: `/health`, `/ready`, `/metrics`,
     * `/docs` and `/api/openapi.json` must answer a caller whose per-IP budget is spent.
     */
    unmetered?: boolean
  }
  interface FastifyInstance {
    /** Every route that declares `config.auth`, for documentation and the shared security tests. */
    authenticatedRoutes: ReadonlyArray<{ method: string; url: string; auth: RouteAuth }>
  }
  interface FastifyRequest {
    principal: Principal | null
    /** The workspace the request acts in, for routes with `auth.workspace`. */
    workspace: PrincipalWorkspace | null
  }
}

/** What the identity modules provide to the platform; the platform never reads their tables. */
export interface CredentialSource {
  /** The principal of the live (not revoked) API key with this secret hash. */
  findApiKey(hash: string): Promise<Principal | null>
  /** Notes that a key was used (persisted in batches, never on the request path). */
  recordUse(keyId: number, at: number): void
  /**
   * The workspace `id` if `principal` may act in it, else null. The source decides membership:
   * the master key may act in every workspace; a user-level credential only in its own.
   */
  findWorkspace(principal: Principal, id: number): Promise<PrincipalWorkspace | null>
}

/** Applies rate limits to a request; throws the 429. `refusal` is the 401/403 about to be sent. */
export type RequestLimiter = (
  req: FastifyRequest,
  reply: FastifyReply,
  refusal: ApiError | null,
) => Promise<void> | undefined

export type AuthOptions = {
  limiter?: RequestLimiter
  source: CredentialSource
  cache: CredentialCache
  clock: Clock
  /** SHA-256 of the platform master key. */
  masterKeyHash: string
}

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

function unauthorized(message = 'Invalid or missing API key.'): ApiError {
  return new ApiError('unauthorized', message, undefined, { 'www-authenticate': 'Bearer realm="core-api"' })
}

async function authPlugin(app: FastifyInstance, options: AuthOptions): Promise<void> {
  const { source, cache, clock, masterKeyHash } = options
  const master = masterPrincipal()

  app.decorateRequest('principal', null)
  app.decorateRequest('workspace', null)

  const routes: Array<{ method: string; url: string; auth: RouteAuth }> = []
  app.decorate('authenticatedRoutes', routes)
  app.addHook('onRoute', (route) => {
    const auth = route.config?.auth
    if (!auth) return
    for (const method of [route.method].flat())
      if (method !== 'HEAD') routes.push({ method, url: route.url, auth })
  })

  const masterHash = Buffer.from(masterKeyHash)
  async function principalFor(secret: string): Promise<Principal | null> {
    const hash = sha256Hex(secret)
    const candidate = Buffer.from(hash)
    // Both are 64 hex characters; compared in constant time.
    if (candidate.length === masterHash.length && timingSafeEqual(candidate, masterHash)) return master
    return cache.principal(hash, () => source.findApiKey(hash))
  }

  async function guardRequest(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const auth = req.routeOptions.config.auth
    let refusal: ApiError | null = null
    if (auth) {
      try {
        await authenticate(req, auth)
      } catch (error) {
        if (!(error instanceof ApiError)) throw error
        refusal = error
      }
    }
    if (!req.routeOptions.config.unmetered) {
      const limited = options.limiter?.(req, reply, refusal)
      if (limited) await limited
    }
    if (refusal) throw refusal
  }

  async function authenticate(req: FastifyRequest, auth: RouteAuth): Promise<void> {
    const header = req.headers.authorization
    if (!header) throw unauthorized()
    // Only another scheme is told about the scheme; a malformed, short or placeholder key under
    // Bearer is as wrong as an unknown one.
    if (!BEARER_SCHEME.test(header))
      throw unauthorized('Use the Bearer scheme: "Authorization: Bearer <key>".')
    const match = BEARER.exec(header)
    if (!match) throw unauthorized()
    const principal = await principalFor(match[1]!)
    if (!principal) throw unauthorized()
    const now = clock.now()
    if (principal.expiresAt !== null && principal.expiresAt <= now)
      throw unauthorized('This API key has expired.')
    if (principal.key) source.recordUse(principal.key.id, now)
    req.principal = principal

    if (auth.scope !== null && !principal.granted.has(auth.scope)) {
      throw new ApiError('access_denied', `Insufficient permissions. Required scope: ${auth.scope}`)
    }
    if (auth.workspace) req.workspace = await resolveWorkspace(req, principal, auth.workspace === 'optional')
  }

  async function resolveWorkspace(
    req: FastifyRequest,
    principal: Principal,
    optional: boolean,
  ): Promise<PrincipalWorkspace | null> {
    const raw = req.headers['x-workspace-id']
    const requested = typeof raw === 'string' && raw !== '' ? raw : null
    if (principal.workspace) {
      if (requested !== null && requested !== String(principal.workspace.id)) {
        throw new ApiError('access_denied', 'This credential cannot act in the requested workspace.')
      }
      return principal.workspace
    }
    if (requested === null) {
      if (optional) return null
      throw new ApiError('workspace_required')
    }
    const id = /^[1-9][0-9]{0,9}$/.test(requested) ? Number(requested) : 0
    const workspace =
      id > 0 && id <= 2_147_483_647
        ? principal.type === 'master_key'
          ? await cache.workspace(id, () => source.findWorkspace(principal, id))
          : await source.findWorkspace(principal, id)
        : null
    if (workspace) return workspace
    // The master key may act in every workspace, so for it the only reason is that there is
    // none; any other credential learns nothing about workspaces it cannot act in.
    if (principal.type === 'master_key') throw ApiError.notFound('Workspace')
    throw new ApiError('access_denied', 'This credential cannot act in the requested workspace.')
  }

  app.addHook('onRequest', guardRequest)
}

export const auth = fp(authPlugin, { name: 'core-api-auth' })
export { CredentialCache } from './cache.ts'
export type { Principal, PrincipalUser, PrincipalWorkspace, Tier } from './principal.ts'
export { isTier, TIERS, tierRank } from './principal.ts'
export { expandScopes, isValidScope, missingScope, type Scope } from './scopes.ts'
