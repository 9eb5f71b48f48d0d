// GET /api/v1/me: who is calling — the credential type, its user, the workspace it acts in,
// the key and its scopes. It needs no scope, so any valid credential may ask.
import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { useTestApp } from '../../testing/harness.ts'
import { apiKeys } from '../api-keys/tables.ts'
import { findOrCreateUser } from './index.ts'

const t = useTestApp()
const clock = t.clock

const me = (key: string | null, headers: Record<string, string> = {}) =>
  t.call(key, { method: 'GET', url: '/api/v1/me', headers })

describe('me: happy paths', () => {
  it('describes an API key: its workspace, the key (no secret) and its scopes', async () => {
    const ws = await t.workspace({ name: 'Acme Corporation', tier: 'pro' })
    const created = await t.call(t.masterKey, {
      method: 'POST',
      url: '/api/v1/api-keys',
      workspace: ws.id,
      payload: { name: 'Mobile', scopes: ['posts:read', 'webhooks:*'] },
    })
    const key = created.json().data
    const res = await me(key.key)
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({
      data: {
        type: 'api_key',
        user: null, // made by the master key, which is not a user
        workspace: {
          id: ws.id,
          name: 'Acme Corporation',
          slug: ws.slug,
          tier: 'pro',
          role: null, // a key has no membership
          scopes: ['posts:read', 'webhooks:delete', 'webhooks:read', 'webhooks:write'], // what it may do here
        },
        key: { id: key.id, name: 'Mobile', prefix: key.prefix },
        scopes: ['posts:read', 'webhooks:*'],
      },
    })
    expect(res.body).not.toContain(key.key)
  })

  it('answers the workspace as it is now once it changes (the answer of a credential is not kept past a change)', async () => {
    const ws = await t.workspace({ name: 'Before', tier: 'pro' })
    const key = await t.key(ws.id)
    expect((await me(key.key)).json().data.workspace).toMatchObject({ name: 'Before', tier: 'pro' })
    expect((await me(key.key)).json().data.workspace).toMatchObject({ name: 'Before', tier: 'pro' })
    const renamed = await t.call(t.masterKey, {
      method: 'PATCH',
      url: `/api/v1/workspaces/${ws.id}`,
      payload: { name: 'After', tier: 'agency' },
    })
    expect(renamed.statusCode).toBe(200)
    const after = await me(key.key)
    expect(after.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(after.json().data.workspace).toMatchObject({ id: ws.id, name: 'After', tier: 'agency' })
  })

  it('shows the user behind a key, and a key made by that key belongs to the same user', async () => {
    const ws = await t.workspace()
    const parent = await t.key(ws.id, { scopes: ['api-keys:*', 'posts:read'] })
    const grace = await findOrCreateUser(t.database.db, 'Grace@Example.com', 'Grace Hopper')
    await t.database.db.update(apiKeys).set({ userId: grace.id }).where(eq(apiKeys.id, parent.id))

    const mine = await me(parent.key)
    expect(mine.json().data.user).toEqual({ id: grace.id, email: 'grace@example.com', name: 'Grace Hopper' })

    const child = await t.call(parent.key, {
      method: 'POST',
      url: '/api/v1/api-keys',
      payload: { name: 'child', scopes: ['posts:read'] },
    })
    expect(child.statusCode).toBe(201)
    const childMe = await me(child.json().data.key)
    expect(childMe.json().data).toMatchObject({
      type: 'api_key',
      user: { id: grace.id, email: 'grace@example.com', name: 'Grace Hopper' },
      key: { id: child.json().data.id, name: 'child' },
      scopes: ['posts:read'],
    })
  })

  it('needs no scope: a posts:read key (or a sk_test_ key) may call it', async () => {
    const ws = await t.workspace()
    const reader = await t.key(ws.id, { scopes: ['posts:read'] })
    const res = await me(reader.key)
    expect(res.statusCode).toBe(200)
    expect(res.json().data).toMatchObject({
      type: 'api_key',
      scopes: ['posts:read'],
      workspace: { id: ws.id },
    })
    const sandbox = await t.key(ws.id, { scopes: ['posts:read'], environment: 'test' })
    const test = await me(sandbox.key)
    expect(test.statusCode).toBe(200)
    expect(test.json().data.key.prefix).toMatch(/^sk_test_/)
  })

  it('describes the master key: no user, no key, every scope, no workspace without a header', async () => {
    const res = await me(t.masterKey)
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({
      data: { type: 'master_key', user: null, workspace: null, key: null, scopes: ['*'] },
    })
  })

  it('gives the master key the workspace named by X-Workspace-ID', async () => {
    const ws = await t.workspace({ name: 'Named', tier: 'starter' })
    const res = await me(t.masterKey, { 'x-workspace-id': String(ws.id) })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({
      data: {
        type: 'master_key',
        user: null,
        workspace: {
          id: ws.id,
          name: 'Named',
          slug: ws.slug,
          tier: 'starter',
          role: null,
          scopes: expect.arrayContaining(['posts:write', 'workspaces:delete', 'api-keys:delete']),
        },
        key: null,
        scopes: ['*'],
      },
    })
  })

  it("accepts a key's own workspace in X-Workspace-ID", async () => {
    const ws = await t.workspace()
    const { key } = await t.key(ws.id)
    const res = await me(key, { 'x-workspace-id': String(ws.id) })
    expect(res.statusCode).toBe(200)
    expect(res.json().data.workspace.id).toBe(ws.id)
  })

  it("follows changes to the key's workspace made by the operator", async () => {
    const ws = await t.workspace({ name: 'Before', tier: 'free' })
    const { key } = await t.key(ws.id)
    expect((await me(key)).json().data.workspace).toMatchObject({ name: 'Before', tier: 'free' })
    const patch = await t.call(t.masterKey, {
      method: 'PATCH',
      url: `/api/v1/workspaces/${ws.id}`,
      payload: { name: 'After', tier: 'agency' },
    })
    expect(patch.statusCode).toBe(200)
    expect((await me(key)).json().data.workspace).toMatchObject({ name: 'After', tier: 'agency' })
  })
})

describe('me: errors', () => {
  it('answers 401 without a credential or with an unknown one', async () => {
    for (const key of [null, `sk_live_${'A'.repeat(40)}`, `sk_master_${'b'.repeat(40)}`]) {
      const res = await me(key)
      expect(res.statusCode, String(key)).toBe(401)
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/)
      expect(res.json()).toEqual({
        error: 'unauthorized',
        message: expect.any(String),
        request_id: res.headers['x-request-id'],
      })
    }
  })

  it('answers 401 for a revoked or expired key', async () => {
    const ws = await t.workspace()
    const revoked = await t.key(ws.id)
    expect((await me(revoked.key)).statusCode).toBe(200)
    const del = await t.call(t.masterKey, {
      method: 'DELETE',
      url: `/api/v1/api-keys/${revoked.id}`,
      workspace: ws.id,
    })
    expect(del.statusCode).toBe(204)
    expect((await me(revoked.key)).statusCode).toBe(401)

    const expiring = await t.key(ws.id, { expires_at: new Date(clock.now() + 60_000).toISOString() })
    expect((await me(expiring.key)).statusCode).toBe(200)
    clock.advance(60_000)
    expect((await me(expiring.key)).statusCode).toBe(401)
  })

  it('answers 404 when the master key names a workspace that does not exist', async () => {
    for (const id of ['999999', '0', 'abc', '1.5', '99999999999']) {
      const res = await me(t.masterKey, { 'x-workspace-id': id })
      expect(res.statusCode, id).toBe(404)
      expect(res.json()).toMatchObject({ error: 'not_found', message: 'Workspace not found.' })
    }
  })

  it('answers 405 with Allow: GET for other methods', async () => {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) {
      const res = await t.call(t.masterKey, { method, url: '/api/v1/me' })
      expect(res.statusCode, method).toBe(405)
      expect(res.headers.allow).toBe('GET')
      expect(res.json().error).toBe('method_not_allowed')
    }
  })
})

describe('me: security', () => {
  it('a key cannot look into another workspace with X-Workspace-ID (403, nothing about it)', async () => {
    const mine = await t.workspace()
    const theirs = await t.workspace({ name: 'Secret Project' })
    const { key } = await t.key(mine.id, { scopes: ['*'] })
    const res = await me(key, { 'x-workspace-id': String(theirs.id) })
    expect(res.statusCode).toBe(403)
    expect(res.json().error).toBe('access_denied')
    expect(res.body).not.toContain('Secret Project')
    expect(res.body).not.toContain(theirs.slug)
  })

  it('never reveals the secret or its hash, and shows each key only its own workspace', async () => {
    const a = await t.workspace()
    const b = await t.workspace()
    const keyA = await t.key(a.id)
    const keyB = await t.key(b.id)
    const resA = await me(keyA.key)
    const resB = await me(keyB.key)
    expect(resA.json().data.workspace.id).toBe(a.id)
    expect(resB.json().data.workspace.id).toBe(b.id)
    const [row] = await t.database.db.select().from(apiKeys).where(eq(apiKeys.id, keyA.id))
    expect(resA.body).not.toContain(keyA.key)
    expect(resA.body).not.toContain(row!.keyHash)
    expect(resA.body).not.toMatch(/hash/i)
    expect((await me(t.masterKey)).body).not.toContain(t.masterKey)
  })
})
