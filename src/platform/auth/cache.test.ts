// The credential cache's contract: a secret is looked up once per TTL, whether it matched a
// credential or not, and a change announced anywhere drops what it touched at once.
import { describe, expect, it } from 'vitest'
import { MemoryPubSub } from '../kv/memory.ts'
import { ManualClock } from '../lib/clock.ts'
import { CredentialCache } from './cache.ts'
import type { Principal } from './principal.ts'

const TTL = 30_000

const keyPrincipal = (keyId: number): Principal => ({
  type: 'api_key',
  user: null,
  workspace: { id: 1, name: 'Acme', slug: 'acme', tier: 'free' },
  key: { id: keyId, name: 'Backend', prefix: 'sk_live_abcd' },
  scopes: ['read'],
  granted: new Set(['posts:read']),
  rateLimitTier: null,
  expiresAt: null,
})

async function cacheWithCounter() {
  const clock = new ManualClock()
  const cache = new CredentialCache(new MemoryPubSub(), clock, TTL)
  await cache.start()
  const lookups: string[] = []
  const lookup = (hash: string, found: Principal | null) =>
    cache.principal(hash, async () => {
      lookups.push(hash)
      return found
    })
  return { clock, cache, lookups, lookup }
}

describe('the credential cache', () => {
  it('looks a known secret up once per TTL', async () => {
    const { clock, lookups, lookup } = await cacheWithCounter()
    const principal = keyPrincipal(7)
    expect(await lookup('a', principal)).toBe(principal)
    expect(await lookup('a', principal)).toBe(principal)
    expect(lookups).toEqual(['a'])
    clock.advance(TTL)
    await lookup('a', principal)
    expect(lookups).toEqual(['a', 'a'])
  })

  it('remembers an unknown secret for the TTL, so a client retrying a revoked key costs one lookup', async () => {
    const { clock, lookups, lookup } = await cacheWithCounter()
    for (let i = 0; i < 5; i++) expect(await lookup('unknown', null)).toBeNull()
    expect(lookups).toEqual(['unknown'])
    clock.advance(TTL - 1)
    await lookup('unknown', null)
    expect(lookups).toHaveLength(1)
    clock.advance(1)
    await lookup('unknown', null)
    expect(lookups).toHaveLength(2)
  })

  it('drops a key everywhere when it changes, and the next lookup reads it again', async () => {
    const { cache, lookups, lookup } = await cacheWithCounter()
    await lookup('a', keyPrincipal(7))
    await lookup('b', keyPrincipal(8))
    await cache.invalidateKey(7)
    expect(await lookup('a', null)).toBeNull() // revoked: the row no longer matches
    await lookup('b', keyPrincipal(8))
    expect(lookups).toEqual(['a', 'b', 'a'])
  })

  it('does not cache a lookup that overlapped a change', async () => {
    const { cache, lookups } = await cacheWithCounter()
    let release: (principal: Principal) => void = () => {}
    const slow = cache.principal('a', () => {
      lookups.push('a')
      return new Promise((resolve) => {
        release = resolve
      })
    })
    await cache.invalidateKey(7) // the revoke lands while the row read before it is in flight
    release(keyPrincipal(7))
    expect((await slow)?.key?.id).toBe(7)
    const revoked = async () => {
      lookups.push('a')
      return null
    }
    expect(await cache.principal('a', revoked)).toBeNull()
    expect(lookups).toEqual(['a', 'a'])
  })

  it('keeps no cache with a TTL of 0', async () => {
    const cache = new CredentialCache(new MemoryPubSub(), new ManualClock(), 0)
    let lookups = 0
    const find = async () => {
      lookups++
      return null
    }
    await cache.principal('x', find)
    await cache.principal('x', find)
    expect(lookups).toBe(2)
  })
})
