// buildApp(deps): the HTTP application — the platform plugins, then every module. It never
// listens and never creates infrastructure: main.ts (and the test harness) do that.
import swagger from '@fastify/swagger'
import scalar from '@scalar/fastify-api-reference'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { apiKeysModule, createApiKeyService, credentialSource } from './modules/api-keys/index.ts'
import { usersModule } from './modules/users/index.ts'
import { workspacesModule } from './modules/workspaces/index.ts'
import { auth, CredentialCache } from './platform/auth/index.ts'
import type { Config } from './platform/config/index.ts'
import type { DatabaseHandle } from './platform/db/index.ts'
import type { Deps } from './platform/deps.ts'
import { ApiError, httpPlatform, httpServerOptions } from './platform/http/index.ts'
import { openApiDocument } from './platform/http/openapi.ts'
import type { PubSub } from './platform/kv/index.ts'
import type { Clock } from './platform/lib/clock.ts'

export type AppDeps = {
  config: Config
  database: DatabaseHandle
  pubsub: PubSub
  clock: Clock
  masterKeyHash: string
  logger: FastifyServerOptions['logger']
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, database, pubsub, clock } = deps
  const app = Fastify({ ...httpServerOptions(config.bodyLimitBytes), logger: deps.logger })

  const credentials = new CredentialCache(pubsub, clock, config.credentialCacheSeconds * 1000)
  const shared: Deps = { config, db: database.db, clock, credentials }
  const apiKeys = createApiKeyService(shared, (error) =>
    app.log.warn({ err: error }, 'could not record key usage'),
  )

  await app.register(httpPlatform)
  await app.register(swagger, { openapi: openApiDocument(config.publicUrl) })
  await app.register(auth, {
    source: credentialSource(apiKeys, shared),
    cache: credentials,
    clock,
    masterKeyHash: deps.masterKeyHash,
  })

  await app.register(async (scope) => usersModule(scope))
  await app.register(async (scope) => workspacesModule(scope, shared))
  await app.register(async (scope) => apiKeysModule(scope, { ...shared, apiKeys }))

  registerOperations(app, database)
  await app.register(scalar, {
    routePrefix: '/docs',
    configuration: { url: '/api/openapi.json', withDefaultFonts: false },
  })

  app.addHook('onReady', async () => {
    await credentials.start()
    apiKeys.usage.start()
  })
  app.addHook('onClose', async () => {
    await apiKeys.usage.stop()
  })
  return app
}

function registerOperations(app: FastifyInstance, database: DatabaseHandle): void {
  app.get('/api/openapi.json', { schema: { hide: true } }, () => app.swagger())

  app.get('/health', { schema: { tags: ['Operations'], summary: 'Liveness: the process answers' } }, () => ({
    status: 'ok',
  }))

  app.get(
    '/ready',
    { schema: { tags: ['Operations'], summary: 'Readiness: the database answers' } },
    async function ready() {
      try {
        await database.ping()
      } catch {
        throw new ApiError('service_unavailable', 'The database is not reachable.')
      }
      return { status: 'ready', database: database.engine }
    },
  )
}
