// Mounts the authorization server under /oauth2/ (through @fastify/middie, so the server reads
// the request body itself) and its RFC 8414 metadata at /.well-known/oauth-authorization-server.
// The routes are Fastify routes of their own, so the platform's request id, per-IP buckets and
// this module's budget (`config.rateLimit`) apply to them like to any other; their refusals
// (429) are answered in the RFC 6749 format.
import middie from '@fastify/middie'
import type {
  FastifyContextConfig,
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
} from 'fastify'
import type Provider from 'oidc-provider'
import type { Deps } from '../../platform/deps.ts'
import { ApiError } from '../../platform/http/errors.ts'
import { type CheckCredentials, interactionRoutes } from './interaction.ts'
import { MOUNT } from './provider.ts'

export type OAuthLimit = { name: string; limit: number; windowMs: number } | undefined

/** The error of a guard (429, …) in the RFC 6749 format: `{error, error_description, request_id}`. */
function oauthError(error: FastifyError | ApiError, req: FastifyRequest, reply: FastifyReply) {
  const known = error instanceof ApiError
  if (!known) req.log.error({ err: error }, 'oauth request failed')
  const status = known ? error.status : 500
  if (known && error.headers) reply.headers(error.headers)
  return reply.code(status).send({
    error: known ? error.code : 'server_error',
    error_description: known ? error.message : 'An unexpected error occurred.',
    request_id: req.id,
  })
}

export async function mountProvider(
  app: FastifyInstance,
  provider: Provider,
  options: { deps: Deps & { checkCredentials: CheckCredentials }; publicUrl: string; limit: OAuthLimit },
): Promise<void> {
  const handle = provider.callback()
  const external = new URL(options.publicUrl)
  const config: FastifyContextConfig = options.limit ? { rateLimit: options.limit } : {}

  await app.register(async (scope) => {
    scope.setErrorHandler(oauthError)
    // What the platform's hooks put on the reply (request id, rate-limit headers) goes on the
    // raw response the server writes; its URLs are built from PUBLIC_URL, whatever Host says.
    scope.addHook('onRequest', (req, reply, done) => {
      for (const [name, value] of Object.entries(reply.getHeaders()))
        if (value !== undefined) reply.raw.setHeader(name, value as string)
      req.raw.headers['x-forwarded-host'] = external.host
      req.raw.headers['x-forwarded-proto'] = external.protocol.slice(0, -1)
      ;(req.raw as { id?: string }).id = req.id
      done()
    })
    await scope.register(middie)
    // Our login and consent pages live under the mount too: the server hands them over.
    scope.use(MOUNT, (req: { url?: string }, res: unknown, next: () => void) =>
      req.url?.startsWith('/interaction/') ? next() : handle(req as never, res as never),
    )
    interactionRoutes(scope, provider, options.deps, config)
    // The middleware answers every request under the mount before this handler could run; the
    // route exists so that the requests get the hooks and the budget above.
    scope.all(`${MOUNT}/*`, { schema: { hide: true }, config }, () => {
      throw ApiError.notFound()
    })
    scope.get('/.well-known/oauth-authorization-server', { schema: { hide: true }, config }, (req, reply) => {
      reply.hijack()
      ;(req.raw as { originalUrl?: string }).originalUrl = `${MOUNT}/.well-known/openid-configuration`
      req.raw.url = '/.well-known/openid-configuration'
      return handle(req.raw, reply.raw)
    })
  })
}
