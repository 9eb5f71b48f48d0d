// Two server processes on one PostgreSQL and one Redis share one authorization server: the
// signing key generated at the first start, the clients and the tokens. A token issued by one
// works on the other, and a revocation through one is refused by the other at once.
import * as oauth from 'oauth4webapi'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomBase62 } from '../../src/platform/lib/random.ts'
import { testDatabase } from '../../src/testing/harness.ts'
import { call, createTenant, type ServerProcess, startServer } from '../../src/testing/processes.ts'

const enabled = Boolean(process.env.DATABASE_URL && process.env.REDIS_URL)
const MASTER = `sk_master_${randomBase62(40)}`
const insecure = { [oauth.allowInsecureRequests]: true }

describe.skipIf(!enabled)('the OAuth server on two instances', () => {
  let a: ServerProcess
  let b: ServerProcess
  let drop: () => Promise<void>

  beforeAll(async () => {
    const db = await testDatabase()
    await db.handle.close()
    drop = db.drop
    const env = {
      DATABASE_URL: db.url!,
      REDIS_URL: process.env.REDIS_URL!,
      REDIS_PREFIX: `core-api-e2e-${randomBase62(8)}:`,
      CORE_API_MASTER_KEY: MASTER,
      RATE_LIMIT_IP_PER_HOUR: '0',
      WEBHOOK_WORKER: '0',
    }
    // Started together: both race to store the first signing key; one wins for both.
    ;[a, b] = await Promise.all([startServer(env), startServer(env)])
  }, 120_000)

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()])
    await drop?.()
  })

  it('publishes the same signing key on both', async () => {
    const jwks = async (s: ServerProcess) =>
      (await (await fetch(`${s.url}/oauth2/jwks`)).json()) as { keys: unknown[] }
    const [ja, jb] = await Promise.all([jwks(a), jwks(b)])
    expect(ja.keys).toHaveLength(1)
    expect(jb).toEqual(ja)
  })

  it('accepts a token from A on B, and refuses it on B right after it is revoked through A', async () => {
    const { key } = await createTenant(a.url, MASTER)
    const created = await call(a.url, key, 'POST', '/api/v1/oauth/clients', {
      name: 'Partner',
      grant_types: ['client_credentials'],
      scopes: ['posts:read'],
    })
    expect(created.status).toBe(201)
    const { client_id, client_secret } = (
      created.body as { data: { client_id: string; client_secret: string } }
    ).data
    const issuer = new URL(a.url)
    const as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
    )
    const client = { client_id }
    const auth = oauth.ClientSecretBasic(client_secret)
    const { access_token } = await oauth.processClientCredentialsResponse(
      as,
      client,
      await oauth.clientCredentialsGrantRequest(
        as,
        client,
        auth,
        new URLSearchParams({ scope: 'posts:read' }),
        insecure,
      ),
    )
    expect((await call(b.url, access_token, 'GET', '/api/v1/me')).status).toBe(200) // cached on B
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, client, auth, access_token, insecure),
    )
    const started = Date.now()
    while ((await call(b.url, access_token, 'GET', '/api/v1/me')).status !== 401) {
      if (Date.now() - started > 6000) throw new Error('B still accepts the revoked token after 6 s')
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  })
})
