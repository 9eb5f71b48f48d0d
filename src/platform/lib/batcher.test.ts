import { describe, expect, it } from 'vitest'
import { TurnBatcher } from './batcher.ts'

describe('TurnBatcher', () => {
  it('runs the calls of one turn of the event loop in one batch, answering each in order', async () => {
    const batches: number[][] = []
    const batcher = new TurnBatcher<number, number>(async (items) => {
      batches.push(items)
      return items.map((n) => n * 10)
    })
    const first = await Promise.all([1, 2, 3].map((n) => batcher.add(n)))
    expect(first).toEqual([10, 20, 30])
    const second = await batcher.add(4)
    expect(second).toBe(40)
    expect(batches).toEqual([[1, 2, 3], [4]])
  })

  it('splits a backlog larger than the batch size into several calls', async () => {
    const sizes: number[] = []
    const batcher = new TurnBatcher<number, number>(async (items) => {
      sizes.push(items.length)
      return items
    }, 4)
    const out = await Promise.all(Array.from({ length: 10 }, (_, i) => batcher.add(i)))
    expect(out).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(sizes).toEqual([4, 4, 2])
  })

  it('rejects every call of a failed batch, and keeps working for the next one', async () => {
    let fail = true
    const batcher = new TurnBatcher<string, string>(async (items) => {
      if (fail) throw new Error('down')
      return items
    })
    const failed = await Promise.allSettled([batcher.add('a'), batcher.add('b')])
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    expect((failed[0] as PromiseRejectedResult).reason.message).toBe('down')
    fail = false
    expect(await batcher.add('c')).toBe('c')
  })

  it('rejects the batch when the runner throws instead of returning a promise', async () => {
    const batcher = new TurnBatcher<number, number>(() => {
      throw new Error('synchronous')
    })
    await expect(batcher.add(1)).rejects.toThrow('synchronous')
  })
})
