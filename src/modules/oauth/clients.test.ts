import { eq } from 'drizzle-orm'
import { beforeEach, describe, expect, it } from 'vitest'
import { sha256Hex } from '../../platform/lib/hash.ts'
import { useTestApp } from '../../testing/harness.ts'
import { oauthClients } from './tables.ts'

const t = useTestApp()
beforeEach(() => t.clock.advance(61_000))

const ISO_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/
const BODY = {
  name: 'Acme reports',
  redirect_uris: ['https://reports.acme.test/callback'],
  grant_types: ['authorization_code', 'refresh_token'],
  scopes: ['posts:read'],
}

async function setup(scopes: string[] = ['*']) {
  const ws = await t.workspace()
  const { key } = await t.key(ws.id, { scopes })
  return { ws, key }
}

const post = (key: string, url: string, payload?: Record<string, unknown>) =>
  t.call(key, { method: 'POST', url, ...(payload && { payload }) })

async function rows(workspaceId: number) {
  return t.database.db.select().from(oauthClients).where(eq(oauthClients.workspaceId, workspaceId))
}

describe('OAuth clients', () => {
  it('registers a client, answers its secret once and stores only its hash', async () => {
    const { ws, key } = await setup()
    const res = await post(key, '/api/v1/oauth/clients', BODY)
    expect(res.statusCode).toBe(201)
    const { message, data } = res.json()
    expect(message).toBe('OAuth client created successfully.')
    expect(data).toEqual({
      id: expect.any(Number),
      client_id: expect.stringMatching(/^oc_[0-9A-Za-z]{24}$/),
      client_secret: expect.stringMatching(/^ocs_[0-9A-Za-z]{43}$/),
      name: 'Acme reports',
      redirect_uris: ['https://reports.acme.test/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      scopes: ['posts:read'],
      token_endpoint_auth_method: 'client_secret_basic',
      created_at: expect.stringMatching(ISO_SECONDS),
      updated_at: expect.stringMatching(ISO_SECONDS),
    })
    expect(res.headers.location).toMatch(new RegExp(`/api/v1/oauth/clients/${data.id}$`))
    const [row] = await rows(ws.id)
    expect(row!.secretHash).toBe(sha256Hex(data.client_secret))
    expect(JSON.stringify(row)).not.toContain(data.client_secret)

    const got = await t.call(key, { method: 'GET', url: `/api/v1/oauth/clients/${data.id}` })
    expect(got.statusCode).toBe(200)
    const { client_secret: _, ...shown } = data
    expect(got.json()).toEqual({ data: shown })

    const list = await t.call(key, { method: 'GET', url: '/api/v1/oauth/clients' })
    expect(list.json().data).toEqual([shown])
    expect(list.json().meta).toMatchObject({ total: 1 })
  })

  it('defaults the scopes to read and accepts a client-credentials app without redirect URIs', async () => {
    const { key } = await setup()
    const res = await post(key, '/api/v1/oauth/clients', {
      name: 'Cron',
      grant_types: ['client_credentials'],
    })
    expect(res.statusCode).toBe(201)
    expect(res.json().data).toMatchObject({
      scopes: ['read'],
      redirect_uris: [],
      grant_types: ['client_credentials'],
    })
  })

  it('updates, rotates the secret and deletes', async () => {
    const { ws, key } = await setup()
    const created = (await post(key, '/api/v1/oauth/clients', BODY)).json().data
    const url = `/api/v1/oauth/clients/${created.id}`

    const patched = await t.call(key, {
      method: 'PATCH',
      url,
      payload: { name: 'Renamed', scopes: ['read'] },
    })
    expect(patched.statusCode).toBe(200)
    expect(patched.json()).toMatchObject({
      message: 'OAuth client updated successfully.',
      data: { name: 'Renamed', scopes: ['read'], client_id: created.client_id },
    })
    expect(patched.json().data.client_secret).toBeUndefined()

    const rotated = await post(key, `${url}/rotate-secret`)
    expect(rotated.statusCode).toBe(200)
    const secret = rotated.json().data.client_secret
    expect(secret).toMatch(/^ocs_/)
    expect(secret).not.toBe(created.client_secret)
    expect((await rows(ws.id))[0]!.secretHash).toBe(sha256Hex(secret))

    const deleted = await t.call(key, { method: 'DELETE', url })
    expect(deleted.statusCode).toBe(204)
    expect(await rows(ws.id)).toEqual([])
    expect((await t.call(key, { method: 'GET', url })).statusCode).toBe(404)
  })

  it('refuses bad redirect URIs, grant combinations and unknown scopes, storing nothing', async () => {
    const { ws, key } = await setup()
    const res = await post(key, '/api/v1/oauth/clients', {
      name: 'Bad',
      redirect_uris: ['http://evil.test/cb', 'https://ok.test/cb#frag', 'not a url'],
      grant_types: ['refresh_token'],
      scopes: ['posts:fly'],
    })
    expect(res.statusCode).toBe(422)
    expect(res.json()).toEqual({
      error: 'validation_failed',
      message: 'The given data was invalid.',
      errors: {
        redirect_uris: [
          'http://evil.test/cb must use https (plain http only to localhost).',
          'https://ok.test/cb#frag must not have a fragment.',
          'not a url is not an absolute URL.',
        ],
        grant_types: ['refresh_token needs authorization_code.'],
        scopes: ['posts:fly is not a known scope.'],
      },
      request_id: expect.any(String),
    })
    const noRedirect = await post(key, '/api/v1/oauth/clients', {
      name: 'x',
      grant_types: ['authorization_code'],
    })
    expect(noRedirect.statusCode).toBe(422)
    const unknownGrant = await post(key, '/api/v1/oauth/clients', { name: 'x', grant_types: ['password'] })
    expect(unknownGrant.statusCode).toBe(422)
    expect(await rows(ws.id)).toEqual([])
  })

  it("keeps another workspace's clients out of reach and needs the oauth-clients scopes", async () => {
    const a = await setup()
    const b = await setup()
    const created = (await post(a.key, '/api/v1/oauth/clients', BODY)).json().data
    for (const method of ['GET', 'PATCH', 'DELETE'] as const) {
      const res = await t.call(b.key, {
        method,
        url: `/api/v1/oauth/clients/${created.id}`,
        ...(method === 'PATCH' && { payload: { name: 'Mine now' } }),
      })
      expect(res.statusCode).toBe(404)
    }
    expect((await post(b.key, `/api/v1/oauth/clients/${created.id}/rotate-secret`)).statusCode).toBe(404)
    expect((await rows(a.ws.id))[0]!.name).toBe('Acme reports')

    const reader = await setup(['oauth-clients:read'])
    const refused = await post(reader.key, '/api/v1/oauth/clients', BODY)
    expect(refused.statusCode).toBe(403)
    expect(refused.json().message).toBe('Insufficient permissions. Required scope: oauth-clients:write')
    expect(await rows(reader.ws.id)).toEqual([])
  })

  it('registers a public app without a secret, and refuses what a public app cannot do', async () => {
    const { ws, key } = await setup()
    const res = await post(key, '/api/v1/oauth/clients', { ...BODY, token_endpoint_auth_method: 'none' })
    expect(res.statusCode).toBe(201)
    expect(res.json().data).toMatchObject({ client_secret: null, token_endpoint_auth_method: 'none' })
    const [row] = await rows(ws.id)
    expect(row!.secretHash).toBeNull()
    const rotate = await post(key, `/api/v1/oauth/clients/${res.json().data.id}/rotate-secret`)
    expect(rotate.statusCode).toBe(409)
    expect(rotate.json()).toMatchObject({
      error: 'conflict',
      message: 'A public app has no secret to rotate.',
    })
    const patched = await t.call(key, {
      method: 'PATCH',
      url: `/api/v1/oauth/clients/${res.json().data.id}`,
      payload: { grant_types: ['authorization_code', 'client_credentials'] },
    })
    expect(patched.statusCode).toBe(422)
    expect((await rows(ws.id))[0]!.grantTypes).toEqual(['authorization_code', 'refresh_token'])
    const refused = await post(key, '/api/v1/oauth/clients', {
      name: 'x',
      grant_types: ['client_credentials'],
      token_endpoint_auth_method: 'none',
    })
    expect(refused.statusCode).toBe(422)
    expect(refused.json().errors).toEqual({
      grant_types: ['A public app (token_endpoint_auth_method none) cannot use client_credentials.'],
    })
    expect(await rows(ws.id)).toHaveLength(1)
  })
})
