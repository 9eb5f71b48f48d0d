// Entitlements module (seed 004 "Entitlements"): plan limits per tier, usage, and the
// `reserve` step that resource modules call inside their create transactions.
import type { FastifyInstance } from 'fastify'
import type { Deps } from '../../platform/deps.ts'
import { loadPlans } from './plans.ts'
import { entitlementRoutes } from './routes.ts'
import { EntitlementService } from './service.ts'

export function createEntitlementService(deps: Deps): EntitlementService {
  return new EntitlementService(deps, loadPlans(deps.config.plansFile))
}

const PURGE_EVERY_MS = 60 * 60_000

export async function entitlementsModule(app: FastifyInstance, service: EntitlementService): Promise<void> {
  entitlementRoutes(app, service)

  // Usage older than USAGE_RETENTION_DAYS is purged at start and then every hour, on every
  // instance (each run is a few bounded deletes; running twice deletes nothing more).
  let timer: NodeJS.Timeout | null = null
  const purge = () =>
    service.purgeUsage().catch((error) => app.log.warn({ err: error }, 'usage purge failed'))
  app.addHook('onReady', async () => {
    await purge()
    timer = setInterval(purge, PURGE_EVERY_MS)
    timer.unref()
  })
  app.addHook('onClose', async () => {
    if (timer) clearInterval(timer)
  })
}

export type { Counter, EntitlementService } from './service.ts'
