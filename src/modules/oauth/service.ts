// Partner apps as the API manages them: registered by a workspace, with a secret shown once
// (stored as its SHA-256) and the scopes and grant types they may ask for.
import type { Static } from 'typebox'
import { isValidScope, type Principal, type PrincipalWorkspace } from '../../platform/auth/index.ts'
import type { Deps } from '../../platform/deps.ts'
import { ApiError, type FieldErrors } from '../../platform/http/errors.ts'
import { type ListQuery, selectFields, toPage } from '../../platform/http/list.ts'
import { isoSeconds } from '../../platform/lib/clock.ts'
import { sha256Hex } from '../../platform/lib/hash.ts'
import { randomBase62 } from '../../platform/lib/random.ts'
import { ACCESS_TOKEN_MODELS } from './adapter.ts'
import type { ClientCreate, ClientUpdate } from './schemas.ts'
import {
  type ClientRow,
  deleteClient,
  deleteClientModels,
  findClient,
  insertClient,
  listClients,
  updateClient,
} from './store.ts'

const CLIENT_ID_PREFIX = 'oc_'
const SECRET_PREFIX = 'ocs_'
const DEFAULT_SCOPES = ['read']

function newClientSecret(): { secret: string; hash: string } {
  const secret = `${SECRET_PREFIX}${randomBase62(43)}`
  return { secret, hash: sha256Hex(secret) }
}

function clientOut(row: ClientRow) {
  return {
    id: row.id,
    client_id: row.clientId,
    name: row.name,
    redirect_uris: row.redirectUris,
    grant_types: row.grantTypes,
    scopes: row.scopes,
    token_endpoint_auth_method: row.authMethod,
    created_at: isoSeconds(row.createdAt)!,
    updated_at: isoSeconds(row.updatedAt)!,
  }
}

/** A redirect URI must be absolute, without a fragment; plain http only to a loopback host. */
function redirectProblem(uri: string): string | null {
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    return `${uri} is not an absolute URL.`
  }
  if (url.hash !== '' || uri.includes('#')) return `${uri} must not have a fragment.`
  if (url.protocol === 'https:') return null
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)
  if (url.protocol === 'http:' && loopback) return null
  return `${uri} must use https (plain http only to localhost).`
}

type Settings = { redirectUris: string[]; grantTypes: string[]; scopes: string[]; authMethod: string }

function checkSettings(settings: Settings): void {
  const errors: FieldErrors = {}
  const add = (field: string, message: string) => {
    errors[field] = [...(errors[field] ?? []), message]
  }
  for (const uri of settings.redirectUris) {
    const problem = redirectProblem(uri)
    if (problem) add('redirect_uris', problem)
  }
  const grants = new Set(settings.grantTypes)
  if (grants.has('authorization_code') && settings.redirectUris.length === 0)
    add('redirect_uris', 'An app with the authorization_code grant needs at least one redirect URI.')
  if (grants.has('refresh_token') && !grants.has('authorization_code'))
    add('grant_types', 'refresh_token needs authorization_code.')
  if (grants.has('client_credentials') && settings.authMethod === 'none')
    add('grant_types', 'A public app (token_endpoint_auth_method none) cannot use client_credentials.')
  for (const scope of settings.scopes)
    if (!isValidScope(scope)) add('scopes', `${scope} is not a known scope.`)
  if (Object.keys(errors).length > 0) throw new ApiError('validation_failed', undefined, { errors })
}

export class ClientService {
  private readonly deps: Deps

  constructor(deps: Deps) {
    this.deps = deps
  }

  async list(workspace: PrincipalWorkspace, query: ListQuery, url: URL) {
    const { rows, total } = await listClients(this.deps.db, workspace.id, query)
    return toPage(
      rows.map((row) => selectFields(clientOut(row), query.fields)),
      total,
      query,
      url,
    )
  }

  async get(workspace: PrincipalWorkspace, id: number) {
    const row = await findClient(this.deps.db, workspace.id, id)
    if (!row) throw ApiError.notFound('OAuth client')
    return clientOut(row)
  }

  async create(principal: Principal, workspace: PrincipalWorkspace, body: Static<typeof ClientCreate>) {
    const settings = {
      redirectUris: [...new Set(body.redirect_uris ?? [])],
      grantTypes: body.grant_types,
      scopes: [...new Set(body.scopes ?? DEFAULT_SCOPES)],
      authMethod: body.token_endpoint_auth_method ?? 'client_secret_basic',
    }
    checkSettings(settings)
    const issued = settings.authMethod === 'none' ? null : newClientSecret()
    const row = await insertClient(this.deps.db, {
      workspaceId: workspace.id,
      createdBy: principal.user?.id ?? null,
      clientId: `${CLIENT_ID_PREFIX}${randomBase62(24)}`,
      secretHash: issued?.hash ?? null,
      name: body.name,
      ...settings,
    })
    return { ...clientOut(row), client_secret: issued?.secret ?? null }
  }

  async update(workspace: PrincipalWorkspace, id: number, body: Static<typeof ClientUpdate>) {
    const current = await findClient(this.deps.db, workspace.id, id)
    if (!current) throw ApiError.notFound('OAuth client')
    const settings = {
      redirectUris: body.redirect_uris ? [...new Set(body.redirect_uris)] : current.redirectUris,
      grantTypes: body.grant_types ?? current.grantTypes,
      scopes: body.scopes ? [...new Set(body.scopes)] : current.scopes,
    }
    checkSettings({ ...settings, authMethod: current.authMethod })
    const row = await updateClient(this.deps.db, workspace.id, id, {
      ...(body.name !== undefined && { name: body.name }),
      ...settings,
    })
    if (!row) throw ApiError.notFound('OAuth client')
    // Its tokens act only within its scopes: every instance reloads them at their next request.
    await this.deps.credentials.invalidateClient(row.clientId)
    return clientOut(row)
  }

  /** A new secret, shown once; the old one stops working at once. */
  async rotateSecret(workspace: PrincipalWorkspace, id: number) {
    const current = await findClient(this.deps.db, workspace.id, id)
    if (!current) throw ApiError.notFound('OAuth client')
    if (current.authMethod === 'none') throw new ApiError('conflict', 'A public app has no secret to rotate.')
    const { secret, hash } = newClientSecret()
    const row = await updateClient(this.deps.db, workspace.id, id, { secretHash: hash })
    if (!row) throw ApiError.notFound('OAuth client')
    return { ...clientOut(row), client_secret: secret }
  }

  /** Deletes the app and every grant and token it holds, on every instance. */
  async remove(workspace: PrincipalWorkspace, id: number): Promise<void> {
    const row = await deleteClient(this.deps.db, workspace.id, id)
    if (!row) throw ApiError.notFound('OAuth client')
    const ended = await deleteClientModels(this.deps.db, row.clientId)
    for (const { model, id: hash } of ended)
      if ((ACCESS_TOKEN_MODELS as readonly string[]).includes(model))
        await this.deps.credentials.invalidateCredential(hash)
  }
}
