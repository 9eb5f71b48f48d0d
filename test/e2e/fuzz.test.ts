// Hostile input, driven by the API's own description: every operation of /api/openapi.json
// gets requests built from its parameter and body schemas, then broken — wrong types, missing
// and unknown fields, prototype keys, huge, NUL, emoji and lone-surrogate strings, deep
// nesting, invalid JSON, wrong content types and encodings, oversized bodies, bad path
// parameters, odd methods and garbage headers — sent with real credentials (a key with every
// scope and the master key) so most of them reach the handlers. Not one may answer 5xx, every
// error is in the contract's format with its request id, and well-formed requests still work
// afterwards. Requests Node's HTTP parser refuses are checked over raw TCP against a listening
// server. The PRNG is seeded: FUZZ_SEED=<printed seed> replays a run.
import { createServer, type Server } from 'node:http'
import { connect } from 'node:net'
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../src/testing/harness.ts'

const REQUESTS = 10_000
const TIME_LIMIT_MS = 150_000
const IN_FLIGHT = 4

type Schema = Record<string, unknown> & {
  type?: string | string[]
  properties?: Record<string, Schema>
  required?: string[]
  items?: Schema
  additionalProperties?: boolean | Schema
  enum?: unknown[]
  anyOf?: Schema[]
  oneOf?: Schema[]
  $ref?: string
}
type Parameter = { in: 'path' | 'query' | 'header'; name: string; schema: Schema; required?: boolean }
type Operation = { method: string; path: string; parameters: Parameter[]; body: Schema | null }
type Doc = {
  paths: Record<
    string,
    Record<
      string,
      { parameters?: Parameter[]; requestBody?: { content?: Record<string, { schema: Schema }> } }
    >
  >
  components?: { schemas?: Record<string, Schema> }
}

/** mulberry32: small, fast and seeded, so a failure replays exactly. */
function prng(seed: number) {
  let state = seed >>> 0
  const random = () => {
    state = (state + 0x6d2b79f5) | 0
    let x = Math.imul(state ^ (state >>> 15), 1 | state)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296
  }
  const int = (max: number) => Math.floor(random() * max)
  const pick = <T>(list: readonly T[]): T => list[int(list.length)] as T
  const chance = (p: number) => random() < p
  return { random, int, pick, chance }
}
type Random = ReturnType<typeof prng>

/** Sets an own, enumerable property even for names like `__proto__`. */
function put(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

const PROTOTYPE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  '__defineGetter__',
  'toJSON',
]
const WEIRD_TEXT = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '\ud83d',
  '💩',
  '👩‍👩‍👧‍👦',
  '\u202e\u202d',
  '\ufeff',
  'Zalgo: z̷̢̛̩a̵͔͠l̸̰̓g̷̱̈́o̵̳͠',
  '\u0085\u2028\u2029',
  '<script>alert(1)</script>',
  "'; drop table posts; --",
  '%00%ff%',
  '../../etc/passwd',
  '$' + '{jndi:ldap://x}',
  '{{7*7}}',
  ' ',
  '',
  '\t\r\n',
  'ｆｕｌｌｗｉｄｔｈ',
  'İstanbul ß ǅ',
]
const WRONG_VALUES: unknown[] = [
  0,
  -1,
  1.5,
  1e308,
  -1e308,
  2 ** 53 + 1,
  true,
  false,
  null,
  '',
  'x',
  '123',
  [],
  [null],
  {},
  { a: 1 },
]
const BAD_IDS = [
  '0',
  '-1',
  'abc',
  '1e3',
  '1.5',
  '0x10',
  '2147483648',
  '99999999999999999999',
  '%00',
  '%2F',
  '%2e%2e',
  '..',
  '%F0%9F%92%A9',
  '%ED%A0%80',
  '%ZZ',
  '%',
  '%20',
  '1%20',
  '1;drop',
  '__proto__',
  'constructor',
  'toString',
  '1'.repeat(101),
  '9'.repeat(3000),
  encodeURIComponent('é'),
]
const QUERY_JUNK = [
  'constructor=x',
  'toString=x',
  'hasOwnProperty=x',
  '__proto__=x',
  '__proto__[admin]=1',
  'a[b][c]=d',
  'x[]=1',
  'page=1&page=2',
  'per_page=1e2',
  'per_page=-0',
  'page=99999999999999999999',
  'sort=-',
  'sort=,,,',
  'sort=__proto__',
  'fields=constructor',
  'include=__proto__,constructor',
  'search=%00',
  'search=%ED%A0%80',
  'search=%F0%9F%92%A9',
  'search=%E0%A4%A',
  `search=${'s'.repeat(5000)}`,
  'created_after=2026-02-31',
  'created_after=9999-99-99T99:99',
  'updated_before=%00',
  '&&&',
  '=x',
  '==',
  'x',
  '%',
  '%zz=1',
  'status=',
  'feature=__proto__',
  'quantity=1e999',
  `${'k'.repeat(2000)}=v`,
]
const METHODS = [
  'GET',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
  'HEAD',
  'QUERY',
  'PROPFIND',
  'SEARCH',
  'TRACE',
  'LOCK',
  'MKCOL',
  'COPY',
  'REPORT',
]
const CONTENT_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'application/json; charset="',
  'application/json;;',
  'application/json, text/plain',
  'APPLICATION/JSON',
  'application/jsonx',
  'application/vnd.api+json',
  'application/json; boundary=x; charset=utf-8',
  '*/*',
  '',
  ';',
  'json',
]
const GARBAGE_HEADERS: Record<string, string[]> = {
  authorization: [
    '',
    'Bearer',
    'Bearer ',
    'Basic Zm9vOmJhcg==',
    'Bearer x',
    `Bearer sk_live_${'A'.repeat(5000)}`,
    'Bearer sk_test_%00',
    'Bearer ../../../../',
    'Bearer \u00e9\u00e8',
    'Digest username="x"',
    'Bearer a, Bearer b',
  ],
  'x-workspace-id': [
    '',
    ' ',
    'abc',
    '-1',
    '0',
    '1.5',
    '1e3',
    '99999999999',
    '2147483648',
    '0x1',
    '１',
    '__proto__',
    'x'.repeat(1000),
  ],
  'idempotency-key': [
    '',
    ' ',
    'x'.repeat(300),
    'x'.repeat(5000),
    '\u00e9',
    'k\tk',
    '__proto__',
    'fuzz-reused',
  ],
  'x-request-id': ['', 'x'.repeat(129), 'bad id', '<script>', 'req_\u00e9'],
  'content-encoding': ['gzip', 'deflate', 'br', 'gzip, gzip', 'identity', 'x-unknown'],
  accept: ['application/xml', '*/*;q=0', 'text/html', ''],
  'content-length': ['0', '1', '-1', 'abc', '99999999'],
  'transfer-encoding': ['chunked', 'gzip'],
}

/** The operations of the document, with $refs resolved. */
function operationsOf(doc: Doc): Operation[] {
  const resolve = (schema: Schema): Schema => {
    if (typeof schema.$ref === 'string') {
      const name = schema.$ref.split('/').pop() as string
      return resolve(doc.components?.schemas?.[name] ?? {})
    }
    return schema
  }
  const out: Operation[] = []
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (method === 'parameters') continue
      const body = op.requestBody?.content?.['application/json']?.schema
      out.push({
        method: method.toUpperCase(),
        path,
        parameters: (op.parameters ?? []).map((p) => ({ ...p, schema: resolve(p.schema ?? {}) })),
        body: body ? resolve(body) : null,
      })
    }
  }
  return out
}

type Fixtures = { receiver: string; ids: Record<string, string[]>; counter: { n: number } }

/** A value the schema accepts (field names drive the few values a schema cannot describe). */
function validValue(schema: Schema, r: Random, f: Fixtures, name = ''): unknown {
  if (schema.enum) return r.pick(schema.enum)
  if (schema.const !== undefined) return schema.const
  const branches = schema.anyOf ?? schema.oneOf
  if (branches) return validValue(r.pick(branches), r, f, name)
  const type = Array.isArray(schema.type) ? r.pick(schema.type.filter((t) => t !== 'null')) : schema.type
  const n = ++f.counter.n
  switch (name) {
    case 'url':
      return `${f.receiver}/hook/${n}`
    case 'events':
      return [r.pick(['post.created', 'post.*', '*', 'post.updated'])]
    case 'secret':
      return `whsec_${Buffer.alloc(32, n % 256).toString('base64')}`
    case 'scopes':
      return [r.pick(['read', 'write', 'posts:read', 'posts:*', '*'])]
    case 'expires_at':
      return new Date(Date.now() + 86_400_000 * (1 + r.int(300))).toISOString()
    case 'slug':
      return `fuzz-${n}`
    case 'feature':
      return r.pick(['api_calls', 'posts', 'storage', 'webhooks'])
    case 'owner_email':
    case 'email':
      return `fuzz${n}@example.com`
  }
  switch (type) {
    case 'string': {
      const min = Number(schema.minLength ?? 1)
      const max = Number(schema.maxLength ?? 40)
      if (schema.format === 'date-time') return new Date(Date.now() + 86_400_000).toISOString()
      const text = `fuzz ${n} `.padEnd(min, 'x')
      return text.slice(0, Math.max(min, Math.min(max, text.length)))
    }
    case 'integer':
    case 'number': {
      const min = Number(schema.minimum ?? 0)
      const max = Math.min(Number(schema.maximum ?? min + 100), min + 100)
      return min + r.int(max - min + 1)
    }
    case 'boolean':
      return r.chance(0.5)
    case 'array': {
      const items = 1 + r.int(2)
      const list = Array.from({ length: Math.max(Number(schema.minItems ?? 0), items) }, () =>
        validValue(schema.items ?? {}, r, f, name),
      )
      return schema.uniqueItems
        ? [...new Set(list.map((v) => JSON.stringify(v)))].map((v) => JSON.parse(v))
        : list
    }
    case 'object': {
      const out: Record<string, unknown> = {}
      const required = new Set(schema.required ?? [])
      for (const [key, property] of Object.entries(schema.properties ?? {})) {
        if (required.has(key) || r.chance(0.4)) put(out, key, validValue(property, r, f, key))
      }
      if (schema.additionalProperties && Object.keys(schema.properties ?? {}).length === 0 && r.chance(0.7))
        put(out, r.pick(['timezone', 'locale', 'source']), r.pick(['UTC', 'en', 1, true, { nested: [1, 2] }]))
      if (Number(schema.minProperties ?? 0) > Object.keys(out).length) {
        const [key, property] = r.pick(Object.entries(schema.properties ?? { name: { type: 'string' } }))
        put(out, key, validValue(property, r, f, key))
      }
      return out
    }
    case 'null':
      return null
    default:
      return r.pick(['x', 1, true, null, {}])
  }
}

const nested = (depth: number, leaf: string, open: string, close: string) =>
  `${open.repeat(depth)}${leaf}${close.repeat(depth)}`

/** One mutation of a body value; returns a new value or a raw text body. */
function mutateBody(
  body: Record<string, unknown>,
  schema: Schema,
  r: Random,
): Record<string, unknown> | string {
  const keys = Object.keys(schema.properties ?? {})
  const field = keys.length > 0 ? r.pick(keys) : r.pick(['name', 'x'])
  const copy: Record<string, unknown> = {}
  for (const key of Object.keys(body)) put(copy, key, body[key])
  switch (r.int(11)) {
    case 0: // a required field missing
      delete copy[r.pick(schema.required?.length ? schema.required : [field])]
      return copy
    case 1: // a wrong type
      put(copy, field, r.pick(WRONG_VALUES))
      return copy
    case 2: // an unknown or prototype-named field
      put(
        copy,
        r.pick([...PROTOTYPE_KEYS, 'x', '', ' ', 'a.b', 'a/b', '\u0000', '💩', 'id', 'created_at']),
        r.pick(WRONG_VALUES),
      )
      return copy
    case 3: // a huge string
      put(copy, field, r.pick(['x', '💩', 'é', '\u0000']).repeat(r.pick([256, 10_000, 200_000])))
      return copy
    case 4: // strange text
      put(copy, field, `${r.pick(WEIRD_TEXT)}${r.chance(0.5) ? r.pick(WEIRD_TEXT) : ''}`)
      return copy
    case 5: // strange text in an array or an object key
      put(
        copy,
        field,
        r.chance(0.5)
          ? [r.pick(WEIRD_TEXT), r.pick(WEIRD_TEXT)]
          : { [r.pick(WEIRD_TEXT)]: r.pick(WEIRD_TEXT) },
      )
      return copy
    case 6: {
      // deep nesting, as text (so no stack of ours builds it)
      const depth = r.pick([65, 1_000, 10_000, 100_000])
      const value = r.chance(0.5) ? nested(depth, '1', '{"a":', '}') : nested(depth, '1', '[', ']')
      const rest = JSON.stringify(copy).slice(1, -1)
      return `{${rest}${rest ? ',' : ''}${JSON.stringify(field)}:${value}}`
    }
    case 7: {
      // prototype keys nested inside a free-form value
      const inner: Record<string, unknown> = {}
      put(inner, r.pick(PROTOTYPE_KEYS), r.chance(0.5) ? { admin: true } : 'x')
      put(copy, field, inner)
      return copy
    }
    case 8: // numbers at the edges
      put(
        copy,
        field,
        r.pick([-0, 2 ** 31, 2 ** 31 - 1, -(2 ** 31), 2 ** 63, Number.MAX_SAFE_INTEGER + 2, 1e-320, 0.1]),
      )
      return copy
    case 9: // numbers JSON can spell but JS cannot hold
      return JSON.stringify(copy).replace(
        /^\{/,
        `{${JSON.stringify(field)}:${r.pick(['1e999', '-1e999', '1' + '0'.repeat(400), '-0.0e-0'])},`,
      )
    default: // a duplicate key
      return JSON.stringify(copy).replace(/^\{/, `{${JSON.stringify(field)}:"first",`)
  }
}

/** A body that is not a JSON object at all. */
function brokenBody(r: Random, bodyLimit: number): string | Buffer {
  switch (r.int(14)) {
    case 0:
      return '{'
    case 1:
      return '{"a":1}}'
    case 2:
      return "{'a':1}"
    case 3:
      return r.pick(['[]', 'null', '"x"', '123', 'true', '-0', '1e999'])
    case 4:
      return '\ufeff{}'
    case 5:
      return `[${'1,'.repeat(50_000)}1]`
    case 6:
      return `{"x":"${'y'.repeat(bodyLimit)}"}` // just over the limit
    case 7:
      return Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad, 0xbe, 0xef]) // a gzip header and junk
    case 8:
      return Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00]) // UTF-16 with a BOM
    case 9:
      return Buffer.from('{"name":"\xed\xa0\x80\xc3\x28"}', 'latin1') // invalid UTF-8
    case 10:
      return nested(r.pick([1_000, 100_000]), '', '[', ']')
    case 11:
      return '{"a":1,}'
    case 12:
      return 'x'.repeat(r.pick([1, 1000, 100_000]))
    default:
      return ''
  }
}

type Sent = { method: string; url: string; headers: Record<string, string>; payload?: string | Buffer }

function buildRequest(
  op: Operation,
  r: Random,
  f: Fixtures,
  creds: { key: string; master: string; workspace: number },
  i: number,
  bodyLimit: number,
): Sent {
  // the method: mostly the operation's own
  const method = r.chance(0.9) ? op.method : r.pick(METHODS)

  // the path: ids of resources made for the fuzz (never the fuzzing key or workspace), or broken ones
  const prefix = op.path.split('/').slice(0, 4).join('/')
  let url = op.path.replace(/\{([a-z_]+)\}/g, (_, name: string) => {
    const pool = f.ids[`${prefix}:${name}`] ?? f.ids[prefix] ?? ['1']
    return r.chance(0.7) ? r.pick(pool) : r.pick(BAD_IDS)
  })
  if (r.chance(0.03)) url += r.pick(['/', '//', '/x', '%2F', ';x', '/..', '/%00', '#frag'])

  // the query: valid values from the schema, plus junk
  const parts: string[] = []
  for (const p of op.parameters.filter((p) => p.in === 'query')) {
    if (!r.chance(0.25)) continue
    const value = r.chance(0.8) ? validValue(p.schema, r, f, p.name) : r.pick(WRONG_VALUES)
    parts.push(`${p.name}=${encodeURIComponent(typeof value === 'string' ? value : JSON.stringify(value))}`)
  }
  if (r.chance(0.3)) parts.push(r.pick(QUERY_JUNK))
  if (parts.length > 0) url += `?${parts.join('&')}`

  // credentials: the all-scopes key, the master key in the fuzz workspace, or garbage
  const headers: Record<string, string> = {}
  const who = r.random()
  if (who < 0.5) headers.authorization = `Bearer ${creds.key}`
  else if (who < 0.85) {
    headers.authorization = `Bearer ${creds.master}`
    headers['x-workspace-id'] = String(creds.workspace)
  } else headers.authorization = r.pick(GARBAGE_HEADERS.authorization!)
  for (const [name, values] of Object.entries(GARBAGE_HEADERS)) {
    if (name === 'authorization' || name === 'content-length' || name === 'transfer-encoding') continue
    if (r.chance(name === 'idempotency-key' ? 0.1 : 0.04)) headers[name] = r.pick(values)
  }
  if (r.chance(0.1)) headers['idempotency-key'] = r.chance(0.5) ? `fuzz-${i}` : `fuzz-${i % 5}`

  // the body
  let payload: string | Buffer | undefined
  const sendsBody = op.body !== null || r.chance(0.1)
  if (sendsBody && method !== 'GET' && method !== 'HEAD') {
    const schema = op.body ?? { type: 'object', properties: {} }
    const roll = r.random()
    if (roll < 0.25) payload = JSON.stringify(validValue(schema, r, f))
    else if (roll < 0.85) {
      const start = validValue(schema, r, f)
      let value: Record<string, unknown> | string =
        start !== null && typeof start === 'object' && !Array.isArray(start)
          ? (start as Record<string, unknown>)
          : {}
      for (let m = 1 + r.int(2); m > 0 && typeof value !== 'string'; m--) value = mutateBody(value, schema, r)
      payload = typeof value === 'string' ? value : JSON.stringify(value)
    } else payload = brokenBody(r, bodyLimit)
    headers['content-type'] = r.chance(0.85) ? 'application/json' : r.pick(CONTENT_TYPES)
    if (headers['content-type'] === '') delete headers['content-type']
    if (r.chance(0.02)) headers['content-length'] = r.pick(GARBAGE_HEADERS['content-length']!)
  }
  return { method, url, headers, payload }
}

let t: TestApp
let receiver: Server
let key: string
let workspace: number
const fixtures: Fixtures = { receiver: '', ids: {}, counter: { n: 0 } }

beforeAll(async () => {
  receiver = createServer((_req, res) => res.end('ok'))
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  fixtures.receiver = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`
  t = await buildTestApp({ env: { WEBHOOK_ALLOW_INSECURE_URLS: '1', WEBHOOK_TIMEOUT_SECONDS: '2' } })
  workspace = (await t.workspace()).id
  key = (await t.key(workspace, { scopes: ['*'] })).key

  // Resources the fuzz may read, change and delete; the fuzzing credentials stay out of reach.
  const create = async (url: string, payload: Record<string, unknown>) => {
    const res = await t.call(key, { method: 'POST', url, payload })
    if (res.statusCode !== 201) throw new Error(`${url}: ${res.statusCode} ${res.body}`)
    return String(res.json().data.id)
  }
  const victims = await Promise.all([t.workspace(), t.workspace(), t.workspace()])
  fixtures.ids['/api/v1/workspaces'] = victims.map((w) => String(w.id))
  fixtures.ids['/api/v1/api-keys'] = await Promise.all(
    [1, 2, 3, 4].map(async () => String((await t.key(workspace)).id)),
  )
  fixtures.ids['/api/v1/posts'] = await Promise.all(
    [1, 2, 3, 4, 5].map((n) => create('/api/v1/posts', { title: `victim ${n}` })),
  )
  const hooks = await Promise.all(
    [1, 2].map((n) => create('/api/v1/webhooks', { url: `${fixtures.receiver}/victim/${n}`, events: ['*'] })),
  )
  fixtures.ids['/api/v1/webhooks'] = hooks
  fixtures.ids['/api/v1/webhooks:webhook_id'] = hooks
  const test = await t.call(key, { method: 'POST', url: `/api/v1/webhooks/${hooks[0]}/test` })
  expect(test.statusCode, test.body).toBe(200)
  const deliveries = await t.call(key, { method: 'GET', url: `/api/v1/webhooks/${hooks[0]}/deliveries` })
  fixtures.ids['/api/v1/webhooks:delivery_id'] = deliveries
    .json()
    .data.map((d: { id: number }) => String(d.id))
}, 60_000)

afterAll(async () => {
  await t?.close()
  await new Promise((resolve) => receiver?.close(resolve))
})

/** What is wrong with a response, or null: no 5xx, a request id, errors in the format. */
function problemOf(method: string, res: LightMyRequestResponse): string | null {
  if (res.statusCode >= 500) return `status ${res.statusCode}`
  const id = res.headers['x-request-id']
  if (typeof id !== 'string' || id === '') return 'no X-Request-ID'
  if (res.statusCode < 400 || method === 'HEAD') return null
  let body: Record<string, unknown>
  try {
    body = res.json()
  } catch {
    return 'error body is not JSON'
  }
  if (typeof body.error !== 'string' || typeof body.message !== 'string') return 'not the error format'
  // A replay repeats the stored body byte for byte, the first request's id included.
  if (body.request_id !== id && res.headers['idempotent-replayed'] !== 'true')
    return 'request_id differs from X-Request-ID'
  return null
}

describe('schema-driven fuzz', () => {
  it(
    `answers ${REQUESTS} malformed requests to every documented operation without a 5xx`,
    async () => {
      const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32))
      const r = prng(seed)
      const doc = (await t.app.inject('/api/openapi.json')).json() as Doc
      const operations = operationsOf(doc)
      expect(operations.length).toBeGreaterThan(25)
      const bodyLimit = 1_048_576
      const creds = { key, master: t.masterKey, workspace }

      const statuses = new Map<number, number>()
      const reached = new Map<string, number>()
      const failures: string[] = []
      const started = Date.now()
      let sent = 0
      const send = async (i: number) => {
        const op = operations[i % operations.length]! // round robin: every operation gets its share
        const request = buildRequest(op, r, fixtures, creds, i, bodyLimit)
        let res: LightMyRequestResponse
        try {
          res = await t.app.inject({ ...request, method: request.method as 'GET' })
        } catch (error) {
          if (failures.length < 20) failures.push(`#${i} inject threw ${(error as Error).message}`)
          return
        }
        sent++
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
        if (
          res.statusCode < 300 ||
          res.statusCode === 404 ||
          res.statusCode === 409 ||
          res.statusCode === 422
        ) {
          const name = `${op.method} ${op.path}`
          reached.set(name, (reached.get(name) ?? 0) + 1)
        }
        const problem = problemOf(request.method, res)
        if (problem && failures.length < 20) {
          const shown = { ...request.headers, authorization: request.headers.authorization?.slice(0, 20) }
          failures.push(
            `#${i} ${problem}: ${request.method} ${request.url.slice(0, 200)} ${JSON.stringify(shown).slice(0, 300)} ` +
              `body=${String(request.payload ?? '').slice(0, 120)} → ${res.statusCode} ${res.body.slice(0, 200)}`,
          )
        }
      }
      // Requests are generated in order from the seed; a few run at once, as clients do.
      let next = 0
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (next < REQUESTS && Date.now() - started < TIME_LIMIT_MS) await send(next++)
        }),
      )
      const seconds = (Date.now() - started) / 1000
      const summary = [...statuses]
        .sort(([a], [b]) => a - b)
        .map(([s, n]) => `${s}: ${n}`)
        .join(', ')
      console.info(
        `fuzz seed ${seed} (replay with FUZZ_SEED=${seed}): ${sent} requests in ${seconds.toFixed(1)} s; ${summary}`,
      )

      expect(failures, `seed ${seed}`).toEqual([])
      expect(sent, `seed ${seed}`).toBe(REQUESTS)
      // Every operation was reached past the guards at least once, or the fuzz proves little there.
      const missed = operations.map((op) => `${op.method} ${op.path}`).filter((name) => !reached.has(name))
      expect(missed, `seed ${seed}`).toEqual([])

      // and the API still works
      const me = await t.call(key, { method: 'GET', url: '/api/v1/me' })
      expect(me.statusCode, me.body).toBe(200)
      const post = await t.call(key, {
        method: 'POST',
        url: '/api/v1/posts',
        payload: { title: 'after the fuzz' },
      })
      expect(post.statusCode, post.body).toBe(201)
      const read = await t.call(key, { method: 'GET', url: `/api/v1/posts/${post.json().data.id}` })
      expect(read.json().data.title).toBe('after the fuzz')
      const list = await t.call(t.masterKey, { method: 'GET', url: '/api/v1/workspaces?per_page=1' })
      expect(list.statusCode, list.body).toBe(200)
      expect(({} as Record<string, unknown>).admin).toBeUndefined()
    },
    TIME_LIMIT_MS + 30_000,
  )
})

describe('requests the HTTP parser refuses', () => {
  let port: number
  beforeAll(async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' })
    port = (t.app.server.address() as { port: number }).port
  })

  /** Writes raw bytes and reads the whole answer until the server closes the connection. */
  function raw(bytes: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1')
      const chunks: Buffer[] = []
      const timer = setTimeout(() => socket.destroy(new Error('no answer within 10 s')), 10_000)
      socket.on('data', (chunk) => chunks.push(chunk))
      socket.on('error', reject)
      socket.on('close', () => {
        clearTimeout(timer)
        const text = Buffer.concat(chunks).toString('utf8')
        const [head = '', body = ''] = text.split('\r\n\r\n', 2)
        const [statusLine = '', ...lines] = head.split('\r\n')
        const headers: Record<string, string> = {}
        for (const line of lines) {
          const colon = line.indexOf(':')
          headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
        }
        resolve({ status: Number(statusLine.split(' ')[1]), headers, body })
      })
      socket.end(bytes)
    })
  }

  it('answers malformed requests and oversized headers in the error format, with a request id', async () => {
    const cases: Array<[string, number, string]> = [
      ['GARBAGE\r\n\r\n', 400, 'bad_request'],
      ['GET / HTTP/9.9\r\n\r\n', 400, 'bad_request'],
      ['FOO /health HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'bad_request'],
      ['GET /health HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n\r\n', 400, 'bad_request'],
      ['GET /health HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n', 400, 'bad_request'],
      [
        'POST /api/v1/posts HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        400,
        'bad_request',
      ],
      [
        'POST /api/v1/posts HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
        400,
        'bad_request',
      ],
      [`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'headers_too_large'],
      [`GET /api/v1/posts?q=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431, 'headers_too_large'],
    ]
    for (const [bytes, status, code] of cases) {
      const res = await raw(bytes)
      const label = JSON.stringify(bytes.slice(0, 60))
      expect(res.status, label).toBe(status)
      expect(res.headers['content-type'], label).toMatch(/^application\/json/)
      const requestId = res.headers['x-request-id']
      expect(requestId, label).toMatch(/^req_[0-9A-Za-z]{20}$/)
      expect(JSON.parse(res.body), label).toEqual({
        error: code,
        message: expect.any(String),
        request_id: requestId,
      })
    }
    // the server is still there
    const health = await raw('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect(health.status).toBe(200)
    expect(health.headers['x-request-id']).toMatch(/^req_/)
  })
})
