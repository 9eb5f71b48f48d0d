// Idempotency-Key (seed 004 "Idempotency", PRODUCT.md "Contract details"): a POST, PUT, PATCH or
// DELETE runs once per workspace + credential + key; the first response the handler produced
// (status < 500) is replayed byte for byte with `Idempotent-Replayed: true` for 24 h; the same
// key with another request is 422; a twin arriving while the first runs is 409; the guards'
// refusals (401, 403, 409 in progress, 429) are never stored. Against the real database.

import { eq } from 'drizzle-orm'
import type { LightMyRequestResponse } from 'fastify'
import { beforeAll, describe, expect, it } from 'vitest'
import { sha256Hex } from '../../platform/lib/hash.ts'
import { useTestApp } from '../../testing/harness.ts'
import { idempotencyRecords } from './tables.ts'

const HOUR = 3_600_000

const t = useTestApp()
const clock = t.clock
let workspace: number
let admin: { id: number; key: string }
beforeAll(async () => {
  workspace = (await t.workspace()).id
  admin = await t.key(workspace, { scopes: ['*'] })
})

let counter = 0
/** A fresh Idempotency-Key. */
const fresh = (label: string) => `${label}-${++counter}-${Date.now()}`

/** POST /api/v1/api-keys with an Idempotency-Key (as `credential`, admin by default). */
function createKey(
  idem: string,
  payload: unknown = { name: 'idempotent' },
  credential = admin.key,
  extra: { url?: string; workspace?: number } = {},
) {
  return t.call(credential, {
    method: 'POST',
    url: extra.url ?? '/api/v1/api-keys',
    payload: payload as Record<string, unknown>,
    workspace: extra.workspace,
    headers: { 'idempotency-key': idem },
  })
}

async function keyTotal(ws = workspace): Promise<number> {
  const res = await t.call(t.masterKey, { method: 'GET', url: '/api/v1/api-keys?per_page=1', workspace: ws })
  expect(res.statusCode).toBe(200)
  return res.json().meta.total
}

async function workspaceTotal(): Promise<number> {
  return (await t.call(t.masterKey, { method: 'GET', url: '/api/v1/workspaces?per_page=1' })).json().meta
    .total
}

function expectReplayOf(replay: LightMyRequestResponse, original: LightMyRequestResponse) {
  expect(replay.statusCode).toBe(original.statusCode)
  expect(replay.body).toBe(original.body)
  expect(replay.headers['idempotent-replayed']).toBe('true')
  expect(replay.headers['content-type']).toBe(original.headers['content-type'])
}

function expectFresh(res: LightMyRequestResponse, status: number) {
  expect(res.statusCode, res.body).toBe(status)
  expect(res.headers['idempotent-replayed']).toBeUndefined()
}

describe('idempotency: happy paths', () => {
  it('replays the same status and byte-identical body, and creates nothing new', async () => {
    const idem = fresh('replay')
    const before = await keyTotal()
    const first = await createKey(idem)
    expectFresh(first, 201)
    const second = await createKey(idem)
    expectReplayOf(second, first)
    const third = await createKey(idem)
    expectReplayOf(third, first)
    expect(await keyTotal()).toBe(before + 1)
    // The one key created works.
    const created = first.json().data
    expect((await t.call(created.key, { method: 'GET', url: '/api/v1/me' })).json().data.key.id).toBe(
      created.id,
    )
  })

  it('replays a workspace creation by the master key', async () => {
    const idem = fresh('workspace')
    const before = await workspaceTotal()
    const payload = { name: 'Idempotent workspace', tier: 'free' }
    const first = await t.call(t.masterKey, {
      method: 'POST',
      url: '/api/v1/workspaces',
      payload,
      headers: { 'idempotency-key': idem },
    })
    expectFresh(first, 201)
    const second = await t.call(t.masterKey, {
      method: 'POST',
      url: '/api/v1/workspaces',
      payload,
      headers: { 'idempotency-key': idem },
    })
    expectReplayOf(second, first)
    expect(await workspaceTotal()).toBe(before + 1)
  })

  it('runs requests with different keys separately', async () => {
    const before = await keyTotal()
    const a = await createKey(fresh('separate'))
    const b = await createKey(fresh('separate'))
    expectFresh(a, 201)
    expectFresh(b, 201)
    expect(a.json().data.id).not.toBe(b.json().data.id)
    expect(await keyTotal()).toBe(before + 2)
  })

  it('scopes keys per credential and per workspace', async () => {
    const idem = fresh('scoped')
    const other = await t.key(workspace, { scopes: ['*'] })
    const before = await keyTotal()
    const mine = await createKey(idem)
    const theirs = await createKey(idem, undefined, other.key)
    const master = await createKey(idem, undefined, t.masterKey, { workspace })
    for (const res of [mine, theirs, master]) expectFresh(res, 201)
    expect(new Set([mine, theirs, master].map((r) => r.json().data.id)).size).toBe(3)
    expect(await keyTotal()).toBe(before + 3)
    // The master key in another workspace: another scope again.
    const elsewhere = (await t.workspace()).id
    expectFresh(await createKey(idem, undefined, t.masterKey, { workspace: elsewhere }), 201)
    expect(await keyTotal(elsewhere)).toBe(1)
    // Each credential replays its own.
    expectReplayOf(await createKey(idem, undefined, other.key), theirs)
    expectReplayOf(await createKey(idem, undefined, t.masterKey, { workspace }), master)
    expect(await keyTotal()).toBe(before + 3)
  })

  it('replays a DELETE’s 204', async () => {
    const victim = await t.key(workspace)
    const idem = fresh('delete')
    const del = () =>
      t.call(admin.key, {
        method: 'DELETE',
        url: `/api/v1/api-keys/${victim.id}`,
        headers: { 'idempotency-key': idem },
      })
    const first = await del()
    expectFresh(first, 204)
    expect(first.body).toBe('')
    const second = await del()
    expect(second.statusCode).toBe(204)
    expect(second.body).toBe('')
    expect(second.headers['idempotent-replayed']).toBe('true')
    // Run again, it would be a 409: the key is already revoked.
    const plain = await t.call(admin.key, { method: 'DELETE', url: `/api/v1/api-keys/${victim.id}` })
    expect(plain.statusCode).toBe(409)
  })

  it('ignores the header on GET', async () => {
    const idem = fresh('get')
    for (const header of [idem, 'x'.repeat(300)]) {
      for (let i = 0; i < 2; i++) {
        const res = await t.call(admin.key, {
          method: 'GET',
          url: '/api/v1/api-keys',
          headers: { 'idempotency-key': header },
        })
        expectFresh(res, 200)
      }
    }
    // The GET claimed nothing: a POST with the same key runs.
    expectFresh(await createKey(idem), 201)
  })

  it('stores and replays a handler’s 409', async () => {
    const slug = `taken-${counter}`
    const owner = await t.workspace({ slug })
    const idem = fresh('conflict')
    const payload = { name: 'Second', slug }
    const post = () =>
      t.call(t.masterKey, {
        method: 'POST',
        url: '/api/v1/workspaces',
        payload,
        headers: { 'idempotency-key': idem },
      })
    const first = await post()
    expectFresh(first, 409)
    expect(first.json().error).toBe('conflict')
    expectReplayOf(await post(), first)
    // Even once the slug is free again, the key answers what it answered.
    expect(
      (await t.call(t.masterKey, { method: 'DELETE', url: `/api/v1/workspaces/${owner.id}` })).statusCode,
    ).toBe(204)
    expectReplayOf(await post(), first)
  })
})

describe('idempotency: errors', () => {
  it('refuses the same key with another body, path, query or method with 422, creating nothing', async () => {
    const idem = fresh('reused')
    const first = await createKey(idem, { name: 'original' })
    expectFresh(first, 201)
    const before = await keyTotal()
    const posts = (await t.call(admin.key, { method: 'GET', url: '/api/v1/posts' })).json().meta.total
    const attempts = [
      await createKey(idem, { name: 'changed' }),
      await createKey(idem, { name: 'original', scopes: ['read'] }),
      await createKey(idem, { title: 'original' }, admin.key, { url: '/api/v1/posts' }),
      await createKey(idem, { name: 'original' }, admin.key, { url: '/api/v1/api-keys?include=user' }),
      await t.call(admin.key, {
        method: 'DELETE',
        url: `/api/v1/api-keys/${first.json().data.id}`,
        headers: { 'idempotency-key': idem },
      }),
    ]
    for (const res of attempts) {
      expect(res.statusCode, res.body).toBe(422)
      expect(res.json()).toMatchObject({
        error: 'idempotency_key_reused',
        message: 'This Idempotency-Key was already used with a different request.',
      })
      expect(res.headers['idempotent-replayed']).toBeUndefined()
    }
    expect(await keyTotal()).toBe(before)
    expect((await t.call(admin.key, { method: 'GET', url: '/api/v1/posts' })).json().meta.total).toBe(posts)
    // The first key was not revoked by the refused DELETE, and the original still replays.
    expect((await t.call(first.json().data.key, { method: 'GET', url: '/api/v1/me' })).statusCode).toBe(200)
    expectReplayOf(await createKey(idem, { name: 'original' }), first)
  })

  it('stores and replays a 422 validation response', async () => {
    const idem = fresh('invalid')
    const before = await keyTotal()
    const first = await createKey(idem, { name: '' })
    expectFresh(first, 422)
    expect(first.json().error).toBe('validation_failed')
    expectReplayOf(await createKey(idem, { name: '' }), first)
    // Now fixed, the request is another one under the same key.
    const fixed = await createKey(idem, { name: 'fixed' })
    expect(fixed.statusCode).toBe(422)
    expect(fixed.json().error).toBe('idempotency_key_reused')
    expect(await keyTotal()).toBe(before)
  })

  it('answers 422 to a malformed Idempotency-Key, and creates nothing', async () => {
    const before = await keyTotal()
    for (const header of ['x'.repeat(256), 'bad\u0001key', 'tab\tkey', '']) {
      const res = await createKey(header)
      expect(res.statusCode, JSON.stringify(header)).toBe(422)
      expect(res.json()).toMatchObject({
        error: 'validation_failed',
        errors: { 'Idempotency-Key': [expect.any(String)] },
      })
    }
    expect(await keyTotal()).toBe(before)
    // 255 printable characters is the longest key.
    const longest = `${fresh('l')}${'y'.repeat(255)}`.slice(0, 255)
    expectFresh(await createKey(longest), 201)
    expect((await createKey(longest)).headers['idempotent-replayed']).toBe('true')
  })
})

describe('idempotency: the guards’ refusals are never stored', () => {
  it('a 401 is not stored: the same key runs with a valid credential', async () => {
    const idem = fresh('401')
    const refused = await createKey(idem, undefined, 'sk_live_notARealKeyAtAllNotARealKey00')
    expect(refused.statusCode).toBe(401)
    const expired = await t.key(workspace, {
      scopes: ['*'],
      expires_at: new Date(clock.now() + 60_000).toISOString(),
    })
    clock.advance(61_000)
    expect((await createKey(idem, undefined, expired.key)).statusCode).toBe(401)
    expectFresh(await createKey(idem), 201)
  })

  it('a 403 for another workspace is not stored: fixed, the same key runs', async () => {
    const idem = fresh('403-workspace')
    const other = await t.workspace()
    const refused = await createKey(idem, undefined, admin.key, { workspace: other.id })
    expect(refused.statusCode).toBe(403)
    expect(refused.json().error).toBe('access_denied')
    const before = await keyTotal()
    expectFresh(await createKey(idem), 201)
    expect(await keyTotal()).toBe(before + 1)
  })

  it('a 403 for a missing scope is not stored: the same key serves an allowed request', async () => {
    const idem = fresh('403-scope')
    const writer = await t.key(workspace, { scopes: ['posts:write'] })
    const refused = await createKey(idem, undefined, writer.key)
    expect(refused.statusCode).toBe(403)
    expect(refused.json().message).toBe('Insufficient permissions. Required scope: api-keys:write')
    expect((await createKey(idem, undefined, writer.key)).headers['idempotent-replayed']).toBeUndefined()
    const post = await createKey(idem, { title: 'Allowed' }, writer.key, { url: '/api/v1/posts' })
    expectFresh(post, 201)
    expectReplayOf(await createKey(idem, { title: 'Allowed' }, writer.key, { url: '/api/v1/posts' }), post)
  })

  it('a 429 is not stored: once a token is back, the same key runs', async () => {
    const ws = await t.workspace({ tier: 'free' })
    const { key } = await t.key(ws.id, { scopes: ['*'] })
    for (let i = 0; i < 60; i++) await t.call(key, { method: 'GET', url: '/api/v1/me' })
    const idem = fresh('429')
    const refused = await createKey(idem, undefined, key)
    expect(refused.statusCode).toBe(429)
    clock.advance(1000)
    expectFresh(await createKey(idem, undefined, key), 201)
    expect(await keyTotal(ws.id)).toBe(2)
  })

  // PRODUCT.md: stored is "every response the handler produced with status < 500"; only the
  // guards' own refusals are not. feature_limit_reached is the handler's answer, not a guard's.
  it('a handler’s 403 feature_limit_reached is stored and replayed', async () => {
    const ws = await t.workspace({ tier: 'free' }) // 10 API keys
    const { key } = await t.key(ws.id, { scopes: ['*'] })
    for (let i = 0; i < 9; i++) await t.key(ws.id)
    expect(await keyTotal(ws.id)).toBe(10)
    const idem = fresh('limit')
    const first = await createKey(idem, undefined, key)
    expect(first.statusCode).toBe(403)
    expect(first.json().error).toBe('feature_limit_reached')
    expectReplayOf(await createKey(idem, undefined, key), first)
  })
})

describe('idempotency: concurrency and crash recovery', () => {
  it('creates one resource from concurrent twins; the other answer is the replay or 409', async () => {
    for (const twins of [2, 2, 2, 10]) {
      const idem = fresh('twin')
      const before = await keyTotal()
      const answers = await Promise.all(
        Array.from({ length: twins }, () => createKey(idem, { name: 'twin' })),
      )
      expect(await keyTotal()).toBe(before + 1)
      const originals = answers.filter((r) => r.statusCode === 201 && !r.headers['idempotent-replayed'])
      expect(originals).toHaveLength(1)
      for (const res of answers) {
        if (res.statusCode === 409) {
          expect(res.json().error).toBe('idempotency_in_progress')
          expect(res.headers['retry-after']).toBe('1')
        } else {
          expect(res.statusCode).toBe(201)
          expect(res.body).toBe(originals[0]!.body)
        }
      }
      expectReplayOf(await createKey(idem, { name: 'twin' }), originals[0]!)
    }
  })

  /** A record as a request whose process died would leave it. */
  async function insertRunning(
    idem: string,
    options: { credential: string; workspace: number; lockedFor: number; payload: unknown; url?: string },
  ) {
    const scope = sha256Hex(`${options.workspace}\n${options.credential}\n${idem}`)
    const fingerprint = sha256Hex(
      `POST ${options.url ?? '/api/v1/api-keys'}\n${JSON.stringify(options.payload)}`,
    )
    const now = clock.now()
    await t.database.db.insert(idempotencyRecords).values({
      scope,
      fingerprint,
      state: 'running',
      lockedUntil: new Date(now + options.lockedFor),
      createdAt: new Date(now - 5000),
      expiresAt: new Date(now + 24 * HOUR),
    })
    return scope
  }

  async function record(scope: string) {
    const [row] = await t.database.db
      .select()
      .from(idempotencyRecords)
      .where(eq(idempotencyRecords.scope, scope))
    return row
  }

  it('lets a retry take over a running record whose lock has expired', async () => {
    const idem = fresh('crashed')
    const payload = { name: 'after the crash' }
    const scope = await insertRunning(idem, {
      credential: `key:${admin.id}`,
      workspace,
      lockedFor: -1000,
      payload,
    })
    const before = await keyTotal()
    const retry = await createKey(idem, payload)
    expectFresh(retry, 201)
    expect(await keyTotal()).toBe(before + 1)
    expect(await record(scope)).toMatchObject({ state: 'done', responseStatus: 201, lockedUntil: null })
    expectReplayOf(await createKey(idem, payload), retry)
  })

  it('answers 409 while the lock holds, and takes over once it expires (master key)', async () => {
    const idem = fresh('locked')
    const payload = { name: 'held' }
    const scope = await insertRunning(idem, {
      credential: 'master_key',
      workspace,
      lockedFor: 60_000,
      payload,
    })
    const before = await keyTotal()
    const busy = await createKey(idem, payload, t.masterKey, { workspace })
    expect(busy.statusCode).toBe(409)
    expect(busy.json()).toMatchObject({
      error: 'idempotency_in_progress',
      message: 'A request with this Idempotency-Key is still being processed.',
    })
    expect(busy.headers['retry-after']).toBe('1')
    // Another request under the running key is still a reuse.
    const other = await createKey(idem, { name: 'other' }, t.masterKey, { workspace })
    expect(other.json().error).toBe('idempotency_key_reused')
    expect(await keyTotal()).toBe(before)
    expect((await record(scope))?.state).toBe('running')

    clock.advance(61_000) // IDEMPOTENCY_LOCK_SECONDS defaults to 60
    const retry = await createKey(idem, payload, t.masterKey, { workspace })
    expectFresh(retry, 201)
    expect(await keyTotal()).toBe(before + 1)
    expect(await record(scope)).toMatchObject({ state: 'done', responseStatus: 201 })
  })
})

// Last: moves the shared clock by a day.
describe('idempotency: records expire after 24 h', () => {
  it('replays until 24 h have passed, then runs the request again', async () => {
    const idem = fresh('expiry')
    const first = await createKey(idem, { name: 'day one' })
    expectFresh(first, 201)
    clock.advance(24 * HOUR - 60_000)
    expectReplayOf(await createKey(idem, { name: 'day one' }), first)
    expect((await createKey(idem, { name: 'other' })).statusCode).toBe(422)
    const before = await keyTotal()
    clock.advance(61_000)
    const later = await createKey(idem, { name: 'day one' })
    expectFresh(later, 201)
    expect(later.json().data.id).not.toBe(first.json().data.id)
    expect(await keyTotal()).toBe(before + 1)
    // A new record from now on: replayed, and another request under the key is a reuse again.
    expectReplayOf(await createKey(idem, { name: 'day one' }), later)
    expect((await createKey(idem, { name: 'other' })).statusCode).toBe(422)
  })

  it('after expiry, the key may carry a different request', async () => {
    const idem = fresh('expiry-other')
    expectFresh(await createKey(idem, { name: 'first use' }), 201)
    clock.advance(24 * HOUR + 1000)
    expectFresh(await createKey(idem, { name: 'second use' }), 201)
  })
})
