import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ManualClock } from '../../platform/lib/clock.ts'
import { buildTestApp, type TestApp } from '../../testing/harness.ts'
import { capacityOf, refill } from './bucket.ts'
import { MemoryLimiter } from './memory-limiter.ts'

describe('token buckets', () => {
  const starter = { name: 'key', limit: 1000, windowMs: 60_000, burst: 0.2 }
  it('holds limit × (1 + burst) and refills continuously', () => {
    expect(capacityOf(starter)).toBe(1200)
    expect(refill(starter, 0, 0, 30_000)).toBe(500)
    expect(refill(starter, 1100, 0, 60_000)).toBe(1200)
  })

  it('takes from every bucket or from none', () => {
    const limiter = new MemoryLimiter()
    const one = { name: 'one', limit: 1, windowMs: 60_000, burst: 0 }
    const ten = { name: 'ten', limit: 10, windowMs: 60_000, burst: 0 }
    expect(
      limiter.takeSync(
        [
          { key: 'a', policy: one },
          { key: 'b', policy: ten },
        ],
        0,
      ).allowed,
    ).toBe(true)
    const refused = limiter.takeSync(
      [
        { key: 'a', policy: one },
        { key: 'b', policy: ten },
      ],
      0,
    )
    expect(refused.allowed).toBe(false)
    // The refused request took nothing from "b": 9 left, as after the first request.
    expect(refused.buckets[1]!.remaining).toBe(9)
  })
})

describe('rate limits over HTTP', () => {
  let t: TestApp
  let clock: ManualClock
  beforeAll(async () => {
    t = await buildTestApp({ env: { RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '5' } })
    clock = t.clock as ManualClock
  })
  afterAll(() => t.close())

  it('admits the 60th request of a free key and refuses the 61st with the seed body and Retry-After', async () => {
    const ws = await t.workspace({ tier: 'free' })
    const { key } = await t.key(ws.id)
    for (let i = 1; i <= 60; i++) {
      const res = await t.call(key, { method: 'GET', url: '/api/v1/me' })
      expect(res.statusCode, `request ${i}`).toBe(200)
      expect(res.headers['x-ratelimit-limit']).toBe('60')
      expect(res.headers['x-ratelimit-remaining']).toBe(String(60 - i))
    }
    const refused = await t.call(key, { method: 'GET', url: '/api/v1/me' })
    expect(refused.statusCode).toBe(429)
    const body = refused.json()
    expect(body).toMatchObject({ error: 'rate_limit_exceeded', retry_after: 1, limit: 60, remaining: 0 })
    expect(Date.parse(body.reset_at)).toBeGreaterThan(clock.now())
    expect(refused.headers['retry-after']).toBe('1')
    expect(refused.headers['ratelimit-policy']).toContain('"key";q=60;w=60')
    clock.advance(1000)
    expect((await t.call(key, { method: 'GET', url: '/api/v1/me' })).statusCode).toBe(200)
    expect((await t.call(key, { method: 'GET', url: '/api/v1/me' })).statusCode).toBe(429)
    clock.advance(60_000)
    const full = await t.call(key, { method: 'GET', url: '/api/v1/me' })
    expect(full.headers['x-ratelimit-remaining']).toBe('59')
  })

  it('gives a starter workspace its 20 % burst: 1,200 at once, then 429', async () => {
    const ws = await t.workspace({ tier: 'starter' })
    const { key } = await t.key(ws.id)
    let admitted = 0
    for (let i = 0; i < 1210; i++)
      if ((await t.call(key, { method: 'GET', url: '/api/v1/me' })).statusCode === 200) admitted++
    expect(admitted).toBe(1200)
  })

  it('shares the workspace bucket between its keys, and a lower key tier limits that key', async () => {
    const ws = await t.workspace({ tier: 'free' })
    const a = await t.key(ws.id)
    const b = await t.key(ws.id)
    for (let i = 0; i < 30; i++) await t.call(a.key, { method: 'GET', url: '/api/v1/me' })
    for (let i = 0; i < 30; i++)
      expect((await t.call(b.key, { method: 'GET', url: '/api/v1/me' })).statusCode).toBe(200)
    expect((await t.call(b.key, { method: 'GET', url: '/api/v1/me' })).statusCode).toBe(429)
    expect((await t.call(a.key, { method: 'GET', url: '/api/v1/me' })).json().policy).toBe('workspace')
  })

  it('never spends a victim quota on 401 or 403, and throttles failed authentications per IP', async () => {
    const ws = await t.workspace({ tier: 'free' })
    const victim = await t.key(ws.id, { scopes: ['posts:read'] })
    const attacker = await t.key((await t.workspace({ tier: 'free' })).id)
    const first = await t.call(victim.key, { method: 'GET', url: '/api/v1/me' })
    const before = Number(first.headers['x-ratelimit-remaining'])
    await t.call(attacker.key, { method: 'GET', url: '/api/v1/api-keys', workspace: ws.id }) // 403
    await t.call(victim.key, { method: 'GET', url: '/api/v1/api-keys' }) // 403: lacks the scope
    const after = Number(
      (await t.call(victim.key, { method: 'GET', url: '/api/v1/me' })).headers['x-ratelimit-remaining'],
    )
    expect(after).toBe(before - 1)
    const codes: number[] = []
    for (let i = 0; i < 6; i++)
      codes.push(
        (await t.call('sk_live_wrongwrongwrongwrongwrongwrongwrong1', { method: 'GET', url: '/api/v1/me' }))
          .statusCode,
      )
    expect(codes).toEqual([401, 401, 401, 401, 401, 429])
    expect((await t.call(victim.key, { method: 'GET', url: '/api/v1/me' })).statusCode).toBe(200)
  })

  it('limits the master key only by the IP bucket, and adds no headers to /health', async () => {
    const limited = await buildTestApp({ env: { RATE_LIMIT_IP_PER_HOUR: '3' } })
    try {
      const codes: number[] = []
      for (let i = 0; i < 4; i++)
        codes.push((await limited.call(limited.masterKey, { method: 'GET', url: '/api/v1/me' })).statusCode)
      expect(codes).toEqual([200, 200, 200, 429])
      const health = await limited.app.inject('/health')
      expect(health.headers['x-ratelimit-limit']).toBeUndefined()
    } finally {
      await limited.close()
    }
  })
})
