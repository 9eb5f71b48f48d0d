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

export async function entitlementsModule(app: FastifyInstance, service: EntitlementService): Promise<void> {
  entitlementRoutes(app, service)
}

export type { Counter, EntitlementService } from './service.ts'
