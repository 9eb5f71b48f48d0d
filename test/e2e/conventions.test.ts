// The conventions every route shares, checked through the real app: request ids, the error
// format and its codes for malformed input, the Bearer-only credential format, the
// machine-readable reference and the operations endpoints — and a seeded fuzz that must never
// produce a 5xx.

import { readFileSync } from 'node:fs'
import type { LightMyRequestResponse } from 'fastify'
import Fastify from 'fastify'
import { beforeAll, describe, expect, it } from 'vitest'
import { ApiError, httpPlatform, httpServerOptions } from '../../src/platform/http/index.ts'
import { type TestApp, useTestApp } from '../../src/testing/harness.ts'

const t = useTestApp()
let key: string
let workspaceId: number
beforeAll(async () => {
  workspaceId = (await t.workspace()).id
  key = (await t.key(workspaceId, { scopes: ['*'] })).key
})

const GENERATED_ID = /^req_[0-9A-Za-z]{20}$/
const JSON_TYPE = { 'content-type': 'application/json' }
type Request = Parameters<TestApp['call']>[1]

/** The contract's error body, with the request id of the response. */
function expectError(res: LightMyRequestResponse, status: number, code: string): void {
  expect(res.statusCode, res.body).toBe(status)
  expect(res.headers['content-type']).toMatch(/^application\/json/)
  const body = res.json()
  expect(body).toMatchObject({ error: code, message: expect.any(String) })
  expect(body.message.length).toBeGreaterThan(0)
  expect(body.request_id).toBe(res.headers['x-request-id'])
}

describe('request ids', () => {
  it('puts a generated X-Request-ID on every response, errors and operations included', async () => {
    const responses: Array<[string, LightMyRequestResponse]> = [
      ['200', await t.call(key, { method: 'GET', url: '/api/v1/me' })],
      ['201', await t.call(key, { method: 'POST', url: '/api/v1/posts', payload: { title: 'rid' } })],
      ['400', await t.call(key, { method: 'POST', url: '/api/v1/posts', payload: '{', headers: JSON_TYPE })],
      ['401', await t.call(null, { method: 'GET', url: '/api/v1/me' })],
      ['403', await t.call(key, { method: 'GET', url: '/api/v1/me', workspace: 999_999 })],
      ['404', await t.call(key, { method: 'GET', url: '/api/v1/nothing' })],
      ['405', await t.call(key, { method: 'PUT', url: '/api/v1/me' })],
      ['415', await t.call(key, { method: 'POST', url: '/api/v1/posts', payload: 'x' })],
      ['422', await t.call(key, { method: 'POST', url: '/api/v1/posts', payload: { nope: 1 } })],
      ['health', await t.app.inject('/health')],
      ['ready', await t.app.inject('/ready')],
      ['openapi', await t.app.inject('/api/openapi.json')],
    ]
    const seen = new Set<string>()
    for (const [label, res] of responses) {
      const id = res.headers['x-request-id']
      expect(id, label).toMatch(GENERATED_ID)
      seen.add(id as string)
      if (res.statusCode >= 400) expect(res.json().request_id, label).toBe(id)
    }
    expect(seen.size).toBe(responses.length) // a new one each time
  })

  it('echoes a sane inbound X-Request-ID, on successes and errors alike', async () => {
    for (const inbound of ['abc-123_x:y.z', 'a', 'x'.repeat(128), 'A.b-C_d:9']) {
      const ok = await t.call(key, { method: 'GET', url: '/api/v1/me', headers: { 'x-request-id': inbound } })
      expect(ok.headers['x-request-id'], inbound).toBe(inbound)
      const missing = await t.call(key, {
        method: 'GET',
        url: '/api/v1/nothing',
        headers: { 'x-request-id': inbound },
      })
      expect(missing.headers['x-request-id']).toBe(inbound)
      expect(missing.json().request_id).toBe(inbound)
      const refused = await t.call(null, {
        method: 'GET',
        url: '/api/v1/me',
        headers: { 'x-request-id': inbound },
      })
      expect(refused.json().request_id).toBe(inbound)
    }
  })

  it('replaces an insane inbound X-Request-ID with req_ + 20 characters', async () => {
    for (const inbound of [
      'x'.repeat(129),
      'x'.repeat(200),
      'has space',
      '<script>alert(1)</script>',
      '',
      'a/b',
      'a,b',
      '"quoted"',
      'req_ok;drop',
    ]) {
      for (const res of [
        await t.call(key, { method: 'GET', url: '/api/v1/me', headers: { 'x-request-id': inbound } }),
        await t.call(null, { method: 'GET', url: '/api/v1/me', headers: { 'x-request-id': inbound } }),
      ]) {
        expect(res.headers['x-request-id'], JSON.stringify(inbound)).toMatch(GENERATED_ID)
        expect(res.body).not.toContain('<script>')
        if (res.statusCode >= 400) expect(res.json().request_id).toBe(res.headers['x-request-id'])
      }
    }
  })

  it('gives a 500 the same body, with its request id and without the internal detail', async () => {
    // A throwaway app with only the HTTP platform: no route of core-api fails on purpose.
    const app = Fastify(httpServerOptions(1024))
    await app.register(httpPlatform)
    app.get('/boom', () => {
      throw new Error('connection to db-primary:5432 failed: password authentication failed')
    })
    app.get('/unavailable', () => {
      throw new ApiError('service_unavailable')
    })
    try {
      const res = await app.inject({ url: '/boom', headers: { 'x-request-id': 'trace-500' } })
      expect(res.statusCode).toBe(500)
      expect(res.headers['x-request-id']).toBe('trace-500')
      expect(res.json()).toEqual({
        error: 'server_error',
        message: 'An unexpected error occurred.',
        request_id: 'trace-500',
      })
      expect(res.body).not.toContain('password')
      expectError(await app.inject('/unavailable'), 503, 'service_unavailable')
    } finally {
      await app.close()
    }
  })
})

describe('errors', () => {
  it('answers unknown routes with 404 not_found', async () => {
    for (const url of [
      '/api/v1/nothing',
      '/nothing',
      '/api/v2/me',
      '/api/v1/posts/1/nothing',
      '/api/v1/%ZZ',
    ]) {
      expectError(await t.call(key, { method: 'GET', url }), 404, 'not_found')
    }
  })

  it('answers a known path with an unsupported method with 405 and Allow', async () => {
    const cases: Array<[Request['method'], string, string]> = [
      ['PUT', '/api/v1/workspaces', 'GET, POST'],
      ['DELETE', '/api/v1/me', 'GET'],
      ['PUT', '/api/v1/workspaces/1', 'GET, PATCH, DELETE'],
      ['GET', '/api/v1/api-keys/1/rotate', 'POST'],
      ['PATCH', '/api/v1/api-keys/1', 'GET, DELETE'],
    ]
    for (const [method, url, allow] of cases) {
      const res = await t.call(key, { method, url })
      expectError(res, 405, 'method_not_allowed')
      expect(res.headers.allow, `${method} ${url}`).toBe(allow)
    }
  })

  it('answers malformed JSON with 400 invalid_json', async () => {
    for (const payload of ['{"title":', '{title: "x"}', "{'title':'x'}", '{"title":"x",}', '{"a":1}}']) {
      const res = await t.call(key, { method: 'POST', url: '/api/v1/posts', payload, headers: JSON_TYPE })
      expectError(res, 400, 'invalid_json')
    }
  })

  it('answers a body that is not application/json with 415 unsupported_media_type', async () => {
    for (const headers of [
      {},
      { 'content-type': 'text/plain' },
      { 'content-type': 'application/x-www-form-urlencoded' },
      { 'content-type': 'application/xml' },
      { 'content-type': 'multipart/form-data; boundary=x' },
    ]) {
      const res = await t.call(key, {
        method: 'POST',
        url: '/api/v1/posts',
        payload: '{"title":"x"}',
        headers,
      })
      expectError(res, 415, 'unsupported_media_type')
    }
    const ok = await t.call(key, {
      method: 'POST',
      url: '/api/v1/posts',
      payload: '{"title":"charset"}',
      headers: { 'content-type': 'application/json; charset=utf-8' },
    })
    expect(ok.statusCode).toBe(201)
  })

  it('answers a body over 1 MiB with 413 payload_too_large', async () => {
    const limit = 1_048_576
    const filler = 'x'.repeat(limit + 1 - '{"title":""}'.length)
    const payload = `{"title":"${filler}"}`
    expect(payload.length).toBe(limit + 1)
    const res = await t.call(key, { method: 'POST', url: '/api/v1/posts', payload, headers: JSON_TYPE })
    expectError(res, 413, 'payload_too_large')
  })

  it('takes an empty body sent with Content-Type: application/json as no body', async () => {
    const post = await t.call(key, { method: 'POST', url: '/api/v1/posts', payload: { title: 'to delete' } })
    expect(post.statusCode).toBe(201)
    const del = await t.call(key, {
      method: 'DELETE',
      url: `/api/v1/posts/${post.json().data.id}`,
      headers: JSON_TYPE,
      payload: '',
    })
    expect(del.statusCode).toBe(204)
    expect(del.body).toBe('')
    const rotated = await t.call(key, {
      method: 'POST',
      url: `/api/v1/api-keys/${(await t.key(workspaceId)).id}/rotate`,
      headers: JSON_TYPE,
      payload: '',
    })
    expect(rotated.statusCode).toBe(200)
  })

  it('never lets __proto__ or constructor.prototype in a body pollute objects or cause a 500', async () => {
    for (const payload of [
      '{"title":"p","__proto__":{"admin":true}}',
      '{"title":"p","constructor":{"prototype":{"admin":true}}}',
      '{"title":"p","metadata":{"__proto__":{"admin":true}}}',
    ]) {
      const res = await t.call(key, { method: 'POST', url: '/api/v1/posts', payload, headers: JSON_TYPE })
      expect(res.statusCode, payload).toBeLessThan(500)
      expect([201, 400, 422], payload).toContain(res.statusCode)
      if (res.statusCode === 201) expect(res.json().data).not.toHaveProperty('admin')
      else expect(res.json().error).toMatch(/^(invalid_json|validation_failed)$/)
    }
    expect(({} as Record<string, unknown>).admin).toBeUndefined()
    expect(Object.hasOwn(Object.prototype, 'admin')).toBe(false)
  })

  it('refuses other schemes and malformed credentials with 401 and WWW-Authenticate: Bearer', async () => {
    const good = await t.app.inject({ url: '/api/v1/me', headers: { authorization: `Bearer ${key}` } })
    expect(good.statusCode).toBe(200) // the control: the same key, well presented, works
    for (const authorization of [
      'Basic dXNlcjpwYXNz',
      'Bearer not-a-key!!',
      'Bearer garbage',
      `Bearer sk_live_${'Z'.repeat(40)}`,
      `bearer ${key}`,
      `BEARER ${key}`,
      `Bearer ${key} `,
      `Bearer  ${key}`,
      `Bearer ${key}x`,
      'Bearer',
      'Bearer ',
      `Token ${key}`,
      key,
      `Bearer ${t.masterKey.slice(0, -1)}`,
    ]) {
      const res = await t.app.inject({ url: '/api/v1/me', headers: { authorization } })
      expect(res.statusCode, authorization).toBe(401)
      expect(res.headers['www-authenticate'], authorization).toMatch(/^Bearer( |$)/)
      expect(res.json()).toEqual({
        error: 'unauthorized',
        message: expect.any(String),
        request_id: res.headers['x-request-id'],
      })
    }
    const none = await t.app.inject({ url: '/api/v1/workspaces' })
    expectError(none, 401, 'unauthorized')
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/)
  })
})

describe('hostile input', () => {
  const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`

  it('refuses nesting deeper than 64 levels in a free-form object with 422, however deep', async () => {
    const ws = await t.workspace()
    for (const depth of [64, 5_000, 100_000]) {
      const res = await t.call(t.masterKey, {
        method: 'PATCH',
        url: `/api/v1/workspaces/${ws.id}`,
        payload: `{"settings":${nested(depth)}}`,
        headers: JSON_TYPE,
      })
      expectError(res, 422, 'validation_failed')
      expect(res.json().errors).toEqual({
        settings: ['The settings field must not nest objects or arrays more than 64 levels deep.'],
      })
    }
    const within = await t.call(t.masterKey, {
      method: 'PATCH',
      url: `/api/v1/workspaces/${ws.id}`,
      payload: `{"settings":${nested(62)}}`,
      headers: JSON_TYPE,
    })
    expect(within.statusCode, within.body).toBe(200)
    const arrays = await t.call(key, {
      method: 'POST',
      url: '/api/v1/entitlements/usage',
      payload: `{"feature":"api_calls","quantity":1,"metadata":{"a":${'['.repeat(20_000)}${']'.repeat(20_000)}}}`,
      headers: JSON_TYPE,
    })
    expectError(arrays, 422, 'validation_failed')
  })

  it('refuses unpaired surrogates in strings and keys with 422, and keeps paired ones', async () => {
    const ws = await t.workspace()
    for (const settings of ['{"x\\udfffy":1}', '{"tz":"\\ud83d"}', '{"a":["ok","\\udc00"]}']) {
      const res = await t.call(t.masterKey, {
        method: 'PATCH',
        url: `/api/v1/workspaces/${ws.id}`,
        payload: `{"settings":${settings}}`,
        headers: JSON_TYPE,
      })
      expectError(res, 422, 'validation_failed')
      expect(Object.values(res.json().errors).flat()).toEqual([expect.stringContaining('unpaired surrogate')])
    }
    const title = await t.call(key, {
      method: 'POST',
      url: '/api/v1/posts',
      payload: '{"title":"a\\ud800"}',
      headers: JSON_TYPE,
    })
    expectError(title, 422, 'validation_failed')
    expect(title.json().errors).toEqual({
      title: ['The title field must be valid Unicode (it holds an unpaired surrogate).'],
    })
    const search = await t.call(key, { method: 'GET', url: '/api/v1/posts?search=%ED%A0%80' })
    expect(search.statusCode).toBeLessThan(500)
    const paired = await t.call(t.masterKey, {
      method: 'PATCH',
      url: `/api/v1/workspaces/${ws.id}`,
      payload: '{"settings":{"\\ud83d\\udca9":"\\ud83d\\udca9"}}',
      headers: JSON_TYPE,
    })
    expect(paired.statusCode, paired.body).toBe(200)
    expect(paired.json().data.settings).toEqual({ '💩': '💩' })
  })

  it('answers query parameters and body fields named like Object.prototype members with 422', async () => {
    for (const name of [
      'constructor',
      'toString',
      'hasOwnProperty',
      'valueOf',
      '__proto__',
      '__defineGetter__',
    ]) {
      const query = await t.call(key, { method: 'GET', url: `/api/v1/posts?${name}=x` })
      expectError(query, 422, 'validation_failed')
      expect(Object.keys(query.json().errors), name).toEqual([name])
      const body = await t.call(key, {
        method: 'POST',
        url: '/api/v1/posts',
        payload: `{"title":"x","${name}":1}`,
        headers: JSON_TYPE,
      })
      // secure-json-parse refuses __proto__ in a body as invalid JSON; the others are unknown fields
      if (name === '__proto__') expectError(body, 400, 'invalid_json')
      else {
        expectError(body, 422, 'validation_failed')
        expect(body.json().errors).toEqual({ [name]: [`The ${name} field is not allowed.`] })
      }
    }
    expect(Object.hasOwn(Object.prototype, 'x')).toBe(false)
  })

  it('answers an unknown query parameter with 422 on every API route, never ignoring it', async () => {
    const post = (await t.call(key, { method: 'POST', url: '/api/v1/posts', payload: { title: 'q' } })).json()
      .data
    for (const route of t.app.authenticatedRoutes) {
      const required =
        {
          '/api/v1/entitlements/check': 'feature=posts&',
          '/api/v1/mcp/resources/*': 'server=docs&',
          '/api/v1/seo/trends': 'url=https%3A%2F%2Fexample.com%2F&',
        }[route.url] ?? ''
      const url = `${route.url.replace(/:[a-z_]+/g, String(post.id))}?${required}colour=red`
      const where = `${route.method} ${route.url}`
      const res = await t.call(key, { method: route.method as 'GET', url })
      expectError(res, 422, 'validation_failed')
      // A route that needs a body reports the missing body first; the others name the parameter.
      if (route.method === 'GET' || route.method === 'DELETE')
        expect(res.json().errors, where).toEqual({ colour: ['The colour field is not allowed.'] })
    }
    // Nothing happened: the post is still there.
    expect((await t.call(key, { method: 'GET', url: `/api/v1/posts/${post.id}` })).statusCode).toBe(200)
  })

  it('answers a path parameter longer than 100 characters with 404', async () => {
    for (const url of [`/api/v1/posts/${'1'.repeat(101)}`, `/api/v1/api-keys/${'9'.repeat(5000)}/rotate`]) {
      expectError(await t.call(key, { method: 'GET', url }), 404, 'not_found')
    }
  })

  it('reads numbers in paths and query strings only as plain decimals', async () => {
    const post = await t.call(key, { method: 'POST', url: '/api/v1/posts', payload: { title: 'hex' } })
    const id: number = post.json().data.id
    expect((await t.call(key, { method: 'GET', url: `/api/v1/posts/${id}` })).statusCode).toBe(200)
    for (const spelled of [
      `0x${id.toString(16)}`,
      `${id}e0`,
      `${id}%20`,
      `%20${id}`,
      `0${id}`,
      `${id}.0`,
      `+${id}`,
    ]) {
      const res = await t.call(key, { method: 'GET', url: `/api/v1/posts/${spelled}` })
      expectError(res, 404, 'not_found')
      const deleted = await t.call(key, { method: 'DELETE', url: `/api/v1/posts/${spelled}` })
      expectError(deleted, 404, 'not_found')
    }
    expect((await t.call(key, { method: 'GET', url: `/api/v1/posts/${id}` })).statusCode).toBe(200)
    for (const query of ['per_page=1e1', 'per_page=0x10', 'page=%201', 'page=1.0']) {
      const res = await t.call(key, { method: 'GET', url: `/api/v1/posts?${query}` })
      expectError(res, 422, 'validation_failed')
    }
    expect((await t.call(key, { method: 'GET', url: '/api/v1/posts?per_page=10&page=1' })).statusCode).toBe(
      200,
    )
  })

  it('answers a method no route has, sent without Content-Type, with 405 or 404 — not 500', async () => {
    const known = await t.call(key, { method: 'QUERY' as 'GET', url: '/api/v1/webhooks' })
    expectError(known, 405, 'method_not_allowed')
    expect(known.headers.allow).toBe('GET, POST')
    expectError(await t.call(key, { method: 'QUERY' as 'GET', url: '/api/v1/nothing' }), 404, 'not_found')
    const typed = await t.call(key, {
      method: 'QUERY' as 'GET',
      url: '/api/v1/webhooks',
      payload: '{}',
      headers: JSON_TYPE,
    })
    expectError(typed, 405, 'method_not_allowed')
  })
})

describe('reference and operations', () => {
  it('serves an OpenAPI 3.1 document of the API', async () => {
    const res = await t.app.inject('/api/openapi.json')
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    const doc = res.json()
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/)
    expect(doc.paths['/api/v1/workspaces']).toHaveProperty('get')
    expect(doc.paths['/api/v1/workspaces']).toHaveProperty('post')
    expect(doc.paths['/api/v1/api-keys/{id}/rotate']).toHaveProperty('post')
    expect(doc.paths['/api/v1/me']).toHaveProperty('get')
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' })
  })

  it('names every operation with a unique operationId, marks public routes and follows the package version', async () => {
    const doc = (await t.app.inject('/api/openapi.json')).json()
    const version = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version
    expect(doc.info.version).toBe(version)
    const seen = new Map<string, string>()
    const publicApi = new Set(
      t.app.publicApiRoutes.map((r) => `${r.method} ${r.url.replace(/:([a-z_]+)/g, '{$1}')}`),
    )
    for (const [path, operations] of Object.entries<
      Record<string, { operationId?: string; security?: unknown }>
    >(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const where = `${method.toUpperCase()} ${path}`
        expect(operation.operationId, where).toMatch(/^[a-z][A-Za-z]+$/)
        expect(seen.get(operation.operationId!), `${where} repeats an operationId`).toBeUndefined()
        seen.set(operation.operationId!, where)
        // Only the operations of the API need a credential, but those declared public; the
        // document's default says so.
        if (path.startsWith('/api/') && !publicApi.has(where))
          expect(operation.security, where).toBeUndefined()
        else expect(operation.security, where).toEqual([])
      }
    }
    expect(seen.get('createPost')).toBe('POST /api/v1/posts')
    expect(seen.get('rotateApiKey')).toBe('POST /api/v1/api-keys/{id}/rotate')
    expect(seen.get('getHealth')).toBe('GET /health')
  })

  it('serves the interactive reference at /docs as HTML', async () => {
    const bare = await t.app.inject('/docs')
    expect(bare.statusCode).toBe(301)
    expect(bare.headers.location).toBe('/docs/')
    const res = await t.app.inject('/docs/')
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toContain('text/html')
    expect(res.body).toMatch(/<html/i)
  })

  it('answers /health and /ready', async () => {
    const health = await t.app.inject('/health')
    expect(health.statusCode).toBe(200)
    expect(health.json()).toEqual({ status: 'ok' })
    const ready = await t.app.inject('/ready')
    expect(ready.statusCode).toBe(200)
    expect(ready.json()).toMatchObject({ status: 'ready' })
  })
})

describe('fuzz', () => {
  it('answers 400 malformed requests without a single 5xx, always in the error format', async () => {
    // mulberry32: a small seeded PRNG, so a failure replays exactly
    let seed = 0x5eed
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0
      let x = Math.imul(seed ^ (seed >>> 15), 1 | seed)
      x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
      return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296
    }
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!
    const junk = (max: number) => {
      const chars = 'aZ09-_.~!$&\'()*+,;=:@/?#[]%{}<>"\\ ^`|'
      let s = ''
      const length = Math.floor(random() * max)
      for (let i = 0; i < length; i++) s += pick([...chars])
      return s
    }

    // Every authenticated route, with a real post id or malformed ids; none names this test's own
    // key or workspace, so a lucky DELETE cannot cut the fuzz short.
    const routes = t.app.authenticatedRoutes.map((r) => ({ method: r.method, url: r.url }))
    expect(routes.length).toBeGreaterThan(20)
    const post = await t.call(key, { method: 'POST', url: '/api/v1/posts', payload: { title: 'fuzzed' } })
    const ids = [
      String(post.json().data.id),
      '999999',
      'abc',
      '0',
      '-1',
      '1e3',
      '99999999999999999999',
      '%20',
      '%00',
    ]
    const queryParts = [
      'page=-1',
      'page=abc',
      'page=1&page=2',
      'per_page=0',
      'per_page=1000',
      'sort=;drop table posts',
      'sort=-',
      'sort=,,,',
      'fields=',
      'fields=password',
      'include=owner,owner,owner',
      'include=__proto__',
      'status[]=x',
      'a[b][c]=d',
      '__proto__[admin]=1',
      'search=%00',
      'search=%25%5F%5C',
      `search=${'s'.repeat(300)}`,
      'search=%F0%9F%92%A9',
      'created_after=0000-01-01',
      'created_after=2026-02-31',
      'created_after=9999-99-99T99:99',
      'created_before=-1',
      'updated_after=%ZZ',
      'feature=%00',
      'feature=__proto__',
    ]
    const bodies = [
      '',
      '{',
      '[]',
      'null',
      '"x"',
      '123',
      'true',
      '{}',
      '{"title":123}',
      '{"title":"\\u0000"}',
      '{"name":"a\\u0000b"}',
      '{"title":"\\ud800"}',
      '{"title":"x","tags":[null,1,{}]}',
      '{"name":"x","scopes":["*","*"]}',
      '{"name":"x","expires_at":"0000-01-01T00:00:00Z"}',
      '{"grace_period_hours":1e308}',
      '{"url":"http://169.254.169.254/latest/meta-data","events":["*"]}',
      '{"feature":"__proto__","quantity":-1}',
      '{"__proto__":{"admin":true}}',
      `{"a":${'['.repeat(2000)}${']'.repeat(2000)}}`,
      `[${'1,'.repeat(5000)}1]`,
      'x'.repeat(2000),
    ]
    // Weighted towards well-formed credentials and JSON, so most requests reach the handlers.
    const valid = `Bearer ${key}`
    const authorizations = [
      ...Array(6).fill(valid),
      `Bearer ${t.masterKey}`,
      'Bearer x',
      'Basic Zm9vOmJhcg==',
      '',
    ] as string[]
    const contentTypes = [
      'application/json',
      'application/json',
      'application/json',
      'application/json; charset=utf-8',
      'application/json; charset=latin1',
      'text/plain',
      'application/x-www-form-urlencoded',
      '',
    ]

    const failures: string[] = []
    const statuses = new Map<number, number>()
    for (let i = 0; i < 400; i++) {
      const route = pick(routes)
      const method = random() < 0.85 ? route.method : pick(['GET', 'POST', 'PATCH', 'PUT', 'DELETE'])
      let url = route.url.replace(/:[a-z_]+/g, () => pick(ids))
      if (random() < 0.1) url += encodeURIComponent(junk(12))
      if (random() < 0.6) {
        const parts = Array.from({ length: 1 + Math.floor(random() * 3) }, () => pick(queryParts))
        url += `?${parts.join('&')}`
      } else if (random() < 0.2) url += `?${junk(20)}`
      const body = random() < 0.15 ? junk(200) : pick(bodies)
      const headers: Record<string, string> = {}
      const authorization = pick(authorizations)
      if (authorization) headers.authorization = authorization
      const contentType = pick(contentTypes)
      if (contentType) headers['content-type'] = contentType
      if (random() < 0.2)
        headers['x-workspace-id'] = pick(['', '1', 'abc', '-1', '0', '99999999999', String(workspaceId)])
      if (random() < 0.3) headers['idempotency-key'] = pick(['', 'k', 'x'.repeat(300), `fuzz-${i % 7}`])
      if (random() < 0.3) headers['x-request-id'] = pick(['ok-1', 'x'.repeat(500), 'bad id', ''])
      const payload = method === 'GET' ? undefined : body
      const res = await t.app.inject({ method: method as 'GET', url, headers, payload })
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
      const seen = `#${i} ${method} ${url} ${JSON.stringify({ ...headers, authorization: undefined })} body=${String(payload).slice(0, 60)} → ${res.statusCode} ${res.body.slice(0, 100)}`
      if (res.statusCode >= 500) failures.push(seen)
      else if (typeof res.headers['x-request-id'] !== 'string') failures.push(`no X-Request-ID: ${seen}`)
      else if (res.statusCode >= 400) {
        const error = res.json() as Record<string, unknown>
        if (typeof error.error !== 'string' || error.request_id !== res.headers['x-request-id'])
          failures.push(`not the error format: ${seen}`)
      }
    }
    // the fuzz must get past the guards into the handlers, or it proves little
    const handled = [200, 201, 204, 404, 409, 422].reduce((n, s) => n + (statuses.get(s) ?? 0), 0)
    expect(handled, JSON.stringify([...statuses])).toBeGreaterThan(100)
    expect(failures).toEqual([])
  })
})
