// The authorization-code flow as a partner app and a person's browser run it, for tests: the
// app (oauth4webapi, over the test app's own HTTP handling or over the network to a server
// process) sends the browser to /oauth2/auth, the person signs in and allows access on our
// pages, and the app exchanges the code.
import type { FastifyInstance } from 'fastify'
import * as oauth from 'oauth4webapi'
import { injectFetch } from './harness.ts'

/** Where the flow runs: a test app (its issuer is http://api.test) or a server's base URL. */
type Target = FastifyInstance | string

const issuerOf = (target: Target) => new URL(typeof target === 'string' ? target : 'http://api.test')

type Answer = {
  statusCode: number
  body: string
  headers: {
    location?: string
    'set-cookie'?: string | string[]
    [name: string]: string | string[] | number | undefined
  }
}

export const PARTNER_REDIRECT = 'https://partner.test/callback'

/** A browser's cookies, by name (paths ignored: every request of the flow may carry them). */
export class Browser {
  private readonly cookies = new Map<string, string>()
  private readonly target: Target

  constructor(target: Target) {
    this.target = target
  }

  private async send(method: 'GET' | 'POST', url: URL, headers: Record<string, string>, body?: string) {
    if (typeof this.target !== 'string')
      return this.target.inject({ method, url: url.pathname + url.search, headers, payload: body })
    const res = await fetch(url, { method, headers, body, redirect: 'manual' })
    const received: Answer['headers'] = {}
    res.headers.forEach((value, name) => {
      received[name] = value
    })
    received['set-cookie'] = res.headers.getSetCookie()
    const answer: Answer = { statusCode: res.status, body: await res.text(), headers: received }
    return answer
  }

  async request(method: 'GET' | 'POST', url: string, form?: Record<string, string>): Promise<Answer> {
    const target = new URL(url, issuerOf(this.target))
    const res = await this.send(
      method,
      target,
      {
        cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(form && { 'content-type': 'application/x-www-form-urlencoded' }),
      },
      form && new URLSearchParams(form).toString(),
    )
    for (const line of [res.headers['set-cookie'] ?? []].flat()) {
      const [pair] = line.split(';')
      const eq = pair!.indexOf('=')
      const name = pair!.slice(0, eq)
      const value = pair!.slice(eq + 1)
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
    return res
  }
}

function expectStatus(res: { statusCode: number; body: string }, status: number, step: string) {
  if (res.statusCode !== status) throw new Error(`${step}: ${res.statusCode} ${res.body.slice(0, 300)}`)
}

/**
 * Tokens of the authorization-code grant for the person with `email` and `password`, asked by
 * the app `client_id` (registered with PARTNER_REDIRECT; `client_secret` null for a public app).
 */
export async function userTokens(
  target: Target,
  input: { client_id: string; client_secret: string | null; email: string; password: string; scope: string },
): Promise<oauth.TokenEndpointResponse> {
  const options = {
    ...(typeof target !== 'string' && { [oauth.customFetch]: injectFetch(target) }),
    [oauth.allowInsecureRequests]: true,
  }
  const issuer = issuerOf(target)
  const as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...options }),
  )
  const client = { client_id: input.client_id }
  const verifier = oauth.generateRandomCodeVerifier()
  const state = oauth.generateRandomState()
  const url = new URL(as.authorization_endpoint!)
  url.search = new URLSearchParams({
    client_id: input.client_id,
    redirect_uri: PARTNER_REDIRECT,
    response_type: 'code',
    scope: input.scope,
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  }).toString()
  const browser = new Browser(target)
  const start = await browser.request('GET', url.href)
  expectStatus(start, 303, 'authorize')
  const login = await browser.request('GET', start.headers.location!)
  const action = /action="([^"]+\/login)"/.exec(login.body)?.[1]
  if (!action) throw new Error(`login page: ${login.statusCode} ${login.body.slice(0, 300)}`)
  const signedIn = await browser.request('POST', action, { email: input.email, password: input.password })
  expectStatus(signedIn, 303, 'sign in')
  const resumed = await browser.request('GET', signedIn.headers.location!)
  expectStatus(resumed, 303, 'resume')
  const consent = await browser.request('GET', resumed.headers.location!)
  const confirm = /action="([^"]+\/confirm)"/.exec(consent.body)?.[1]
  if (!confirm) throw new Error(`consent page: ${consent.statusCode} ${consent.body.slice(0, 300)}`)
  const allowed = await browser.request('POST', confirm)
  expectStatus(allowed, 303, 'allow')
  const done = await browser.request('GET', allowed.headers.location!)
  expectStatus(done, 303, 'back to the app')
  const params = oauth.validateAuthResponse(as, client, new URL(done.headers.location!), state)
  const auth = input.client_secret === null ? oauth.None() : oauth.ClientSecretBasic(input.client_secret)
  const res = await oauth.authorizationCodeGrantRequest(
    as,
    client,
    auth,
    params,
    PARTNER_REDIRECT,
    verifier,
    options,
  )
  return oauth.processAuthorizationCodeResponse(as, client, res)
}
