// The apps a person has authorised: listed and revoked from their dashboard session. Revoking
// one ends every access and refresh token of that grant at the app's next request; the
// person's other grants, and other people's, are untouched.
import { eq } from 'drizzle-orm'
import * as oauth from 'oauth4webapi'
import { beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { injectFetch, useTestApp } from '../../testing/harness.ts'
import { PARTNER_REDIRECT, userTokens } from '../../testing/oauth-flow.ts'
import { oauthModels } from './tables.ts'

const t = useTestApp({ env: { SIGN_IN_PER_MINUTE: '0' } })
beforeEach(() => t.clock.advance(5 * 60_000 + 1000))

const PASSWORD = 'correct horse battery staple'
const ORIGIN = 'http://api.test'
let counter = 0
let ws: number

type Person = { email: string; cookie: string; csrf: string }
type App = { id: number; client_id: string; client_secret: string; name: string }

async function person(): Promise<Person> {
  const email = `p${++counter}@grants.test`
  const made = await t.call(t.masterKey, {
    method: 'POST',
    url: '/api/v1/users',
    workspace: ws,
    payload: { email, password: PASSWORD, role: 'member' },
  })
  expect(made.statusCode, made.body).toBe(201)
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/auth/sign-in',
    payload: { email, password: PASSWORD },
  })
  return { email, cookie: String(res.headers['set-cookie']).split(';')[0]!, csrf: res.json().data.csrf_token }
}

async function partner(name: string, scopes = ['posts:read', 'posts:write']): Promise<App> {
  const res = await t.call(t.masterKey, {
    method: 'POST',
    url: '/api/v1/oauth/clients',
    workspace: ws,
    payload: {
      name,
      redirect_uris: [PARTNER_REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      scopes,
    },
  })
  expect(res.statusCode, res.body).toBe(201)
  return { ...res.json().data, name }
}

const tokensFor = (who: Person, app: App, scope = 'posts:read') =>
  userTokens(t.app, { ...app, email: who.email, password: PASSWORD, scope })

function asPerson(who: Person, method: 'GET' | 'DELETE', url: string) {
  return t.app.inject({
    method,
    url,
    headers: { cookie: who.cookie, 'x-csrf-token': who.csrf, origin: ORIGIN },
  })
}

type Grant = { id: string; client_id: string; client_name: string; scopes: string[] }
const grantsOf = async (who: Person): Promise<Grant[]> => {
  const res = await asPerson(who, 'GET', '/api/auth/grants')
  expect(res.statusCode, res.body).toBe(200)
  return res.json().data
}

async function refresh(app: App, token: string) {
  const issuer = new URL(ORIGIN)
  const options = { [oauth.customFetch]: injectFetch(t.app), [oauth.allowInsecureRequests]: true }
  const as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...options }),
  )
  const client = { client_id: app.client_id }
  const res = await oauth.refreshTokenGrantRequest(
    as,
    client,
    oauth.ClientSecretBasic(app.client_secret),
    token,
    options,
  )
  return oauth.processRefreshTokenResponse(as, client, res)
}

const me = (token: string) => t.call(token, { method: 'GET', url: '/api/v1/me' })

beforeAll(async () => {
  ws = (await t.workspace()).id
})

describe('the apps a person has authorised', () => {
  it('lists them with the app, the scopes and when a token was last issued; only the person’s own', async () => {
    const ada = await person()
    const bob = await person()
    const reports = await partner('Reports')
    const backup = await partner('Backup')
    await tokensFor(ada, reports, 'posts:read')
    const later = await tokensFor(ada, backup, 'posts:read posts:write')
    await tokensFor(bob, reports)

    const res = await asPerson(ada, 'GET', '/api/auth/grants?sort=client_name')
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body.meta).toMatchObject({ total: 2, current_page: 1 })
    expect(body.data).toEqual([
      {
        id: expect.any(String),
        client_id: backup.client_id,
        client_name: 'Backup',
        scopes: ['posts:read', 'posts:write'],
        created_at: expect.stringMatching(/Z$/),
        last_used_at: expect.stringMatching(/Z$/),
        expires_at: expect.stringMatching(/Z$/),
      },
      expect.objectContaining({
        client_id: reports.client_id,
        client_name: 'Reports',
        scopes: ['posts:read'],
      }),
    ])
    for (const grant of body.data as Array<{ created_at: string; last_used_at: string }>)
      expect(Date.parse(grant.last_used_at)).toBeGreaterThanOrEqual(Date.parse(grant.created_at))
    // Newest first by default; a refresh is a use of the grant, and keeps it.
    expect((await grantsOf(ada)).length).toBe(2)
    await refresh(backup, later.refresh_token!)
    expect((await grantsOf(ada)).map((g) => g.client_name).sort()).toEqual(['Backup', 'Reports'])

    const sorted = await asPerson(ada, 'GET', '/api/auth/grants?sort=client_name&fields=client_name')
    expect(sorted.json().data).toEqual([
      { id: expect.any(String), client_name: 'Backup' },
      { id: expect.any(String), client_name: 'Reports' },
    ])
    expect((await asPerson(ada, 'GET', '/api/auth/grants?sort=secret')).statusCode).toBe(422)
    expect((await grantsOf(bob)).map((g) => g.client_name)).toEqual(['Reports'])
  })

  it('revokes one: every access and refresh token of it ends at once, and nothing else', async () => {
    const ada = await person()
    const bob = await person()
    const reports = await partner('Reports')
    const backup = await partner('Backup')
    const first = await tokensFor(ada, reports)
    const second = await refresh(reports, first.refresh_token!)
    const other = await tokensFor(ada, backup)
    const bobs = await tokensFor(bob, reports)
    for (const token of [second.access_token, other.access_token, bobs.access_token])
      expect((await me(token)).statusCode).toBe(200) // cached now

    const grant = (await grantsOf(ada)).find((g) => g.client_id === reports.client_id)!
    const revoked = await asPerson(ada, 'DELETE', `/api/auth/grants/${grant.id}`)
    expect(revoked.statusCode, revoked.body).toBe(204)

    expect((await me(second.access_token)).statusCode).toBe(401)
    const again = await refresh(reports, second.refresh_token!).catch((e: unknown) => e)
    expect(again).toBeInstanceOf(oauth.ResponseBodyError)
    expect((again as oauth.ResponseBodyError).error).toBe('invalid_grant')
    const rows = await t.database.db.select().from(oauthModels).where(eq(oauthModels.grantId, grant.id))
    expect(rows).toEqual([])
    // The person's other app and the other person's grant of the same app still work.
    expect((await me(other.access_token)).statusCode).toBe(200)
    expect((await me(bobs.access_token)).statusCode).toBe(200)
    expect((await grantsOf(ada)).map((g) => g.client_id)).toEqual([backup.client_id])
    expect((await asPerson(ada, 'DELETE', `/api/auth/grants/${grant.id}`)).statusCode).toBe(404)

    // The app may ask again: a new consent, a new grant.
    const fresh = await tokensFor(ada, reports)
    expect((await me(fresh.access_token)).statusCode).toBe(200)
    expect((await grantsOf(ada)).map((g) => g.client_id).sort()).toEqual(
      [backup.client_id, reports.client_id].sort(),
    )
  })

  it("answers 404 for another person's grant and an unknown one, and revokes nothing", async () => {
    const ada = await person()
    const bob = await person()
    const app = await partner('Reports')
    const bobs = await tokensFor(bob, app)
    const [grant] = await grantsOf(bob)
    for (const id of [grant!.id, 'unknown-grant-id']) {
      const res = await asPerson(ada, 'DELETE', `/api/auth/grants/${id}`)
      expect(res.statusCode).toBe(404)
      expect(res.json().error).toBe('not_found')
    }
    expect((await me(bobs.access_token)).statusCode).toBe(200)
    expect(await grantsOf(bob)).toHaveLength(1)
    // A malformed id is a path that names nothing, as everywhere.
    expect((await asPerson(ada, 'DELETE', '/api/auth/grants/not.an.id')).statusCode).toBe(404)
  })

  it('is for the person’s dashboard session only: a token, a key or the master key is 403', async () => {
    const ada = await person()
    const app = await partner('Reports', ['*'])
    const tokens = await tokensFor(ada, app, '*')
    const [grant] = await grantsOf(ada)
    const { key } = await t.key(ws, { scopes: ['*'] })
    for (const credential of [tokens.access_token, key, t.masterKey]) {
      for (const [method, url] of [
        ['GET', '/api/auth/grants'],
        ['DELETE', `/api/auth/grants/${grant!.id}`],
      ] as const) {
        const res = await t.call(credential, { method, url })
        expect(res.statusCode, `${method} ${url}`).toBe(403)
        expect(res.json().error).toBe('access_denied')
      }
    }
    expect((await me(tokens.access_token)).statusCode).toBe(200)
    expect(await grantsOf(ada)).toHaveLength(1)
    // A cookie write without the CSRF token changes nothing either.
    const forged = await t.app.inject({
      method: 'DELETE',
      url: `/api/auth/grants/${grant!.id}`,
      headers: { cookie: ada.cookie, origin: 'https://evil.test' },
    })
    expect(forged.statusCode).toBe(403)
    expect(await grantsOf(ada)).toHaveLength(1)
  })
})
