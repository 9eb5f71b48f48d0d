// The authorization server driven by a real OAuth client library (oauth4webapi) over the app's
// own HTTP handling: discovery, client credentials, the token on the API, introspection,
// revocation, and the RFC 6749 refusals.
import { eq } from 'drizzle-orm'
import * as oauth from 'oauth4webapi'
import { beforeEach, describe, expect, it } from 'vitest'
import { sha256Hex } from '../../platform/lib/hash.ts'
import { injectFetch, useTestApp } from '../../testing/harness.ts'
import { oauthKeys, oauthModels } from './tables.ts'

const t = useTestApp()
beforeEach(() => t.clock.advance(5 * 60_000 + 1000))

const ISSUER = new URL('http://api.test')

function options() {
  return { [oauth.customFetch]: injectFetch(t.app), [oauth.allowInsecureRequests]: true }
}

async function discover() {
  const response = await oauth.discoveryRequest(ISSUER, { algorithm: 'oauth2', ...options() })
  return oauth.processDiscoveryResponse(ISSUER, response)
}

async function registerApp(scopes = ['posts:read', 'posts:write'], method = 'client_secret_basic') {
  const ws = await t.workspace()
  const { key } = await t.key(ws.id, { scopes: ['*'] })
  const res = await t.call(key, {
    method: 'POST',
    url: '/api/v1/oauth/clients',
    payload: {
      name: 'Partner',
      grant_types: ['client_credentials'],
      scopes,
      token_endpoint_auth_method: method,
    },
  })
  expect(res.statusCode).toBe(201)
  const { client_id, client_secret } = res.json().data as { client_id: string; client_secret: string }
  return {
    ws,
    key,
    client: { client_id } as oauth.Client,
    auth:
      method === 'client_secret_post'
        ? oauth.ClientSecretPost(client_secret)
        : oauth.ClientSecretBasic(client_secret),
    secret: client_secret,
  }
}

async function clientCredentials(
  as: oauth.AuthorizationServer,
  app: Awaited<ReturnType<typeof registerApp>>,
  scope = 'posts:read',
) {
  const res = await oauth.clientCredentialsGrantRequest(
    as,
    app.client,
    app.auth,
    new URLSearchParams({ scope }),
    options(),
  )
  return oauth.processClientCredentialsResponse(as, app.client, res)
}

describe('OAuth authorization server', () => {
  it('publishes RFC 8414 metadata with issuer PUBLIC_URL and endpoints under /oauth2/', async () => {
    const as = await discover()
    expect(as).toMatchObject({
      issuer: 'http://api.test',
      token_endpoint: 'http://api.test/oauth2/token',
      authorization_endpoint: 'http://api.test/oauth2/auth',
      introspection_endpoint: 'http://api.test/oauth2/token/introspection',
      revocation_endpoint: 'http://api.test/oauth2/token/revocation',
      code_challenge_methods_supported: ['S256'],
    })
    expect(as.grant_types_supported).toEqual(
      expect.arrayContaining(['authorization_code', 'refresh_token', 'client_credentials']),
    )
    expect(as.scopes_supported).toEqual(expect.arrayContaining(['posts:read', 'oauth-clients:write', 'read']))
    // The signing key was generated once and is stored sealed, not in clear.
    const [stored] = await t.database.db.select().from(oauthKeys)
    expect(stored!.sealed).toMatch(/^v1\./)
    expect(stored!.sealed).not.toContain('"d"')
  })

  it('issues a client-credentials token that acts for the app in its workspace, within its scopes', async () => {
    const as = await discover()
    const app = await registerApp()
    const token = await clientCredentials(as, app)
    expect(token).toMatchObject({ token_type: 'bearer', scope: 'posts:read', expires_in: 3600 })
    expect(token.access_token).toMatch(/^oat_[A-Za-z0-9_-]{43}$/)
    expect(token.refresh_token).toBeUndefined()

    // Stored only as its hash.
    const rows = await t.database.db
      .select()
      .from(oauthModels)
      .where(eq(oauthModels.id, sha256Hex(token.access_token)))
    expect(rows).toHaveLength(1)
    expect(JSON.stringify(await t.database.db.select().from(oauthModels))).not.toContain(token.access_token)

    const me = await t.call(token.access_token, { method: 'GET', url: '/api/v1/me' })
    expect(me.statusCode).toBe(200)
    expect(me.json().data).toMatchObject({
      type: 'oauth_token',
      user: null,
      workspace: { id: app.ws.id },
      key: null,
      scopes: ['posts:read'],
    })
    const list = await t.call(token.access_token, { method: 'GET', url: '/api/v1/posts' })
    expect(list.statusCode).toBe(200)
    const write = await t.call(token.access_token, {
      method: 'POST',
      url: '/api/v1/posts',
      payload: { title: 'x' },
    })
    expect(write.statusCode).toBe(403)
    expect(write.json().message).toBe('Insufficient permissions. Required scope: posts:write')
    const elsewhere = await t.workspace()
    const other = await t.call(token.access_token, {
      method: 'GET',
      url: '/api/v1/posts',
      workspace: elsewhere.id,
    })
    expect(other.statusCode).toBe(403)
  })

  it('refuses a scope the app was not given with invalid_scope', async () => {
    const as = await discover()
    const app = await registerApp(['posts:read'])
    const error = await clientCredentials(as, app, 'posts:write').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(oauth.ResponseBodyError)
    expect((error as oauth.ResponseBodyError).error).toBe('invalid_scope')
  })

  it('introspects and revokes; a revoked token stops working on the API at once', async () => {
    const as = await discover()
    const app = await registerApp()
    const { access_token } = await clientCredentials(as, app)
    const me = await t.call(access_token, { method: 'GET', url: '/api/v1/me' })
    expect(me.statusCode).toBe(200) // cached by the credential cache from here on

    const introspected = await oauth.processIntrospectionResponse(
      as,
      app.client,
      await oauth.introspectionRequest(as, app.client, app.auth, access_token, options()),
    )
    expect(introspected).toMatchObject({
      active: true,
      client_id: app.client.client_id,
      scope: 'posts:read',
      token_type: 'Bearer',
      iss: 'http://api.test',
    })

    const revoked = await oauth.revocationRequest(as, app.client, app.auth, access_token, options())
    await oauth.processRevocationResponse(revoked)
    const after = await t.call(access_token, { method: 'GET', url: '/api/v1/me' })
    expect(after.statusCode).toBe(401)
    const inactive = await oauth.processIntrospectionResponse(
      as,
      app.client,
      await oauth.introspectionRequest(as, app.client, app.auth, access_token, options()),
    )
    expect(inactive).toEqual({ active: false })
  })

  it('answers a wrong client secret with 401 invalid_client, WWW-Authenticate and the request id', async () => {
    const app = await registerApp()
    const basic = Buffer.from(`${app.client.client_id}:ocs_wrong`).toString('base64')
    const res = await t.app.inject({
      method: 'POST',
      url: '/oauth2/token',
      headers: {
        authorization: `Basic ${basic}`,
        'content-type': 'application/x-www-form-urlencoded',
        'x-request-id': 'req-oauth-1',
      },
      payload: 'grant_type=client_credentials&scope=posts%3Aread',
    })
    expect(res.statusCode).toBe(401)
    expect(res.headers['www-authenticate']).toMatch(/^Basic /)
    expect(res.headers['x-request-id']).toBe('req-oauth-1')
    expect(res.json()).toEqual({
      error: 'invalid_client',
      error_description: 'client authentication failed',
      request_id: 'req-oauth-1',
    })
    expect(
      await t.database.db.select().from(oauthModels).where(eq(oauthModels.model, 'ClientCredentials')),
    ).toEqual(
      expect.not.arrayContaining([
        expect.objectContaining({ payload: expect.objectContaining({ clientId: app.client.client_id }) }),
      ]),
    )
  })

  it('ends the tokens of a deleted app and refuses an old secret after rotation', async () => {
    const as = await discover()
    const app = await registerApp()
    const { access_token } = await clientCredentials(as, app)
    expect((await t.call(access_token, { method: 'GET', url: '/api/v1/me' })).statusCode).toBe(200)

    const list = await t.call(app.key, { method: 'GET', url: '/api/v1/oauth/clients' })
    const id = list.json().data[0].id
    const rotated = await t.call(app.key, {
      method: 'POST',
      url: `/api/v1/oauth/clients/${id}/rotate-secret`,
    })
    const error = await clientCredentials(as, app).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(oauth.WWWAuthenticateChallengeError)
    expect((error as oauth.WWWAuthenticateChallengeError).status).toBe(401)
    const fresh = { ...app, auth: oauth.ClientSecretBasic(rotated.json().data.client_secret) }
    expect((await clientCredentials(as, fresh)).access_token).toMatch(/^oat_/)

    expect((await t.call(app.key, { method: 'DELETE', url: `/api/v1/oauth/clients/${id}` })).statusCode).toBe(
      204,
    )
    expect((await t.call(access_token, { method: 'GET', url: '/api/v1/me' })).statusCode).toBe(401)
  })

  it('gives /oauth2/* a per-address budget of 100 per 5 minutes, refused in the RFC 6749 format', async () => {
    let last = await t.app.inject({ method: 'GET', url: '/oauth2/jwks', remoteAddress: '203.0.113.9' })
    expect(last.statusCode).toBe(200)
    expect(last.headers['x-ratelimit-limit']).toBe('100')
    for (let i = 1; i < 100; i++)
      last = await t.app.inject({ method: 'GET', url: '/oauth2/jwks', remoteAddress: '203.0.113.9' })
    expect(last.statusCode).toBe(200)
    const refused = await t.app.inject({ method: 'GET', url: '/oauth2/jwks', remoteAddress: '203.0.113.9' })
    expect(refused.statusCode).toBe(429)
    expect(refused.headers['retry-after']).toBeDefined()
    expect(refused.json()).toEqual({
      error: 'rate_limit_exceeded',
      error_description: expect.any(String),
      request_id: expect.any(String),
    })
  })

  it("tells an app nothing about another app's token, and ends nothing", async () => {
    const as = await discover()
    const mine = await registerApp()
    const theirs = await registerApp()
    const { access_token } = await clientCredentials(as, theirs)
    const introspected = await oauth.processIntrospectionResponse(
      as,
      mine.client,
      await oauth.introspectionRequest(as, mine.client, mine.auth, access_token, options()),
    )
    expect(introspected).toEqual({ active: false })
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, mine.client, mine.auth, access_token, options()),
    )
    expect((await t.call(access_token, { method: 'GET', url: '/api/v1/me' })).statusCode).toBe(200)
  })

  it('answers an unknown /oauth2/ path with a 404 in the RFC 6749 format', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/oauth2/nothing-here' })
    expect(res.statusCode).toBe(404)
    expect(res.json()).toEqual({
      error: 'invalid_request',
      error_description: 'unrecognized route',
      request_id: expect.any(String),
    })
  })

  it('takes the secret in form fields (client_secret_post) as well as HTTP Basic, and a wrong one in neither', async () => {
    const as = await discover()
    const app = await registerApp(['posts:read'], 'client_secret_post')
    expect((await clientCredentials(as, app)).access_token).toMatch(/^oat_/)
    const basic = { ...app, auth: oauth.ClientSecretBasic(app.secret) }
    expect((await clientCredentials(as, basic)).access_token).toMatch(/^oat_/)
    const wrong = { ...app, auth: oauth.ClientSecretPost('ocs_wrong') }
    const error = await clientCredentials(as, wrong).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(oauth.ResponseBodyError)
    expect(error).toMatchObject({ status: 401, error: 'invalid_client' })
    expect((error as oauth.ResponseBodyError).cause).toMatchObject({
      request_id: expect.stringMatching(/^req_/),
    })
  })
})
