// Two real core-api processes on one PostgreSQL (and Redis, when REDIS_URL is set) enforce one
// count limit between them: 20 concurrent creates split over both admit exactly the plan's 5.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomBase62 } from '../../src/platform/lib/random.ts'
import { testDatabase } from '../../src/testing/harness.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const LIMIT = 5

type Instance = { child: ChildProcess; base: string; output: string[] }

/** A free loopback port (the OS picks one, then it is released for the child). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function waitHealthy(instance: Instance): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (instance.child.exitCode !== null) break
    try {
      const res = await fetch(`${instance.base}/health`)
      if (res.ok) return
    } catch {
      // not listening yet
    }
    await sleep(100)
  }
  throw new Error(`instance ${instance.base} did not become healthy:\n${instance.output.join('')}`)
}

describe.skipIf(!process.env.DATABASE_URL)('entitlements across two instances', () => {
  const masterKey = `sk_master_${randomBase62(40)}`
  const instances: Instance[] = []
  let dir: string
  let db: Awaited<ReturnType<typeof testDatabase>>

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'core-api-e2e-entitlements-'))
    const plans = join(dir, 'plans.json')
    writeFileSync(
      plans,
      JSON.stringify({
        plans: { free: { posts: LIMIT, api_keys: 10, webhooks: 5, api_calls: 10000, storage: 1073741824 } },
      }),
    )
    db = await testDatabase()
    const prefix = `core-api-e2e:${randomBase62(8)}:`
    for (let i = 0; i < 2; i++) {
      const port = await freePort()
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '',
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: db.url!,
        REDIS_PREFIX: prefix,
        CORE_API_MASTER_KEY: masterKey,
        LOG_LEVEL: 'silent',
        RATE_LIMIT_IP_PER_HOUR: '0',
        PLANS_FILE: plans,
        ...(process.env.REDIS_URL && { REDIS_URL: process.env.REDIS_URL }),
      }
      const child = spawn(process.execPath, ['src/main.ts'], {
        cwd: ROOT,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      const output: string[] = []
      child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()))
      child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()))
      instances.push({ child, base: `http://127.0.0.1:${port}`, output })
    }
    // both start (and migrate) at once
    await Promise.all(instances.map(waitHealthy))
  }, 60_000)

  afterAll(async () => {
    await Promise.all(
      instances.map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve()
            const force = setTimeout(() => child.kill('SIGKILL'), 10_000)
            child.once('exit', () => {
              clearTimeout(force)
              resolve()
            })
            child.kill('SIGTERM')
          }),
      ),
    )
    await db?.handle.close()
    await db?.drop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  }, 30_000)

  async function call(
    base: string,
    key: string,
    method: string,
    path: string,
    options: { body?: unknown; workspace?: number } = {},
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(options.body !== undefined && { 'content-type': 'application/json' }),
        ...(options.workspace !== undefined && { 'x-workspace-id': String(options.workspace) }),
      },
      ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
    })
    const text = await res.text()
    return { status: res.status, json: text ? JSON.parse(text) : {} }
  }

  it('20 concurrent creates over both instances admit exactly the plan limit', async () => {
    const [a, b] = instances as [Instance, Instance]
    const ws = await call(a.base, masterKey, 'POST', '/api/v1/workspaces', {
      body: { name: 'Two instances', tier: 'free' },
    })
    expect(ws.status).toBe(201)
    const workspaceId = (ws.json.data as { id: number }).id
    const created = await call(b.base, masterKey, 'POST', '/api/v1/api-keys', {
      body: { name: 'e2e', scopes: ['posts:*', 'entitlements:read'] },
      workspace: workspaceId,
    })
    expect(created.status).toBe(201)
    const key = (created.json.data as { key: string }).key

    // both instances see the operator's plan
    for (const instance of [a, b]) {
      const before = await call(instance.base, key, 'GET', '/api/v1/entitlements/check?feature=posts')
      expect(before.json).toEqual({
        allowed: true,
        feature: 'posts',
        current_usage: 0,
        limit: LIMIT,
        available: LIMIT,
      })
    }

    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call(instances[i % 2]!.base, key, 'POST', '/api/v1/posts', { body: { title: `Concurrent ${i}` } }),
      ),
    )
    const statuses = results.map((r) => r.status)
    expect(
      statuses.filter((s) => s === 201),
      JSON.stringify(statuses),
    ).toHaveLength(LIMIT)
    expect(
      statuses.filter((s) => s === 403),
      JSON.stringify(statuses),
    ).toHaveLength(20 - LIMIT)
    for (const refused of results.filter((r) => r.status === 403)) {
      expect(refused.json).toMatchObject({ error: 'feature_limit_reached', feature: 'posts', limit: LIMIT })
    }
    // each instance got 10 of the 20, so each must have refused some: both enforce the shared limit
    const refusedBy = new Set(results.flatMap((r, i) => (r.status === 403 ? [i % 2] : [])))
    expect(refusedBy).toEqual(new Set([0, 1]))

    for (const instance of [a, b]) {
      const list = await call(instance.base, key, 'GET', '/api/v1/posts?per_page=100')
      expect((list.json.meta as { total: number }).total).toBe(LIMIT)
      expect(list.json.data as unknown[]).toHaveLength(LIMIT)
      const after = await call(instance.base, key, 'GET', '/api/v1/entitlements/check?feature=posts')
      expect(after.json).toMatchObject({ allowed: false, current_usage: LIMIT, available: 0 })
    }
  })
})
