import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ManualClock } from '../../platform/lib/clock.ts'
import { buildTestApp, type TestApp } from '../../testing/harness.ts'

let t: TestApp
let clock: ManualClock
let workspace: number
let key: string
beforeAll(async () => {
  t = await buildTestApp()
  clock = t.clock as ManualClock
  workspace = (await t.workspace()).id
  key = (await t.key(workspace, { scopes: ['*'] })).key
})
afterAll(() => t.close())

const post = (idem: string, payload: Record<string, unknown> = { title: 'Once' }, credential = key) =>
  t.call(credential, { method: 'POST', url: '/api/v1/posts', payload, headers: { 'idempotency-key': idem } })
const total = async () =>
  (await t.call(key, { method: 'GET', url: '/api/v1/posts' })).json().meta.total as number

describe('idempotency', () => {
  it('replays the first response byte for byte and creates nothing more', async () => {
    const before = await total()
    const first = await post('k-1')
    const second = await post('k-1')
    expect(first.statusCode).toBe(201)
    expect(second.statusCode).toBe(201)
    expect(second.body).toBe(first.body)
    expect(second.headers['idempotent-replayed']).toBe('true')
    expect(first.headers['idempotent-replayed']).toBeUndefined()
    expect(await total()).toBe(before + 1)
  })

  it('refuses the same key with another request, and scopes keys per credential', async () => {
    await post('k-2')
    const other = await post('k-2', { title: 'Different' })
    expect(other.statusCode).toBe(422)
    expect(other.json().error).toBe('idempotency_key_reused')
    const second = (await t.key(workspace, { scopes: ['*'] })).key
    const fresh = await post('k-2', { title: 'Once' }, second)
    expect(fresh.statusCode).toBe(201)
    expect(fresh.headers['idempotent-replayed']).toBeUndefined()
  })

  it('stores 422s but not the guards’ refusals', async () => {
    const invalid = await post('k-3', { nope: true })
    expect(invalid.statusCode).toBe(422)
    const replay = await post('k-3', { nope: true })
    expect(replay.headers['idempotent-replayed']).toBe('true')
    const readOnly = (await t.key(workspace, { scopes: ['posts:read'] })).key
    const refused = await post('k-4', { title: 'x' }, readOnly)
    expect(refused.statusCode).toBe(403)
    const again = await post('k-4', { title: 'x' }, readOnly)
    expect(again.headers['idempotent-replayed']).toBeUndefined()
  })

  it('rejects malformed keys, ignores GET, and forgets records after 24 h', async () => {
    expect((await post('x'.repeat(256))).statusCode).toBe(422)
    expect((await post('bad\u0001key')).statusCode).toBe(422)
    const get = await t.call(key, {
      method: 'GET',
      url: '/api/v1/posts',
      headers: { 'idempotency-key': 'k-5' },
    })
    expect(get.headers['idempotent-replayed']).toBeUndefined()
    const first = await post('k-6')
    clock.advance(24 * 3_600_000 + 1000)
    const later = await post('k-6')
    expect(later.statusCode).toBe(201)
    expect(later.headers['idempotent-replayed']).toBeUndefined()
    expect(later.json().data.id).not.toBe(first.json().data.id)
  })

  it('creates one resource from concurrent twins; the others are replays or 409', async () => {
    const before = await total()
    const answers = await Promise.all(Array.from({ length: 10 }, () => post('k-7', { title: 'Twin' })))
    expect(await total()).toBe(before + 1)
    for (const res of answers) {
      if (res.statusCode === 409) {
        expect(res.json().error).toBe('idempotency_in_progress')
        expect(res.headers['retry-after']).toBe('1')
      } else expect(res.statusCode).toBe(201)
    }
  })
})
