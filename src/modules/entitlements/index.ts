// Entitlements module (seed 004 "Entitlements"): plan limits per tier, usage, and the
// `reserve` step that resource modules call inside their create transactions.
import type { FastifyInstance } from 'fastify'
import { registerScopeResources } from '../../platform/auth/index.ts'
import type { Deps } from '../../platform/deps.ts'
import { loadPlans } from './plans.ts'
import { entitlementRoutes } from './routes.ts'
import { EntitlementService } from './service.ts'

/**
 * Builds the service other modules register their counters with. Once every module is built,
 * the composition root calls `assertCounters()`: a count feature of the plans that no module
 * counts is a start-up error, never a silent 0.
 */
export function createEntitlementService(deps: Deps): EntitlementService {
  registerScopeResources('entitlements')
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

export type { EntitlementService } from './service.ts'
// The counter steps a resource module puts into its own create and delete statements.
export { counterSteps, releaseStep } from './store.ts'
