// buildApp(deps): the HTTP application — the platform plugins, then every module. It never
// listens and never creates infrastructure: server.ts (for main.ts and the tests) does that.
import swagger from '@fastify/swagger'
import scalar from '@scalar/fastify-api-reference'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Redis } from 'ioredis'
import { Type } from 'typebox'
import { composeServices } from './compose.ts'
import { apiKeysModule } from './modules/api-keys/index.ts'
import { dashboardModule } from './modules/dashboard/index.ts'
import { entitlementsModule } from './modules/entitlements/index.ts'
import { idempotencyModule } from './modules/idempotency/index.ts'
import { mcpModule } from './modules/mcp/index.ts'
import { oauthModule } from './modules/oauth/index.ts'
import { pixelModule } from './modules/pixel/index.ts'
import { postsModule } from './modules/posts/index.ts'
import { createLimiter, createRequestLimiter } from './modules/rate-limit/index.ts'
import { seoModule } from './modules/seo/index.ts'
import { sessionsModule } from './modules/sessions/index.ts'
import { usersModule } from './modules/users/index.ts'
import { webhooksModule } from './modules/webhooks/index.ts'
import { workspacesModule } from './modules/workspaces/index.ts'
import { auth } from './platform/auth/index.ts'
import type { Config } from './platform/config/index.ts'
import type { DatabaseHandle } from './platform/db/index.ts'
import { ApiError, httpPlatform, httpServerOptions } from './platform/http/index.ts'
import { PageLinks, PageMeta } from './platform/http/list.ts'
import { documentRoute, openApiDocument, refResolver, shareHeaders } from './platform/http/openapi.ts'
import { addComponents, ErrorBody, errorResponse } from './platform/http/responses.ts'
import type { PubSub } from './platform/kv/index.ts'
import type { Clock } from './platform/lib/clock.ts'
import { AccessLog } from './platform/logging.ts'
import { createMetrics, type Metrics } from './platform/metrics.ts'

export type AppDeps = {
  config: Config
  database: DatabaseHandle
  pubsub: PubSub
  /** Commands connection to Redis (rate limits), or null without REDIS_URL. */
  redis: Redis | null
  clock: Clock
  masterKeyHash: string
  /** Key material for secrets at rest (ENCRYPTION_KEY or the generated one). */
  encryptionKey: string
  logger: FastifyServerOptions['logger']
  /** Closes the infrastructure; runs after everything else has stopped. */
  closeInfrastructure: () => Promise<void>
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, database, pubsub, clock } = deps
  const app = Fastify({
    ...httpServerOptions(config.bodyLimitBytes),
    // A hop count is supported at runtime though missing from the type.
    trustProxy: config.trustProxy as boolean | string,
    logger: deps.logger,
    // One access line per request, written when its response is done (platform/logging.ts).
    logController: new AccessLog(),
  })
  // onClose hooks run last-registered first: registered first, this one runs last.
  app.addHook('onClose', deps.closeInfrastructure)
  const warn = (message: string, error: unknown) => app.log.warn({ err: error }, message)
  const metrics = createMetrics()

  const services = composeServices({
    config,
    database,
    pubsub,
    clock,
    encryptionKey: deps.encryptionKey,
    warn,
  })
  const { shared, credentials, apiKeys, webhooks } = services
  const rateLimits = { config, clock, metrics, redis: deps.redis, warn }
  const limiter = createLimiter(rateLimits)

  await app.register(httpPlatform)
  await app.register(swagger, {
    openapi: openApiDocument(config.publicUrl),
    transform: documentRoute,
    transformObject: shareHeaders,
    refResolver,
  })
  addComponents(app, ErrorBody, PageMeta, PageLinks)
  await app.register(auth, {
    sources: services.credentialSources,
    findWorkspace: services.findWorkspace,
    cache: credentials,
    clock,
    masterKeyHash: deps.masterKeyHash,
    ownOrigin: new URL(config.publicUrl).origin,
    limiter: config.rateLimitEnabled ? createRequestLimiter(rateLimits, limiter) : undefined,
  })
  await app.register(idempotencyModule, { config, db: database.db, clock, box: services.box })

  const { publicUrl } = config
  await app.register(async (scope) => usersModule(scope, services.users))
  await app.register(async (scope) => sessionsModule(scope, services.sessions, shared))
  await app.register(async (scope) => workspacesModule(scope, services, publicUrl))
  await app.register(async (scope) => apiKeysModule(scope, { ...shared, apiKeys }))
  await app.register(async (scope) => entitlementsModule(scope, services.entitlements))
  await app.register(async (scope) => postsModule(scope, services.posts, publicUrl))
  await app.register(async (scope) => webhooksModule(scope, webhooks, publicUrl))
  await app.register(async (scope) => pixelModule(scope, services.pixel, shared, metrics))
  await app.register(async (scope) => oauthModule(scope, services.oauth, publicUrl))
  await app.register(async (scope) => mcpModule(scope, services.mcp, publicUrl))
  await app.register(async (scope) => seoModule(scope, services.seo, publicUrl))

  registerOperations(app, database, metrics)
  await registerReference(app)
  await app.register(async (scope) => dashboardModule(scope))

  app.addHook('onReady', async () => {
    await credentials.start()
    apiKeys.usage.start()
    if (config.webhookWorker) {
      await webhooks.worker.start()
      await services.seo.worker.start()
    }
  })
  app.addHook('onClose', async () => {
    await services.seo.worker.stop()
    await webhooks.worker.stop()
    webhooks.sender.close()
    await apiKeys.usage.stop()
    await limiter.close()
  })
  return app
}

export const REFERENCE_TITLE = 'core-api API reference'

/**
 * The interactive reference at /docs, self-contained: the hosted Scalar features (AI agent,
 * MCP generator, developer tools with their deploy and share buttons, telemetry) are off, since
 * they would send the document of a self-hosted API to a third party.
 */
async function registerReference(app: FastifyInstance): Promise<void> {
  // The page and its assets are never refused by a bucket (the routes are the plugin's own).
  app.addHook('onRoute', (route) => {
    if (route.url === '/docs' || route.url.startsWith('/docs/'))
      route.config = { ...route.config, unmetered: true }
  })
  await app.register(scalar, {
    routePrefix: '/docs',
    configuration: {
      url: '/api/openapi.json',
      pageTitle: REFERENCE_TITLE,
      metaData: { title: REFERENCE_TITLE },
      withDefaultFonts: false,
      hideClientButton: true,
      showDeveloperTools: 'never',
      agent: { disabled: true },
      mcp: { disabled: true },
      telemetry: false,
    },
  })
}

function registerOperations(app: FastifyInstance, database: DatabaseHandle, metrics: Metrics): void {
  const unmetered = { unmetered: true }
  // A browser opening the server's address lands on the reference.
  app.get('/', { schema: { hide: true }, config: unmetered }, (_req, reply) => reply.redirect('/docs', 302))

  app.get('/api/openapi.json', { schema: { hide: true }, config: { ...unmetered, public: true } }, () =>
    app.swagger(),
  )

  app.get('/metrics', { schema: { hide: true }, config: unmetered }, async (_req, reply) => {
    reply.type(metrics.registry.contentType)
    return metrics.registry.metrics()
  })

  app.get(
    '/health',
    {
      schema: {
        tags: ['Operations'],
        summary: 'Liveness: the process answers',
        operationId: 'getHealth',
        response: {
          200: Type.Object(
            { status: Type.Literal('ok') },
            { description: 'The process answers', examples: [{ status: 'ok' }] },
          ),
        },
      },
      config: unmetered,
    },
    () => ({ status: 'ok' }),
  )

  app.get(
    '/ready',
    {
      schema: {
        tags: ['Operations'],
        summary: 'Readiness: the database answers',
        operationId: 'getReadiness',
        response: {
          200: Type.Object(
            {
              status: Type.Literal('ready'),
              database: Type.String({ description: '`pglite` or `postgres`' }),
            },
            { description: 'The database answers', examples: [{ status: 'ready', database: 'postgres' }] },
          ),
          503: errorResponse(['service_unavailable']),
        },
      },
      config: unmetered,
    },
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
