import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { ManualClock } from '../../platform/lib/clock.ts'
import { buildTestApp, type TestApp } from '../../testing/harness.ts'

const dir = mkdtempSync(join(tmpdir(), 'core-api-entitlements-'))
const DEFAULT_UPGRADE_URL = 'https://example.com/upgrade'
const OPERATOR_UPGRADE_URL = 'https://billing.example.test/upgrade'

/** A PLANS_FILE in the format of config/plans.json; `plans` replace the defaults per tier. */
function plansFile(name: string, content: Record<string, unknown>): string {
  const path = join(dir, name)
  writeFileSync(path, JSON.stringify(content))
  return path
}

// Small count limits: free 3 posts / 2 keys / 1 webhook; starter 5 posts; pro 2 posts.
const LIMITED = plansFile('limited.json', {
  upgrade_url: OPERATOR_UPGRADE_URL,
  plans: {
    free: { posts: 3, api_keys: 2, webhooks: 1, api_calls: 10000, storage: 1073741824 },
    starter: { posts: 5, api_keys: 25, webhooks: 10, api_calls: 50000, storage: 2147483648 },
    pro: { posts: 2, api_keys: 100, webhooks: 25, api_calls: 100000, storage: 5368709120 },
  },
})

// api_calls as a hard limit of 10 a month on the free tier.
const HARD_METERED = plansFile('hard-metered.json', {
  features: { api_calls: { kind: 'metered', period: 'month', enforcement: 'hard', label: 'API call' } },
  plans: { free: { posts: 100, api_keys: 10, webhooks: 5, api_calls: 10, storage: 1073741824 } },
})

let t: TestApp // default plans (config/plans.json)
let limited: TestApp
let hard: TestApp
beforeAll(async () => {
  ;[t, limited, hard] = await Promise.all([
    buildTestApp(),
    buildTestApp({ env: { PLANS_FILE: LIMITED } }),
    buildTestApp({ env: { PLANS_FILE: HARD_METERED } }),
  ])
})
afterAll(async () => {
  await Promise.all([t?.close(), limited?.close(), hard?.close()])
  rmSync(dir, { recursive: true, force: true })
})
// Free workspaces get 60 requests a minute: every test starts with full buckets.
beforeEach(() => {
  for (const app of [t, limited, hard]) (app.clock as ManualClock).advance(61_000)
})

const ISO_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/

/** A workspace of `tier` in `app` and a key in it (default scopes read, write unless given). */
async function setup(app: TestApp, tier: string, keyBody: Record<string, unknown> = {}) {
  const ws = await app.workspace({ tier })
  const { key, id } = await app.key(ws.id, keyBody)
  return { ws, key, keyId: id }
}

const check = (app: TestApp, key: string, query: string) =>
  app.call(key, { method: 'GET', url: `/api/v1/entitlements/check?${query}` })
const usage = (app: TestApp, key: string, payload: unknown) =>
  app.call(key, { method: 'POST', url: '/api/v1/entitlements/usage', payload: payload as object })
const summary = async (app: TestApp, key: string) => {
  const res = await app.call(key, { method: 'GET', url: '/api/v1/entitlements/summary' })
  expect(res.statusCode).toBe(200)
  return res.json().data
}
const createPost = (app: TestApp, key: string, title = 'A post') =>
  app.call(key, { method: 'POST', url: '/api/v1/posts', payload: { title } })
const postTotal = async (app: TestApp, key: string) =>
  (await app.call(key, { method: 'GET', url: '/api/v1/posts' })).json().meta.total as number

describe('entitlements: check', () => {
  it('allows within the free plan, counting posts that exist now', async () => {
    const { key } = await setup(t, 'free')
    const first = await check(t, key, 'feature=posts')
    expect(first.statusCode).toBe(200)
    expect(first.json()).toEqual({
      allowed: true,
      feature: 'posts',
      current_usage: 0,
      limit: 100,
      available: 100,
    })

    for (const title of ['one', 'two']) expect((await createPost(t, key, title)).statusCode).toBe(201)
    expect((await check(t, key, 'feature=posts')).json()).toEqual({
      allowed: true,
      feature: 'posts',
      current_usage: 2,
      limit: 100,
      available: 98,
    })
  })

  it('takes quantity into account: allowed up to what is available, refused beyond', async () => {
    const { key } = await setup(t, 'free')
    for (const title of ['one', 'two']) await createPost(t, key, title)
    const fits = await check(t, key, 'feature=posts&quantity=98')
    expect(fits.json()).toEqual({
      allowed: true,
      feature: 'posts',
      current_usage: 2,
      limit: 100,
      available: 98,
    })

    const beyond = await check(t, key, 'feature=posts&quantity=99')
    expect(beyond.statusCode).toBe(200)
    expect(beyond.json()).toEqual({
      allowed: false,
      feature: 'posts',
      reason: 'LIMIT_EXCEEDED',
      message: 'Post limit exceeded. Used: 2, Limit: 100',
      current_usage: 2,
      limit: 100,
      available: 98,
      upgrade_url: DEFAULT_UPGRADE_URL,
    })
  })

  it('refuses at the limit with the documented shape and the operator upgrade_url', async () => {
    const { key } = await setup(limited, 'pro') // posts: 2
    for (const title of ['one', 'two']) expect((await createPost(limited, key, title)).statusCode).toBe(201)
    const res = await check(limited, key, 'feature=posts')
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({
      allowed: false,
      feature: 'posts',
      reason: 'LIMIT_EXCEEDED',
      message: 'Post limit exceeded. Used: 2, Limit: 2',
      current_usage: 2,
      limit: 2,
      available: 0,
      upgrade_url: OPERATOR_UPGRADE_URL,
    })
  })

  it('reports unlimited (null) limits on the enterprise tier', async () => {
    const { key } = await setup(t, 'enterprise')
    await createPost(t, key)
    expect((await check(t, key, 'feature=posts')).json()).toEqual({
      allowed: true,
      feature: 'posts',
      current_usage: 1,
      limit: null,
      available: null,
    })
    const huge = await check(t, key, 'feature=api_calls&quantity=1000000000000')
    expect(huge.json()).toEqual({
      allowed: true,
      feature: 'api_calls',
      current_usage: 0,
      limit: null,
      available: null,
    })
  })

  it('checks the other features: keys count the live keys, metered and size features their records', async () => {
    const { ws, key } = await setup(t, 'free')
    await t.key(ws.id)
    expect((await check(t, key, 'feature=api_keys')).json()).toMatchObject({ current_usage: 2, limit: 10 })
    expect((await check(t, key, 'feature=webhooks')).json()).toMatchObject({ current_usage: 0, limit: 5 })
    await usage(t, key, { feature: 'storage', quantity: 1000 })
    expect((await check(t, key, 'feature=storage')).json()).toEqual({
      allowed: true,
      feature: 'storage',
      current_usage: 1000,
      limit: 1073741824,
      available: 1073740824,
    })
  })

  it('answers 422 for a missing or unknown feature and a bad quantity', async () => {
    const { key } = await setup(t, 'free')
    for (const query of [
      '',
      'feature=',
      'feature=comments',
      'feature=POSTS',
      'feature=posts&quantity=0',
      'feature=posts&quantity=-1',
      'feature=posts&quantity=1.5',
      'feature=posts&quantity=abc',
      'feature=posts&quantity=10000000000000',
      'feature=posts&extra=1',
    ]) {
      const res = await check(t, key, query)
      expect(res.statusCode, query).toBe(422)
      expect(res.json().error, query).toBe('validation_failed')
    }
    const unknown = await check(t, key, 'feature=comments')
    expect(Object.keys(unknown.json().errors)).toEqual(['feature'])
    expect(unknown.json().errors.feature[0]).toContain('comments')
  })
})

describe('entitlements: usage', () => {
  it('records metered usage, accumulating, with quantity defaulting to 1', async () => {
    const { key } = await setup(t, 'free')
    const first = await usage(t, key, { feature: 'api_calls', quantity: 5 })
    expect(first.statusCode).toBe(200)
    expect(first.json()).toEqual({ recorded: true, feature: 'api_calls', current_usage: 5, limit: 10000 })
    expect((await usage(t, key, { feature: 'api_calls', quantity: 3 })).json().current_usage).toBe(8)
    expect((await usage(t, key, { feature: 'api_calls' })).json().current_usage).toBe(9)
    const withMetadata = await usage(t, key, {
      feature: 'api_calls',
      quantity: 1,
      metadata: { endpoint: '/api/v1/posts' },
    })
    expect(withMetadata.json()).toEqual({
      recorded: true,
      feature: 'api_calls',
      current_usage: 10,
      limit: 10000,
    })
    expect((await check(t, key, 'feature=api_calls')).json()).toEqual({
      allowed: true,
      feature: 'api_calls',
      current_usage: 10,
      limit: 10000,
      available: 9990,
    })
  })

  it('keeps usage per workspace', async () => {
    const a = await setup(t, 'free')
    const b = await setup(t, 'free')
    await usage(t, a.key, { feature: 'api_calls', quantity: 7 })
    expect((await usage(t, b.key, { feature: 'api_calls', quantity: 1 })).json().current_usage).toBe(1)
    expect((await summary(t, a.key)).entitlements.api_calls.used).toBe(7)
  })

  it('counts a retried record with the same event_id once', async () => {
    const { key } = await setup(t, 'free')
    const first = await usage(t, key, { feature: 'api_calls', quantity: 4, event_id: 'evt-1' })
    expect(first.json()).toEqual({ recorded: true, feature: 'api_calls', current_usage: 4, limit: 10000 })
    const retry = await usage(t, key, { feature: 'api_calls', quantity: 4, event_id: 'evt-1' })
    expect(retry.statusCode).toBe(200)
    expect(retry.json()).toEqual({ recorded: true, feature: 'api_calls', current_usage: 4, limit: 10000 })
    expect(
      (await usage(t, key, { feature: 'api_calls', quantity: 4, event_id: 'evt-2' })).json().current_usage,
    ).toBe(8)
    // the same id with another quantity is still the same event
    expect(
      (await usage(t, key, { feature: 'api_calls', quantity: 100, event_id: 'evt-1' })).json().current_usage,
    ).toBe(8)
    // concurrent twins count once
    const twins = await Promise.all(
      Array.from({ length: 5 }, () =>
        usage(t, key, { feature: 'api_calls', quantity: 2, event_id: 'evt-3' }),
      ),
    )
    expect(twins.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200])
    expect((await summary(t, key)).entitlements.api_calls.used).toBe(10)

    // event ids are per workspace
    const other = await setup(t, 'free')
    expect(
      (await usage(t, other.key, { feature: 'api_calls', quantity: 4, event_id: 'evt-1' })).json(),
    ).toMatchObject({
      current_usage: 4,
    })
  })

  it('records bytes for storage', async () => {
    const { key } = await setup(t, 'free')
    const res = await usage(t, key, { feature: 'storage', quantity: 2048 })
    expect(res.json()).toEqual({ recorded: true, feature: 'storage', current_usage: 2048, limit: 1073741824 })
  })

  it('passes a soft limit and reports it', async () => {
    const { key } = await setup(t, 'free')
    const res = await usage(t, key, { feature: 'api_calls', quantity: 10001 })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ recorded: true, feature: 'api_calls', current_usage: 10001, limit: 10000 })
    expect((await summary(t, key)).entitlements.api_calls).toMatchObject({
      used: 10001,
      limit: 10000,
      available: 0,
      percentage: 100.01,
    })
    expect((await check(t, key, 'feature=api_calls')).json()).toMatchObject({ allowed: false, available: 0 })
  })

  it('answers 422 for count features, unknown features and bad quantities, recording nothing', async () => {
    const { key } = await setup(t, 'free')
    const cases: Array<[unknown, string]> = [
      [{ feature: 'posts', quantity: 1 }, 'feature'],
      [{ feature: 'api_keys' }, 'feature'],
      [{ feature: 'webhooks', quantity: 1 }, 'feature'],
      [{ feature: 'comments', quantity: 1 }, 'feature'],
      [{ quantity: 1 }, 'feature'],
      [{ feature: '', quantity: 1 }, 'feature'],
      [{ feature: 'api_calls', quantity: 0 }, 'quantity'],
      [{ feature: 'api_calls', quantity: -1 }, 'quantity'],
      [{ feature: 'api_calls', quantity: 1.5 }, 'quantity'],
      [{ feature: 'api_calls', quantity: '3' }, 'quantity'],
      [{ feature: 'api_calls', quantity: null }, 'quantity'],
      [{ feature: 'api_calls', quantity: 10_000_000_000_000 }, 'quantity'],
      [{ feature: 'api_calls', quantity: 1, event_id: '' }, 'event_id'],
      [{ feature: 'api_calls', quantity: 1, user: 'x' }, 'user'],
    ]
    for (const [payload, field] of cases) {
      const res = await usage(t, key, payload)
      expect(res.statusCode, JSON.stringify(payload)).toBe(422)
      expect(res.json().error).toBe('validation_failed')
      expect(Object.keys(res.json().errors).join(' '), JSON.stringify(payload)).toContain(field)
    }
    const counted = await usage(t, key, { feature: 'posts', quantity: 1 })
    expect(counted.json().errors.feature[0]).toContain('posts')
    const after = (await summary(t, key)).entitlements
    expect(after.api_calls.used).toBe(0)
    expect(after.posts.used).toBe(0)
  })

  it('needs entitlements:write to record and entitlements:read to check', async () => {
    const { ws, key: reader } = await setup(t, 'free', { scopes: ['entitlements:read'] })
    const refused = await usage(t, reader, { feature: 'api_calls', quantity: 1 })
    expect(refused.statusCode).toBe(403)
    expect(refused.json().message).toBe('Insufficient permissions. Required scope: entitlements:write')
    const { key: poster } = await t.key(ws.id, { scopes: ['posts:read'] })
    const noCheck = await check(t, poster, 'feature=posts')
    expect(noCheck.statusCode).toBe(403)
    expect(noCheck.json().message).toBe('Insufficient permissions. Required scope: entitlements:read')
    expect((await summary(t, reader)).entitlements.api_calls.used).toBe(0)
  })
})

describe('entitlements: summary', () => {
  it('reports every feature of a pro workspace as seed 004 shows', async () => {
    const { ws, key } = await setup(t, 'pro')
    for (let i = 0; i < 45; i++) {
      const res = await t.call(t.masterKey, {
        method: 'POST',
        url: '/api/v1/posts',
        workspace: ws.id,
        payload: { title: `Post ${i}` },
      })
      expect(res.statusCode).toBe(201)
    }
    await usage(t, key, { feature: 'api_calls', quantity: 5001 })
    await usage(t, key, { feature: 'storage', quantity: 1073741824 })

    const now = new Date(t.clock.now())
    const nextMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1))
    const res = await t.call(key, { method: 'GET', url: '/api/v1/entitlements/summary' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({
      data: {
        workspace_id: ws.id,
        tier: 'pro',
        entitlements: {
          posts: { used: 45, limit: 1000, available: 955, percentage: 4.5 },
          api_keys: { used: 1, limit: 100, available: 99, percentage: 1 },
          webhooks: { used: 0, limit: 25, available: 25, percentage: 0 },
          api_calls: {
            used: 5001,
            limit: 100000,
            available: 94999,
            percentage: 5,
            reset_at: nextMonth.toISOString().replace('.000Z', 'Z'),
          },
          storage: {
            used: 1073741824,
            limit: 5368709120,
            available: 4294967296,
            percentage: 20,
            unit: 'bytes',
          },
        },
        // Beside the seed's fields: where to raise the limits, as a refusal names it.
        upgrade_url: 'https://example.com/upgrade',
      },
    })
    expect(res.json().data.entitlements.api_calls.reset_at).toMatch(ISO_SECONDS)
  })

  it('rounds percentages to two decimals (5001 of 10,000 is 50.01)', async () => {
    const { key } = await setup(t, 'free')
    await usage(t, key, { feature: 'api_calls', quantity: 5001 })
    expect((await summary(t, key)).entitlements.api_calls).toMatchObject({
      used: 5001,
      limit: 10000,
      available: 4999,
      percentage: 50.01,
    })
  })

  it('reports null limits, availability and percentages on the enterprise tier', async () => {
    const { ws, key } = await setup(t, 'enterprise')
    await usage(t, key, { feature: 'api_calls', quantity: 12 })
    const data = await summary(t, key)
    expect(data).toMatchObject({ workspace_id: ws.id, tier: 'enterprise' })
    expect(data.entitlements.posts).toEqual({ used: 0, limit: null, available: null, percentage: null })
    expect(data.entitlements.api_calls).toMatchObject({
      used: 12,
      limit: null,
      available: null,
      percentage: null,
    })
    expect(data.entitlements.storage).toEqual({
      used: 0,
      limit: null,
      available: null,
      percentage: null,
      unit: 'bytes',
    })
  })

  it('resets metered usage at the start of each UTC month; sizes never reset', async () => {
    const clock = t.clock as ManualClock
    const { key } = await setup(t, 'pro')
    clock.set(Date.UTC(2026, 0, 31, 23, 59, 59))
    expect((await usage(t, key, { feature: 'api_calls', quantity: 7 })).json().current_usage).toBe(7)
    await usage(t, key, { feature: 'storage', quantity: 100 })
    let data = await summary(t, key)
    expect(data.entitlements.api_calls).toMatchObject({ used: 7, reset_at: '2026-02-01T00:00:00Z' })

    clock.set(Date.UTC(2026, 1, 1, 0, 0, 0))
    data = await summary(t, key)
    expect(data.entitlements.api_calls).toEqual({
      used: 0,
      limit: 100000,
      available: 100000,
      percentage: 0,
      reset_at: '2026-03-01T00:00:00Z',
    })
    expect(data.entitlements.storage.used).toBe(100)
    expect((await check(t, key, 'feature=api_calls')).json().current_usage).toBe(0)
    expect((await usage(t, key, { feature: 'api_calls', quantity: 2 })).json().current_usage).toBe(2)

    // January's usage is still January's
    clock.set(Date.UTC(2026, 0, 31, 23, 59, 59))
    expect((await summary(t, key)).entitlements.api_calls.used).toBe(7)

    clock.set(Date.UTC(2026, 11, 15, 12, 0, 0))
    data = await summary(t, key)
    expect(data.entitlements.api_calls).toMatchObject({ used: 0, reset_at: '2027-01-01T00:00:00Z' })
  })
})

describe('entitlements: enforcement of count limits', () => {
  it('refuses the post beyond the limit with 403 feature_limit_reached and creates nothing', async () => {
    const { ws, key } = await setup(limited, 'free', { scopes: ['read', 'write', 'delete'] }) // posts: 3
    const ids: number[] = []
    for (const title of ['one', 'two', 'three']) {
      const res = await createPost(limited, key, title)
      expect(res.statusCode).toBe(201)
      ids.push(res.json().data.id)
    }
    const refused = await createPost(limited, key, 'four')
    expect(refused.statusCode).toBe(403)
    expect(refused.json()).toEqual({
      error: 'feature_limit_reached',
      message: 'You have reached your limit for this feature.',
      feature: 'posts',
      limit: 3,
      current_usage: 3,
      upgrade_url: OPERATOR_UPGRADE_URL,
      request_id: expect.stringMatching(/^req_/),
    })
    expect(await postTotal(limited, key)).toBe(3)
    expect((await check(limited, key, 'feature=posts')).json()).toMatchObject({
      allowed: false,
      available: 0,
    })

    // the limit is the workspace's, whoever creates
    const master = await limited.call(limited.masterKey, {
      method: 'POST',
      url: '/api/v1/posts',
      workspace: ws.id,
      payload: { title: 'master' },
    })
    expect(master.statusCode).toBe(403)
    expect(master.json().error).toBe('feature_limit_reached')

    // deleting one frees one place
    expect((await limited.call(key, { method: 'DELETE', url: `/api/v1/posts/${ids[0]}` })).statusCode).toBe(
      204,
    )
    expect((await createPost(limited, key, 'four')).statusCode).toBe(201)
    const again = await createPost(limited, key, 'five')
    expect(again.statusCode).toBe(403)
    expect(again.json()).toMatchObject({ feature: 'posts', limit: 3, current_usage: 3 })
    expect(await postTotal(limited, key)).toBe(3)
  })

  it('refuses the api key beyond the limit, while rotation at the limit still works', async () => {
    const ws = await limited.workspace({ tier: 'free' }) // api_keys: 2
    const first = await limited.key(ws.id, { scopes: ['*'] })
    const second = await limited.key(ws.id)
    const third = await limited.call(limited.masterKey, {
      method: 'POST',
      url: '/api/v1/api-keys',
      workspace: ws.id,
      payload: { name: 'third' },
    })
    expect(third.statusCode).toBe(403)
    expect(third.json()).toMatchObject({
      error: 'feature_limit_reached',
      feature: 'api_keys',
      limit: 2,
      current_usage: 2,
      upgrade_url: OPERATOR_UPGRADE_URL,
    })
    const listed = await limited.call(first.key, { method: 'GET', url: '/api/v1/api-keys' })
    expect(listed.json().meta.total).toBe(2)

    const rotated = await limited.call(first.key, {
      method: 'POST',
      url: `/api/v1/api-keys/${first.id}/rotate`,
      payload: {},
    })
    expect(rotated.statusCode).toBe(200)
    const fresh = rotated.json().data.key as string
    expect((await limited.call(fresh, { method: 'GET', url: '/api/v1/me' })).statusCode).toBe(200)
    expect((await limited.call(first.key, { method: 'GET', url: '/api/v1/me' })).statusCode).toBe(200) // grace
    expect((await check(limited, fresh, 'feature=api_keys')).json()).toMatchObject({
      current_usage: 2,
      allowed: false,
    })

    // rotating with no grace at the limit works too
    const instant = await limited.call(fresh, {
      method: 'POST',
      url: `/api/v1/api-keys/${second.id}/rotate`,
      payload: { grace_period_hours: 0 },
    })
    expect(instant.statusCode).toBe(200)
    expect((await limited.call(second.key, { method: 'GET', url: '/api/v1/me' })).statusCode).toBe(401)

    const stillFull = await limited.call(fresh, {
      method: 'POST',
      url: '/api/v1/api-keys',
      payload: { name: 'x' },
    })
    expect(stillFull.statusCode).toBe(403)
    expect(stillFull.json()).toMatchObject({ error: 'feature_limit_reached', current_usage: 2 })

    // revoking one frees a place
    const revoked = await limited.call(fresh, {
      method: 'DELETE',
      url: `/api/v1/api-keys/${instant.json().data.id}`,
    })
    expect(revoked.statusCode).toBe(204)
    const made = await limited.call(fresh, {
      method: 'POST',
      url: '/api/v1/api-keys',
      payload: { name: 'x' },
    })
    expect(made.statusCode).toBe(201)
  })

  it('refuses the webhook endpoint beyond the limit', async () => {
    const { key } = await setup(limited, 'free') // webhooks: 1
    const payload = { url: 'https://hooks.invalid/receive', events: ['*'] }
    const first = await limited.call(key, { method: 'POST', url: '/api/v1/webhooks', payload })
    expect(first.statusCode).toBe(201)
    const second = await limited.call(key, { method: 'POST', url: '/api/v1/webhooks', payload })
    expect(second.statusCode).toBe(403)
    expect(second.json()).toMatchObject({ error: 'feature_limit_reached', feature: 'webhooks', limit: 1 })
  })

  it('applies a tier change at once', async () => {
    const { ws, key } = await setup(limited, 'free') // posts: 3
    for (const title of ['one', 'two', 'three']) await createPost(limited, key, title)
    expect((await createPost(limited, key)).statusCode).toBe(403)

    const upgrade = await limited.call(limited.masterKey, {
      method: 'PATCH',
      url: `/api/v1/workspaces/${ws.id}`,
      payload: { tier: 'starter' }, // posts: 5
    })
    expect(upgrade.statusCode).toBe(200)
    expect((await check(limited, key, 'feature=posts')).json()).toEqual({
      allowed: true,
      feature: 'posts',
      current_usage: 3,
      limit: 5,
      available: 2,
    })
    expect((await createPost(limited, key, 'four')).statusCode).toBe(201)
    expect((await summary(limited, key)).tier).toBe('starter')

    await limited.call(limited.masterKey, {
      method: 'PATCH',
      url: `/api/v1/workspaces/${ws.id}`,
      payload: { tier: 'free' },
    })
    expect((await check(limited, key, 'feature=posts')).json()).toMatchObject({
      allowed: false,
      current_usage: 4,
      limit: 3,
      available: 0,
    })
    expect((await createPost(limited, key)).json()).toMatchObject({
      error: 'feature_limit_reached',
      limit: 3,
    })
    expect(await postTotal(limited, key)).toBe(4) // a downgrade deletes nothing
  })

  it('applies a tier change to the default plans (free → pro → enterprise)', async () => {
    const { ws, key } = await setup(t, 'free')
    expect((await check(t, key, 'feature=posts')).json().limit).toBe(100)
    const patch = (tier: string) =>
      t.call(t.masterKey, { method: 'PATCH', url: `/api/v1/workspaces/${ws.id}`, payload: { tier } })
    expect((await patch('pro')).statusCode).toBe(200)
    expect((await check(t, key, 'feature=posts')).json().limit).toBe(1000)
    expect((await summary(t, key)).entitlements.api_calls.limit).toBe(100000)
    await patch('enterprise')
    expect((await check(t, key, 'feature=posts')).json()).toMatchObject({ limit: null, available: null })
  })

  it('admits exactly the limit among concurrent creates', async () => {
    const { key } = await setup(limited, 'starter') // posts: 5
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => createPost(limited, key, `Concurrent ${i}`)),
    )
    const statuses = results.map((r) => r.statusCode)
    expect(statuses.filter((s) => s === 201)).toHaveLength(5)
    expect(statuses.filter((s) => s === 403)).toHaveLength(15)
    for (const r of results.filter((x) => x.statusCode === 403)) {
      expect(r.json()).toMatchObject({
        error: 'feature_limit_reached',
        feature: 'posts',
        limit: 5,
        current_usage: 5,
      })
    }
    expect(await postTotal(limited, key)).toBe(5)
  })
})

describe('entitlements: hard metered limits', () => {
  it('refuses a record that would pass the limit and records nothing', async () => {
    const { key } = await setup(hard, 'free') // api_calls: 10, hard
    const over = await usage(hard, key, { feature: 'api_calls', quantity: 11 })
    expect(over.statusCode).toBe(403)
    expect(over.json()).toEqual({
      error: 'feature_limit_reached',
      message: 'You have reached your limit for this feature.',
      feature: 'api_calls',
      limit: 10,
      current_usage: 0,
      upgrade_url: DEFAULT_UPGRADE_URL,
      request_id: expect.any(String),
    })
    expect((await summary(hard, key)).entitlements.api_calls.used).toBe(0)

    expect((await usage(hard, key, { feature: 'api_calls', quantity: 10 })).json()).toEqual({
      recorded: true,
      feature: 'api_calls',
      current_usage: 10,
      limit: 10,
    })
    const one = await usage(hard, key, { feature: 'api_calls', quantity: 1 })
    expect(one.statusCode).toBe(403)
    expect(one.json()).toMatchObject({ error: 'feature_limit_reached', current_usage: 10, limit: 10 })
    expect((await summary(hard, key)).entitlements.api_calls.used).toBe(10)
  })

  it('forgets the event_id of a refused record, so a smaller retry counts', async () => {
    const { key } = await setup(hard, 'free')
    expect((await usage(hard, key, { feature: 'api_calls', quantity: 8, event_id: 'a' })).statusCode).toBe(
      200,
    )
    expect((await usage(hard, key, { feature: 'api_calls', quantity: 5, event_id: 'b' })).statusCode).toBe(
      403,
    )
    const retry = await usage(hard, key, { feature: 'api_calls', quantity: 2, event_id: 'b' })
    expect(retry.statusCode).toBe(200)
    expect(retry.json().current_usage).toBe(10)
  })

  it('admits exactly the limit among concurrent records', async () => {
    const { key } = await setup(hard, 'free')
    const results = await Promise.all(
      Array.from({ length: 20 }, () => usage(hard, key, { feature: 'api_calls', quantity: 1 })),
    )
    const statuses = results.map((r) => r.statusCode)
    expect(statuses.filter((s) => s === 200)).toHaveLength(10)
    expect(statuses.filter((s) => s === 403)).toHaveLength(10)
    expect((await summary(hard, key)).entitlements.api_calls.used).toBe(10)
  })

  it('starts again in the next month', async () => {
    const clock = hard.clock as ManualClock
    const { key } = await setup(hard, 'free')
    clock.set(Date.UTC(2026, 6, 20, 12, 0, 0))
    await usage(hard, key, { feature: 'api_calls', quantity: 10 })
    expect((await usage(hard, key, { feature: 'api_calls', quantity: 1 })).statusCode).toBe(403)
    clock.set(Date.UTC(2026, 7, 1, 0, 0, 1))
    const next = await usage(hard, key, { feature: 'api_calls', quantity: 10 })
    expect(next.statusCode).toBe(200)
    expect(next.json().current_usage).toBe(10)
  })
})
