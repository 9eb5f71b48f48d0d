// No secret in any log line: the log of requests that carry credentials and secrets — in the
// Authorization header, cookies, query strings, paths and bodies — on 401, 404, 422, 500 and
// parser-level refusals is captured at debug level and searched for every one of them; each
// request still has its one access line.
import { connect } from 'node:net'
import { sql } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { loadConfig } from '../../src/platform/config/index.ts'
import { randomBase62 } from '../../src/platform/lib/random.ts'
import { loggerOptions, redactUrl } from '../../src/platform/logging.ts'
import { createServer } from '../../src/server.ts'
import { testDatabase } from '../../src/testing/harness.ts'

const lines: string[] = []
const masterKey = `sk_master_${randomBase62(40)}`
let app: FastifyInstance
let drop: () => Promise<void>
let key: string

beforeAll(async () => {
  const db = await testDatabase()
  drop = db.drop
  const config = loadConfig({
    CORE_API_MASTER_KEY: masterKey,
    PUBLIC_URL: 'http://api.test',
    RATE_LIMIT_IP_PER_HOUR: '0',
    RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '0',
  })
  app = await createServer(config, {
    database: db.handle,
    logger: loggerOptions('debug', { write: (line: string) => void lines.push(line) }),
  })
  // A route whose query fails with a secret among its bound parameters, as a bug would.
  app.get('/fails-with-secret', async (req) => {
    const { token } = req.query as { token: string }
    await db.handle.db.execute(sql`select ${token}::integer`)
  })
  await app.ready()
  const ws = await app.inject({
    method: 'POST',
    url: '/api/v1/workspaces',
    headers: { authorization: `Bearer ${masterKey}` },
    payload: { name: 'logs' },
  })
  const created = await app.inject({
    method: 'POST',
    url: '/api/v1/api-keys',
    headers: { authorization: `Bearer ${masterKey}`, 'x-workspace-id': String(ws.json().data.id) },
    payload: { name: 'logs', scopes: ['*'] },
  })
  key = created.json().data.key
})
afterAll(async () => {
  await app?.close()
  await drop?.()
})

/** Sends raw bytes to the listening server and waits for it to close the connection. */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let answer = ''
    socket.on('data', (chunk) => {
      answer += chunk.toString()
    })
    socket.on('error', reject)
    socket.on('close', () => resolve(answer))
    socket.end(bytes)
  })
}

it('writes no credential or secret into any log line, on 4xx and 5xx alike', async () => {
  const before = lines.length // the set-up's lines are searched too, but hold no access line of this test
  const secret = (label: string) => `${label}${randomBase62(24)}`
  const unknownKey = `sk_live_${randomBase62(40)}`
  const inQuery = {
    key: `sk_live_${randomBase62(40)}`,
    token: secret('tok'),
    api_key: secret('apikey'),
    access_token: secret('access'),
    password: secret('pw'),
    client_secret: secret('cs'),
    sig: secret('sig'),
  }
  const inBody = { password: secret('bodypw'), secret: `whsec_${randomBase62(32)}`, token: secret('bodytok') }
  const cookie = secret('cookie')
  const failing = secret('sqlparam')
  const query = new URLSearchParams(inQuery).toString()

  const responses = [
    // 422: unknown query parameters, with a valid key and a cookie
    await app.inject({
      url: `/api/v1/posts?${query}`,
      headers: { authorization: `Bearer ${key}`, cookie: `session=${cookie}` },
    }),
    // 422: unknown body fields holding secrets
    await app.inject({
      method: 'POST',
      url: `/api/v1/posts?${query}`,
      headers: { authorization: `Bearer ${key}` },
      payload: { title: 'x', ...inBody },
    }),
    // 401: an unknown key, and the master key in a query string
    await app.inject({
      url: `/api/v1/me?key=${masterKey}`,
      headers: { authorization: `Bearer ${unknownKey}` },
    }),
    // 404 with the key in the path
    await app.inject({ url: `/api/v1/${key}`, headers: { authorization: `Bearer ${key}` } }),
    // 404: no route, so the access line holds the URL, secrets in its query string
    await app.inject({ url: `/nowhere?${query}`, headers: { authorization: `Bearer ${key}` } }),
    // 500: a database error whose bound parameter is a secret
    await app.inject({
      url: `/fails-with-secret?token=${failing}`,
      headers: { authorization: `Bearer ${key}` },
    }),
  ]
  expect(responses.map((r) => r.statusCode)).toEqual([422, 422, 401, 404, 404, 500])

  // a request the HTTP parser refuses, with the credential in its raw bytes
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as { port: number }).port
  const refused = await raw(
    port,
    `GET /health HTTP/1.1\r\nAuthorization: Bearer ${key}\r\nBad Header: ${key}\r\n\r\n`,
  )
  expect(refused).toMatch(/^HTTP\/1\.1 400 /)

  const log = lines.join('')
  for (const value of [
    key,
    masterKey,
    unknownKey,
    cookie,
    failing,
    ...Object.values(inQuery),
    ...Object.values(inBody),
  ]) {
    expect(log, value).not.toContain(value)
  }
  // …and the lines are still there, with what an operator needs
  const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>)
  const failed = entries.find((e) => e.msg === 'request failed')
  expect(failed, log).toBeDefined()
  expect(failed?.err).toMatchObject({
    type: 'DrizzleQueryError',
    message: expect.stringContaining('params: [redacted]'),
  })
  expect(typeof failed?.reqId).toBe('string')
  // one access line per request: the route pattern when one matched, else the redacted URL
  const access = entries.slice(before).filter((e) => e.msg === 'request')
  expect(access.map((e) => [e.method, e.route ?? e.url, e.status])).toEqual([
    ['GET', '/api/v1/posts', 422],
    ['POST', '/api/v1/posts', 422],
    ['GET', '/api/v1/me', 401],
    ['GET', '/api/v1/sk_live_[redacted]', 404],
    [
      'GET',
      '/nowhere?key=[redacted]&token=[redacted]&api_key=[redacted]&access_token=[redacted]&password=[redacted]&client_secret=[redacted]&sig=[redacted]',
      404,
    ],
    ['GET', '/fails-with-secret', 500],
  ])
  expect(access.every((e) => typeof e.reqId === 'string' && typeof e.durationMs === 'number')).toBe(true)
  expect(access[0]).toMatchObject({ principal: 'api_key', workspaceId: expect.any(Number) })
  expect(failed?.reqId).toBe(access[5]?.reqId)
  expect(entries.some((e) => e.msg === 'incoming request' || e.msg === 'request completed')).toBe(false)
  expect(entries.some((e) => e.msg === 'request refused by the HTTP parser' && e.code)).toBe(true)
})

it('keeps what is not secret in a URL', () => {
  expect(redactUrl('/api/v1/posts?page=2&sort=-title&author_id=3&search=key')).toBe(
    '/api/v1/posts?page=2&sort=-title&author_id=3&search=key',
  )
  expect(redactUrl('/x?state=abc&code=xyz&id_token=t&X-Amz-Signature=s&apiKey=k')).toBe(
    '/x?state=abc&code=[redacted]&id_token=[redacted]&X-Amz-Signature=[redacted]&apiKey=[redacted]',
  )
  expect(redactUrl('/x?q=sk_test_abcdefghijklmnop&h=Bearer%20abc')).toBe(
    '/x?q=sk_test_[redacted]&h=Bearer [redacted]',
  )
})
