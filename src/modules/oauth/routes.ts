import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { listRoute, NoQuery } from '../../platform/http/list.ts'
import {
  addComponents,
  dataSchema,
  errorResponses,
  messageDataSchema,
  noContent,
} from '../../platform/http/responses.ts'
import {
  CLIENT_EXAMPLE,
  ClientCreate,
  ClientParams,
  ClientUpdate,
  clientList,
  OAuthClient,
  OAuthClientWithSecret,
} from './schemas.ts'
import type { ClientService } from './service.ts'

const tags = ['OAuth clients']
const read = { auth: { scope: 'oauth-clients:read' as const, workspace: true } }
const write = { auth: { scope: 'oauth-clients:write' as const, workspace: true } }
const remove = { auth: { scope: 'oauth-clients:delete' as const, workspace: true } }

export function clientRoutes(fastify: FastifyInstance, service: ClientService, publicUrl: string): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  addComponents(fastify, OAuthClient, OAuthClientWithSecret)
  const list = listRoute(clientList, OAuthClient, publicUrl, 'A page of OAuth clients')
  const location = (id: number) => `${publicUrl}/api/v1/oauth/clients/${id}`

  app.get(
    '/api/v1/oauth/clients',
    {
      schema: {
        tags,
        summary: 'List OAuth clients',
        operationId: 'listOAuthClients',
        querystring: list.querystring,
        response: { 200: list.response, ...errorResponses() },
      },
      config: read,
    },
    (req) => {
      const { query, url } = list.parse(req)
      return service.list(req.workspace!, query, url)
    },
  )

  app.get(
    '/api/v1/oauth/clients/:id',
    {
      schema: {
        tags,
        summary: 'Get an OAuth client',
        operationId: 'getOAuthClient',
        params: ClientParams,
        querystring: NoQuery,
        response: {
          200: dataSchema(OAuthClient.ref, { description: 'The client', example: { data: CLIENT_EXAMPLE } }),
          ...errorResponses('not_found'),
        },
      },
      config: read,
    },
    async (req) => ({ data: await service.get(req.workspace!, req.params.id) }),
  )

  app.post(
    '/api/v1/oauth/clients',
    {
      schema: {
        tags,
        summary: 'Register an OAuth client',
        operationId: 'createOAuthClient',
        description:
          'Registers a partner app. `client_secret` is answered here only, and stored as a hash. ' +
          'Redirect URIs are matched exactly; https, or http to localhost.',
        body: ClientCreate,
        querystring: NoQuery,
        response: {
          201: messageDataSchema(OAuthClientWithSecret.ref, {
            description: 'The client was registered; `Location` is its URL',
          }),
          ...errorResponses(),
        },
      },
      config: write,
    },
    async (req, reply) => {
      const data = await service.create(req.principal!, req.workspace!, req.body)
      return reply
        .code(201)
        .header('location', location(data.id))
        .send({ message: 'OAuth client created successfully.', data })
    },
  )

  app.patch(
    '/api/v1/oauth/clients/:id',
    {
      schema: {
        tags,
        summary: 'Update an OAuth client',
        operationId: 'updateOAuthClient',
        params: ClientParams,
        body: ClientUpdate,
        querystring: NoQuery,
        response: {
          200: messageDataSchema(OAuthClient.ref, { description: 'The client as updated' }),
          ...errorResponses('not_found'),
        },
      },
      config: write,
    },
    async (req) => ({
      message: 'OAuth client updated successfully.',
      data: await service.update(req.workspace!, req.params.id, req.body),
    }),
  )

  app.post(
    '/api/v1/oauth/clients/:id/rotate-secret',
    {
      schema: {
        tags,
        summary: 'Rotate the client secret',
        operationId: 'rotateOAuthClientSecret',
        description:
          'A new secret, answered here only; the old one stops working at once. 409 for a public app, which has none.',
        params: ClientParams,
        querystring: NoQuery,
        response: {
          200: messageDataSchema(OAuthClientWithSecret.ref, {
            description: 'The client with its new secret',
          }),
          ...errorResponses('not_found'),
        },
      },
      config: write,
    },
    async (req) => ({
      message: 'OAuth client secret rotated successfully.',
      data: await service.rotateSecret(req.workspace!, req.params.id),
    }),
  )

  app.delete(
    '/api/v1/oauth/clients/:id',
    {
      schema: {
        tags,
        summary: 'Delete an OAuth client',
        operationId: 'deleteOAuthClient',
        description: 'Every grant and token of the app ends with it, on every instance.',
        params: ClientParams,
        querystring: NoQuery,
        response: { 204: noContent('The client was deleted'), ...errorResponses('not_found') },
      },
      config: remove,
    },
    async (req, reply) => {
      await service.remove(req.workspace!, req.params.id)
      return reply.code(204).send(null)
    },
  )
}
