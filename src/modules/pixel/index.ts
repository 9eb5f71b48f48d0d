// Pixel module: privacy-first web analytics (seed 004 "Pixel Tracking", PRODUCT.md "Pixel").
// Sites are registered per workspace (scope `pixel:*`); the tracker at /pixel.js reads the
// public config and posts events to the public track endpoint, which answers only once the
// event is committed (group commit); the stats API reads them back. See docs/pixel.md.
import type { FastifyInstance } from 'fastify'
import { Counter } from 'prom-client'
import { registerScopeResources } from '../../platform/auth/index.ts'
import type { Deps } from '../../platform/deps.ts'
import type { SecretBox } from '../../platform/lib/secret-box.ts'
import type { Metrics } from '../../platform/metrics.ts'
import { publicRoutes, scriptRoutes, siteRoutes } from './routes.ts'
import { PixelService } from './service.ts'
import { pixelSettings } from './settings.ts'

const PURGE_EVERY_MS = 60 * 60_000

/**
 * Builds the service and registers the scope resource `pixel`. One batch of events is written
 * at a time on either engine: the embedded one runs one statement at a time anyway, and on
 * PostgreSQL fewer, larger batches cost the database less per event (one commit for all) for
 * as many events a second (docs/pixel.md has the figures).
 */
export function createPixel(deps: Deps, box: SecretBox): PixelService {
  registerScopeResources('pixel')
  return new PixelService(deps, box, { maxInFlight: 1 })
}

export async function pixelModule(app: FastifyInstance, service: PixelService, deps: Deps, metrics: Metrics) {
  const outcomes = new Counter({
    name: 'core_api_pixel_track_total',
    help: 'Track requests answered, by outcome (only `tracked` is stored)',
    labelNames: ['outcome'],
    registers: [metrics.registry],
  })
  const batches = new Counter({
    name: 'core_api_pixel_batches_total',
    help: 'Batches of events written (group commit)',
    registers: [metrics.registry],
  })
  const batched = new Counter({
    name: 'core_api_pixel_batched_events_total',
    help: 'Events in the batches written; divided by the batches, the mean batch size',
    registers: [metrics.registry],
  })
  service.onBatch = (size) => {
    batches.inc()
    batched.inc(size)
  }
  siteRoutes(app, service, deps.config.publicUrl)
  scriptRoutes(app)
  const { trackPerMinute } = pixelSettings.from(deps.config)
  await app.register(async (scope) =>
    publicRoutes(scope, service, trackPerMinute, (outcome) => outcomes.inc({ outcome })),
  )
  // Requests still in flight at shutdown get their events written before the database closes.
  app.addHook('onClose', () => service.writer.drain())

  // Old salts and, with PIXEL_RETENTION_DAYS, old events go at start and then every hour, on
  // every instance (bounded deletes; running twice deletes nothing more).
  let timer: NodeJS.Timeout | null = null
  const purge = () => service.purge().catch((error) => app.log.warn({ err: error }, 'pixel purge failed'))
  app.addHook('onReady', async () => {
    await service.start()
    await purge()
    timer = setInterval(purge, PURGE_EVERY_MS)
    timer.unref()
  })
  app.addHook('onClose', async () => {
    if (timer) clearInterval(timer)
  })
}

export type { PixelService }
