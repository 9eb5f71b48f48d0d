// The event catalogue (each example has the shape of what its module really sends), every
// attempt of a delivery kept beside its last answer, and the delivery stats per hour or day.
// Receivers are real HTTP servers on loopback; time moves with the harness's ManualClock.
import { createServer } from 'node:http'
import { eq } from 'drizzle-orm'
import { describe, expect, it, onTestFinished } from 'vitest'
import { registeredEventTypes } from '../../platform/events.ts'
import { useTestApp } from '../../testing/harness.ts'
import { AUDIT_EXAMPLE } from '../seo/schemas.ts'
import { purgeFinished } from './store.ts'
import { webhookDeliveries, webhookDeliveryAttempts } from './tables.ts'

type Reply = { status: number; body?: string }

/** A receiver on loopback for one test: records each body and answers with `answer`. */
async function receiver(answer: (path: string, body: string) => Reply = () => ({ status: 200 })) {
  const received: Array<{ path: string; body: string }> = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString()
      received.push({ path: req.url ?? '', body })
      const reply = answer(req.url ?? '', body)
      res.writeHead(reply.status).end(reply.body ?? '{"received":true}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  onTestFinished(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  return { url: (path = '/hook') => `http://127.0.0.1:${port}${path}`, received }
}

async function until(check: () => boolean | Promise<boolean>, label: string, ms = 15_000) {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

const t = useTestApp({
  env: { WEBHOOK_ALLOW_INSECURE_URLS: '1', WEBHOOK_POLL_MS: '20', WEBHOOK_RETRY_SCHEDULE: '0,5,60' },
})
const clock = t.clock
const DAY = 86_400_000

async function tenant(scopes: string[] = ['*']) {
  const ws = await t.workspace()
  const { key, id: keyId } = await t.key(ws.id, { scopes })
  const as = (request: Parameters<typeof t.call>[1]) => t.call(key, request)
  return { ws, key, keyId, as }
}
type Tenant = Awaited<ReturnType<typeof tenant>>

async function createEndpoint(who: Tenant, payload: Record<string, unknown>) {
  const res = await who.as({ method: 'POST', url: '/api/v1/webhooks', payload })
  expect(res.statusCode, res.body).toBe(201)
  return res.json().data as { id: number }
}
async function deliveries(who: Tenant, endpointId: number) {
  const res = await who.as({ method: 'GET', url: `/api/v1/webhooks/${endpointId}/deliveries` })
  expect(res.statusCode, res.body).toBe(200)
  return res.json().data as Array<Record<string, unknown> & { id: number }>
}
const post = (who: Tenant, title: string) =>
  who.as({ method: 'POST', url: '/api/v1/posts', payload: { title } }).then((r) => r.json().data)

/** The keys of an object, recursively (an array as such: it may be empty): what a receiver relies on. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return []
  if (value === null || typeof value !== 'object') return typeof value
  return Object.fromEntries(
    Object.entries(value)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, v !== null && typeof v === 'object' ? shape(v) : '*']),
  )
}

describe('event catalogue', () => {
  it('lists every registered type with its description, read scope and an example envelope', async () => {
    const who = await tenant(['webhooks:read'])
    const res = await who.as({ method: 'GET', url: '/api/v1/webhooks/event-types' })
    expect(res.statusCode, res.body).toBe(200)
    const data = res.json().data as Array<Record<string, unknown> & { example: Record<string, unknown> }>
    expect(data.map((d) => d.type)).toEqual(registeredEventTypes().map((d) => d.type))
    expect(data.map((d) => d.type)).toEqual(
      expect.arrayContaining([
        'post.created',
        'api_key.revoked',
        'workspace.updated',
        'seo.audit.completed',
        'webhook.test',
        'webhook.disabled',
      ]),
    )
    expect(data.find((d) => d.type === 'post.deleted')).toEqual({
      type: 'post.deleted',
      description: 'A post was deleted',
      read_scope: 'posts:read',
      example: {
        id: expect.stringMatching(/^evt_\w{24}$/),
        type: 'post.deleted',
        timestamp: '2026-01-15T10:30:00Z',
        workspace_id: 1,
        data: expect.objectContaining({ id: 42, title: 'Hello, world' }),
      },
    })
    for (const d of data) expect(d.example.type).toBe(d.type)
  })

  it('gives every event the module sends the shape of its example', async () => {
    const who = await tenant()
    const sink = await receiver((path) => ({ status: path === '/gone' ? 410 : 200 }))
    await createEndpoint(who, { url: sink.url('/all'), events: ['*'] })
    const gone = await createEndpoint(who, { url: sink.url('/gone'), events: ['api_key.created'] })
    const p = (
      await who.as({ method: 'POST', url: '/api/v1/posts', payload: { title: 'Catalogue', tags: ['news'] } })
    ).json().data
    await who.as({ method: 'PATCH', url: `/api/v1/posts/${p.id}`, payload: { tags: ['news'] } })
    await who.as({ method: 'DELETE', url: `/api/v1/posts/${p.id}` })
    const created = await who.as({ method: 'POST', url: '/api/v1/api-keys', payload: { name: 'catalogue' } })
    const keyId = created.json().data.id as number
    const rotated = await who.as({ method: 'POST', url: `/api/v1/api-keys/${keyId}/rotate`, payload: {} })
    expect(rotated.statusCode, rotated.body).toBe(200)
    await who.as({ method: 'DELETE', url: `/api/v1/api-keys/${rotated.json().data.id}` })
    await t.call(t.masterKey, {
      method: 'PATCH',
      url: `/api/v1/workspaces/${who.ws.id}`,
      payload: { name: 'Renamed for the catalogue', settings: { timezone: 'UTC', locale: 'en_GB' } },
    })
    await who.as({
      method: 'POST',
      url: '/api/v1/seo/report',
      payload: {
        url: 'https://example.com/page',
        scores: { seo: 90 },
        issues: [{ type: 'missing_alt', severity: 'warning', element: 'img.hero-image' }],
      },
    })
    await who.as({ method: 'POST', url: `/api/v1/webhooks/${gone.id}/test` })
    const sent = new Map<string, unknown>()
    const expected = [
      'post.created',
      'post.updated',
      'post.deleted',
      'api_key.created',
      'api_key.rotated',
      'api_key.revoked',
      'workspace.updated',
      'seo.report.created',
      'webhook.disabled',
    ]
    await until(() => {
      for (const r of sink.received.filter((r) => r.path === '/all')) {
        const body = JSON.parse(r.body) as { type: string; data: unknown }
        sent.set(body.type, body.data)
      }
      return expected.every((type) => sent.has(type))
    }, 'every kind of event')
    const catalogue = (await who.as({ method: 'GET', url: '/api/v1/webhooks/event-types' })).json()
      .data as Array<{
      type: string
      example: { data: unknown }
    }>
    const example = (type: string) => catalogue.find((d) => d.type === type)!.example.data
    for (const type of expected) expect([type, shape(sent.get(type))]).toEqual([type, shape(example(type))])
    // The test send goes to its endpoint only; the audit event is the audit as the API shows it.
    const test = sink.received.find((r) => r.path === '/gone' && r.body.includes('"webhook.test"'))!
    expect(shape(JSON.parse(test.body).data)).toEqual(shape(example('webhook.test')))
    expect(shape(example('seo.audit.completed'))).toEqual(shape(AUDIT_EXAMPLE))
  })
})

describe('delivery attempts', () => {
  it('keeps every attempt, newest first, beside the last answer', async () => {
    const who = await tenant()
    let status = 503
    const sink = await receiver(() => ({ status, body: status === 503 ? 'down for maintenance' : 'ok' }))
    const ep = await createEndpoint(who, { url: sink.url(), events: ['post.created'] })
    await post(who, 'attempted')
    const first = async () => (await deliveries(who, ep.id))[0]
    await until(async () => (await first())?.status === 'retrying', 'first failure')
    status = 200
    clock.advance(6000)
    await until(async () => (await first())?.status === 'success', 'the retry')
    const id = (await first())!.id
    const res = await who.as({ method: 'GET', url: `/api/v1/webhooks/${ep.id}/deliveries/${id}` })
    expect(res.statusCode, res.body).toBe(200)
    const detail = res.json().data
    expect(detail).toMatchObject({ attempt: 2, status: 'success', response_code: 200, response_body: 'ok' })
    expect(detail.request.headers['webhook-signature']).toMatch(/^v1,/)
    const at = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/
    expect(detail.attempts).toEqual([
      {
        attempt: 2,
        started_at: expect.stringMatching(at),
        finished_at: expect.stringMatching(at),
        duration_ms: expect.any(Number),
        response_code: 200,
        error: null,
        response_body: 'ok',
      },
      {
        attempt: 1,
        started_at: expect.stringMatching(at),
        finished_at: expect.stringMatching(at),
        duration_ms: expect.any(Number),
        response_code: 503,
        error: 'HTTP 503',
        response_body: 'down for maintenance',
      },
    ])
    expect(Date.parse(detail.attempts[0].finished_at)).toBeGreaterThan(
      Date.parse(detail.attempts[1].finished_at),
    )
    // A list shows no attempts; another workspace sees none of them.
    expect((await first())!).not.toHaveProperty('attempts')
    const other = await tenant()
    const foreign = await other.as({ method: 'GET', url: `/api/v1/webhooks/${ep.id}/deliveries/${id}` })
    expect(foreign.statusCode).toBe(404)
  })

  it('records a connection error as an attempt without a status, and purges attempts with their delivery', async () => {
    const who = await tenant()
    const ep = await createEndpoint(who, { url: 'http://127.0.0.1:9/refused', events: ['post.created'] })
    await post(who, 'refused')
    await until(async () => (await deliveries(who, ep.id))[0]?.status === 'retrying', 'the failure')
    const id = (await deliveries(who, ep.id))[0]!.id
    const detail = (await who.as({ method: 'GET', url: `/api/v1/webhooks/${ep.id}/deliveries/${id}` })).json()
      .data
    expect(detail.attempts).toEqual([
      expect.objectContaining({
        attempt: 1,
        response_code: null,
        error: 'Connection refused',
        response_body: '',
      }),
    ])
    const db = t.database.db
    await db
      .update(webhookDeliveries)
      .set({ status: 'failed', nextAttemptAt: null, updatedAt: new Date(clock.now() - 31 * DAY) })
      .where(eq(webhookDeliveries.id, id))
    await purgeFinished(db, new Date(clock.now() - 30 * DAY), 1000)
    expect(
      await db.select().from(webhookDeliveryAttempts).where(eq(webhookDeliveryAttempts.deliveryId, id)),
    ).toEqual([])
  })
})

describe('delivery stats', () => {
  const stats = (who: Tenant, query: string) =>
    who.as({ method: 'GET', url: `/api/v1/webhooks/stats${query}` })

  it('counts deliveries per day of their creation by where they stand, with totals and the success rate', async () => {
    const who = await tenant()
    const sink = await receiver((path) => ({ status: path === '/ok' ? 200 : 500 }))
    const ok = await createEndpoint(who, { url: sink.url('/ok'), events: ['post.created'] })
    const bad = await createEndpoint(who, { url: sink.url('/bad'), events: ['post.created'] })
    await post(who, 'one')
    await post(who, 'two')
    await until(async () => {
      const [a, b] = [await deliveries(who, ok.id), await deliveries(who, bad.id)]
      return a.every((d) => d.status === 'success') && b.every((d) => d.status === 'retrying')
    }, 'four outcomes')
    // One of the successes and one failure happened three days ago.
    const db = t.database.db
    const [older] = await deliveries(who, ok.id)
    const [failed] = await deliveries(who, bad.id)
    const threeDaysAgo = new Date(clock.now() - 3 * DAY)
    await db
      .update(webhookDeliveries)
      .set({ createdAt: threeDaysAgo })
      .where(eq(webhookDeliveries.id, older!.id))
    await db
      .update(webhookDeliveries)
      .set({ createdAt: threeDaysAgo, status: 'failed' })
      .where(eq(webhookDeliveries.id, failed!.id))
    const res = await stats(who, '')
    expect(res.statusCode, res.body).toBe(200)
    const data = res.json().data
    const day = (ms: number) => `${new Date(Math.floor(ms / DAY) * DAY).toISOString().slice(0, 10)}T00:00:00Z`
    expect(data).toMatchObject({
      from: day(clock.now() - 13 * DAY),
      to: day(clock.now() + DAY),
      interval: 'day',
      webhook_id: null,
      totals: { succeeded: 2, failed: 1, pending: 1, total: 4 },
      success_rate: 0.6667,
    })
    expect(data.buckets).toHaveLength(14)
    const bucket = (ms: number) => data.buckets.find((b: { start: string }) => b.start === day(ms))
    expect(bucket(clock.now())).toEqual({ start: day(clock.now()), succeeded: 1, failed: 0, pending: 1 })
    expect(bucket(threeDaysAgo.getTime())).toEqual({
      start: day(threeDaysAgo.getTime()),
      succeeded: 1,
      failed: 1,
      pending: 0,
    })
    // One endpoint; hourly buckets over a range rounded out to whole hours.
    const one = (await stats(who, `?webhook_id=${ok.id}`)).json().data
    expect(one).toMatchObject({
      webhook_id: ok.id,
      totals: { succeeded: 2, failed: 0, pending: 0, total: 2 },
    })
    expect(one.success_rate).toBe(1)
    const from = new Date(clock.now() - 90 * 60_000).toISOString()
    const to = new Date(clock.now() + 1000).toISOString()
    const hourly = (await stats(who, `?interval=hour&from=${from}&to=${to}`)).json().data
    expect(hourly.interval).toBe('hour')
    expect(hourly.buckets.length).toBeGreaterThanOrEqual(2)
    expect(hourly.buckets.length).toBeLessThanOrEqual(3)
    expect(hourly.totals).toEqual({ succeeded: 1, failed: 0, pending: 1, total: 2 })
  })

  it('answers empty buckets and no success rate for a workspace without deliveries', async () => {
    const who = await tenant(['webhooks:read'])
    const data = (await stats(who, '?interval=hour')).json().data
    expect(data.buckets).toHaveLength(24)
    type Bucket = { succeeded: number; failed: number; pending: number }
    expect(data.buckets.every((b: Bucket) => b.succeeded + b.failed + b.pending === 0)).toBe(true)
    expect(data.totals).toEqual({ succeeded: 0, failed: 0, pending: 0, total: 0 })
    expect(data.success_rate).toBeNull()
  })

  it('refuses a reversed or too long range, an unknown interval, and an endpoint of another workspace', async () => {
    const who = await tenant()
    const other = await tenant()
    const theirs = await createEndpoint(other, { url: 'https://hooks.invalid/x', events: ['post.created'] })
    const now = clock.now()
    const iso = (ms: number) => new Date(ms).toISOString()
    const reversed = await stats(who, `?from=${iso(now)}&to=${iso(now - DAY)}`)
    expect(reversed.statusCode).toBe(422)
    expect(reversed.json().errors).toEqual({ to: ['The end must come after the start.'] })
    const long = await stats(who, `?interval=hour&from=${iso(now - 91 * DAY)}&to=${iso(now)}`)
    expect(long.statusCode).toBe(422)
    expect(long.json().errors).toEqual({
      from: ['The range covers at most 90 days (in whole UTC hours).'],
    })
    expect((await stats(who, `?from=${iso(now - 89 * DAY)}&to=${iso(now)}`)).statusCode).toBe(200)
    const early = await stats(who, '?from=0001-01-01T00:00:00Z&to=0001-01-02T00:00:00Z')
    expect(early.json().errors).toEqual({ from: ['The start must be in 1970 or later.'] })
    const late = await stats(who, '?from=9999-12-31T00:00:00Z&to=9999-12-31T12:00:00Z')
    expect(late.json().errors).toEqual({ to: ['The end must be before the year 9999.'] })
    expect((await stats(who, '?interval=week')).statusCode).toBe(422)
    expect((await stats(who, '?from=yesterday')).statusCode).toBe(422)
    const foreign = await stats(who, `?webhook_id=${theirs.id}`)
    expect(foreign.statusCode).toBe(404)
  })
})
