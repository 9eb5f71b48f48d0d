// Auth path: GET /api/v1/me with valid keys whose principals are already cached, against a
// Fastify hello-world. /me does no database work once a key is cached, so the gap is the
// platform's per-request cost: request id, bearer parsing and hashing, the credential cache,
// the scope check, the in-memory rate limit and its headers, and response serialisation.
// Measured twice: logging off, as the other rows run, and in the configuration `npm start`
// gives (a data folder, the access log at `info`, drained as fast as it comes). Target: at
// least 0.6 of hello-world's throughput.
import { type Child, withChild } from './lib/child.ts'
import { bearer, HELLO, type Tenant, tenants, withCore, withDataDirs, withLogged } from './lib/core.ts'
import { type Comparison, compare, load } from './lib/load.ts'
import { comparedRow, type Row } from './lib/report.ts'

function meVsHello(hello: Child, core: Child, made: Tenant[]): Promise<Comparison> {
  // The probe requests and the warm-up load every key into the cache before the measurement.
  const targets = made.map(({ key }) => ({ path: '/api/v1/me', headers: bearer(key) }))
  return compare(
    () => load({ server: hello, targets: [{ path: '/hello' }] }),
    () => load({ server: core, targets }),
  )
}

export async function authPath(): Promise<Row[]> {
  const silent = await withChild(HELLO, {}, (hello) =>
    withCore({ DATA_DIR: 'memory://' }, async (core) => meVsHello(hello, core, await tenants(core))),
  )
  const defaults = await withDataDirs(1, ([dir]) =>
    withChild(HELLO, {}, (hello) =>
      withLogged({ DATA_DIR: dir!, LOG_LEVEL: 'info' }, (core, made) => meVsHello(hello, core, made)),
    ),
  )
  return [
    comparedRow('auth path: GET /api/v1/me (warm key cache) vs Fastify hello-world', silent, 0.6),
    comparedRow(
      'auth path, npm start configuration (LOG_LEVEL=info): GET /api/v1/me vs Fastify hello-world',
      defaults,
      0.6,
    ),
  ]
}
