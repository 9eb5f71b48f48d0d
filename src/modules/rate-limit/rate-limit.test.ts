// Rate limits through the HTTP app (seed 004 "Rate Limits" and its 429 body, seed 002's
// buckets per credential, workspace and IP): the tier table, burst, the shared workspace bucket,
// the key's own tier, the master key, the headers, and refusals that never spend a victim's quota.
// Time is the harness's ManualClock: the limiter reads it, so refills are exact.
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../platform/config/index.ts'
import type { ManualClock } from '../../platform/lib/clock.ts'
import { buildTestApp, type TestApp, useTestApp } from '../../testing/harness.ts'
import { Policies } from './policies.ts'

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/
const BAD_KEY = 'sk_live_thisKeyDoesNotExistAnywhere000000'

const t = useTestApp()
const clock = t.clock

const me = (key: string, app: TestApp = t) => app.call(key, { method: 'GET', url: '/api/v1/me' })
const remaining = (res: LightMyRequestResponse) => Number(res.headers['x-ratelimit-remaining'])

/** A new workspace of `tier` and one key in it (all scopes unless given). */
async function tenant(tier: string, keyBody: Record<string, unknown> = {}, app: TestApp = t) {
  const ws = await app.workspace({ tier })
  const key = await app.key(ws.id, { scopes: ['*'], ...keyBody })
  return { workspace: ws.id, key: key.key, keyId: key.id }
}

describe('rate limits: happy paths', () => {
  it('admits 60 requests of a free key, counting down, and refuses the 61st with the seed body', async () => {
    const { key } = await tenant('free')
    const now = clock.now()
    for (let i = 1; i <= 60; i++) {
      const res = await me(key)
      expect(res.statusCode, `request ${i}`).toBe(200)
      expect(res.headers['x-ratelimit-limit'], `request ${i}`).toBe('60')
      expect(res.headers['x-ratelimit-remaining'], `request ${i}`).toBe(String(60 - i))
      // Full again once the tokens taken so far have come back, at one per second.
      expect(res.headers['x-ratelimit-reset'], `request ${i}`).toBe(
        String(Math.ceil((now + i * 1000) / 1000)),
      )
    }
    const refused = await me(key)
    expect(refused.statusCode).toBe(429)
    const body = refused.json()
    expect(body).toMatchObject({
      error: 'rate_limit_exceeded',
      message: 'Too many requests. Please retry after 1 second.',
      retry_after: 1,
      limit: 60,
      remaining: 0,
      request_id: expect.stringMatching(/^req_/),
    })
    expect(body.reset_at).toMatch(ISO)
    expect(Math.abs(Date.parse(body.reset_at) - (now + 60_000))).toBeLessThan(1000)
    expect(refused.headers['retry-after']).toBe(String(body.retry_after))
    expect(refused.headers['x-ratelimit-limit']).toBe('60')
    expect(refused.headers['x-ratelimit-remaining']).toBe('0')
    expect(refused.headers['content-type']).toMatch(/^application\/json/)
    // Refused requests take nothing and keep being refused while the clock stands still.
    expect((await me(key)).statusCode).toBe(429)

    clock.advance(1000)
    const one = await me(key)
    expect(one.statusCode).toBe(200)
    expect(one.headers['x-ratelimit-remaining']).toBe('0')
    expect((await me(key)).statusCode).toBe(429)

    clock.advance(60_000)
    const full = await me(key)
    expect(full.statusCode).toBe(200)
    expect(full.headers['x-ratelimit-remaining']).toBe('59')
    let admitted = 1
    while (admitted < 100 && (await me(key)).statusCode === 200) admitted++
    expect(admitted).toBe(60)
  })

  it('refills continuously: half a minute gives back 30 tokens', async () => {
    const { key } = await tenant('free')
    for (let i = 0; i < 60; i++) await me(key)
    expect((await me(key)).statusCode).toBe(429)
    clock.advance(30_000)
    let admitted = 0
    while (admitted < 100 && (await me(key)).statusCode === 200) admitted++
    expect(admitted).toBe(30)
    // Half a token is not a token.
    clock.advance(500)
    expect((await me(key)).statusCode).toBe(429)
    clock.advance(500)
    expect((await me(key)).statusCode).toBe(200)
  })

  it('gives a starter workspace its 20 % burst: 1,200 at once, then 429', async () => {
    const { key } = await tenant('starter')
    const first = await me(key)
    expect(first.headers['x-ratelimit-limit']).toBe('1000')
    // Remaining may exceed the limit while the burst allowance is unused.
    expect(first.headers['x-ratelimit-remaining']).toBe('1199')
    expect(first.headers.ratelimit).toBe('"key";r=1199;t=1')
    let admitted = 1
    let refused: LightMyRequestResponse | null = null
    for (let i = 0; i < 1250 && refused === null; i++) {
      const res = await me(key)
      if (res.statusCode === 200) admitted++
      else refused = res
    }
    expect(admitted).toBe(1200)
    expect(refused?.statusCode).toBe(429)
    expect(refused?.json()).toMatchObject({ limit: 1000, remaining: 0, retry_after: 1 })
    // 1,000 per minute: a token every 60 ms.
    clock.advance(60)
    expect((await me(key)).statusCode).toBe(200)
    expect((await me(key)).statusCode).toBe(429)
  })

  it('shares the workspace bucket between the keys of a workspace', async () => {
    const ws = await t.workspace({ tier: 'free' })
    const a = await t.key(ws.id)
    const b = await t.key(ws.id)
    for (let i = 1; i <= 30; i++) expect((await me(a.key)).statusCode).toBe(200)
    for (let i = 1; i <= 30; i++) {
      const res = await me(b.key)
      expect(res.statusCode, `b request ${i}`).toBe(200)
      // B's own bucket has 60 - i, the workspace's 30 - i: the headers describe the workspace.
      expect(res.headers['x-ratelimit-remaining']).toBe(String(30 - i))
      expect(res.headers.ratelimit).toMatch(new RegExp(`^"workspace";r=${30 - i};`))
    }
    for (const key of [a.key, b.key]) {
      const refused = await me(key)
      expect(refused.statusCode).toBe(429)
      expect(refused.json().policy).toBe('workspace')
    }
    // A key of another free workspace is not affected.
    expect((await me((await tenant('free')).key)).statusCode).toBe(200)
  })

  it('limits a key by its own lower rate_limit_tier, while its workspace has room', async () => {
    const ws = await t.workspace({ tier: 'pro' })
    const slow = await t.key(ws.id, { rate_limit_tier: 'free' })
    const fast = await t.key(ws.id)
    const first = await me(slow.key)
    expect(first.headers['x-ratelimit-limit']).toBe('60')
    expect(first.headers['ratelimit-policy']).toBe('"key";q=60;w=60, "workspace";q=5000;w=60;burst=1500')
    let admitted = 1
    while (admitted < 100 && (await me(slow.key)).statusCode === 200) admitted++
    expect(admitted).toBe(60)
    const refused = await me(slow.key)
    expect(refused.json()).toMatchObject({ error: 'rate_limit_exceeded', policy: 'key', limit: 60 })
    const other = await me(fast.key)
    expect(other.statusCode).toBe(200)
    expect(other.headers['x-ratelimit-limit']).toBe('5000')
    // The workspace bucket counted the slow key's 60 admitted requests, and this one.
    expect(other.headers['ratelimit-policy']).toBe(
      '"key";q=5000;w=60;burst=1500, "workspace";q=5000;w=60;burst=1500',
    )
    expect(remaining(other)).toBe(6500 - 61)
  })

  it('does not limit the master key by the buckets of the workspace it acts in', async () => {
    const { workspace, key } = await tenant('free')
    for (let i = 0; i < 70; i++) {
      const res = await t.call(t.masterKey, { method: 'GET', url: '/api/v1/api-keys', workspace })
      expect(res.statusCode, `request ${i}`).toBe(200)
      // No bucket applies (the per-IP one is off in this app): no headers.
      expect(res.headers['x-ratelimit-limit']).toBeUndefined()
    }
    expect(remaining(await me(key))).toBe(59)
  })

  it('puts the headers on 201, 404 and 422 answers of authenticated routes', async () => {
    const { key } = await tenant('free')
    const created = await t.call(key, { method: 'POST', url: '/api/v1/api-keys', payload: { name: 'x' } })
    const missing = await t.call(key, { method: 'GET', url: '/api/v1/api-keys/999999' })
    const invalid = await t.call(key, { method: 'POST', url: '/api/v1/api-keys', payload: {} })
    expect([created.statusCode, missing.statusCode, invalid.statusCode]).toEqual([201, 404, 422])
    expect([created, missing, invalid].map((r) => r.headers['x-ratelimit-limit'])).toEqual(['60', '60', '60'])
    expect([created, missing, invalid].map(remaining)).toEqual([59, 58, 57])
    for (const res of [created, missing, invalid]) {
      expect(res.headers['x-ratelimit-reset']).toMatch(/^\d{10}$/)
      expect(res.headers['ratelimit-policy']).toBe('"key";q=60;w=60, "workspace";q=60;w=60')
      expect(res.headers.ratelimit).toMatch(/^"key";r=\d+;t=\d+$/)
    }
  })

  it('adds no headers to /health, /ready or /metrics', async () => {
    for (const url of ['/health', '/ready', '/metrics']) {
      const res = await t.app.inject({ url, headers: { authorization: `Bearer ${t.masterKey}` } })
      expect(res.statusCode, url).toBe(200)
      for (const header of ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'ratelimit'])
        expect(res.headers[header], `${url} ${header}`).toBeUndefined()
    }
  })
})

describe('rate limits: several buckets at once', () => {
  let ipApp: TestApp
  beforeAll(async () => {
    ipApp = await buildTestApp({ env: { RATE_LIMIT_IP_PER_HOUR: '100' } })
  })
  afterAll(() => ipApp?.close())

  it('lists every bucket in RateLimit-Policy and names the strictest in RateLimit', async () => {
    const free = await tenant('free', {}, ipApp) // 2 requests of the master key from this IP
    const res = await me(free.key, ipApp)
    expect(res.statusCode).toBe(200)
    expect(res.headers['ratelimit-policy']).toBe('"ip";q=100;w=3600, "key";q=60;w=60, "workspace";q=60;w=60')
    // ip: 97 left, key and workspace: 59 each — the key's bucket (listed first of the two) wins.
    expect(res.headers.ratelimit).toBe('"key";r=59;t=1')
    expect(res.headers['x-ratelimit-limit']).toBe('60')

    const enterprise = await tenant('enterprise', {}, ipApp)
    const big = await me(enterprise.key, ipApp)
    expect(big.headers['ratelimit-policy']).toBe(
      '"ip";q=100;w=3600, "key";q=100000;w=60;burst=100000, "workspace";q=100000;w=60;burst=100000',
    )
    // 100 - 6 requests so far from this IP: the per-IP bucket is now the strictest.
    expect(big.headers.ratelimit).toBe('"ip";r=94;t=216')
    expect(big.headers['x-ratelimit-limit']).toBe('100')
    expect(big.headers['x-ratelimit-remaining']).toBe('94')
  })

  it('refuses every credential from an IP whose hourly budget is spent, with Retry-After', async () => {
    const small = await buildTestApp({ env: { RATE_LIMIT_IP_PER_HOUR: '10' } })
    try {
      const { key } = await tenant('enterprise', {}, small) // 2 of 10
      const codes: number[] = []
      for (let i = 0; i < 10; i++) codes.push((await me(key, small)).statusCode)
      expect(codes).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 429, 429])
      const refused = await me(key, small)
      // 10 per hour: a token every 6 minutes.
      expect(refused.json()).toMatchObject({ policy: 'ip', limit: 10, retry_after: 360 })
      expect(refused.headers['retry-after']).toBe('360')
      const master = await small.call(small.masterKey, { method: 'GET', url: '/api/v1/me' })
      expect(master.statusCode).toBe(429)
    } finally {
      await small.close()
    }
  })
})

describe('rate limits: per-route budgets', () => {
  // A module declares the budget on its routes; the platform knows no route by name.
  const FIVE_MINUTES = { name: 'signin', limit: 3, windowMs: 300_000 } as const

  it("gives routes that declare a budget their own per-IP bucket, refilled over the route's window", async () => {
    const app = await buildTestApp({
      setup: (server) => {
        server.post('/api/v1/limited', { config: { public: true, rateLimit: FIVE_MINUTES } }, () => ({
          ok: 1,
        }))
        server.post('/api/v1/limited-too', { config: { public: true, rateLimit: FIVE_MINUTES } }, () => ({}))
      },
    })
    const appClock = app.clock as ManualClock
    const send = (ip: string, url = '/api/v1/limited') =>
      app.app.inject({ method: 'POST', url, remoteAddress: ip, payload: {} })
    try {
      const codes: number[] = []
      for (let i = 0; i < 4; i++) codes.push((await send('203.0.113.7')).statusCode)
      expect(codes).toEqual([200, 200, 200, 429])
      const refused = await send('203.0.113.7')
      expect(refused.headers['ratelimit-policy']).toBe('"signin";q=3;w=300')
      // 3 per 5 minutes: a token every 100 s.
      expect(refused.json()).toMatchObject({ policy: 'signin', limit: 3, retry_after: 100 })
      expect(refused.headers['retry-after']).toBe('100')
      // Routes that name the same budget share it.
      expect((await send('203.0.113.7', '/api/v1/limited-too')).statusCode).toBe(429)
      // Another address has its own budget.
      expect((await send('203.0.113.8')).statusCode).toBe(200)
      // Rolling: one token back after 100 s, not the whole budget at a window's edge.
      appClock.advance(100_000)
      expect((await send('203.0.113.7')).statusCode).toBe(200)
      expect((await send('203.0.113.7')).statusCode).toBe(429)
      // The rest of the API is not on the route's budget.
      expect((await app.call(app.masterKey, { method: 'GET', url: '/api/v1/me' })).statusCode).toBe(200)
    } finally {
      await app.close()
    }
  })

  it("draws a route's budget from a bucket of the client IP, no burst", () => {
    const policies = new Policies(loadConfig({ RATE_LIMIT_IP_PER_HOUR: '0' }))
    const buckets = policies.bucketsFor({
      ip: '198.51.100.4',
      principal: null,
      workspace: null,
      route: { name: 'pixel', limit: 300, windowMs: 60_000 },
      refused: null,
    })
    expect(buckets).toEqual([
      { key: 'pixel:198.51.100.4', policy: { name: 'pixel', limit: 300, windowMs: 60_000, burst: 0 } },
    ])
  })
})

describe('rate limits: the master key', () => {
  it('is limited only by the per-IP bucket', async () => {
    const app = await buildTestApp({ env: { RATE_LIMIT_IP_PER_HOUR: '5' } })
    try {
      const codes: number[] = []
      const limits: Array<string | undefined> = []
      for (let i = 0; i < 6; i++) {
        const res = await app.call(app.masterKey, { method: 'GET', url: '/api/v1/me' })
        codes.push(res.statusCode)
        limits.push(res.headers['x-ratelimit-limit'] as string | undefined)
        if (i === 0) {
          expect(res.headers['ratelimit-policy']).toBe('"ip";q=5;w=3600')
          expect(res.headers.ratelimit).toBe('"ip";r=4;t=720')
        }
      }
      expect(codes).toEqual([200, 200, 200, 200, 200, 429])
      expect(limits).toEqual(['5', '5', '5', '5', '5', '5'])
      const health = await app.app.inject('/health')
      expect(health.statusCode).toBe(200)
      expect(health.headers['x-ratelimit-limit']).toBeUndefined()
      // An hour refills the whole per-IP budget.
      ;(app.clock as ManualClock).advance(3_600_000)
      const again = await app.call(app.masterKey, { method: 'GET', url: '/api/v1/me' })
      expect(again.statusCode).toBe(200)
      expect(again.headers['x-ratelimit-remaining']).toBe('4')
    } finally {
      await app.close()
    }
  })
})

describe('rate limits: security', () => {
  it('never spends a victim key’s or workspace’s quota on 401 answers', async () => {
    const victim = await tenant('free')
    const revoked = await t.key(victim.workspace)
    expect(
      (
        await t.call(t.masterKey, {
          method: 'DELETE',
          url: `/api/v1/api-keys/${revoked.id}`,
          workspace: victim.workspace,
        })
      ).statusCode,
    ).toBe(204)
    const before = remaining(await me(victim.key))
    expect(before).toBe(59)
    for (let i = 0; i < 20; i++) {
      expect((await me(revoked.key)).statusCode).toBe(401)
      expect((await me(BAD_KEY)).statusCode).toBe(401)
      expect(
        (
          await t.call(BAD_KEY, {
            method: 'GET',
            url: '/api/v1/api-keys',
            headers: { 'x-workspace-id': String(victim.workspace) },
          })
        ).statusCode,
      ).toBe(401)
    }
    expect(remaining(await me(victim.key))).toBe(before - 1)
  })

  it('never spends a victim key’s or workspace’s quota on 403 answers', async () => {
    const victimWs = await t.workspace({ tier: 'free' })
    const victim = await t.key(victimWs.id, { scopes: ['posts:read'] })
    const attacker = await tenant('free')
    const before = remaining(await me(victim.key))
    expect(before).toBe(59)
    for (let i = 0; i < 20; i++) {
      // The victim's own key, without the route's scope.
      const noScope = await t.call(victim.key, { method: 'GET', url: '/api/v1/api-keys' })
      expect(noScope.statusCode).toBe(403)
      expect(noScope.json().message).toBe('Insufficient permissions. Required scope: api-keys:read')
      // Another tenant's key naming the victim's workspace.
      const foreign = await t.call(attacker.key, {
        method: 'GET',
        url: '/api/v1/api-keys',
        workspace: victimWs.id,
      })
      expect(foreign.statusCode).toBe(403)
      expect(foreign.json().error).toBe('access_denied')
    }
    expect(remaining(await me(victim.key))).toBe(before - 1)
    // Nor the attacker's own buckets: refusals only ever draw from the per-IP budgets.
    expect(remaining(await me(attacker.key))).toBe(59)
  })

  it('limits failed authentications per IP, and a valid key from that IP still works', async () => {
    const app = await buildTestApp({ env: { RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '5' } })
    try {
      const { key } = await tenant('free', {}, app)
      const codes: number[] = []
      for (let i = 0; i < 6; i++) codes.push((await me(BAD_KEY, app)).statusCode)
      expect(codes).toEqual([401, 401, 401, 401, 401, 429])
      const refused = await me(BAD_KEY, app)
      expect(refused.json()).toMatchObject({
        error: 'rate_limit_exceeded',
        policy: 'auth-failures',
        limit: 5,
        retry_after: 12,
      })
      expect(refused.headers['retry-after']).toBe('12')
      // A request without any credential is a failed authentication too.
      expect((await app.app.inject({ url: '/api/v1/me' })).statusCode).toBe(429)
      const valid = await me(key, app)
      expect(valid.statusCode).toBe(200)
      expect(valid.headers['x-ratelimit-remaining']).toBe('59')
      // 5 per minute: one more failure is allowed 12 s later.
      ;(app.clock as ManualClock).advance(12_000)
      expect((await me(BAD_KEY, app)).statusCode).toBe(401)
      expect((await me(BAD_KEY, app)).statusCode).toBe(429)
    } finally {
      await app.close()
    }
  })
})
