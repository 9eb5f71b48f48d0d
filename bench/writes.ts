// Writes: POST /api/v1/posts, the create path of a resource (auth, rate limit, validation, the
// entitlement counter, the row, the outbox event), against three references measured in the
// same run:
// - a bare Fastify route writing the post and its outbox event in one transaction
//   (bench/servers/bare-write.ts), on PostgreSQL and on PGlite — target at least 0.8;
// - the same create in an empty workspace, for a workspace on a limited plan that already has
//   9,000 posts — target at least 0.9 (a limit costs the same whatever the workspace's size);
// - the same server with logging off, for the configuration `npm start` gives (LOG_LEVEL
//   info), on GET /api/v1/me and on POST /api/v1/posts: what the access log costs.
// The webhook worker is off where a bare route is compared (it has none); no endpoint is
// registered, so no delivery is queued.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { createTenant } from '../src/testing/processes.ts'
import type { Child } from './lib/child.ts'
import { withChild } from './lib/child.ts'
import {
  BARE_WRITE,
  bearer,
  MASTER,
  type Tenant,
  tenants,
  withCore,
  withDataDirs,
  withLogged,
  withPgliteCopies,
  withPostgres,
} from './lib/core.ts'
import { compare, type LoadOptions, load } from './lib/load.ts'
import { comparedRow, type Row } from './lib/report.ts'

const BODY = JSON.stringify({ title: 'Benchmark', body: 'A post created by the benchmark.' })
const JSON_HEADERS = { 'content-type': 'application/json' }

/** POST /api/v1/posts over the tenants' keys (each creates in its own workspace). */
const corePosts = (core: Child, made: Tenant[]): LoadOptions => ({
  server: core,
  targets: made.map((t) => ({ path: '/api/v1/posts', headers: bearer(t.key) })),
  method: 'POST',
  headers: JSON_HEADERS,
  body: BODY,
  expect: 201,
})

const barePosts = (bare: Child, made: Tenant[]): LoadOptions => ({
  server: bare,
  targets: made.map((t) => ({ path: `/workspaces/${t.workspaceId}/posts` })),
  method: 'POST',
  headers: JSON_HEADERS,
  body: BODY,
  expect: 201,
})

const vsBare = (engine: string) => `POST /api/v1/posts, ${engine}, vs bare transactional write route`

function compareWrites(made: Tenant[], bareEnv: Record<string, string>, coreEnv: Record<string, string>) {
  return withChild(BARE_WRITE, bareEnv, (bare) =>
    withCore({ WEBHOOK_WORKER: '0', ...coreEnv }, (core) =>
      compare(
        () => load(barePosts(bare, made)),
        () => load(corePosts(core, made)),
      ),
    ),
  )
}

/** (a) on PostgreSQL: both servers on one fresh database, each with a pool of 10. */
export async function writesPostgres(): Promise<Row[]> {
  return withPostgres(async (url) => {
    const made = await withCore({ DATABASE_URL: url }, (core) => tenants(core))
    return [
      comparedRow(
        vsBare('PostgreSQL'),
        await compareWrites(made, { DATABASE_URL: url }, { DATABASE_URL: url }),
        0.8,
      ),
    ]
  })
}

/** (a) on PGlite: the bare route writes into a copy of core-api's data folder. */
export async function writesPglite(): Promise<Row[]> {
  return withPgliteCopies(async (made, a, b) => [
    comparedRow(vsBare('PGlite'), await compareWrites(made, { DATA_DIR: b }, { DATA_DIR: a }), 0.8),
  ])
}

const FULL = 9000

/**
 * (b) on PostgreSQL: an enterprise workspace whose plan (an operator's PLANS_FILE) limits posts
 * to 10,000,000, holding 9,000 posts, against an empty workspace on the same plan, created
 * afresh for every round. Each load writes into one workspace, so its creates also queue on
 * that workspace's counter row, alike on both sides.
 */
export async function writesFullWorkspace(): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'core-api-bench-plans-'))
  const plans = join(dir, 'plans.json')
  const limited = { posts: 10_000_000, api_keys: null, webhooks: null, api_calls: null, storage: null }
  writeFileSync(plans, JSON.stringify({ plans: { enterprise: limited } }))
  try {
    return await withPostgres((url) =>
      withCore({ DATABASE_URL: url, PLANS_FILE: plans, WEBHOOK_WORKER: '0' }, async (core) => {
        const tenant = async (): Promise<Tenant> => {
          const { workspace, key } = await createTenant(core.url, MASTER)
          return { workspaceId: workspace, key }
        }
        const full = await tenant()
        const client = new pg.Client({ connectionString: url })
        await client.connect()
        try {
          await client.query(
            `insert into posts (workspace_id, title) select $1, 'old ' || g from generate_series(1, ${FULL}) g`,
            [full.workspaceId],
          )
        } finally {
          await client.end()
        }
        const compared = await compare(
          async () => load(corePosts(core, [await tenant()])),
          () => load(corePosts(core, [full])),
        )
        return [
          comparedRow(
            `POST /api/v1/posts, PostgreSQL, limited plan: workspace with ${FULL.toLocaleString('en-US')} posts vs an empty one`,
            compared,
            0.9,
          ),
        ]
      }),
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * (c) what `npm start` gives — PGlite in a data folder, logs at `info` (the default), the
 * per-IP bucket lifted only because every request comes from one address — against the same
 * server with logging off, as the other rows run it.
 */
export async function writesLogging(): Promise<Row[]> {
  return withDataDirs(2, ([a, b]) =>
    withLogged({ DATA_DIR: a! }, (silent, quietTenants) =>
      withLogged({ DATA_DIR: b!, LOG_LEVEL: 'info' }, async (logged, loggedTenants) => {
        const me = (core: Child, made: Tenant[]) =>
          load({ server: core, targets: made.map((t) => ({ path: '/api/v1/me', headers: bearer(t.key) })) })
        const name = (route: string) => `${route}, npm start configuration (LOG_LEVEL=info) vs logging off`
        return [
          comparedRow(
            name('GET /api/v1/me'),
            await compare(
              () => me(silent, quietTenants),
              () => me(logged, loggedTenants),
            ),
            0.9,
          ),
          comparedRow(
            name('POST /api/v1/posts'),
            await compare(
              () => load(corePosts(silent, quietTenants)),
              () => load(corePosts(logged, loggedTenants)),
            ),
            0.9,
          ),
        ]
      }),
    ),
  )
}
