// Moving from the embedded database to PostgreSQL: what a server wrote on PGlite — a workspace,
// a key, a post, a webhook endpoint — is exported with `core-api db export`, imported with
// `core-api db import` into a new PostgreSQL database, and served from there: the key
// authenticates, the post reads back the same, new ids continue after the imported ones. The
// target is a database of its own on DATABASE_URL's server, dropped afterwards; without
// DATABASE_URL it is a second PGlite folder.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { randomBase62 } from '../../src/platform/lib/random.ts'
import { call, createTenant, runCli, startServer } from '../../src/testing/processes.ts'

const ADMIN_URL = process.env.DATABASE_URL
const MASTER = `sk_master_${randomBase62(40)}`
const dir = mkdtempSync(join(tmpdir(), 'core-api-transfer-'))
const source = { DATABASE_URL: '', REDIS_URL: '', DATA_DIR: join(dir, 'source') }
const targetName = `core_api_transfer_${randomBase62(10).toLowerCase()}`
const target: Record<string, string> = ADMIN_URL
  ? {
      DATABASE_URL: Object.assign(new URL(ADMIN_URL), { pathname: `/${targetName}` }).toString(),
      REDIS_URL: '',
    }
  : { DATABASE_URL: '', REDIS_URL: '', DATA_DIR: join(dir, 'target') }
const COMMON = { CORE_API_MASTER_KEY: MASTER, WEBHOOK_ALLOW_INSECURE_URLS: '1', WEBHOOK_WORKER: '0' }

async function admin(query: string) {
  const client = new pg.Client({ connectionString: ADMIN_URL })
  await client.connect()
  try {
    await client.query(query)
  } finally {
    await client.end()
  }
}

afterAll(async () => {
  if (ADMIN_URL) await admin(`drop database if exists ${targetName} with (force)`)
  rmSync(dir, { recursive: true, force: true })
})

const cli = (args: string[], env: Record<string, string>) => runCli(args, { ...COMMON, ...env }, 120_000)

describe(`db export and import (PGlite → ${ADMIN_URL ? 'PostgreSQL' : 'PGlite'})`, () => {
  it('moves every table, and the server on the target serves what the first one wrote', async () => {
    const first = await startServer({ ...COMMON, ...source })
    let tenant: Awaited<ReturnType<typeof createTenant>>
    let post: Record<string, unknown>
    let endpoint: Record<string, unknown>
    try {
      tenant = await createTenant(first.url, MASTER, 'pro')
      const created = await call(first.url, tenant.key, 'POST', '/api/v1/posts', {
        title: 'Moved with its tags',
        body: 'Ünïcode, "quotes" and a\nnewline',
        tags: ['moving', 'postgres'],
      })
      expect(created.status, JSON.stringify(created.body)).toBe(201)
      post = (await call(first.url, tenant.key, 'GET', `/api/v1/posts/${created.body.data.id}?include=tags`))
        .body
      const hook = await call(first.url, tenant.key, 'POST', '/api/v1/webhooks', {
        url: 'http://127.0.0.1:9/hook',
        events: ['post.*'],
      })
      expect(hook.status, JSON.stringify(hook.body)).toBe(201)
      endpoint = (await call(first.url, tenant.key, 'GET', `/api/v1/webhooks/${hook.body.data.id}`)).body
    } finally {
      expect(await first.stop()).toBe(0)
    }

    const file = join(dir, 'export.jsonl')
    const exported = await cli(['db', 'export', '--out', file], source)
    expect(exported.code, exported.stderr).toBe(0)
    expect(exported.stderr).toMatch(/^Exported \d+ rows of \d+ tables to /)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const lines = readFileSync(file, 'utf8').trim().split('\n')
    const header = JSON.parse(lines[0]!)
    expect(header).toMatchObject({ format: 'core-api-export', version: 1, migrations: expect.any(Number) })
    expect(header.tables).toMatchObject({ workspaces: 1, api_keys: 1, posts: 1, webhook_endpoints: 1 })
    expect(readFileSync(file, 'utf8')).not.toContain(tenant!.key) // hashes only

    if (ADMIN_URL) await admin(`create database ${targetName}`)
    const imported = await cli(['db', 'import', '--file', file], target)
    expect(imported.code, imported.stderr).toBe(0)
    expect(imported.stderr).toBe(
      `Imported ${lines.length - 1} rows of ${Object.keys(header.tables).length} tables.\n`,
    )
    // A second import into the same database is refused, and changes nothing.
    const twice = await cli(['db', 'import', '--file', file], target)
    expect(twice.code).toBe(1)
    expect(twice.stderr).toMatch(
      /^core-api: the target database is not empty \(\w+ has \d+ rows\): import into a new database\n$/,
    )

    const second = await startServer({ ...COMMON, ...target })
    try {
      const me = await call(second.url, tenant!.key, 'GET', '/api/v1/me')
      expect(me.status).toBe(200)
      expect(me.body.data.workspace.id).toBe(tenant!.workspace)
      const id = (post!.data as { id: number }).id
      const again = await call(second.url, tenant!.key, 'GET', `/api/v1/posts/${id}?include=tags`)
      expect(again.body).toEqual(post!)
      const hook = (endpoint!.data as { id: number }).id
      expect((await call(second.url, tenant!.key, 'GET', `/api/v1/webhooks/${hook}`)).body).toEqual(endpoint!)
      // Identity sequences continue after the imported ids.
      const next = await call(second.url, tenant!.key, 'POST', '/api/v1/posts', { title: 'After the move' })
      expect(next.status).toBe(201)
      expect(next.body.data.id).toBe(id + 1)
      const ws = await call(second.url, MASTER, 'POST', '/api/v1/workspaces', { name: 'Second' })
      expect(ws.body.data.id).toBe(tenant!.workspace + 1)
    } finally {
      expect(await second.stop()).toBe(0)
    }
  }, 300_000)

  it('refuses a file that is not an export', async () => {
    const file = join(dir, 'not-an-export.jsonl')
    const { writeFileSync } = await import('node:fs')
    writeFileSync(file, '{"hello": "world"}\n')
    const res = await cli(['db', 'import', '--file', file], { ...source, DATA_DIR: join(dir, 'elsewhere') })
    expect(res.code).toBe(1)
    expect(res.stderr).toBe('core-api: not a core-api-export file of version 1\n')
  }, 120_000)
})
