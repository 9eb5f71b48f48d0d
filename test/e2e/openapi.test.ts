// The OpenAPI document is a contract clients are generated from, so it is held to it: it is a
// valid OpenAPI 3.1 document; every route the app serves is in it and nothing else is; every
// response is described, refers to the shared Error schema when it is an error, and carries
// the headers the server sends; every status the app answered while this suite drove each
// route (happy paths and the error cases) is declared on that operation; and types generated
// from it with openapi-typescript type-check a small client, which then runs against the app.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Validator } from '@seriousme/openapi-schema-validator'
import openapiTS, { astToString } from 'openapi-typescript'
import ts from 'typescript'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../src/testing/harness.ts'

type Header = { $ref?: string }
type Response = { description?: string; headers?: Record<string, Header>; content?: Record<string, unknown> }
type Operation = { operationId: string; responses: Record<string, Response>; security?: unknown[] }
type Doc = {
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, unknown>; headers: Record<string, unknown> }
}

/**
 * Routes that are not part of the API: the reference itself, its page, the dashboard's files,
 * the metrics, the pixel's script, the OAuth server's own endpoints (described by its RFC 8414
 * metadata), and the MCP endpoint (JSON-RPC, whose tools are the API's own operations). The router prints wildcard
 * routes (the `/oauth2/*` mount, the MCP resources route) as a bare `/*`: see below.
 */
const HIDDEN =
  /^\/(?:$|docs|dashboard|metrics$|mcp$|api\/openapi\.json$|pixel(?:\.js$|\/)|oauth2\/|\.well-known\/)/

/** `/a/:id|:other/b` and `/a/{id}/b` alike become `/a/{}/b`; a wildcard `/a/*` and `/a/{*}` become `/a/*`. */
const shape = (path: string) =>
  path.replace(/:[A-Za-z_]+(?:\|:[A-Za-z_]+)*|\{[A-Za-z_]+\}/g, '{}').replace(/\{\*\}$/, '*')

/** Every (method, path) the app serves, read from its route tree (`printRoutes`). */
function servedRoutes(tree: string): string[] {
  const out: string[] = []
  const stack: string[] = []
  for (const line of tree.split('\n')) {
    const match = /^([│ ]*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line)
    if (!match) continue
    const depth = match[1]!.length / 4
    const parent = depth === 0 ? '' : stack[depth - 1]!
    // A child continues its parent's text, not always at a `/`: `/seo/report` then `s`.
    const part = match[2]!
    const path = parent.endsWith('/') && part.startsWith('/') ? parent + part.slice(1) : parent + part
    stack[depth] = path
    stack.length = depth + 1
    for (const method of (match[3] ?? '').split(', ').filter(Boolean)) {
      if (method !== 'HEAD' && !HIDDEN.test(path)) out.push(`${method} ${shape(path)}`)
    }
  }
  return out.sort()
}

let t: TestApp
let doc: Doc
const observed = new Set<string>()
/** `METHOD path status` of the responses that were replays of a stored one. */
const replays = new Set<string>()

beforeAll(async () => {
  t = await buildTestApp({
    env: { WEBHOOK_ALLOW_INSECURE_URLS: '1' },
    onResponse: ({ method, route, status }) => {
      if (route && !HIDDEN.test(route)) observed.add(`${method} ${shape(route)} ${status}`)
    },
  })
  doc = (await t.app.inject('/api/openapi.json')).json()
})
afterAll(() => t.close())

function operations(): Array<[string, Operation]> {
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(
      ([method, op]) => [`${method.toUpperCase()} ${shape(path)}`, op] as [string, Operation],
    ),
  )
}

describe('the document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(structuredClone(doc) as never)
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 1)).toEqual([])
    expect(result.valid).toBe(true)
    // The validator does refuse a broken one (a response without its description).
    const broken = structuredClone(doc)
    delete broken.paths['/api/v1/posts']!.get!.responses['200']!.description
    expect((await new Validator().validate(broken as never)).valid).toBe(false)
  })

  it('has every route the app serves, and only those', () => {
    const documented = operations()
      .map(([name]) => name)
      .sort()
    // find-my-way prints a wildcard route as a bare `*`, without its prefix: each one stands for
    // a documented wildcard path, which the app must then serve.
    const wildcards = documented.filter((name) => name.endsWith('/*'))
    for (const name of wildcards) {
      const [method, url] = name.split(' ') as [string, string]
      expect(t.app.hasRoute({ method: method as 'GET', url }), name).toBe(true)
    }
    const bare = servedRoutes(t.app.printRoutes({ commonPrefix: false }))
    const served = [
      ...bare.filter((name) => !name.endsWith(' /*')),
      ...wildcards.filter((name) => bare.includes(`${name.split(' ')[0]} /*`)),
    ].sort()
    expect(served.length).toBeGreaterThan(30)
    expect(documented).toEqual(served)
  })

  it('names the shared schemas and refers to them', () => {
    const names = Object.keys(doc.components.schemas)
    for (const name of ['Error', 'PageMeta', 'PageLinks', 'Post', 'ApiKey', 'Workspace', 'WebhookEndpoint'])
      expect(names).toContain(name)
    expect(names.filter((n) => n.startsWith('def-'))).toEqual([])
    const text = JSON.stringify(doc.paths)
    expect(text).toContain('"#/components/schemas/Post"')
    expect(text).toContain('"#/components/schemas/PageMeta"')
    // The error body is never repeated inline.
    expect(text).not.toContain('Stable machine-readable code')
  })

  it('describes every response, with the shared headers, and the errors with their codes', () => {
    for (const [name, op] of operations()) {
      const authenticated = op.security === undefined
      const mutating = /^(POST|PUT|PATCH|DELETE) /.test(name)
      const statuses = Object.keys(op.responses)
      for (const [status, response] of Object.entries(op.responses)) {
        const where = `${name} ${status}`
        expect(response.description, where).toBeTruthy()
        expect(response.description, where).not.toBe('Default Response')
        expect(response.headers?.['X-Request-ID'], where).toEqual({
          $ref: '#/components/headers/X-Request-ID',
        })
        if (Number(status) >= 400) {
          const media = response.content?.['application/json'] as {
            schema: unknown
            examples: Record<string, { value: { error: string } }>
          }
          expect(media.schema, where).toEqual({ $ref: '#/components/schemas/Error' })
          // One example per code the status can carry, each named by its code.
          const codes = [...response.description!.matchAll(/`([a-z_]+)`: /g)].map((m) => m[1])
          expect(codes.length, where).toBeGreaterThan(0)
          expect(Object.keys(media.examples), where).toEqual(codes)
          for (const [code, example] of Object.entries(media.examples)) expect(example.value.error).toBe(code)
        } else if (status !== '204') {
          expect(response.content?.['application/json'], where).toBeDefined()
        }
        if (authenticated) expect(response.headers, where).toHaveProperty('X-RateLimit-Remaining')
        if (status === '201') expect(response.headers, where).toHaveProperty('Location')
        if (status === '429' || status === '503')
          expect(response.headers, where).toHaveProperty('Retry-After')
        if (authenticated && mutating && Number(status) < 400)
          expect(response.headers, where).toHaveProperty('Idempotent-Replayed')
        // The guards' and the body parser's refusals are never stored, so never replayed.
        if (['401', '413', '415', '429', '500', '503'].includes(status))
          expect(response.headers, where).not.toHaveProperty('Idempotent-Replayed')
      }
      if (authenticated) {
        for (const status of ['401', '403', '422', '429', '500', '503'])
          expect(statuses, name).toContain(status)
        if (mutating)
          for (const status of ['400', '409', '413', '415']) expect(statuses, name).toContain(status)
        expect(op.responses['401']!.headers, name).toHaveProperty('WWW-Authenticate')
      }
    }
  })

  it('gives examples for the request bodies and the resources', () => {
    for (const [name, op] of operations()) {
      const body = (op as { requestBody?: { content: Record<string, { example?: unknown }> } }).requestBody
      if (body) expect(body.content['application/json']?.example, name).toBeDefined()
    }
    for (const name of ['Error', 'Post', 'ApiKey', 'Workspace', 'WebhookEndpoint', 'WebhookDelivery']) {
      expect((doc.components.schemas[name] as { examples?: unknown[] }).examples, name).toHaveLength(1)
    }
  })
})

describe('what the app answers is declared', () => {
  const JSON_TYPE = { 'content-type': 'application/json' }

  /** Drives each route through its happy path and its error cases; `onResponse` records them. */
  async function drive(): Promise<void> {
    const { call, masterKey } = t
    const ws = await t.workspace()
    const key = (await t.key(ws.id, { scopes: ['*'] })).key
    const readOnly = (await t.key(ws.id, { scopes: ['read'] })).key
    const as = (k: string, method: string, url: string, payload?: unknown, headers = {}) =>
      call(k, { method: method as 'GET', url, payload: payload as string, headers })

    // Happy paths.
    const post = (await as(key, 'POST', '/api/v1/posts', { title: 'Hello' })).json().data
    await as(key, 'GET', '/api/v1/posts')
    await as(key, 'GET', `/api/v1/posts/${post.id}`)
    await as(key, 'PATCH', `/api/v1/posts/${post.id}`, { title: 'Hello again' })
    const other = (await as(key, 'POST', '/api/v1/api-keys', { name: 'other' })).json().data
    await as(key, 'GET', '/api/v1/api-keys')
    await as(key, 'GET', `/api/v1/api-keys/${other.id}`)
    const rotated = (await as(key, 'POST', `/api/v1/api-keys/${other.id}/rotate`, {})).json().data
    await as(key, 'DELETE', `/api/v1/api-keys/${rotated.id}`)
    await as(key, 'DELETE', `/api/v1/api-keys/${rotated.id}`) // 409: revoked already
    await as(key, 'GET', '/api/v1/workspaces')
    await as(key, 'GET', `/api/v1/workspaces/${ws.id}`)
    await as(key, 'PATCH', `/api/v1/workspaces/${ws.id}`, { settings: { locale: 'en_GB' } })
    const spare = (await as(masterKey, 'POST', '/api/v1/workspaces', { name: 'Spare' })).json().data
    await as(masterKey, 'POST', '/api/v1/workspaces', { name: 'Spare', slug: spare.slug }) // 409
    await as(masterKey, 'DELETE', `/api/v1/workspaces/${spare.id}`)
    await as(key, 'GET', '/api/v1/me')
    await as(key, 'GET', '/api/v1/entitlements/check?feature=posts')
    await as(key, 'POST', '/api/v1/entitlements/usage', { feature: 'api_calls' })
    await as(key, 'GET', '/api/v1/entitlements/summary')
    const hook = (
      await as(key, 'POST', '/api/v1/webhooks', { url: 'http://127.0.0.1:9/hook', events: ['post.*'] })
    ).json().data
    await as(key, 'GET', '/api/v1/webhooks')
    await as(key, 'GET', `/api/v1/webhooks/${hook.id}`)
    await as(key, 'PATCH', `/api/v1/webhooks/${hook.id}`, { description: 'CI' })
    await as(key, 'POST', `/api/v1/webhooks/${hook.id}/rotate-secret`, {})
    const sent = (await as(key, 'POST', `/api/v1/webhooks/${hook.id}/test`)).json()
    await as(key, 'GET', `/api/v1/webhooks/${hook.id}/deliveries`)
    await as(key, 'GET', `/api/v1/webhooks/${hook.id}/deliveries/${sent.delivery_id}`)
    await as(key, 'POST', `/api/v1/webhooks/${hook.id}/deliveries/${sent.delivery_id}/retry`)
    await as(key, 'DELETE', `/api/v1/webhooks/${hook.id}`)
    await as(key, 'DELETE', `/api/v1/posts/${post.id}`)
    await t.app.inject('/health')
    await t.app.inject('/ready')

    // Error cases, on every authenticated route.
    const big = JSON.stringify({ title: 'x'.repeat(2 * 1024 * 1024) })
    for (const route of t.app.authenticatedRoutes) {
      const url = route.url.replace(/:[a-z_]+/g, '999999')
      const body = route.method === 'GET' ? undefined : {}
      await as('', route.method, url, body) // 401
      await as(readOnly, route.method, url, body) // 403 on writes
      await as(masterKey, route.method, url, body) // 400 workspace_required
      await as(masterKey, route.method, url, body, { 'x-workspace-id': '999999' }) // 404
      await as(key, route.method, url, body) // 404 or 422
      await as(key, route.method, `${url}${url.includes('?') ? '&' : '?'}nope=1`, body) // 422
      if (route.method !== 'GET') {
        await as(key, route.method, url, '{', JSON_TYPE) // 400 invalid_json
        await as(key, route.method, url, 'x', { 'content-type': 'text/plain' }) // 415
        await as(key, route.method, url, big, JSON_TYPE) // 413
        const idem = { 'idempotency-key': `k-${route.method}-${route.url}` }
        await as(key, route.method, url, { a: 1 }, idem)
        const replay = await as(key, route.method, url, { a: 1 }, idem)
        if (replay.headers['idempotent-replayed'] === 'true')
          replays.add(`${route.method} ${shape(route.url)} ${replay.statusCode}`)
        await as(key, route.method, url, { a: 2 }, idem) // 422 idempotency_key_reused
      }
    }

    // 429: a free-tier key spends its 60 requests a minute.
    const free = await t.workspace({ tier: 'free' })
    const freeKey = (await t.key(free.id)).key
    for (let i = 0; i < 62; i++) await as(freeKey, 'GET', '/api/v1/me')
  }

  it('declares every status the app answered on each route', async () => {
    await drive()
    const declared = new Set(
      operations().flatMap(([name, op]) => Object.keys(op.responses).map((status) => `${name} ${status}`)),
    )
    const missing = [...observed].filter((seen) => !declared.has(seen)).sort()
    expect(missing).toEqual([])
    // A replayed response is declared with the header that says so.
    expect(replays.size).toBeGreaterThan(10)
    for (const replay of replays) {
      const [method, path, status] = replay.split(' ') as [string, string, string]
      const op = operations().find(([name]) => name === `${method} ${path}`)![1]
      expect(op.responses[status]?.headers, replay).toHaveProperty('Idempotent-Replayed')
    }
    // The drive reached the statuses that matter, so the check above means something.
    const statuses = new Set([...observed].map((seen) => seen.split(' ')[2]))
    for (const status of ['200', '201', '204', '400', '401', '403', '404', '409', '413', '415', '422', '429'])
      expect(statuses, status).toContain(status)
  })
})

describe('a generated client', () => {
  const CLIENT = `
import type { paths } from './api.ts'

type Json<T> = T extends { content: { 'application/json': infer B } } ? B : never
type Body<P extends keyof paths, M extends keyof paths[P]> = Json<(paths[P][M] & { requestBody: unknown })['requestBody']>
type Reply<P extends keyof paths, M extends keyof paths[P], S extends number> = Json<
  (paths[P][M] & { responses: Record<S, unknown> })['responses'][S]
>

async function send<T>(base: string, token: string, method: string, path: string, body: unknown, workspace?: number): Promise<T> {
  const headers: Record<string, string> = { authorization: 'Bearer ' + token, 'content-type': 'application/json' }
  if (workspace !== undefined) headers['x-workspace-id'] = String(workspace)
  const res = await fetch(base + path, { method, headers, body: JSON.stringify(body) })
  if (!res.ok) throw new Error(method + ' ' + path + ': ' + res.status + ' ' + (await res.text()))
  return (await res.json()) as T
}

export async function run(base: string, masterKey: string) {
  const workspaceBody: Body<'/api/v1/workspaces', 'post'> = { name: 'Generated Client Co' }
  const workspace = await send<Reply<'/api/v1/workspaces', 'post', 201>>(base, masterKey, 'POST', '/api/v1/workspaces', workspaceBody)

  const keyBody: Body<'/api/v1/api-keys', 'post'> = { name: 'client', scopes: ['posts:write'] }
  const key = await send<Reply<'/api/v1/api-keys', 'post', 201>>(base, masterKey, 'POST', '/api/v1/api-keys', keyBody, workspace.data.id)

  const postBody: Body<'/api/v1/posts', 'post'> = { title: 'From a generated client', status: 'draft', tags: ['sdk'] }
  // @ts-expect-error: the generated types know a title is a string
  const wrong: Body<'/api/v1/posts', 'post'> = { title: 5 }
  void wrong
  const post = await send<Reply<'/api/v1/posts', 'post', 201>>(base, key.data.key, 'POST', '/api/v1/posts', postBody)

  const list = await send<Reply<'/api/v1/posts', 'get', 200>>(base, key.data.key, 'GET', '/api/v1/posts', undefined)
  const error: Reply<'/api/v1/posts', 'post', 422> = { error: 'validation_failed', message: 'x', request_id: 'req_1' }
  return { workspace: workspace.data.slug, prefix: key.data.prefix, post: post.data.title, total: list.meta.total, code: error.error }
}
`

  it('compiles types generated by openapi-typescript against a small program, which then runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'core-api-client-'))
    try {
      const types = astToString(await openapiTS(structuredClone(doc) as never))
      writeFileSync(join(dir, 'api.ts'), types)
      writeFileSync(join(dir, 'client.ts'), CLIENT)
      const program = ts.createProgram([join(dir, 'client.ts')], {
        strict: true,
        noEmit: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        allowImportingTsExtensions: true,
        lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
        types: [],
        skipLibCheck: true,
      })
      const diagnostics = ts
        .getPreEmitDiagnostics(program)
        .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))
      expect(diagnostics).toEqual([])

      const address = await t.app.listen({ port: 0, host: '127.0.0.1' })
      const client = await import(pathToFileURL(join(dir, 'client.ts')).href)
      const result = await client.run(address, t.masterKey)
      expect(result).toMatchObject({
        post: 'From a generated client',
        prefix: expect.stringMatching(/^sk_live_/),
      })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
