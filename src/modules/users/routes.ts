import type { FastifyInstance } from 'fastify'
import { type Static, Type } from 'typebox'
import { dataSchema, errorResponses, messageDataSchema } from '../../platform/http/responses.ts'
import { UserCreate, UserOut } from './schemas.ts'
import type { UserService } from './service.ts'

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

export function userRoutes(app: FastifyInstance, service: UserService): void {
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
        response: { 200: dataSchema(MeOut), ...errorResponses() },
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
          scopes: principal.scopes,
        },
      }
    },
  )

  app.post(
    '/api/v1/users',
    {
      schema: {
        tags: ['Identity'],
        summary: 'Create a user',
        operationId: 'createUser',
        description:
          'A person who can sign in with the email and password. The master key creates any user; with ' +
          '`X-Workspace-ID` (or with a workspace credential, in its own workspace) the user becomes a member ' +
          'with `role` (default `member`; only the master key makes an owner). A taken email is 409. ' +
          'The answer never contains the password or its hash.',
        body: UserCreate,
        response: { 201: messageDataSchema(UserOut), ...errorResponses(400, 409) },
      },
      config: { auth: { scope: 'users:write', workspace: 'optional' } },
    },
    async function createUser(req, reply) {
      const data = await service.create(req.principal!, req.workspace, req.body as Static<typeof UserCreate>)
      reply.code(201)
      return { message: 'User created successfully', data }
    },
  )
}
