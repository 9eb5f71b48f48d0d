// Rate limiting: the auth path (GET /api/v1/me, warm key cache) with limits on, against the
// same server with RATE_LIMIT_ENABLED=0. In memory the limiter is synchronous arithmetic and
// five headers; through Redis every request waits for one round trip (the requests of one
// event-loop turn share a script call). Targets: at least 0.9 in memory, 0.7 through Redis.
import type { Child } from './lib/child.ts'
import { bearer, REDIS, tenants, withCore } from './lib/core.ts'
import { compare, load } from './lib/load.ts'
import { comparedRow, type Row } from './lib/report.ts'

/** A server with `env`, and a load of GET /api/v1/me over eight tenants' keys. */
function withMe<T>(env: Record<string, string>, use: (run: () => ReturnType<typeof load>) => Promise<T>) {
  return withCore({ DATA_DIR: 'memory://', ...env }, async (core: Child) => {
    const targets = (await tenants(core)).map(({ key }) => ({ path: '/api/v1/me', headers: bearer(key) }))
    return use(() => load({ server: core, targets }))
  })
}

export async function rateLimit(): Promise<Row[]> {
  const redisEnv = { REDIS_URL: REDIS, REDIS_PREFIX: `core-api-bench-${process.pid}-${Date.now()}:` }
  return withMe({ RATE_LIMIT_ENABLED: '0' }, (off) =>
    withMe({}, (memory) =>
      withMe(redisEnv, async (redis) => [
        comparedRow(
          'rate limiting in memory: GET /api/v1/me, limits on vs off',
          await compare(off, memory),
          0.9,
        ),
        comparedRow(
          'rate limiting in Redis (one round trip per request) vs off',
          await compare(off, redis),
          0.7,
        ),
      ]),
    ),
  )
}
