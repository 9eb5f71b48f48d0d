import { describe, expect, it } from 'vitest'
import { GroupCommit } from './group-commit.ts'

/** A writer whose batches finish when the test says so. */
function controlledWriter() {
  const batches: number[][] = []
  const finish: Array<(errors?: unknown[]) => void> = []
  const write = (items: number[]) =>
    new Promise<ReadonlyArray<unknown> | undefined>((resolve) => {
      batches.push(items)
      finish.push(resolve)
    })
  return { batches, finish, write }
}
const turn = () => new Promise((resolve) => setImmediate(resolve))

describe('group commit', () => {
  it('writes what arrives during a write as the next batch, answering each item after its own', async () => {
    const w = controlledWriter()
    const commits = new GroupCommit(w.write, { maxInFlight: 1, maxBatch: 100 })
    const done: number[] = []
    const first = [1, 2].map((n) => commits.add(n).then(() => done.push(n)))
    await turn()
    expect(w.batches).toEqual([[1, 2]])
    const second = [3, 4, 5].map((n) => commits.add(n).then(() => done.push(n)))
    await turn()
    expect(w.batches).toHaveLength(1) // the second group waits for the first write
    expect(done).toEqual([])
    w.finish[0]!()
    await Promise.all(first)
    expect(done).toEqual([1, 2])
    expect(w.batches).toEqual([
      [1, 2],
      [3, 4, 5],
    ])
    w.finish[1]!()
    await Promise.all(second)
    expect(done).toEqual([1, 2, 3, 4, 5])
  })

  it('rejects only the items whose write failed, and every item of a batch that threw', async () => {
    const failure = new Error('refused')
    let call = 0
    const commits = new GroupCommit(
      async (items: number[]) => {
        call++
        if (call === 2) throw failure
        return items.map((n) => (n === 2 ? failure : undefined))
      },
      { maxInFlight: 1, maxBatch: 100 },
    )
    const outcomes = await Promise.allSettled([1, 2, 3].map((n) => commits.add(n)))
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    const thrown = await Promise.allSettled([4, 5].map((n) => commits.add(n)))
    expect(thrown.map((o) => o.status)).toEqual(['rejected', 'rejected'])
  })

  it('splits batches at maxBatch, writes up to maxInFlight at once, and drains', async () => {
    const w = controlledWriter()
    const commits = new GroupCommit(w.write, { maxInFlight: 2, maxBatch: 3 })
    const all = Array.from({ length: 7 }, (_, n) => commits.add(n))
    await turn()
    expect(w.batches).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ])
    let drained = false
    const draining = commits.drain().then(() => {
      drained = true
    })
    w.finish[1]!()
    await turn()
    expect(w.batches.at(-1)).toEqual([6])
    w.finish[0]!()
    await turn()
    expect(drained).toBe(false)
    w.finish[2]!()
    await Promise.all([...all, draining])
    expect(drained).toBe(true)
  })
})
