import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { includeQuerySchema, listRoute, NoQuery, parseIncludes } from '../../platform/http/list.ts'
import {
  addComponents,
  dataSchema,
  errorResponses,
  messageDataSchema,
  noContent,
} from '../../platform/http/responses.ts'
import {
  API_KEY_EXAMPLE,
  ApiKey,
  ApiKeyCreate,
  ApiKeyParams,
  ApiKeyRotate,
  ApiKeyRotation,
  ApiKeyWithSecret,
  apiKeyList,
} from './schemas.ts'
import type { ApiKeyService } from './service.ts'

const tags = ['API Keys']

export function apiKeyRoutes(fastify: FastifyInstance, service: ApiKeyService, publicUrl: string): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  addComponents(fastify, ApiKey, ApiKeyWithSecret, ApiKeyRotation)
  const list = listRoute(apiKeyList, ApiKey, publicUrl, 'A page of API keys')
  const location = (id: number) => `${publicUrl}/api/v1/api-keys/${id}`

  app.get(
    '/api/v1/api-keys',
    {
      schema: {
        tags,
        summary: 'List API keys',
        operationId: 'listApiKeys',
        description:
          'Keys of the workspace, newest first. Only the prefix of each key is shown. Without `status` ' +
          'the list holds the keys that were not revoked; `status=revoked` lists the revoked ones.',
        querystring: list.querystring,
        response: { 200: list.response, ...errorResponses() },
      },
      config: { auth: { scope: 'api-keys:read', workspace: true } },
    },
    (req) => {
      const { query, url } = list.parse(req)
      return service.list(req.principal!, req.workspace!, query, url)
    },
  )

  app.get(
    '/api/v1/api-keys/:id',
    {
      schema: {
        tags,
        summary: 'Get an API key',
        operationId: 'getApiKey',
        description: 'A revoked key is answered too, with `status: "revoked"`.',
        params: ApiKeyParams,
        querystring: includeQuerySchema(apiKeyList),
        response: {
          200: dataSchema(ApiKey.ref, { description: 'The API key', example: { data: API_KEY_EXAMPLE } }),
          ...errorResponses('not_found'),
        },
      },
      config: { auth: { scope: 'api-keys:read', workspace: true } },
    },
    async (req) => {
      const include = parseIncludes(req.query, apiKeyList)
      return { data: await service.get(req.principal!, req.workspace!, req.params.id, include) }
    },
  )

  app.post(
    '/api/v1/api-keys',
    {
      schema: {
        tags,
        summary: 'Create an API key',
        operationId: 'createApiKey',
        description:
          'The `key` is returned only in this response. Scopes default to `["read", "write"]` and cannot ' +
          "exceed the calling credential's; `rate_limit_tier` cannot exceed the workspace tier. A key " +
          'that expires cannot create a key that outlives it: `expires_at` beyond its own expiry is 422, ' +
          'and without `expires_at` the new key gets its expiry.',
        body: ApiKeyCreate,
        querystring: NoQuery,
        response: {
          201: messageDataSchema(ApiKeyWithSecret.ref, {
            description: 'The key was created; `data.key` is its secret, shown only here',
          }),
          ...errorResponses('feature_limit_reached'),
        },
      },
      config: { auth: { scope: 'api-keys:write', workspace: true } },
    },
    async (req, reply) => {
      const data = await service.create(req.principal!, req.workspace!, req.body)
      return reply
        .code(201)
        .header('location', location(data.id))
        .send({ message: 'API key created successfully.', data })
    },
  )

  app.post(
    '/api/v1/api-keys/:id/rotate',
    {
      schema: {
        tags,
        summary: 'Rotate an API key',
        operationId: 'rotateApiKey',
        description:
          'Issues a new key (new id) with the same name, scopes and tier. The old key keeps working ' +
          'until `grace_period_ends_at` (`grace_period_hours`, default 24; 0 revokes it at once and ' +
          'needs `api-keys:delete`). The calling credential must hold every scope of the key it ' +
          'rotates (403 otherwise). Rotated by a key that expires, the new key expires no later than it.',
        params: ApiKeyParams,
        body: Type.Union([ApiKeyRotate, Type.Null()], { examples: [{ grace_period_hours: 24 }] }),
        querystring: NoQuery,
        response: {
          200: messageDataSchema(ApiKeyRotation.ref, {
            description: 'The new key; the old one works until `grace_period_ends_at`',
          }),
          ...errorResponses('not_found', 'conflict'),
        },
      },
      config: { auth: { scope: 'api-keys:write', workspace: true } },
    },
    async (req) => {
      const data = await service.rotate(req.principal!, req.workspace!, req.params.id, req.body ?? {})
      return { message: 'API key rotated successfully.', data }
    },
  )

  app.delete(
    '/api/v1/api-keys/:id',
    {
      schema: {
        tags,
        summary: 'Revoke an API key',
        operationId: 'revokeApiKey',
        description:
          'The key stops working at once, on every instance. Its record stays for the audit trail: ' +
          '`GET` shows it with `status: "revoked"`, `revoked_at` and `revoked_by`, and the list shows ' +
          'revoked keys with `status=revoked`. Revoking it again is 409.',
        params: ApiKeyParams,
        querystring: NoQuery,
        response: { 204: noContent('The key was revoked'), ...errorResponses('not_found', 'conflict') },
      },
      config: { auth: { scope: 'api-keys:delete', workspace: true } },
    },
    async (req, reply) => {
      await service.revoke(req.principal!, req.workspace!, req.params.id)
      return reply.code(204).send(null)
    },
  )
}
