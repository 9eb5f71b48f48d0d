// The guard on its own, with a credential source that fails badly: whatever a source rejects
// with, even nothing at all, the request is refused and its handler never runs.
import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { MemoryPubSub } from '../kv/memory.ts'
import { ManualClock } from '../lib/clock.ts'
import { sha256Hex } from '../lib/hash.ts'
import { auth, CredentialCache } from './index.ts'

async function guardedApp(find: () => Promise<null>) {
  const clock = new ManualClock()
  const app = Fastify()
  await app.register(auth, {
    sources: [{ prefixes: ['sk_live_'], find }],
    findWorkspace: async () => null,
    cache: new CredentialCache(new MemoryPubSub(), clock, 60_000),
    clock,
    masterKeyHash: sha256Hex('sk_master_not_the_one_used_here_0123456789'),
    ownOrigin: 'http://api.test',
  })
  let handled = 0
  app.get('/api/v1/guarded', { config: { auth: { scope: null, workspace: false } } }, async () => {
    handled++
    return { ok: true }
  })
  return { app, handled: () => handled }
}

describe('guard: a failing credential source', () => {
  for (const [name, rejection] of [
    ['an error', new Error('database gone')],
    ['undefined', undefined],
    ['a string', 'not an error'],
  ] as const) {
    it(`refuses the request when the lookup rejects with ${name}`, async () => {
      const { app, handled } = await guardedApp(() => Promise.reject(rejection))
      const res = await app.inject({
        method: 'GET',
        url: '/api/v1/guarded',
        headers: { authorization: 'Bearer sk_live_0123456789abcdefghijklmnop' },
      })
      expect(res.statusCode).toBe(500)
      expect(handled()).toBe(0)
      await app.close()
    })
  }

  it('refuses an unknown credential, and looks it up once (the miss is remembered)', async () => {
    let lookups = 0
    const { app, handled } = await guardedApp(async () => {
      lookups++
      return null
    })
    const headers = { authorization: 'Bearer sk_live_0123456789abcdefghijklmnop' }
    expect((await app.inject({ method: 'GET', url: '/api/v1/guarded', headers })).statusCode).toBe(401)
    expect((await app.inject({ method: 'GET', url: '/api/v1/guarded', headers })).statusCode).toBe(401)
    expect(lookups).toBe(1) // the miss is remembered
    expect(handled()).toBe(0)
    await app.close()
  })
})
