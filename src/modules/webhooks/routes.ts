import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { listRoute, NoQuery } from '../../platform/http/list.ts'
import {
  addComponents,
  dataSchema,
  errorResponses,
  messageDataSchema,
  noContent,
} from '../../platform/http/responses.ts'
import {
  DeliveryParams,
  deliveryList,
  ENDPOINT_EXAMPLE,
  EndpointCreate,
  EndpointParams,
  EndpointUpdate,
  endpointList,
  RetryOut,
  SecretRotate,
  StatsQuery,
  TestResult,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookEndpointCreated,
  WebhookEventType,
  WebhookSecret,
  WebhookStats,
} from './schemas.ts'
import type { WebhookService } from './service.ts'

const tags = ['Webhooks']

export function webhookRoutes(fastify: FastifyInstance, service: WebhookService, publicUrl: string): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  addComponents(
    fastify,
    WebhookEndpoint,
    WebhookEndpointCreated,
    WebhookSecret,
    WebhookDelivery,
    WebhookEventType,
    WebhookStats,
  )
  const endpoints = listRoute(endpointList, WebhookEndpoint, publicUrl, 'A page of webhook endpoints')
  const deliveries = listRoute(
    deliveryList,
    WebhookDelivery,
    publicUrl,
    "A page of the endpoint's deliveries",
  )
  const location = (id: number) => `${publicUrl}/api/v1/webhooks/${id}`
  const read = { auth: { scope: 'webhooks:read' as const, workspace: true } }
  const write = { auth: { scope: 'webhooks:write' as const, workspace: true } }

  app.get(
    '/api/v1/webhooks',
    {
      schema: {
        tags,
        summary: 'List webhook endpoints',
        operationId: 'listWebhooks',
        querystring: endpoints.querystring,
        response: { 200: endpoints.response, ...errorResponses() },
      },
      config: read,
    },
    (req) => {
      const { query, url } = endpoints.parse(req)
      return service.list(req.workspace!, query, url)
    },
  )

  app.get(
    '/api/v1/webhooks/event-types',
    {
      schema: {
        tags,
        summary: 'List event types',
        operationId: 'listWebhookEventTypes',
        description:
          'The catalogue of events endpoints can subscribe to: each type with what it means, the read scope a ' +
          'credential needs to subscribe to it, and an example payload exactly as a receiver gets it.',
        querystring: NoQuery,
        response: {
          200: dataSchema(Type.Array(WebhookEventType.ref), {
            description: 'Every event type, in the order the modules register them',
          }),
          ...errorResponses(),
        },
      },
      config: read,
    },
    () => ({ data: service.eventTypes() }),
  )

  app.get(
    '/api/v1/webhooks/stats',
    {
      schema: {
        tags,
        summary: 'Get delivery stats',
        operationId: 'getWebhookStats',
        description:
          "The workspace's deliveries (or one endpoint's, with `webhook_id`) created in the range, per UTC hour " +
          'or day of their creation, counted by where they stand now: succeeded, failed for good, or still ' +
          'pending (pending or retrying). `from` is rounded down and `to` up to whole buckets; the range covers ' +
          'at most 90 days (2,160 hourly buckets). Deliveries older than WEBHOOK_RETENTION_DAYS are purged, ' +
          'so they are no longer counted.',
        querystring: StatsQuery,
        response: {
          200: dataSchema(WebhookStats.ref, {
            description: 'Counts per bucket, totals and the success rate',
          }),
          ...errorResponses('not_found'),
        },
      },
      config: read,
    },
    async (req) => ({ data: await service.stats(req.workspace!, req.query) }),
  )

  app.get(
    '/api/v1/webhooks/:id',
    {
      schema: {
        tags,
        summary: 'Get a webhook endpoint',
        operationId: 'getWebhook',
        params: EndpointParams,
        querystring: NoQuery,
        response: {
          200: dataSchema(WebhookEndpoint.ref, {
            description: 'The webhook endpoint',
            example: { data: ENDPOINT_EXAMPLE },
          }),
          ...errorResponses('not_found'),
        },
      },
      config: read,
    },
    async (req) => ({ data: await service.get(req.workspace!, req.params.id) }),
  )

  app.post(
    '/api/v1/webhooks',
    {
      schema: {
        tags,
        summary: 'Create a webhook endpoint',
        operationId: 'createWebhook',
        description:
          'The URL must be HTTPS and resolve to public addresses only. `secret` is returned only in this response. ' +
          "Counts against the plan's `webhooks` limit. Subscribing is reading: the credential needs the read scope " +
          'of every resource `events` matches (`posts:read` for `post.*`; all of them for `*`), else 403 `access_denied`.',
        body: EndpointCreate,
        querystring: NoQuery,
        response: {
          201: messageDataSchema(WebhookEndpointCreated.ref, {
            description: 'The endpoint was created; `data.secret` is its signing secret, shown only here',
          }),
          ...errorResponses('feature_limit_reached'),
        },
      },
      config: write,
    },
    async (req, reply) => {
      const data = await service.create(req.principal!, req.workspace!, req.body)
      return reply
        .code(201)
        .header('location', location(data.id))
        .send({ message: 'Webhook endpoint created successfully.', data })
    },
  )

  app.patch(
    '/api/v1/webhooks/:id',
    {
      schema: {
        tags,
        summary: 'Update a webhook endpoint',
        operationId: 'updateWebhook',
        description:
          'Changing `events` or `url` needs the read scope of every resource the (resulting) `events` match, ' +
          'as creation does; `is_active: true` re-enables an endpoint that was disabled.',
        params: EndpointParams,
        body: EndpointUpdate,
        querystring: NoQuery,
        response: {
          200: messageDataSchema(WebhookEndpoint.ref, { description: 'The endpoint as updated' }),
          ...errorResponses('not_found'),
        },
      },
      config: write,
    },
    async (req) => ({
      message: 'Webhook endpoint updated successfully.',
      data: await service.update(req.principal!, req.workspace!, req.params.id, req.body),
    }),
  )

  app.delete(
    '/api/v1/webhooks/:id',
    {
      schema: {
        tags,
        summary: 'Delete a webhook endpoint',
        operationId: 'deleteWebhook',
        params: EndpointParams,
        querystring: NoQuery,
        response: { 204: noContent('The endpoint was deleted'), ...errorResponses('not_found') },
      },
      config: { auth: { scope: 'webhooks:delete', workspace: true } },
    },
    async (req, reply) => {
      await service.remove(req.workspace!, req.params.id)
      return reply.code(204).send(null)
    },
  )

  app.post(
    '/api/v1/webhooks/:id/rotate-secret',
    {
      schema: {
        tags,
        summary: 'Rotate the signing secret',
        operationId: 'rotateWebhookSecret',
        description:
          'Signs with the new secret from now on and, for `grace_period_hours` (default 24), with the old one too: ' +
          'each request then carries two `v1,` signatures.',
        params: EndpointParams,
        body: Type.Union([SecretRotate, Type.Null()], { examples: [{ grace_period_hours: 24 }] }),
        querystring: NoQuery,
        response: {
          200: messageDataSchema(WebhookSecret.ref, { description: 'The new secret signs from now on' }),
          ...errorResponses('not_found'),
        },
      },
      config: write,
    },
    async (req) => ({
      message: 'Webhook secret rotated successfully.',
      data: await service.rotateSecret(req.workspace!, req.params.id, req.body ?? {}),
    }),
  )

  app.post(
    '/api/v1/webhooks/:id/test',
    {
      schema: {
        tags,
        summary: 'Send a test event',
        operationId: 'testWebhook',
        description:
          'Sends a `webhook.test` event now and answers with the outcome (200 either way). It appears in the deliveries log.',
        params: EndpointParams,
        querystring: NoQuery,
        response: { 200: TestResult, ...errorResponses('not_found') },
      },
      config: write,
    },
    (req) => service.test(req.workspace!, req.params.id),
  )

  app.get(
    '/api/v1/webhooks/:id/deliveries',
    {
      schema: {
        tags,
        summary: 'List deliveries',
        operationId: 'listWebhookDeliveries',
        params: EndpointParams,
        querystring: deliveries.querystring,
        response: { 200: deliveries.response, ...errorResponses('not_found') },
      },
      config: read,
    },
    (req) => {
      const { query, url } = deliveries.parse(req)
      return service.deliveries(req.workspace!, req.params.id, query, url)
    },
  )

  app.get(
    '/api/v1/webhooks/:webhook_id/deliveries/:delivery_id',
    {
      schema: {
        tags,
        summary: 'Get a delivery',
        operationId: 'getWebhookDelivery',
        description:
          'With the signed request, the start of the last response, and every attempt (newest first, at most 50): ' +
          'when it started and finished, its status code or error, and the start of its response.',
        params: DeliveryParams,
        querystring: NoQuery,
        response: {
          200: dataSchema(WebhookDelivery.ref, {
            description: 'The delivery, with its request, response and attempts',
          }),
          ...errorResponses('not_found'),
        },
      },
      config: read,
    },
    async (req) => {
      const { webhook_id, delivery_id } = req.params
      return { data: await service.delivery(req.workspace!, webhook_id, delivery_id) }
    },
  )

  app.post(
    '/api/v1/webhooks/:webhook_id/deliveries/:delivery_id/retry',
    {
      schema: {
        tags,
        summary: 'Retry a delivery',
        operationId: 'retryWebhookDelivery',
        description:
          '`failed` and `retrying` deliveries only; 400 `cannot_retry` otherwise, while the delivery is being sent, ' +
          'or when its attempts are used up.',
        params: DeliveryParams,
        querystring: NoQuery,
        response: { 200: RetryOut, ...errorResponses('cannot_retry', 'not_found') },
      },
      config: write,
    },
    async (req) => {
      const { webhook_id, delivery_id } = req.params
      return {
        message: 'Delivery queued for retry.',
        data: await service.retry(req.workspace!, webhook_id, delivery_id),
      }
    },
  )
}
