// The OAuth login and consent pages as a person uses them: Debian's Chromium (playwright-core)
// follows the authorization request of a partner app, signs in with a user's email and
// password on our page, allows access, and lands on the app's redirect URI with a code that
// oauth4webapi exchanges for a token acting for that user.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as oauth from 'oauth4webapi'
import { type BrowserContext, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../src/testing/harness.ts'
import { freePort } from '../../src/testing/processes.ts'
import { CHROMIUM, CHROMIUM_ARGS, chromiumAvailable } from './kit.ts'

const REDIRECT = 'https://partner.test/callback'
const PASSWORD = 'correct horse battery staple'

describe.skipIf(!chromiumAvailable)('the OAuth login and consent pages in a browser', () => {
  let t: TestApp
  let browser: BrowserContext
  let base: string
  const profile = mkdtempSync(join(tmpdir(), 'core-api-chromium-'))

  beforeAll(async () => {
    const port = await freePort()
    base = `http://127.0.0.1:${port}`
    // The issuer is the address the browser reaches.
    t = await buildTestApp({ env: { PUBLIC_URL: base } })
    await t.app.listen({ port, host: '127.0.0.1' })
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      timeout: 30_000,
    })
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await t?.close()
    rmSync(profile, { recursive: true, force: true })
  })

  it('signs in, allows access and sends the person back to the app with a working code', async () => {
    const ws = await t.workspace()
    const email = 'ada@browser.test'
    const user = await t.call(t.masterKey, {
      method: 'POST',
      url: '/api/v1/users',
      workspace: ws.id,
      payload: { email, password: PASSWORD, name: 'Ada' },
    })
    expect(user.statusCode).toBe(201)
    const { key } = await t.key(ws.id, { scopes: ['*'] })
    const created = await t.call(key, {
      method: 'POST',
      url: '/api/v1/oauth/clients',
      payload: {
        name: 'Browser partner',
        redirect_uris: [REDIRECT],
        grant_types: ['authorization_code'],
        scopes: ['posts:read'],
      },
    })
    const { client_id, client_secret } = created.json().data
    const issuer = new URL(base)
    const insecure = { [oauth.allowInsecureRequests]: true }
    const as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
    )
    const verifier = oauth.generateRandomCodeVerifier()
    const state = oauth.generateRandomState()
    const url = new URL(as.authorization_endpoint!)
    url.search = new URLSearchParams({
      client_id,
      redirect_uri: REDIRECT,
      response_type: 'code',
      scope: 'posts:read',
      state,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    }).toString()

    const page = await browser.newPage()
    let landed: string | null = null
    await page.route('https://partner.test/**', (route) => {
      landed = route.request().url()
      return route.fulfill({ status: 200, contentType: 'text/html', body: '<p>Back at the app</p>' })
    })
    await page.goto(url.href)
    await page.getByRole('heading', { name: 'Sign in' }).waitFor()
    expect(await page.getByText('Browser partner').count()).toBe(1)
    await page.getByLabel('Email').fill(email)
    await page.getByLabel('Password').fill('not the password')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('alert').waitFor()
    expect(await page.getByRole('alert').textContent()).toBe('Invalid email or password.')
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Allow access?' }).waitFor()
    expect(await page.getByText('posts:read').count()).toBe(1)
    await page.getByRole('button', { name: 'Allow' }).click()
    await page.getByText('Back at the app').waitFor()
    expect(landed).not.toBeNull()

    const client = { client_id }
    const params = oauth.validateAuthResponse(as, client, new URL(landed!), state)
    const tokens = await oauth.processAuthorizationCodeResponse(
      as,
      client,
      await oauth.authorizationCodeGrantRequest(
        as,
        client,
        oauth.ClientSecretBasic(client_secret),
        params,
        REDIRECT,
        verifier,
        insecure,
      ),
    )
    const me = await t.call(tokens.access_token, { method: 'GET', url: '/api/v1/me' })
    expect(me.json().data).toMatchObject({
      type: 'oauth_token',
      user: { email, name: 'Ada' },
      workspace: { id: ws.id },
    })
  }, 60_000)
})
