import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { NoQuery } from '../../platform/http/list.ts'
import { dataSchema, errorResponses } from '../../platform/http/responses.ts'

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()])

export const MeOut = Type.Object({
  type: Type.Enum(['api_key', 'oauth_token', 'session', 'master_key']),
  user: Nullable(Type.Object({ id: Type.Integer(), email: Type.String(), name: Nullable(Type.String()) })),
  workspace: Nullable(
    Type.Object({ id: Type.Integer(), name: Type.String(), slug: Type.String(), tier: Type.String() }),
  ),
  key: Nullable(Type.Object({ id: Type.Integer(), name: Type.String(), prefix: Type.String() })),
  scopes: Type.Array(Type.String()),
})

const ME_EXAMPLE = {
  data: {
    type: 'api_key',
    user: { id: 7, email: 'ada@example.com', name: 'Ada Lovelace' },
    workspace: { id: 1, name: 'Acme Corporation', slug: 'acme-corp', tier: 'pro' },
    key: { id: 1, name: 'Production API Key', prefix: 'sk_live_abc' },
    scopes: ['posts:read', 'posts:write'],
  },
}

export function userRoutes(fastify: FastifyInstance): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  app.get(
    '/api/v1/me',
    {
      schema: {
        tags: ['Identity'],
        summary: 'The caller',
        operationId: 'getMe',
        description:
          'Who is calling: the credential type, its user, its workspace (for the master key and user ' +
          'credentials, the one named by X-Workspace-ID, if any) and its scopes. Needs no scope.',
        querystring: NoQuery,
        response: {
          200: dataSchema(MeOut, { description: 'The calling credential', example: ME_EXAMPLE }),
          ...errorResponses(),
        },
      },
      config: { auth: { scope: null, workspace: 'optional' } },
    },
    function me(req) {
      const principal = req.principal!
      return {
        data: {
          type: principal.type,
          user: principal.user,
          workspace: req.workspace,
          key: principal.key,
          scopes: [...principal.scopes],
        },
      }
    },
  )
}
