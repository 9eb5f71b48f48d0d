// Which failures mean "the database cannot be reached right now" rather than "this query is
// wrong": the HTTP edge answers them with 503 and Retry-After (a client should simply retry),
// never with the 500 of a bug. One list, for both engines and every module.

/** Node socket errors of a connection that cannot be made or was lost. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
])

/**
 * SQLSTATEs of a server that is going away or not taking connections: admin shutdown, crash
 * shutdown, cannot connect now (starting up, in recovery), too many connections. Class 08
 * (connection exception) is matched as a whole.
 */
const SERVER_CODES = new Set(['57P01', '57P02', '57P03', '53300'])

/** What node-postgres, its pool and PGlite say when there is no usable connection. */
const MESSAGES = [
  /^Connection terminated/, // the socket closed under a query (and "…due to connection timeout")
  /^timeout exceeded when trying to connect/, // pg-pool's connectionTimeoutMillis
  /^Client has encountered a connection error and is not queryable/,
  /^Client was closed and is not queryable/,
  /^Connection is closed/,
  /^PGlite is closed/,
]

function unavailable(error: { code?: unknown; message?: unknown }): boolean {
  const code = typeof error.code === 'string' ? error.code : ''
  if (SOCKET_CODES.has(code) || SERVER_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code)) return true
  const message = typeof error.message === 'string' ? error.message : ''
  return MESSAGES.some((pattern) => pattern.test(message))
}

/**
 * True when `error` — or what it wraps (`cause`, as Drizzle wraps the driver's error; the
 * `errors` of an AggregateError, as a connect to several addresses fails) — says the database
 * is unreachable.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const pending: unknown[] = [error]
  for (let seen = 0; seen < 16 && pending.length > 0; seen++) {
    const current = pending.shift()
    if (current === null || typeof current !== 'object') continue
    if (unavailable(current as { code?: unknown; message?: unknown })) return true
    const { cause, errors } = current as { cause?: unknown; errors?: unknown }
    if (cause !== undefined) pending.push(cause)
    if (Array.isArray(errors)) pending.push(...errors.slice(0, 4))
  }
  return false
}

/** Seconds a client is told to wait (Retry-After) when the database is unreachable. */
export const DATABASE_RETRY_AFTER_SECONDS = 2
