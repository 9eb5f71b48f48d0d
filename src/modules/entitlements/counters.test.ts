// The posts, webhooks and api_keys limits are kept as counter rows updated in the transactions
// that create and delete (or revoke) them: a hard limit is one conditional increment, whatever
// the workspace's size, and is never exceeded under concurrency; deleting frees a slot; a
// recount repairs a counter that drifted. API keys are kept as the keys held (not revoked, not
// replaced by a rotation), expired or not: a key expires without a write, so a create at the
// limit counts the live ones. Against the real database (PGlite, or PostgreSQL when
// DATABASE_URL is set).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { composeServices } from '../../compose.ts'
import { loadConfig } from '../../platform/config/index.ts'
import { MemoryPubSub } from '../../platform/kv/index.ts'
import { useTestApp } from '../../testing/harness.ts'

const dir = mkdtempSync(join(tmpdir(), 'core-api-counters-'))
const plans = join(dir, 'plans.json')
// free: 3 posts, 3 keys, 2 webhooks; starter: 5 posts (the rest as the defaults)
writeFileSync(
  plans,
  JSON.stringify({
    plans: {
      free: { posts: 3, api_keys: 3, webhooks: 2, api_calls: 10000, storage: 1073741824 },
      starter: { posts: 5, api_keys: 25, webhooks: 10, api_calls: 50000, storage: 2147483648 },
    },
  }),
)

const t = useTestApp({ env: { PLANS_FILE: plans } })
afterAll(() => rmSync(dir, { recursive: true, force: true }))
beforeEach(() => t.clock.advance(61_000))

/** The entitlement service as the CLI builds it (the composition root), on the test app's database. */
function service() {
  return composeServices({
    config: loadConfig({ PLANS_FILE: plans }),
    database: t.database,
    pubsub: new MemoryPubSub(),
    clock: t.clock,
    encryptionKey: 'k'.repeat(32),
    warn: () => {},
  }).entitlements
}

async function rows<T>(query: ReturnType<typeof sql>): Promise<T[]> {
  return ((await t.database.db.execute(query)) as unknown as { rows: T[] }).rows
}
const counter = async (workspaceId: number, feature = 'posts') =>
  (
    await rows<{ used: string | number }>(
      sql`select used from entitlement_counters where workspace_id = ${workspaceId} and feature = ${feature}`,
    )
  ).map((r) => Number(r.used))[0] ?? null
const postCount = async (workspaceId: number) =>
  Number(
    (await rows<{ n: string }>(sql`select count(*) as n from posts where workspace_id = ${workspaceId}`))[0]!
      .n,
  )

const create = (key: string, title: string, workspace?: number) =>
  t.call(key, { method: 'POST', url: '/api/v1/posts', payload: { title }, workspace })
const remove = (key: string, id: number, workspace?: number) =>
  t.call(key, { method: 'DELETE', url: `/api/v1/posts/${id}`, workspace })
const check = async (key: string) =>
  (await t.call(key, { method: 'GET', url: '/api/v1/entitlements/check?feature=posts' })).json()

async function setup(tier: string) {
  const ws = await t.workspace({ tier })
  const { key } = await t.key(ws.id, { scopes: ['posts:*', 'entitlements:read'] })
  return { ws, key }
}

describe('entitlements: kept post counters', () => {
  it('admits up to the limit, then refuses with nothing stored; the counter matches the rows', async () => {
    const { ws, key } = await setup('free')
    expect(await counter(ws.id)).toBeNull() // started by the first create
    for (const title of ['one', 'two', 'three']) expect((await create(key, title)).statusCode).toBe(201)
    expect(await counter(ws.id)).toBe(3)
    const refused = await create(key, 'four')
    expect(refused.statusCode).toBe(403)
    expect(refused.json()).toMatchObject({
      error: 'feature_limit_reached',
      feature: 'posts',
      limit: 3,
      current_usage: 3,
    })
    expect(await postCount(ws.id)).toBe(3)
    expect(await counter(ws.id)).toBe(3)
    expect(await check(key)).toMatchObject({ allowed: false, current_usage: 3, available: 0 })
  })

  it('a delete frees a slot, and a post deleted twice frees one', async () => {
    const { ws, key } = await setup('free')
    const ids: number[] = []
    for (const title of ['one', 'two', 'three']) ids.push((await create(key, title)).json().data.id)
    expect((await create(key, 'four')).statusCode).toBe(403)
    expect((await remove(key, ids[0]!)).statusCode).toBe(204)
    expect((await remove(key, ids[0]!)).statusCode).toBe(404)
    expect(await counter(ws.id)).toBe(2)
    expect(await check(key)).toMatchObject({ allowed: true, current_usage: 2, available: 1 })
    expect((await create(key, 'four')).statusCode).toBe(201)
    expect((await create(key, 'five')).statusCode).toBe(403)
    expect(await counter(ws.id)).toBe(3)
    expect(await postCount(ws.id)).toBe(3)
  })

  it('starts from the posts that exist when the counter is first needed', async () => {
    const { ws, key } = await setup('starter') // 5
    // posts written before counters existed (or outside the API)
    await t.database.db.execute(
      sql`insert into posts (workspace_id, title) select ${ws.id}, 'old ' || g from generate_series(1, 4) g`,
    )
    expect(await check(key)).toMatchObject({ current_usage: 4, available: 1 })
    expect((await create(key, 'fifth')).statusCode).toBe(201)
    expect(await counter(ws.id)).toBe(5)
    expect((await create(key, 'sixth')).statusCode).toBe(403)
  })

  it('recount repairs a counter that drifted, in one workspace or in all', async () => {
    const a = await setup('free')
    const b = await setup('free')
    for (const s of [a, b]) expect((await create(s.key, 'one')).statusCode).toBe(201)
    // drift: a counter too low (posts written outside the API) and one too high
    await t.database.db.execute(
      sql`insert into posts (workspace_id, title) select ${a.ws.id}, 'outside ' || g from generate_series(1, 2) g`,
    )
    await t.database.db.execute(sql`update entitlement_counters set used = 3 where workspace_id = ${b.ws.id}`)
    expect((await create(b.key, 'refused by the drift')).statusCode).toBe(403)

    expect(await service().recount(a.ws.id)).toEqual([
      { workspaceId: a.ws.id, feature: 'posts', before: 1, after: 3 },
    ])
    expect(await counter(a.ws.id)).toBe(3)
    expect((await create(a.key, 'over the limit')).statusCode).toBe(403)

    const all = await service().recount()
    expect(all).toContainEqual({ workspaceId: b.ws.id, feature: 'posts', before: 3, after: 1 })
    expect(all.some((r) => r.workspaceId === a.ws.id)).toBe(false) // already right
    expect(await counter(b.ws.id)).toBe(1)
    expect((await create(b.key, 'two')).statusCode).toBe(201)
    expect(await service().recount()).toEqual([])
  })

  it('concurrent creates and deletes never pass the limit, and leave the counter exact', async () => {
    const { ws, key } = await setup('starter') // 5
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => create(key, `concurrent ${i}`)))
    const statuses = results.map((r) => r.statusCode)
    expect(
      statuses.filter((s) => s === 201),
      JSON.stringify(statuses),
    ).toHaveLength(5)
    expect(
      statuses.filter((s) => s === 403),
      JSON.stringify(statuses),
    ).toHaveLength(15)
    expect(await postCount(ws.id)).toBe(5)
    expect(await counter(ws.id)).toBe(5)

    // deletes of two posts racing twelve creates: at most 5 at every moment, 5 at the end
    const ids = results.filter((r) => r.statusCode === 201).map((r) => r.json().data.id as number)
    const mixed = await Promise.all([
      ...ids.slice(0, 2).map((id) => remove(key, id)),
      ...Array.from({ length: 12 }, (_, i) => create(key, `after ${i}`)),
    ])
    expect(mixed.slice(0, 2).map((r) => r.statusCode)).toEqual([204, 204])
    const admitted = mixed.slice(2).filter((r) => r.statusCode === 201).length
    expect(admitted).toBeLessThanOrEqual(2)
    expect(mixed.slice(2).every((r) => r.statusCode === 201 || r.statusCode === 403)).toBe(true)
    expect(await postCount(ws.id)).toBe(3 + admitted)
    expect(await counter(ws.id)).toBe(3 + admitted)
  })

  it('a workspace without a hard limit keeps no counter, and starts one again when limited', async () => {
    const ws = await t.workspace({ tier: 'free' })
    const master = t.masterKey
    expect((await create(master, 'limited', ws.id)).statusCode).toBe(201)
    expect(await counter(ws.id)).toBe(1)
    const upgrade = await t.call(master, {
      method: 'PATCH',
      url: `/api/v1/workspaces/${ws.id}`,
      payload: { tier: 'enterprise' },
    })
    expect(upgrade.statusCode).toBe(200)
    for (const title of ['a', 'b', 'c']) expect((await create(master, title, ws.id)).statusCode).toBe(201)
    expect(await counter(ws.id)).toBeNull()
    const downgrade = await t.call(master, {
      method: 'PATCH',
      url: `/api/v1/workspaces/${ws.id}`,
      payload: { tier: 'free' },
    })
    expect(downgrade.statusCode).toBe(200)
    const refused = await create(master, 'over', ws.id)
    expect(refused.statusCode).toBe(403)
    expect(refused.json()).toMatchObject({ limit: 3, current_usage: 4 })
    expect(await counter(ws.id)).toBeNull() // started in the refused transaction, so rolled back
    const ids = (await t.call(master, { method: 'GET', url: '/api/v1/posts', workspace: ws.id })).json().data
    for (const post of ids.slice(0, 2)) expect((await remove(master, post.id, ws.id)).statusCode).toBe(204)
    expect((await create(master, 'fits again', ws.id)).statusCode).toBe(201)
    expect(await counter(ws.id)).toBe(3)
  })
})

describe('entitlements: kept webhook counters', () => {
  const master = () => t.masterKey
  const addEndpoint = (workspace: number) =>
    t.call(master(), {
      method: 'POST',
      url: '/api/v1/webhooks',
      workspace,
      payload: { url: 'https://hooks.invalid/x', events: ['post.created'] },
    })
  const removeEndpoint = (workspace: number, id: number) =>
    t.call(master(), { method: 'DELETE', url: `/api/v1/webhooks/${id}`, workspace })
  const endpoints = async (workspaceId: number) =>
    Number(
      (
        await rows<{ n: string }>(
          sql`select count(*) as n from webhook_endpoints where workspace_id = ${workspaceId}`,
        )
      )[0]!.n,
    )

  it('admits up to the limit, refuses with nothing stored, and a delete frees a slot once', async () => {
    const ws = await t.workspace({ tier: 'free' }) // 2 webhooks
    const ids: number[] = []
    for (let i = 0; i < 2; i++) {
      const res = await addEndpoint(ws.id)
      expect(res.statusCode).toBe(201)
      ids.push(res.json().data.id)
    }
    const refused = await addEndpoint(ws.id)
    expect(refused.statusCode).toBe(403)
    expect(refused.json()).toMatchObject({ feature: 'webhooks', limit: 2, current_usage: 2 })
    expect(await endpoints(ws.id)).toBe(2)
    expect(await counter(ws.id, 'webhooks')).toBe(2)
    expect((await removeEndpoint(ws.id, ids[0]!)).statusCode).toBe(204)
    expect((await removeEndpoint(ws.id, ids[0]!)).statusCode).toBe(404)
    expect(await counter(ws.id, 'webhooks')).toBe(1)
    expect((await addEndpoint(ws.id)).statusCode).toBe(201)
    expect((await addEndpoint(ws.id)).statusCode).toBe(403)
    expect(await counter(ws.id, 'webhooks')).toBe(2)
  })

  it('concurrent creates never pass the limit; recount repairs a drifted counter', async () => {
    const ws = await t.workspace({ tier: 'free' })
    const results = await Promise.all(Array.from({ length: 8 }, () => addEndpoint(ws.id)))
    expect(results.filter((r) => r.statusCode === 201)).toHaveLength(2)
    expect(results.filter((r) => r.statusCode === 403)).toHaveLength(6)
    expect(await endpoints(ws.id)).toBe(2)
    expect(await counter(ws.id, 'webhooks')).toBe(2)
    await t.database.db.execute(
      sql`update entitlement_counters set used = 0 where workspace_id = ${ws.id} and feature = 'webhooks'`,
    )
    expect(await service().recount(ws.id)).toEqual([
      { workspaceId: ws.id, feature: 'webhooks', before: 0, after: 2 },
    ])
    expect((await addEndpoint(ws.id)).statusCode).toBe(403)
  })
})

describe('entitlements: kept api key counters', () => {
  const master = () => t.masterKey
  const createKey = (workspace: number, body: Record<string, unknown> = {}) =>
    t.call(master(), { method: 'POST', url: '/api/v1/api-keys', workspace, payload: { name: 'k', ...body } })
  const revoke = (workspace: number, id: number) =>
    t.call(master(), { method: 'DELETE', url: `/api/v1/api-keys/${id}`, workspace })
  const usage = async (workspace: number) =>
    (
      await t.call(master(), {
        method: 'GET',
        url: '/api/v1/entitlements/check?feature=api_keys',
        workspace,
      })
    ).json()

  it('admits up to the limit, refuses with nothing stored, and a revocation frees a slot once', async () => {
    const ws = await t.workspace({ tier: 'free' }) // 3 keys
    const ids: number[] = []
    for (let i = 0; i < 3; i++) {
      const res = await createKey(ws.id)
      expect(res.statusCode).toBe(201)
      ids.push(res.json().data.id)
    }
    const refused = await createKey(ws.id)
    expect(refused.statusCode).toBe(403)
    expect(refused.json()).toMatchObject({ feature: 'api_keys', limit: 3, current_usage: 3 })
    expect(await counter(ws.id, 'api_keys')).toBe(3)
    expect((await revoke(ws.id, ids[0]!)).statusCode).toBe(204)
    expect((await revoke(ws.id, ids[0]!)).statusCode).toBe(409)
    expect(await counter(ws.id, 'api_keys')).toBe(2)
    expect(await usage(ws.id)).toMatchObject({ allowed: true, current_usage: 2 })
    expect((await createKey(ws.id)).statusCode).toBe(201)
    expect((await createKey(ws.id)).statusCode).toBe(403)
  })

  it('a key that expires stops counting without any write: a create at the limit counts the live keys', async () => {
    const ws = await t.workspace({ tier: 'free' })
    const soon = new Date(t.clock.now() + 60_000).toISOString()
    expect((await createKey(ws.id, { expires_at: soon })).statusCode).toBe(201)
    for (let i = 0; i < 2; i++) expect((await createKey(ws.id)).statusCode).toBe(201)
    expect((await createKey(ws.id)).statusCode).toBe(403)
    t.clock.advance(120_000) // the first key has expired
    expect(await usage(ws.id)).toMatchObject({ allowed: true, current_usage: 2 })
    expect(await counter(ws.id, 'api_keys')).toBe(3) // held: an upper bound of the live keys
    expect((await createKey(ws.id)).statusCode).toBe(201) // counted live: 2 + 1 <= 3
    expect(await counter(ws.id, 'api_keys')).toBe(4)
    const refused = await createKey(ws.id)
    expect(refused.statusCode).toBe(403)
    expect(refused.json()).toMatchObject({ limit: 3, current_usage: 3 })
    expect(await counter(ws.id, 'api_keys')).toBe(4)
    // The repair counts held keys, the expired one included.
    expect(await service().recount(ws.id)).toEqual([])
  })

  it('a rotation keeps the count; revoking the replacement during the grace period counts the old key again', async () => {
    const ws = await t.workspace({ tier: 'free' })
    const first = (await createKey(ws.id)).json().data.id as number
    expect((await createKey(ws.id)).statusCode).toBe(201)
    const rotated = await t.call(master(), {
      method: 'POST',
      url: `/api/v1/api-keys/${first}/rotate`,
      workspace: ws.id,
      payload: { grace_period_hours: 24 },
    })
    expect(rotated.statusCode).toBe(200)
    expect(await counter(ws.id, 'api_keys')).toBe(2)
    expect(await usage(ws.id)).toMatchObject({ current_usage: 2 })
    expect((await revoke(ws.id, rotated.json().data.id)).statusCode).toBe(204)
    expect(await counter(ws.id, 'api_keys')).toBe(2) // the old key, in its grace period, counts again
    expect(await usage(ws.id)).toMatchObject({ current_usage: 2 })
    expect(await service().recount(ws.id)).toEqual([])
    expect((await createKey(ws.id)).statusCode).toBe(201)
    expect((await createKey(ws.id)).statusCode).toBe(403)
  })

  it('concurrent creates never pass the limit, expired keys or not', async () => {
    const ws = await t.workspace({ tier: 'free' })
    const soon = new Date(t.clock.now() + 60_000).toISOString()
    expect((await createKey(ws.id, { expires_at: soon })).statusCode).toBe(201)
    expect((await createKey(ws.id, { expires_at: soon })).statusCode).toBe(201)
    t.clock.advance(120_000) // both expired: three live keys fit
    const results = await Promise.all(Array.from({ length: 8 }, () => createKey(ws.id)))
    const statuses = results.map((r) => r.statusCode)
    expect(
      statuses.filter((s) => s === 201),
      JSON.stringify(statuses),
    ).toHaveLength(3)
    expect(
      statuses.filter((s) => s === 403),
      JSON.stringify(statuses),
    ).toHaveLength(5)
    expect(await usage(ws.id)).toMatchObject({ allowed: false, current_usage: 3 })
    expect(await counter(ws.id, 'api_keys')).toBe(5)
  })
})

describe('counters: registration', () => {
  it('refuses to start when the plans limit a count feature that no module counts', async () => {
    const orphan = join(dir, 'orphan-plans.json')
    const limits = { posts: 3, api_keys: 10, webhooks: 5, api_calls: 10000, storage: 1, invoices: 7 }
    writeFileSync(
      orphan,
      JSON.stringify({
        features: { invoices: { kind: 'count', enforcement: 'hard', label: 'Invoice' } },
        plans: Object.fromEntries(
          ['free', 'starter', 'pro', 'agency', 'enterprise'].map((tier) => [tier, limits]),
        ),
      }),
    )
    const compose = () =>
      composeServices({
        config: loadConfig({ PLANS_FILE: orphan }),
        database: t.database,
        pubsub: new MemoryPubSub(),
        clock: t.clock,
        encryptionKey: 'k'.repeat(32),
        warn: () => {},
      })
    expect(compose).toThrow(/The plans limit invoices, which no module counts/)
  })
})
