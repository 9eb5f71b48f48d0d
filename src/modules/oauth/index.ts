// OAuth module: partner apps (clients) registered by a workspace, and — in later steps — the
// authorization server under /oauth2/ and its access tokens as credentials.
import type { FastifyInstance } from 'fastify'
import { registerScopeResources } from '../../platform/auth/index.ts'
import type { Deps } from '../../platform/deps.ts'
import { clientRoutes } from './routes.ts'
import { ClientService } from './service.ts'

export function createOAuth(deps: Deps): ClientService {
  registerScopeResources('oauth-clients')
  return new ClientService(deps)
}

export async function oauthModule(app: FastifyInstance, service: ClientService, publicUrl: string) {
  clientRoutes(app, service, publicUrl)
}

export type { ClientService }
