import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { type Static, Type } from 'typebox'
import {
  effectiveScopes,
  type Principal,
  type PrincipalWorkspace,
  scopeList,
} from '../../platform/auth/index.ts'
import { NoQuery } from '../../platform/http/list.ts'
import { dataSchema, errorResponses, messageDataSchema } from '../../platform/http/responses.ts'
import { UserCreate, UserOut } from './schemas.ts'
import type { UserService } from './service.ts'

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()])

const MeOut = Type.Object({
  type: Type.Enum(['api_key', 'oauth_token', 'session', 'master_key']),
  user: Nullable(Type.Object({ id: Type.Integer(), email: Type.String(), name: Nullable(Type.String()) })),
  workspace: Nullable(
    Type.Object({
      id: Type.Integer(),
      name: Type.String(),
      slug: Type.String(),
      tier: Type.String(),
      role: Nullable(
        Type.String({
          description: "A user-level credential's membership role here; null for keys and the master key",
        }),
      ),
      scopes: Type.Array(Type.String(), {
        description:
          "What the credential may do here, as concrete `resource:action` scopes: its own scopes, narrowed by the user's role. A member's `api-keys` scopes reach only keys they created.",
      }),
    }),
  ),
  key: Nullable(Type.Object({ id: Type.Integer(), name: Type.String(), prefix: Type.String() })),
  scopes: Type.Array(Type.String()),
})

const ME_EXAMPLE = {
  data: {
    type: 'api_key',
    user: { id: 7, email: 'ada@example.com', name: 'Ada Lovelace' },
    workspace: {
      id: 1,
      name: 'Acme Corporation',
      slug: 'acme-corp',
      tier: 'pro',
      role: null,
      scopes: ['posts:read', 'posts:write'],
    },
    key: { id: 1, name: 'Production API Key', prefix: 'sk_live_abc' },
    scopes: ['posts:read', 'posts:write'],
  },
}

const USER_EXAMPLE = {
  id: 7,
  email: 'ada@example.com',
  name: 'Ada Lovelace',
  created_at: '2026-01-15T10:30:00Z',
  membership: { workspace_id: 1, role: 'member' },
}

const JSON_TYPE = 'application/json; charset=utf-8'
const NO_WORKSPACE = {}
const meBodies = new WeakMap<Principal, WeakMap<object, string>>()

function meOf(principal: Principal, workspace: PrincipalWorkspace | null): Static<typeof MeOut> {
  return {
    type: principal.type,
    user: principal.user,
    workspace: workspace && {
      id: workspace.id,
      name: workspace.name,
      slug: workspace.slug,
      tier: workspace.tier,
      role: workspace.role ?? null,
      scopes: scopeList(effectiveScopes(principal, workspace)),
    },
    key: principal.key,
    scopes: [...principal.scopes],
  }
}

export function userRoutes(fastify: FastifyInstance, service: UserService): void {
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
    function me(req, reply) {
      const principal = req.principal!
      const workspace = req.workspace ?? NO_WORKSPACE
      // A principal and its workspace are cached objects that a change replaces, never
      // mutates: the answer for the pair is serialised once, then sent as it is.
      let bodies = meBodies.get(principal)
      if (!bodies) {
        bodies = new WeakMap()
        meBodies.set(principal, bodies)
      }
      let body = bodies.get(workspace)
      if (body === undefined) {
        body = reply.serialize({ data: meOf(principal, req.workspace) }) as string
        bodies.set(workspace, body)
      }
      // A string sent as JSON is not serialised again (its type says it already is).
      reply.type(JSON_TYPE).send(body as unknown as { data: Static<typeof MeOut> })
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
        querystring: NoQuery,
        response: {
          201: messageDataSchema(UserOut, {
            description: 'The user was created',
            example: { message: 'User created successfully', data: USER_EXAMPLE },
          }),
          ...errorResponses('conflict', 'workspace_required'),
        },
      },
      config: { auth: { scope: 'users:write', workspace: 'optional' } },
    },
    async function createUser(req, reply) {
      const data = await service.create(req.principal!, req.workspace, req.body)
      return reply.code(201).send({ message: 'User created successfully', data })
    },
  )
}
