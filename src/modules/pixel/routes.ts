import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ERROR_CODES, type ErrorCode } from '../../platform/http/errors.ts'
import { listRoute, NoQuery } from '../../platform/http/list.ts'
import {
  addComponents,
  dataSchema,
  errorResponse,
  errorResponses,
  messageDataSchema,
  noContent,
} from '../../platform/http/responses.ts'
import {
  ConfigQuery,
  PixelConfig,
  PixelSite,
  PixelStats,
  PixelTrackResult,
  SITE_EXAMPLE,
  SiteCreate,
  SiteParams,
  SiteUpdate,
  StatsQuery,
  siteList,
  TrackBody,
} from './schemas.ts'
import type { PixelService, TrackOutcome } from './service.ts'

const tags = ['Pixel']

/** The tracker as served, its digest (the versioned URL and Subresource Integrity) and its URL. */
const TRACKER = (() => {
  const source = readFileSync(new URL('./tracker.js', import.meta.url))
  const digest = createHash('sha256').update(source).digest()
  return {
    source,
    etag: `"${digest.toString('base64url').slice(0, 22)}"`,
    integrity: `sha256-${digest.toString('base64')}`,
    path: `/pixel/${digest.toString('hex').slice(0, 16)}.js`,
  }
})()

/** What a public route can answer without a credential: never 401 or 403. */
const PUBLIC: readonly ErrorCode[] = [
  'validation_failed',
  'rate_limit_exceeded',
  'server_error',
  'service_unavailable',
]

/** The error responses of a public route: its input, the per-IP budget and 5xx, plus its own codes. */
function publicErrors(...codes: ErrorCode[]) {
  const byStatus = new Map<number, ErrorCode[]>()
  for (const code of [...PUBLIC, ...codes]) {
    const status = ERROR_CODES[code].status
    byStatus.set(status, [...(byStatus.get(status) ?? []), code])
  }
  return Object.fromEntries([...byStatus].map(([status, list]) => [status, errorResponse(list)]))
}

export function siteRoutes(fastify: FastifyInstance, service: PixelService, publicUrl: string): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  addComponents(fastify, PixelSite, PixelStats)
  const list = listRoute(siteList, PixelSite, publicUrl, 'A page of pixel sites')
  const location = (id: unknown) => `${publicUrl}/api/v1/pixel/sites/${id}`

  app.get(
    '/api/v1/pixel/sites',
    {
      schema: {
        tags,
        summary: 'List pixel sites',
        operationId: 'listPixelSites',
        querystring: list.querystring,
        response: { 200: list.response, ...errorResponses() },
      },
      config: { auth: { scope: 'pixel:read', workspace: true } },
    },
    (req) => {
      const { query, url } = list.parse(req)
      return service.list(req.workspace!, query, url)
    },
  )

  app.get(
    '/api/v1/pixel/sites/:id',
    {
      schema: {
        tags,
        summary: 'Get a pixel site',
        operationId: 'getPixelSite',
        params: SiteParams,
        querystring: NoQuery,
        response: {
          200: dataSchema(PixelSite.ref, { description: 'The site', example: { data: SITE_EXAMPLE } }),
          ...errorResponses('not_found'),
        },
      },
      config: { auth: { scope: 'pixel:read', workspace: true } },
    },
    async (req) => ({ data: await service.get(req.workspace!, req.params.id) }),
  )

  app.post(
    '/api/v1/pixel/sites',
    {
      schema: {
        tags,
        summary: 'Register a pixel site',
        operationId: 'createPixelSite',
        description:
          'A domain is registered once across the platform: a second registration is 409 `conflict`.',
        body: SiteCreate,
        querystring: NoQuery,
        response: {
          201: messageDataSchema(PixelSite.ref, {
            description: 'The site was registered; `Location` is its URL',
            example: { message: 'Site created successfully.', data: SITE_EXAMPLE },
          }),
          ...errorResponses('conflict'),
        },
      },
      config: { auth: { scope: 'pixel:write', workspace: true } },
    },
    async (req, reply) => {
      const data = await service.create(req.workspace!, req.body)
      return reply
        .code(201)
        .header('location', location(data.id))
        .send({ message: 'Site created successfully.', data })
    },
  )

  app.patch(
    '/api/v1/pixel/sites/:id',
    {
      schema: {
        tags,
        summary: 'Update a pixel site',
        operationId: 'updatePixelSite',
        description:
          "`features` is merged into the current features. A new `timezone` deletes the site's daily rollups, which the hourly upkeep rolls up again from the events; it is 409 `conflict` when `PIXEL_RETENTION_DAYS` has deleted events of rolled-up days, which could not be counted again.",
        params: SiteParams,
        body: SiteUpdate,
        querystring: NoQuery,
        response: {
          200: messageDataSchema(PixelSite.ref, {
            description: 'The site as updated',
            example: { message: 'Site updated successfully.', data: { ...SITE_EXAMPLE, enabled: false } },
          }),
          ...errorResponses('not_found', 'conflict'),
        },
      },
      config: { auth: { scope: 'pixel:write', workspace: true } },
    },
    async (req) => {
      const data = await service.update(req.workspace!, req.params.id, req.body)
      return { message: 'Site updated successfully.', data }
    },
  )

  app.delete(
    '/api/v1/pixel/sites/:id',
    {
      schema: {
        tags,
        summary: 'Delete a pixel site',
        operationId: 'deletePixelSite',
        description: 'Its events are deleted with it.',
        params: SiteParams,
        querystring: NoQuery,
        response: { 204: noContent('The site and its events were deleted'), ...errorResponses('not_found') },
      },
      config: { auth: { scope: 'pixel:delete', workspace: true } },
    },
    async (req, reply) => {
      await service.remove(req.workspace!, req.params.id)
      return reply.code(204).send(null)
    },
  )

  app.get(
    '/api/v1/pixel/sites/:id/stats',
    {
      schema: {
        tags,
        summary: 'Get the stats of a pixel site',
        operationId: 'getPixelSiteStats',
        description:
          "Totals, a time series and breakdowns over a range of days (default: the last 30 days, today included) in a time zone (default: the site's `timezone`). `source` selects whole visits: those whose entry page view came from it.",
        params: SiteParams,
        querystring: StatsQuery,
        response: {
          200: dataSchema(PixelStats.ref, { description: 'The stats of the site over the range' }),
          ...errorResponses('not_found'),
        },
      },
      config: { auth: { scope: 'pixel:read', workspace: true } },
    },
    async (req) => ({ data: await service.stats(req.workspace!, req.params.id, req.query) }),
  )
}

/**
 * The endpoints the tracker calls from any site: no credential, CORS open (on every answer,
 * errors and 429 included), and track's own per-IP budget.
 */
export function publicRoutes(
  fastify: FastifyInstance,
  service: PixelService,
  perMinute: number,
  counted: (outcome: TrackOutcome) => void,
): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  addComponents(fastify, PixelConfig, PixelTrackResult)
  const trackLimit = { name: 'pixel', limit: perMinute, windowMs: 60_000 }
  app.addHook('onSend', function allowAnyOrigin(_req, reply, payload, done) {
    reply.header('access-control-allow-origin', '*')
    done(null, payload)
  })

  app.get(
    '/api/v1/pixel/config',
    {
      schema: {
        tags,
        summary: 'Get the pixel configuration of a site',
        operationId: 'getPixelConfig',
        description:
          'The site is found from the `Origin` header, else `Referer`, else `?domain=`; an unknown site is 404.',
        querystring: ConfigQuery,
        response: {
          200: { ...PixelConfig.ref, description: "The site's configuration" },
          ...publicErrors('not_found'),
        },
      },
      config: { public: true },
    },
    (req) => {
      const { origin, referer } = req.headers
      return service.config({ origin, referer }, req.query.domain)
    },
  )

  app.post(
    '/api/v1/pixel/track',
    {
      bodyLimit: 16 * 1024,
      schema: {
        tags,
        summary: 'Track a page view or event',
        operationId: 'trackPixelEvent',
        description:
          'Takes `application/json` or `text/plain` bodies. The site is the one of the `url`\'s hostname. Bots, unknown or disabled sites and sampled-out visitors answer `{"tracked": false}` and store nothing; `{"tracked": true}` is sent once the event is committed.',
        consumes: ['application/json', 'text/plain'],
        body: TrackBody,
        querystring: NoQuery,
        response: {
          200: { ...PixelTrackResult.ref, description: 'Whether the event was stored' },
          ...publicErrors('invalid_json', 'payload_too_large', 'unsupported_media_type'),
        },
      },
      config: { public: true, acceptsTextPlain: true, rateLimit: trackLimit },
    },
    async (req) => {
      const outcome = await service.track({
        body: req.body,
        ip: req.ip,
        userAgent: req.headers['user-agent'],
      })
      counted(outcome)
      return { tracked: outcome === 'tracked' }
    },
  )

  // Preflight of a browser that sends application/json (text/plain needs none). Its URL is the
  // one of the request it clears, query included, so it takes any query.
  for (const [url, operationId, target] of [
    ['/api/v1/pixel/config', 'preflightPixelConfig', 'the configuration'],
    ['/api/v1/pixel/track', 'preflightPixelTrack', 'track'],
  ] as const) {
    app.options(
      url,
      {
        schema: {
          tags,
          summary: `CORS preflight of ${target}`,
          operationId,
          description:
            'Allows any origin to send `Content-Type: application/json`; browsers cache the answer for a day.',
          response: {
            204: noContent('Allowed: `Access-Control-Allow-Methods` and `-Headers` say what'),
            429: errorResponse(['rate_limit_exceeded']),
            500: errorResponse(['server_error']),
            503: errorResponse(['service_unavailable']),
          },
        },
        config: { public: true, rateLimit: trackLimit },
      },
      async (_req, reply) =>
        reply
          .code(204)
          .header('access-control-allow-methods', 'GET, POST, OPTIONS')
          .header('access-control-allow-headers', 'Content-Type')
          .header('access-control-max-age', '86400')
          .send(null),
    )
  }
}

function sendTracker(req: FastifyRequest, reply: FastifyReply, cacheControl: string) {
  reply
    .header('cache-control', cacheControl)
    .header('etag', TRACKER.etag)
    .header('access-control-allow-origin', '*')
    .header('cross-origin-resource-policy', 'cross-origin')
    .header('content-location', TRACKER.path)
    .header('x-content-type-options', 'nosniff')
  if (req.headers['if-none-match'] === TRACKER.etag) return reply.code(304).send()
  return reply.type('text/javascript; charset=utf-8').send(TRACKER.source)
}

/** `/pixel.js` (revalidated every hour) and its immutable versioned twin. */
export function scriptRoutes(app: FastifyInstance): void {
  app.get('/pixel.js', { schema: { hide: true } }, (req, reply) =>
    sendTracker(req, reply, 'public, max-age=3600, stale-while-revalidate=86400'),
  )
  app.get(TRACKER.path, { schema: { hide: true } }, (req, reply) =>
    sendTracker(req, reply, 'public, max-age=31536000, immutable'),
  )
}
