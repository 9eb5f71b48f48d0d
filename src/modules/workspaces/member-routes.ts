import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { listRoute, NoQuery } from '../../platform/http/list.ts'
import { addComponents, errorResponses, messageDataSchema, noContent } from '../../platform/http/responses.ts'
import type { MemberService } from './members.ts'
import {
  INVITATION_EXAMPLE,
  Invitation,
  InvitationCreate,
  InvitationParams,
  invitationList,
  MEMBER_EXAMPLE,
  Member,
  MemberParams,
  MemberUpdate,
  memberList,
  WorkspaceParams,
} from './schemas.ts'

const tags = ['Workspaces']

export function memberRoutes(fastify: FastifyInstance, service: MemberService, publicUrl: string): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  addComponents(fastify, Member, Invitation)
  const list = listRoute(memberList, Member, publicUrl, "A page of the workspace's members")
  const invitationPage = listRoute(
    invitationList,
    Invitation,
    publicUrl,
    "A page of the workspace's pending invitations",
  )

  app.get(
    '/api/v1/workspaces/:id/members',
    {
      schema: {
        tags,
        summary: 'List members',
        operationId: 'listMembers',
        description:
          'The users of a workspace the caller can see, with their roles; `search` matches the email.',
        params: WorkspaceParams,
        querystring: list.querystring,
        response: { 200: list.response, ...errorResponses('not_found') },
      },
      config: { auth: { scope: 'users:read', workspace: false } },
    },
    (req) => {
      const { query, url } = list.parse(req)
      return service.list(req.principal!, req.params.id, query, url)
    },
  )

  app.patch(
    '/api/v1/workspaces/:id/members/:user_id',
    {
      schema: {
        tags,
        summary: "Change a member's role",
        operationId: 'updateMember',
        description:
          'Only an owner (or the master key) changes roles. Demoting the last owner is 409 `conflict`. ' +
          'It takes effect at the next request of that user, on every instance.',
        params: MemberParams,
        body: MemberUpdate,
        querystring: NoQuery,
        response: {
          200: messageDataSchema(Member.ref, {
            description: 'The member with the new role',
            example: { message: 'Member updated successfully.', data: MEMBER_EXAMPLE },
          }),
          ...errorResponses('not_found', 'conflict'),
        },
      },
      config: { auth: { scope: 'users:write', workspace: false } },
    },
    async (req) => {
      const data = await service.updateRole(req.principal!, req.params.id, req.params.user_id, req.body.role)
      return { message: 'Member updated successfully.', data }
    },
  )

  app.delete(
    '/api/v1/workspaces/:id/members/:user_id',
    {
      schema: {
        tags,
        summary: 'Remove a member',
        operationId: 'deleteMember',
        description:
          'An owner removes anyone, an admin (or a key of the workspace) anyone but an owner, and every user ' +
          'may leave. The last owner cannot be removed (409). The user loses access at their next request.',
        params: MemberParams,
        querystring: NoQuery,
        response: { 204: noContent('The member was removed'), ...errorResponses('not_found', 'conflict') },
      },
      config: { auth: { scope: 'users:delete', workspace: false } },
    },
    async (req, reply) => {
      await service.remove(req.principal!, req.params.id, req.params.user_id)
      return reply.code(204).send(null)
    },
  )

  app.post(
    '/api/v1/workspaces/:id/invitations',
    {
      schema: {
        tags,
        summary: 'Invite someone',
        operationId: 'createInvitation',
        description:
          'A single-use invitation for one email and role (default `member`), valid for INVITATION_EXPIRY_HOURS. ' +
          'Its `token` is shown only in this answer: hand it to the invitee, who accepts with ' +
          '`POST /api/auth/invitations/accept`. Owners invite with any role, admins and keys admins and members.',
        params: WorkspaceParams,
        body: InvitationCreate,
        querystring: NoQuery,
        response: {
          201: messageDataSchema(Invitation.ref, {
            description: 'The invitation, with its token (shown once)',
            example: {
              message: 'Invitation created successfully.',
              data: { ...INVITATION_EXAMPLE, token: 'inv_Jq3S0bW2m9Yc4tRfL1xZ7pHn8vJd6uGe5aQwE0iOy2s' },
            },
          }),
          ...errorResponses('not_found'),
        },
      },
      config: { auth: { scope: 'users:write', workspace: false } },
    },
    async (req, reply) => {
      const data = await service.invite(req.principal!, req.params.id, req.body)
      return reply.code(201).send({ message: 'Invitation created successfully.', data })
    },
  )

  app.get(
    '/api/v1/workspaces/:id/invitations',
    {
      schema: {
        tags,
        summary: 'List pending invitations',
        operationId: 'listInvitations',
        description:
          'Invitations neither accepted nor expired, newest first by default; never their tokens. `search` matches the email.',
        params: WorkspaceParams,
        querystring: invitationPage.querystring,
        response: { 200: invitationPage.response, ...errorResponses('not_found') },
      },
      config: { auth: { scope: 'users:read', workspace: false } },
    },
    (req) => {
      const { query, url } = invitationPage.parse(req)
      return service.invitations(req.principal!, req.params.id, query, url)
    },
  )

  app.delete(
    '/api/v1/workspaces/:id/invitations/:invitation_id',
    {
      schema: {
        tags,
        summary: 'Revoke an invitation',
        operationId: 'deleteInvitation',
        description: 'A pending invitation stops working at once.',
        params: InvitationParams,
        querystring: NoQuery,
        response: { 204: noContent('The invitation was revoked'), ...errorResponses('not_found') },
      },
      config: { auth: { scope: 'users:delete', workspace: false } },
    },
    async (req, reply) => {
      await service.revokeInvitation(req.principal!, req.params.id, req.params.invitation_id)
      return reply.code(204).send(null)
    },
  )
}
