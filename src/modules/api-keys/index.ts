// API keys module (seed 004 "API Keys"): issue, list, rotate and revoke keys, and resolve a
// presented key to its principal for the auth platform.
import type { FastifyInstance } from 'fastify'
import type { CredentialSource } from '../../platform/auth/index.ts'
import type { Deps } from '../../platform/deps.ts'
import type { EntitlementService } from '../entitlements/index.ts'
import { findWorkspaceForAuth } from '../workspaces/index.ts'
import { apiKeyRoutes } from './routes.ts'
import { ApiKeyService, UsageRecorder } from './service.ts'
import { countLiveKeys } from './store.ts'

export function createApiKeyService(
  deps: Deps,
  entitlements: EntitlementService,
  onError: (error: unknown) => void,
): ApiKeyService {
  entitlements.registerCounter('api_keys', countLiveKeys)
  return new ApiKeyService(deps, entitlements, new UsageRecorder(deps, onError))
}

/** What the auth platform needs from this module. */
export function credentialSource(service: ApiKeyService, deps: Deps): CredentialSource {
  return {
    findApiKey: (hash) => service.principalFor(hash),
    recordUse: (keyId, at) => service.usage.record(keyId, at),
    // Only the master key reaches this (a key acts in its own workspace); user-level
    // credentials must be checked for membership here when they exist.
    findWorkspace: (principal, id) =>
      principal.type === 'master_key' ? findWorkspaceForAuth(deps.db, id) : Promise.resolve(null),
  }
}

export async function apiKeysModule(
  app: FastifyInstance,
  deps: Deps & { apiKeys: ApiKeyService },
): Promise<void> {
  apiKeyRoutes(app, deps.apiKeys, deps.config.publicUrl)
}

export { generateKey } from './service.ts'
export { apiKeys } from './tables.ts'
export type { ApiKeyService }
