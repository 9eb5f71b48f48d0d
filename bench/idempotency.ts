// Idempotency: POST /api/v1/posts with a fresh Idempotency-Key on every request, against the
// same POST without one, on PostgreSQL. A keyed request also claims the key and stores the
// response (two more writes, each shared by the keyed requests of one event-loop turn).
// Target: at least 0.8.
import { bearer, tenants, withCore, withPostgres } from './lib/core.ts'
import { compare, load } from './lib/load.ts'
import { comparedRow, type Row } from './lib/report.ts'

export async function idempotency(): Promise<Row[]> {
  return withPostgres((url) =>
    withCore({ DATABASE_URL: url, WEBHOOK_WORKER: '0' }, async (core) => {
      const post = {
        server: core,
        targets: (await tenants(core, 1)).map(({ key }) => ({ path: '/api/v1/posts', headers: bearer(key) })),
        method: 'POST' as const,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'Benchmark', body: 'A post created by the benchmark.' }),
        expect: 201,
      }
      let n = 0
      const compared = await compare(
        () => load(post),
        () => load({ ...post, perRequest: () => ({ 'idempotency-key': `bench-${++n}` }) }),
      )
      return [
        comparedRow(
          'idempotent POST /api/v1/posts (PostgreSQL) vs the same POST without a key',
          compared,
          0.8,
        ),
      ]
    }),
  )
}
