// core-api as the subject of a benchmark: its script, its environment, a tenant to call it
// with, and the throwaway storage each run gets (a PGlite folder or a PostgreSQL database).
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { call, createTenant } from '../../src/testing/processes.ts'
import { type Child, withChild } from './child.ts'
import { DATABASE_TAG } from './cpu.ts'

const bench = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url))
const CORE = bench('../src/main.ts')
export const HELLO = bench('servers/hello.ts')
export const BARE_READ = bench('servers/bare-read.ts')
export const BARE_WRITE = bench('servers/bare-write.ts')
export const BARE_TRACK = bench('servers/bare-track.ts')

export const MASTER = 'sk_master_bench_0123456789abcdefghijklmnopqrstuvwxyz'
const POSTGRES = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
export const REDIS = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** Runs `use` against core-api started with `env` (and the benchmark master key). */
export function withCore<T>(env: Record<string, string>, use: (core: Child) => Promise<T>): Promise<T> {
  const base = { CORE_API_MASTER_KEY: MASTER, RATE_LIMIT_IP_PER_HOUR: '0', WEBHOOK_ALLOW_INSECURE_URLS: '1' }
  return withChild(CORE, { ...base, ...env }, use)
}

export type Tenant = { workspaceId: number; key: string }

/**
 * Enterprise workspaces (no plan limit in the way), each with a key with every scope. The
 * loads rotate over them: one enterprise key allows 100,000 requests a minute with a burst of
 * as many again, which a 10 s load of the auth path at 30,000 req/s would exhaust.
 */
export async function tenants(core: Child, count = 8): Promise<Tenant[]> {
  const out: Tenant[] = []
  for (let i = 0; i < count; i++) {
    const { workspace, key } = await createTenant(core.url, MASTER)
    out.push({ workspaceId: workspace, key })
  }
  return out
}

/** Authorization headers for a key. */
export const bearer = (key: string) => ({ authorization: `Bearer ${key}` })

/** An API call that must succeed; returns the parsed body. */
export async function api(core: Child, key: string, method: string, path: string, body?: unknown) {
  const res = await call(core.url, key, method, path, body)
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body
}

/** Runs `use` with fresh PGlite data folders, removed afterwards. */
export async function withDataDirs<T>(count: number, use: (dirs: string[]) => Promise<T>): Promise<T> {
  const dirs = Array.from({ length: count }, () => mkdtempSync(join(tmpdir(), 'core-api-bench-')))
  try {
    return await use(dirs)
  } finally {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * PGlite runs inside the one process that opened the folder, so two servers cannot share it:
 * core-api creates the tenants in folder A and stops, A is copied to B, then `use` gets the
 * tenants and both folders (same rows, same pages, same engine).
 */
export function withPgliteCopies<T>(use: (made: Tenant[], a: string, b: string) => Promise<T>): Promise<T> {
  return withDataDirs(2, async ([a, b]) => {
    const made = await withCore({ DATA_DIR: a! }, (core) => tenants(core))
    cpSync(a!, b!, { recursive: true })
    rmSync(join(b!, 'core-api.lock'), { force: true })
    return use(made, a!, b!)
  })
}

/** Runs `use` with the URL of a fresh PostgreSQL database, dropped afterwards. */
export async function withPostgres<T>(use: (url: string) => Promise<T>): Promise<T> {
  const name = `${DATABASE_TAG}${Date.now()}`
  const admin = new pg.Client({ connectionString: POSTGRES })
  await admin.connect()
  try {
    await admin.query(`create database ${name}`)
    const url = new URL(POSTGRES)
    url.pathname = `/${name}`
    return await use(url.toString())
  } finally {
    await admin.query(`drop database if exists ${name} with (force)`)
    await admin.end()
  }
}

/**
 * core-api with `env`, its access log discarded as fast as it comes (the process helper would
 * otherwise keep it in memory), and eight tenants.
 */
export function withLogged<T>(env: Record<string, string>, use: (core: Child, made: Tenant[]) => Promise<T>) {
  return withCore(env, async (core) => {
    core.child.stdout?.removeAllListeners('data').resume()
    core.child.stderr?.removeAllListeners('data').resume()
    return use(core, await tenants(core))
  })
}
