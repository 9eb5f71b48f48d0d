// pino options: JSON lines with the request id, and no secret in any line. Secrets reach a log
// line four ways, each closed here: a logged object's fields (redacted by name), the request
// URL (query values with secret names, and anything shaped like a credential, are replaced),
// an error (only its type, code, message and stack are kept — never the SQL parameters a
// database error carries, nor the raw bytes a parser error holds), and free text (credential
// shapes are replaced in every message and string field).
//
// What a request costs the log: one access line, written when the response has finished
// (`AccessLog`), into a buffer that a write on libuv's thread pool empties (`stdoutLog`), so
// the request thread never waits on the terminal, the pipe or the disk. The buffer is flushed
// on graceful shutdown and on a crash (`flushLogs`, `flushLogsSync`). docs/logging.md says
// what a line holds and what it costs.
import { performance } from 'node:perf_hooks'
import type { FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify'
import { LogController } from 'fastify'
import pino from 'pino'
import { ConfigError } from './config/index.ts'

/**
 * Fields whose value is replaced, whatever it is, at any depth of a logged object: the
 * credential headers, and the names secrets go by in bodies and settings.
 */
export const SECRET_FIELDS: ReadonlySet<string> = new Set([
  'authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'x-csrf-token',
  'key',
  'secret',
  'password',
  'token',
  'access_token',
  'refresh_token',
  'api_key',
  'client_secret',
  'csrf_token',
  'masterKey',
])

const CENSOR = '[redacted]'

/**
 * Credentials by their shape: API and master keys, webhook secrets, session ids, invitation
 * tokens, OAuth access and refresh tokens and client secrets.
 */
const CREDENTIAL = /\b(sk_(?:live|test|master)_|whsec_|ses_|inv_|oat_|ort_|ocs_)[A-Za-z0-9_\-.~+/=%]+/g
const SCHEME_VALUE = /\b(Bearer|Basic)(\s+|%20|\+)[^\s"',&]+/gi
const SCHEME = /bearer|basic/i

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
  // The common case, cheaply: neither of the prefixes nor of the schemes is there.
  if (!text.includes('sk_') && !text.includes('whsec_') && !SCHEME.test(text)) return text
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
function serializeError(error: unknown, depth = 0): SerializedError {
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
 * A logged object with the values of secret fields replaced and credential shapes replaced in
 * its strings (plain objects a few levels deep; errors and requests are left to their
 * serializers). Never mutates: a copy is made only when something must change, so a line
 * without secrets — nearly every line — costs a walk over its fields and nothing more.
 */
function scrubObject(value: Record<string, unknown>, depth = 0): Record<string, unknown> {
  let out: Record<string, unknown> | null = null
  for (const key of Object.keys(value)) {
    const item = value[key]
    const scrubbed =
      item !== undefined && SECRET_FIELDS.has(key)
        ? CENSOR
        : typeof item === 'string'
          ? redactText(item)
          : isPlain(item) && depth < 4
            ? scrubObject(item, depth + 1)
            : item
    if (scrubbed === item) continue
    // A null prototype, so a key named __proto__ stays a key.
    out ??= Object.assign(Object.create(null) as Record<string, unknown>, value)
    out[key] = scrubbed
  }
  return out ?? value
}

/** Where log lines go: pino writes each one, newline included, with `write`. */
export type LogStream = { write(line: string): void }

const LOG_FORMATS = ['json', 'pretty'] as const
export type LogFormat = (typeof LOG_FORMATS)[number]

export function logFormat(value: string): LogFormat {
  if ((LOG_FORMATS as readonly string[]).includes(value)) return value as LogFormat
  throw new ConfigError(`LOG_FORMAT must be json or pretty, got "${value}"`)
}

/**
 * The pino options of core-api's logger. `output` is a format for standard output (through
 * `stdoutLog`) or a stream of one's own (tests capture lines this way).
 */
export function loggerOptions(
  level: string,
  output: string | LogStream = 'json',
): FastifyServerOptions['logger'] {
  if (typeof output === 'string') logFormat(output)
  if (level === 'silent') return false
  return {
    level,
    stream: typeof output === 'string' ? stdoutLog(output) : output,
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
      // The message and its format arguments (`args` is pino's own copy of them).
      logMethod(args, method) {
        for (let i = 0; i < args.length; i++) {
          const arg = args[i]
          if (typeof arg === 'string') args[i] = redactText(arg)
        }
        return method.apply(this, args as Parameters<typeof method>)
      },
    },
  }
}

/** The `msg` of the access line: short and stable, for filters and dashboards. */
export const ACCESS_MESSAGE = 'request'

/** The fields of the access line (with `reqId`, which the request's logger carries). */
export type AccessLine = {
  method: string
  /** The route pattern (`/api/v1/posts/:id`); absent when no route matched. */
  route?: string
  /** The URL, redacted, only when no route matched. */
  url?: string
  status: number
  durationMs: number
  workspaceId?: number
  principal?: string
  keyId?: number
}

function accessLine(req: FastifyRequest, reply: FastifyReply, elapsedMs = reply.elapsedTime): AccessLine {
  const route = req.routeOptions.url
  const principal = req.principal
  return {
    method: req.method,
    route,
    // A URL no route matched may be anything a client typed, secrets included: redacted.
    url: route === undefined ? redactUrl(req.url) : undefined,
    status: reply.statusCode,
    durationMs: Math.round(elapsedMs * 100) / 100,
    workspaceId: req.workspace?.id,
    principal: principal?.type,
    keyId: principal?.key?.id,
  }
}

/**
 * Fastify's request log, replaced: no "incoming request" line and no "request completed"
 * line, but one access line per request once its response has finished (Fastify calls
 * `requestCompleted` after the `onResponse` hooks, so this costs no hook of its own). A
 * response that failed while being written keeps its error line; a request that failed in a
 * handler has its own, from the error handler.
 */
export class AccessLog extends LogController {
  override incomingRequest(req: FastifyRequest, reply: FastifyReply): void {
    // A request Fastify refuses before routing (a malformed URL, a path parameter too long)
    // has no params and never reaches `requestCompleted`: its line is written on `finish`.
    if (req.params !== null) return
    const started = performance.now()
    reply.raw.once('finish', () => this.#write(null, req, reply, performance.now() - started))
  }

  override requestCompleted(error: Error | null | undefined, req: FastifyRequest, reply: FastifyReply): void {
    this.#write(error, req, reply, reply.elapsedTime)
  }

  #write(error: Error | null | undefined, req: FastifyRequest, reply: FastifyReply, elapsedMs: number): void {
    const log = req.log
    // Nothing to build when the access line would be dropped (logger off, or above `info`).
    if (!(log as Partial<pino.Logger>).isLevelEnabled?.('info')) return
    if (error) log.error({ err: error }, 'response failed')
    const fields = accessLine(req, reply, elapsedMs)
    if (!writeAccessLine(log, fields)) log.info(fields, ACCESS_MESSAGE)
  }
}

const { chindingsSym, streamSym, timeSym } = pino.symbols

/** A number as JSON writes it: `null` for NaN and the infinities, as pino would. */
const number = (value: number): string => (Number.isFinite(value) ? String(value) : 'null')

/**
 * Writes the access line as `log.info(fields, ACCESS_MESSAGE)` would — the same JSON, key for
 * key — without pino's general path: every field is a number, a method token, a route pattern,
 * a principal type or a URL already redacted, so the formatter that scrubs secrets and the
 * hook that redacts messages have nothing to change, and the line is one template. The
 * logger's own bindings (pid, hostname, reqId), clock and destination are used as they are.
 * False when `log` is not a pino logger (the caller then logs the usual way).
 */
function writeAccessLine(log: FastifyRequest['log'], fields: AccessLine): boolean {
  const logger = log as unknown as Record<symbol, unknown>
  const stream = logger[streamSym] as LogStream | undefined
  const time = logger[timeSym] as (() => string) | undefined
  const bindings = logger[chindingsSym]
  if (!stream || typeof time !== 'function' || typeof bindings !== 'string') return false
  let line = `{"level":30${time()}${bindings},"method":${JSON.stringify(fields.method)}`
  if (fields.route !== undefined) line += `,"route":${JSON.stringify(fields.route)}`
  if (fields.url !== undefined) line += `,"url":${JSON.stringify(fields.url)}`
  line += `,"status":${number(fields.status)},"durationMs":${number(fields.durationMs)}`
  if (fields.workspaceId !== undefined) line += `,"workspaceId":${number(fields.workspaceId)}`
  if (fields.principal !== undefined) line += `,"principal":${JSON.stringify(fields.principal)}`
  if (fields.keyId !== undefined) line += `,"keyId":${number(fields.keyId)}`
  stream.write(`${line},"msg":"${ACCESS_MESSAGE}"}\n`)
  return true
}

/**
 * Lines are handed to the destination this much at a time… Each write costs a system call and
 * a round trip through the thread pool whatever its size (at 4 KiB the destination cost about
 * 1.2 µs of CPU a line, at 32 KiB 0.8 µs: docs/logging.md), and the destination measures its
 * last chunk, which is flattened, on every call: handed over line by line, or turn by turn, a
 * busy server copied its pending kilobytes again for every few lines.
 */
const BUFFER_BYTES = 32 * 1024
/** The most one write takes from the buffer (twice the threshold, so a write is never split small). */
const WRITE_BYTES = 2 * BUFFER_BYTES
/** …or at the latest this long after the first of them, so a quiet server's lines still appear promptly. */
const FLUSH_MS = 250
/**
 * What may wait while standard output does not keep up (a stalled pipe): beyond it lines are
 * dropped rather than held, so a stuck log reader costs log lines, never the server's memory
 * nor its requests (a synchronous write would block every request behind it).
 */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024

let stdout: ReturnType<typeof pino.destination> | null = null

/** The lines not yet handed to the destination, and their length in characters. */
let pending: string[] = []
let pendingLength = 0
let handOverTimer: NodeJS.Timeout | null = null

/** Hands the pending lines to the destination as one string, which writes them once it may. */
function handOver(): void {
  if (handOverTimer) clearTimeout(handOverTimer)
  handOverTimer = null
  if (pending.length === 0) return
  const text = pending.length === 1 ? pending[0]! : pending.join('')
  pending = []
  pendingLength = 0
  stdout?.write(text)
}

/** After `FLUSH_MS`: what is pending goes out now, however little. */
function handOverLate(): void {
  handOver()
  stdout?.flush()
}

function bufferLine(line: string): void {
  pending.push(line)
  pendingLength += line.length
  if (pendingLength >= BUFFER_BYTES) handOver()
  else if (!handOverTimer) handOverTimer = setTimeout(handOverLate, FLUSH_MS).unref()
}

/**
 * Standard output as a log destination: lines are buffered and written asynchronously, off
 * the request thread. One per process, since standard output is.
 */
function stdoutLog(format: string): LogStream {
  const chosen = logFormat(format)
  if (!stdout) {
    stdout = pino.destination({
      dest: 1,
      sync: false,
      minLength: BUFFER_BYTES,
      maxWrite: WRITE_BYTES,
      maxLength: MAX_BUFFERED_BYTES,
      // What a write leaves behind below the threshold (a chunk handed over while another was
      // being written) goes out with the next hand-over, or this long after at the latest.
      periodicFlush: FLUSH_MS,
    })
    // Whatever ends the process, the pending lines go out with the rest.
    process.once('exit', flushLogsSync)
  }
  if (chosen === 'json') return { write: bufferLine }
  return { write: (line: string) => bufferLine(prettyLine(line)) }
}

/**
 * Writes out every buffered line and waits for the writes in flight: after it, no line logged
 * before the call can be lost by `process.exit`. For a graceful shutdown.
 */
export async function flushLogs(): Promise<void> {
  handOver()
  const destination = stdout
  if (!destination) return
  // Resolves once the writes in flight are done (an error — fsync on a pipe — ends it too)…
  await new Promise<void>((resolve) => destination.flush(() => resolve()))
  // …then what was logged meanwhile, below the buffer's size, is written synchronously.
  flushLogsSync()
}

/** Writes out every buffered line synchronously: the last thing a crashing process does. */
export function flushLogsSync(): void {
  try {
    handOver()
    stdout?.flushSync()
  } catch {
    // Standard output is gone: there is nowhere left to write to.
  }
}

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO ',
  40: 'WARN ',
  50: 'ERROR',
  60: 'FATAL',
}
/** Fields a pretty line shows in its own way, or not at all (the process is the terminal's). */
const SHOWN_APART = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'err', 'error'])
const ACCESS_SHOWN_APART = new Set(['method', 'route', 'url', 'status', 'durationMs'])
const BARE_VALUE = /^[^\s"=]+$/

/**
 * A JSON log line made readable in a terminal: `12:03:04.567 INFO  GET /api/v1/posts/:id 200
 * 3.1 ms reqId=req_… workspaceId=4 principal=api_key keyId=7`, other lines as their message
 * and their fields, an error's type, message and stack beneath. Made from the JSON line, after
 * redaction, so it holds nothing the JSON line does not.
 */
export function prettyLine(json: string): string {
  let entry: Record<string, unknown>
  try {
    entry = JSON.parse(json)
  } catch {
    return json
  }
  const access = entry.msg === ACCESS_MESSAGE && typeof entry.method === 'string'
  const parts = [
    typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 23) : '',
    LEVEL_NAMES[entry.level as number] ?? String(entry.level),
    access
      ? `${entry.method} ${entry.route ?? entry.url} ${entry.status} ${entry.durationMs} ms`
      : String(entry.msg ?? ''),
  ]
  for (const [name, value] of Object.entries(entry)) {
    if (SHOWN_APART.has(name) || (access && ACCESS_SHOWN_APART.has(name))) continue
    parts.push(
      `${name}=${typeof value === 'string' && BARE_VALUE.test(value) ? value : JSON.stringify(value)}`,
    )
  }
  let line = parts.join(' ')
  const error = (entry.err ?? entry.error) as Partial<SerializedError> | undefined
  if (error && typeof error === 'object') {
    line += `\n  ${error.type ?? 'Error'}${error.code ? ` [${error.code}]` : ''}: ${error.message ?? ''}`
    if (error.stack) line += `\n${error.stack}`
  }
  return `${line}\n`
}
