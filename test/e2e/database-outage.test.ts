// PostgreSQL going away mid-run: every route answers 503 service_unavailable with Retry-After
// in the error format (never a 500, never a hang, never a crash), /ready says 503, and the
// instance recovers by itself when the database is back. The outage is made by an in-process
// TCP proxy between the app and the shared PostgreSQL: the test refuses new connections and
// cuts the open ones, or accepts connections and never answers, and the shared server is never
// touched. Needs DATABASE_URL; the embedded database cannot go away.
import { once } from 'node:events'
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net'
import { sql } from 'drizzle-orm'
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/platform/config/index.ts'
import { type DatabaseHandle, isDatabaseUnavailable, openDatabase } from '../../src/platform/db/index.ts'
import { randomBase62 } from '../../src/platform/lib/random.ts'
import { type Server as App, createServer as createApp } from '../../src/server.ts'
import { testDatabase } from '../../src/testing/harness.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A TCP proxy to `target` that can refuse, black-hole or forward connections. */
class TcpProxy {
  mode: 'forward' | 'blackhole' = 'forward'
  /** While set, a forwarded connection is cut as the app sends a message holding this text. */
  cutOn: string | null = null
  port = 0
  private server: Server | null = null
  private readonly sockets = new Set<Socket>()
  private readonly target: { host: string; port: number }
  constructor(target: { host: string; port: number }) {
    this.target = target
  }

  async open(): Promise<void> {
    const server = createServer((client) => {
      this.track(client)
      if (this.mode === 'blackhole') return // accepted, never answered
      const upstream = tcpConnect(this.target.port, this.target.host)
      this.track(upstream)
      // one side gone, the other follows, as when a server dies
      client.on('close', () => upstream.destroy())
      upstream.on('close', () => client.destroy())
      // Before the pipe's own listener, so the message never reaches the database.
      client.on('data', (chunk: Buffer) => {
        if (this.cutOn !== null && chunk.toString('latin1').includes(this.cutOn)) {
          client.destroy()
          upstream.destroy()
        }
      })
      client.pipe(upstream).pipe(client)
    })
    server.listen(this.port, '127.0.0.1')
    await once(server, 'listening')
    this.port = (server.address() as { port: number }).port
    this.server = server
  }

  /** Stops listening (new connections are refused) and cuts every open connection. */
  async close(): Promise<void> {
    const server = this.server
    this.server = null
    const closed = server ? new Promise((resolve) => server.close(resolve)) : Promise.resolve()
    this.cut()
    await closed
  }

  cut(): void {
    for (const socket of this.sockets) socket.destroy()
  }

  private track(socket: Socket): void {
    this.sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => this.sockets.delete(socket))
  }
}

const adminUrl = process.env.DATABASE_URL

describe.skipIf(!adminUrl)('database outage', () => {
  let proxy: TcpProxy
  let database: DatabaseHandle
  let drop: () => Promise<void>
  let app: App
  let key: string
  let postId: number
  const masterKey = `sk_master_${randomBase62(40)}`

  beforeAll(async () => {
    const own = await testDatabase() // a database of its own on the shared server
    drop = own.drop
    await own.handle.close()
    const direct = new URL(own.url as string)
    proxy = new TcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) })
    await proxy.open()
    const proxied = new URL(direct)
    proxied.host = `127.0.0.1:${proxy.port}`
    database = await openDatabase({ databaseUrl: proxied.toString(), poolSize: 4, connectTimeoutMs: 1000 })
    const config = loadConfig({
      CORE_API_MASTER_KEY: masterKey,
      PUBLIC_URL: 'http://api.test',
      LOG_LEVEL: 'silent',
      RATE_LIMIT_IP_PER_HOUR: '0',
      RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '0',
      // every request looks its key up, so every request needs the database
      CREDENTIAL_CACHE_SECONDS: '0',
      WEBHOOK_POLL_MS: '200',
    })
    app = await createApp(config, { database, logger: false })
    await app.ready()
    const master = { authorization: `Bearer ${masterKey}` }
    const ws = await app.inject({
      method: 'POST',
      url: '/api/v1/workspaces',
      headers: master,
      payload: { name: 'outage', tier: 'enterprise' },
    })
    const keyRes = await app.inject({
      method: 'POST',
      url: '/api/v1/api-keys',
      headers: { ...master, 'x-workspace-id': String(ws.json().data.id) },
      payload: { name: 'outage', scopes: ['*'] },
    })
    key = keyRes.json().data.key
    const post = await call('POST', '/api/v1/posts', { title: 'before' })
    expect(post.statusCode, post.body).toBe(201)
    postId = post.json().data.id
  }, 60_000)

  afterAll(async () => {
    await app?.close()
    await proxy?.close()
    await drop?.()
  })

  function call(method: string, url: string, payload?: unknown): Promise<LightMyRequestResponse> {
    return app.inject({
      method: method as 'GET',
      url,
      headers: { authorization: `Bearer ${key}` },
      ...(payload !== undefined && { payload: payload as Record<string, unknown> }),
    })
  }

  const requests = (): Array<[string, string, unknown?]> => [
    ['GET', '/api/v1/posts'],
    ['GET', `/api/v1/posts/${postId}`],
    ['POST', '/api/v1/posts', { title: 'during' }],
    ['PATCH', `/api/v1/posts/${postId}`, { title: 'during' }],
    ['GET', '/api/v1/me'],
    ['GET', '/api/v1/webhooks'],
    ['GET', '/api/v1/entitlements/summary'],
  ]

  function expectUnavailable(res: LightMyRequestResponse, label: string): void {
    expect(res.statusCode, `${label}: ${res.body}`).toBe(503)
    const retryAfter = Number(res.headers['retry-after'])
    expect(retryAfter, label).toBeGreaterThanOrEqual(1)
    expect(retryAfter, label).toBeLessThanOrEqual(5)
    expect(res.json()).toEqual({
      error: 'service_unavailable',
      message: expect.any(String),
      request_id: res.headers['x-request-id'],
    })
  }

  /** Polls until a read works again; returns the milliseconds it took. */
  async function recovery(): Promise<number> {
    const started = Date.now()
    for (let attempt = 0; attempt < 300; attempt++) {
      const res = await call('GET', '/api/v1/posts')
      expect(res.statusCode, res.body).not.toBe(500)
      if (res.statusCode === 200) return Date.now() - started
      await sleep(100)
    }
    throw new Error('no recovery within 300 attempts')
  }

  async function expectWorking(): Promise<void> {
    for (const [method, url, payload] of requests()) {
      const res = await call(method, url, payload)
      expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300)
    }
    expect((await app.inject('/ready')).statusCode).toBe(200)
  }

  it('answers 503 with Retry-After while connections are refused, then recovers', async () => {
    const started = Date.now()
    await proxy.close()
    const first = await call('GET', '/api/v1/posts')
    const timeTo503 = Date.now() - started
    expectUnavailable(first, 'first read')
    for (const [method, url, payload] of requests())
      expectUnavailable(await call(method, url, payload), `${method} ${url}`)
    const ready = await app.inject('/ready')
    expect(ready.statusCode).toBe(503)
    expect(ready.json().error).toBe('service_unavailable')
    expect((await app.inject('/health')).statusCode).toBe(200) // the process itself is fine

    await proxy.open()
    const timeToRecover = await recovery()
    await expectWorking()
    console.info(
      `refused: first 503 after ${timeTo503} ms; recovered ${timeToRecover} ms after the database came back`,
    )
  })

  it('answers 503, not a hang, when the database accepts connections but never answers', async () => {
    await proxy.close()
    proxy.mode = 'blackhole'
    await proxy.open()
    await sleep(200) // the pool notices its cut connections and drops them
    const started = Date.now()
    const results = await Promise.all(requests().map(([method, url, payload]) => call(method, url, payload)))
    const timeTo503 = Date.now() - started
    for (const [i, res] of results.entries()) expectUnavailable(res, requests()[i]![1])
    expect((await app.inject('/ready')).statusCode).toBe(503)

    proxy.cut()
    proxy.mode = 'forward'
    const timeToRecover = await recovery()
    await expectWorking()
    console.info(`black hole: all 503 after ${timeTo503} ms; recovered ${timeToRecover} ms after`)
  }, 60_000)

  it('survives a connection cut under a transaction in progress (no uncaught error event)', async () => {
    const errors: unknown[] = []
    const onUncaught = (error: unknown) => errors.push(error)
    process.on('uncaughtException', onUncaught)
    try {
      const transaction = database.db.transaction(async (tx) => {
        await tx.execute(sql`select pg_sleep(2)`)
      })
      await sleep(300)
      proxy.cut()
      const failure = await transaction.then(
        () => null,
        (error: unknown) => error,
      )
      expect(isDatabaseUnavailable(failure), String(failure)).toBe(true)
      await sleep(100)
      expect(errors).toEqual([])
    } finally {
      process.off('uncaughtException', onUncaught)
    }
    await recovery()
  })

  it('gives back to the pool a connection cut as its transaction begins', async () => {
    // More losses than the pool (4) has connections: were one kept checked out each time, the
    // pool would be empty and the query after them would wait for a connection to time out.
    proxy.cutOn = 'begin'
    try {
      for (let i = 0; i < 6; i++)
        await expect(database.db.transaction((tx) => tx.execute(sql`select 1`))).rejects.toThrow()
    } finally {
      proxy.cutOn = null
    }
    const result = (await database.db.execute(sql`select 1 as one`)) as unknown as { rows: unknown[] }
    expect(result.rows).toEqual([{ one: 1 }])
    await expectWorking()
  })

  it('survives connections cut in the middle of requests and transactions: 2xx or 503, no crash', async () => {
    const statuses = new Map<number, number>()
    for (let round = 0; round < 5; round++) {
      const inFlight = Array.from({ length: 24 }, (_, i) => {
        const [method, url, payload] = requests()[i % requests().length]!
        return call(method, url, payload)
      })
      await sleep(round * 3)
      proxy.cut()
      for (const res of await Promise.all(inFlight)) {
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
        expect([200, 201, 503], res.body).toContain(res.statusCode)
        if (res.statusCode === 503) expectUnavailable(res, 'cut')
      }
      await recovery()
    }
    await expectWorking()
    console.info(`cut mid-request: ${JSON.stringify(Object.fromEntries(statuses))}`)
  }, 60_000)
})

describe('isDatabaseUnavailable', () => {
  it('recognises lost and refused connections, wrapped or not, and nothing else', () => {
    const coded = (code: string, message = 'x') => Object.assign(new Error(message), { code })
    const wrapped = (cause: unknown) => new Error('Failed query: select 1\nparams: ', { cause })
    for (const error of [
      coded('ECONNREFUSED'),
      coded('ECONNRESET'),
      coded('57P01', 'terminating connection due to administrator command'),
      coded('57P03', 'the database system is starting up'),
      coded('08006'),
      coded('08P01'),
      coded('53300', 'sorry, too many clients already'),
      new Error('Connection terminated unexpectedly'),
      new Error('Connection terminated due to connection timeout'),
      new Error('timeout exceeded when trying to connect'),
      new Error('Client has encountered a connection error and is not queryable'),
      new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')]),
      wrapped(coded('ECONNREFUSED')),
      wrapped(wrapped(new Error('Connection terminated unexpectedly'))),
    ]) {
      expect(isDatabaseUnavailable(error), String(error)).toBe(true)
    }
    for (const error of [
      coded('23505', 'duplicate key value violates unique constraint'),
      coded('23503'),
      coded('42P01', 'relation does not exist'),
      coded('22P02'),
      new Error('boom'),
      wrapped(coded('40P01', 'deadlock detected')),
      new TypeError('x is undefined'),
      null,
      undefined,
      'ECONNREFUSED',
    ]) {
      expect(isDatabaseUnavailable(error), String(error)).toBe(false)
    }
  })
})
