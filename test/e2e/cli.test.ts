// The command line as an operator uses it, on the embedded database: help and version, clear
// refusals of a wrong command line (exit code 2), listing and revoking keys, and replacing a
// lost master key.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { call, runCli, startServer } from '../../src/testing/processes.ts'

// The embedded database: never the PostgreSQL or Redis of the environment.
const EMBEDDED = { DATABASE_URL: '', REDIS_URL: '', CORE_API_MASTER_KEY: '' }
const VERSION = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version
const dir = mkdtempSync(join(tmpdir(), 'core-api-cli-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const cli = (args: string[], env: Record<string, string> = {}, input = '') =>
  runCli(args, { ...EMBEDDED, DATA_DIR: dir, ...env }, 60_000, input)

describe('the command line', () => {
  it('prints its version and its help (-h and --help alike)', async () => {
    for (const flag of ['--version', '-v']) {
      const res = await cli([flag])
      expect(res).toEqual({ code: 0, stdout: `core-api ${VERSION}\n`, stderr: '' })
    }
    const long = await cli(['--help'])
    expect(long.code).toBe(0)
    expect(long.stdout).toMatch(/^Usage: core-api <command>/)
    for (const command of ['keys list', 'keys revoke', 'master-key rotate', 'db export', 'db import'])
      expect(long.stdout).toContain(command)
    expect(await cli(['-h'])).toEqual(long)
    expect(await cli(['keys', 'list', '--help'])).toEqual(long)
  }, 60_000)

  it('refuses a wrong command line with a clear message and exit code 2', async () => {
    const cases: Array<[string[], string]> = [
      [['frobnicate'], 'core-api: unknown command "frobnicate"\n'],
      [
        ['keys'],
        'core-api: unknown keys command; try: core-api keys create, core-api keys list, core-api keys revoke\n',
      ],
      [
        ['keys', 'delete', '1'],
        'core-api: unknown keys command "delete"; try: core-api keys create, core-api keys list, core-api keys revoke\n',
      ],
      [['keys', 'list'], 'core-api: --workspace must be a positive integer, got nothing\n'],
      [
        ['keys', 'list', '--workspace', '1', '--status', 'gone'],
        'core-api: --status must be one of active, expired, revoked\n',
      ],
      [['keys', 'revoke', 'abc'], 'core-api: the key id must be a positive integer, got "abc"\n'],
      [['keys', 'list', '--workspace', '1', '--colour', 'red'], "core-api: Unknown option '--colour'"],
      [['migrate', 'now'], 'core-api: migrate takes no arguments, got "now"\n'],
      [['db', 'export'], 'core-api: pass --out FILE\n'],
    ]
    for (const [args, message] of cases) {
      const res = await cli(args)
      expect(res.code, args.join(' ')).toBe(2)
      expect(res.stdout, args.join(' ')).toBe('')
      expect(res.stderr, args.join(' ')).toContain(message)
      expect(res.stderr, args.join(' ')).toContain('Run "core-api --help" for the commands.')
    }
  }, 120_000)

  it('lists keys, revokes one, and lists the revoked ones apart', async () => {
    const workspace = JSON.parse(
      (await cli(['workspaces', 'create', '--name', 'Acme', '--tier', 'pro'])).stdout,
    )
    const make = async (name: string) =>
      JSON.parse((await cli(['keys', 'create', '--workspace', String(workspace.id), '--name', name])).stdout)
    const kept = await make('kept')
    const doomed = await make('doomed')

    const revoke = await cli(['keys', 'revoke', String(doomed.id)])
    expect(revoke.code, revoke.stderr).toBe(0)
    expect(revoke.stderr).toContain(`API key ${doomed.id} is revoked.`)
    const again = await cli(['keys', 'revoke', String(doomed.id)])
    expect(again).toMatchObject({ code: 1, stderr: 'core-api: This API key is already revoked.\n' })
    expect((await cli(['keys', 'revoke', '999999'])).stderr).toBe('core-api: API key not found.\n')

    const listed = await cli(['keys', 'list', '--workspace', String(workspace.id)])
    expect(listed.code).toBe(0)
    const keys = JSON.parse(listed.stdout)
    expect(keys).toEqual([
      {
        id: kept.id,
        name: 'kept',
        prefix: kept.prefix,
        environment: 'live',
        scopes: ['read', 'write'],
        rate_limit_tier: 'pro',
        status: 'active',
        last_used_at: null,
        expires_at: null,
        created_at: kept.created_at,
        revoked_at: null,
        revoked_by: null,
      },
    ])
    expect(listed.stdout).not.toContain(kept.key)
    const revoked = JSON.parse(
      (await cli(['keys', 'list', '--workspace', String(workspace.id), '--status', 'revoked'])).stdout,
    )
    expect(revoked).toHaveLength(1)
    expect(revoked[0]).toMatchObject({
      id: doomed.id,
      status: 'revoked',
      revoked_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
      revoked_by: { type: 'master_key', key_id: null, user_id: null },
    })
    expect((await cli(['keys', 'list', '--workspace', '999999'])).stderr).toBe(
      'core-api: Workspace not found.\n',
    )

    // The server agrees: the revoked key is refused, the other works.
    const server = await startServer({ ...EMBEDDED, DATA_DIR: dir })
    try {
      expect((await call(server.url, doomed.key, 'GET', '/api/v1/me')).status).toBe(401)
      expect((await call(server.url, kept.key, 'GET', '/api/v1/me')).status).toBe(200)
    } finally {
      expect(await server.stop()).toBe(0)
    }
  }, 180_000)

  it('replaces a lost master key: printed once, the old one refused after the restart', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'core-api-master-'))
    try {
      const first = await startServer({ ...EMBEDDED, DATA_DIR: fresh, LOG_LEVEL: 'info' })
      const lost = /sk_master_[0-9A-Za-z]+/.exec(first.output())![0]
      // The start-up line says where the server, the reference and the data are (logs are
      // written asynchronously: wait for it, a bounded while).
      for (let i = 0; i < 50 && !first.output().includes('core-api is serving on'); i++)
        await new Promise((resolve) => setTimeout(resolve, 100))
      expect(first.output()).toContain(
        `core-api is serving on ${first.url}; API reference at ${first.url}/docs; data in ${fresh}"`,
      )
      expect(await first.stop()).toBe(0)

      const rotated = await cli(['master-key', 'rotate'], { DATA_DIR: fresh })
      expect(rotated.code, rotated.stderr).toBe(0)
      expect(rotated.stdout).toMatch(/^sk_master_[0-9A-Za-z]{43}\n$/)
      expect(rotated.stderr).toContain('shown only this once')
      const replacement = rotated.stdout.trim()

      const server = await startServer({ ...EMBEDDED, DATA_DIR: fresh })
      try {
        expect(server.output()).not.toMatch(/sk_master_/)
        expect((await call(server.url, lost, 'GET', '/api/v1/me')).status).toBe(401)
        const me = await call(server.url, replacement, 'GET', '/api/v1/me')
        expect(me.status).toBe(200)
        expect(me.body.data.type).toBe('master_key')
      } finally {
        expect(await server.stop()).toBe(0)
      }

      const pinned = await cli(['master-key', 'rotate'], {
        DATA_DIR: fresh,
        CORE_API_MASTER_KEY: 'x'.repeat(40),
      })
      expect(pinned.code).toBe(2)
      expect(pinned.stderr).toContain('CORE_API_MASTER_KEY is set')
      expect(pinned.stdout).toBe('')
    } finally {
      rmSync(fresh, { recursive: true, force: true })
    }
  }, 180_000)

  it('creates a user with a password read from standard input, never from the arguments', async () => {
    const workspace = JSON.parse((await cli(['workspaces', 'create', '--name', 'Users Inc'])).stdout)
    const res = await cli(
      [
        'users',
        'create',
        '--email',
        'Linus@Example.com',
        '--name',
        'Linus',
        '--workspace',
        String(workspace.id),
        '--role',
        'admin',
      ],
      {},
      'a long enough password\n',
    )
    expect(res.code, res.stderr).toBe(0)
    expect(JSON.parse(res.stdout)).toMatchObject({
      email: 'linus@example.com',
      name: 'Linus',
      membership: { workspace_id: workspace.id, role: 'admin' },
    })
    expect(res.stdout).not.toContain('a long enough password')
    const short = await cli(['users', 'create', '--email', 'short@example.com'], {}, 'short\n')
    expect(short.code).toBe(1)
    expect(short.stderr).toContain('password:')
    const taken = await cli(
      ['users', 'create', '--email', 'linus@example.com'],
      {},
      'a long enough password\n',
    )
    expect(taken).toMatchObject({ code: 1, stderr: 'core-api: A user with this email already exists.\n' })
  }, 120_000)
})
