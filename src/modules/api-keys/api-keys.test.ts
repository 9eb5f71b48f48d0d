import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ManualClock } from '../../platform/lib/clock.ts'
import { buildTestApp, type TestApp } from '../../testing/harness.ts'

let t: TestApp
let clock: ManualClock
beforeAll(async () => {
  t = await buildTestApp()
  clock = t.clock as ManualClock
})
afterAll(() => t.close())

const HOUR = 3_600_000

describe('api keys: happy paths', () => {
  it('creates a key shown once, with default scopes, that authenticates', async () => {
    const ws = await t.workspace()
    const res = await t.call(t.masterKey, {
      method: 'POST',
      url: '/api/v1/api-keys',
      workspace: ws.id,
      payload: { name: 'Mobile' },
    })
    expect(res.statusCode).toBe(201)
    const { message, data } = res.json()
    expect(message).toBe('API key created successfully.')
    expect(data.key).toMatch(/^sk_live_[0-9A-Za-z]{40}$/)
    expect(data).toMatchObject({
      name: 'Mobile',
      scopes: ['read', 'write'],
      prefix: data.key.slice(0, 12),
      expires_at: null,
    })
    const me = await t.call(data.key, { method: 'GET', url: '/api/v1/me' })
    expect(me.json().data).toMatchObject({
      type: 'api_key',
      key: { id: data.id, prefix: data.prefix },
      workspace: { id: ws.id },
    })

    const test = await t.key(ws.id, { environment: 'test' })
    expect(test.key).toMatch(/^sk_test_/)

    const list = await t.call(data.key, { method: 'GET', url: '/api/v1/api-keys' })
    expect(list.body).not.toContain(data.key)
    expect(list.json().data.map((k: { id: number }) => k.id)).toContain(data.id)
    const one = await t.call(data.key, { method: 'GET', url: `/api/v1/api-keys/${data.id}` })
    expect(one.body).not.toContain(data.key)
    expect(one.json().data.last_used_at).not.toBeNull()
  })

  it('expires a key at expires_at and lists it as expired', async () => {
    const ws = await t.workspace()
    const { key, id } = await t.key(ws.id, { expires_at: new Date(clock.now() + HOUR).toISOString() })
    expect((await t.call(key, { method: 'GET', url: '/api/v1/me' })).statusCode).toBe(200)
    clock.advance(HOUR + 1000)
    const refused = await t.call(key, { method: 'GET', url: '/api/v1/me' })
    expect(refused.statusCode).toBe(401)
    const expired = await t.call(t.masterKey, {
      method: 'GET',
      url: '/api/v1/api-keys?status=expired',
      workspace: ws.id,
    })
    expect(expired.json().data.map((k: { id: number }) => k.id)).toEqual([id])
  })

  it('rotates with a grace period: both work, then only the new one', async () => {
    const ws = await t.workspace()
    const old = await t.key(ws.id, { scopes: ['api-keys:*'] })
    const res = await t.call(old.key, {
      method: 'POST',
      url: `/api/v1/api-keys/${old.id}/rotate`,
      payload: { grace_period_hours: 2 },
    })
    expect(res.statusCode).toBe(200)
    const { message, data } = res.json()
    expect(message).toBe('API key rotated successfully.')
    expect(data.id).not.toBe(old.id)
    expect(data).toMatchObject({ rotated_from_id: old.id, scopes: ['api-keys:*'] })
    expect(Date.parse(data.grace_period_ends_at)).toBeGreaterThan(clock.now() + 2 * HOUR - 2000)
    expect((await t.call(old.key, { method: 'GET', url: '/api/v1/me' })).statusCode).toBe(200)
    expect((await t.call(data.key, { method: 'GET', url: '/api/v1/me' })).statusCode).toBe(200)
    const again = await t.call(data.key, { method: 'POST', url: `/api/v1/api-keys/${old.id}/rotate` })
    expect(again.statusCode).toBe(409)
    clock.advance(2 * HOUR + 1000)
    expect((await t.call(old.key, { method: 'GET', url: '/api/v1/me' })).statusCode).toBe(401)
    expect((await t.call(data.key, { method: 'GET', url: '/api/v1/me' })).statusCode).toBe(200)
  })

  it('rotates with grace 0 (old key dead at once) and with no body (24 h)', async () => {
    const ws = await t.workspace()
    const a = await t.key(ws.id, { scopes: ['*'] })
    const r0 = await t.call(a.key, {
      method: 'POST',
      url: `/api/v1/api-keys/${a.id}/rotate`,
      payload: { grace_period_hours: 0 },
    })
    expect(r0.statusCode).toBe(200)
    expect((await t.call(a.key, { method: 'GET', url: '/api/v1/me' })).statusCode).toBe(401)
    const b = r0.json().data
    const r24 = await t.call(b.key, { method: 'POST', url: `/api/v1/api-keys/${b.id}/rotate` })
    expect(Date.parse(r24.json().data.grace_period_ends_at) - clock.now()).toBeGreaterThan(24 * HOUR - 2000)
  })

  it('revokes at once: 204, then 401 for the key and 404 for its id', async () => {
    const ws = await t.workspace()
    const { key, id } = await t.key(ws.id, { scopes: ['*'] })
    const res = await t.call(key, { method: 'DELETE', url: `/api/v1/api-keys/${id}` })
    expect(res.statusCode).toBe(204)
    expect(res.body).toBe('')
    expect((await t.call(key, { method: 'GET', url: '/api/v1/me' })).statusCode).toBe(401)
    const gone = await t.call(t.masterKey, { method: 'GET', url: `/api/v1/api-keys/${id}`, workspace: ws.id })
    expect(gone.statusCode).toBe(404)
    const twice = await t.call(t.masterKey, {
      method: 'DELETE',
      url: `/api/v1/api-keys/${id}`,
      workspace: ws.id,
    })
    expect(twice.statusCode).toBe(404)
  })
})

describe('api keys: errors', () => {
  it('rejects bad bodies with 422 and stores nothing', async () => {
    const ws = await t.workspace({ tier: 'free' })
    const before = (
      await t.call(t.masterKey, { method: 'GET', url: '/api/v1/api-keys', workspace: ws.id })
    ).json().meta.total
    const cases: Array<[Record<string, unknown>, string]> = [
      [{}, 'name'],
      [{ name: 'x'.repeat(256) }, 'name'],
      [{ name: 'x', scopes: ['posts:fly'] }, 'scopes'],
      [{ name: 'x', color: 'red' }, 'color'],
      [{ name: 'x', expires_at: '2020-01-01T00:00:00Z' }, 'expires_at'],
      [{ name: 'x', expires_at: 'tomorrow' }, 'expires_at'],
      [{ name: 'x', rate_limit_tier: 'platinum' }, 'rate_limit_tier'],
    ]
    for (const [payload, field] of cases) {
      const res = await t.call(t.masterKey, {
        method: 'POST',
        url: '/api/v1/api-keys',
        workspace: ws.id,
        payload,
      })
      expect(res.statusCode, JSON.stringify(payload)).toBe(422)
      expect(Object.keys(res.json().errors)).toContain(field)
    }
    const { key } = await t.key(ws.id, { scopes: ['api-keys:*'] })
    const aboveTier = await t.call(key, {
      method: 'POST',
      url: '/api/v1/api-keys',
      payload: { name: 'x', scopes: ['api-keys:read'], rate_limit_tier: 'pro' },
    })
    expect(aboveTier.statusCode).toBe(422)
    for (const grace of [721, -1, '5']) {
      const own = (await t.call(key, { method: 'GET', url: '/api/v1/api-keys' })).json().data[0].id
      const res = await t.call(key, {
        method: 'POST',
        url: `/api/v1/api-keys/${own}/rotate`,
        payload: { grace_period_hours: grace },
      })
      expect(res.statusCode, String(grace)).toBe(422)
    }
    const after = (
      await t.call(t.masterKey, { method: 'GET', url: '/api/v1/api-keys', workspace: ws.id })
    ).json().meta.total
    expect(after).toBe(before + 1)
  })

  it('needs a workspace for the master key: 400 without, 403 for one that does not exist', async () => {
    const none = await t.call(t.masterKey, { method: 'GET', url: '/api/v1/api-keys' })
    expect(none.statusCode).toBe(400)
    expect(none.json().error).toBe('workspace_required')
    const missing = await t.call(t.masterKey, { method: 'GET', url: '/api/v1/api-keys', workspace: 999_999 })
    expect(missing.statusCode).toBe(403)
  })
})

describe('api keys: security', () => {
  it('a key cannot grant scopes it does not hold', async () => {
    const ws = await t.workspace()
    const { key } = await t.key(ws.id, { scopes: ['api-keys:*'] })
    const res = await t.call(key, {
      method: 'POST',
      url: '/api/v1/api-keys',
      payload: { name: 'x', scopes: ['posts:write'] },
    })
    expect(res.statusCode).toBe(403)
    expect(res.json().message).toContain('posts:write')
    const star = await t.call(key, {
      method: 'POST',
      url: '/api/v1/api-keys',
      payload: { name: 'x', scopes: ['*'] },
    })
    expect(star.statusCode).toBe(403)
  })

  it("cannot read, rotate or revoke another workspace's key, which keeps working", async () => {
    const mine = await t.workspace()
    const theirs = await t.workspace()
    const { key } = await t.key(mine.id, { scopes: ['*'] })
    const victim = await t.key(theirs.id)
    for (const [method, url] of [
      ['GET', `/api/v1/api-keys/${victim.id}`],
      ['POST', `/api/v1/api-keys/${victim.id}/rotate`],
      ['DELETE', `/api/v1/api-keys/${victim.id}`],
    ] as const) {
      expect((await t.call(key, { method, url })).statusCode, `${method} ${url}`).toBe(404)
    }
    expect((await t.call(victim.key, { method: 'GET', url: '/api/v1/me' })).statusCode).toBe(200)
    const cross = await t.call(key, { method: 'GET', url: '/api/v1/api-keys', workspace: theirs.id })
    expect(cross.statusCode).toBe(403)
  })

  it('never logs or returns the secret after creation, and stores only its hash', async () => {
    const ws = await t.workspace()
    const { key, id } = await t.key(ws.id)
    const { sql } = await import('drizzle-orm')
    const rows = await t.database.db.execute(sql`select key_hash, prefix from api_keys where id = ${id}`)
    const row = (rows as unknown as { rows: Array<{ key_hash: string; prefix: string }> }).rows[0]!
    expect(row.key_hash).toMatch(/^[0-9a-f]{64}$/)
    expect(JSON.stringify(rows)).not.toContain(key)
  })
})
