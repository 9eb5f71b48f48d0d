import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { NoQuery } from '../../platform/http/list.ts'
import { errorResponses } from '../../platform/http/responses.ts'
import { CheckOut, CheckQuery, SummaryOut, UsageIn, UsageOut } from './schemas.ts'
import type { EntitlementService } from './service.ts'

const tags = ['Entitlements']

export function entitlementRoutes(fastify: FastifyInstance, service: EntitlementService): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  app.get(
    '/api/v1/entitlements/check',
    {
      schema: {
        tags,
        summary: 'Check feature access',
        operationId: 'checkEntitlement',
        description:
          'Whether the workspace may use `quantity` more of `feature` under its plan. A refusal is still 200, ' +
          'with `allowed: false`, `reason: LIMIT_EXCEEDED` and an `upgrade_url`.',
        querystring: CheckQuery,
        response: { 200: CheckOut, ...errorResponses() },
      },
      config: { auth: { scope: 'entitlements:read', workspace: true } },
    },
    (req) => {
      const { feature, quantity } = req.query
      return service.check(req.workspace!, feature, quantity ?? 1)
    },
  )

  app.post(
    '/api/v1/entitlements/usage',
    {
      schema: {
        tags,
        summary: 'Record usage',
        operationId: 'recordUsage',
        description:
          'Adds `quantity` to a metered or size feature (count features are counted from their resources). ' +
          'Beyond a hard limit the record is refused with 403 `feature_limit_reached`; soft limits only report. ' +
          'Pass `event_id` to make a retried record count once.',
        body: UsageIn,
        querystring: NoQuery,
        response: { 200: UsageOut, ...errorResponses('feature_limit_reached') },
      },
      config: { auth: { scope: 'entitlements:write', workspace: true } },
    },
    (req) => {
      const body = req.body
      return service.record(req.workspace!, {
        feature: body.feature,
        quantity: body.quantity ?? 1,
        eventId: body.event_id ?? null,
      })
    },
  )

  app.get(
    '/api/v1/entitlements/summary',
    {
      schema: {
        tags,
        summary: 'Usage summary',
        operationId: 'getEntitlementSummary',
        description:
          "Every feature of the workspace's plan: used, limit, available and percentage; and the " +
          "plan's `upgrade_url`.",
        querystring: NoQuery,
        response: { 200: SummaryOut, ...errorResponses() },
      },
      config: { auth: { scope: 'entitlements:read', workspace: true } },
    },
    async (req) => ({ data: await service.summary(req.workspace!) }),
  )
}
