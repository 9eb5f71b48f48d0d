// Rate limiting: the auth path (GET /api/v1/me, warm key cache) with limits on, against the
// same server with RATE_LIMIT_ENABLED=0. In memory the limiter is synchronous arithmetic and
// five headers; through Redis every request waits for one EVALSHA round trip (key and
// workspace buckets). Targets: at least 0.9 in memory, 0.7 through Redis.
import { bearer, REDIS, tenants, withCore } from './lib/core.ts'
import { type Load, load } from './lib/load.ts'
import { type Row, ratioRow } from './lib/report.ts'

function me(env: Record<string, string>): Promise<Load> {
  return withCore({ DATA_DIR: 'memory://', ...env }, async (core) => {
    const targets = (await tenants(core)).map(({ key }) => ({ path: '/api/v1/me', headers: bearer(key) }))
    return load({ server: core, targets })
  })
}

export async function rateLimit(): Promise<Row[]> {
  const off = await me({ RATE_LIMIT_ENABLED: '0' })
  const memory = await me({})
  const redis = await me({ REDIS_URL: REDIS, REDIS_PREFIX: `core-api-bench-${process.pid}-${Date.now()}:` })
  return [
    ratioRow('rate limiting in memory: GET /api/v1/me, limits on vs off', memory, off, 0.9),
    ratioRow('rate limiting in Redis (one round trip per request) vs off', redis, off, 0.7),
  ]
}
