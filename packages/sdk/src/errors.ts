// Every failure the client reports is an instance of CoreApiError, one subclass per family, so
// callers branch with `instanceof` (or on `code`, the server's stable error code) instead of
// reading statuses. `status`, `code` and `requestId` are always present; `requestId` (the
// `X-Request-ID` the server logged the request under) is null only when no response arrived.

/** The JSON body of an error response (docs/errors.md); some codes add fields. */
export type ErrorBody = {
  error: string
  message: string
  request_id: string
  errors?: Record<string, string[]>
  [field: string]: unknown
}

type ErrorInit = {
  status: number | null
  code: string
  requestId: string | null
  body?: ErrorBody | null
  headers?: Headers | null
  cause?: unknown
}

export class CoreApiError extends Error {
  /** The HTTP status, or null when no response arrived. */
  readonly status: number | null
  /** The server's error code (`not_found`, `rate_limit_exceeded`, …), or `connection_error`/`timeout`. */
  readonly code: string
  /** The `X-Request-ID` of the response: quote it when reporting a problem. */
  readonly requestId: string | null
  /** The parsed error body, as the server sent it. */
  readonly body: ErrorBody | null
  /** The response headers, or null when no response arrived. */
  readonly headers: Headers | null

  constructor(message: string, init: ErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause })
    this.name = new.target.name
    this.status = init.status
    this.code = init.code
    this.requestId = init.requestId
    this.body = init.body ?? null
    this.headers = init.headers ?? null
  }
}

/** 400, 405, 413, 415, 431 and any other 4xx without a family of its own: the request is wrong. */
export class BadRequestError extends CoreApiError {}

/** 401 `unauthorized`: no credential, or an unknown, expired or revoked one. */
export class AuthenticationError extends CoreApiError {}

/** 403: the credential lacks a scope (`requiredScope` names it) or may not act in the workspace. */
export class PermissionError extends CoreApiError {
  /** The missing scope, as the message names it (`posts:write`), or null when it names none. */
  readonly requiredScope: string | null

  constructor(message: string, init: ErrorInit) {
    super(message, init)
    const field = init.body?.required_scope
    this.requiredScope =
      typeof field === 'string' ? field : (/Required scope: ([A-Za-z0-9_.:*-]+)/.exec(message)?.[1] ?? null)
  }
}

/** 403 `feature_limit_reached`: the workspace's plan allows no more. */
export class FeatureLimitError extends PermissionError {
  readonly feature: string | null
  readonly limit: number | null
  readonly currentUsage: number | null
  readonly upgradeUrl: string | null

  constructor(message: string, init: ErrorInit) {
    super(message, init)
    const body: Record<string, unknown> = init.body ?? {}
    this.feature = typeof body.feature === 'string' ? body.feature : null
    this.limit = typeof body.limit === 'number' ? body.limit : null
    this.currentUsage = typeof body.current_usage === 'number' ? body.current_usage : null
    this.upgradeUrl = typeof body.upgrade_url === 'string' ? body.upgrade_url : null
  }
}

/** 404 `not_found`: unknown route or id, or a resource of another workspace. */
export class NotFoundError extends CoreApiError {}

/** 409 `conflict`: a unique value is taken, or the resource's state forbids the change. */
export class ConflictError extends CoreApiError {
  /** Messages per field, when a field is to blame. */
  readonly errors: Record<string, string[]>

  constructor(message: string, init: ErrorInit) {
    super(message, init)
    this.errors = init.body?.errors ?? {}
  }
}

/** 422 `validation_failed`: `errors` maps each field to its messages. */
export class ValidationError extends CoreApiError {
  readonly errors: Record<string, string[]>

  constructor(message: string, init: ErrorInit) {
    super(message, init)
    this.errors = init.body?.errors ?? {}
  }
}

/**
 * 409 `idempotency_in_progress` (a request with the same key is still running; retried
 * automatically) or 422 `idempotency_key_reused` (the key was used for a different request).
 */
export class IdempotencyError extends CoreApiError {}

/** 429 `rate_limit_exceeded`: `retryAfter` is the number of seconds to wait. */
export class RateLimitError extends CoreApiError {
  /** Seconds until a retry can succeed (the `Retry-After` header), or null if the server gave none. */
  readonly retryAfter: number | null
  readonly limit: number | null
  readonly remaining: number | null
  /** When the bucket refills (ISO 8601), as the server sent it. */
  readonly resetAt: string | null

  constructor(message: string, init: ErrorInit) {
    super(message, init)
    const body: Record<string, unknown> = init.body ?? {}
    const header = Number.parseFloat(init.headers?.get('retry-after') ?? '')
    this.retryAfter = Number.isFinite(header)
      ? header
      : typeof body.retry_after === 'number'
        ? body.retry_after
        : null
    this.limit = typeof body.limit === 'number' ? body.limit : null
    this.remaining = typeof body.remaining === 'number' ? body.remaining : null
    this.resetAt = typeof body.reset_at === 'string' ? body.reset_at : null
  }
}

/** 5xx: `server_error`, `upstream_error` (an MCP server), `service_unavailable`. */
export class ServerError extends CoreApiError {}

/** No response: the connection was refused, reset or closed before an answer arrived. */
export class ConnectionError extends CoreApiError {}

/** No answer within the request's `timeout` (or 408 `request_timeout` from the server). */
export class TimeoutError extends ConnectionError {}

/** The error for a response that is not a success. */
export function errorFromResponse(status: number, headers: Headers, body: unknown): CoreApiError {
  const parsed = isErrorBody(body) ? body : null
  const code = parsed?.error ?? `http_${status}`
  const message = parsed?.message ?? `HTTP ${status}`
  const init: ErrorInit = {
    status,
    code,
    requestId: parsed?.request_id ?? headers.get('x-request-id'),
    body: parsed,
    headers,
  }
  if (code === 'idempotency_in_progress' || code === 'idempotency_key_reused') {
    return new IdempotencyError(message, init)
  }
  if (code === 'feature_limit_reached') return new FeatureLimitError(message, init)
  if (status === 401) return new AuthenticationError(message, init)
  if (status === 403) return new PermissionError(message, init)
  if (status === 404) return new NotFoundError(message, init)
  if (status === 408) return new TimeoutError(message, init)
  if (status === 409) return new ConflictError(message, init)
  if (status === 422) return new ValidationError(message, init)
  if (status === 429) return new RateLimitError(message, init)
  if (status >= 500) return new ServerError(message, init)
  return new BadRequestError(message, init)
}

function isErrorBody(body: unknown): body is ErrorBody {
  return (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as ErrorBody).error === 'string' &&
    typeof (body as ErrorBody).message === 'string'
  )
}
