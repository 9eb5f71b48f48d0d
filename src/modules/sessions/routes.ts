import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { readCookie, serializeCookie } from '../../platform/auth/index.ts'
import { ApiError } from '../../platform/http/errors.ts'
import { NoQuery } from '../../platform/http/list.ts'
import { dataSchema, errorResponses, noContent } from '../../platform/http/responses.ts'
import type { RouteLimit } from '../rate-limit/index.ts'
import { InvitationAccept, PasswordChange, SessionOut, SignIn } from './schemas.ts'
import { SESSION_COOKIE, type SessionService } from './service.ts'

const tags = ['Sessions']

const SESSION_EXAMPLE = {
  data: {
    user: { id: 7, email: 'ada@example.com', name: 'Ada Lovelace' },
    workspace: { id: 1, name: 'Acme Corporation', slug: 'acme-corp', tier: 'pro', role: 'owner' },
    expires_at: '2026-01-22T10:30:00Z',
    idle_expires_at: '2026-01-16T10:30:00Z',
    csrf_token: 'kq3S0bW2m9Yc4tRfL1xZ7pHn8vJd6uGe5aQwE0iOy2s',
  },
}

export function sessionRoutes(
  fastify: FastifyInstance,
  service: SessionService,
  options: {
    ownOrigin: string
    secureCookies: boolean
    maxAgeSeconds: number
    signInLimit: RouteLimit | undefined
  },
): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const setCookie = (reply: FastifyReply, secret: string, maxAge: number) =>
    reply.header(
      'set-cookie',
      serializeCookie(SESSION_COOKIE, secret, { maxAge, secure: options.secureCookies }),
    )

  app.post(
    '/api/auth/sign-in',
    {
      schema: {
        tags,
        summary: 'Sign in',
        operationId: 'signIn',
        description:
          'Starts a dashboard session for the user with this email and password: the session id is set as ' +
          'an HttpOnly cookie, and the answer carries the `csrf_token` that cookie-authenticated writes must ' +
          'send as `X-CSRF-Token`. A wrong email or password is 401; repeated failures lock the email for a ' +
          'while (429 with `Retry-After`).',
        body: SignIn,
        querystring: NoQuery,
        response: {
          200: dataSchema(SessionOut, {
            description: 'Signed in; the cookie is set',
            example: SESSION_EXAMPLE,
          }),
          ...errorResponses(),
        },
      },
      config: { public: true, ...(options.signInLimit && { rateLimit: options.signInLimit }) },
    },
    async function signIn(req, reply) {
      const origin = req.headers.origin
      if (origin !== undefined && origin !== options.ownOrigin)
        throw new ApiError('access_denied', "Sign in from core-api's own pages.")
      const { secret, session } = await service.signIn(req.body.email, req.body.password)
      setCookie(reply, secret, options.maxAgeSeconds)
      reply.header('cache-control', 'no-store')
      return { data: session }
    },
  )

  app.post(
    '/api/auth/invitations/accept',
    {
      schema: {
        tags,
        summary: 'Accept an invitation',
        operationId: 'acceptInvitation',
        description:
          'Joins the workspace of the invitation with its role and signs the invitee in (as sign-in does). ' +
          'A new account is created with `password` (and `name`); an existing account must give its own ' +
          'password. An unknown, used or expired invitation is 404.',
        body: InvitationAccept,
        querystring: NoQuery,
        response: {
          200: dataSchema(SessionOut, {
            description: 'Joined and signed in; the cookie is set',
            example: SESSION_EXAMPLE,
          }),
          ...errorResponses('not_found', 'conflict'),
        },
      },
      config: { public: true, ...(options.signInLimit && { rateLimit: options.signInLimit }) },
    },
    async function acceptInvitation(req, reply) {
      const origin = req.headers.origin
      if (origin !== undefined && origin !== options.ownOrigin)
        throw new ApiError('access_denied', "Accept invitations from core-api's own pages.")
      const { secret, session } = await service.acceptInvitation(
        req.body.token,
        req.body.password,
        req.body.name,
      )
      setCookie(reply, secret, options.maxAgeSeconds)
      reply.header('cache-control', 'no-store')
      return { data: session }
    },
  )

  app.get(
    '/api/auth/session',
    {
      schema: {
        tags,
        summary: 'The current session',
        operationId: 'getSession',
        description:
          'The signed-in user, the default workspace, the expiry and the `csrf_token`. 401 without a session.',
        querystring: NoQuery,
        response: {
          200: dataSchema(SessionOut, { description: 'The current session', example: SESSION_EXAMPLE }),
          ...errorResponses(),
        },
      },
      config: { auth: { scope: null, workspace: 'optional' } },
    },
    async function session(req, reply) {
      const secret = readCookie(req.headers.cookie, SESSION_COOKIE) ?? ''
      reply.header('cache-control', 'no-store')
      return { data: await service.view(req.principal!, req.workspace, secret) }
    },
  )

  app.post(
    '/api/auth/sign-out',
    {
      schema: {
        tags,
        summary: 'Sign out',
        operationId: 'signOut',
        description: 'Ends the session on every instance and clears its cookie.',
        querystring: NoQuery,
        response: { 204: noContent('Signed out; the cookie is cleared'), ...errorResponses() },
      },
      config: { auth: { scope: null, workspace: false } },
    },
    async function signOut(req, reply) {
      const secret = readCookie(req.headers.cookie, SESSION_COOKIE)
      if (req.principal?.type === 'session' && secret !== null) await service.signOut(secret)
      setCookie(reply, '', 0)
      return reply.code(204).send(null)
    },
  )

  app.post(
    '/api/auth/password',
    {
      schema: {
        tags,
        summary: 'Change the password',
        operationId: 'changePassword',
        description:
          "Changes the signed-in user's password. The current password is checked (a wrong one is 422 and " +
          'counts towards the lockout); every other session of the user ends on every instance, this one stays.',
        body: PasswordChange,
        querystring: NoQuery,
        response: { 204: noContent('The password is changed'), ...errorResponses() },
      },
      config: { auth: { scope: null, workspace: false } },
    },
    async function changePassword(req, reply) {
      const secret = readCookie(req.headers.cookie, SESSION_COOKIE) ?? ''
      await service.changePassword(req.principal!, secret, req.body.current_password, req.body.new_password)
      return reply.code(204).send(null)
    },
  )
}
