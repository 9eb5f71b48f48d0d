// One access line per request, written off the request path and never lost by an exit: a real
// server process answers N requests, then ends — by SIGTERM, or by a crash — and its standard
// output holds the N access lines, each with what an operator needs, in either format.
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { randomBase62 } from '../../src/platform/lib/random.ts'
import { call, createTenant, startServer } from '../../src/testing/processes.ts'

const MASTER = `sk_master_${randomBase62(40)}`
const CRASHING = fileURLToPath(new URL('./fixtures/crash-on-signal.ts', import.meta.url))
// The embedded database, in memory: this file is about the log, not the storage.
const ENV = {
  DATABASE_URL: '',
  REDIS_URL: '',
  DATA_DIR: 'memory://',
  CORE_API_MASTER_KEY: MASTER,
  RATE_LIMIT_IP_PER_HOUR: '0',
  WEBHOOK_WORKER: '0',
  LOG_LEVEL: 'info',
}
const N = 300

/** N requests, 20 at a time, each with its own request id: `${prefix}-${i}`. */
async function send(url: string, key: string, prefix: string): Promise<number[]> {
  const statuses: number[] = []
  for (let i = 0; i < N; i += 20) {
    const batch = Array.from({ length: Math.min(20, N - i) }, (_, j) => {
      const n = i + j
      // Two routes, both acting in the key's workspace: a 404 (no such post) and a 200.
      const path = n % 2 === 0 ? `/api/v1/posts/${n + 1000}` : '/api/v1/me'
      return call(url, key, 'GET', path, undefined, { 'x-request-id': `${prefix}-${n}` })
    })
    statuses.push(...(await Promise.all(batch)).map((r) => r.status))
  }
  return statuses
}

function expectedRoute(n: number): { route: string; status: number } {
  return n % 2 === 0 ? { route: '/api/v1/posts/:id', status: 404 } : { route: '/api/v1/me', status: 200 }
}

describe('the access log of a server process', () => {
  it('holds one JSON line per answered request after SIGTERM, with its fields', async () => {
    const server = await startServer(ENV)
    const tenant = await createTenant(server.url, MASTER)
    const statuses = await send(server.url, tenant.key, 'term')
    expect(statuses.filter((s) => s === 404 || s === 200)).toHaveLength(N)
    expect(await server.stop('SIGTERM')).toBe(0)

    const entries = server
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
    const access = entries.filter((e) => e.msg === 'request' && String(e.reqId).startsWith('term-'))
    expect(access).toHaveLength(N)
    const seen = new Set(access.map((e) => e.reqId))
    expect(seen.size).toBe(N)
    for (const entry of access) {
      const n = Number(String(entry.reqId).slice('term-'.length))
      const { route, status } = expectedRoute(n)
      expect(entry).toMatchObject({
        level: 30,
        method: 'GET',
        route,
        status,
        durationMs: expect.any(Number),
        workspaceId: tenant.workspace,
        principal: 'api_key',
        keyId: tenant.keyId,
      })
      expect(entry.url).toBeUndefined() // a matched route logs its pattern, never the URL
    }
    // Fastify's own two lines per request are gone.
    expect(entries.some((e) => e.msg === 'incoming request' || e.msg === 'request completed')).toBe(false)
    expect(server.output()).not.toContain(tenant.key)
  }, 120_000)

  it('writes the lines of a running server without waiting for a full buffer or an exit', async () => {
    const server = await startServer(ENV)
    try {
      const tenant = await createTenant(server.url, MASTER)
      await send(server.url, tenant.key, 'live')
      // About 70 KB of lines: the first 32 KiB go out at once, the rest within a quarter of a
      // second of their first line. Three seconds is the patience of a person tailing the log.
      const written = () => server.output().match(/"reqId":"live-\d+"/g)?.length ?? 0
      const deadline = Date.now() + 3000
      while (written() < N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      expect(written()).toBe(N)
      // One more request, alone: its line comes out by itself.
      await call(server.url, tenant.key, 'GET', '/api/v1/me', undefined, { 'x-request-id': 'live-alone' })
      const alone = Date.now() + 3000
      while (!server.output().includes('"reqId":"live-alone"') && Date.now() < alone)
        await new Promise((r) => setTimeout(r, 50))
      expect(server.output()).toContain('"reqId":"live-alone"')
    } finally {
      await server.stop()
    }
  }, 120_000)

  it('writes every buffered line when the process crashes, in the pretty format too', async () => {
    const server = await startServer({ ...ENV, LOG_FORMAT: 'pretty' }, CRASHING)
    const tenant = await createTenant(server.url, MASTER)
    await send(server.url, tenant.key, 'crash')
    const exited = new Promise<number | null>((resolve) => server.child.once('exit', resolve))
    server.child.kill('SIGUSR2')
    expect(await exited).toBe(1)

    const lines = server.output().split('\n')
    const access = lines.filter((line) => / reqId=crash-\d+( |$)/.test(line))
    expect(access).toHaveLength(N)
    for (const line of access) {
      const n = Number(/reqId=crash-(\d+)/.exec(line)![1])
      const { route, status } = expectedRoute(n)
      expect(line).toMatch(
        new RegExp(
          `^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO {2}GET ${route.replace(/[/:]/g, '\\$&')} ${status} [\\d.]+ ms ` +
            `reqId=crash-${n} workspaceId=${tenant.workspace} ` +
            `principal=api_key keyId=${tenant.keyId}$`,
        ),
      )
    }
    // The crash has its line, redacted like every other.
    const fatal = lines.findIndex((line) => / FATAL crashed: uncaught exception/.test(line))
    expect(fatal, server.output()).toBeGreaterThan(-1)
    expect(lines[fatal + 1]).toBe('  Error: a bug, holding sk_live_[redacted]')
    expect(server.output()).not.toContain('x'.repeat(40))
    expect(server.output()).not.toContain(tenant.key)
  }, 120_000)
})
