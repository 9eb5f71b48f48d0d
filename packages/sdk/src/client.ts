// The client: one fetch-based request path (headers, timeouts, hooks, retries, errors) under a
// method per operation of the API, built from the generated operation table. It uses only what
// Node >= 20, Deno, Bun and browsers all provide: fetch, Headers, AbortController, URL,
// crypto.randomUUID.
import { ConnectionError, CoreApiError, errorFromResponse, TimeoutError } from './errors.ts'
import { type Operation, operations } from './operations.ts'
import { PagePromise } from './pagination.ts'
import type { Resources } from './resources.ts'

export type ClientOptions = {
  /** Where the server is, e.g. `https://api.example.com` (a trailing `/api/v1` is ignored). */
  baseUrl: string
  /** An API key (`sk_live_…`), the master key, or an OAuth access token: sent as `Authorization: Bearer`. */
  apiKey?: string
  /** `X-Workspace-ID` for every request: needed by the master key and user credentials on workspace-scoped routes. */
  workspaceId?: number | string
  /** Retries after a connection error, a timeout, 408, 409 `idempotency_in_progress`, 429 or 5xx. Default 2. */
  maxRetries?: number
  /** Milliseconds each attempt may take, body included, before it is abandoned. Default 60 000. */
  timeout?: number
  /** The first backoff delay in milliseconds, doubled on each retry. Default 500. */
  retryDelay?: number
  /** The longest backoff delay in milliseconds. Default 8000. */
  maxRetryDelay?: number
  /** A `Retry-After` longer than this (milliseconds) is not waited for: the error is thrown. Default 60 000. */
  maxRetryAfter?: number
  /** Headers added to every request. */
  headers?: Record<string, string>
  /** The fetch to use (a runtime's own by default). */
  fetch?: typeof fetch
  /** Called before every attempt; it may change `headers`. */
  onRequest?: (request: RequestContext) => void | Promise<void>
  /** Called after every response that arrived (errors included, not connection failures). */
  onResponse?: (response: ResponseContext) => void | Promise<void>
}

/** Options of one call; they override the client's. */
export type RequestOptions = {
  /** The `Idempotency-Key` of a POST, PUT, PATCH or DELETE (a random UUID by default), reused by its retries. */
  idempotencyKey?: string
  workspaceId?: number | string
  maxRetries?: number
  timeout?: number
  /** Aborts the call, including a backoff wait; the promise rejects with the signal's reason. */
  signal?: AbortSignal
  headers?: Record<string, string>
}

export type RequestContext = {
  method: string
  url: string
  headers: Headers
  body: string | undefined
  /** 0 for the first attempt, then the retry's number (also sent as `X-Retry-Count`). */
  attempt: number
}

export type ResponseContext = RequestContext & {
  status: number
  responseHeaders: Headers
  /** The parsed JSON body (or the text of a non-JSON one; undefined when empty). */
  responseBody: unknown
  durationMs: number
}

/** A request by path, for `client.request(...)`: the escape hatch beside the typed methods. */
export type RawRequest = RequestOptions & {
  method: string
  /** The path under the base URL, e.g. `/api/v1/posts/1`. */
  path: string
  query?: QueryInput
  body?: unknown
}

type QueryInput = URLSearchParams | Record<string, unknown> | undefined

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

export class CoreApiClient {
  readonly #options: ClientOptions & { fetch: typeof fetch }
  readonly #baseUrl: string

  constructor(options: ClientOptions) {
    if (!options || typeof options.baseUrl !== 'string') throw new TypeError('baseUrl is required')
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '').replace(/\/api\/v1$/, '')
    this.#options = { ...options, fetch: options.fetch ?? ((...args) => globalThis.fetch(...args)) }
    for (const [resource, methods] of Object.entries(operations)) {
      const facade: Record<string, unknown> = {}
      for (const [name, operation] of Object.entries(methods)) {
        facade[name] = (...args: unknown[]) => this.#invoke(operation as Operation, args)
      }
      Object.defineProperty(this, resource, { value: Object.freeze(facade), enumerable: true })
    }
  }

  /** Sends one request (with retries) and resolves to its parsed body; rejects with a CoreApiError. */
  async request<T = unknown>(request: RawRequest): Promise<T> {
    const method = request.method.toUpperCase()
    const url = this.#baseUrl + request.path + queryString(request.query)
    const headers = new Headers({ accept: 'application/json', ...this.#options.headers, ...request.headers })
    if (this.#options.apiKey) headers.set('authorization', `Bearer ${this.#options.apiKey}`)
    const workspace = request.workspaceId ?? this.#options.workspaceId
    if (workspace !== undefined) headers.set('x-workspace-id', String(workspace))
    if (WRITE_METHODS.has(method) && !headers.has('idempotency-key')) {
      headers.set('idempotency-key', request.idempotencyKey ?? globalThis.crypto.randomUUID())
    }
    let body: string | undefined
    if (request.body !== undefined) {
      body = JSON.stringify(request.body)
      headers.set('content-type', 'application/json')
    }
    const maxRetries = request.maxRetries ?? this.#options.maxRetries ?? 2
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) headers.set('x-retry-count', String(attempt))
      let error: CoreApiError
      try {
        return (await this.#attempt({ method, url, headers, body, attempt }, request)) as T
      } catch (caught) {
        if (!(caught instanceof CoreApiError)) throw caught
        error = caught
      }
      if (attempt >= maxRetries || !retryable(error)) throw error
      const delay = this.#delay(attempt + 1, error.headers)
      if (delay === null) throw error
      await sleep(delay, request.signal)
    }
  }

  /** One attempt: resolves to the parsed body of a success, rejects with a CoreApiError otherwise. */
  async #attempt(info: RequestContext, request: RawRequest): Promise<unknown> {
    const { signal } = request
    signal?.throwIfAborted()
    await this.#options.onRequest?.(info)
    const timeout = request.timeout ?? this.#options.timeout ?? 60_000
    const controller = new AbortController()
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      controller.abort()
    }, timeout)
    const forward = () => controller.abort(signal?.reason)
    signal?.addEventListener('abort', forward, { once: true })
    const started = Date.now()
    let response: Response
    let text: string
    try {
      response = await this.#options.fetch(info.url, {
        method: info.method,
        headers: info.headers,
        body: info.body,
        signal: controller.signal,
      })
      text = await response.text()
    } catch (cause) {
      if (signal?.aborted) throw signal.reason
      if (timedOut) {
        throw new TimeoutError(`${info.method} ${info.url} timed out after ${timeout} ms`, {
          status: null,
          code: 'timeout',
          requestId: null,
          cause,
        })
      }
      throw new ConnectionError(`${info.method} ${info.url} failed: ${describe(cause)}`, {
        status: null,
        code: 'connection_error',
        requestId: null,
        cause,
      })
    } finally {
      clearTimeout(timer)
      signal?.removeEventListener('abort', forward)
    }
    const body = parseBody(text, response.headers)
    await this.#options.onResponse?.({
      ...info,
      status: response.status,
      responseHeaders: response.headers,
      responseBody: body,
      durationMs: Date.now() - started,
    })
    if (!response.ok) throw errorFromResponse(response.status, response.headers, body)
    return body
  }

  /** Milliseconds to wait before retry number `retry`, or null when `Retry-After` asks for too long. */
  #delay(retry: number, headers: Headers | null): number | null {
    const retryAfter = parseRetryAfter(headers?.get('retry-after') ?? null)
    if (retryAfter !== null) return retryAfter > (this.#options.maxRetryAfter ?? 60_000) ? null : retryAfter
    const base = Math.min(
      this.#options.maxRetryDelay ?? 8000,
      (this.#options.retryDelay ?? 500) * 2 ** (retry - 1),
    )
    // Jitter spreads the retries of many clients that failed at the same moment.
    return base * (1 - Math.random() * 0.25)
  }

  #invoke(operation: Operation, args: unknown[]): unknown {
    const values = args.slice(0, operation.params.length)
    let index = operation.params.length
    const input = operation.input === 'none' ? undefined : args[index++]
    const options = (args[index] ?? {}) as RequestOptions
    const path = operation.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
      const value = values[operation.params.indexOf(name)]
      if (value === undefined || value === null || value === '') {
        throw new TypeError(`${operation.id}: the path parameter ${name} is required`)
      }
      // The wildcard (an MCP resource URI) keeps its slashes.
      return name === '*'
        ? encodeURI(String(value)).replace(/[?#]/g, encodeURIComponent)
        : encodeURIComponent(String(value))
    })
    const send = (query: QueryInput) =>
      this.request({
        ...options,
        method: operation.method,
        path,
        query: operation.input === 'query' ? query : undefined,
        body: operation.input === 'body' ? input : undefined,
      })
    if (operation.list) return new PagePromise((next) => send(next ?? (input as QueryInput)) as never)
    return send(input as QueryInput)
  }
}

/** A client with a method per operation: `client.posts.create({...})`, `client.posts.list()`. */
export type Client = CoreApiClient & Resources

export function createClient(options: ClientOptions): Client {
  return new CoreApiClient(options) as Client
}

function retryable(error: CoreApiError): boolean {
  if (error.status === null) return true // no response: connection error or timeout
  return (
    error.status === 408 ||
    error.status === 429 ||
    error.status >= 500 ||
    (error.status === 409 && error.code === 'idempotency_in_progress')
  )
}

/** `Retry-After` as milliseconds from now: delta-seconds or an HTTP date; null when absent or unreadable. */
function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null) return null
  const text = value.trim()
  if (/^\d+(?:\.\d+)?$/.test(text)) return Number(text) * 1000
  const date = Date.parse(text)
  return Number.isNaN(date) ? null : Math.max(0, date - now)
}

function queryString(query: QueryInput): string {
  if (query === undefined) return ''
  const params = new URLSearchParams()
  const entries = query instanceof URLSearchParams ? [...query.entries()] : Object.entries(query)
  for (const [key, value] of entries) {
    if (value === undefined || value === null) continue
    params.append(key, Array.isArray(value) ? value.join(',') : String(value))
  }
  const text = params.toString()
  return text ? `?${text}` : ''
}

function parseBody(text: string, headers: Headers): unknown {
  if (text === '') return undefined
  if (!/[/+]json\b/i.test(headers.get('content-type') ?? '')) return text
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const done = () => {
      signal?.removeEventListener('abort', abort)
      resolve()
    }
    const timer = setTimeout(done, ms)
    const abort = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    signal?.addEventListener('abort', abort, { once: true })
  })
}

function describe(cause: unknown): string {
  if (cause instanceof Error) {
    const inner = cause.cause instanceof Error ? `: ${cause.cause.message}` : ''
    return `${cause.message}${inner}`
  }
  return String(cause)
}
