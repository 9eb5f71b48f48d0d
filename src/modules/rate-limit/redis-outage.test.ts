// Redis going away mid-run: requests keep being answered and limited by the instance's own
// buckets, the fallback is counted, and Redis is used again once it is back. The test runs its
// own redis-server on a spare port and never touches the shared one.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { afterAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../testing/harness.ts'

function hasRedisServer(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

async function sparePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  )
  const deadline = Date.now() + 10_000
  for (;;) {
    try {
      execFileSync('redis-cli', ['-p', String(port), 'ping'], { stdio: 'ignore' })
      return child
    } catch {
      if (Date.now() > deadline) throw new Error('redis-server did not start')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}

const stop = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve()
    child.once('exit', () => resolve())
    child.kill('SIGKILL')
  })

describe.skipIf(!hasRedisServer())('rate limits when Redis goes away', () => {
  let redis: ChildProcess | null = null
  let t: TestApp | null = null
  afterAll(async () => {
    await t?.close()
    if (redis) await stop(redis)
  })

  it('keeps answering and limiting in memory, then uses Redis again', async () => {
    const port = await sparePort()
    redis = await startRedis(port)
    t = await buildTestApp({ env: { REDIS_URL: `redis://127.0.0.1:${port}` } })
    const ws = await t.workspace({ tier: 'free' })
    const { key } = await t.key(ws.id)
    const me = () => t!.call(key, { method: 'GET', url: '/api/v1/me' })
    for (let i = 0; i < 10; i++) expect((await me()).statusCode).toBe(200)
    const keys = () =>
      execFileSync('redis-cli', ['-p', String(port), '--scan', '--pattern', '*rl:*']).toString()
    expect(keys()).toContain('rl:key:')

    await stop(redis)
    const codes: number[] = []
    for (let i = 0; i < 70; i++) codes.push((await me()).statusCode)
    expect(codes.every((c) => c === 200 || c === 429)).toBe(true)
    // The memory buckets start full: 60 more are admitted, the rest refused.
    expect(codes.filter((c) => c === 200)).toHaveLength(60)
    const metrics = await t.app.inject('/metrics')
    expect(Number(/core_api_rate_limit_fallbacks_total (\d+)/.exec(metrics.body)?.[1])).toBeGreaterThan(0)

    redis = await startRedis(port)
    const other = await t.key((await t.workspace()).id)
    const deadline = Date.now() + 10_000
    while (!keys().includes(`rl:key:${other.id}`)) {
      if (Date.now() > deadline) throw new Error('Redis was not used again')
      await t.call(other.key, { method: 'GET', url: '/api/v1/me' })
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  })
})
