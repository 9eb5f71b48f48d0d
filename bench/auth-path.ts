// Auth path: GET /api/v1/me with valid keys whose principals are already cached, against a
// Fastify hello-world. /me does no database work once a key is cached, so the gap is the
// platform's per-request cost: request id, bearer parsing and hashing, the credential cache,
// the scope check, the in-memory rate limit and its headers, and response serialisation.
// Target: at least 0.6 of hello-world's throughput.
import { withChild } from './lib/child.ts'
import { bearer, HELLO, tenants, withCore } from './lib/core.ts'
import { compare, load } from './lib/load.ts'
import { comparedRow, type Row } from './lib/report.ts'

export async function authPath(): Promise<Row[]> {
  const compared = await withChild(HELLO, {}, (hello) =>
    withCore({ DATA_DIR: 'memory://' }, async (core) => {
      // The probe requests and the warm-up load every key into the cache before the measurement.
      const targets = (await tenants(core)).map(({ key }) => ({ path: '/api/v1/me', headers: bearer(key) }))
      return compare(
        () => load({ server: hello, targets: [{ path: '/hello' }] }),
        () => load({ server: core, targets }),
      )
    }),
  )
  return [comparedRow('auth path: GET /api/v1/me (warm key cache) vs Fastify hello-world', compared, 0.6)]
}
