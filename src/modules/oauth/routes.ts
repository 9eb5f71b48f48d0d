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
import type { GrantService } from './grants.ts'
import {
  CLIENT_EXAMPLE,
  ClientCreate,
  ClientParams,
  ClientUpdate,
  clientList,
  GrantParams,
  grantList,
  OAuthClient,
  OAuthClientWithSecret,
  OAuthGrant,
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

/** The apps the signed-in person has authorised, listed and revoked from their dashboard session. */
export function grantRoutes(fastify: FastifyInstance, service: GrantService, publicUrl: string): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  addComponents(fastify, OAuthGrant)
  const list = listRoute(grantList, OAuthGrant, publicUrl, 'A page of the apps the person has authorised')
  const own = { auth: { scope: null, workspace: false } }
  const grantTags = ['Sessions']

  app.get(
    '/api/auth/grants',
    {
      schema: {
        tags: grantTags,
        summary: 'List the apps you have authorised',
        operationId: 'listGrants',
        description:
          'The partner apps the signed-in person allowed to act for them (at the consent page), with the ' +
          'scopes allowed and when the app last obtained a token. A dashboard session only: any other ' +
          'credential is 403. `created_after`/`created_before` filter on the consent, ' +
          '`updated_after`/`updated_before` on the last use.',
        querystring: list.querystring,
        response: { 200: list.response, ...errorResponses() },
      },
      config: own,
    },
    (req) => {
      const { query, url } = list.parse(req)
      return service.list(req.principal!, query, url)
    },
  )

  app.delete(
    '/api/auth/grants/:id',
    {
      schema: {
        tags: grantTags,
        summary: 'Revoke an app you have authorised',
        operationId: 'revokeGrant',
        description:
          "Ends the grant and every access and refresh token the app holds under it, on every instance, at the app's " +
          "next request; the app must ask again. Another person's grant is 404. A dashboard session only.",
        params: GrantParams,
        querystring: NoQuery,
        response: { 204: noContent('The grant was revoked'), ...errorResponses('not_found') },
      },
      config: own,
    },
    async (req, reply) => {
      await service.revoke(req.principal!, req.params.id)
      return reply.code(204).send(null)
    },
  )
}
