// Resource read: GET /api/v1/workspaces/{id} with a key, against a bare Fastify route doing
// the same primary-key SELECT on the same database (bench/servers/bare-read.ts). The gap is
// what the platform adds to a request that does one indexed read: the auth path, Drizzle,
// the response schema. Target: at least 0.8, on PGlite and on PostgreSQL.
import { withChild } from './lib/child.ts'
import {
  BARE_READ,
  bearer,
  type Tenant,
  tenants,
  withCore,
  withPgliteCopies,
  withPostgres,
} from './lib/core.ts'
import { compare, load } from './lib/load.ts'
import { comparedRow, type Row } from './lib/report.ts'

const name = (engine: string) => `resource read, ${engine}: GET /api/v1/workspaces/{id} vs bare SELECT route`

/** The bare route and core-api, reading the same workspaces (each key reads its own), in turns. */
function compareReads(made: Tenant[], bareEnv: Record<string, string>, coreEnv: Record<string, string>) {
  return withChild(BARE_READ, bareEnv, (bare) =>
    withCore(coreEnv, (core) =>
      compare(
        () => load({ server: bare, targets: made.map((t) => ({ path: `/workspaces/${t.workspaceId}` })) }),
        () =>
          load({
            server: core,
            targets: made.map((t) => ({
              path: `/api/v1/workspaces/${t.workspaceId}`,
              headers: bearer(t.key),
            })),
          }),
      ),
    ),
  )
}

/** The bare route serves a copy of core-api's PGlite folder (see withPgliteCopies), in turns. */
export async function resourceReadPglite(): Promise<Row[]> {
  return withPgliteCopies(async (made, a, b) => [
    comparedRow(name('PGlite'), await compareReads(made, { DATA_DIR: b }, { DATA_DIR: a }), 0.8),
  ])
}

/** Both servers on one fresh database (core-api migrates it), each with a pool of 10. */
export async function resourceReadPostgres(): Promise<Row[]> {
  return withPostgres(async (url) => {
    const made = await withCore({ DATABASE_URL: url }, (core) => tenants(core))
    const compared = await compareReads(made, { DATABASE_URL: url }, { DATABASE_URL: url })
    return [comparedRow(name('PostgreSQL'), compared, 0.8)]
  })
}
