// The queue workers' loop on a real database (PGlite, or PostgreSQL with DATABASE_URL): a
// NOTIFY on its channel wakes it, wakes during a claim are folded into one more claim, a claim
// that took all its room is followed by another, a failed claim is reported and the next wake
// claims again, and stop waits for the work in flight.
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testDatabase } from '../../testing/harness.ts'
import type { DatabaseHandle } from '../db/index.ts'
import { JobPump } from './job-pump.ts'

let database: DatabaseHandle
let drop: () => Promise<void>
let postgres = false

beforeAll(async () => {
  const made = await testDatabase()
  database = made.handle
  drop = made.drop
  postgres = made.url !== null
})
afterAll(async () => {
  await database?.close()
  await drop?.()
})

/** A promise and the functions that settle it. */
function deferred<T = void>() {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((yes, no) => {
    resolve = yes
    reject = no
  })
  return { promise, resolve, reject }
}

const turn = () => new Promise((resolve) => setImmediate(resolve))

describe('JobPump', () => {
  it('claims on start and on NOTIFY, folding the wakes of a claim in progress into one claim', async () => {
    const claims: Array<ReturnType<typeof deferred<boolean>>> = []
    const pump = new JobPump({
      database,
      channel: 'job_pump_test',
      pollMs: 60_000,
      claim: () => {
        const claim = deferred<boolean>()
        claims.push(claim)
        return claim.promise
      },
      onClaimError: () => {},
    })
    await pump.start()
    expect(claims).toHaveLength(1)
    for (let i = 0; i < 5; i++) pump.wake()
    claims[0]!.resolve(false)
    await expect.poll(() => claims.length).toBe(2)
    claims[1]!.resolve(false)
    await turn()
    expect(claims).toHaveLength(2)

    await database.db.execute(sql`select pg_notify('job_pump_test', '')`)
    await expect.poll(() => claims.length, { timeout: 5000 }).toBe(3)
    // A claim that took all its room is followed by another at once.
    claims[2]!.resolve(true)
    await expect.poll(() => claims.length).toBe(4)
    claims[3]!.resolve(false)
    await pump.stop()
  })

  it('reports a failed claim and claims again on the next wake', async () => {
    const errors: unknown[] = []
    let calls = 0
    const pump = new JobPump({
      database,
      channel: 'job_pump_failing',
      pollMs: 60_000,
      claim: async () => {
        calls++
        if (calls === 1) throw new Error('database gone')
        return false
      },
      onClaimError: (error) => errors.push(error),
    })
    await pump.start()
    await expect.poll(() => errors.length).toBe(1)
    // (On PostgreSQL the listener's connection wakes the pump too, so count from here.)
    await turn()
    const before = calls
    pump.wake()
    await expect.poll(() => calls).toBe(before + 1)
    expect(errors).toHaveLength(1)
    await pump.stop()
  })

  it('stops claiming at once and waits for the claim and the work in flight', async () => {
    const claim = deferred<boolean>()
    const job = deferred()
    let claims = 0
    const pump = new JobPump({
      database,
      channel: 'job_pump_stopping',
      pollMs: 60_000,
      claim: async () => {
        claims++
        const more = await claim.promise
        pump.track(job.promise)
        return more
      },
      onClaimError: () => {},
    })
    await pump.start()
    let stopped = false
    const stopping = pump.stop().then(() => {
      stopped = true
    })
    expect(pump.stopping).toBe(true)
    pump.wake()
    claim.resolve(true) // even a full claim is not followed by another once stopping
    await turn()
    await turn()
    expect(stopped).toBe(false)
    expect(claims).toBe(1)
    job.resolve()
    await stopping
    expect(stopped).toBe(true)
    expect(claims).toBe(1)
  })

  it('counts a tracked job that fails like one that succeeds, and may be stopped twice or unstarted', async () => {
    const failing = deferred()
    const pump = new JobPump({
      database,
      channel: 'job_pump_failures',
      pollMs: 60_000,
      claim: async () => false,
      onClaimError: () => {},
    })
    await pump.stop() // never started
    await pump.start()
    pump.track(failing.promise)
    const stopping = pump.stop()
    failing.reject(new Error('the job failed, and said so itself'))
    await stopping
    await pump.stop()
  })

  it('leaves nothing running when stopped while it starts', async () => {
    let claims = 0
    const pump = new JobPump({
      database,
      channel: 'job_pump_early_stop',
      pollMs: 10,
      claim: async () => {
        claims++
        return false
      },
      onClaimError: () => {},
    })
    const starting = pump.start()
    await pump.stop()
    await starting
    await new Promise((resolve) => setTimeout(resolve, 50))
    await database.db.execute(sql`select pg_notify('job_pump_early_stop', '')`)
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(claims).toBe(0)
    // On PostgreSQL the listener has a connection of its own: it is closed, not left behind.
    if (postgres) {
      const listeners = async () => {
        const result = (await database.db.execute(
          sql`select count(*)::int as n from pg_stat_activity where query = 'listen "job_pump_early_stop"'`,
        )) as unknown as { rows: Array<{ n: number }> }
        return result.rows[0]!.n
      }
      await expect.poll(listeners, { timeout: 5000 }).toBe(0)
    }
  })
})
