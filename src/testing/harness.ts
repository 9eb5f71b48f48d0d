// buildTestApp(): a real core-api on a database of its own; useTestApp() gives one to a suite. On the embedded default that is a
// fresh in-memory PGlite; when DATABASE_URL is set, a new PostgreSQL database created for the
// app and dropped when it closes, so parallel test files never see each other's data. With
// REDIS_URL set, pub/sub goes through that Redis under a prefix of the app's own.
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import pg from 'pg'
import { afterAll, beforeAll } from 'vitest'
import { loadConfig } from '../platform/config/index.ts'
import { type DatabaseHandle, openDatabase } from '../platform/db/index.ts'
import { type Clock, ManualClock } from '../platform/lib/clock.ts'
import { randomBase62 } from '../platform/lib/random.ts'
import { createServer } from '../server.ts'

export type TestApp = {
  app: FastifyInstance
  masterKey: string
  clock: ManualClock | Clock
  database: DatabaseHandle
  /** Sends a request with `Authorization: Bearer <key>` (and JSON body, when given). */
  call(key: string | null, options: InjectOptions & { workspace?: number }): Promise<LightMyRequestResponse>
  /** A new workspace (through the API, as the master key); enterprise tier unless `tier` is given. */
  workspace(body?: Record<string, unknown>): Promise<{ id: number; slug: string; tier: string }>
  /** A new key in a workspace (through the API, as the master key); returns its secret and id. */
  key(workspaceId: number, body?: Record<string, unknown>): Promise<{ id: number; key: string }>
  /** A new user with `role` in a workspace (made by the master key), signed in: their session. */
  member(workspaceId: number, role: 'owner' | 'admin' | 'member', email: string): Promise<SignedIn>
  close(): Promise<void>
}

/** A signed-in person: the session cookie (`name=value`), its CSRF token and the user's id. */
export type SignedIn = { cookie: string; csrf: string; userId: number }

/** The password of every user `member()` makes. */
export const TEST_PASSWORD = 'correct horse battery staple'

/** A database of its own for one test app: in-memory PGlite, or a fresh PostgreSQL database. */
export async function testDatabase(): Promise<{
  handle: DatabaseHandle
  url: string | null
  drop: () => Promise<void>
}> {
  const adminUrl = process.env.DATABASE_URL
  if (!adminUrl) {
    return { handle: await openDatabase({ dataDir: 'memory://' }), url: null, drop: async () => {} }
  }
  const name = `core_api_test_${randomBase62(10).toLowerCase()}`
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  await admin.query(`create database ${name}`)
  await admin.end()
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  const handle = await openDatabase({ databaseUrl: url.toString(), poolSize: 5 })
  return {
    handle,
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: adminUrl })
      await client.connect()
      await client.query(`drop database if exists ${name} with (force)`)
      await client.end()
    },
  }
}

export async function buildTestApp(
  options: {
    clock?: Clock
    env?: Record<string, string>
    /** Adds to the app before it is ready: extra routes a test needs, under the same guards. */
    setup?: (app: FastifyInstance, database: DatabaseHandle) => void | Promise<void>
    /** Called with the route (as declared, `/api/v1/posts/:id`) and status of every response. */
    onResponse?: (response: { method: string; route: string; status: number }) => void
  } = {},
): Promise<TestApp> {
  const masterKey = `sk_master_${randomBase62(40)}`
  const clock = options.clock ?? new ManualClock(Date.now())
  const config = loadConfig({
    CORE_API_MASTER_KEY: masterKey,
    PUBLIC_URL: 'http://api.test',
    REDIS_URL: process.env.REDIS_URL,
    REDIS_PREFIX: `core-api-test:${randomBase62(8)}:`,
    LOG_LEVEL: 'silent',
    // Every injected request comes from 127.0.0.1: per-IP budgets are off unless a test sets them.
    RATE_LIMIT_IP_PER_HOUR: '0',
    RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '0',
    ...options.env,
  })
  const db = await testDatabase()
  const app = await createServer(config, { clock, database: db.handle, logger: false })
  await options.setup?.(app, db.handle)
  const { onResponse } = options
  if (onResponse) {
    app.addHook('onResponse', async function recordResponse(req, reply) {
      onResponse({ method: req.method, route: req.routeOptions.url ?? '', status: reply.statusCode })
    })
  }
  await app.ready()

  const call: TestApp['call'] = (key, { workspace, headers, ...rest }) =>
    app.inject({
      ...rest,
      headers: {
        ...(key !== null && { authorization: `Bearer ${key}` }),
        ...(workspace !== undefined && { 'x-workspace-id': String(workspace) }),
        ...headers,
      },
    })

  let counter = 0
  return {
    app,
    masterKey,
    clock,
    database: db.handle,
    call,
    async workspace(body = {}) {
      counter++
      const res = await call(masterKey, {
        method: 'POST',
        url: '/api/v1/workspaces',
        payload: { name: `Workspace ${counter}`, tier: 'enterprise', ...body },
      })
      if (res.statusCode !== 201) throw new Error(`workspace: ${res.statusCode} ${res.body}`)
      return res.json().data
    },
    async key(workspaceId, body = {}) {
      const res = await call(masterKey, {
        method: 'POST',
        url: '/api/v1/api-keys',
        workspace: workspaceId,
        payload: { name: 'test key', ...body },
      })
      if (res.statusCode !== 201) throw new Error(`key: ${res.statusCode} ${res.body}`)
      return res.json().data
    },
    async member(workspaceId, role, email) {
      const made = await call(masterKey, {
        method: 'POST',
        url: '/api/v1/users',
        workspace: workspaceId,
        payload: { email, password: TEST_PASSWORD, role },
      })
      if (made.statusCode !== 201) throw new Error(`member: ${made.statusCode} ${made.body}`)
      const res = await app.inject({
        method: 'POST',
        url: '/api/auth/sign-in',
        payload: { email, password: TEST_PASSWORD },
      })
      if (res.statusCode !== 200) throw new Error(`sign-in: ${res.statusCode} ${res.body}`)
      return {
        cookie: String(res.headers['set-cookie']).split(';')[0]!,
        csrf: res.json().data.csrf_token,
        userId: made.json().data.id,
      }
    },
    async close() {
      await app.close()
      await db.drop()
    },
  }
}

/**
 * The test app of a suite: built before its first test and closed after its last (a beforeAll
 * and an afterAll registered by this call). Its members can be used in tests and in hooks
 * registered after this call; its clock at once — a ManualClock unless `options.clock` is given.
 */
export function useTestApp<C extends Clock = ManualClock>(
  options: Omit<Parameters<typeof buildTestApp>[0] & object, 'clock'> & { clock?: C } = {},
): TestApp & { clock: C } {
  const clock = (options.clock ?? new ManualClock(Date.now())) as C
  let built: TestApp | undefined
  beforeAll(async () => {
    built = await buildTestApp({ ...options, clock })
  })
  afterAll(() => built?.close())
  return new Proxy({ clock } as TestApp & { clock: C }, {
    get(target, property) {
      if (property === 'clock') return target.clock
      if (!built)
        throw new Error(`The test app is built in beforeAll: its ${String(property)} is not there yet.`)
      return Reflect.get(built, property)
    },
  })
}

/** `fetch` over the app's inject: a client library speaks HTTP to the app as over the network. */
export function injectFetch(app: FastifyInstance) {
  return async (url: string, init: RequestInit = {}): Promise<Response> => {
    const target = new URL(url)
    const headers: Record<string, string> = {}
    new Headers(init.headers).forEach((value, name) => {
      headers[name] = value
    })
    const body = init.body === undefined || init.body === null ? undefined : String(init.body)
    const res = await app.inject({
      method: (init.method ?? 'GET') as 'GET',
      url: target.pathname + target.search,
      headers,
      ...(body !== undefined && { payload: body }),
    })
    const out = new Headers()
    for (const [name, value] of Object.entries(res.headers))
      if (value !== undefined) for (const v of [value].flat()) out.append(name, String(v))
    return new Response(res.statusCode === 204 ? null : res.body, { status: res.statusCode, headers: out })
  }
}
