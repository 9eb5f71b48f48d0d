// The `fetch` a workspace-registered MCP server is reached with: node's http(s) through the
// SSRF guard's lookup, so every connection — the first and each reconnection — is checked
// against the addresses the host resolves to at that moment. Redirects are not followed (a
// redirect could lead anywhere), and the answer streams, as Streamable HTTP's SSE needs, but
// no more than MAX_ANSWER_BYTES of it: a server cannot make the gateway hold an endless body.
import http from 'node:http'
import https from 'node:https'
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js'
import { checkUrl, guardedLookup } from '../../platform/net/ssrf.ts'

/** The most one answer of a registered server may carry (the SDK's stdio limit is the same). */
const MAX_ANSWER_BYTES = 10 * 1024 * 1024

/**
 * The answer as a web stream that errors past MAX_ANSWER_BYTES. Written here rather than with
 * `Readable.toWeb`: that adapter, after its reader cancels, can still push a chunk it had
 * buffered into the closed stream, which throws from a stream callback — an uncaught exception
 * that would take the process down whenever a client gives up on an answer early.
 */
function webBody(source: http.IncomingMessage): ReadableStream<Uint8Array> {
  let seen = 0
  let settled = false
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const finish = (error?: Error) => {
        if (settled) return
        settled = true
        if (error) controller.error(error)
        else controller.close()
      }
      source.on('data', (chunk: Buffer) => {
        if (settled) return
        seen += chunk.length
        if (seen > MAX_ANSWER_BYTES) {
          finish(new Error(`the answer exceeds ${MAX_ANSWER_BYTES} bytes`))
          source.destroy()
          return
        }
        controller.enqueue(new Uint8Array(chunk))
        if ((controller.desiredSize ?? 0) <= 0) source.pause()
      })
      source.on('end', () => finish())
      source.on('error', (error) => finish(error))
      source.on('close', () => finish(source.complete ? undefined : new Error('the answer was cut off')))
    },
    pull() {
      source.resume()
    },
    cancel() {
      settled = true
      source.destroy()
    },
  })
}

function headerPairs(init: ConstructorParameters<typeof Headers>[0]): Record<string, string> {
  const out: Record<string, string> = {}
  new Headers(init).forEach((value, key) => {
    out[key] = value
  })
  return out
}

export function guardedFetch(allowInsecure: boolean): FetchLike {
  const lookup = guardedLookup(allowInsecure)
  return (input, init) =>
    new Promise<Response>((resolve, reject) => {
      let url: URL
      try {
        url = checkUrl(String(input), allowInsecure)
      } catch (error) {
        return reject(error)
      }
      const body = init?.body
      if (body != null && typeof body !== 'string') return reject(new TypeError('only text bodies are sent'))
      const method = init?.method ?? 'GET'
      const request = (url.protocol === 'https:' ? https : http).request(
        url,
        { method, headers: headerPairs(init?.headers), lookup, signal: init?.signal ?? undefined },
        (res) => {
          const headers = new Headers()
          for (const [key, value] of Object.entries(res.headers)) {
            if (Array.isArray(value)) for (const item of value) headers.append(key, item)
            else if (value !== undefined) headers.set(key, value)
          }
          const status = res.statusCode ?? 502
          const empty = method === 'HEAD' || status === 204 || status === 304
          if (empty) res.resume()
          resolve(
            new Response(empty ? null : webBody(res), {
              status,
              statusText: res.statusMessage ?? '',
              headers,
            }),
          )
        },
      )
      request.on('error', reject)
      request.end(body ?? undefined)
    })
}
