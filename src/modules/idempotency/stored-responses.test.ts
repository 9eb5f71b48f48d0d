// What the idempotency records keep at rest, and who may write them. A stored response can
// carry a secret shown once (an API key, a webhook signing secret): it is sealed with the
// secret box, so the table never holds it in clear, while the replay stays byte for byte the
// original. A request that lost its claim (its lock expired and a retry took over) must not
// overwrite or release the record of the request that took it over.

import { sql } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { type ManualClock, systemClock } from '../../platform/lib/clock.ts'
import { sha256Hex } from '../../platform/lib/hash.ts'
import { SecretBox } from '../../platform/lib/secret-box.ts'
import { useTestApp } from '../../testing/harness.ts'
import { IdempotencyStore } from './store.ts'

const t = useTestApp()
let workspace: number
let admin: { id: number; key: string }
beforeAll(async () => {
  workspace = (await t.workspace()).id
  admin = await t.key(workspace, { scopes: ['*'] })
})

let counter = 0
const fresh = (label: string) => `${label}-${++counter}-${Date.now()}`

/** Every idempotency record, every column, as text. */
async function rawTable(): Promise<string> {
  const result = await t.database.db.execute(sql`select * from idempotency_records`)
  return JSON.stringify((result as unknown as { rows: unknown[] }).rows)
}

/** The secret in the forms a reader of the table could recognise it. */
function forms(secret: string): string[] {
  const random = secret.slice(secret.indexOf('_', 3) + 1)
  return [
    secret,
    random,
    Buffer.from(secret).toString('base64'),
    Buffer.from(secret).toString('base64url'),
    Buffer.from(secret).toString('hex'),
  ]
}

describe('idempotency: stored responses are sealed at rest', () => {
  it('an idempotent key creation leaves no trace of the key in the table; the replay returns it', async () => {
    const idem = fresh('secret-key')
    const create = () =>
      t.call(admin.key, {
        method: 'POST',
        url: '/api/v1/api-keys',
        payload: { name: 'shown once' },
        headers: { 'idempotency-key': idem },
      })
    const first = await create()
    expect(first.statusCode, first.body).toBe(201)
    const { key } = first.json().data as { key: string }
    const table = await rawTable()
    expect(table).toContain('"state":"done"')
    for (const form of forms(key)) expect(table).not.toContain(form)

    const replay = await create()
    expect(replay.headers['idempotent-replayed']).toBe('true')
    expect(replay.statusCode).toBe(201)
    expect(replay.body).toBe(first.body)
    const me = await t.call(replay.json().data.key, { method: 'GET', url: '/api/v1/me' })
    expect(me.statusCode).toBe(200)
    expect(me.json().data.key.id).toBe(first.json().data.id)
  })

  it('a rotation, a webhook creation and a secret rotation are sealed as well', async () => {
    const victim = await t.key(workspace)
    const rotate = () =>
      t.call(admin.key, {
        method: 'POST',
        url: `/api/v1/api-keys/${victim.id}/rotate`,
        payload: { grace_period_hours: 1 },
        headers: { 'idempotency-key': 'rotate-once' },
      })
    const rotated = await rotate()
    expect(rotated.statusCode, rotated.body).toBe(200)

    const hook = () =>
      t.call(admin.key, {
        method: 'POST',
        url: '/api/v1/webhooks',
        payload: { url: 'https://example.com/hook', events: ['post.created'] },
        headers: { 'idempotency-key': 'hook-once' },
      })
    const created = await hook()
    expect(created.statusCode, created.body).toBe(201)
    const endpoint = created.json().data as { id: number; secret: string }
    const roll = () =>
      t.call(admin.key, {
        method: 'POST',
        url: `/api/v1/webhooks/${endpoint.id}/rotate-secret`,
        payload: {},
        headers: { 'idempotency-key': 'roll-once' },
      })
    const rolled = await roll()
    expect(rolled.statusCode, rolled.body).toBe(200)

    const table = await rawTable()
    const secrets = [rotated.json().data.key, endpoint.secret, rolled.json().data.secret]
    for (const secret of secrets) {
      expect(secret).toMatch(/^(sk_live_|whsec_)/)
      for (const form of forms(secret)) expect(table).not.toContain(form)
    }
    for (const [again, original] of [
      [await rotate(), rotated],
      [await hook(), created],
      [await roll(), rolled],
    ] as const) {
      expect(again.headers['idempotent-replayed']).toBe('true')
      expect(again.body).toBe(original.body)
    }
  })

  it('replays a body written in clear by an earlier version, and seals it at start', async () => {
    const store = new IdempotencyStore(t.database.db, new SecretBox('x'.repeat(32)))
    const input = {
      scope: sha256Hex(fresh('legacy')),
      fingerprint: 'f',
      now: Date.now(),
      lockMs: 1000,
      ttlMs: 60_000,
    }
    expect((await store.claim(input)).outcome).toBe('owner')
    await t.database.db.execute(sql`
      update idempotency_records set state = 'done', locked_until = null, response_status = 200,
        response_headers = '{}'::jsonb, response_body = '{"legacy":"sk_live_plain"}' where scope = ${input.scope}`)
    const replay = { outcome: 'replay', response: { status: 200, body: '{"legacy":"sk_live_plain"}' } }
    expect(await store.claim(input)).toMatchObject(replay)
    expect(await store.sealPlainBodies()).toBeGreaterThanOrEqual(1)
    expect(await rawTable()).not.toContain('sk_live_plain')
    expect(await store.claim(input)).toMatchObject(replay)
    expect(await store.sealPlainBodies()).toBe(0)
  })
})

describe('idempotency: a request that lost its claim cannot write the record', () => {
  const LOCK = 60_000
  const claimInput = (scope: string, now: number) => ({
    scope,
    fingerprint: 'same request',
    now,
    lockMs: LOCK,
    ttlMs: 24 * 3_600_000,
  })

  it('the late completion of the first request leaves the response of the one that took over', async () => {
    const clock = t.clock as ManualClock
    const store = new IdempotencyStore(t.database.db, new SecretBox('y'.repeat(32)))
    const scope = sha256Hex(fresh('lost-claim'))
    const first = await store.claim(claimInput(scope, clock.now()))
    expect(first.outcome).toBe('owner')
    clock.advance(LOCK + 1000) // the first request is presumed dead
    const second = await store.claim(claimInput(scope, clock.now()))
    expect(second.outcome).toBe('owner')
    if (first.outcome !== 'owner' || second.outcome !== 'owner') return

    expect(await store.complete(second.claim, { status: 201, headers: {}, body: '{"by":"second"}' })).toBe(
      true,
    )
    // The first request finishes late: it must not overwrite the stored answer.
    expect(await store.complete(first.claim, { status: 201, headers: {}, body: '{"by":"first"}' })).toBe(
      false,
    )
    const replay = await store.claim(claimInput(scope, clock.now()))
    expect(replay).toMatchObject({ outcome: 'replay', response: { body: '{"by":"second"}' } })
  })

  it('a late completion does not finish a record another request is still running', async () => {
    const clock = t.clock as ManualClock
    const store = new IdempotencyStore(t.database.db, new SecretBox('y'.repeat(32)))
    const scope = sha256Hex(fresh('lost-running'))
    const first = await store.claim(claimInput(scope, clock.now()))
    clock.advance(LOCK + 1000)
    const second = await store.claim(claimInput(scope, clock.now()))
    if (first.outcome !== 'owner' || second.outcome !== 'owner') throw new Error('expected two owners')
    expect(await store.complete(first.claim, { status: 201, headers: {}, body: '{"by":"first"}' })).toBe(
      false,
    )
    expect(await store.claim(claimInput(scope, clock.now()))).toMatchObject({ outcome: 'running' })
    // Nor may it release (delete) the record of the request that took over.
    await store.release(first.claim)
    expect(await store.claim(claimInput(scope, clock.now()))).toMatchObject({ outcome: 'running' })
    await store.release(second.claim)
    expect((await store.claim(claimInput(scope, clock.now()))).outcome).toBe('owner')
  })

  it('claims batched in opposite orders by several instances all get an answer (no deadlock)', async () => {
    // Four instances' batches: two in one order, two in the other.
    const stores = Array.from(
      { length: 4 },
      () => new IdempotencyStore(t.database.db, new SecretBox('z'.repeat(32))),
    )
    // A deadlock needs concurrent connections: PostgreSQL (PGlite has one connection).
    const rounds = process.env.DATABASE_URL ? 10 : 1
    for (let round = 0; round < rounds; round++) {
      const scopes = Array.from({ length: 250 }, (_, i) => sha256Hex(`${fresh('order')}-${i}`))
      const now = systemClock.now()
      const results = await Promise.all(
        stores.flatMap((store, n) =>
          (n % 2 === 0 ? scopes : [...scopes].reverse()).map((s) => store.claim(claimInput(s, now))),
        ),
      )
      // Each scope has exactly one owner.
      expect(results.filter((r) => r.outcome === 'owner')).toHaveLength(scopes.length)
    }
  })
})
