// The authorization server's storage on our database (oidc-provider's adapter interface): one
// row per model and id in oauth_models, the id stored as its SHA-256 so that a leaked table
// holds no usable token or code. Clients come from the oauth_clients table; their secret is
// stored hashed, so the server compares hashes (see provider.ts). Ending a token tells every
// instance's credential cache at once.
import type { Adapter, AdapterPayload } from 'oidc-provider'
import type { Deps } from '../../platform/deps.ts'
import { sha256Hex } from '../../platform/lib/hash.ts'
import {
  type ClientRow,
  consumeModel,
  deleteGrantModels,
  deleteModel,
  findClientByClientId,
  findModel,
  findModelBy,
  type ModelRow,
  upsertModel,
} from './store.ts'

/** The models whose ids are bearer credentials of the API. */
export const ACCESS_TOKEN_MODELS = ['AccessToken', 'ClientCredentials'] as const

/** Models found only by id: their id (`jti`) is kept out of the stored payload, as a hash only. */
const FOUND_BY_ID = new Set(['AccessToken', 'ClientCredentials', 'RefreshToken', 'AuthorizationCode'])

/** What the authorization server knows of one of our clients. */
function clientMetadata(row: ClientRow): AdapterPayload {
  const code = row.grantTypes.includes('authorization_code')
  return {
    client_id: row.clientId,
    ...(row.secretHash !== null && { client_secret: row.secretHash }),
    client_name: row.name,
    grant_types: row.grantTypes,
    redirect_uris: row.redirectUris,
    response_types: code ? ['code'] : [],
    scope: row.scopes.join(' '),
    token_endpoint_auth_method: row.authMethod as AdapterPayload['token_endpoint_auth_method'],
  }
}

function payloadOf(row: ModelRow | null): AdapterPayload | undefined {
  if (!row) return undefined
  const payload = row.payload as AdapterPayload
  return row.consumedAt ? { ...payload, consumed: Math.floor(row.consumedAt.getTime() / 1000) } : payload
}

export class DatabaseAdapter implements Adapter {
  private readonly model: string
  private readonly deps: Deps

  constructor(model: string, deps: Deps) {
    this.model = model
    this.deps = deps
  }

  private get now(): Date {
    return new Date(this.deps.clock.now())
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    if (this.model === 'Client') throw new Error('clients are registered through the API')
    const { jti: _, ...rest } = payload
    await upsertModel(this.deps.db, {
      model: this.model,
      id: sha256Hex(id),
      payload: (FOUND_BY_ID.has(this.model) ? rest : payload) as Record<string, unknown>,
      grantId: payload.grantId ?? null,
      uid: payload.uid ?? null,
      userCode: payload.userCode ?? null,
      expiresAt: expiresIn ? new Date(this.deps.clock.now() + expiresIn * 1000) : null,
    })
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    if (this.model === 'Client') {
      const row = await findClientByClientId(this.deps.db, id)
      return row ? clientMetadata(row) : undefined
    }
    const found = payloadOf(await findModel(this.deps.db, this.model, sha256Hex(id), this.now))
    return found && FOUND_BY_ID.has(this.model) ? { ...found, jti: id } : found
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return payloadOf(await findModelBy(this.deps.db, this.model, 'uid', uid, this.now))
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return payloadOf(await findModelBy(this.deps.db, this.model, 'userCode', userCode, this.now))
  }

  async consume(id: string): Promise<void> {
    await consumeModel(this.deps.db, this.model, sha256Hex(id), this.now)
  }

  async destroy(id: string): Promise<void> {
    const hash = sha256Hex(id)
    await deleteModel(this.deps.db, this.model, hash)
    if ((ACCESS_TOKEN_MODELS as readonly string[]).includes(this.model))
      await this.deps.credentials.invalidateCredential(hash)
  }

  /** Ends everything issued under a grant (a revoked grant, a replayed code or refresh token). */
  async revokeByGrantId(grantId: string): Promise<void> {
    const ended = await deleteGrantModels(this.deps.db, grantId)
    for (const { model, id } of ended)
      if ((ACCESS_TOKEN_MODELS as readonly string[]).includes(model))
        await this.deps.credentials.invalidateCredential(id)
  }
}
