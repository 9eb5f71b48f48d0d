// The shared security suite: every route that declares `config.auth` is found on the built app
// and checked for the same guarantees — no credential, a wrong scheme, a revoked or expired key
// → 401; a key without the route's scope → 403 naming it; another tenant's resource → 404, and
// a workspace the key cannot act in → 403 — with API keys, the master key, a partner app's
// OAuth token (client credentials), and a person's session (writing with its CSRF token) and
// OAuth token (authorization code, through the real login and consent pages), the person being
// a member of one workspace and not of another. A new route fails this suite
// until it has a fixture below, so no route can ship without these checks; a route under /api/
// that declares neither `config.auth` nor `config.public` stops the server from starting.
import { beforeAll, describe, expect, it } from 'vitest'
import { scopeResources } from '../platform/auth/index.ts'
import type { ManualClock } from '../platform/lib/clock.ts'
import { buildTestApp, type TestApp, useTestApp } from './harness.ts'
import { PARTNER_REDIRECT, userTokens } from './oauth-flow.ts'

type Fixture = {
  /** A body that passes validation, so the check reaches the guard under test. */
  body?: Record<string, unknown>
  /** Creates the route's resource in `workspaceId` and returns the id (or ids by name) for the path. */
  resource?: (t: TestApp, workspaceId: number) => Promise<number | string | Record<string, number>>
  /** A person's own route, for their dashboard session only: any other credential is 403. */
  sessionOnly?: true
}

const createKey = async (t: TestApp, workspaceId: number) => (await t.key(workspaceId)).id
const createPost = async (t: TestApp, workspaceId: number) => {
  const res = await t.call(t.masterKey, {
    method: 'POST',
    url: '/api/v1/posts',
    workspace: workspaceId,
    payload: { title: 'Security suite' },
  })
  return res.json().data.id as number
}
const createWebhook = async (t: TestApp, workspaceId: number) => {
  const res = await t.call(t.masterKey, {
    method: 'POST',
    url: '/api/v1/webhooks',
    workspace: workspaceId,
    payload: { url: 'https://hooks.invalid/receive', events: ['*'] },
  })
  return res.json().data.id as number
}
let sites = 0
const createSite = async (t: TestApp, workspaceId: number) => {
  sites++
  const res = await t.call(t.masterKey, {
    method: 'POST',
    url: '/api/v1/pixel/sites',
    workspace: workspaceId,
    payload: { domain: `security-${sites}.example` },
  })
  return res.json().data.id as number
}
/** An endpoint with one delivery (of the post.created event of a new post). */
const createDelivery = async (t: TestApp, workspaceId: number) => {
  const webhook_id = await createWebhook(t, workspaceId)
  await createPost(t, workspaceId)
  const list = await t.call(t.masterKey, {
    method: 'GET',
    url: `/api/v1/webhooks/${webhook_id}/deliveries`,
    workspace: workspaceId,
  })
  return { webhook_id, delivery_id: list.json().data[0].id as number }
}
const createSeoReport = async (t: TestApp, workspaceId: number) => {
  const res = await t.call(t.masterKey, {
    method: 'POST',
    url: '/api/v1/seo/report',
    workspace: workspaceId,
    payload: { url: 'https://security.invalid/', scores: { seo: 50 } },
  })
  return res.json().data.id as number
}
/** A queued audit (the suite's app runs audits; .invalid never resolves, so it fails quietly). */
const createSeoAudit = async (t: TestApp, workspaceId: number) => {
  const res = await t.call(t.masterKey, {
    method: 'POST',
    url: '/api/v1/seo/audits',
    workspace: workspaceId,
    payload: { url: 'https://security.invalid/' },
  })
  return res.json().data.id as number
}
/** A Streamable HTTP MCP server registered in the workspace (never contacted: .invalid). */
let mcpServers = 0
const createMcpServer = async (t: TestApp, workspaceId: number) => {
  const id = `security-${++mcpServers}`
  await t.call(t.masterKey, {
    method: 'POST',
    url: '/api/v1/mcp/servers',
    workspace: workspaceId,
    payload: { id, url: 'https://mcp.invalid/mcp' },
  })
  return id
}

/** A member of the workspace (a new user made by the master key). */
const createMember = async (t: TestApp, workspaceId: number) => {
  const res = await t.call(t.masterKey, {
    method: 'POST',
    url: '/api/v1/users',
    workspace: workspaceId,
    payload: {
      email: `member${Math.random().toString(36).slice(2)}@security.test`,
      password: 'long enough password',
    },
  })
  return { id: workspaceId, user_id: res.json().data.id as number }
}

const createInvitation = async (t: TestApp, workspaceId: number) => {
  const res = await t.call(t.masterKey, {
    method: 'POST',
    url: `/api/v1/workspaces/${workspaceId}/invitations`,
    payload: { email: 'invitee@security.test' },
  })
  return { id: workspaceId, invitation_id: res.json().data.id as number }
}

const createClient = async (t: TestApp, workspaceId: number) => {
  const res = await t.call(t.masterKey, {
    method: 'POST',
    url: '/api/v1/oauth/clients',
    workspace: workspaceId,
    payload: { name: 'Security suite', grant_types: ['client_credentials'] },
  })
  return res.json().data.id as number
}

const PASSWORD = 'correct horse battery staple'

/** A partner app of the workspace that people may authorise (authorization code). */
const createPartnerApp = async (t: TestApp, workspaceId: number, scopes = ['*']) => {
  const res = await t.call(t.masterKey, {
    method: 'POST',
    url: '/api/v1/oauth/clients',
    workspace: workspaceId,
    payload: {
      name: 'Security suite partner',
      redirect_uris: [PARTNER_REDIRECT],
      grant_types: ['authorization_code'],
      scopes,
    },
  })
  expect(res.statusCode, res.body).toBe(201)
  return res.json().data as { client_id: string; client_secret: string }
}

/** A grant: a new member of the workspace authorises a partner app of it. */
const createGrant = async (t: TestApp, workspaceId: number) => {
  const email = `grantor${Math.random().toString(36).slice(2)}@security.test`
  await t.call(t.masterKey, {
    method: 'POST',
    url: '/api/v1/users',
    workspace: workspaceId,
    payload: { email, password: PASSWORD },
  })
  const app = await createPartnerApp(t, workspaceId, ['posts:read'])
  await userTokens(t.app, { ...app, email, password: PASSWORD, scope: 'posts:read' })
  const session = await t.app.inject({
    method: 'POST',
    url: '/api/auth/sign-in',
    payload: { email, password: PASSWORD },
  })
  const grants = await t.app.inject({
    method: 'GET',
    url: '/api/auth/grants',
    headers: { cookie: String(session.headers['set-cookie']).split(';')[0]! },
  })
  return grants.json().data[0].id as string
}

const FIXTURES: Record<string, Fixture> = {
  'GET /api/v1/me': {},
  'GET /api/auth/session': {},
  'POST /api/auth/sign-out': {},
  'POST /api/auth/password': { body: { current_password: 'x', new_password: 'a new and longer passphrase' } },
  'GET /api/auth/grants': { sessionOnly: true },
  'DELETE /api/auth/grants/:id': { sessionOnly: true, resource: createGrant },
  'GET /api/v1/workspaces': {},
  'POST /api/v1/workspaces': { body: { name: 'Security suite' } },
  'POST /api/v1/users': { body: { email: 'person@security.test', password: 'correct horse battery' } },
  'GET /api/v1/workspaces/:id': { resource: async (_t, id) => id },
  'PATCH /api/v1/workspaces/:id': { body: { name: 'Renamed' }, resource: async (_t, id) => id },
  'DELETE /api/v1/workspaces/:id': { resource: async (_t, id) => id },
  'GET /api/v1/workspaces/:id/members': { resource: async (_t, id) => id },
  'GET /api/v1/workspaces/:id/invitations': { resource: async (_t, id) => id },
  'POST /api/v1/workspaces/:id/invitations': {
    body: { email: 'invitee@security.test' },
    resource: async (_t, id) => id,
  },
  'DELETE /api/v1/workspaces/:id/invitations/:invitation_id': { resource: createInvitation },
  'PATCH /api/v1/workspaces/:id/members/:user_id': { body: { role: 'admin' }, resource: createMember },
  'DELETE /api/v1/workspaces/:id/members/:user_id': { resource: createMember },
  'GET /api/v1/api-keys': {},
  'POST /api/v1/api-keys': { body: { name: 'k' } },
  'GET /api/v1/api-keys/:id': { resource: createKey },
  'POST /api/v1/api-keys/:id/rotate': { body: {}, resource: createKey },
  'DELETE /api/v1/api-keys/:id': { resource: createKey },
  'GET /api/v1/entitlements/check': {},
  'POST /api/v1/entitlements/usage': { body: { feature: 'api_calls' } },
  'GET /api/v1/entitlements/summary': {},
  'GET /api/v1/posts': {},
  'POST /api/v1/posts': { body: { title: 'Hello' } },
  'GET /api/v1/posts/:id': { resource: createPost },
  'PATCH /api/v1/posts/:id': { body: { title: 'Renamed' }, resource: createPost },
  'DELETE /api/v1/posts/:id': { resource: createPost },
  'GET /api/v1/webhooks': {},
  'POST /api/v1/webhooks': { body: { url: 'https://hooks.invalid/receive', events: ['post.created'] } },
  'GET /api/v1/webhooks/event-types': {},
  'GET /api/v1/webhooks/stats': {},
  'GET /api/v1/webhooks/:id': { resource: createWebhook },
  'PATCH /api/v1/webhooks/:id': { body: { events: ['post.*'] }, resource: createWebhook },
  'DELETE /api/v1/webhooks/:id': { resource: createWebhook },
  'POST /api/v1/webhooks/:id/rotate-secret': { body: {}, resource: createWebhook },
  'POST /api/v1/webhooks/:id/test': { resource: createWebhook },
  'GET /api/v1/webhooks/:id/deliveries': { resource: createWebhook },
  'GET /api/v1/webhooks/:webhook_id/deliveries/:delivery_id': { resource: createDelivery },
  'POST /api/v1/webhooks/:webhook_id/deliveries/:delivery_id/retry': { resource: createDelivery },
  'GET /api/v1/pixel/sites': {},
  'POST /api/v1/pixel/sites': { body: { domain: 'security-suite.example' } },
  'GET /api/v1/pixel/sites/:id': { resource: createSite },
  'PATCH /api/v1/pixel/sites/:id': { body: { enabled: false }, resource: createSite },
  'DELETE /api/v1/pixel/sites/:id': { resource: createSite },
  'GET /api/v1/pixel/sites/:id/stats': { resource: createSite },
  'GET /api/v1/seo/audits': {},
  'GET /api/v1/seo/audits/:id': { resource: createSeoAudit },
  'GET /api/v1/seo/issues/:workspace_id': { resource: async (_t, workspaceId) => workspaceId },
  'GET /api/v1/seo/reports': {},
  'GET /api/v1/seo/reports/:id': { resource: createSeoReport },
  'GET /api/v1/seo/trends': {},
  'POST /api/v1/seo/audits': { body: { url: 'https://security.invalid/' } },
  'POST /api/v1/seo/report': { body: { url: 'https://security.invalid/', scores: { seo: 50 } } },
  'GET /api/v1/oauth/clients': {},
  'POST /api/v1/oauth/clients': { body: { name: 'App', grant_types: ['client_credentials'] } },
  'GET /api/v1/oauth/clients/:id': { resource: createClient },
  'PATCH /api/v1/oauth/clients/:id': { body: { name: 'Renamed' }, resource: createClient },
  'POST /api/v1/oauth/clients/:id/rotate-secret': { resource: createClient },
  'DELETE /api/v1/oauth/clients/:id': { resource: createClient },
  'GET /api/v1/mcp/servers': {},
  'POST /api/v1/mcp/servers': { body: { id: 'security', url: 'https://mcp.invalid/mcp' } },
  'GET /api/v1/mcp/servers/:id': { resource: createMcpServer },
  'PATCH /api/v1/mcp/servers/:id': { body: { name: 'Renamed' }, resource: createMcpServer },
  'DELETE /api/v1/mcp/servers/:id': { resource: createMcpServer },
  'GET /api/v1/mcp/servers/:id/tools': { resource: createMcpServer },
  'POST /api/v1/mcp/tools/call': { body: { server: 'security', tool: 'echo' } },
  'GET /api/v1/mcp/resources/*': {},
  'GET /api/v1/mcp/calls': {},
  'GET /api/v1/mcp/policy': {},
  'PUT /api/v1/mcp/policy': { body: { allowed: null } },
  'POST /mcp': { body: { jsonrpc: '2.0', id: 1, method: 'tools/list' } },
}

/** The /api/ routes that are public on purpose; any other /api/ route needs a credential. */
const PUBLIC_API_ROUTES = [
  'GET /api/openapi.json',
  'GET /api/v1/pixel/config',
  'OPTIONS /api/v1/pixel/config',
  'OPTIONS /api/v1/pixel/track',
  'POST /api/auth/invitations/accept',
  'POST /api/auth/sign-in',
  'POST /api/v1/pixel/track',
]

// No delivery worker: the fixtures' endpoints point nowhere and must never be called. The
// OAuth flows of the fixtures would spend the per-address budget of /oauth2/*: it is off.
const t = useTestApp({ env: { WEBHOOK_WORKER: '0', OAUTH_PER_5_MINUTES: '0' } })
let routes: TestApp['app']['authenticatedRoutes']
let home: number
let other: number
/** A signed-in session of a user who owns `home` and is not a member of `other`. */
type Session = { cookie: string; csrf: string }
let member: Session
/** The same user's OAuth token (authorization code) for a partner app of `home`, with every scope. */
let memberToken: string

beforeAll(async () => {
  routes = t.app.authenticatedRoutes
  // Enterprise: no plan limit gets in the way of the many keys this suite makes.
  home = (await t.workspace({ tier: 'enterprise' })).id
  other = (await t.workspace({ tier: 'enterprise' })).id
  const credentials = { email: 'member@security.test', password: PASSWORD }
  const user = await t.call(t.masterKey, {
    method: 'POST',
    url: '/api/v1/users',
    workspace: home,
    payload: { ...credentials, role: 'owner' },
  })
  expect(user.statusCode, user.body).toBe(201)
  const signIn = await t.app.inject({ method: 'POST', url: '/api/auth/sign-in', payload: credentials })
  expect(signIn.statusCode, signIn.body).toBe(200)
  const cookie = String(signIn.headers['set-cookie']).split(';')[0]!
  member = { cookie, csrf: signIn.json().data.csrf_token }
  const partner = await createPartnerApp(t, home)
  memberToken = (await userTokens(t.app, { ...partner, ...credentials, scope: '*' })).access_token
})

/** A request with a key (bearer) or a session (cookie, and the CSRF token from our own origin). */
function call(
  key: string | Session | null,
  method: string,
  url: string,
  fixture: Fixture,
  headers: Record<string, string> = {},
) {
  const session =
    typeof key === 'object' && key !== null
      ? { cookie: key.cookie, 'x-csrf-token': key.csrf, origin: 'http://api.test' }
      : {}
  return t.call(typeof key === 'string' ? key : null, {
    method: method as 'GET',
    url,
    headers: { ...session, ...headers },
    ...(fixture.body !== undefined && { payload: fixture.body }),
  })
}

async function pathFor(url: string, fixture: Fixture, workspaceId: number): Promise<string> {
  if (!url.includes(':')) return url
  const ids = await fixture.resource!(t, workspaceId)
  return url.replace(/:([a-z_]+)/g, (_, name: string) => String(typeof ids === 'object' ? ids[name] : ids))
}

function expectUnauthorized(res: Awaited<ReturnType<typeof call>>, label: string) {
  expect(res.statusCode, label).toBe(401)
  expect(res.json().error, label).toBe('unauthorized')
  expect(res.headers['www-authenticate'], label).toMatch(/^Bearer/)
}

describe('shared security suite', () => {
  it('knows every /api/ route: authenticated ones have fixtures, the rest are declared public', () => {
    const publicRoutes = t.app.publicApiRoutes.map((r) => `${r.method} ${r.url}`).sort()
    expect(publicRoutes).toEqual(PUBLIC_API_ROUTES)
  })

  it('refuses to register an /api/ route that declares neither config.auth nor config.public', async () => {
    let refused: unknown = null
    const app = await buildTestApp({
      setup: (server) => {
        try {
          server.get('/api/v1/forgotten', () => ({ secret: true }))
        } catch (error) {
          refused = error
        }
        server.get('/api/v1/open', { config: { public: true } }, () => ({ open: true }))
      },
    })
    try {
      expect(String(refused)).toMatch(
        /GET \/api\/v1\/forgotten declares neither config.auth nor config.public/,
      )
      const forgotten = await app.app.inject({ method: 'GET', url: '/api/v1/forgotten' })
      expect(forgotten.statusCode).toBeGreaterThanOrEqual(400)
      expect(forgotten.body).not.toContain('secret')
      expect(app.app.publicApiRoutes.map((r) => r.url)).toContain('/api/v1/open')
    } finally {
      await app.close()
    }
  })

  it('has a fixture for every authenticated route, and only for those', () => {
    const registered = routes.map((r) => `${r.method} ${r.url}`).sort()
    expect(registered).toEqual(Object.keys(FIXTURES).sort())
    for (const route of routes) {
      if (route.url.includes(':'))
        expect(FIXTURES[`${route.method} ${route.url}`]?.resource, route.url).toBeDefined()
    }
  })

  it('answers 401 without a credential or with another scheme', async () => {
    for (const route of routes) {
      const fixture = FIXTURES[`${route.method} ${route.url}`]!
      const url = route.url.replace(/:[a-z_]+/g, '1')
      expectUnauthorized(await call(null, route.method, url, fixture), `${route.method} ${route.url} (none)`)
      expectUnauthorized(
        await call(null, route.method, url, fixture, { authorization: `Basic ${btoa('user:pass')}` }),
        `${route.method} ${route.url} (basic)`,
      )
      expectUnauthorized(
        await call(null, route.method, url, fixture, {
          authorization: 'Bearer sk_live_notARealKeyAtAllxxxxxxxxxxxxxxxxxxxxxxxxx',
        }),
        `${route.method} ${route.url} (unknown)`,
      )
    }
  })

  it('answers 401 to a revoked key and to an expired key', async () => {
    const revoked = await t.key(home, { scopes: ['*'] })
    await t.call(t.masterKey, { method: 'DELETE', url: `/api/v1/api-keys/${revoked.id}`, workspace: home })
    const clock = t.clock as ManualClock
    const expiring = await t.key(home, {
      scopes: ['*'],
      expires_at: new Date(clock.now() + 60_000).toISOString(),
    })
    clock.advance(61_000)
    for (const route of routes) {
      const fixture = FIXTURES[`${route.method} ${route.url}`]!
      const url = route.url.replace(/:[a-z_]+/g, '1')
      expectUnauthorized(
        await call(revoked.key, route.method, url, fixture),
        `${route.method} ${route.url} (revoked)`,
      )
      expectUnauthorized(
        await call(expiring.key, route.method, url, fixture),
        `${route.method} ${route.url} (expired)`,
      )
    }
  })

  it('answers 403 naming the scope when the key lacks it', async () => {
    for (const route of routes) {
      const scope = route.auth.scope
      if (scope === null) continue
      const resource = scope.split(':')[0]
      // Everything on every other resource, and nothing of the route's own action.
      const others = scopeResources()
        .filter((r) => r !== resource)
        .map((r) => `${r}:*`)
      const sameResourceOtherActions = ['read', 'write', 'delete']
        .filter((a) => `${resource}:${a}` !== scope && !(scope.endsWith(':read') && a === 'write'))
        .map((a) => `${resource}:${a}`)
      const { key } = await t.key(home, { scopes: [...others, ...sameResourceOtherActions] })
      const fixture = FIXTURES[`${route.method} ${route.url}`]!
      const res = await call(key, route.method, await pathFor(route.url, fixture, home), fixture)
      expect(res.statusCode, `${route.method} ${route.url}`).toBe(403)
      expect(res.json()).toMatchObject({
        error: 'access_denied',
        message: `Insufficient permissions. Required scope: ${scope}`,
      })
    }
  })

  it("answers 404 for another tenant's resource and 403 for acting in another workspace", async () => {
    for (const route of routes) {
      const fixture = FIXTURES[`${route.method} ${route.url}`]!
      const { key } = await t.key(home, { scopes: ['*'] })
      if (route.url.includes(':')) {
        const res = await call(key, route.method, await pathFor(route.url, fixture, other), fixture)
        expect(res.statusCode, `${route.method} ${route.url}`).toBe(fixture.sessionOnly ? 403 : 404)
        expect(res.json().error).toBe(fixture.sessionOnly ? 'access_denied' : 'not_found')
      }
      if (route.auth.workspace === true) {
        const res = await call(key, route.method, await pathFor(route.url, fixture, home), fixture, {
          'x-workspace-id': String(other),
        })
        expect(res.statusCode, `${route.method} ${route.url} (X-Workspace-ID)`).toBe(403)
        expect(res.json().error).toBe('access_denied')
      }
    }
    // The other tenant's data is intact.
    const res = await t.call(t.masterKey, { method: 'GET', url: `/api/v1/workspaces/${other}` })
    expect(res.statusCode).toBe(200)
  })

  it("holds a partner app's OAuth token (client credentials) to the rules of a key", async () => {
    const made = await t.call(t.masterKey, {
      method: 'POST',
      url: '/api/v1/oauth/clients',
      workspace: home,
      payload: {
        name: 'Security suite app',
        grant_types: ['client_credentials'],
        scopes: ['read', 'write', 'delete'],
      },
    })
    expect(made.statusCode, made.body).toBe(201)
    const { client_id, client_secret } = made.json().data
    const issued = await t.app.inject({
      method: 'POST',
      url: '/oauth2/token',
      headers: {
        authorization: `Basic ${Buffer.from(`${client_id}:${client_secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      payload: 'grant_type=client_credentials&scope=read%20write%20delete',
    })
    expect(issued.statusCode, issued.body).toBe(200)
    const token = issued.json().access_token as string
    expect(token).toMatch(/^oat_/)
    for (const route of routes) {
      const fixture = FIXTURES[`${route.method} ${route.url}`]!
      const label = `${route.method} ${route.url} (OAuth token)`
      if (route.url.includes(':')) {
        const res = await call(token, route.method, await pathFor(route.url, fixture, other), fixture)
        expect(res.statusCode, label).toBe(fixture.sessionOnly ? 403 : 404)
      }
      if (route.auth.workspace === true) {
        const res = await call(token, route.method, await pathFor(route.url, fixture, home), fixture, {
          'x-workspace-id': String(other),
        })
        expect(res.statusCode, `${label} X-Workspace-ID`).toBe(403)
      }
    }
    expectUnauthorized(await call(`oat_${'x'.repeat(43)}`, 'GET', '/api/v1/me', {}), 'unknown OAuth token')
  })

  it.each([
    ['session', () => member],
    ['OAuth token (authorization code)', () => memberToken],
  ] as const)("lets a user's %s act only in workspaces its user is a member of", async (kind, who) => {
    const person = who()
    const missing = 2_000_000_000
    for (const route of routes) {
      const label = `${route.method} ${route.url} (${kind})`
      const fixture = FIXTURES[`${route.method} ${route.url}`]!
      if (route.auth.workspace === true) {
        for (const workspace of [other, missing]) {
          const res = await call(person, route.method, await pathFor(route.url, fixture, home), fixture, {
            'x-workspace-id': String(workspace),
          })
          expect(res.statusCode, `${label} (X-Workspace-ID ${workspace})`).toBe(403)
          expect(res.json().error).toBe('access_denied')
        }
        // Its own workspace, named or by default: the guards let it through.
        for (const headers of [{ 'x-workspace-id': String(home) }, {} as Record<string, string>]) {
          const res = await call(
            person,
            route.method,
            await pathFor(route.url, fixture, home),
            fixture,
            headers,
          )
          expect([401, 403], `${label} ${res.body}`).not.toContain(res.statusCode)
        }
      }
      if (route.url.includes(':')) {
        // Another tenant's resource does not exist for it, wherever it acts; a person's own
        // route refuses anything but their session.
        const res = await call(person, route.method, await pathFor(route.url, fixture, other), fixture)
        const refused = fixture.sessionOnly && typeof person === 'string'
        expect(res.statusCode, `${label} (other tenant)`).toBe(refused ? 403 : 404)
      }
    }
    const mine = await call(person, 'GET', '/api/v1/workspaces', {})
    expect(mine.json().data.map((w: { id: number }) => w.id)).toEqual([home])
  })

  it('answers 404 to the master key naming a workspace that does not exist, 403 to anyone else', async () => {
    const { key } = await t.key(home, { scopes: ['*'] })
    for (const [credential, status] of [
      [t.masterKey, 404],
      [member, 403],
      [memberToken, 403],
      [key, 403],
    ] as const) {
      const res = await call(credential, 'GET', '/api/v1/posts', {}, { 'x-workspace-id': '2000000000' })
      expect(res.statusCode).toBe(status)
    }
  })
})
