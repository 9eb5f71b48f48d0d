// Retries through a fault-injecting proxy on loopback in front of a real server: it answers
// 429 with Retry-After, 503, a fabricated 409 idempotency_in_progress, or forwards the request
// and then drops the connection (so the server did the work and the client saw nothing). The
// client must wait as told, back off otherwise, reuse the request's Idempotency-Key, count its
// retries in X-Retry-Count, leave other 4xx alone, and create exactly one post however often
// it retried.
import { createServer, type IncomingHttpHeaders } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ConnectionError,
  createClient,
  NotFoundError,
  RateLimitError,
  ServerError,
} from '../../packages/sdk/src/index.ts'
import { useServer } from './server.ts'

type Fault =
  | { kind: 'forward' }
  | { kind: 'drop' } // forwarded, answered upstream, then the client's connection is destroyed
  | { kind: 'answer'; status: number; headers?: Record<string, string>; body?: unknown }

type Seen = { at: number; method: string; path: string; headers: IncomingHttpHeaders }

const server = useServer()
const faults: Fault[] = []
const seen: Seen[] = []
let proxyUrl = ''
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'host'])

const proxy = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (chunk: Buffer) => chunks.push(chunk))
  req.on('end', async () => {
    seen.push({ at: performance.now(), method: req.method!, path: req.url!, headers: req.headers })
    const fault = faults.shift() ?? { kind: 'forward' }
    if (fault.kind === 'answer') {
      const body = JSON.stringify(
        fault.body ?? { error: 'service_unavailable', message: 'Try later', request_id: 'req_proxy' },
      )
      res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers }).end(body)
      return
    }
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(req.headers)) {
      if (!HOP_BY_HOP.has(name) && typeof value === 'string') headers[name] = value
    }
    const upstream = await fetch(server.baseUrl + req.url, {
      method: req.method,
      headers,
      body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
    })
    const text = await upstream.text()
    if (fault.kind === 'drop') {
      req.socket.destroy()
      return
    }
    const out: Record<string, string> = {}
    upstream.headers.forEach((value, name) => {
      if (!HOP_BY_HOP.has(name) && name !== 'content-encoding') out[name] = value
    })
    res.writeHead(upstream.status, out).end(text)
  })
})

beforeAll(async () => {
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`
})
afterAll(async () => {
  proxy.closeAllConnections()
  await new Promise((resolve) => proxy.close(resolve))
})

/** A workspace with a key; a client through the proxy, and one straight to the server for checks. */
async function setup(options: Parameters<typeof createClient>[0] extends infer O ? Partial<O> : never = {}) {
  const direct = createClient({ baseUrl: server.baseUrl, apiKey: server.t.masterKey })
  const { data: workspace } = await direct.workspaces.create({ name: 'Retry Co', tier: 'enterprise' })
  const { data: key } = await direct.apiKeys.create({ name: 'retry' }, { workspaceId: workspace.id })
  faults.length = 0
  seen.length = 0
  const api = createClient({ baseUrl: proxyUrl, apiKey: key.key, retryDelay: 50, ...options })
  const count = async () => (await direct.posts.list(undefined, { workspaceId: workspace.id })).meta.total
  return { api, count }
}

const gaps = () => seen.slice(1).map((s, i) => s.at - seen[i]!.at)

describe('retries through a faulty proxy', () => {
  it('waits out a 429 Retry-After, then succeeds with the same Idempotency-Key and X-Retry-Count', async () => {
    const { api, count } = await setup()
    faults.push({
      kind: 'answer',
      status: 429,
      headers: { 'retry-after': '1' },
      body: { error: 'rate_limit_exceeded', message: 'Slow down', request_id: 'req_x', retry_after: 1 },
    })
    const { data: post } = await api.posts.create({ title: 'After the wait' })
    expect(post.title).toBe('After the wait')
    expect(seen).toHaveLength(2)
    expect(gaps()[0]).toBeGreaterThanOrEqual(990)
    expect(seen[0]!.headers['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/)
    expect(seen[1]!.headers['idempotency-key']).toBe(seen[0]!.headers['idempotency-key'])
    expect(seen.map((s) => s.headers['x-retry-count'])).toEqual([undefined, '1'])
    expect(await count()).toBe(1)
  })

  it('reads Retry-After as an HTTP date too', async () => {
    const { api } = await setup()
    const date = new Date(Date.now() + 2000).toUTCString() // second precision: 1–2 s from now
    faults.push({ kind: 'answer', status: 503, headers: { 'retry-after': date } })
    await api.posts.list()
    expect(seen).toHaveLength(2)
    expect(gaps()[0]).toBeGreaterThanOrEqual(900)
  })

  it('backs off exponentially on 503s without Retry-After, then gives up with a ServerError', async () => {
    const { api } = await setup()
    for (let i = 0; i < 3; i++) faults.push({ kind: 'answer', status: 503 })
    const error = await api.posts.list().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ServerError)
    expect(error).toMatchObject({ status: 503, code: 'service_unavailable', requestId: 'req_proxy' })
    expect(seen).toHaveLength(3) // the first attempt and two retries (the default)
    const [first, second] = gaps() as [number, number]
    expect(first).toBeGreaterThanOrEqual(36) // 50 ms less at most 25 % jitter
    expect(second).toBeGreaterThanOrEqual(74) // doubled
    expect(seen.map((s) => s.headers['x-retry-count'])).toEqual([undefined, '1', '2'])
  })

  it('retries as often as the client or the request says', async () => {
    const { api } = await setup({ maxRetries: 4 })
    for (let i = 0; i < 4; i++) faults.push({ kind: 'answer', status: 500 })
    await api.posts.list()
    expect(seen).toHaveLength(5)

    seen.length = 0
    faults.push({ kind: 'answer', status: 500 })
    await expect(api.posts.list(undefined, { maxRetries: 0 })).rejects.toBeInstanceOf(ServerError)
    expect(seen).toHaveLength(1)
    faults.length = 0
  })

  it('retries 409 idempotency_in_progress and 408, not other 4xx', async () => {
    const { api, count } = await setup()
    faults.push(
      {
        kind: 'answer',
        status: 409,
        headers: { 'retry-after': '0' },
        body: { error: 'idempotency_in_progress', message: 'Still running', request_id: 'req_y' },
      },
      {
        kind: 'answer',
        status: 408,
        body: { error: 'request_timeout', message: 'Slow', request_id: 'req_z' },
      },
    )
    await api.posts.create({ title: 'Third time' })
    expect(seen).toHaveLength(3)
    expect(await count()).toBe(1)

    seen.length = 0
    faults.push({
      kind: 'answer',
      status: 409,
      body: { error: 'conflict', message: 'Taken', request_id: 'req_c' },
    })
    await expect(api.posts.create({ title: 'No' })).rejects.toMatchObject({ status: 409, code: 'conflict' })
    await expect(api.posts.get(987_654)).rejects.toBeInstanceOf(NotFoundError)
    expect(seen).toHaveLength(2) // one attempt each
    expect(await count()).toBe(1)
  })

  it('does not wait for a Retry-After longer than maxRetryAfter: the RateLimitError says how long', async () => {
    const { api } = await setup()
    faults.push({
      kind: 'answer',
      status: 429,
      headers: { 'retry-after': '3600' },
      body: { error: 'rate_limit_exceeded', message: 'Slow down', request_id: 'req_r', retry_after: 3600 },
    })
    const error = await api.posts.list().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RateLimitError)
    expect(error).toMatchObject({ status: 429, retryAfter: 3600 })
    expect(seen).toHaveLength(1)
  })

  it('an abort during the backoff wait ends the call at once, without another attempt', async () => {
    const { api } = await setup()
    faults.push({ kind: 'answer', status: 503, headers: { 'retry-after': '30' } })
    const controller = new AbortController()
    const started = performance.now()
    const pending = api.posts.list(undefined, { signal: controller.signal }).catch((e: unknown) => e)
    while (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 10))
    controller.abort(new Error('shutting down'))
    expect(await pending).toMatchObject({ message: 'shutting down' })
    expect(performance.now() - started).toBeLessThan(5000)
    expect(seen).toHaveLength(1)
  })

  it('a refused connection is a ConnectionError once the retries are spent', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as { port: number }).port
    await new Promise((resolve) => closed.close(resolve)) // nothing listens there any more
    const api = createClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: 'sk_live_x', retryDelay: 10 })
    const error = await api.posts.list().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConnectionError)
    expect((error as ConnectionError).message).toContain('ECONNREFUSED')
  })

  it('a POST whose connection dropped after the server created the post is retried and creates exactly one', async () => {
    const { api, count } = await setup()
    faults.push({ kind: 'drop' }, { kind: 'drop' })
    const { data: post } = await api.posts.create({ title: 'Exactly once' })
    expect(seen).toHaveLength(3)
    expect(new Set(seen.map((s) => s.headers['idempotency-key'])).size).toBe(1)
    expect(await count()).toBe(1)
    expect(post.title).toBe('Exactly once')
  })

  it('gives up with a ConnectionError when the connection keeps dropping', async () => {
    const { api, count } = await setup()
    faults.push({ kind: 'drop' }, { kind: 'drop' }, { kind: 'drop' })
    const error = await api.posts.create({ title: 'Unseen' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConnectionError)
    expect(error).toMatchObject({ status: null, code: 'connection_error', requestId: null })
    expect(seen).toHaveLength(3)
    expect(await count()).toBe(1) // the server did it once; the client just never heard
  })
})
