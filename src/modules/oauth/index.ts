// OAuth module: partner apps (clients) registered by a workspace, the authorization server
// under /oauth2/ (oidc-provider on our database), and its access tokens as credentials of the
// API.
import type { FastifyInstance } from 'fastify'
import { type CredentialSource, registerScopeResources } from '../../platform/auth/index.ts'
import type { Deps } from '../../platform/deps.ts'
import type { SecretBox } from '../../platform/lib/secret-box.ts'
import { GrantService } from './grants.ts'
import type { CheckCredentials } from './interaction.ts'
import { createProvider } from './provider.ts'
import { clientRoutes, grantRoutes } from './routes.ts'
import { mountProvider } from './server.ts'
import { ClientService } from './service.ts'
import { oauthSettings } from './settings.ts'
import { purgeExpiredModels } from './store.ts'
import { tokenCredentialSource } from './tokens.ts'

const PURGE_EVERY_MS = 60 * 60_000

export type OAuthService = {
  deps: Deps
  box: SecretBox
  encryptionKey: string
  /** Checks a person's email and password on the login page (with the sign-in lockout). */
  checkCredentials: CheckCredentials
  clients: ClientService
  /** The apps each person has authorised (their grants). */
  grants: GrantService
  /** Access tokens (`oat_…`) as credentials of the API. */
  credentialSource: CredentialSource
}

export function createOAuth(
  deps: Deps,
  options: { box: SecretBox; encryptionKey: string; checkCredentials: CheckCredentials },
): OAuthService {
  registerScopeResources('oauth-clients')
  return {
    deps,
    ...options,
    clients: new ClientService(deps),
    grants: new GrantService(deps),
    credentialSource: tokenCredentialSource(deps),
  }
}

export async function oauthModule(app: FastifyInstance, service: OAuthService, publicUrl: string) {
  const { deps } = service
  clientRoutes(app, service.clients, publicUrl)
  grantRoutes(app, service.grants, publicUrl)
  const provider = await createProvider(service)
  const perFive = oauthSettings.from(deps.config).requestsPerFiveMinutes
  await mountProvider(app, provider, {
    deps: { ...deps, checkCredentials: service.checkCredentials },
    publicUrl,
    limit: perFive > 0 ? { name: 'oauth', limit: perFive, windowMs: 5 * 60_000 } : undefined,
  })
  // Ended codes, tokens, grants and interactions are deleted at start and then every hour.
  let timer: NodeJS.Timeout | null = null
  const purge = async () => {
    try {
      for (let batch = 0; batch < 100; batch++)
        if ((await purgeExpiredModels(deps.db, new Date(deps.clock.now()), 1000)) < 1000) break
    } catch (error) {
      app.log.warn({ err: error }, 'oauth purge failed')
    }
  }
  app.addHook('onReady', async () => {
    await purge()
    timer = setInterval(purge, PURGE_EVERY_MS)
    timer.unref()
  })
  app.addHook('onClose', async () => {
    if (timer) clearInterval(timer)
  })
}
