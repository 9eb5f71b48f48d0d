// One HTTP attempt of a delivery: POST the body with the given headers, through the SSRF
// guard, with a timeout, following no redirects, reading at most a bounded prefix of the
// answer. Whatever the receiver does, the outcome is a value, never an exception.
import http from 'node:http'
import https from 'node:https'
import { guardedLookup } from '../../platform/net/ssrf.ts'

export type Attempt = {
  ok: boolean
  status: number | null
  /** The start of the response body, as text a database accepts (see `storableText`). */
  body: string
  durationMs: number
  error: string | null
  /** From a Retry-After header, when the receiver sent one. */
  retryAfterMs: number | null
}

const MAX_BODY_BYTES = 4096
const MAX_ERROR_CHARS = 500
/** The longest a receiver's Retry-After may push an attempt back. */
export const MAX_RETRY_AFTER_MS = 86_400_000

/**
 * Receiver bytes as text any column accepts: invalid UTF-8 becomes U+FFFD, and so does NUL,
 * which PostgreSQL refuses in text. A receiver must never be able to make a write fail.
 */
function storableText(bytes: Buffer | string, maxChars = Number.POSITIVE_INFINITY): string {
  const text = typeof bytes === 'string' ? bytes : bytes.toString('utf8')
  return text.replaceAll('\u0000', '\uFFFD').slice(0, maxChars).toWellFormed()
}

/** An HTTP date (IMF-fixdate, RFC 9110): `Sun, 06 Nov 1994 08:49:37 GMT`. */
const HTTP_DATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/

/** Retry-After as a delay in ms, between 0 and MAX_RETRY_AFTER_MS; null when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | null {
  if (typeof value !== 'string') return null
  const text = value.trim()
  if (/^\d+$/.test(text)) return Math.min(Number(text.slice(0, 12)) * 1000, MAX_RETRY_AFTER_MS)
  if (!HTTP_DATE.test(text)) return null
  const at = Date.parse(text)
  return Number.isFinite(at) ? Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS) : null
}

function describe(error: NodeJS.ErrnoException): string {
  if (error.name === 'UnsafeUrlError') return `Blocked: ${error.message}`
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'Connection refused'
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'Host not found'
    case 'ECONNRESET':
      return 'Connection reset'
    case 'ETIMEDOUT':
      return 'Connection timeout'
    default:
      return error.message || 'Connection failed'
  }
}

export class Sender {
  private readonly timeoutMs: number
  private readonly agents: { http: http.Agent; https: https.Agent }

  constructor(options: { allowInsecure: boolean; timeoutMs: number }) {
    this.timeoutMs = options.timeoutMs
    const lookup = guardedLookup(options.allowInsecure)
    this.agents = {
      http: new http.Agent({ keepAlive: true, maxSockets: 64, lookup }),
      https: new https.Agent({ keepAlive: true, maxSockets: 64, lookup }),
    }
  }

  send(url: URL, headers: Record<string, string>, body: string): Promise<Attempt> {
    const started = performance.now()
    const elapsed = () => Math.round(performance.now() - started)
    const isHttps = url.protocol === 'https:'
    return new Promise<Attempt>((resolve) => {
      let settled = false
      const finish = (attempt: Attempt) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resolve(attempt)
      }
      const fail = (error: string) =>
        finish({
          ok: false,
          status: null,
          body: '',
          durationMs: elapsed(),
          error: storableText(error, MAX_ERROR_CHARS),
          retryAfterMs: null,
        })
      const request = (isHttps ? https : http).request(url, {
        method: 'POST',
        agent: isHttps ? this.agents.https : this.agents.http,
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'core-api-webhooks/1',
        },
      })
      const timer = setTimeout(() => {
        request.destroy()
        fail('Connection timeout')
      }, this.timeoutMs)
      request.on('error', (error) => fail(describe(error)))
      request.on('response', (response) => {
        const chunks: Buffer[] = []
        let size = 0
        response.on('data', (chunk: Buffer) => {
          if (size < MAX_BODY_BYTES) chunks.push(chunk.subarray(0, MAX_BODY_BYTES - size))
          size += chunk.length
          if (size > 1_048_576) response.destroy() // a receiver that never stops talking
        })
        const done = () => {
          const status = response.statusCode ?? 0
          const ok = status >= 200 && status < 300
          finish({
            ok,
            status,
            body: storableText(Buffer.concat(chunks)),
            durationMs: elapsed(),
            error: ok ? null : `HTTP ${status}`,
            retryAfterMs: parseRetryAfter(response.headers['retry-after'], Date.now()),
          })
        }
        response.on('end', done)
        response.on('close', done)
        response.on('error', done)
      })
      request.end(body)
    })
  }

  close(): void {
    this.agents.http.destroy()
    this.agents.https.destroy()
  }
}
