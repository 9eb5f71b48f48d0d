// What a newcomer meets first: the server's address opens the reference, a wrong key under the
// Bearer scheme is called a wrong key, and the operations endpoints and the reference keep
// answering a caller whose per-IP budget is spent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../src/testing/harness.ts'

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(() => t.close())

const UNAUTHORIZED = { error: 'unauthorized', message: 'Invalid or missing API key.' }

describe('the first requests', () => {
  it('redirects / to the reference with 302', async () => {
    for (const accept of ['text/html,application/xhtml+xml', '*/*']) {
      const res = await t.app.inject({ url: '/', headers: { accept } })
      expect(res.statusCode).toBe(302)
      expect(res.headers.location).toBe('/docs')
    }
  })

  it('calls a short, placeholder or unknown key under Bearer a wrong key, not a wrong scheme', async () => {
    for (const authorization of [
      'Bearer sk_live_…',
      'Bearer sk_live_abc',
      'Bearer ',
      'Bearer',
      'Bearer sk_live_notARealKeyAtAllxxxxxxxxxxxxxxxxxxxxxxxxx',
      'Bearer has spaces in it and is long enough',
    ]) {
      const res = await t.app.inject({ url: '/api/v1/me', headers: { authorization } })
      expect(res.statusCode, authorization).toBe(401)
      expect(res.json(), authorization).toEqual({ ...UNAUTHORIZED, request_id: res.headers['x-request-id'] })
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/)
    }
  })

  it('names the scheme only when another one is used', async () => {
    for (const authorization of [
      'Basic dXNlcjpwYXNz',
      'bearer sk_live_abcdefghijklmnopqrstuvwxyz',
      'Token sk_live_abcdefghijklmnopqrstuvwxyz',
      'sk_live_x',
    ]) {
      const res = await t.app.inject({ url: '/api/v1/me', headers: { authorization } })
      expect(res.statusCode, authorization).toBe(401)
      expect(res.json().message, authorization).toBe('Use the Bearer scheme: "Authorization: Bearer <key>".')
    }
    const none = await t.app.inject({ url: '/api/v1/me' })
    expect(none.json()).toMatchObject(UNAUTHORIZED)
  })
})

describe('never refused by a bucket', () => {
  it('answers /health, /ready, /metrics, /docs, its assets and /api/openapi.json once the IP budget is spent', async () => {
    const limited = await buildTestApp({ env: { RATE_LIMIT_IP_PER_HOUR: '3' } })
    try {
      await spendBudgetThenAsk(limited)
    } finally {
      await limited.close()
    }
  })
})

async function spendBudgetThenAsk(t: TestApp): Promise<void> {
  {
    const codes: number[] = []
    for (let i = 0; i < 4; i++)
      codes.push((await t.call(t.masterKey, { method: 'GET', url: '/api/v1/me' })).statusCode)
    expect(codes).toEqual([200, 200, 200, 429])

    const page = await t.app.inject('/docs/')
    const assets = [...page.body.matchAll(/<script src="([^"]+)"/g)].map(
      (m) => new URL(m[1]!, 'http://x/docs/').pathname,
    )
    expect(assets).toContain('/docs/js/scalar.js')
    for (const url of [
      '/health',
      '/ready',
      '/metrics',
      '/docs',
      '/docs/',
      ...assets,
      '/api/openapi.json',
      '/',
    ]) {
      // Many times over: none of them is charged to the bucket either.
      for (let i = 0; i < 3; i++) {
        const res = await t.app.inject(url)
        expect(res.statusCode, url).toBeLessThan(400)
        expect(res.headers['x-ratelimit-limit'], url).toBeUndefined()
      }
    }
    expect((await t.app.inject('/api/openapi.json')).json().openapi).toMatch(/^3\.1/)
    expect((await t.call(t.masterKey, { method: 'GET', url: '/api/v1/me' })).statusCode).toBe(429)
  }
}
