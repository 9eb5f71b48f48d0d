// Two server processes on one PostgreSQL and one Redis share one authorization server: the
// signing key generated at the first start, the clients and the tokens. A token issued by one
// works on the other, and a revocation through one is refused by the other at once — whether
// the app revokes the token, the person revokes the app's grant, or the workspace narrows the
// app's scopes.
import * as oauth from 'oauth4webapi'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomBase62 } from '../../src/platform/lib/random.ts'
import { testDatabase } from '../../src/testing/harness.ts'
import { PARTNER_REDIRECT, userTokens } from '../../src/testing/oauth-flow.ts'
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

  /**
   * Polls B until `check` holds. Pub/sub hands a change over within milliseconds; 2 s is well
   * inside the credential cache's 5 s lifetime, so only the announcement can make it hold.
   */
  async function untilOnB(what: string, check: () => Promise<boolean>): Promise<void> {
    const started = Date.now()
    while (!(await check())) {
      if (Date.now() - started > 2000) throw new Error(`B still ${what} after 2 s`)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }

  /** A person who is a member of a new workspace, and a partner app of it they authorise through A. */
  async function personAndApp() {
    const { workspace, key } = await createTenant(a.url, MASTER)
    const person = {
      email: `p${randomBase62(8).toLowerCase()}@e2e.test`,
      password: 'correct horse battery staple',
    }
    const made = await call(a.url, MASTER, 'POST', '/api/v1/users', person, {
      'x-workspace-id': String(workspace),
    })
    expect(made.status).toBe(201)
    const app = await call(a.url, key, 'POST', '/api/v1/oauth/clients', {
      name: 'Partner',
      redirect_uris: [PARTNER_REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      scopes: ['posts:read', 'posts:write'],
    })
    expect(app.status).toBe(201)
    const client = app.body.data as { id: number; client_id: string; client_secret: string }
    const tokens = await userTokens(a.url, { ...client, ...person, scope: 'posts:read posts:write' })
    return { key, person, client, tokens }
  }

  it("refuses a person's token on B right after they revoke the app's grant through A", async () => {
    const { person, tokens } = await personAndApp()
    expect((await call(b.url, tokens.access_token, 'GET', '/api/v1/me')).status).toBe(200) // cached on B
    const signIn = await fetch(`${a.url}/api/auth/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(person),
    })
    const cookie = signIn.headers.getSetCookie()[0]!.split(';')[0]!
    const { csrf_token } = ((await signIn.json()) as { data: { csrf_token: string } }).data
    const listed = await fetch(`${a.url}/api/auth/grants`, { headers: { cookie } })
    const [grant] = ((await listed.json()) as { data: Array<{ id: string }> }).data
    const revoked = await fetch(`${a.url}/api/auth/grants/${grant!.id}`, {
      method: 'DELETE',
      headers: { cookie, 'x-csrf-token': csrf_token },
    })
    expect(revoked.status).toBe(204)
    await untilOnB('accepts the token of a revoked grant', async () => {
      return (await call(b.url, tokens.access_token, 'GET', '/api/v1/me')).status === 401
    })
  })

  it("holds a token on B to its app's scopes right after they are narrowed through A", async () => {
    const { key, client, tokens } = await personAndApp()
    const write = (base: string) =>
      call(base, tokens.access_token, 'POST', '/api/v1/posts', { title: 'by the app' })
    expect((await write(b.url)).status).toBe(201) // cached on B
    const narrowed = await call(a.url, key, 'PATCH', `/api/v1/oauth/clients/${client.id}`, {
      scopes: ['posts:read'],
    })
    expect(narrowed.status).toBe(200)
    await untilOnB('lets the token write', async () => (await write(b.url)).status === 403)
    expect((await call(b.url, tokens.access_token, 'GET', '/api/v1/posts')).status).toBe(200)
  })
})
