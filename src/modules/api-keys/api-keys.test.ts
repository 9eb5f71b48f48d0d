// API keys (seed 004 "API Keys"): create (shown once), list/get (prefix only), the list
// parameters, last-used tracking, expiry, rotation with a grace period, revocation, and the
// rules that keep one key from reaching beyond its own scopes or workspace. Time is moved with
// the harness's ManualClock, never by sleeping.
import { createHash } from 'node:crypto'
import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { type TestApp, useTestApp } from '../../testing/harness.ts'
import { findOrCreateUser } from '../users/index.ts'
import { apiKeys } from './tables.ts'

const t = useTestApp()
const clock = t.clock

const HOUR = 3_600_000
const LIVE_KEY = /^sk_live_[0-9A-Za-z]{40}$/
const TEST_KEY = /^sk_test_[0-9A-Za-z]{40}$/
const LIST_FIELDS = [
  'created_at',
  'environment',
  'expires_at',
  'id',
  'last_used_at',
  'name',
  'prefix',
  'rate_limit_tier',
  'revoked_at',
  'revoked_by',
  'scopes',
  'status',
]

/** ISO 8601 UTC at second precision, as the API writes timestamps. */
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')

type Call = Parameters<TestApp['call']>[1]
/** A request as the master key acting in `workspace`. */
const asMaster = (workspace: number, request: Call) => t.call(t.masterKey, { ...request, workspace })
const meStatus = async (key: string) => (await t.call(key, { method: 'GET', url: '/api/v1/me' })).statusCode
const list = async (workspace: number, query = '') => {
  const res = await asMaster(workspace, { method: 'GET', url: `/api/v1/api-keys${query}` })
  expect(res.statusCode, res.body).toBe(200)
  return res.json() as {
    data: Array<Record<string, unknown>>
    meta: { total: number } & Record<string, number>
  }
}
const ids = (items: Array<Record<string, unknown>>) => items.map((k) => k.id)
/** Attaches a user to a key straight in the database: no API gives a key a user yet. */
async function giveUser(keyId: number, email: string) {
  const user = await findOrCreateUser(t.database.db, email, 'Ada Lovelace')
  await t.database.db.update(apiKeys).set({ userId: user.id }).where(eq(apiKeys.id, keyId))
  return user
}

describe('api keys: happy paths', () => {
  it('creates a key shown once, with the default scopes, that authenticates', async () => {
    const ws = await t.workspace()
    const res = await asMaster(ws.id, {
      method: 'POST',
      url: '/api/v1/api-keys',
      payload: { name: 'Mobile' },
    })
    expect(res.statusCode).toBe(201)
    const body = res.json()
    expect(body.message).toBe('API key created successfully.')
    expect(body.data.key).toMatch(LIVE_KEY)
    expect(body.data).toEqual({
      id: expect.any(Number),
      name: 'Mobile',
      key: body.data.key,
      prefix: body.data.key.slice(0, 12),
      environment: 'live',
      scopes: ['read', 'write'],
      rate_limit_tier: 'enterprise', // none given: the workspace's
      expires_at: null,
      created_at: iso(clock.now()),
    })

    const me = await t.call(body.data.key, { method: 'GET', url: '/api/v1/me' })
    expect(me.statusCode).toBe(200)
    expect(me.json().data).toMatchObject({
      type: 'api_key',
      key: { id: body.data.id, name: 'Mobile', prefix: body.data.prefix },
      workspace: { id: ws.id },
      scopes: ['read', 'write'],
    })
  })

  it('creates sk_test_ keys with environment "test", which authenticate too', async () => {
    const ws = await t.workspace()
    const res = await asMaster(ws.id, {
      method: 'POST',
      url: '/api/v1/api-keys',
      payload: { name: 'Sandbox', environment: 'test' },
    })
    expect(res.statusCode).toBe(201)
    const { data } = res.json()
    expect(data.key).toMatch(TEST_KEY)
    expect(data).toMatchObject({ environment: 'test', prefix: data.key.slice(0, 12) })
    expect(await meStatus(data.key)).toBe(200)
    const [listed] = (await list(ws.id)).data
    expect(listed).toMatchObject({ id: data.id, environment: 'test', prefix: data.prefix })
  })

  it('keeps the given scopes, tier and expiry, with the expiry in UTC', async () => {
    const ws = await t.workspace()
    const res = await asMaster(ws.id, {
      method: 'POST',
      url: '/api/v1/api-keys',
      payload: {
        name: 'Partner',
        scopes: ['posts:read', 'users:read'],
        rate_limit_tier: 'pro',
        expires_at: '2999-01-01T02:00:00+02:00',
      },
    })
    expect(res.statusCode).toBe(201)
    expect(res.json().data).toMatchObject({
      scopes: ['posts:read', 'users:read'],
      rate_limit_tier: 'pro',
      expires_at: '2999-01-01T00:00:00Z',
    })
  })

  it('lists and gets keys with their prefix only: the secret never comes back', async () => {
    const ws = await t.workspace()
    const made = [await t.key(ws.id, { name: 'one' }), await t.key(ws.id, { name: 'two' })]
    const reader = await t.key(ws.id, { name: 'reader', scopes: ['api-keys:read'] })
    made.push(reader)

    const res = await t.call(reader.key, { method: 'GET', url: '/api/v1/api-keys' })
    expect(res.statusCode).toBe(200)
    const body = res.json()
    // newest first; same creation time, so the id breaks the tie
    expect(ids(body.data)).toEqual([reader.id, made[1]!.id, made[0]!.id])
    expect(body.meta).toEqual({ current_page: 1, from: 1, last_page: 1, per_page: 25, to: 3, total: 3 })
    expect(body.links).toEqual({
      first: 'http://api.test/api/v1/api-keys?page=1',
      last: 'http://api.test/api/v1/api-keys?page=1',
      prev: null,
      next: null,
    })
    for (const item of body.data) {
      expect(Object.keys(item).sort()).toEqual(LIST_FIELDS)
      expect(item.prefix).toMatch(/^sk_live_[0-9A-Za-z]{4}$/)
    }

    for (const { id, key } of made) {
      const one = await t.call(reader.key, { method: 'GET', url: `/api/v1/api-keys/${id}` })
      expect(one.statusCode).toBe(200)
      expect(Object.keys(one.json().data).sort()).toEqual(LIST_FIELDS)
      expect(one.json().data).toMatchObject({ id, prefix: key.slice(0, 12), status: 'active' })
      for (const secret of made.map((m) => m.key)) {
        expect(one.body).not.toContain(secret)
        expect(res.body).not.toContain(secret)
      }
    }
  })

  it('paginates with per_page, with absolute links', async () => {
    const ws = await t.workspace()
    for (const name of ['a', 'b', 'c']) await t.key(ws.id, { name })
    const page1 = await list(ws.id, '?per_page=2')
    expect(page1.data).toHaveLength(2)
    expect(page1.meta).toEqual({ current_page: 1, from: 1, last_page: 2, per_page: 2, to: 2, total: 3 })
    const page2 = await asMaster(ws.id, { method: 'GET', url: '/api/v1/api-keys?per_page=2&page=2' })
    expect(page2.json().data).toHaveLength(1)
    expect(page2.json().links.prev).toBe('http://api.test/api/v1/api-keys?per_page=2&page=1')
    expect(page2.json().links.next).toBeNull()
  })

  it('selects fields, sorts, searches (literally) and filters by creation date', async () => {
    const ws = await t.workspace()
    const beta = await t.key(ws.id, { name: 'Beta mobile' })
    const alpha = await t.key(ws.id, { name: 'Alpha MOBILE' })
    const gamma = await t.key(ws.id, { name: 'Gamma 100% server' })

    const narrow = await list(ws.id, '?fields=name,prefix&sort=name')
    expect(narrow.data).toEqual([
      { id: alpha.id, name: 'Alpha MOBILE', prefix: alpha.key.slice(0, 12) },
      { id: beta.id, name: 'Beta mobile', prefix: beta.key.slice(0, 12) },
      { id: gamma.id, name: 'Gamma 100% server', prefix: gamma.key.slice(0, 12) },
    ])
    // `id` is always returned, and may be named
    expect((await list(ws.id, '?fields=id,name&sort=name')).data).toEqual([
      { id: alpha.id, name: 'Alpha MOBILE' },
      { id: beta.id, name: 'Beta mobile' },
      { id: gamma.id, name: 'Gamma 100% server' },
    ])
    expect((await list(ws.id, '?fields=id&sort=name')).data).toEqual([
      { id: alpha.id },
      { id: beta.id },
      { id: gamma.id },
    ])
    expect(ids((await list(ws.id, '?sort=-name')).data)).toEqual([gamma.id, beta.id, alpha.id])
    expect(ids((await list(ws.id, '?search=mobile&sort=name')).data)).toEqual([alpha.id, beta.id])
    // `%` is a character to find, not a wildcard
    expect(ids((await list(ws.id, '?search=%25')).data)).toEqual([gamma.id])
    expect((await list(ws.id, '?search=nothing-like-this')).meta.total).toBe(0)

    expect((await list(ws.id, `?created_after=${iso(clock.now() + 60_000)}`)).meta.total).toBe(0)
    expect((await list(ws.id, `?created_before=${iso(clock.now() + 60_000)}`)).meta.total).toBe(3)
  })

  it('embeds the creating user with include=user (null for keys made by the master key)', async () => {
    const ws = await t.workspace()
    const orphan = await t.key(ws.id, { name: 'by master' })
    const parent = await t.key(ws.id, { name: 'by a person', scopes: ['api-keys:*'] })
    const ada = await giveUser(parent.id, `ada-${ws.id}@example.com`)

    // a key belongs to the user who made it: a key made by `parent` is Ada's
    const child = await t.call(parent.key, {
      method: 'POST',
      url: '/api/v1/api-keys',
      payload: { name: 'child', scopes: ['api-keys:read'] },
    })
    expect(child.statusCode).toBe(201)
    const childId = child.json().data.id

    const plain = await list(ws.id)
    expect(plain.data.every((k) => !('user' in k))).toBe(true)
    const withUser = await list(ws.id, '?include=user')
    const byId = new Map(withUser.data.map((k) => [k.id, k.user]))
    expect(byId.get(orphan.id)).toBeNull()
    expect(byId.get(parent.id)).toEqual({ id: ada.id, email: ada.email, name: 'Ada Lovelace' })
    expect(byId.get(childId)).toEqual({ id: ada.id, email: ada.email, name: 'Ada Lovelace' })

    const narrowed = await list(ws.id, '?include=user&fields=name&sort=id')
    expect(narrowed.data[0]).toEqual({ id: orphan.id, name: 'by master', user: null })

    const one = await asMaster(ws.id, { method: 'GET', url: `/api/v1/api-keys/${childId}?include=user` })
    expect(one.json().data.user).toEqual({ id: ada.id, email: ada.email, name: 'Ada Lovelace' })
    const bare = await asMaster(ws.id, { method: 'GET', url: `/api/v1/api-keys/${childId}` })
    expect(bare.json().data).not.toHaveProperty('user')
  })

  it('records last_used_at when a key is used', async () => {
    const ws = await t.workspace()
    const { key, id } = await t.key(ws.id)
    const get = async () =>
      (await asMaster(ws.id, { method: 'GET', url: `/api/v1/api-keys/${id}` })).json().data
    expect((await get()).last_used_at).toBeNull()

    expect(await meStatus(key)).toBe(200)
    const firstUse = iso(clock.now())
    expect((await get()).last_used_at).toBe(firstUse)

    clock.advance(90_000)
    expect(await meStatus(key)).toBe(200)
    expect((await get()).last_used_at).toBe(iso(clock.now()))
    const [listed] = (await list(ws.id)).data
    expect(listed!.last_used_at).toBe(iso(clock.now()))
  })

  it('stops a key at expires_at and lists it as expired', async () => {
    const ws = await t.workspace()
    const expiresAt = clock.now() + HOUR
    const expiring = await t.key(ws.id, { name: 'expiring', expires_at: new Date(expiresAt).toISOString() })
    const forever = await t.key(ws.id, { name: 'forever' })
    expect(await meStatus(expiring.key)).toBe(200)
    expect((await list(ws.id, '?status=expired')).data).toEqual([])

    clock.advance(HOUR - 1000)
    expect(await meStatus(expiring.key)).toBe(200)
    clock.advance(2000)
    const refused = await t.call(expiring.key, { method: 'GET', url: '/api/v1/me' })
    expect(refused.statusCode).toBe(401)
    expect(refused.json().error).toBe('unauthorized')
    expect(refused.headers['www-authenticate']).toMatch(/^Bearer/)
    expect(await meStatus(forever.key)).toBe(200)

    expect(ids((await list(ws.id, '?status=expired')).data)).toEqual([expiring.id])
    expect(ids((await list(ws.id, '?status=active')).data)).toEqual([forever.id])
    const one = await asMaster(ws.id, { method: 'GET', url: `/api/v1/api-keys/${expiring.id}` })
    expect(one.json().data).toMatchObject({ status: 'expired', expires_at: iso(expiresAt) })
  })

  it('rotates with the default 24 h grace: both keys work, then only the new one', async () => {
    const ws = await t.workspace()
    const old = await t.key(ws.id, {
      name: 'Server',
      scopes: ['posts:read', 'api-keys:*'],
      rate_limit_tier: 'pro',
    })
    const rotatedAt = clock.now()
    const res = await t.call(old.key, { method: 'POST', url: `/api/v1/api-keys/${old.id}/rotate` })
    expect(res.statusCode).toBe(200)
    const { message, data } = res.json()
    expect(message).toBe('API key rotated successfully.')
    expect(data.key).toMatch(LIVE_KEY)
    expect(data.key).not.toBe(old.key)
    expect(data).toMatchObject({
      name: 'Server',
      prefix: data.key.slice(0, 12),
      scopes: ['posts:read', 'api-keys:*'],
      rate_limit_tier: 'pro',
      rotated_from_id: old.id,
      grace_period_ends_at: iso(rotatedAt + 24 * HOUR),
    })
    expect(data.id).toEqual(expect.any(Number))
    expect(data.id).not.toBe(old.id)

    expect(await meStatus(old.key)).toBe(200)
    expect(await meStatus(data.key)).toBe(200)
    const oldRecord = await asMaster(ws.id, { method: 'GET', url: `/api/v1/api-keys/${old.id}` })
    expect(oldRecord.json().data).toMatchObject({ status: 'active', expires_at: iso(rotatedAt + 24 * HOUR) })
    expect(ids((await list(ws.id)).data)).toEqual([data.id, old.id])

    const again = await t.call(data.key, { method: 'POST', url: `/api/v1/api-keys/${old.id}/rotate` })
    expect(again.statusCode).toBe(409)
    expect(again.json().error).toBe('conflict')

    clock.advance(24 * HOUR - 1000)
    expect(await meStatus(old.key)).toBe(200)
    clock.advance(2000) // 24 h + 1 s after the rotation
    expect(await meStatus(old.key)).toBe(401)
    expect(await meStatus(data.key)).toBe(200)
    expect(ids((await list(ws.id, '?status=expired')).data)).toEqual([old.id])
  })

  it('rotates with grace_period_hours 0: the old key dies at once', async () => {
    const ws = await t.workspace()
    const old = await t.key(ws.id, { environment: 'test' })
    const res = await asMaster(ws.id, {
      method: 'POST',
      url: `/api/v1/api-keys/${old.id}/rotate`,
      payload: { grace_period_hours: 0 },
    })
    expect(res.statusCode).toBe(200)
    const { data } = res.json()
    expect(data.key).toMatch(TEST_KEY) // the environment is kept
    expect(data).toMatchObject({ rotated_from_id: old.id, grace_period_ends_at: iso(clock.now()) })
    expect(await meStatus(old.key)).toBe(401)
    expect(await meStatus(data.key)).toBe(200)
    const record = await asMaster(ws.id, { method: 'GET', url: `/api/v1/api-keys/${old.id}` })
    expect(record.json().data).toMatchObject({
      status: 'revoked',
      revoked_at: iso(clock.now()),
      revoked_by: { type: 'master_key', key_id: null, user_id: null },
    })
    expect(ids((await list(ws.id)).data)).toEqual([data.id])
    expect(ids((await list(ws.id, '?status=revoked')).data)).toEqual([old.id])
  })

  it('accepts the longest grace period (720 h) and rotates the replacement again', async () => {
    const ws = await t.workspace()
    const old = await t.key(ws.id)
    const res = await asMaster(ws.id, {
      method: 'POST',
      url: `/api/v1/api-keys/${old.id}/rotate`,
      payload: { grace_period_hours: 720 },
    })
    expect(res.statusCode).toBe(200)
    expect(res.json().data.grace_period_ends_at).toBe(iso(clock.now() + 720 * HOUR))
    const next = await asMaster(ws.id, {
      method: 'POST',
      url: `/api/v1/api-keys/${res.json().data.id}/rotate`,
    })
    expect(next.statusCode).toBe(200)
    expect(next.json().data.rotated_from_id).toBe(res.json().data.id)
  })

  it('revokes at once: 204 with no body, then 401 for the key, which stays on record as revoked', async () => {
    const ws = await t.workspace({ tier: 'pro' })
    const { key, id } = await t.key(ws.id, { name: 'Doomed', scopes: ['*'] })
    const other = await t.key(ws.id)
    expect(await meStatus(key)).toBe(200) // cached on this instance before the revocation
    const res = await t.call(key, { method: 'DELETE', url: `/api/v1/api-keys/${id}` })
    expect(res.statusCode).toBe(204)
    expect(res.body).toBe('')
    expect(await meStatus(key)).toBe(401)
    expect(await meStatus(other.key)).toBe(200)

    const revokedAt = iso(clock.now())
    const one = await asMaster(ws.id, { method: 'GET', url: `/api/v1/api-keys/${id}` })
    expect(one.statusCode).toBe(200)
    expect(one.json()).toEqual({
      data: {
        id,
        name: 'Doomed',
        prefix: key.slice(0, 12),
        environment: 'live',
        scopes: ['*'],
        rate_limit_tier: 'pro',
        status: 'revoked',
        last_used_at: revokedAt,
        expires_at: null,
        created_at: expect.any(String),
        revoked_at: revokedAt,
        revoked_by: { type: 'api_key', key_id: id, user_id: null },
      },
    })
    expect(one.body).not.toContain(key)
    // The usual list holds the keys that work or have expired; the revoked ones are asked for.
    expect(ids((await list(ws.id)).data)).toEqual([other.id])
    expect(ids((await list(ws.id, '?status=active')).data)).toEqual([other.id])
    const revoked = await list(ws.id, '?status=revoked&fields=name,status,revoked_at,revoked_by')
    expect(revoked).toEqual({
      data: [
        {
          id,
          name: 'Doomed',
          status: 'revoked',
          revoked_at: revokedAt,
          revoked_by: { type: 'api_key', key_id: id, user_id: null },
        },
      ],
      meta: { current_page: 1, from: 1, last_page: 1, per_page: 25, to: 1, total: 1 },
      links: {
        first:
          'http://api.test/api/v1/api-keys?status=revoked&fields=name%2Cstatus%2Crevoked_at%2Crevoked_by&page=1',
        last: 'http://api.test/api/v1/api-keys?status=revoked&fields=name%2Cstatus%2Crevoked_at%2Crevoked_by&page=1',
        prev: null,
        next: null,
      },
    })

    const twice = await asMaster(ws.id, { method: 'DELETE', url: `/api/v1/api-keys/${id}` })
    expect(twice.statusCode).toBe(409)
    expect(twice.json()).toEqual({
      error: 'conflict',
      message: 'This API key is already revoked.',
      request_id: twice.headers['x-request-id'],
    })
    // The record is unchanged, and the key still never authenticates.
    expect((await asMaster(ws.id, { method: 'GET', url: `/api/v1/api-keys/${id}` })).json()).toEqual(
      one.json(),
    )
    expect(await meStatus(key)).toBe(401)
  })

  it('shows the workspace tier for a key created without one, and follows it when it changes', async () => {
    const ws = await t.workspace({ tier: 'starter' })
    const follower = await t.key(ws.id)
    const pinned = await t.key(ws.id, { rate_limit_tier: 'free' })
    const tiers = async () => (await list(ws.id, '?fields=rate_limit_tier&sort=id')).data
    expect(await tiers()).toEqual([
      { id: follower.id, rate_limit_tier: 'starter' },
      { id: pinned.id, rate_limit_tier: 'free' },
    ])
    const changed = await asMaster(ws.id, {
      method: 'PATCH',
      url: `/api/v1/workspaces/${ws.id}`,
      payload: { tier: 'agency' },
    })
    expect(changed.statusCode, changed.body).toBe(200)
    expect(await tiers()).toEqual([
      { id: follower.id, rate_limit_tier: 'agency' },
      { id: pinned.id, rate_limit_tier: 'free' },
    ])
    const one = await asMaster(ws.id, { method: 'GET', url: `/api/v1/api-keys/${follower.id}` })
    expect(one.json().data.rate_limit_tier).toBe('agency')
  })
})

describe('api keys: errors', () => {
  it('rejects invalid create bodies with 422 naming the field, and stores nothing', async () => {
    const ws = await t.workspace()
    const before = (await list(ws.id)).meta.total
    const cases: Array<[unknown, string]> = [
      [{}, 'name'],
      [{ name: '' }, 'name'],
      [{ name: '   ' }, 'name'],
      [{ name: 42 }, 'name'],
      [{ name: 'x'.repeat(256) }, 'name'],
      [{ name: 'x', color: 'red' }, 'color'],
      [{ name: 'x', scopes: ['posts:fly'] }, 'scopes'],
      [{ name: 'x', scopes: ['admin'] }, 'scopes'],
      [{ name: 'x', scopes: ['posts:read:all'] }, 'scopes'],
      [{ name: 'x', scopes: ['widgets:read'] }, 'scopes'],
      [{ name: 'x', scopes: 'read' }, 'scopes'],
      [{ name: 'x', expires_at: iso(clock.now() - 60_000) }, 'expires_at'],
      [{ name: 'x', expires_at: '2020-01-01T00:00:00Z' }, 'expires_at'],
      [{ name: 'x', expires_at: 'tomorrow' }, 'expires_at'],
      [{ name: 'x', expires_at: '2999-02-30T00:00:00Z' }, 'expires_at'],
      [{ name: 'x', expires_at: 32_503_680_000 }, 'expires_at'],
      [{ name: 'x', rate_limit_tier: 'platinum' }, 'rate_limit_tier'],
      [{ name: 'x', environment: 'prod' }, 'environment'],
    ]
    for (const [payload, field] of cases) {
      const res = await asMaster(ws.id, {
        method: 'POST',
        url: '/api/v1/api-keys',
        payload: payload as object,
      })
      expect(res.statusCode, JSON.stringify(payload)).toBe(422)
      const body = res.json()
      expect(body).toMatchObject({
        error: 'validation_failed',
        message: 'The given data was invalid.',
        request_id: res.headers['x-request-id'],
      })
      expect(Object.keys(body.errors), JSON.stringify(payload)).toContain(field)
      expect(body.errors[field]).toEqual(expect.arrayContaining([expect.any(String)]))
    }
    expect((await list(ws.id)).meta.total).toBe(before)

    const longest = await asMaster(ws.id, {
      method: 'POST',
      url: '/api/v1/api-keys',
      payload: { name: 'x'.repeat(255) },
    })
    expect(longest.statusCode).toBe(201)
    expect((await list(ws.id)).meta.total).toBe(before + 1)
  })

  it('rejects invalid rotate bodies with 422 (no coercion) and leaves the key as it was', async () => {
    const ws = await t.workspace()
    const { key, id } = await t.key(ws.id)
    for (const payload of [
      { grace_period_hours: 721 },
      { grace_period_hours: -1 },
      { grace_period_hours: '5' },
      { grace_period_hours: 1.5 },
      { grace_period_hours: null },
      { grace: 5 },
    ]) {
      const res = await asMaster(ws.id, { method: 'POST', url: `/api/v1/api-keys/${id}/rotate`, payload })
      expect(res.statusCode, JSON.stringify(payload)).toBe(422)
      expect(res.json().error).toBe('validation_failed')
      const field = Object.keys(payload)[0]!
      expect(Object.keys(res.json().errors), JSON.stringify(payload)).toContain(field)
    }
    const after = await list(ws.id)
    expect(ids(after.data)).toEqual([id])
    expect(after.data[0]!.expires_at).toBeNull()
    expect(await meStatus(key)).toBe(200)
  })

  it('refuses a rate_limit_tier above the workspace tier from a key, not from the operator', async () => {
    const ws = await t.workspace({ tier: 'starter' })
    const { key } = await t.key(ws.id, { scopes: ['api-keys:*'] })
    const before = (await list(ws.id)).meta.total
    for (const tier of ['pro', 'agency', 'enterprise']) {
      const res = await t.call(key, {
        method: 'POST',
        url: '/api/v1/api-keys',
        payload: { name: 'x', scopes: ['api-keys:read'], rate_limit_tier: tier },
      })
      expect(res.statusCode, tier).toBe(422)
      expect(Object.keys(res.json().errors)).toEqual(['rate_limit_tier'])
    }
    expect((await list(ws.id)).meta.total).toBe(before)
    for (const tier of ['free', 'starter']) {
      const res = await t.call(key, {
        method: 'POST',
        url: '/api/v1/api-keys',
        payload: { name: 'x', scopes: ['api-keys:read'], rate_limit_tier: tier },
      })
      expect(res.statusCode, tier).toBe(201)
    }
    const operator = await asMaster(ws.id, {
      method: 'POST',
      url: '/api/v1/api-keys',
      payload: { name: 'x', rate_limit_tier: 'enterprise' },
    })
    expect(operator.statusCode).toBe(201)
  })

  it('answers 404 for unknown or malformed key ids', async () => {
    const ws = await t.workspace()
    for (const id of ['999999', 'abc', '0', '-1', '99999999999999']) {
      for (const [method, url] of [
        ['GET', `/api/v1/api-keys/${id}`],
        ['POST', `/api/v1/api-keys/${id}/rotate`],
        ['DELETE', `/api/v1/api-keys/${id}`],
      ] as const) {
        const res = await asMaster(ws.id, { method, url })
        expect(res.statusCode, `${method} ${url}`).toBe(404)
        expect(res.json().error).toBe('not_found')
      }
    }
  })

  it('rejects unknown query parameters, sort keys, fields, includes and statuses with 422', async () => {
    const ws = await t.workspace()
    await t.key(ws.id)
    for (const query of [
      'foo=1',
      'sort=key_hash',
      'fields=key',
      'fields=key_hash',
      'include=workspace',
      'status=deleted',
      'per_page=101',
      'page=0',
      'created_after=yesterday',
    ]) {
      const res = await asMaster(ws.id, { method: 'GET', url: `/api/v1/api-keys?${query}` })
      expect(res.statusCode, query).toBe(422)
      expect(res.json().error).toBe('validation_failed')
    }
    const one = await asMaster(ws.id, { method: 'GET', url: '/api/v1/api-keys/1?include=secret' })
    expect(one.statusCode).toBe(422)
  })

  it('answers a NUL character in a name with 422, never 500, and stores nothing', async () => {
    const ws = await t.workspace()
    const res = await asMaster(ws.id, {
      method: 'POST',
      url: '/api/v1/api-keys',
      payload: '{"name":"bad\\u0000name"}',
      headers: { 'content-type': 'application/json' },
    })
    expect(res.statusCode).toBe(422)
    expect(Object.keys(res.json().errors)).toContain('name')
    expect((await list(ws.id)).meta.total).toBe(0)
  })

  it('answers list filters PostgreSQL cannot take (NUL in search, year 0) without a 500', async () => {
    const ws = await t.workspace()
    for (const query of ['search=%00', 'search=a%00b', 'created_after=0000-01-01']) {
      const res = await asMaster(ws.id, { method: 'GET', url: `/api/v1/api-keys?${query}` })
      expect(res.statusCode, `${query}: ${res.body}`).toBeLessThan(500)
    }
  })
})

describe('api keys: security', () => {
  it('a key without api-keys:write cannot create keys, whatever it asks for', async () => {
    const ws = await t.workspace()
    const { key } = await t.key(ws.id, { scopes: ['posts:read'] })
    const before = (await list(ws.id)).meta.total
    for (const scopes of [['api-keys:write'], ['*'], ['posts:read']]) {
      const res = await t.call(key, {
        method: 'POST',
        url: '/api/v1/api-keys',
        payload: { name: 'x', scopes },
      })
      expect(res.statusCode, JSON.stringify(scopes)).toBe(403)
      expect(res.json()).toMatchObject({
        error: 'access_denied',
        message: 'Insufficient permissions. Required scope: api-keys:write',
      })
    }
    const read = await t.call(key, { method: 'GET', url: '/api/v1/api-keys' })
    expect(read.statusCode).toBe(403)
    expect(read.json().message).toContain('api-keys:read')
    expect((await list(ws.id)).meta.total).toBe(before)
  })

  it('a key cannot grant a scope it does not hold (403 naming it); a narrower one is fine', async () => {
    const ws = await t.workspace()
    const { key } = await t.key(ws.id, { scopes: ['api-keys:*'] })
    const before = (await list(ws.id)).meta.total
    const denied = async (payload: Record<string, unknown>) => {
      const res = await t.call(key, { method: 'POST', url: '/api/v1/api-keys', payload })
      expect(res.statusCode, JSON.stringify(payload)).toBe(403)
      expect(res.json().error).toBe('access_denied')
      return res.json().message as string
    }
    expect(await denied({ name: 'x', scopes: ['posts:write'] })).toContain('posts:write')
    expect(await denied({ name: 'x', scopes: ['api-keys:read', 'webhooks:delete'] })).toContain(
      'webhooks:delete',
    )
    await denied({ name: 'x', scopes: ['*'] })
    await denied({ name: 'x', scopes: ['read'] })
    await denied({ name: 'x' }) // the default ["read", "write"] is more than it holds
    expect((await list(ws.id)).meta.total).toBe(before)

    const narrower = await t.call(key, {
      method: 'POST',
      url: '/api/v1/api-keys',
      payload: { name: 'x', scopes: ['api-keys:read'] },
    })
    expect(narrower.statusCode).toBe(201)
  })

  it('write implies read but not delete when granting', async () => {
    const ws = await t.workspace()
    const { key } = await t.key(ws.id, { scopes: ['api-keys:write'] })
    const ok = await t.call(key, {
      method: 'POST',
      url: '/api/v1/api-keys',
      payload: { name: 'x', scopes: ['api-keys:read'] },
    })
    expect(ok.statusCode).toBe(201)
    const no = await t.call(key, {
      method: 'POST',
      url: '/api/v1/api-keys',
      payload: { name: 'x', scopes: ['api-keys:delete'] },
    })
    expect(no.statusCode).toBe(403)
    expect(no.json().message).toContain('api-keys:delete')
  })

  it('a key cannot obtain a more powerful secret by rotating a key with scopes it lacks', async () => {
    const ws = await t.workspace()
    const admin = await t.key(ws.id, { name: 'admin', scopes: ['*'] })
    const weak = await t.key(ws.id, { name: 'weak', scopes: ['api-keys:write'] })
    const res = await t.call(weak.key, { method: 'POST', url: `/api/v1/api-keys/${admin.id}/rotate` })
    expect(res.statusCode, res.body).toBe(403)
    expect(res.json().error).toBe('access_denied')
    expect(res.body).not.toMatch(/sk_live_[0-9A-Za-z]{40}/)
    // the admin key was not rotated: no replacement, no grace period
    expect(ids((await list(ws.id)).data).sort()).toEqual([admin.id, weak.id].sort())
    const record = await asMaster(ws.id, { method: 'GET', url: `/api/v1/api-keys/${admin.id}` })
    expect(record.json().data.expires_at).toBeNull()
  })

  it('needs api-keys:delete to revoke', async () => {
    const ws = await t.workspace()
    const { key, id } = await t.key(ws.id) // read, write
    const res = await t.call(key, { method: 'DELETE', url: `/api/v1/api-keys/${id}` })
    expect(res.statusCode).toBe(403)
    expect(res.json().message).toBe('Insufficient permissions. Required scope: api-keys:delete')
    expect(await meStatus(key)).toBe(200)
  })

  it("cannot see, rotate or revoke another workspace's key, which keeps working", async () => {
    const mine = await t.workspace()
    const theirs = await t.workspace()
    const { key } = await t.key(mine.id, { scopes: ['*'] })
    const victim = await t.key(theirs.id, { scopes: ['*'] })
    for (const [method, url, payload] of [
      ['GET', `/api/v1/api-keys/${victim.id}`, undefined],
      ['POST', `/api/v1/api-keys/${victim.id}/rotate`, { grace_period_hours: 0 }],
      ['POST', `/api/v1/api-keys/${victim.id}/rotate`, undefined],
      ['DELETE', `/api/v1/api-keys/${victim.id}`, undefined],
    ] as const) {
      const res = await t.call(key, { method, url, ...(payload && { payload }) })
      expect(res.statusCode, `${method} ${url}`).toBe(404)
      expect(res.json().error).toBe('not_found')
      expect(res.body).not.toContain(victim.key.slice(0, 12))
    }
    const own = (await t.call(key, { method: 'GET', url: '/api/v1/api-keys' })).json()
    expect(ids(own.data)).not.toContain(victim.id)

    expect(await meStatus(victim.key)).toBe(200)
    const theirList = await list(theirs.id)
    expect(ids(theirList.data)).toEqual([victim.id])
    expect(theirList.data[0]!.expires_at).toBeNull()
  })

  it('a key acts only in its own workspace: X-Workspace-ID naming another is 403', async () => {
    const mine = await t.workspace()
    const theirs = await t.workspace()
    const { key } = await t.key(mine.id, { scopes: ['*'] })
    for (const workspace of [theirs.id, 999_999]) {
      const res = await t.call(key, { method: 'GET', url: '/api/v1/api-keys', workspace })
      expect(res.statusCode, String(workspace)).toBe(403)
      expect(res.json().error).toBe('access_denied')
      const create = await t.call(key, {
        method: 'POST',
        url: '/api/v1/api-keys',
        workspace,
        payload: { name: 'planted' },
      })
      expect(create.statusCode).toBe(403)
    }
    expect((await list(theirs.id)).meta.total).toBe(0)
    const same = await t.call(key, { method: 'GET', url: '/api/v1/api-keys', workspace: mine.id })
    expect(same.statusCode).toBe(200)
  })

  it('the master key must name an existing workspace: 400 without, 403 for a missing one', async () => {
    const none = await t.call(t.masterKey, { method: 'GET', url: '/api/v1/api-keys' })
    expect(none.statusCode).toBe(400)
    expect(none.json()).toMatchObject({
      error: 'workspace_required',
      request_id: none.headers['x-request-id'],
    })
    const create = await t.call(t.masterKey, {
      method: 'POST',
      url: '/api/v1/api-keys',
      payload: { name: 'x' },
    })
    expect(create.statusCode).toBe(400)
    expect(create.json().error).toBe('workspace_required')
    for (const workspace of ['999999', '0', 'abc', '-1']) {
      const res = await t.call(t.masterKey, {
        method: 'GET',
        url: '/api/v1/api-keys',
        headers: { 'x-workspace-id': workspace },
      })
      expect(res.statusCode, workspace).toBe(404)
      expect(res.json().error).toBe('not_found')
    }
  })

  it('revoked and expired keys cannot manage keys', async () => {
    const ws = await t.workspace()
    const revoked = await t.key(ws.id, { scopes: ['*'] })
    const target = await t.key(ws.id)
    await asMaster(ws.id, { method: 'DELETE', url: `/api/v1/api-keys/${revoked.id}` })
    const res = await t.call(revoked.key, { method: 'DELETE', url: `/api/v1/api-keys/${target.id}` })
    expect(res.statusCode).toBe(401)
    const expiring = await t.key(ws.id, {
      scopes: ['*'],
      expires_at: new Date(clock.now() + 60_000).toISOString(),
    })
    clock.advance(61_000)
    const late = await t.call(expiring.key, {
      method: 'POST',
      url: '/api/v1/api-keys',
      payload: { name: 'x' },
    })
    expect(late.statusCode).toBe(401)
    expect(await meStatus(target.key)).toBe(200)
  })

  it('stores only the SHA-256 of the secret', async () => {
    const ws = await t.workspace()
    const { key, id } = await t.key(ws.id)
    const [row] = await t.database.db.select().from(apiKeys).where(eq(apiKeys.id, id))
    expect(row!.keyHash).toBe(createHash('sha256').update(key).digest('hex'))
    expect(row!.prefix).toBe(key.slice(0, 12))
    expect(JSON.stringify(row)).not.toContain(key)
  })
})
