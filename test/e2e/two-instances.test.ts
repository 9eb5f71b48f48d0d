// Two server processes on one PostgreSQL and one Redis behave as one: a key revoked through
// one is refused by the other on the next request, and so is a session signed out through one, a rate limit admits no more than its
// capacity in total, and concurrent twins of an idempotent request create one resource.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomBase62 } from '../../src/platform/lib/random.ts'
import { testDatabase } from '../../src/testing/harness.ts'
import { call, createTenant, type ServerProcess, startServer } from '../../src/testing/processes.ts'

const enabled = Boolean(process.env.DATABASE_URL && process.env.REDIS_URL)
const MASTER = `sk_master_${randomBase62(40)}`

describe.skipIf(!enabled)('two instances on one PostgreSQL and Redis', () => {
  let a: ServerProcess
  let b: ServerProcess
  let drop: () => Promise<void>

  beforeAll(async () => {
    const db = await testDatabase()
    await db.handle.close()
    drop = db.drop
    const env = {
      DATABASE_URL: db.url!,
      REDIS_URL: process.env.REDIS_URL!,
      REDIS_PREFIX: `core-api-e2e-${randomBase62(8)}:`,
      CORE_API_MASTER_KEY: MASTER,
      RATE_LIMIT_IP_PER_HOUR: '0',
      WEBHOOK_WORKER: '0',
    }
    // Started together: migrations run under an advisory lock.
    ;[a, b] = await Promise.all([startServer(env), startServer(env)])
  }, 120_000)

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()])
    await drop?.()
  })

  async function tenant(tier: string) {
    const made = await createTenant(a.url, MASTER, tier)
    return { workspace: made.workspace, key: made.key, id: made.keyId }
  }

  // Pub/sub hands the revocation to B within milliseconds, not in lockstep with the HTTP
  // response; the credential cache lifetime (5 s) bounds it if a message is missed.
  async function refusedOnB(key: string): Promise<number> {
    const started = Date.now()
    while ((await call(b.url, key, 'GET', '/api/v1/me')).status !== 401) {
      if (Date.now() - started > 6000) throw new Error('B still accepts the revoked key after 6 s')
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    return Date.now() - started
  }

  it('refuses a session on B right after it signs out through A', async () => {
    const { workspace } = await tenant('enterprise')
    const person = {
      email: `p${randomBase62(6).toLowerCase()}@e2e.test`,
      password: 'correct horse battery staple',
    }
    const made = await call(
      a.url,
      MASTER,
      'POST',
      '/api/v1/users',
      { ...person, role: 'owner' },
      {
        'x-workspace-id': String(workspace),
      },
    )
    expect(made.status).toBe(201)
    const signIn = await fetch(`${a.url}/api/auth/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(person),
    })
    expect(signIn.status).toBe(200)
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0]!
    const csrf = ((await signIn.json()) as { data: { csrf_token: string } }).data.csrf_token
    const me = (base: string) => fetch(`${base}/api/v1/me`, { headers: { cookie } }).then((r) => r.status)
    expect(await me(b.url)).toBe(200) // cached on B
    const out = await fetch(`${a.url}/api/auth/sign-out`, {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrf },
    })
    expect(out.status).toBe(204)
    const started = Date.now()
    while ((await me(b.url)) !== 401) {
      if (Date.now() - started > 6000) throw new Error('B still accepts the session after 6 s')
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    expect(Date.now() - started).toBeLessThan(1000)
  })

  it('refuses a key on B right after it is revoked through A', async () => {
    const delays: number[] = []
    for (let round = 0; round < 10; round++) {
      const { key, id } = await tenant('enterprise')
      expect((await call(b.url, key, 'GET', '/api/v1/me')).status).toBe(200) // cached on B
      expect((await call(a.url, key, 'DELETE', `/api/v1/api-keys/${id}`)).status).toBe(204)
      delays.push(await refusedOnB(key))
    }
    console.log(`revocation seen by B after (ms): ${delays.join(', ')}`)
  })

  it('kills the old key on B at once after a rotation with no grace on A', async () => {
    const { key, id } = await tenant('enterprise')
    expect((await call(b.url, key, 'GET', '/api/v1/me')).status).toBe(200)
    const rotated = await call(a.url, key, 'POST', `/api/v1/api-keys/${id}/rotate`, { grace_period_hours: 0 })
    expect(rotated.status).toBe(200)
    await refusedOnB(key)
    expect((await call(b.url, rotated.body.data.key, 'GET', '/api/v1/me')).status).toBe(200)
  })

  it('admits no more than a free key’s capacity across both instances', async () => {
    const { key } = await tenant('free')
    const started = Date.now()
    let next = 0
    const codes: number[] = []
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next < 300) {
          const n = next++
          codes.push((await call(n % 2 ? a.url : b.url, key, 'GET', '/api/v1/me')).status)
        }
      }),
    )
    const seconds = (Date.now() - started) / 1000
    const admitted = codes.filter((c) => c === 200).length
    expect(codes.filter((c) => c !== 200 && c !== 429)).toEqual([])
    // 60 at once, plus one per second of refill while the run lasted.
    expect(admitted).toBeLessThanOrEqual(60 + Math.ceil(seconds))
    expect(admitted).toBeGreaterThanOrEqual(60)
  })

  it('creates one resource from 50 concurrent twins spread over both instances', async () => {
    const { key } = await tenant('enterprise')
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        call(
          i % 2 ? a.url : b.url,
          key,
          'POST',
          '/api/v1/posts',
          { title: 'Twin' },
          { 'idempotency-key': 'e2e-twin' },
        ),
      ),
    )
    const created = answers.filter((r) => r.status === 201)
    expect(
      answers.every(
        (r) => r.status === 201 || (r.status === 409 && r.body.error === 'idempotency_in_progress'),
      ),
    ).toBe(true)
    expect(new Set(created.map((r) => r.body.data.id)).size).toBe(1)
    const list = await call(a.url, key, 'GET', '/api/v1/posts')
    expect(list.body.meta.total).toBe(1)
  })
})
