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
 * A sentence for the person: the server's message and, for a refused field (422), what is wrong
 * with it — "The given data was invalid." alone does not say which URL rule failed — with the
 * request id to quote.
 */
export function describeError(error: unknown): string {
  if (error instanceof CoreApiError) {
    const message = (error.body as { message?: unknown } | null)?.message
    let text = typeof message === 'string' ? message : error.message
    const fields = error.body?.errors
    if (fields && typeof fields === 'object') {
      for (const [field, messages] of Object.entries(fields)) {
        if (Array.isArray(messages)) text += ` ${field}: ${messages.join(' ')}`
      }
    }
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
