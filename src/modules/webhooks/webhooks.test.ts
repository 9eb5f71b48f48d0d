import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ManualClock } from '../../platform/lib/clock.ts'
import { buildTestApp, type TestApp } from '../../testing/harness.ts'
import { sign } from './signature.ts'

type Received = { headers: IncomingHttpHeaders; body: string; path: string }

/** A receiver on loopback whose answer each test can set. */
async function receiver() {
  const received: Received[] = []
  let answer: { status: number; headers?: Record<string, string> } = { status: 200 }
  const server: Server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => {
      body += chunk
    })
    req.on('end', () => {
      received.push({ headers: req.headers, body, path: req.url ?? '' })
      res.writeHead(answer.status, answer.headers).end('{"received":true}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: (path = '/hook') => `http://127.0.0.1:${port}${path}`,
    received,
    answer: (next: typeof answer) => {
      answer = next
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  }
}

async function until(check: () => boolean | Promise<boolean>, label: string, ms = 5000) {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

let t: TestApp
let clock: ManualClock
let sink: Awaited<ReturnType<typeof receiver>>
let key: string
beforeAll(async () => {
  t = await buildTestApp({
    env: {
      WEBHOOK_ALLOW_INSECURE_URLS: '1',
      WEBHOOK_POLL_MS: '20',
      WEBHOOK_RETRY_SCHEDULE: '0,5,60',
      WEBHOOK_DISABLE_AFTER_HOURS: '1',
    },
  })
  clock = t.clock as ManualClock
  sink = await receiver()
  key = (await t.key((await t.workspace()).id, { scopes: ['*'] })).key
})
afterAll(async () => {
  await t.close()
  await sink.close()
})

const endpoint = async (events: string[], path: string, extra: Record<string, unknown> = {}) => {
  const res = await t.call(key, {
    method: 'POST',
    url: '/api/v1/webhooks',
    payload: { url: sink.url(path), events, ...extra },
  })
  expect(res.statusCode, res.body).toBe(201)
  return res.json().data as { id: number; secret: string }
}
const arrivals = (path: string) => sink.received.filter((r) => r.path === path)

describe('webhooks: endpoints', () => {
  it('creates an endpoint whose secret is shown once', async () => {
    const created = await endpoint(['post.created'], '/crud')
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/)
    expect(Buffer.from(created.secret.slice(6), 'base64').length).toBeGreaterThanOrEqual(24)
    const got = await t.call(key, { method: 'GET', url: `/api/v1/webhooks/${created.id}` })
    expect(got.json().data).toMatchObject({
      id: created.id,
      is_active: true,
      success_count: 0,
      consecutive_failures: 0,
    })
    expect(got.body).not.toContain(created.secret)
    const list = await t.call(key, { method: 'GET', url: '/api/v1/webhooks' })
    expect(list.body).not.toContain(created.secret)
  })

  it('refuses unsafe URLs and unknown events without the development flag', async () => {
    const strict = await buildTestApp()
    try {
      const ws = await strict.workspace()
      for (const url of [
        'http://example.com/x',
        'https://127.0.0.1/x',
        'https://10.0.0.1/x',
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
      const badEvent = await strict.call(strict.masterKey, {
        method: 'POST',
        url: '/api/v1/webhooks',
        workspace: ws.id,
        payload: { url: 'https://hooks.invalid/x', events: ['post.exploded'] },
      })
      expect(badEvent.statusCode).toBe(422)
    } finally {
      await strict.close()
    }
  })
})

describe('webhooks: delivery', () => {
  it('delivers matching events, signed per Standard Webhooks, one delivery per endpoint', async () => {
    const all = await endpoint(['*'], '/all')
    const posts = await endpoint(['post.*'], '/posts')
    const created = await t.call(key, { method: 'POST', url: '/api/v1/posts', payload: { title: 'Signed' } })
    await t.call(key, { method: 'POST', url: '/api/v1/api-keys', payload: { name: 'event source' } })
    await until(() => arrivals('/all').length >= 2 && arrivals('/posts').length >= 1, 'deliveries')
    const [forAll] = arrivals('/all')
    const [forPosts] = arrivals('/posts')
    const verified = new Webhook(all.secret).verify(
      forAll!.body,
      forAll!.headers as Record<string, string>,
    ) as Record<string, unknown>
    expect(verified).toMatchObject({
      type: 'post.created',
      data: { id: created.json().data.id, title: 'Signed' },
    })
    expect(verified.id).toMatch(/^evt_/)
    expect(forAll!.headers['webhook-id']).toBe(verified.id)
    new Webhook(posts.secret).verify(forPosts!.body, forPosts!.headers as Record<string, string>)
    expect(forPosts!.headers['webhook-id']).toBe(forAll!.headers['webhook-id'])
    expect(arrivals('/posts').some((r) => r.body.includes('api_key.created'))).toBe(false)
  })

  it('answers a test send synchronously in both shapes and logs it', async () => {
    const ep = await endpoint(['post.created'], '/test-send')
    const ok = await t.call(key, { method: 'POST', url: `/api/v1/webhooks/${ep.id}/test` })
    expect(ok.json()).toMatchObject({ success: true, status_code: 200, response_body: '{"received":true}' })
    sink.answer({ status: 500 })
    const failed = await t.call(key, { method: 'POST', url: `/api/v1/webhooks/${ep.id}/test` })
    sink.answer({ status: 200 })
    expect(failed.json()).toMatchObject({ success: false, status_code: 500, error: 'HTTP 500' })
    const log = await t.call(key, {
      method: 'GET',
      url: `/api/v1/webhooks/${ep.id}/deliveries?status=failed`,
    })
    expect(log.json().data).toEqual([
      expect.objectContaining({ event_type: 'webhook.test', status: 'failed', response_code: 500 }),
    ])
  })

  it('retries on the schedule, honours manual retry, and refuses to retry a success', async () => {
    const ep = await endpoint(['post.updated'], '/retry')
    const post = (await t.call(key, { method: 'POST', url: '/api/v1/posts', payload: { title: 'r' } })).json()
      .data
    sink.answer({ status: 503 })
    await t.call(key, { method: 'PATCH', url: `/api/v1/posts/${post.id}`, payload: { title: 'r2' } })
    const deliveries = () =>
      t.call(key, { method: 'GET', url: `/api/v1/webhooks/${ep.id}/deliveries` }).then((r) => r.json().data)
    await until(async () => (await deliveries())[0]?.status === 'retrying', 'first failure')
    expect((await deliveries())[0]).toMatchObject({ attempt: 1, response_code: 503 })
    expect((await deliveries())[0].next_retry_at).not.toBeNull()
    clock.advance(6000)
    await until(async () => (await deliveries())[0]?.attempt === 2, 'second attempt')
    clock.advance(70_000)
    await until(async () => (await deliveries())[0]?.status === 'failed', 'schedule spent')
    expect((await deliveries())[0].attempt).toBe(3)
    sink.answer({ status: 200 })
    const id = (await deliveries())[0].id
    const retry = await t.call(key, {
      method: 'POST',
      url: `/api/v1/webhooks/${ep.id}/deliveries/${id}/retry`,
    })
    expect(retry.json()).toEqual({
      message: 'Delivery queued for retry.',
      data: { id, status: 'pending', attempt: 4 },
    })
    await until(async () => (await deliveries())[0]?.status === 'success', 'manual retry')
    const again = await t.call(key, {
      method: 'POST',
      url: `/api/v1/webhooks/${ep.id}/deliveries/${id}/retry`,
    })
    expect(again.statusCode).toBe(400)
    expect(again.json().error).toBe('cannot_retry')
    const detail = await t.call(key, { method: 'GET', url: `/api/v1/webhooks/${ep.id}/deliveries/${id}` })
    expect(detail.json().data.request.headers['webhook-signature']).toMatch(/^v1,/)
  })

  it('disables an endpoint that answers 410 Gone', async () => {
    const ep = await endpoint(['post.deleted'], '/gone')
    const post = (await t.call(key, { method: 'POST', url: '/api/v1/posts', payload: { title: 'g' } })).json()
      .data
    sink.answer({ status: 410 })
    await t.call(key, { method: 'DELETE', url: `/api/v1/posts/${post.id}` })
    await until(
      async () =>
        (await t.call(key, { method: 'GET', url: `/api/v1/webhooks/${ep.id}` })).json().data.is_active ===
        false,
      'disable',
    )
    sink.answer({ status: 200 })
  })

  it('signs with both secrets during a rotation grace period, then only the new one', async () => {
    const ep = await endpoint(['post.created'], '/rotate')
    const rotated = await t.call(key, {
      method: 'POST',
      url: `/api/v1/webhooks/${ep.id}/rotate-secret`,
      payload: { grace_period_hours: 1 },
    })
    const fresh = rotated.json().data.secret as string
    await t.call(key, { method: 'POST', url: '/api/v1/posts', payload: { title: 'during grace' } })
    await until(() => arrivals('/rotate').length >= 1, 'delivery in grace')
    const during = arrivals('/rotate')[0]!
    expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2)
    new Webhook(ep.secret).verify(during.body, during.headers as Record<string, string>)
    new Webhook(fresh).verify(during.body, during.headers as Record<string, string>)
    clock.advance(3_600_000 + 1000)
    await t.call(key, { method: 'POST', url: '/api/v1/posts', payload: { title: 'after grace' } })
    await until(() => arrivals('/rotate').length >= 2, 'delivery after grace')
    const after = arrivals('/rotate')[1]!
    const id = String(after.headers['webhook-id'])
    const timestamp = Number(after.headers['webhook-timestamp'])
    // The clock moved an hour ahead, beyond a verifier's tolerance: check the signature itself.
    expect(String(after.headers['webhook-signature'])).toBe(sign(fresh, id, timestamp, after.body))
    expect(String(after.headers['webhook-signature'])).not.toContain(
      sign(ep.secret, id, timestamp, after.body).slice(3),
    )
  })
  it('honours Retry-After, and disables an endpoint failing for longer than the limit, telling the others', async () => {
    const watcher = await endpoint(['webhook.disabled'], '/watcher')
    const failing = await endpoint(['post.created'], '/failing')
    sink.answer({ status: 503, headers: { 'retry-after': '120' } })
    await t.call(key, { method: 'POST', url: '/api/v1/posts', payload: { title: 'fail' } })
    const log = () =>
      t
        .call(key, { method: 'GET', url: `/api/v1/webhooks/${failing.id}/deliveries` })
        .then((r) => r.json().data[0])
    await until(async () => (await log())?.status === 'retrying', 'first failure')
    // The schedule says 5 s; the receiver asked for 120 s.
    expect(Date.parse((await log()).next_retry_at) - clock.now()).toBeGreaterThan(100_000)
    sink.answer({ status: 500 })
    clock.advance(121_000)
    await until(async () => (await log())?.attempt === 2, 'second attempt')
    expect(
      (await t.call(key, { method: 'GET', url: `/api/v1/webhooks/${failing.id}` })).json().data.is_active,
    ).toBe(true)
    clock.advance(3_600_000) // failing for more than WEBHOOK_DISABLE_AFTER_HOURS (1) without a success
    await until(async () => (await log())?.attempt === 3, 'third attempt')
    await until(
      async () =>
        (await t.call(key, { method: 'GET', url: `/api/v1/webhooks/${failing.id}` })).json().data
          .is_active === false,
      'auto-disable',
    )
    sink.answer({ status: 200 })
    await until(() => arrivals('/watcher').length >= 1, 'webhook.disabled event')
    const event = JSON.parse(arrivals('/watcher')[0]!.body)
    expect(event).toMatchObject({ type: 'webhook.disabled', data: { webhook_id: failing.id } })
    expect(watcher.id).not.toBe(failing.id)
  })
})
