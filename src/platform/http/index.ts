// The conventions every route shares: request ids, JSON-only bodies, one error format,
// 404/405 for unknown routes and methods. Registered once on the root instance by app.ts.
import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifyServerOptions,
} from 'fastify'
import fp from 'fastify-plugin'
import FindMyWay from 'find-my-way'
import { newRequestId } from '../lib/random.ts'
import { ApiError, type FieldErrors } from './errors.ts'
import { toFieldErrors, validatorCompiler } from './validation.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** The body as received, for fingerprinting (idempotency). */
    rawBody?: string
  }
}

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** Keeps a sane inbound X-Request-ID, otherwise makes `req_…`. */
export function requestIdFor(req: { headers: Record<string, string | string[] | undefined> }): string {
  const inbound = req.headers['x-request-id']
  return typeof inbound === 'string' && SANE_REQUEST_ID.test(inbound) ? inbound : newRequestId()
}

/** Fastify constructor options that belong to the conventions. */
export function httpServerOptions(bodyLimit: number): FastifyServerOptions {
  return {
    bodyLimit,
    genReqId: requestIdFor as FastifyServerOptions['genReqId'],
    requestIdHeader: false,
    return503OnClosing: true,
    // Requests Fastify refuses before routing (malformed URLs) still get our format.
    frameworkErrors: (error, req, reply) => sendError(req, reply, error),
  }
}

function bodyOf(error: ApiError, req: FastifyRequest): Record<string, unknown> {
  return error.toBody(req.id)
}

/** Translates anything thrown into an ApiError: our own, Fastify's, or an unexpected one. */
export function toApiError(error: FastifyError | ApiError | Error): ApiError {
  if (error instanceof ApiError) return error
  const fe = error as FastifyError & { validationContext?: string }
  if (fe.validation) {
    // A malformed id in the path names no resource: answer as if it did not exist.
    if (fe.validationContext === 'params') return ApiError.notFound()
    const errors: FieldErrors = toFieldErrors(fe.validation as never)
    return new ApiError('validation_failed', undefined, { errors })
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError('invalid_json')
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError('payload_too_large')
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError('unsupported_media_type')
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ApiError('invalid_json', 'The Content-Length header does not match the body.')
    case 'FST_ERR_BAD_URL':
    case 'FST_ERR_NOT_FOUND':
      return ApiError.notFound()
  }
  if (fe.statusCode === 413) return new ApiError('payload_too_large')
  if (fe.statusCode === 415) return new ApiError('unsupported_media_type')
  if (fe.statusCode === 400 && error instanceof SyntaxError) return new ApiError('invalid_json')
  if (fe.statusCode === 503) return new ApiError('service_unavailable')
  return new ApiError('server_error')
}

export function sendError(
  req: FastifyRequest,
  reply: FastifyReply,
  error: FastifyError | ApiError | Error,
): FastifyReply {
  const apiError = toApiError(error)
  if (apiError.status >= 500) req.log.error({ err: error }, 'request failed')
  reply.header('x-request-id', req.id)
  if (apiError.headers) reply.headers(apiError.headers)
  return reply.code(apiError.status).type('application/json; charset=utf-8').send(bodyOf(apiError, req))
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const

async function httpConventions(app: FastifyInstance): Promise<void> {
  app.setValidatorCompiler(validatorCompiler)

  app.addHook('onRequest', function tagRequestId(req, reply, done) {
    reply.header('x-request-id', req.id)
    done()
  })

  // JSON is the only body format (routes may add others, as the pixel does with text/plain).
  // An empty body is "no body", so clients that always send Content-Type are not punished.
  app.removeAllContentTypeParsers()
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (typeof body !== 'string' || body.trim() === '') return done(null, undefined)
    req.rawBody = body
    parseJson(req, body, (error, value) => done(error ? new ApiError('invalid_json') : null, value))
  })

  // A path that exists with other methods answers 405 with Allow, not 404.
  const known = FindMyWay()
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    for (const method of methods) {
      if (method === 'HEAD' || method === 'OPTIONS') continue
      try {
        known.on(method as 'GET', route.url, () => {})
      } catch {
        // registered already (HEAD twins and the like)
      }
    }
  })

  app.setNotFoundHandler(async function routeNotFound(req, reply) {
    const path = req.url.split('?')[0] ?? '/'
    const allowed = METHODS.filter((m) => known.find(m, path) !== null)
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '))
      return sendError(req, reply, new ApiError('method_not_allowed'))
    }
    return sendError(req, reply, ApiError.notFound())
  })

  app.setErrorHandler(async function replyWithError(error, req, reply) {
    return sendError(req, reply, error as FastifyError)
  })
}

export const httpPlatform = fp(httpConventions, { name: 'core-api-http' })
export { ApiError, ERROR_CODES, type ErrorCode, type FieldErrors } from './errors.ts'
