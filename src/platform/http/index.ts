// The conventions every route shares: request ids, JSON-only bodies, one error format,
// 404/405 for unknown routes and methods. Registered once on the root instance by app.ts.

import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifyServerOptions,
} from 'fastify'
import fp from 'fastify-plugin'
import FindMyWay from 'find-my-way'
import { DATABASE_RETRY_AFTER_SECONDS, isDatabaseUnavailable } from '../db/errors.ts'
import { newRequestId } from '../lib/random.ts'
import { ApiError, type ErrorCode, type FieldErrors } from './errors.ts'
import { toFieldErrors, validatorCompiler } from './validation.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** The body as received, for fingerprinting (idempotency). */
    rawBody?: string
  }
}

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** Keeps a sane inbound X-Request-ID, otherwise makes `req_…`. */
function requestIdFor(req: { headers: Record<string, string | string[] | undefined> }): string {
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
    // …and so do the ones Node's HTTP parser refuses before Fastify sees them.
    clientErrorHandler: answerClientError,
  }
}

/** The parser's refusals that have a code of the table; the others get `bad_request`. */
const PARSER_ERRORS: Record<string, ErrorCode> = {
  HPE_HEADER_OVERFLOW: 'headers_too_large',
  ERR_HTTP_REQUEST_TIMEOUT: 'request_timeout',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 'payload_too_large',
}

/**
 * Answers a request Node's HTTP parser refused (malformed request line or header, headers too
 * large, a client too slow to send them) in the error format, with a fresh request id, then
 * closes the connection, as Node itself does.
 */
function answerClientError(this: FastifyInstance, error: Error & { code?: string }, socket: Duplex): void {
  // A reset connection has nobody left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const code =
    (error.code && Object.hasOwn(PARSER_ERRORS, error.code) && PARSER_ERRORS[error.code]) || 'bad_request'
  const apiError = new ApiError(code)
  const requestId = newRequestId()
  const body = JSON.stringify(apiError.toBody(requestId))
  // Only the code: the error also holds the raw bytes received, Authorization header included.
  this.log.debug({ reqId: requestId, code: error.code }, 'request refused by the HTTP parser')
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${apiError.status} ${STATUS_CODES[apiError.status]}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-ID: ${requestId}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    )
  }
  socket.destroy()
}

function bodyOf(error: ApiError, req: FastifyRequest): Record<string, unknown> {
  return error.toBody(req.id)
}

const DATABASE_UNAVAILABLE = new ApiError(
  'service_unavailable',
  'The database is not reachable; retry shortly.',
  undefined,
  { 'retry-after': String(DATABASE_RETRY_AFTER_SECONDS) },
)

/** Translates anything thrown into an ApiError: our own, Fastify's, or an unexpected one. */
function toApiError(error: FastifyError | ApiError | Error): ApiError {
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
    // A path parameter longer than any id (find-my-way's limit) names no resource.
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return ApiError.notFound()
    // A QUERY request without Content-Type on a route that takes a body.
    case 'FST_ERR_ROUTE_MISSING_CONTENT_TYPE':
      return new ApiError('unsupported_media_type')
  }
  if (fe.statusCode === 413) return new ApiError('payload_too_large')
  if (fe.statusCode === 415) return new ApiError('unsupported_media_type')
  if (fe.statusCode === 400 && error instanceof SyntaxError) return new ApiError('invalid_json')
  if (fe.statusCode === 503) return new ApiError('service_unavailable')
  // An outage, not a bug: the client retries, and the request changed nothing.
  if (isDatabaseUnavailable(error)) return DATABASE_UNAVAILABLE
  // Any other refusal of the framework is the client's: a 4xx in our format, never a 500.
  if (typeof fe.code === 'string' && fe.code.startsWith('FST_') && fe.statusCode && fe.statusCode < 500)
    return fe.statusCode === 404 ? ApiError.notFound() : new ApiError('bad_request')
  return new ApiError('server_error')
}

function sendError(
  req: FastifyRequest,
  reply: FastifyReply,
  error: FastifyError | ApiError | Error,
): FastifyReply {
  const apiError = toApiError(error)
  if (apiError.code === 'server_error') req.log.error({ err: error }, 'request failed')
  else if (apiError.status >= 500) req.log.warn({ err: error }, 'request failed: a dependency is unavailable')
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

  async function routeNotFound(req: FastifyRequest, reply: FastifyReply) {
    const path = req.url.split('?')[0] ?? '/'
    const allowed = METHODS.filter((m) => known.find(m, path) !== null)
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '))
      return sendError(req, reply, new ApiError('method_not_allowed'))
    }
    return sendError(req, reply, ApiError.notFound())
  }
  app.setNotFoundHandler(routeNotFound)

  app.setErrorHandler(async function replyWithError(error, req, reply) {
    // A method no route has (QUERY, PROPFIND…) fails while its body is read for the 404
    // handler; the answer is still about the route: 405 on a known path, 404 elsewhere.
    if (req.is404 && !(error instanceof ApiError)) return routeNotFound(req, reply)
    return sendError(req, reply, error as FastifyError)
  })
}

export const httpPlatform = fp(httpConventions, { name: 'core-api-http' })
export { ApiError } from './errors.ts'
