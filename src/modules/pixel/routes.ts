import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { type Static, Type } from 'typebox'
import { listQuerySchema, pageSchema, parseListQuery } from '../../platform/http/list.ts'
import {
  absoluteUrl,
  dataSchema,
  ErrorBody,
  errorResponses,
  messageDataSchema,
} from '../../platform/http/responses.ts'
import {
  ConfigOut,
  ConfigQuery,
  SiteCreate,
  SiteOut,
  SiteParams,
  SiteUpdate,
  StatsOut,
  StatsQuery,
  siteList,
  TrackBody,
  TrackOut,
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

/** Public errors: no credential, so no 401 or 403. */
function publicErrors(...statuses: number[]) {
  return Object.fromEntries([422, 429, ...statuses].map((s) => [s, ErrorBody]))
}

export function siteRoutes(app: FastifyInstance, service: PixelService, publicUrl: string): void {
  app.get(
    '/api/v1/pixel/sites',
    {
      schema: {
        tags,
        summary: 'List pixel sites',
        operationId: 'listPixelSites',
        querystring: listQuerySchema(siteList),
        response: { 200: pageSchema(Type.Partial(SiteOut)), ...errorResponses() },
      },
      config: { auth: { scope: 'pixel:read', workspace: true } },
    },
    (req) =>
      service.list(
        req.workspace!,
        parseListQuery(req.query as Record<string, unknown>, siteList),
        absoluteUrl(publicUrl, req.url),
      ),
  )

  app.get(
    '/api/v1/pixel/sites/:id',
    {
      schema: {
        tags,
        summary: 'Get a pixel site',
        operationId: 'getPixelSite',
        params: SiteParams,
        response: { 200: dataSchema(SiteOut), ...errorResponses(404) },
      },
      config: { auth: { scope: 'pixel:read', workspace: true } },
    },
    async (req) => ({
      data: await service.get(req.workspace!, (req.params as Static<typeof SiteParams>).id),
    }),
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
        response: { 201: messageDataSchema(SiteOut), ...errorResponses(409) },
      },
      config: { auth: { scope: 'pixel:write', workspace: true } },
    },
    async (req, reply) => {
      const data = await service.create(req.workspace!, req.body as Static<typeof SiteCreate>)
      return reply.code(201).send({ message: 'Site created successfully.', data })
    },
  )

  app.patch(
    '/api/v1/pixel/sites/:id',
    {
      schema: {
        tags,
        summary: 'Update a pixel site',
        operationId: 'updatePixelSite',
        description: '`features` is merged into the current features.',
        params: SiteParams,
        body: SiteUpdate,
        response: { 200: messageDataSchema(SiteOut), ...errorResponses(404, 409) },
      },
      config: { auth: { scope: 'pixel:write', workspace: true } },
    },
    async (req) => {
      const { id } = req.params as Static<typeof SiteParams>
      const data = await service.update(req.workspace!, id, req.body as Static<typeof SiteUpdate>)
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
        response: { 204: Type.Null(), ...errorResponses(404) },
      },
      config: { auth: { scope: 'pixel:delete', workspace: true } },
    },
    async (req, reply) => {
      await service.remove(req.workspace!, (req.params as Static<typeof SiteParams>).id)
      return reply.code(204).send()
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
          'Totals, a time series and breakdowns over a range of days (default: the last 30 days, today included) in a time zone (default UTC).',
        params: SiteParams,
        querystring: StatsQuery,
        response: { 200: dataSchema(StatsOut), ...errorResponses(404) },
      },
      config: { auth: { scope: 'pixel:read', workspace: true } },
    },
    async (req) => ({
      data: await service.stats(
        req.workspace!,
        (req.params as Static<typeof SiteParams>).id,
        req.query as Static<typeof StatsQuery>,
      ),
    }),
  )
}

/**
 * The endpoints the tracker calls from any site: no credential, CORS open (on every answer,
 * errors and 429 included), and track's own per-IP budget.
 */
export function publicRoutes(
  app: FastifyInstance,
  service: PixelService,
  perMinute: number,
  counted: (outcome: TrackOutcome) => void,
): void {
  const trackLimit = { name: 'pixel', limit: perMinute, windowMs: 60_000 }
  app.addHook('onSend', async function allowAnyOrigin(_req, reply) {
    reply.header('access-control-allow-origin', '*')
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
        response: { 200: ConfigOut, ...publicErrors(404) },
      },
      config: { public: true },
    },
    (req) => {
      const { origin, referer } = req.headers
      return service.config({ origin, referer }, (req.query as Static<typeof ConfigQuery>).domain)
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
        response: { 200: TrackOut, ...publicErrors(413, 415) },
      },
      config: { public: true, acceptsTextPlain: true, rateLimit: trackLimit },
    },
    async (req) => {
      const outcome = await service.track({
        body: req.body as Static<typeof TrackBody>,
        ip: req.ip,
        userAgent: req.headers['user-agent'],
      })
      counted(outcome)
      return { tracked: outcome === 'tracked' }
    },
  )

  // Preflight of a browser that sends application/json (text/plain needs none).
  for (const url of ['/api/v1/pixel/config', '/api/v1/pixel/track']) {
    app.options(
      url,
      { schema: { hide: true }, config: { public: true, rateLimit: trackLimit } },
      async (_req, reply) =>
        reply
          .code(204)
          .header('access-control-allow-methods', 'GET, POST, OPTIONS')
          .header('access-control-allow-headers', 'Content-Type')
          .header('access-control-max-age', '86400')
          .send(),
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
