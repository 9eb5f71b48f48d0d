// pino options: JSON lines with the request id, and no secret in any line. Secrets reach a log
// line four ways, each closed here: a logged object's fields (redacted by path), the request
// URL (query values with secret names, and anything shaped like a credential, are replaced),
// an error (only its type, code, message and stack are kept — never the SQL parameters a
// database error carries, nor the raw bytes a parser error holds), and free text (credential
// shapes are replaced in every message and string field).
import type { FastifyServerOptions } from 'fastify'

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.key',
  '*.secret',
  '*.password',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.api_key',
  '*.client_secret',
  '*.csrf_token',
  '*.masterKey',
]

const CENSOR = '[redacted]'

/** Credentials by their shape: our key and secret prefixes, and Authorization values. */
const CREDENTIAL = /\b(sk_(?:live|test|master)_|whsec_)[A-Za-z0-9_\-.~+/=%]+/g
const SCHEME_VALUE = /\b(Bearer|Basic)(\s+|%20|\+)[^\s"',&]+/gi

/** Words that make a query parameter's value secret: `key`, `api_key`, `access_token`, `client_secret`… */
const SECRET_WORDS = new Set([
  'key',
  'apikey',
  'token',
  'secret',
  'password',
  'passwd',
  'pwd',
  'auth',
  'authorization',
  'signature',
  'sig',
  'session',
  'credential',
  'credentials',
  'code',
  'cookie',
  'csrf',
  'jwt',
  'assertion',
])

/** Replaces everything shaped like a credential in a text. */
export function redactText(text: string): string {
  if (!text.includes('_') && !/bearer|basic/i.test(text)) return text // the common case, cheaply
  return text.replace(CREDENTIAL, `$1${CENSOR}`).replace(SCHEME_VALUE, `$1 ${CENSOR}`)
}

function isSecretName(rawName: string): boolean {
  let name = rawName
  try {
    name = decodeURIComponent(rawName)
  } catch {}
  const lower = name.toLowerCase()
  return lower.split(/[^a-z0-9]+/).some((word) => SECRET_WORDS.has(word)) || /(key|token|secret)$/.test(lower)
}

/** A request URL for the log: the values of secret-named query parameters are replaced. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?')
  if (q === -1) return redactText(url)
  const query = url
    .slice(q + 1)
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=')
      return eq !== -1 && isSecretName(part.slice(0, eq)) ? `${part.slice(0, eq)}=${CENSOR}` : part
    })
    .join('&')
  return redactText(`${url.slice(0, q)}?${query}`)
}

/** Drizzle appends the bound values to the message of a failed query: they are data, not a diagnosis. */
const SQL_PARAMS = /\nparams: [\s\S]*$/

const QUOTED_VALUE = /(:\s*)"(?:[^"\\]|\\.)*"/g

type SerializedError = {
  type: string
  message: string
  stack: string
  code?: string
  cause?: SerializedError
}

/** An error for the log: type, code, message and stack, scrubbed; its cause likewise, a few deep. */
export function serializeError(error: unknown, depth = 0): SerializedError {
  if (error === null || typeof error !== 'object')
    return { type: typeof error, message: redactText(String(error)), stack: '' }
  const e = error as { name?: unknown; message?: unknown; stack?: unknown; code?: unknown; cause?: unknown }
  const scrub = (text: unknown) => redactText(String(text ?? '').replace(SQL_PARAMS, '\nparams: [redacted]'))
  const out: SerializedError = {
    type: (error as object).constructor?.name ?? 'Error',
    message: scrub(e.message),
    // The frames only: the stack starts with the message, which may hold the parameters too.
    stack:
      typeof e.stack === 'string'
        ? redactText(
            e.stack
              .split('\n')
              .filter((line) => /^\s+at /.test(line))
              .join('\n'),
          )
        : '',
  }
  if (typeof e.code === 'string') {
    out.code = e.code
    // PostgreSQL quotes the offending value (`invalid input syntax for type integer: "…"`).
    if (/^[0-9A-Z]{5}$/.test(e.code)) out.message = out.message.replace(QUOTED_VALUE, '$1"[redacted]"')
  }
  if (e.cause !== undefined && depth < 3) out.cause = serializeError(e.cause, depth + 1)
  return out
}

type LoggedRequest = {
  method: string
  url: string
  hostname?: string
  ip?: string
  socket?: { remotePort?: number }
}

function isPlain(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/**
 * A copy of a logged object with credential shapes replaced in its strings (plain objects a
 * few levels deep; errors and requests are left to their serializers). Never mutates.
 */
function scrubObject(value: Record<string, unknown>, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null) // so a key named __proto__ stays a key
  for (const [key, item] of Object.entries(value)) {
    out[key] =
      typeof item === 'string'
        ? redactText(item)
        : isPlain(item) && depth < 4
          ? scrubObject(item, depth + 1)
          : item
  }
  return out
}

export function loggerOptions(
  level: string,
  stream?: { write(line: string): void },
): FastifyServerOptions['logger'] {
  if (level === 'silent') return false
  return {
    level,
    ...(stream && { stream }),
    redact: { paths: REDACTED_PATHS, censor: CENSOR },
    serializers: {
      req: (req: LoggedRequest) => ({
        method: req.method,
        url: redactUrl(req.url),
        host: req.hostname,
        remoteAddress: req.ip,
        remotePort: req.socket?.remotePort,
      }),
      err: serializeError,
      error: serializeError,
    },
    formatters: { log: (object: Record<string, unknown>) => scrubObject(object) },
    hooks: {
      logMethod(args, method) {
        const scrubbed = args.map((arg) => (typeof arg === 'string' ? redactText(arg) : arg))
        return method.apply(this, scrubbed as Parameters<typeof method>)
      },
    },
  }
}
