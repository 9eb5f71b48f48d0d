// The cache every instance keeps of hot, rarely changed rows: a change made on one instance
// drops the copy of every other instance that shares the pub/sub, entries expire after their
// TTL, failed loads are not kept, a load overlapping a change is not kept, and size is bounded.
import { describe, expect, it } from 'vitest'
import { ManualClock } from '../lib/clock.ts'
import { MemoryPubSub } from './memory.ts'
import { SharedCache } from './shared-cache.ts'

function instances(ttlMs = 60_000, maxEntries = 100) {
  const pubsub = new MemoryPubSub()
  const clock = new ManualClock(1_000_000)
  const make = () => new SharedCache<string | null>(pubsub, 'things', clock, { ttlMs, maxEntries })
  return { clock, a: make(), b: make() }
}

/** A source whose value and load count the test controls. */
function source(initial: string | null) {
  const state = { value: initial, loads: 0 }
  const load = async () => {
    state.loads++
    return state.value
  }
  return { state, load }
}

describe('SharedCache', () => {
  it('loads once, then answers from memory, including a remembered null', async () => {
    const { a } = instances()
    const s = source(null)
    expect(await a.get('x', s.load)).toBeNull()
    expect(await a.get('x', s.load)).toBeNull()
    const [one, two] = await Promise.all([a.get('y', s.load), a.get('y', s.load)])
    expect([one, two]).toEqual([null, null])
    expect(s.state.loads).toBe(2) // x once, y once for both callers
  })

  it('drops the entry on every instance when one announces a change', async () => {
    const { a, b } = instances()
    await Promise.all([a.start(), b.start()])
    const s = source('old')
    expect(await a.get('x', s.load)).toBe('old')
    expect(await b.get('x', s.load)).toBe('old')
    s.state.value = 'new'
    await b.invalidate('x')
    expect(await a.get('x', s.load)).toBe('new')
    expect(await b.get('x', s.load)).toBe('new')
    s.state.value = 'newer'
    await a.invalidate() // every key
    expect(await b.get('x', s.load)).toBe('newer')
  })

  it('does not hear changes before it starts listening, but expires entries after the TTL', async () => {
    const { clock, a, b } = instances(10_000)
    await b.start()
    const s = source('old')
    expect(await a.get('x', s.load)).toBe('old')
    s.state.value = 'new'
    await b.invalidate('x')
    expect(await a.get('x', s.load)).toBe('old') // a never subscribed
    clock.advance(10_001)
    expect(await a.get('x', s.load)).toBe('new')
  })

  it('does not keep a failed load, nor a load that overlapped a change', async () => {
    const { a } = instances()
    await a.start()
    let fail = true
    const flaky = async () => {
      if (fail) throw new Error('database down')
      return 'ok'
    }
    await expect(a.get('x', flaky)).rejects.toThrow('database down')
    fail = false
    expect(await a.get('x', flaky)).toBe('ok')

    let release: (value: string) => void = () => {}
    const slow = () => new Promise<string>((resolve) => (release = resolve))
    const pending = a.get('y', slow)
    await a.invalidate('y') // the change lands while the load is under way
    release('read before the change')
    expect(await pending).toBe('read before the change')
    const s = source('after the change')
    expect(await a.get('y', s.load)).toBe('after the change')
    expect(s.state.loads).toBe(1)
  })

  it('holds at most maxEntries, the oldest going first', async () => {
    const { a } = instances(60_000, 2)
    const s = source('v')
    for (const key of ['k1', 'k2', 'k3']) await a.get(key, s.load)
    expect(s.state.loads).toBe(3)
    await a.get('k3', s.load)
    await a.get('k2', s.load)
    expect(s.state.loads).toBe(3)
    await a.get('k1', s.load) // evicted by k3
    expect(s.state.loads).toBe(4)
  })
})
