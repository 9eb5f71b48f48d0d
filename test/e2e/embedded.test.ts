// The embedded default as a user runs it: one process per data folder, the CLI on the same
// folder once the server has stopped, a master key generated and printed once, secrets never
// in the logs, and a clean exit on SIGTERM.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { call, runCli, startServer } from '../../src/testing/processes.ts'

// This file is about the embedded database: never the PostgreSQL or Redis of the environment.
const EMBEDDED = { DATABASE_URL: '', REDIS_URL: '' }
const dir = mkdtempSync(join(tmpdir(), 'core-api-e2e-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const cli = (args: string[]) => runCli(args, { ...EMBEDDED, DATA_DIR: dir })

describe('the embedded database', () => {
  it('prints a generated master key once, keeps secrets out of logs, and refuses a second process', async () => {
    const first = await startServer({ ...EMBEDDED, DATA_DIR: dir, LOG_LEVEL: 'info' })
    const master = /sk_master_[0-9A-Za-z]+/.exec(first.output())?.[0]
    expect(master).toBeDefined()
    const ws = await call(first.url, master!, 'POST', '/api/v1/workspaces', { name: 'Acme' })
    expect(ws.status).toBe(201)
    const key = await call(
      first.url,
      master!,
      'POST',
      '/api/v1/api-keys',
      { name: 'logged?' },
      { 'x-workspace-id': String(ws.body.data.id) },
    )
    const me = await call(first.url, key.body.data.key, 'GET', '/api/v1/me', undefined, {
      'x-request-id': 'trace-me-1',
    })
    expect(me.status).toBe(200)

    const second = await cli(['serve'])
    expect(second.code).not.toBe(0)
    expect(second.stderr).toContain('in use by another core-api process')
    const migrate = await cli(['migrate'])
    expect(migrate.code).not.toBe(0)

    expect(await first.stop()).toBe(0)
    expect(existsSync(join(dir, 'core-api.lock'))).toBe(false)
    const logs = first.output()
    expect(logs.split(master!).length).toBe(2) // the one banner, nowhere else
    expect(logs).not.toContain(key.body.data.key)
    expect(logs).toContain('"reqId":"trace-me-1"')
  }, 120_000)

  it('runs the CLI once the server is gone, and the server accepts what it made', async () => {
    const workspace = await cli(['workspaces', 'create', '--name', 'Acme Two'])
    expect(workspace.code).toBe(0)
    const created = JSON.parse(workspace.stdout)
    expect(created.slug).toBe('acme-two')
    const key = await cli(['keys', 'create', '--workspace', String(created.id), '--name', 'ci'])
    expect(key.code).toBe(0)
    const secret = JSON.parse(key.stdout).key as string
    expect(secret).toMatch(/^sk_live_/)
    // A lock left by a process that died does not block the next start.
    writeFileSync(join(dir, 'core-api.lock'), '999999')
    const server = await startServer({ ...EMBEDDED, DATA_DIR: dir })
    try {
      expect(server.output()).not.toMatch(/sk_master_/) // generated once, never printed again
      const me = await call(server.url, secret, 'GET', '/api/v1/me')
      expect(me.body.data.workspace.slug).toBe('acme-two')
    } finally {
      expect(await server.stop()).toBe(0)
    }
  }, 120_000)
})
