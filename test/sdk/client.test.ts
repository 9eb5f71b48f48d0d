// The SDK against a real server on loopback: at least one call of every resource through the
// typed methods, pagination over every page, the error classes for each family (and that a
// refused call stored nothing), hooks, timeouts and aborts.
import { createServer } from 'node:http'
import { describe, expect, it } from 'vitest'
import {
  AuthenticationError,
  ConflictError,
  type CoreApiClient,
  CoreApiError,
  createClient,
  IdempotencyError,
  NotFoundError,
  PermissionError,
  type ResponseContext,
  TimeoutError,
  ValidationError,
} from '../../packages/sdk/src/index.ts'
import { until, useServer } from './server.ts'

const server = useServer()
const master = (workspaceId?: number) =>
  createClient({ baseUrl: server.baseUrl, apiKey: server.t.masterKey, workspaceId })

/** A workspace and a client holding a key of it with `scopes`. */
async function tenant(scopes: string[] = ['*']) {
  const { data: workspace } = await master().workspaces.create({ name: 'SDK Co', tier: 'enterprise' })
  const { data: key } = await master(workspace.id).apiKeys.create({ name: 'sdk', scopes })
  return { workspace, key, api: createClient({ baseUrl: server.baseUrl, apiKey: key.key }) }
}

describe('the SDK against the server: every resource', () => {
  it('workspaces: create, list, get, update, members, invitations, delete', async () => {
    const api = master()
    const created = await api.workspaces.create({ name: 'Acme', slug: 'acme-sdk' })
    expect(created.data).toMatchObject({ name: 'Acme', slug: 'acme-sdk' })
    const id = created.data.id
    expect((await api.workspaces.get(id)).data.slug).toBe('acme-sdk')
    expect((await api.workspaces.update(id, { name: 'Acme Inc' })).data.name).toBe('Acme Inc')
    const page = await api.workspaces.list({ per_page: 100 })
    expect(page.data.map((w) => w.id)).toContain(id)
    const invitation = await api.workspaces.createInvitation(id, { email: 'ada@example.com' })
    expect(invitation.data.token).toMatch(/^inv_/)
    expect((await api.workspaces.listInvitations(id)).meta.total).toBe(1)
    await api.workspaces.deleteInvitation(id, invitation.data.id)
    expect((await api.workspaces.listInvitations(id)).data).toHaveLength(0)
    expect((await api.workspaces.listMembers(id)).data).toEqual([])
    expect(await api.workspaces.delete(id)).toBeUndefined()
    await expect(api.workspaces.get(id)).rejects.toBeInstanceOf(NotFoundError)
  })

  it('API keys: create, list, get, rotate, revoke; the rotated key works and the revoked one does not', async () => {
    const { workspace } = await tenant()
    const api = master(workspace.id)
    const { data: key } = await api.apiKeys.create({ name: 'backend', scopes: ['posts:read'] })
    expect(key.key).toMatch(/^sk_live_/)
    expect((await api.apiKeys.get(key.id)).data.name).toBe('backend')
    expect((await api.apiKeys.list()).data.map((k) => k.id)).toContain(key.id)
    const { data: rotated } = await api.apiKeys.rotate(key.id, { grace_period_hours: 0 })
    expect(rotated.key).not.toBe(key.key)
    const fresh = createClient({ baseUrl: server.baseUrl, apiKey: rotated.key })
    expect((await fresh.posts.list()).meta.total).toBe(0)
    await expect(
      createClient({ baseUrl: server.baseUrl, apiKey: key.key }).posts.list(),
    ).rejects.toBeInstanceOf(AuthenticationError)
    await api.apiKeys.revoke(rotated.id)
    await expect(fresh.posts.list()).rejects.toMatchObject({ status: 401, code: 'unauthorized' })
  })

  it('posts: create, get, update, list with a filter, delete', async () => {
    const { api } = await tenant()
    const { data: post } = await api.posts.create({ title: 'Hello', status: 'draft', tags: ['sdk'] })
    expect(post).toMatchObject({ title: 'Hello', status: 'draft', tags: [{ name: 'sdk' }] })
    expect((await api.posts.get(post.id)).data.title).toBe('Hello')
    expect((await api.posts.update(post.id, { status: 'published' })).data.status).toBe('published')
    expect((await api.posts.list({ status: 'published' })).data.map((p) => p.id)).toEqual([post.id])
    await api.posts.delete(post.id)
    expect((await api.posts.list()).meta.total).toBe(0)
  })

  it('webhooks: create, get, update, test send, deliveries, rotate the secret, delete', async () => {
    const received: string[] = []
    const sink = createServer((req, res) => {
      let body = ''
      req.on('data', (chunk) => {
        body += chunk
      })
      req.on('end', () => {
        received.push(body)
        res.writeHead(200).end('ok')
      })
    })
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve))
    try {
      const { api } = await tenant()
      const url = `http://127.0.0.1:${(sink.address() as { port: number }).port}/hook`
      const { data: endpoint } = await api.webhooks.create({ url, events: ['post.*'] })
      expect(endpoint.secret).toMatch(/^whsec_/)
      expect((await api.webhooks.get(endpoint.id)).data.url).toBe(url)
      expect((await api.webhooks.update(endpoint.id, { description: 'CRM' })).data.description).toBe('CRM')
      expect((await api.webhooks.list()).data).toHaveLength(1)
      const test = await api.webhooks.test(endpoint.id)
      expect(test).toMatchObject({ success: true, status_code: 200 })
      const deliveries = await api.webhooks.listDeliveries(endpoint.id).toArray()
      expect(deliveries.map((d) => d.event_type)).toEqual(['webhook.test'])
      const delivery = await api.webhooks.getDelivery(endpoint.id, deliveries[0]!.id)
      expect(delivery.data.status).toBe('success')
      await expect(api.webhooks.retryDelivery(endpoint.id, deliveries[0]!.id)).rejects.toMatchObject({
        status: 400,
        code: 'cannot_retry',
      })
      const { data: secret } = await api.webhooks.rotateSecret(endpoint.id, {})
      expect(secret.secret).toMatch(/^whsec_/)
      expect(secret.secret).not.toBe(endpoint.secret)
      await api.webhooks.delete(endpoint.id)
      expect((await api.webhooks.list()).meta.total).toBe(0)
      expect(received).toHaveLength(1)
    } finally {
      sink.closeAllConnections()
      await new Promise((resolve) => sink.close(resolve))
    }
  })

  it('entitlements: check, record usage, summary', async () => {
    const { api } = await tenant()
    expect(await api.entitlements.check({ feature: 'posts' })).toMatchObject({
      allowed: true,
      feature: 'posts',
    })
    const usage = await api.entitlements.recordUsage({ feature: 'api_calls', quantity: 3 })
    expect(usage).toMatchObject({ feature: 'api_calls' })
    const summary = await api.entitlements.getSummary()
    expect(JSON.stringify(summary.data)).toContain('api_calls')
  })

  it('users and sessions: create a user, sign in, read the session and the apps it authorised, /me', async () => {
    const { workspace, api } = await tenant()
    const email = `grace-${workspace.id}@example.com`
    const { data: user } = await master(workspace.id).users.create({
      email,
      password: 'correct horse battery',
      role: 'admin',
    })
    expect(user.email).toBe(email)
    let cookie = ''
    const anonymous = createClient({
      baseUrl: server.baseUrl,
      onResponse: (r) => {
        cookie = r.responseHeaders.get('set-cookie')?.split(';')[0] ?? cookie
      },
    })
    const session = await anonymous.sessions.signIn({ email, password: 'correct horse battery' })
    expect(session.data.user.email).toBe(email)
    expect(cookie).not.toBe('')
    const read = await anonymous.sessions.get({ headers: { cookie } })
    expect(read.data.user.id).toBe(user.id)
    const grants = await anonymous.sessions.listGrants({}, { headers: { cookie } })
    expect(grants).toMatchObject({ data: [], meta: { total: 0 } })
    // a write by cookie carries the session's CSRF token
    const csrf = { cookie, 'x-csrf-token': session.data.csrf_token }
    await expect(anonymous.sessions.revokeGrant('1', { headers: csrf })).rejects.toBeInstanceOf(NotFoundError)
    const me = await api.users.me()
    expect(me.data).toMatchObject({ workspace: { id: workspace.id } })
  })

  it('OAuth clients: create, get, update, list, rotate the secret, delete', async () => {
    const { api } = await tenant()
    const { data: client } = await api.oauthClients.create({
      name: 'Partner',
      grant_types: ['client_credentials'],
    })
    expect(client.client_secret).toBeTruthy()
    expect((await api.oauthClients.get(client.id)).data.name).toBe('Partner')
    expect((await api.oauthClients.update(client.id, { name: 'Partner 2' })).data.name).toBe('Partner 2')
    expect((await api.oauthClients.list()).data.map((c) => c.id)).toEqual([client.id])
    const rotated = await api.oauthClients.rotateSecret(client.id)
    expect(rotated.data.client_secret).not.toBe(client.client_secret)
    await api.oauthClients.delete(client.id)
    await expect(api.oauthClients.get(client.id)).rejects.toBeInstanceOf(NotFoundError)
  })

  it('pixel sites: create, get, update, stats, list, public config, delete', async () => {
    const { api } = await tenant()
    const { data: site } = await api.pixel.createSite({ domain: 'sdk.example.com' })
    expect((await api.pixel.getSite(site.id)).data.domain).toBe('sdk.example.com')
    expect((await api.pixel.updateSite(site.id, { sample_rate: 0.5 })).data.sample_rate).toBe(0.5)
    expect((await api.pixel.getSiteStats(site.id)).data).toBeTruthy()
    expect((await api.pixel.listSites()).data).toHaveLength(1)
    const anonymous = createClient({ baseUrl: server.baseUrl })
    expect(await anonymous.pixel.getConfig({ domain: 'sdk.example.com' })).toMatchObject({ enabled: true })
    await api.pixel.deleteSite(site.id)
    expect((await api.pixel.listSites()).meta.total).toBe(0)
  })

  it('SEO: a report, its issues, the reports list, one report, the trend; an audit queued and followed', async () => {
    const { api, workspace } = await tenant()
    const url = 'https://sdk.example.com/page'
    const { data: report } = await api.seo.createReport({
      url,
      scores: { performance: 80, seo: 90 },
      issues: [{ type: 'image-alt', severity: 'error', message: 'An image has no alt text', element: 'img' }],
    })
    expect(report).toMatchObject({ url, scores: { performance: 80, seo: 90 } })
    const issues = await api.seo.listIssues(workspace.id, { severity: 'error' })
    expect(issues.data.map((issue) => issue.issue_type)).toEqual(['image-alt'])
    expect((await api.seo.listReports({ url })).data.map((r) => r.id)).toEqual([report.id])
    expect((await api.seo.getReport(report.id)).data.id).toBe(report.id)
    expect((await api.seo.getTrend({ url })).data.points.map((point) => point.report_id)).toEqual([report.id])
    const { data: audit } = await api.seo.createAudit({ url })
    expect(audit.status).toBe('queued')
    expect((await api.seo.getAudit(audit.id)).data.id).toBe(audit.id)
    expect((await api.seo.listAudits()).data.map((a) => a.id)).toEqual([audit.id])
  })

  it('MCP: servers, policy and calls are listed', async () => {
    const { api } = await tenant()
    expect((await api.mcp.listServers()).data).toEqual([])
    expect((await api.mcp.getPolicy()).data).toBeTruthy()
    expect((await api.mcp.listCalls()).data).toEqual([])
  })

  it('system: health and readiness', async () => {
    const anonymous = createClient({ baseUrl: server.baseUrl })
    expect(await anonymous.system.health()).toMatchObject({ status: 'ok' })
    expect(await anonymous.system.readiness()).toBeTruthy()
  })
})

describe('pagination', () => {
  it('iterates every item of every page, awaits the first page, and caps toArray', async () => {
    const { api } = await tenant()
    for (let i = 1; i <= 7; i++) await api.posts.create({ title: `Post ${i}` })
    const requests: string[] = []
    const paged = createClient({
      baseUrl: server.baseUrl,
      apiKey: (await tenantKey(api)).key,
      onRequest: (r) => {
        requests.push(new URL(r.url).search)
      },
    })
    const titles: string[] = []
    for await (const post of paged.posts.list({ per_page: 3, sort: 'title' })) titles.push(post.title)
    expect(titles).toEqual([1, 2, 3, 4, 5, 6, 7].map((i) => `Post ${i}`))
    expect(requests).toEqual([
      '?per_page=3&sort=title',
      '?per_page=3&sort=title&page=2',
      '?per_page=3&sort=title&page=3',
    ])

    const first = await paged.posts.list({ per_page: 3 })
    expect(first.data).toHaveLength(3)
    expect(first.meta).toMatchObject({ current_page: 1, last_page: 3, total: 7 })

    requests.length = 0
    const capped = await paged.posts.list({ per_page: 2 }).toArray({ limit: 3 })
    expect(capped).toHaveLength(3)
    expect(requests).toHaveLength(2) // the third page is never asked for
  })
})

/** A fresh key of the workspace `api` acts in, made through the SDK itself. */
async function tenantKey(api: CoreApiClient & ReturnType<typeof createClient>) {
  return (await api.apiKeys.create({ name: 'pager', scopes: ['posts:read'] })).data
}

describe('errors', () => {
  it('each family is its own class, with status, code and request id; a refusal stores nothing', async () => {
    const { api, workspace } = await tenant(['posts:read'])
    const writer = (await tenant()).api

    const validation = await writer.posts.create({ title: '' }).catch((e: unknown) => e)
    expect(validation).toBeInstanceOf(ValidationError)
    expect(validation).toMatchObject({ status: 422, code: 'validation_failed' })
    expect(Object.keys((validation as ValidationError).errors)).toEqual(['title'])
    expect((validation as ValidationError).requestId).toMatch(/^req_/)
    expect((await writer.posts.list()).meta.total).toBe(0)

    const denied = await api.posts.create({ title: 'Nope' }).catch((e: unknown) => e)
    expect(denied).toBeInstanceOf(PermissionError)
    expect(denied).toMatchObject({ status: 403, code: 'access_denied', requiredScope: 'posts:write' })
    expect((await master(workspace.id).posts.list()).meta.total).toBe(0)

    const missing = await api.posts.get(999_999).catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(NotFoundError)
    expect(missing).toBeInstanceOf(CoreApiError)

    const anonymous = createClient({ baseUrl: server.baseUrl, apiKey: 'sk_live_nope' })
    await expect(anonymous.posts.list()).rejects.toBeInstanceOf(AuthenticationError)

    await master().workspaces.create({ name: 'Taken', slug: 'taken-sdk' })
    const conflict = await master()
      .workspaces.create({ name: 'Taken', slug: 'taken-sdk' })
      .catch((e: unknown) => e)
    expect(conflict).toBeInstanceOf(ConflictError)
    expect(conflict).toMatchObject({ status: 409, code: 'conflict' })

    await writer.posts.create({ title: 'Once' }, { idempotencyKey: 'same-key' })
    const reused = await writer.posts
      .create({ title: 'Other' }, { idempotencyKey: 'same-key' })
      .catch((e) => e)
    expect(reused).toBeInstanceOf(IdempotencyError)
    expect(reused).toMatchObject({ status: 422, code: 'idempotency_key_reused' })
    expect((await writer.posts.list()).data.map((p) => p.title)).toEqual(['Once'])
  })

  it('a replayed POST returns the stored response (the same Idempotency-Key)', async () => {
    const { api } = await tenant()
    const seen: ResponseContext[] = []
    const hooked = createClient({
      baseUrl: server.baseUrl,
      apiKey: (await api.apiKeys.create({ name: 'k', scopes: ['posts:write', 'posts:read'] })).data.key,
      onResponse: (r) => {
        seen.push(r)
      },
    })
    const first = await hooked.posts.create({ title: 'Twice' }, { idempotencyKey: 'replay-1' })
    const second = await hooked.posts.create({ title: 'Twice' }, { idempotencyKey: 'replay-1' })
    expect(second.data.id).toBe(first.data.id)
    expect(seen.map((r) => r.responseHeaders.get('idempotent-replayed'))).toEqual([null, 'true'])
    expect(seen.map((r) => r.headers.get('idempotency-key'))).toEqual(['replay-1', 'replay-1'])
    expect((await hooked.posts.list()).meta.total).toBe(1)
  })

  it('sends a random Idempotency-Key with every write and none with a read', async () => {
    const { api } = await tenant()
    const keys: Array<string | null> = []
    const hooked = createClient({
      baseUrl: server.baseUrl,
      apiKey: (await api.apiKeys.create({ name: 'k', scopes: ['posts:*'] })).data.key,
      onRequest: (r) => {
        keys.push(r.headers.get('idempotency-key'))
      },
    })
    const { data: post } = await hooked.posts.create({ title: 'A' })
    await hooked.posts.update(post.id, { title: 'B' })
    await hooked.posts.get(post.id)
    await hooked.posts.delete(post.id)
    expect(keys[2]).toBeNull()
    const writes = [keys[0], keys[1], keys[3]]
    for (const key of writes)
      expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(new Set(writes).size).toBe(3)
  })

  it('a request that outlives its timeout is a TimeoutError; an aborted one rejects with the reason', async () => {
    let arrived = 0
    const tarpit = createServer(() => {
      arrived++ // never answers
    })
    await new Promise<void>((resolve) => tarpit.listen(0, '127.0.0.1', resolve))
    try {
      const baseUrl = `http://127.0.0.1:${(tarpit.address() as { port: number }).port}`
      const api = createClient({ baseUrl, apiKey: 'sk_live_x', maxRetries: 0 })
      const started = Date.now()
      const error = await api.posts.list(undefined, { timeout: 200 }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(TimeoutError)
      expect(error).toMatchObject({ status: null, code: 'timeout', requestId: null })
      expect(Date.now() - started).toBeLessThan(5000)

      const controller = new AbortController()
      const pending = api.posts.list(undefined, { signal: controller.signal }).catch((e: unknown) => e)
      await until(() => arrived === 2, 'the second request')
      controller.abort(new Error('changed my mind'))
      expect(await pending).toMatchObject({ message: 'changed my mind' })
    } finally {
      tarpit.closeAllConnections()
      await new Promise((resolve) => tarpit.close(resolve))
    }
  })
})
