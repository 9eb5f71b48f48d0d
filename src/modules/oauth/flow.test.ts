// The authorization-code flow with PKCE, driven by oauth4webapi and plain HTTP requests
// through our own login and consent pages; then refresh with rotation and reuse detection,
// code replay, and the refusals on the way.
import * as oauth from 'oauth4webapi'
import { beforeEach, describe, expect, it } from 'vitest'
import { injectFetch, useTestApp } from '../../testing/harness.ts'
import { Browser as AppBrowser } from '../../testing/oauth-flow.ts'

const t = useTestApp()
beforeEach(() => t.clock.advance(5 * 60_000 + 1000))

const ISSUER = new URL('http://api.test')
const REDIRECT = 'https://partner.test/callback'
const PASSWORD = 'correct horse battery staple'

/** A person's browser on this suite's app. */
class Browser extends AppBrowser {
  constructor() {
    super(t.app)
  }
}

const options = () => ({ [oauth.customFetch]: injectFetch(t.app), [oauth.allowInsecureRequests]: true })

async function setup(publicApp = false, scopes = ['posts:read', 'posts:write']) {
  const ws = await t.workspace()
  const email = `person${Math.random().toString(36).slice(2)}@example.com`
  const user = await t.call(t.masterKey, {
    method: 'POST',
    url: '/api/v1/users',
    workspace: ws.id,
    payload: { email, password: PASSWORD, role: 'member' },
  })
  expect(user.statusCode).toBe(201)
  const { key } = await t.key(ws.id, { scopes: ['*'] })
  const created = await t.call(key, {
    method: 'POST',
    url: '/api/v1/oauth/clients',
    payload: {
      name: 'Partner <reports>',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      scopes,
      ...(publicApp && { token_endpoint_auth_method: 'none' }),
    },
  })
  expect(created.statusCode).toBe(201)
  const { client_id, client_secret } = created.json().data
  const response = await oauth.discoveryRequest(ISSUER, { algorithm: 'oauth2', ...options() })
  const as = await oauth.processDiscoveryResponse(ISSUER, response)
  return {
    ws,
    email,
    as,
    client: { client_id } as oauth.Client,
    auth: publicApp ? oauth.None() : oauth.ClientSecretBasic(client_secret),
  }
}

type Setup = Awaited<ReturnType<typeof setup>>

/** Runs the browser part of the flow; answers the redirect back to the app. */
async function authorize(s: Setup, browser: Browser, extra: Record<string, string> = {}) {
  const scope = extra.scope ?? 'posts:read'
  const verifier = oauth.generateRandomCodeVerifier()
  const state = oauth.generateRandomState()
  const url = new URL(s.as.authorization_endpoint!)
  url.search = new URLSearchParams({
    client_id: s.client.client_id,
    redirect_uri: REDIRECT,
    response_type: 'code',
    scope: 'posts:read',
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...extra,
  }).toString()
  const start = await browser.request('GET', url.href)
  expect(start.statusCode).toBe(303)
  const login = await browser.request('GET', start.headers.location!)
  expect(login.statusCode).toBe(200)
  expect(login.headers['content-type']).toBe('text/html; charset=utf-8')
  expect(login.headers['content-security-policy']).toContain("frame-ancestors 'none'")
  expect(login.body).toContain('Partner &lt;reports&gt;')
  const action = /action="([^"]+\/login)"/.exec(login.body)![1]!

  const wrong = await browser.request('POST', action, { email: s.email, password: 'nope nope nope' })
  expect(wrong.statusCode).toBe(401)
  expect(wrong.body).toContain('Invalid email or password.')

  const signedIn = await browser.request('POST', action, { email: s.email, password: PASSWORD })
  expect(signedIn.statusCode).toBe(303)
  const resumed = await browser.request('GET', signedIn.headers.location!)
  expect(resumed.statusCode).toBe(303)
  const consent = await browser.request('GET', resumed.headers.location!)
  expect(consent.statusCode).toBe(200)
  for (const one of scope.split(' ')) expect(consent.body).toContain(`<code>${one}</code>`)
  const confirm = /action="([^"]+\/confirm)"/.exec(consent.body)![1]!
  const allowed = await browser.request('POST', confirm)
  expect(allowed.statusCode).toBe(303)
  const done = await browser.request('GET', allowed.headers.location!)
  expect(done.statusCode).toBe(303)
  return { location: new URL(done.headers.location!), verifier, state }
}

async function exchange(s: Setup, location: URL, verifier: string, state: string) {
  const params = oauth.validateAuthResponse(s.as, s.client, location, state)
  const res = await oauth.authorizationCodeGrantRequest(
    s.as,
    s.client,
    s.auth,
    params,
    REDIRECT,
    verifier,
    options(),
  )
  return oauth.processAuthorizationCodeResponse(s.as, s.client, res)
}

async function refresh(s: Setup, token: string) {
  const res = await oauth.refreshTokenGrantRequest(s.as, s.client, s.auth, token, options())
  return oauth.processRefreshTokenResponse(s.as, s.client, res)
}

describe('authorization code with PKCE through our login and consent pages', () => {
  it('signs in, consents, exchanges the code, and acts for the user within the granted scope', async () => {
    const s = await setup()
    const { location, verifier, state } = await authorize(s, new Browser())
    expect(location.origin + location.pathname).toBe(REDIRECT)
    const tokens = await exchange(s, location, verifier, state)
    expect(tokens).toMatchObject({ token_type: 'bearer', scope: 'posts:read', expires_in: 3600 })
    expect(tokens.access_token).toMatch(/^oat_/)
    expect(tokens.refresh_token).toMatch(/^ort_/)

    const me = await t.call(tokens.access_token, { method: 'GET', url: '/api/v1/me' })
    expect(me.statusCode).toBe(200)
    expect(me.json().data).toMatchObject({
      type: 'oauth_token',
      user: { email: s.email },
      workspace: { id: s.ws.id },
      key: null,
      scopes: ['posts:read'],
    })
    expect((await t.call(tokens.access_token, { method: 'GET', url: '/api/v1/posts' })).statusCode).toBe(200)
    const write = await t.call(tokens.access_token, {
      method: 'POST',
      url: '/api/v1/posts',
      payload: { title: 'x' },
    })
    expect(write.statusCode).toBe(403)
    const elsewhere = await t.workspace()
    const other = await t.call(tokens.access_token, {
      method: 'GET',
      url: '/api/v1/posts',
      workspace: elsewhere.id,
    })
    expect(other.statusCode).toBe(403)
  })

  it('rotates refresh tokens, and a reused one revokes the whole grant', async () => {
    const s = await setup()
    const { location, verifier, state } = await authorize(s, new Browser())
    const first = await exchange(s, location, verifier, state)
    const second = await refresh(s, first.refresh_token!)
    expect(second.refresh_token).toMatch(/^ort_/)
    expect(second.refresh_token).not.toBe(first.refresh_token)
    expect((await t.call(second.access_token, { method: 'GET', url: '/api/v1/me' })).statusCode).toBe(200)

    const reuse = await refresh(s, first.refresh_token!).catch((e: unknown) => e)
    expect(reuse).toBeInstanceOf(oauth.ResponseBodyError)
    expect((reuse as oauth.ResponseBodyError).error).toBe('invalid_grant')
    expect((await t.call(second.access_token, { method: 'GET', url: '/api/v1/me' })).statusCode).toBe(401)
    const again = await refresh(s, second.refresh_token!).catch((e: unknown) => e)
    expect((again as oauth.ResponseBodyError).error).toBe('invalid_grant')
  })

  it('answers a replayed code with invalid_grant and revokes the tokens issued from it', async () => {
    const s = await setup()
    const { location, verifier, state } = await authorize(s, new Browser())
    const tokens = await exchange(s, location, verifier, state)
    expect((await t.call(tokens.access_token, { method: 'GET', url: '/api/v1/me' })).statusCode).toBe(200)
    const replay = await exchange(s, location, verifier, state).catch((e: unknown) => e)
    expect(replay).toBeInstanceOf(oauth.ResponseBodyError)
    expect((replay as oauth.ResponseBodyError).error).toBe('invalid_grant')
    expect((replay as oauth.ResponseBodyError).cause).toMatchObject({
      request_id: expect.stringMatching(/^req_/),
    })
    expect((await t.call(tokens.access_token, { method: 'GET', url: '/api/v1/me' })).statusCode).toBe(401)
  })

  it('refuses an unregistered redirect URI and a request without PKCE', async () => {
    const s = await setup()
    const browser = new Browser()
    const base = {
      client_id: s.client.client_id,
      response_type: 'code',
      scope: 'posts:read',
      code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()),
      code_challenge_method: 'S256',
    }
    const wrongRedirect = await browser.request(
      'GET',
      `/oauth2/auth?${new URLSearchParams({ ...base, redirect_uri: `${REDIRECT}/other` })}`,
    )
    expect(wrongRedirect.statusCode).toBe(400)
    expect(wrongRedirect.body).toContain(
      'redirect_uri did not match any of the client&#39;s registered redirect_uris',
    )

    const { code_challenge: _, code_challenge_method: __, ...noPkce } = base
    const withoutPkce = await browser.request(
      'GET',
      `/oauth2/auth?${new URLSearchParams({ ...noPkce, redirect_uri: REDIRECT })}`,
    )
    expect(withoutPkce.statusCode).toBe(303)
    const back = new URL(withoutPkce.headers.location!)
    expect(back.origin + back.pathname).toBe(REDIRECT)
    expect(back.searchParams.get('error')).toBe('invalid_request')
  })

  it('sends the user back with access_denied when they deny', async () => {
    const s = await setup()
    const browser = new Browser()
    const verifier = oauth.generateRandomCodeVerifier()
    const start = await browser.request(
      'GET',
      `/oauth2/auth?${new URLSearchParams({
        client_id: s.client.client_id,
        redirect_uri: REDIRECT,
        response_type: 'code',
        scope: 'posts:read',
        code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      })}`,
    )
    const login = await browser.request('GET', start.headers.location!)
    const action = /action="([^"]+\/login)"/.exec(login.body)![1]!
    const signedIn = await browser.request('POST', action, { email: s.email, password: PASSWORD })
    const consent = await browser.request(
      'GET',
      (await browser.request('GET', signedIn.headers.location!)).headers.location!,
    )
    const abort = /action="([^"]+\/abort)"/.exec(consent.body)![1]!
    const denied = await browser.request('POST', abort)
    const back = await browser.request('GET', denied.headers.location!)
    const location = new URL(back.headers.location!)
    expect(location.searchParams.get('error')).toBe('access_denied')
  })

  it('counts failed logins towards the same per-email lockout as sign-in (429 on the page)', async () => {
    const s = await setup()
    const browser = new Browser()
    const start = await browser.request(
      'GET',
      `/oauth2/auth?${new URLSearchParams({
        client_id: s.client.client_id,
        redirect_uri: REDIRECT,
        response_type: 'code',
        scope: 'posts:read',
        code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()),
        code_challenge_method: 'S256',
      })}`,
    )
    const login = await browser.request('GET', start.headers.location!)
    const action = /action="([^"]+\/login)"/.exec(login.body)![1]!
    const statuses: number[] = []
    for (let i = 0; i < 5; i++)
      statuses.push(
        (await browser.request('POST', action, { email: s.email, password: `wrong ${i}` })).statusCode,
      )
    expect(statuses).toEqual([401, 401, 401, 401, 429])
    const locked = await browser.request('POST', action, { email: s.email, password: PASSWORD })
    expect(locked.statusCode).toBe(429)
    expect(locked.headers['retry-after']).toBeDefined()
    expect(locked.body).toContain('Too many failed sign-ins for this email')
    // The dashboard's sign-in is locked as well.
    const signIn = await t.app.inject({
      method: 'POST',
      url: '/api/auth/sign-in',
      payload: { email: s.email, password: PASSWORD },
    })
    expect(signIn.statusCode).toBe(429)
  })

  it('runs the flow for a public app (no secret, PKCE), and refuses one without PKCE', async () => {
    const s = await setup(true)
    const { location, verifier, state } = await authorize(s, new Browser())
    const tokens = await exchange(s, location, verifier, state)
    expect(tokens.access_token).toMatch(/^oat_/)
    expect(
      (await t.call(tokens.access_token, { method: 'GET', url: '/api/v1/me' })).json().data,
    ).toMatchObject({
      type: 'oauth_token',
      user: { email: s.email },
    })
    const rotated = await refresh(s, tokens.refresh_token!)
    expect(rotated.refresh_token).not.toBe(tokens.refresh_token)

    const withoutPkce = await new Browser().request(
      'GET',
      `/oauth2/auth?${new URLSearchParams({
        client_id: s.client.client_id,
        redirect_uri: REDIRECT,
        response_type: 'code',
        scope: 'posts:read',
      })}`,
    )
    const back = new URL(withoutPkce.headers.location!)
    expect(back.searchParams.get('error')).toBe('invalid_request')
    expect(back.searchParams.get('error_description')).toBe(
      'Authorization Server policy requires PKCE to be used for this request',
    )
  })

  it("narrows a user's token to what the user's role allows in the workspace", async () => {
    const s = await setup(false, ['webhooks:write', 'posts:write', 'api-keys:write'])
    const { location, verifier, state } = await authorize(s, new Browser(), {
      scope: 'webhooks:write posts:write api-keys:write',
    })
    const { access_token } = await exchange(s, location, verifier, state)
    // A member may write posts, not webhooks, whatever the token's scopes.
    const post = await t.call(access_token, {
      method: 'POST',
      url: '/api/v1/posts',
      payload: { title: 'Mine' },
    })
    expect(post.statusCode).toBe(201)
    const refused = await t.call(access_token, {
      method: 'POST',
      url: '/api/v1/webhooks',
      payload: { url: 'https://hooks.invalid/receive', events: ['post.created'] },
    })
    expect(refused.statusCode).toBe(403)
    expect(refused.json().message).toBe(
      'Insufficient permissions. Required scope: webhooks:write (not granted to the member role in this workspace)',
    )
    // A member's token makes keys for its user, within the member's role and the token's scopes.
    const beyond = await t.call(access_token, {
      method: 'POST',
      url: '/api/v1/api-keys',
      payload: { name: 'k', scopes: ['webhooks:write'] },
    })
    expect(beyond.statusCode).toBe(403)
    expect(beyond.json().message).toBe(
      'Insufficient permissions. A key cannot grant a scope its creator lacks: webhooks:write (not granted to the member role in this workspace)',
    )
    const mine = await t.call(access_token, {
      method: 'POST',
      url: '/api/v1/api-keys',
      payload: { name: 'k', scopes: ['posts:write'] },
    })
    expect(mine.statusCode).toBe(201)
    const listed = await t.call(t.masterKey, { method: 'GET', url: '/api/v1/api-keys', workspace: s.ws.id })
    expect(listed.json().data.map((k: { name: string }) => k.name)).toEqual(['k', 'test key'])
  })

  it("narrows issued tokens to the app's scopes at once when the app is narrowed, and ends them when it is deleted", async () => {
    const s = await setup(false, ['posts:read', 'posts:write'])
    const { location, verifier, state } = await authorize(s, new Browser(), { scope: 'posts:write' })
    const tokens = await exchange(s, location, verifier, state)
    const write = () =>
      t.call(tokens.access_token, { method: 'POST', url: '/api/v1/posts', payload: { title: 'by app' } })
    expect((await write()).statusCode).toBe(201) // cached now
    const { key } = await t.key(s.ws.id, { scopes: ['*'] })
    const apps = await t.call(key, { method: 'GET', url: '/api/v1/oauth/clients' })
    const id = apps.json().data[0].id as number
    const narrowed = await t.call(key, {
      method: 'PATCH',
      url: `/api/v1/oauth/clients/${id}`,
      payload: { scopes: ['posts:read'] },
    })
    expect(narrowed.statusCode).toBe(200)

    const refused = await write()
    expect(refused.statusCode).toBe(403)
    expect(refused.json().message).toBe('Insufficient permissions. Required scope: posts:write')
    expect((await t.call(tokens.access_token, { method: 'GET', url: '/api/v1/posts' })).statusCode).toBe(200)
    const me = await t.call(tokens.access_token, { method: 'GET', url: '/api/v1/me' })
    expect(me.json().data.scopes).toEqual(['posts:read'])
    // A token refreshed after the change is held to it too.
    const refreshed = await refresh(s, tokens.refresh_token!)
    const again = await t.call(refreshed.access_token, {
      method: 'POST',
      url: '/api/v1/posts',
      payload: { title: 'by app' },
    })
    expect(again.statusCode).toBe(403)
    const posts = await t.call(key, { method: 'GET', url: '/api/v1/posts' })
    expect(posts.json().meta.total).toBe(1)

    // Deleting the app ends its tokens and its refresh token.
    expect((await t.call(key, { method: 'DELETE', url: `/api/v1/oauth/clients/${id}` })).statusCode).toBe(204)
    expect((await t.call(refreshed.access_token, { method: 'GET', url: '/api/v1/me' })).statusCode).toBe(401)
    const gone = await refresh(s, refreshed.refresh_token!).catch((e: unknown) => e)
    expect(gone).toBeInstanceOf(Error)
  })
})
