// API keys module (seed 004 "API Keys"): issue, list, rotate and revoke keys, and resolve a
// presented key to its principal for the auth platform.
import type { FastifyInstance } from 'fastify'
import { type CredentialSource, registerScopeResources } from '../../platform/auth/index.ts'
import type { Deps } from '../../platform/deps.ts'
import { registerEventTypes } from '../../platform/events.ts'
import type { EntitlementService } from '../entitlements/index.ts'
import { apiKeyRoutes } from './routes.ts'
import { API_KEY_CREATED_EXAMPLE } from './schemas.ts'
import { ApiKeyService, UsageRecorder } from './service.ts'
import { countHeldKeys, countLiveKeys } from './store.ts'

/** Builds the module's service and registers its scopes, events and plan-limit counter. */
export function createApiKeyService(
  deps: Deps,
  entitlements: EntitlementService,
  onError: (error: unknown) => void,
): ApiKeyService {
  registerScopeResources('api-keys')
  // Never the secret: a new key as its creation shows it less `key`, a revoked one by name.
  const { key: _key, ...created } = API_KEY_CREATED_EXAMPLE
  registerEventTypes(
    {
      type: 'api_key.created',
      readScope: 'api-keys:read',
      description: 'A key was created',
      example: created,
    },
    {
      type: 'api_key.rotated',
      readScope: 'api-keys:read',
      description: 'A key was rotated: a new key, the old one expiring at the end of its grace period',
      example: {
        id: 3,
        name: created.name,
        prefix: created.prefix,
        rotated_from_id: created.id,
        grace_period_ends_at: '2026-01-16T10:30:00Z',
      },
    },
    {
      type: 'api_key.revoked',
      readScope: 'api-keys:read',
      description: 'A key was revoked',
      example: { id: created.id, name: created.name, prefix: created.prefix },
    },
  )
  // Kept as the keys held (expired or not), an upper bound of the live keys the limit counts:
  // a key expires without a write, so a create at the limit counts the live ones.
  entitlements.registerCounter('api_keys', countHeldKeys, { kept: true, live: countLiveKeys })
  return new ApiKeyService(deps, entitlements, new UsageRecorder(deps, onError))
}

/** API keys as a credential for the auth platform: the secrets prefixed `sk_live_`/`sk_test_`. */
export function credentialSource(service: ApiKeyService): CredentialSource {
  return {
    prefixes: ['sk_live_', 'sk_test_'],
    find: (hash) => service.principalFor(hash),
    recordUse: (principal, at) => {
      if (principal.key) service.usage.record(principal.key.id, at)
    },
  }
}

export async function apiKeysModule(
  app: FastifyInstance,
  deps: Deps & { apiKeys: ApiKeyService },
): Promise<void> {
  apiKeyRoutes(app, deps.apiKeys, deps.config.publicUrl)
}

export { ApiKeyCreate, apiKeyList } from './schemas.ts'
export { generateKey } from './service.ts'
export { workspaceOfKey } from './store.ts'
export { apiKeys } from './tables.ts'
export type { ApiKeyService }
