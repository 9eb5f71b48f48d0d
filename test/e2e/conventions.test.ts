// The conventions every route shares, checked through the real app: request ids, the error
// format and its codes for malformed input, and the machine-readable reference.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../src/testing/harness.ts'

let t: TestApp
let key: string
beforeAll(async () => {
  t = await buildTestApp()
  key = (await t.key((await t.workspace()).id, { scopes: ['*'] })).key
})
afterAll(() => t.close())

describe('request ids', () => {
  it('keeps a sane inbound X-Request-ID and replaces anything else, on every response', async () => {
    const kept = await t.call(key, {
      method: 'GET',
      url: '/api/v1/me',
      headers: { 'x-request-id': 'abc-123_x:y.z' },
    })
    expect(kept.headers['x-request-id']).toBe('abc-123_x:y.z')
    for (const bad of ['x'.repeat(129), 'has space', '<script>']) {
      const res = await t.call(key, { method: 'GET', url: '/api/v1/me', headers: { 'x-request-id': bad } })
      expect(res.headers['x-request-id']).toMatch(/^req_[0-9A-Za-z]{20}$/)
    }
    for (const res of [
      await t.call(null, { method: 'GET', url: '/api/v1/me' }),
      await t.call(key, { method: 'GET', url: '/api/v1/nothing' }),
      await t.call(key, { method: 'PUT', url: '/api/v1/me' }),
      await t.app.inject('/health'),
    ]) {
      expect(res.headers['x-request-id']).toMatch(/^req_/)
      if (res.statusCode >= 400) expect(res.json().request_id).toBe(res.headers['x-request-id'])
    }
  })
})

describe('errors', () => {
  it('answers malformed requests with the contract codes', async () => {
    const json = { 'content-type': 'application/json' }
    const cases: Array<[Parameters<TestApp['call']>[1], number, string]> = [
      [{ method: 'GET', url: '/api/v1/nothing' }, 404, 'not_found'],
      [{ method: 'PUT', url: '/api/v1/workspaces' }, 405, 'method_not_allowed'],
      [{ method: 'POST', url: '/api/v1/posts', payload: '{"title":', headers: json }, 400, 'invalid_json'],
      [
        {
          method: 'POST',
          url: '/api/v1/posts',
          payload: 'title=x',
          headers: { 'content-type': 'text/plain' },
        },
        415,
        'unsupported_media_type',
      ],
      [
        {
          method: 'POST',
          url: '/api/v1/posts',
          payload: JSON.stringify({ title: 'x'.repeat(1_100_000) }),
          headers: json,
        },
        413,
        'payload_too_large',
      ],
      [{ method: 'POST', url: '/api/v1/posts', payload: { title: 'x', extra: 1 } }, 422, 'validation_failed'],
    ]
    for (const [request, status, code] of cases) {
      const res = await t.call(key, request)
      expect(res.statusCode, `${request.method} ${request.url}`).toBe(status)
      expect(res.json()).toMatchObject({
        error: code,
        message: expect.any(String),
        request_id: expect.any(String),
      })
    }
    const allow = await t.call(key, { method: 'PUT', url: '/api/v1/workspaces/1' })
    expect(allow.headers.allow).toBe('GET, PATCH, DELETE')
  })

  it('accepts an empty body with Content-Type: application/json and ignores __proto__', async () => {
    const post = await t.call(key, { method: 'POST', url: '/api/v1/posts', payload: { title: 'to delete' } })
    const id = post.json().data.id
    const del = await t.call(key, {
      method: 'DELETE',
      url: `/api/v1/posts/${id}`,
      headers: { 'content-type': 'application/json' },
    })
    expect(del.statusCode).toBe(204)
    const proto = await t.call(key, {
      method: 'POST',
      url: '/api/v1/posts',
      payload: '{"title":"p","__proto__":{"admin":true}}',
      headers: { 'content-type': 'application/json' },
    })
    expect(proto.statusCode).toBeLessThan(500)
    expect(({} as Record<string, unknown>).admin).toBeUndefined()
  })

  it('refuses other schemes and malformed credentials with 401 and WWW-Authenticate', async () => {
    for (const authorization of [
      'Basic dXNlcjpwYXNz',
      `bearer ${key}`,
      `Bearer ${key} `,
      'Bearer',
      `Token ${key}`,
    ]) {
      const res = await t.app.inject({ url: '/api/v1/me', headers: { authorization } })
      expect(res.statusCode, authorization).toBe(401)
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/)
    }
  })

  it('gives zero 5xx for a few hundred malformed requests', async () => {
    let seed = 42
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed / 2 ** 31
    }
    const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)]!
    const paths = [
      '/api/v1/posts',
      '/api/v1/posts/1',
      '/api/v1/workspaces',
      '/api/v1/api-keys/abc',
      '/api/v1/webhooks',
      '/api/v1/entitlements/check',
      '/api/v1/%ZZ',
      '/api/v1/posts?page=-1&sort=;drop',
    ]
    const bodies = [
      '{',
      '[]',
      'null',
      '"x"',
      '{"title":123}',
      '{"title":"\u0000"}',
      '{"a":{"b":{"c":[1,2,{"d":null}]}}}',
      'x'.repeat(1000),
      '',
    ]
    const statuses: number[] = []
    for (let i = 0; i < 300; i++) {
      const res = await t.app.inject({
        method: pick(['GET', 'POST', 'PATCH', 'DELETE', 'PUT']),
        url: pick(paths),
        headers: {
          authorization: pick([`Bearer ${key}`, 'Bearer x', '']),
          'content-type': pick(['application/json', 'text/plain', 'application/json; charset=utf-8', '']),
          'x-workspace-id': pick(['', '1', 'abc', '99999999999']),
          'idempotency-key': pick(['', 'k', 'x'.repeat(300)]),
        },
        payload: pick(bodies),
      })
      statuses.push(res.statusCode)
    }
    expect(statuses.filter((s) => s >= 500)).toEqual([])
  })
})

describe('reference and operations', () => {
  it('serves OpenAPI 3.1, the interactive reference, health and readiness', async () => {
    const doc = (await t.app.inject('/api/openapi.json')).json()
    expect(doc.openapi).toBe('3.1.0')
    for (const path of [
      '/api/v1/me',
      '/api/v1/workspaces',
      '/api/v1/api-keys/{id}/rotate',
      '/api/v1/webhooks/{id}/test',
    ]) {
      expect(doc.paths[path], path).toBeDefined()
    }
    const docs = await t.app.inject('/docs/')
    expect(docs.statusCode).toBe(200)
    expect(docs.headers['content-type']).toContain('text/html')
    expect((await t.app.inject('/health')).json()).toEqual({ status: 'ok' })
    expect((await t.app.inject('/ready')).json()).toMatchObject({ status: 'ready' })
  })
})
