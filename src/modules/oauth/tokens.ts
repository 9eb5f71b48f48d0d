// OAuth access tokens as credentials of the API. A token of the authorization-code grant acts
// for its user, in the workspaces the user is a member of (narrowed by the member's role, like
// a session); a client-credentials token acts for the app in the workspace that registered it,
// like a key. Either way, only within the scopes granted to the token and, at every lookup,
// those its app may still ask for: narrowing an app's scopes narrows the tokens it holds (the
// cached principals of its tokens are dropped on every instance when the app changes).
import {
  type CredentialSource,
  expandScopes,
  isValidScope,
  type Principal,
} from '../../platform/auth/index.ts'
import type { Deps } from '../../platform/deps.ts'
import { findUser } from '../users/index.ts'
import { findWorkspaceForAuth } from '../workspaces/index.ts'
import { ACCESS_TOKEN_MODELS } from './adapter.ts'
import { ACCESS_TOKEN_PREFIX } from './provider.ts'
import { findClientByClientId, findTokenByHash } from './store.ts'

type TokenPayload = { clientId?: string; accountId?: string; scope?: string; exp?: number }

/**
 * A token's scopes as far as its app may still ask for them. Unchanged when the app allows them
 * all; otherwise the concrete scopes left, which is what `/me` then shows.
 */
function withinClient(issued: readonly string[], allowed: readonly string[]) {
  const granted = expandScopes(issued)
  const app = expandScopes(allowed)
  const kept = new Set([...granted].filter((scope) => app.has(scope)))
  if (kept.size === granted.size) return { scopes: issued, granted }
  return { scopes: [...kept].sort(), granted: kept }
}

export function tokenCredentialSource(deps: Deps): CredentialSource {
  async function find(hash: string): Promise<Principal | null> {
    const row = await findTokenByHash(deps.db, ACCESS_TOKEN_MODELS, hash, new Date(deps.clock.now()))
    if (!row) return null
    const payload = row.payload as TokenPayload
    const client = payload.clientId ? await findClientByClientId(deps.db, payload.clientId) : null
    if (!client) return null
    const issued = (payload.scope ?? '').split(' ').filter((s) => s !== '' && isValidScope(s))
    const { scopes, granted } = withinClient(issued, client.scopes)
    const expiresAt = row.expiresAt?.getTime() ?? (payload.exp ? payload.exp * 1000 : null)
    const base = {
      type: 'oauth_token' as const,
      client: client.clientId,
      key: null,
      scopes,
      granted,
      rateLimitTier: null,
      expiresAt,
    }
    if (row.model === 'ClientCredentials') {
      const workspace = await findWorkspaceForAuth(deps.db, client.workspaceId)
      return workspace ? { ...base, user: null, workspace } : null
    }
    const id = Number(payload.accountId)
    const user = Number.isInteger(id) && id > 0 ? await findUser(deps.db, id) : null
    return user ? { ...base, user, workspace: null } : null
  }
  return { prefixes: [ACCESS_TOKEN_PREFIX], find }
}
