// The one error type of the API. A call site names a code; the status and the default
// message come from this table, so the same situation always answers the same way.
// `docs/errors.md` is the public catalogue of these codes.

export const ERROR_CODES = {
  bad_request: { status: 400, message: 'The request is malformed.' },
  invalid_json: { status: 400, message: 'The request body is not valid JSON.' },
  workspace_required: {
    status: 400,
    message: 'This credential must name a workspace with the X-Workspace-ID header.',
  },
  cannot_retry: { status: 400, message: 'This delivery cannot be retried.' },
  unauthorized: { status: 401, message: 'Invalid or missing API key.' },
  access_denied: { status: 403, message: 'Insufficient permissions.' },
  feature_limit_reached: { status: 403, message: 'You have reached your limit for this feature.' },
  not_found: { status: 404, message: 'Resource not found.' },
  method_not_allowed: { status: 405, message: 'This method is not allowed on this resource.' },
  request_timeout: { status: 408, message: 'The request was not received in time.' },
  conflict: { status: 409, message: 'The request conflicts with the current state of the resource.' },
  idempotency_in_progress: {
    status: 409,
    message: 'A request with this Idempotency-Key is still being processed.',
  },
  payload_too_large: { status: 413, message: 'The request body is too large.' },
  unsupported_media_type: { status: 415, message: 'Request bodies must be sent as application/json.' },
  validation_failed: { status: 422, message: 'The given data was invalid.' },
  idempotency_key_reused: {
    status: 422,
    message: 'This Idempotency-Key was already used with a different request.',
  },
  rate_limit_exceeded: { status: 429, message: 'Too many requests.' },
  headers_too_large: { status: 431, message: 'The request line or headers are too large.' },
  server_error: { status: 500, message: 'An unexpected error occurred.' },
  upstream_error: {
    status: 502,
    message: 'An upstream server could not be reached or did not answer in time.',
  },
  service_unavailable: { status: 503, message: 'The service is temporarily unavailable.' },
} as const satisfies Record<string, { status: number; message: string }>

export type ErrorCode = keyof typeof ERROR_CODES

/** `{field: [messages]}` as in the 422 body. */
export type FieldErrors = Record<string, string[]>

export class ApiError extends Error {
  override name = 'ApiError'
  readonly code: ErrorCode
  readonly status: number
  readonly extra: Record<string, unknown> | undefined
  readonly headers: Record<string, string> | undefined

  constructor(
    code: ErrorCode,
    message?: string,
    extra?: Record<string, unknown>,
    headers?: Record<string, string>,
  ) {
    const status = ERROR_CODES[code].status
    // A refusal (4xx) is an expected outcome, answered and never logged with a stack: capturing
    // one walks every async frame of the request and was a sixth of the CPU of a flood of 401s.
    const stackTraceLimit = Error.stackTraceLimit
    if (status < 500) Error.stackTraceLimit = 0
    super(message ?? ERROR_CODES[code].message)
    Error.stackTraceLimit = stackTraceLimit
    this.code = code
    this.status = status
    this.extra = extra
    this.headers = headers
  }

  /** 422 with one message for one field. */
  static invalid(field: string, message: string): ApiError {
    return new ApiError('validation_failed', undefined, { errors: { [field]: [message] } })
  }

  static notFound(what = 'Resource'): ApiError {
    return new ApiError('not_found', `${what} not found.`)
  }

  toBody(requestId: string): Record<string, unknown> {
    return { error: this.code, message: this.message, ...this.extra, request_id: requestId }
  }
}

/**
 * What a callback-style hook passes to `done` when a step failed: always an Error, since Fastify
 * goes on with the request when `done` is given nothing (a `throw undefined` somewhere below).
 */
export function hookFailure(error: unknown): Error {
  return error instanceof Error ? error : new Error('a request hook failed', { cause: error })
}
