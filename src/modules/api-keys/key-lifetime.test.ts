// What a key may do to keys' lifetimes. Revoking at once is deleting: a rotation with
// `grace_period_hours: 0` needs `api-keys:delete` as well as `api-keys:write`. A key never
// mints a key that outlives it: a key with an expiry creates (or rotates into) keys that expire
// no later than itself. Against the real database; after every refusal, nothing changed.

import { beforeAll, describe, expect, it } from 'vitest'
import { useTestApp } from '../../testing/harness.ts'

const HOUR = 3_600_000
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')

const t = useTestApp()
const clock = t.clock
let workspace: number
beforeAll(async () => {
  workspace = (await t.workspace()).id
})

async function keyTotal(): Promise<number> {
  const res = await t.call(t.masterKey, { method: 'GET', url: '/api/v1/api-keys?per_page=1', workspace })
  return res.json().meta.total
}

const me = (key: string) => t.call(key, { method: 'GET', url: '/api/v1/me' })

function rotate(credential: string, id: number, payload: Record<string, unknown> = {}) {
  return t.call(credential, { method: 'POST', url: `/api/v1/api-keys/${id}/rotate`, payload })
}

describe('api keys: a rotation that revokes at once needs api-keys:delete', () => {
  it('refuses grace_period_hours 0 without api-keys:delete, naming the scope, and changes nothing', async () => {
    const writer = await t.key(workspace, { scopes: ['api-keys:write', 'read'] })
    const victim = await t.key(workspace, { scopes: ['read'] })
    const before = await keyTotal()
    const refused = await rotate(writer.key, victim.id, { grace_period_hours: 0 })
    expect(refused.statusCode, refused.body).toBe(403)
    expect(refused.json()).toMatchObject({
      error: 'access_denied',
      message: expect.stringContaining('Required scope: api-keys:delete'),
    })
    expect(await keyTotal()).toBe(before)
    expect((await me(victim.key)).statusCode).toBe(200)
    const stored = await t.call(t.masterKey, {
      method: 'GET',
      url: `/api/v1/api-keys/${victim.id}`,
      workspace,
    })
    expect(stored.json().data.expires_at).toBeNull()

    // With a grace period the same credential may rotate: the old key keeps working.
    const graceful = await rotate(writer.key, victim.id, { grace_period_hours: 1 })
    expect(graceful.statusCode, graceful.body).toBe(200)
    expect((await me(victim.key)).statusCode).toBe(200)
  })

  it('revokes at once for a credential holding api-keys:delete', async () => {
    const admin = await t.key(workspace, { scopes: ['api-keys:write', 'api-keys:delete', 'read'] })
    const victim = await t.key(workspace, { scopes: ['read'] })
    const res = await rotate(admin.key, victim.id, { grace_period_hours: 0 })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json().data.grace_period_ends_at).toBe(iso(clock.now()))
    expect((await me(victim.key)).statusCode).toBe(401)
    expect((await me(res.json().data.key)).statusCode).toBe(200)
  })
})

describe('api keys: a key never mints a key that outlives it', () => {
  it('refuses an expires_at beyond the calling key’s own with 422, creating nothing', async () => {
    const ends = clock.now() + 2 * HOUR
    const creator = await t.key(workspace, { scopes: ['*'], expires_at: new Date(ends).toISOString() })
    const before = await keyTotal()
    for (const expiresAt of [ends + 1000, ends + 365 * 24 * HOUR]) {
      const res = await t.call(creator.key, {
        method: 'POST',
        url: '/api/v1/api-keys',
        payload: { name: 'outliver', expires_at: new Date(expiresAt).toISOString() },
      })
      expect(res.statusCode, res.body).toBe(422)
      expect(res.json()).toMatchObject({
        error: 'validation_failed',
        errors: { expires_at: [expect.stringContaining(iso(ends))] },
      })
    }
    expect(await keyTotal()).toBe(before)
    // Up to its own expiry is allowed.
    const same = await t.call(creator.key, {
      method: 'POST',
      url: '/api/v1/api-keys',
      payload: { name: 'as long', expires_at: new Date(ends).toISOString() },
    })
    expect(same.statusCode, same.body).toBe(201)
    expect(same.json().data.expires_at).toBe(iso(ends))
  })

  it('gives a key created without expires_at (or with null) the calling key’s expiry', async () => {
    const ends = clock.now() + 3 * HOUR
    const creator = await t.key(workspace, { scopes: ['*'], expires_at: new Date(ends).toISOString() })
    for (const payload of [{ name: 'inherits' }, { name: 'inherits', expires_at: null }]) {
      const res = await t.call(creator.key, { method: 'POST', url: '/api/v1/api-keys', payload })
      expect(res.statusCode, res.body).toBe(201)
      expect(res.json().data.expires_at).toBe(iso(ends))
    }
    // Keys made by a key without expiry, or by the master key, still may never expire.
    const forever = await t.key(workspace, { scopes: ['*'] })
    const res = await t.call(forever.key, { method: 'POST', url: '/api/v1/api-keys', payload: { name: 'n' } })
    expect(res.json().data.expires_at).toBeNull()
  })

  it('caps the new key of a rotation by an expiring key at the rotating key’s expiry', async () => {
    const ends = clock.now() + 4 * HOUR
    const rotator = await t.key(workspace, { scopes: ['*'], expires_at: new Date(ends).toISOString() })
    const target = await t.key(workspace, { scopes: ['read'] })
    const res = await rotate(rotator.key, target.id, { grace_period_hours: 1 })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json().data.expires_at).toBe(iso(ends))
    // A key that expires sooner than the rotator keeps its own expiry.
    const sooner = clock.now() + HOUR
    const short = await t.key(workspace, { scopes: ['read'], expires_at: new Date(sooner).toISOString() })
    const kept = await rotate(rotator.key, short.id, { grace_period_hours: 1 })
    expect(kept.json().data.expires_at).toBe(iso(sooner))
    // The minted key stops working with its creator.
    clock.advance(4 * HOUR + 1000)
    expect((await me(res.json().data.key)).statusCode).toBe(401)
  })
})
