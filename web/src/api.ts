// The dashboard's one API client: the project's SDK on this page's origin, authenticated by the
// session cookie the browser sends by itself. Writes made with the cookie need the session's CSRF
// token (docs/sessions.md): it is kept here from sign-in or GET /api/auth/session and added to
// every write by the SDK's onRequest hook. The SDK adds an Idempotency-Key to each write.
import { CoreApiError, createClient } from '@core-api/sdk'

let csrfToken: string | null = null

/** Remembers the token of the current session (null after sign-out). */
export function setCsrfToken(token: string | null): void {
  csrfToken = token
}

export const api = createClient({
  baseUrl: window.location.origin,
  maxRetries: 1,
  timeout: 20_000,
  onRequest(request) {
    if (request.method !== 'GET' && request.method !== 'HEAD' && csrfToken) {
      request.headers.set('x-csrf-token', csrfToken)
    }
  },
})

/**
 * A sentence for the person: the server's message and, for a 422, what is wrong with each field
 * (`redirect_uris: … must use https`), with the request id to quote.
 */
export function describeError(error: unknown): string {
  if (error instanceof CoreApiError) {
    const body = error.body as { message?: unknown; errors?: unknown } | null
    const message = typeof body?.message === 'string' ? body.message : error.message
    const fields =
      body?.errors && typeof body.errors === 'object'
        ? Object.entries(body.errors).flatMap(([field, messages]) =>
            Array.isArray(messages) ? messages.map((text) => `${field}: ${String(text)}`) : [],
          )
        : []
    const text = fields.length > 0 ? `${message} ${fields.join('; ')}` : message
    return error.requestId ? `${text} (request ${error.requestId})` : text
  }
  return error instanceof Error ? error.message : String(error)
}

/**
 * Whether `scopes` (concrete or shorthand: `*`, `read`, `posts:*` …) grant `needed`
 * (`resource:action`); `write` implies `read` of the same resource (docs/api-keys.md).
 */
export function grants(scopes: readonly string[], needed: string): boolean {
  const [resource, action] = needed.split(':')
  return scopes.some(
    (scope) =>
      scope === '*' ||
      scope === needed ||
      scope === action ||
      scope === `${resource}:*` ||
      (action === 'read' && (scope === 'write' || scope === `${resource}:write`)),
  )
}
