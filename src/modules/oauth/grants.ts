// The partner apps a person has authorised: oidc-provider's Grant records (one per person and
// app, made at consent), listed for the signed-in person and revoked by them. Revoking a grant
// deletes it with every code, access token and refresh token issued under it, and tells every
// instance's credential cache at once, so the app's tokens stop working at their next request
// everywhere; the app must ask the person again.
import { expandScopes, type Principal } from '../../platform/auth/index.ts'
import type { Deps } from '../../platform/deps.ts'
import { ApiError } from '../../platform/http/errors.ts'
import { type ListQuery, type Page, selectFields, toPage } from '../../platform/http/list.ts'
import { isoSeconds } from '../../platform/lib/clock.ts'
import { sha256Hex } from '../../platform/lib/hash.ts'
import { ACCESS_TOKEN_MODELS } from './adapter.ts'
import { deleteGrantOf, type GrantRow, grantsOf } from './store.ts'

type GrantPayload = {
  jti?: string
  clientId?: string
  iat?: number
  resources?: Record<string, string>
}

export type GrantOut = {
  id: string
  client_id: string
  client_name: string
  scopes: string[]
  created_at: string
  last_used_at: string | null
  expires_at: string | null
}

function grantOut(row: GrantRow): GrantOut | null {
  const payload = row.payload as GrantPayload
  if (!payload.jti || !payload.clientId || row.clientName === null) return null
  const granted = new Set<string>()
  for (const scope of Object.values(payload.resources ?? {}))
    for (const one of scope.split(' ')) if (one !== '') granted.add(one)
  // Only what the API understands (a grant may also hold OpenID scopes, which grant nothing).
  const scopes = [...granted].filter((scope) => expandScopes([scope]).size > 0).sort()
  const created = (payload.iat ?? 0) * 1000
  return {
    id: payload.jti,
    client_id: payload.clientId,
    client_name: row.clientName,
    scopes,
    created_at: isoSeconds(created)!,
    last_used_at: row.lastIssued === null ? null : isoSeconds(row.lastIssued * 1000),
    expires_at: isoSeconds(row.expiresAt),
  }
}

const compareBy: Record<string, (a: GrantOut, b: GrantOut) => number> = {
  created_at: (a, b) => a.created_at.localeCompare(b.created_at),
  last_used_at: (a, b) => (a.last_used_at ?? '').localeCompare(b.last_used_at ?? ''),
  client_name: (a, b) => a.client_name.localeCompare(b.client_name),
}

/** Filters of the list: `created_*` on when the person consented, `updated_*` on the last use. */
function matches(grant: GrantOut, query: ListQuery): boolean {
  const at = (iso: string | null) => (iso === null ? null : Date.parse(iso))
  const created = at(grant.created_at)!
  const updated = at(grant.last_used_at) ?? created
  if (query.createdAfter && created < query.createdAfter.getTime()) return false
  if (query.createdBefore && created > query.createdBefore.getTime()) return false
  if (query.updatedAfter && updated < query.updatedAfter.getTime()) return false
  if (query.updatedBefore && updated > query.updatedBefore.getTime()) return false
  return true
}

/** The grants are the person's own: only their dashboard session lists or revokes them. */
function personOf(principal: Principal): string {
  if (principal.type !== 'session' || !principal.user)
    throw new ApiError(
      'access_denied',
      'Only the signed-in person (a dashboard session) manages the apps they have authorised.',
    )
  return String(principal.user.id)
}

export class GrantService {
  private readonly deps: Deps

  constructor(deps: Deps) {
    this.deps = deps
  }

  async list(principal: Principal, query: ListQuery, url: URL): Promise<Page<Partial<GrantOut>>> {
    const account = personOf(principal)
    const rows = await grantsOf(this.deps.db, account, new Date(this.deps.clock.now()))
    const grants = rows.flatMap((row) => grantOut(row) ?? []).filter((grant) => matches(grant, query))
    grants.sort((a, b) => {
      for (const key of query.sort) {
        const order = compareBy[key.field]!(a, b) * (key.descending ? -1 : 1)
        if (order !== 0) return order
      }
      return a.id.localeCompare(b.id)
    })
    const page = grants.slice(query.offset, query.offset + query.perPage)
    return toPage(
      page.map((grant) => selectFields(grant, query.fields)),
      grants.length,
      query,
      url,
    )
  }

  /** Revokes the person's grant and everything issued under it, on every instance. */
  async revoke(principal: Principal, grantId: string): Promise<void> {
    const account = personOf(principal)
    const ended = await deleteGrantOf(this.deps.db, account, sha256Hex(grantId), grantId)
    if (!ended) throw ApiError.notFound('Grant')
    for (const { model, id } of ended)
      if ((ACCESS_TOKEN_MODELS as readonly string[]).includes(model))
        await this.deps.credentials.invalidateCredential(id)
  }
}
