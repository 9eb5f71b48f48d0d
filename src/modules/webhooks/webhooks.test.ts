// Webhooks (seed 004 "Webhooks", Standard Webhooks): endpoints, delivery, retries, rotation,
// and the rules that keep a key within its scopes and workspace and a receiver from harming
// anyone but itself. Every test makes its own workspace, key and receiver (a real HTTP server
// on loopback), so none depends on another; signatures are checked with `standardwebhooks`.
// Time is moved with the harness's ManualClock, never by sleeping.
import { createServer, type IncomingHttpHeaders } from 'node:http'
import { and, eq, inArray, sql } from 'drizzle-orm'
import { Webhook } from 'standardwebhooks'
import { describe, expect, it, onTestFinished, vi } from 'vitest'
import { buildTestApp, type TestApp, useTestApp } from '../../testing/harness.ts'
import { sign } from './signature.ts'
import { purgeFinished } from './store.ts'
import { webhookDeliveries, webhookEndpoints, webhookEvents } from './tables.ts'

type Received = { headers: IncomingHttpHeaders; body: string; path: string }
type Answer = { status: number; headers?: Record<string, string>; body?: string | Buffer } | 'hold'

/**
 * A receiver on loopback for one test, closed when the test ends. `answer` decides each reply;
 * 'hold' keeps the request open until `release(answer)`.
 */
async function receiver(answer: (request: Received) => Answer = () => ({ status: 200 })) {
  const received: Received[] = []
  const held: Array<{ request: Received; respond: (reply: Exclude<Answer, 'hold'>) => void }> = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const request = { headers: req.headers, body: Buffer.concat(chunks).toString(), path: req.url ?? '' }
      received.push(request)
      const respond = (reply: Exclude<Answer, 'hold'>) =>
        res.writeHead(reply.status, reply.headers).end(reply.body ?? '{"received":true}')
      const reply = answer(request)
      if (reply === 'hold') held.push({ request, respond })
      else respond(reply)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  onTestFinished(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  return {
    url: (path = '/hook') => `http://127.0.0.1:${port}${path}`,
    received,
    held,
    /** Answers every held request at once. */
    release: (reply: (request: Received) => Exclude<Answer, 'hold'> = () => ({ status: 200 })) => {
      for (const { request, respond } of held.splice(0)) respond(reply(request))
    },
  }
}

/** Waits (bounded) until `check` holds. */
async function until(check: () => boolean | Promise<boolean>, label: string, ms = 15_000) {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

const t = useTestApp({
  env: {
    WEBHOOK_ALLOW_INSECURE_URLS: '1',
    WEBHOOK_POLL_MS: '20',
    WEBHOOK_RETRY_SCHEDULE: '0,5,60',
    WEBHOOK_DISABLE_AFTER_HOURS: '1',
  },
})
const clock = t.clock

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
const SECRET = /^whsec_[A-Za-z0-9+/]+=*$/
const ENDPOINT_FIELDS = [
  'consecutive_failures',
  'created_at',
  'description',
  'disabled_reason',
  'events',
  'failure_count',
  'id',
  'is_active',
  'last_delivery_at',
  'success_count',
  'updated_at',
  'url',
]
/** A valid custom secret of `bytes` random-looking bytes. */
const secretOf = (bytes: number) => `whsec_${Buffer.alloc(bytes, 7).toString('base64')}`

type Call = Parameters<TestApp['call']>[1]

/** A workspace and a key in it with `scopes`. */
async function tenant(scopes: string[] = ['*']) {
  const ws = await t.workspace()
  const { key } = await t.key(ws.id, { scopes })
  const as = (request: Call) => t.call(key, request)
  return { ws, key, as }
}
type Tenant = Awaited<ReturnType<typeof tenant>>

async function createEndpoint(who: Tenant, payload: Record<string, unknown>) {
  const res = await who.as({ method: 'POST', url: '/api/v1/webhooks', payload })
  expect(res.statusCode, res.body).toBe(201)
  return res.json().data as { id: number; secret: string } & Record<string, unknown>
}
/** The endpoint as the operator sees it: what a refusal must leave unchanged. */
async function stored(workspace: number, id: number) {
  return t.call(t.masterKey, { method: 'GET', url: `/api/v1/webhooks/${id}`, workspace }).then((r) => ({
    status: r.statusCode,
    body: r.json(),
  }))
}
async function endpointCount(workspace: number) {
  const res = await t.call(t.masterKey, { method: 'GET', url: '/api/v1/webhooks', workspace })
  return res.json().meta.total as number
}
async function deliveries(who: Tenant, endpointId: number, query = '') {
  const res = await who.as({ method: 'GET', url: `/api/v1/webhooks/${endpointId}/deliveries${query}` })
  expect(res.statusCode, res.body).toBe(200)
  return res.json().data as Array<Record<string, unknown> & { id: number }>
}
const rotate = (who: Tenant, id: number, payload: Record<string, unknown> = {}) =>
  who.as({ method: 'POST', url: `/api/v1/webhooks/${id}/rotate-secret`, payload })
const post = (who: Tenant, title: string) =>
  who.as({ method: 'POST', url: '/api/v1/posts', payload: { title } }).then((r) => r.json().data)
/** Verifies with `standardwebhooks`, by a receiver whose clock reads what the server's does. */
function verify(secret: string, r: Received) {
  vi.useFakeTimers({ toFake: ['Date'], now: clock.now() })
  try {
    return new Webhook(secret).verify(r.body, r.headers as Record<string, string>) as Record<string, unknown>
  } finally {
    vi.useRealTimers()
  }
}
function errorBody(
  res: { json(): unknown; headers: Record<string, unknown> },
  error: string,
  message: string,
) {
  expect(res.json()).toEqual({ error, message, request_id: res.headers['x-request-id'] })
}

describe('webhooks: happy paths', () => {
  it('creates an endpoint with the exact documented shape; the secret is shown once', async () => {
    const who = await tenant()
    const sink = await receiver()
    const res = await who.as({
      method: 'POST',
      url: '/api/v1/webhooks',
      payload: { url: sink.url(), events: ['post.created', 'post.updated'], description: 'CRM sync' },
    })
    expect(res.statusCode).toBe(201)
    const { message, data } = res.json()
    expect(message).toBe('Webhook endpoint created successfully.')
    expect(data).toEqual({
      id: expect.any(Number),
      url: sink.url(),
      description: 'CRM sync',
      events: ['post.created', 'post.updated'],
      is_active: true,
      disabled_reason: null,
      success_count: 0,
      failure_count: 0,
      consecutive_failures: 0,
      last_delivery_at: null,
      created_at: iso(clock.now()),
      updated_at: iso(clock.now()),
      secret: expect.stringMatching(SECRET),
    })
    expect(Buffer.from(data.secret.slice(6), 'base64').length).toBe(32)
    const got = await who.as({ method: 'GET', url: `/api/v1/webhooks/${data.id}` })
    expect(Object.keys(got.json().data).sort()).toEqual(ENDPOINT_FIELDS)
    expect(got.body).not.toContain(data.secret)
    const list = await who.as({ method: 'GET', url: '/api/v1/webhooks' })
    expect(list.json().data.map((e: { id: number }) => e.id)).toEqual([data.id])
    expect(list.body).not.toContain(data.secret)
  })

  it('keeps a custom secret and signs with it', async () => {
    const who = await tenant()
    const sink = await receiver()
    const secret = secretOf(24)
    const ep = await createEndpoint(who, { url: sink.url(), events: ['webhook.test'], secret })
    expect(ep.secret).toBe(secret)
    const res = await who.as({ method: 'POST', url: `/api/v1/webhooks/${ep.id}/test` })
    expect(res.json().success).toBe(true)
    expect(verify(secret, sink.received[0]!)).toMatchObject({ type: 'webhook.test' })
  })

  it('updates, pauses and re-enables an endpoint', async () => {
    const who = await tenant()
    const sink = await receiver()
    const ep = await createEndpoint(who, { url: sink.url(), events: ['post.created'] })
    const patch = (payload: Record<string, unknown>) =>
      who.as({ method: 'PATCH', url: `/api/v1/webhooks/${ep.id}`, payload })
    const updated = await patch({ events: ['post.*'], url: sink.url('/v2'), description: null })
    expect(updated.statusCode).toBe(200)
    expect(updated.json()).toMatchObject({
      message: 'Webhook endpoint updated successfully.',
      data: { id: ep.id, events: ['post.*'], url: sink.url('/v2'), description: null, is_active: true },
    })
    const paused = await patch({ is_active: false })
    expect(paused.json().data).toMatchObject({
      is_active: false,
      disabled_reason: 'Disabled through the API.',
    })
    const resumed = await patch({ is_active: true })
    expect(resumed.json().data).toMatchObject({
      is_active: true,
      disabled_reason: null,
      consecutive_failures: 0,
    })
    expect(await deliveries(who, ep.id)).toEqual([])
  })

  it('deletes an endpoint with its deliveries', async () => {
    const who = await tenant()
    const sink = await receiver()
    const ep = await createEndpoint(who, { url: sink.url(), events: ['post.created'] })
    await post(who, 'to delete')
    await until(() => sink.received.length === 1, 'delivery')
    const res = await t.call(who.key, { method: 'DELETE', url: `/api/v1/webhooks/${ep.id}` })
    expect(res.statusCode).toBe(204)
    expect(res.body).toBe('')
    expect((await stored(who.ws.id, ep.id)).status).toBe(404)
    expect(
      await t.database.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, ep.id)),
    ).toEqual([])
  })

  it('delivers matching events, signed per Standard Webhooks, one delivery per endpoint', async () => {
    const who = await tenant()
    const sink = await receiver()
    const all = await createEndpoint(who, { url: sink.url('/all'), events: ['*'] })
    const posts = await createEndpoint(who, { url: sink.url('/posts'), events: ['post.*'] })
    const created = await post(who, 'Signed')
    await who.as({ method: 'POST', url: '/api/v1/api-keys', payload: { name: 'event source' } })
    const at = (path: string) => sink.received.filter((r) => r.path === path)
    await until(() => at('/all').length === 2 && at('/posts').length === 1, 'deliveries')
    const forAll = at('/all').find((r) => r.body.includes('post.created'))!
    const verified = verify(all.secret, forAll)
    expect(verified).toEqual({
      id: expect.stringMatching(/^evt_/),
      type: 'post.created',
      timestamp: iso(clock.now()),
      workspace_id: who.ws.id,
      data: expect.objectContaining({ id: created.id, title: 'Signed' }),
    })
    expect(forAll.headers['webhook-id']).toBe(verified.id)
    const forPosts = at('/posts')[0]!
    verify(posts.secret, forPosts)
    expect(forPosts.headers['webhook-id']).toBe(verified.id)
    // The outcome is written just after the receiver answers.
    await until(async () => (await deliveries(who, posts.id))[0]?.status === 'success', 'the outcome')
    expect(await deliveries(who, posts.id)).toEqual([
      expect.objectContaining({
        event_type: 'post.created',
        status: 'success',
        attempt: 1,
        response_code: 200,
      }),
    ])
  })

  it('answers a test send synchronously in both shapes and logs it', async () => {
    const who = await tenant()
    let status = 200
    const sink = await receiver(() => ({ status }))
    const ep = await createEndpoint(who, { url: sink.url(), events: ['post.created'] })
    const ok = await who.as({ method: 'POST', url: `/api/v1/webhooks/${ep.id}/test` })
    expect(ok.json()).toEqual({
      success: true,
      status_code: 200,
      response_time_ms: expect.any(Number),
      response_body: '{"received":true}',
      delivery_id: expect.any(Number),
    })
    status = 500
    const failed = await who.as({ method: 'POST', url: `/api/v1/webhooks/${ep.id}/test` })
    expect(failed.json()).toEqual({
      success: false,
      status_code: 500,
      error: 'HTTP 500',
      response_time_ms: expect.any(Number),
      delivery_id: expect.any(Number),
    })
    expect(await deliveries(who, ep.id, '?status=failed')).toEqual([
      expect.objectContaining({
        id: failed.json().delivery_id,
        event_type: 'webhook.test',
        response_code: 500,
      }),
    ])
    expect(await deliveries(who, ep.id, '?status=success')).toEqual([
      expect.objectContaining({ id: ok.json().delivery_id, event_type: 'webhook.test' }),
    ])
  })

  it('filters deliveries by status and event type', async () => {
    const who = await tenant()
    const sink = await receiver((r) => ({ status: r.body.includes('post.created') ? 200 : 500 }))
    const ep = await createEndpoint(who, { url: sink.url(), events: ['post.*'] })
    const p = await post(who, 'filters')
    await who.as({ method: 'DELETE', url: `/api/v1/posts/${p.id}` })
    await until(async () => {
      const list = await deliveries(who, ep.id)
      return list.length === 2 && list.every((d) => d.attempt === 1)
    }, 'both first attempts')
    const types = (list: Array<Record<string, unknown>>) => list.map((d) => d.event_type)
    expect(types(await deliveries(who, ep.id, '?event_type=post.deleted'))).toEqual(['post.deleted'])
    expect(types(await deliveries(who, ep.id, '?status=success'))).toEqual(['post.created'])
    expect(types(await deliveries(who, ep.id, '?status=retrying'))).toEqual(['post.deleted'])
    expect(await deliveries(who, ep.id, '?status=pending')).toEqual([])
    expect(await deliveries(who, ep.id, '?status=failed&event_type=post.created')).toEqual([])
  })

  it('retries on the schedule, honours manual retry, and refuses to retry a success', async () => {
    const who = await tenant()
    let status = 503
    const sink = await receiver(() => ({ status }))
    const ep = await createEndpoint(who, { url: sink.url(), events: ['post.created'] })
    await post(who, 'retried')
    const first = async () => (await deliveries(who, ep.id))[0]
    await until(async () => (await first())?.status === 'retrying', 'first failure')
    expect(await first()).toMatchObject({ attempt: 1, response_code: 503, error: 'HTTP 503' })
    expect((await first())!.next_retry_at).not.toBeNull()
    clock.advance(6000)
    await until(async () => (await first())?.attempt === 2, 'second attempt')
    clock.advance(70_000)
    await until(async () => (await first())?.status === 'failed', 'schedule spent')
    expect((await first())!.attempt).toBe(3)
    status = 200
    const id = (await first())!.id
    const retry = await who.as({ method: 'POST', url: `/api/v1/webhooks/${ep.id}/deliveries/${id}/retry` })
    expect(retry.json()).toEqual({
      message: 'Delivery queued for retry.',
      data: { id, status: 'pending', attempt: 4 },
    })
    await until(async () => (await first())?.status === 'success', 'manual retry')
    const again = await who.as({ method: 'POST', url: `/api/v1/webhooks/${ep.id}/deliveries/${id}/retry` })
    expect(again.statusCode).toBe(400)
    errorBody(again, 'cannot_retry', 'This delivery already succeeded.')
    const detail = await who.as({ method: 'GET', url: `/api/v1/webhooks/${ep.id}/deliveries/${id}` })
    expect(detail.json().data.request.headers['webhook-signature']).toMatch(/^v1,/)
    expect(detail.json().data.response_body).toBe('{"received":true}')
    expect(sink.received).toHaveLength(4)
  })

  it('disables an endpoint that answers 410 Gone', async () => {
    const who = await tenant()
    const sink = await receiver(() => ({ status: 410 }))
    const ep = await createEndpoint(who, { url: sink.url(), events: ['post.created'] })
    await post(who, 'gone')
    await until(async () => (await stored(who.ws.id, ep.id)).body.data.is_active === false, 'disable')
    expect((await stored(who.ws.id, ep.id)).body.data).toMatchObject({
      disabled_reason: 'The endpoint answered 410 Gone.',
      failure_count: 1,
    })
  })

  it('signs with both secrets during a rotation grace period, then only the new one', async () => {
    const who = await tenant()
    const sink = await receiver()
    const ep = await createEndpoint(who, { url: sink.url(), events: ['post.created'] })
    const rotated = await rotate(who, ep.id, { grace_period_hours: 1 })
    expect(rotated.json()).toEqual({
      message: 'Webhook secret rotated successfully.',
      data: {
        id: ep.id,
        secret: expect.stringMatching(SECRET),
        previous_secret_expires_at: iso(clock.now() + 3_600_000),
      },
    })
    const fresh = rotated.json().data.secret as string
    await post(who, 'during grace')
    await until(() => sink.received.length === 1, 'delivery in grace')
    // Recorded before the clock jumps an hour: a claim still held then would lapse, and the
    // delivery would rightly be sent again.
    await until(async () => (await deliveries(who, ep.id))[0]?.status === 'success', 'outcome in grace')
    const during = sink.received[0]!
    expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2)
    verify(ep.secret, during)
    verify(fresh, during)
    clock.advance(3_600_000 + 1000)
    await post(who, 'after grace')
    await until(() => sink.received.length === 2, 'delivery after grace')
    const after = sink.received[1]!
    const id = String(after.headers['webhook-id'])
    const timestamp = Number(after.headers['webhook-timestamp'])
    // The clock moved an hour ahead, beyond a verifier's tolerance: check the signature itself.
    expect(String(after.headers['webhook-signature'])).toBe(sign(fresh, id, timestamp, after.body))
  })

  it('honours Retry-After, and disables an endpoint failing for longer than the limit, telling the others', async () => {
    const who = await tenant()
    let answer: Answer = { status: 503, headers: { 'retry-after': '120' } }
    const sink = await receiver((r) => (r.path === '/watcher' ? { status: 200 } : answer))
    await createEndpoint(who, { url: sink.url('/watcher'), events: ['webhook.disabled'] })
    const failing = await createEndpoint(who, { url: sink.url('/failing'), events: ['post.created'] })
    await post(who, 'fail')
    const log = async () => (await deliveries(who, failing.id))[0]
    await until(async () => (await log())?.status === 'retrying', 'first failure')
    // The schedule says 5 s; the receiver asked for 120 s.
    expect(Date.parse(String((await log())!.next_retry_at)) - clock.now()).toBeGreaterThan(100_000)
    answer = { status: 500 }
    clock.advance(121_000)
    await until(async () => (await log())?.attempt === 2, 'second attempt')
    expect((await stored(who.ws.id, failing.id)).body.data.is_active).toBe(true)
    clock.advance(3_600_000) // failing for more than WEBHOOK_DISABLE_AFTER_HOURS (1) without a success
    await until(async () => (await log())?.attempt === 3, 'third attempt')
    await until(
      async () => (await stored(who.ws.id, failing.id)).body.data.is_active === false,
      'auto-disable',
    )
    await until(() => sink.received.some((r) => r.path === '/watcher'), 'webhook.disabled event')
    const event = JSON.parse(sink.received.find((r) => r.path === '/watcher')!.body)
    expect(event).toMatchObject({
      type: 'webhook.disabled',
      data: {
        webhook_id: failing.id,
        url: sink.url('/failing'),
        reason: 'The endpoint kept failing without a success.',
      },
    })
  })
})

describe('webhooks: errors', () => {
  it('rejects invalid create bodies with 422 naming the field, and stores nothing', async () => {
    const who = await tenant()
    const url = 'http://127.0.0.1:9/hook'
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ events: ['*'] }, 'url'],
      [{ url: 'ftp://example.com/x', events: ['*'] }, 'url'],
      [{ url: 'not a url', events: ['*'] }, 'url'],
      [{ url }, 'events'],
      [{ url, events: [] }, 'events'],
      [{ url, events: ['post.exploded'] }, 'events'],
      [{ url, events: ['posts.*'] }, 'events'],
      [{ url, events: ['post.created', 'post.created'] }, 'events'],
      [{ url, events: '*' }, 'events'],
      [{ url, events: ['*'], secret: 'abc' }, 'secret'],
      [{ url, events: ['*'], secret: 'whsec_' }, 'secret'],
      [{ url, events: ['*'], secret: 'whsec_not base64!' }, 'secret'],
      [{ url, events: ['*'], secret: secretOf(16) }, 'secret'],
      [{ url, events: ['*'], secret: secretOf(65) }, 'secret'],
      [{ url, events: ['*'], secret: secretOf(32).slice(6) }, 'secret'],
      [{ url, events: ['*'], description: 'x'.repeat(501) }, 'description'],
      [{ url, events: ['*'], color: 'red' }, 'color'],
    ]
    for (const [payload, field] of cases) {
      const res = await who.as({ method: 'POST', url: '/api/v1/webhooks', payload })
      expect(res.statusCode, JSON.stringify(payload)).toBe(422)
      expect(res.json()).toMatchObject({
        error: 'validation_failed',
        message: 'The given data was invalid.',
        request_id: res.headers['x-request-id'],
      })
      expect(Object.keys(res.json().errors), JSON.stringify(payload)).toContain(field)
    }
    expect(await endpointCount(who.ws.id)).toBe(0)
    const unknown = await who.as({
      method: 'POST',
      url: '/api/v1/webhooks',
      payload: { url, events: ['post.exploded'] },
    })
    expect(unknown.json().errors).toEqual({
      events: [
        'Unknown event "post.exploded". Events: workspace.updated, api_key.created, api_key.rotated, api_key.revoked, post.created, post.updated, post.deleted, webhook.test, webhook.disabled, seo.report.created, seo.audit.completed, a resource wildcard such as post.*, or *.',
      ],
    })
    expect(await endpointCount(who.ws.id)).toBe(0)
  })

  it('refuses unsafe URLs without the development flag', async () => {
    const strict = await buildTestApp({ env: { WEBHOOK_WORKER: '0' } })
    onTestFinished(() => strict.close())
    const ws = await strict.workspace()
    for (const url of [
      'http://example.com/x',
      'https://127.0.0.1/x',
      'https://10.0.0.1/x',
      'https://169.254.169.254/latest',
      'https://[::1]/x',
      'https://localhost/x',
      'https://u:p@example.com/x',
    ]) {
      const res = await strict.call(strict.masterKey, {
        method: 'POST',
        url: '/api/v1/webhooks',
        workspace: ws.id,
        payload: { url, events: ['*'] },
      })
      expect(res.statusCode, url).toBe(422)
      expect(Object.keys(res.json().errors)).toEqual(['url'])
    }
    const list = await strict.call(strict.masterKey, {
      method: 'GET',
      url: '/api/v1/webhooks',
      workspace: ws.id,
    })
    expect(list.json().meta.total).toBe(0)
  })

  it('rejects invalid updates with 422 and leaves the endpoint as it was', async () => {
    const who = await tenant()
    const ep = await createEndpoint(who, { url: 'http://127.0.0.1:9/hook', events: ['post.created'] })
    const before = await stored(who.ws.id, ep.id)
    for (const [payload, field] of [
      [{}, ''],
      [{ events: [] }, 'events'],
      [{ events: ['nope'] }, 'events'],
      [{ url: 'ftp://x.example/x' }, 'url'],
      [{ is_active: 'yes' }, 'is_active'],
      [{ secret: secretOf(32) }, 'secret'],
    ] as Array<[Record<string, unknown>, string]>) {
      const res = await who.as({ method: 'PATCH', url: `/api/v1/webhooks/${ep.id}`, payload })
      expect(res.statusCode, JSON.stringify(payload)).toBe(422)
      expect(res.json().error).toBe('validation_failed')
      if (field) expect(Object.keys(res.json().errors), JSON.stringify(payload)).toContain(field)
    }
    expect(await stored(who.ws.id, ep.id)).toEqual(before)
  })

  it('rejects invalid rotations with 422 and keeps signing with the old secret', async () => {
    const who = await tenant()
    const sink = await receiver()
    const ep = await createEndpoint(who, { url: sink.url(), events: ['post.created'] })
    for (const payload of [
      { secret: 'whsec_short' },
      { secret: secretOf(16) },
      { grace_period_hours: 721 },
      { grace_period_hours: -1 },
      { grace_period_hours: '5' },
      { grace: 5 },
    ]) {
      const res = await rotate(who, ep.id, payload)
      expect(res.statusCode, JSON.stringify(payload)).toBe(422)
      expect(res.json().error).toBe('validation_failed')
    }
    await who.as({ method: 'POST', url: `/api/v1/webhooks/${ep.id}/test` })
    const [request] = sink.received
    expect(String(request!.headers['webhook-signature']).split(' ')).toHaveLength(1)
    verify(ep.secret, request!)
  })

  it('answers 404 for an unknown endpoint or delivery, and for a delivery under another endpoint', async () => {
    const who = await tenant()
    const sink = await receiver(() => ({ status: 500 }))
    const a = await createEndpoint(who, { url: sink.url('/a'), events: ['post.created'] })
    const b = await createEndpoint(who, { url: sink.url('/b'), events: ['post.updated'] })
    await post(who, 'x')
    await until(async () => (await deliveries(who, a.id))[0]?.status === 'retrying', 'a failure')
    const delivery = (await deliveries(who, a.id))[0]!
    const missing = 2_000_000_000
    for (const [method, url, what] of [
      ['GET', `/api/v1/webhooks/${missing}`, 'Webhook endpoint'],
      ['PATCH', `/api/v1/webhooks/${missing}`, 'Webhook endpoint'],
      ['DELETE', `/api/v1/webhooks/${missing}`, 'Webhook endpoint'],
      ['POST', `/api/v1/webhooks/${missing}/rotate-secret`, 'Webhook endpoint'],
      ['POST', `/api/v1/webhooks/${missing}/test`, 'Webhook endpoint'],
      ['GET', `/api/v1/webhooks/${missing}/deliveries`, 'Webhook endpoint'],
      ['GET', `/api/v1/webhooks/${a.id}/deliveries/${missing}`, 'Delivery'],
      ['GET', `/api/v1/webhooks/${b.id}/deliveries/${delivery.id}`, 'Delivery'],
      ['POST', `/api/v1/webhooks/${b.id}/deliveries/${delivery.id}/retry`, 'Delivery'],
      ['POST', `/api/v1/webhooks/${missing}/deliveries/${delivery.id}/retry`, 'Delivery'],
    ] as const) {
      const res = await who.as({
        method,
        url,
        ...(method === 'PATCH' && { payload: { description: 'x' } }),
        ...(url.endsWith('rotate-secret') && { payload: {} }),
      })
      expect(res.statusCode, `${method} ${url}`).toBe(404)
      errorBody(res, 'not_found', `${what} not found.`)
    }
    expect((await deliveries(who, a.id))[0]).toEqual(delivery)
    expect(sink.received.filter((r) => r.path === '/b')).toEqual([])
  })

  it('answers 422 to unknown list parameters and statuses', async () => {
    const who = await tenant()
    const ep = await createEndpoint(who, { url: 'http://127.0.0.1:9/hook', events: ['post.created'] })
    for (const url of [
      `/api/v1/webhooks/${ep.id}/deliveries?status=delivered`,
      `/api/v1/webhooks/${ep.id}/deliveries?sort=response_code`,
      `/api/v1/webhooks/${ep.id}/deliveries?colour=red`,
      '/api/v1/webhooks?status=paused',
      '/api/v1/webhooks?fields=secret',
    ]) {
      const res = await who.as({ method: 'GET', url })
      expect(res.statusCode, url).toBe(422)
      expect(res.json().error).toBe('validation_failed')
    }
  })

  it('refuses to retry a pending delivery or one that has used its attempts, changing nothing', async () => {
    const who = await tenant()
    const sink = await receiver(() => ({ status: 500 }))
    const ep = await createEndpoint(who, { url: sink.url(), events: ['post.created'] })
    await post(who, 'one')
    await post(who, 'two')
    await until(async () => (await deliveries(who, ep.id)).every((d) => d.status === 'retrying'), 'failures')
    const [queued, spent] = await deliveries(who, ep.id)
    const far = new Date(clock.now() + 86_400_000)
    await t.database.db
      .update(webhookDeliveries)
      .set({ status: 'pending', nextAttemptAt: far })
      .where(eq(webhookDeliveries.id, queued!.id))
    // The schedule (3 attempts) plus 10 manual ones.
    await t.database.db
      .update(webhookDeliveries)
      .set({ status: 'failed', attempt: 13, nextAttemptAt: null })
      .where(eq(webhookDeliveries.id, spent!.id))
    const before = await deliveries(who, ep.id)
    const retry = (id: number) =>
      who.as({ method: 'POST', url: `/api/v1/webhooks/${ep.id}/deliveries/${id}/retry` })
    const pending = await retry(queued!.id)
    expect(pending.statusCode).toBe(400)
    errorBody(pending, 'cannot_retry', 'This delivery is already queued.')
    const exhausted = await retry(spent!.id)
    expect(exhausted.statusCode).toBe(400)
    errorBody(exhausted, 'cannot_retry', 'This delivery has used all 13 attempts.')
    expect(await deliveries(who, ep.id)).toEqual(before)
    expect(sink.received).toHaveLength(2)
  })
})

describe('webhooks: security', () => {
  it('needs the read scope of every resource a subscription matches, on create', async () => {
    const writer = await tenant(['webhooks:write'])
    const url = 'http://127.0.0.1:9/hook'
    for (const [events, scope, pattern] of [
      [['post.*'], 'posts:read', 'post.*'],
      [['post.created'], 'posts:read', 'post.created'],
      [['*'], 'workspaces:read', '*'],
      [['webhook.test', 'api_key.revoked'], 'api-keys:read', 'api_key.revoked'],
      [['workspace.updated'], 'workspaces:read', 'workspace.updated'],
    ] as Array<[string[], string, string]>) {
      const res = await writer.as({ method: 'POST', url: '/api/v1/webhooks', payload: { url, events } })
      expect(res.statusCode, events.join()).toBe(403)
      errorBody(
        res,
        'access_denied',
        `Insufficient permissions. Required scope: ${scope} (to subscribe to ${pattern})`,
      )
    }
    expect(await endpointCount(writer.ws.id)).toBe(0)
    // Its own resource's events need nothing more.
    await createEndpoint(writer, { url, events: ['webhook.*'] })

    const { key } = await t.key(writer.ws.id, { scopes: ['webhooks:write', 'posts:read'] })
    const postReader = (payload: Record<string, unknown>) =>
      t.call(key, { method: 'POST', url: '/api/v1/webhooks', payload })
    expect((await postReader({ url, events: ['post.*'] })).statusCode).toBe(201)
    const all = await postReader({ url, events: ['*'] })
    expect(all.statusCode).toBe(403)
    expect(all.json().message).toBe(
      'Insufficient permissions. Required scope: workspaces:read (to subscribe to *)',
    )
    expect(await endpointCount(writer.ws.id)).toBe(2)
  })

  it('needs those scopes to change a subscription or its receiver, and leaves it unchanged', async () => {
    const admin = await tenant()
    const ep = await createEndpoint(admin, { url: 'http://127.0.0.1:9/hook', events: ['post.*'] })
    const { key } = await t.key(admin.ws.id, { scopes: ['webhooks:write'] })
    const before = await stored(admin.ws.id, ep.id)
    const patch = (payload: Record<string, unknown>) =>
      t.call(key, { method: 'PATCH', url: `/api/v1/webhooks/${ep.id}`, payload })
    for (const [payload, scope, pattern] of [
      [{ events: ['*'] }, 'workspaces:read', '*'],
      [{ events: ['api_key.created'] }, 'api-keys:read', 'api_key.created'],
      [{ url: 'http://127.0.0.1:9/mine' }, 'posts:read', 'post.*'],
      [{ url: 'http://127.0.0.1:9/mine', is_active: true }, 'posts:read', 'post.*'],
    ] as Array<[Record<string, unknown>, string, string]>) {
      const res = await patch(payload)
      expect(res.statusCode, JSON.stringify(payload)).toBe(403)
      errorBody(
        res,
        'access_denied',
        `Insufficient permissions. Required scope: ${scope} (to subscribe to ${pattern})`,
      )
    }
    expect(await stored(admin.ws.id, ep.id)).toEqual(before)
    // What reads nothing more is allowed: narrowing to its own events, pausing, describing.
    expect((await patch({ description: 'mine', is_active: false })).statusCode).toBe(200)
    expect((await patch({ events: ['webhook.disabled'] })).statusCode).toBe(200)
  })

  it('keeps scopes apart: read cannot write, write cannot delete', async () => {
    const admin = await tenant()
    const ep = await createEndpoint(admin, { url: 'http://127.0.0.1:9/hook', events: ['webhook.test'] })
    const before = await stored(admin.ws.id, ep.id)
    const reader = (await t.key(admin.ws.id, { scopes: ['webhooks:read'] })).key
    const writer = (await t.key(admin.ws.id, { scopes: ['webhooks:write'] })).key
    for (const [key, method, url, scope] of [
      [reader, 'POST', '/api/v1/webhooks', 'webhooks:write'],
      [reader, 'PATCH', `/api/v1/webhooks/${ep.id}`, 'webhooks:write'],
      [reader, 'POST', `/api/v1/webhooks/${ep.id}/rotate-secret`, 'webhooks:write'],
      [reader, 'POST', `/api/v1/webhooks/${ep.id}/test`, 'webhooks:write'],
      [writer, 'DELETE', `/api/v1/webhooks/${ep.id}`, 'webhooks:delete'],
    ] as const) {
      const res = await t.call(key, {
        method,
        url,
        ...(method !== 'DELETE' && { payload: { url: 'http://127.0.0.1:9/x', events: ['webhook.test'] } }),
      })
      expect(res.statusCode, `${method} ${url}`).toBe(403)
      errorBody(res, 'access_denied', `Insufficient permissions. Required scope: ${scope}`)
    }
    expect(await stored(admin.ws.id, ep.id)).toEqual(before)
    expect(await endpointCount(admin.ws.id)).toBe(1)
  })

  it("treats another tenant's endpoint and deliveries as not found, and changes nothing", async () => {
    const owner = await tenant()
    const intruder = await tenant()
    const sink = await receiver(() => ({ status: 500 }))
    const ep = await createEndpoint(owner, { url: sink.url(), events: ['post.created'] })
    await post(owner, 'private')
    await until(async () => (await deliveries(owner, ep.id))[0]?.status === 'retrying', 'a failure')
    await owner.as({ method: 'PATCH', url: `/api/v1/webhooks/${ep.id}`, payload: { is_active: false } })
    const delivery = (await deliveries(owner, ep.id))[0]!
    const before = await stored(owner.ws.id, ep.id)
    const arrived = sink.received.length
    for (const [method, url, payload, what] of [
      ['GET', `/api/v1/webhooks/${ep.id}`, undefined, 'Webhook endpoint'],
      ['PATCH', `/api/v1/webhooks/${ep.id}`, { is_active: true }, 'Webhook endpoint'],
      ['PATCH', `/api/v1/webhooks/${ep.id}`, { url: 'http://127.0.0.1:9/x' }, 'Webhook endpoint'],
      ['PATCH', `/api/v1/webhooks/${ep.id}`, { events: ['*'] }, 'Webhook endpoint'],
      ['DELETE', `/api/v1/webhooks/${ep.id}`, undefined, 'Webhook endpoint'],
      ['POST', `/api/v1/webhooks/${ep.id}/rotate-secret`, {}, 'Webhook endpoint'],
      ['POST', `/api/v1/webhooks/${ep.id}/test`, undefined, 'Webhook endpoint'],
      ['GET', `/api/v1/webhooks/${ep.id}/deliveries`, undefined, 'Webhook endpoint'],
      ['GET', `/api/v1/webhooks/${ep.id}/deliveries/${delivery.id}`, undefined, 'Delivery'],
      ['POST', `/api/v1/webhooks/${ep.id}/deliveries/${delivery.id}/retry`, undefined, 'Delivery'],
    ] as const) {
      const res = await intruder.as({ method, url, ...(payload !== undefined && { payload }) })
      expect(res.statusCode, `${method} ${url} ${JSON.stringify(payload)}`).toBe(404)
      errorBody(res, 'not_found', `${what} not found.`)
    }
    expect(await stored(owner.ws.id, ep.id)).toEqual(before)
    expect(await deliveries(owner, ep.id)).toEqual([delivery])
    expect(sink.received).toHaveLength(arrived)
    const list = await intruder.as({ method: 'GET', url: '/api/v1/webhooks' })
    expect(list.json().data).toEqual([])
  })

  it('never shows a secret after creation, nor the previous one after a rotation', async () => {
    const who = await tenant()
    const sink = await receiver()
    const ep = await createEndpoint(who, { url: sink.url(), events: ['post.created'] })
    const rotated = await rotate(who, ep.id, {})
    const fresh = rotated.json().data.secret as string
    await who.as({ method: 'POST', url: `/api/v1/webhooks/${ep.id}/test` })
    const [delivery] = await deliveries(who, ep.id)
    for (const url of [
      '/api/v1/webhooks',
      `/api/v1/webhooks/${ep.id}`,
      `/api/v1/webhooks/${ep.id}/deliveries`,
      `/api/v1/webhooks/${ep.id}/deliveries/${delivery!.id}`,
    ]) {
      const res = await who.as({ method: 'GET', url })
      for (const secret of [ep.secret, fresh]) {
        expect(res.body, url).not.toContain(secret)
        expect(res.body, url).not.toContain(secret.slice(6))
      }
    }
    const [row] = await t.database.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, ep.id))
    for (const secret of [ep.secret, fresh]) expect(JSON.stringify(row)).not.toContain(secret.slice(6))
  })
})

describe('webhooks: hostile receivers and races', () => {
  it("stores a receiver's binary answer and absurd Retry-After safely; other tenants are unaffected", async () => {
    const binary = Buffer.concat([
      Buffer.from('{"ok":'),
      Buffer.from([0x00, 0xff, 0xfe, 0xc3]),
      Buffer.from('}'),
    ])
    const answers: Record<string, Exclude<Answer, 'hold'>> = {
      '/binary': { status: 200, body: binary },
      '/forever': { status: 503, headers: { 'retry-after': '99999999999999' } },
      '/never': { status: 503, headers: { 'retry-after': 'Fri, 31 Dec 9999 23:59:59 GMT' } },
      '/healthy': { status: 200 },
    }
    // Every request is held until all four arrived, then all are answered at once: their
    // outcomes are recorded in one batch, as a busy worker's would be.
    const sink = await receiver(() => 'hold')
    const [a, b, c] = [await tenant(), await tenant(), await tenant()]
    const bin = await createEndpoint(a, { url: sink.url('/binary'), events: ['post.created'] })
    const forever = await createEndpoint(a, { url: sink.url('/forever'), events: ['post.created'] })
    const never = await createEndpoint(c, { url: sink.url('/never'), events: ['post.created'] })
    const healthy = await createEndpoint(b, { url: sink.url('/healthy'), events: ['post.created'] })
    await post(a, 'a')
    await post(b, 'b')
    await post(c, 'c')
    await until(() => sink.held.length === 4, 'four requests')
    sink.release((r) => answers[r.path]!)
    const settled = async () =>
      (
        await Promise.all([
          deliveries(a, bin.id),
          deliveries(a, forever.id),
          deliveries(c, never.id),
          deliveries(b, healthy.id),
        ])
      )
        .flat()
        .every((d) => d.attempt === 1)
    await until(settled, 'every first attempt recorded')
    const [binDelivery] = await deliveries(a, bin.id)
    expect(binDelivery).toMatchObject({ status: 'success', response_code: 200 })
    const detail = await a.as({
      method: 'GET',
      url: `/api/v1/webhooks/${bin.id}/deliveries/${binDelivery!.id}`,
    })
    expect(detail.json().data.response_body).toBe('{"ok":\uFFFD\uFFFD\uFFFD\uFFFD}')
    for (const [who, ep] of [
      [a, forever],
      [c, never],
    ] as const) {
      const [d] = await deliveries(who, ep.id)
      expect(d).toMatchObject({ status: 'retrying', response_code: 503 })
      const wait = Date.parse(String(d!.next_retry_at)) - clock.now()
      expect(wait).toBeGreaterThan(5000)
      expect(wait).toBeLessThanOrEqual(86_400_000)
    }
    expect((await stored(a.ws.id, bin.id)).body.data).toMatchObject({ success_count: 1 })
    expect((await stored(a.ws.id, forever.id)).body.data).toMatchObject({ failure_count: 1 })
    // Claims lapse and the worker polls on: the healthy tenant still gets its event once.
    clock.advance(300_000)
    await post(b, 'b2')
    await until(() => sink.held.length === 1, 'the next event')
    sink.release()
    await until(
      async () => (await deliveries(b, healthy.id)).every((d) => d.status === 'success'),
      'recorded',
    )
    const ids = sink.received.filter((r) => r.path === '/healthy').map((r) => r.headers['webhook-id'])
    expect(new Set(ids).size).toBe(2)
    expect(sink.received.filter((r) => r.path === '/binary')).toHaveLength(1)
  })

  // Two rotations that both read the endpoint before either writes: only PostgreSQL runs them
  // side by side (PGlite has one connection), held at the row lock until both are waiting.
  it.skipIf(!process.env.DATABASE_URL)(
    'loses no secret to concurrent rotations: the secret kept is the one replaced',
    async () => {
      const who = await tenant()
      const sink = await receiver()
      const ep = await createEndpoint(who, { url: sink.url(), events: ['post.created'] })
      const rotateNow = () => rotate(who, ep.id, { grace_period_hours: 1 })
      const db = t.database.db
      const answers = await db.transaction(async (tx) => {
        await tx.execute(sql`select id from webhook_endpoints where id = ${ep.id} for update`)
        const rotations = [rotateNow(), rotateNow()]
        await until(async () => {
          const waiting = await db.execute(
            sql`select count(*)::integer as n from pg_stat_activity
              where datname = current_database() and wait_event_type = 'Lock'`,
          )
          return (waiting as unknown as { rows: Array<{ n: number }> }).rows[0]!.n === 2
        }, 'both rotations waiting')
        return rotations
      })
      const secrets = (await Promise.all(answers)).map((r) => r.json().data.secret as string)
      await who.as({ method: 'POST', url: `/api/v1/webhooks/${ep.id}/test` })
      const [request] = sink.received
      // Both secrets handed out sign; the original, replaced by the first rotation, does not.
      for (const secret of secrets) verify(secret, request!)
      expect(() => verify(ep.secret, request!)).toThrow()
    },
  )

  it('refuses to retry a delivery while it is being sent, so it is never sent twice at once', async () => {
    const who = await tenant()
    let answer: Answer = { status: 503 }
    const sink = await receiver(() => answer)
    const ep = await createEndpoint(who, { url: sink.url(), events: ['post.created'] })
    await post(who, 'in flight')
    const first = async () => (await deliveries(who, ep.id))[0]!
    await until(async () => (await deliveries(who, ep.id))[0]?.status === 'retrying', 'first failure')
    answer = 'hold'
    clock.advance(6000)
    await until(() => sink.held.length === 1, 'second attempt in flight')
    const { id } = await first()
    const retry = await who.as({ method: 'POST', url: `/api/v1/webhooks/${ep.id}/deliveries/${id}/retry` })
    expect(retry.statusCode).toBe(400)
    errorBody(
      retry,
      'cannot_retry',
      'This delivery is being sent right now; retry it once that attempt has finished.',
    )
    expect(await first()).toMatchObject({ status: 'retrying', attempt: 1 })
    sink.release()
    await until(async () => (await first()).status === 'success', 'second attempt recorded')
    expect(await first()).toMatchObject({ attempt: 2 })
    expect(sink.received).toHaveLength(2)
  })
})

describe('webhooks: retention', () => {
  it('purges finished deliveries and unreferenced events past the retention period, in bounded batches', async () => {
    const who = await tenant()
    const sink = await receiver(() => ({ status: 500 }))
    const ep = await createEndpoint(who, { url: sink.url(), events: ['post.created'] })
    for (const title of ['old success', 'old failure', 'old retrying', 'recent']) await post(who, title)
    await until(async () => (await deliveries(who, ep.id, '?status=retrying')).length === 4, 'four failures')
    const [recent, retrying, failed, succeeded] = await deliveries(who, ep.id, '?sort=-id')
    const db = t.database.db
    const old = new Date(clock.now() - 31 * 86_400_000)
    const set = (id: number, values: Partial<typeof webhookDeliveries.$inferInsert>) =>
      db.update(webhookDeliveries).set(values).where(eq(webhookDeliveries.id, id))
    await set(succeeded!.id, { status: 'success', updatedAt: old })
    await set(failed!.id, { status: 'failed', updatedAt: old })
    await set(retrying!.id, { updatedAt: old, nextAttemptAt: new Date(clock.now() + 86_400_000) })
    await set(recent!.id, { status: 'success' })
    const eventIds = [succeeded, failed, retrying, recent].map((d) => String(d!.event_id))
    await db.update(webhookEvents).set({ createdAt: old }).where(eq(webhookEvents.id, eventIds[0]!))
    await db.update(webhookEvents).set({ createdAt: old }).where(eq(webhookEvents.id, eventIds[1]!))
    await db.update(webhookEvents).set({ createdAt: old }).where(eq(webhookEvents.id, eventIds[2]!))
    const before = new Date(clock.now() - 30 * 86_400_000)
    expect(await purgeFinished(db, before, 1)).toEqual({ deliveries: 1, events: 1 })
    expect(await purgeFinished(db, before, 1000)).toEqual({ deliveries: 1, events: 1 })
    expect(await purgeFinished(db, before, 1000)).toEqual({ deliveries: 0, events: 0 })
    expect((await deliveries(who, ep.id, '?sort=id')).map((d) => d.id)).toEqual([retrying!.id, recent!.id])
    const events = await db
      .select({ id: webhookEvents.id })
      .from(webhookEvents)
      .where(and(eq(webhookEvents.workspaceId, who.ws.id), inArray(webhookEvents.id, eventIds)))
    expect(events.map((e) => e.id).sort()).toEqual([eventIds[2], eventIds[3]].sort())
  })
})
