// Redis going away mid-run: requests keep being answered (200 or 429, never 5xx) and limited by
// the instance's own buckets, the fallback is counted in /metrics, and Redis is used again once
// it is back. The test runs its own redis-server on a spare port (killed with SIGKILL, then
// restarted on the same port) and never touches the shared one.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { afterAll, describe, expect, it } from 'vitest'
import type { ManualClock } from '../../platform/lib/clock.ts'
import { buildTestApp, type TestApp } from '../../testing/harness.ts'
import { freePort } from '../../testing/processes.ts'

function onPath(binary: string): boolean {
  try {
    execFileSync(binary, ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** The tokens stored in a bucket (`<tokens>:<updated at>`). */
const tokensIn = (port: number, key: string) => Number(redisCli(port, 'get', key).split(':')[0])

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function redisCli(port: number, ...args: string[]): string {
  return execFileSync('redis-cli', ['-p', String(port), ...args], { timeout: 5000 })
    .toString()
    .trim()
}

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  )
  const deadline = Date.now() + 10_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`)
    try {
      if (redisCli(port, 'ping') === 'PONG') return child
    } catch {}
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error('redis-server did not start within 10 s')
    }
    await sleep(50)
  }
}

const kill = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once('exit', () => resolve())
    child.kill('SIGKILL')
  })

const fallbacks = async (t: TestApp) => {
  const res = await t.app.inject('/metrics')
  const match = /^core_api_rate_limit_fallbacks_total (\d+)$/m.exec(res.body)
  if (!match) throw new Error('core_api_rate_limit_fallbacks_total is missing from /metrics')
  return Number(match[1])
}

describe.skipIf(!onPath('redis-server') || !onPath('redis-cli'))('rate limits when Redis goes away', () => {
  let redis: ChildProcess | null = null
  let t: TestApp | null = null
  afterAll(async () => {
    await t?.close()
    if (redis) await kill(redis)
  })

  it('keeps answering and limiting in memory, counts the fallback, then uses Redis again', async () => {
    const port = await freePort()
    redis = await startRedis(port)
    t = await buildTestApp({ env: { REDIS_URL: `redis://127.0.0.1:${port}` } })
    const app = t
    const clock = app.clock as ManualClock
    const ws = await app.workspace({ tier: 'free' })
    const { id, key } = await app.key(ws.id)
    const me = () => app.call(key, { method: 'GET', url: '/api/v1/me' })
    const bucketKeys = () => redisCli(port, '--scan', '--pattern', '*rl:*').split('\n').filter(Boolean)

    // Limited through Redis: the bucket lives there.
    for (let i = 1; i <= 10; i++) {
      const res = await me()
      expect(res.statusCode).toBe(200)
      expect(res.headers['x-ratelimit-remaining']).toBe(String(60 - i))
    }
    const keyBucket = bucketKeys().find((k) => k.endsWith(`rl:key:${id}`))
    expect(keyBucket, bucketKeys().join(', ')).toBeDefined()
    expect(tokensIn(port, keyBucket!)).toBe(50)
    expect(await fallbacks(app)).toBe(0)

    // Redis dies mid-run.
    await kill(redis)
    redis = null
    const started = Date.now()
    const codes: number[] = []
    for (let i = 0; i < 70; i++) codes.push((await me()).statusCode)
    expect(codes.filter((c) => c !== 200 && c !== 429)).toEqual([])
    // The memory buckets start full: 60 more are admitted (one instance alone), then 429.
    expect(codes.slice(0, 60)).toEqual(Array(60).fill(200))
    expect(codes.slice(60)).toEqual(Array(10).fill(429))
    // Redis is not waited for: 70 requests well under the 250 ms patience each.
    expect(Date.now() - started).toBeLessThan(70 * 250)
    expect(await fallbacks(app)).toBeGreaterThan(0)

    // Every other route keeps working too (idempotency and credentials live in the database).
    const other = await app.call(app.masterKey, {
      method: 'POST',
      url: '/api/v1/api-keys',
      workspace: ws.id,
      payload: { name: 'during the outage' },
      headers: { 'idempotency-key': 'outage-1' },
    })
    expect(other.statusCode).toBe(201)
    const otherKey = other.json().data as { id: number; key: string }
    // The new key draws from the workspace bucket, which is empty in memory.
    expect((await app.call(otherKey.key, { method: 'GET', url: '/api/v1/me' })).statusCode).toBe(429)
    expect((await app.app.inject('/ready')).statusCode).toBe(200)

    // Redis comes back, empty, on the same port: within a few seconds the limiter uses it again,
    // which a request shows by finding a full bucket where memory has an empty one.
    const fallbacksDuringOutage = await fallbacks(app)
    redis = await startRedis(port)
    const deadline = Date.now() + 15_000
    let back: Awaited<ReturnType<typeof me>> | null = null
    for (let attempt = 0; attempt < 300 && back === null; attempt++) {
      const res = await me()
      expect([200, 429]).toContain(res.statusCode)
      if (res.statusCode === 200) back = res
      else if (Date.now() > deadline) throw new Error('Redis was not used again within 15 s')
      else await sleep(50)
    }
    expect(back?.headers['x-ratelimit-remaining']).toBe('59')
    expect(bucketKeys().some((k) => k.endsWith(`rl:key:${id}`))).toBe(true)
    expect(bucketKeys().some((k) => k.endsWith(`rl:workspace:${ws.id}`))).toBe(true)

    // And it limits through Redis: 59 more, then 429, and Redis holds the empty bucket.
    let admitted = 1
    while (admitted < 100 && (await me()).statusCode === 200) admitted++
    expect(admitted).toBe(60)
    expect(tokensIn(port, keyBucket!)).toBe(0)
    const settled = await fallbacks(app)
    for (let i = 0; i < 5; i++) expect((await me()).statusCode).toBe(429)
    expect(await fallbacks(app)).toBe(settled) // no further fallbacks once Redis answers
    expect(settled).toBeGreaterThanOrEqual(fallbacksDuringOutage)

    // The clock moves: the refill comes from Redis's bucket too.
    clock.advance(1000)
    expect((await me()).statusCode).toBe(200)
    expect(tokensIn(port, keyBucket!)).toBe(0)
  })
})
