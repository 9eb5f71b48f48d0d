import { describe, expect, it } from 'vitest'
import { useTestApp } from '../../testing/harness.ts'

const t = useTestApp()

describe('workspaces: happy paths', () => {
  it('creates a workspace with a slug derived from the name and the default tier', async () => {
    const res = await t.call(t.masterKey, {
      method: 'POST',
      url: '/api/v1/workspaces',
      payload: { name: 'Acme Corporation' },
    })
    expect(res.statusCode).toBe(201)
    const body = res.json()
    expect(body.message).toBe('Workspace created successfully.')
    expect(body.data).toMatchObject({
      name: 'Acme Corporation',
      slug: 'acme-corporation',
      tier: 'free',
      settings: {},
    })
    expect(body.data.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/)
  })

  it('makes an auto-generated slug unique and keeps an explicit one', async () => {
    const a = await t.workspace({ name: 'Twin' })
    const b = await t.workspace({ name: 'Twin' })
    expect(a.slug).toBe('twin')
    expect(b.slug).toMatch(/^twin-[a-z0-9]{6}$/)
    const c = await t.workspace({ name: 'Whatever', slug: 'chosen-slug', tier: 'pro' })
    expect(c).toMatchObject({ slug: 'chosen-slug', tier: 'pro' })
  })

  it('gets, updates (merging settings) and deletes a workspace through its own key', async () => {
    const ws = await t.workspace({ name: 'Mine', settings: { timezone: 'UTC', locale: 'en_GB' } })
    const { key } = await t.key(ws.id, { scopes: ['workspaces:*'] })
    const got = await t.call(key, { method: 'GET', url: `/api/v1/workspaces/${ws.id}` })
    expect(got.statusCode).toBe(200)
    expect(got.json().data.settings).toEqual({ timezone: 'UTC', locale: 'en_GB' })

    const updated = await t.call(key, {
      method: 'PATCH',
      url: `/api/v1/workspaces/${ws.id}`,
      payload: { name: 'Renamed', settings: { timezone: 'Europe/London', locale: null } },
    })
    expect(updated.statusCode).toBe(200)
    expect(updated.json().data).toMatchObject({ name: 'Renamed', settings: { timezone: 'Europe/London' } })

    const me = await t.call(key, { method: 'GET', url: '/api/v1/me' })
    expect(me.json().data.workspace.name).toBe('Renamed') // cached principal refreshed

    const deleted = await t.call(key, { method: 'DELETE', url: `/api/v1/workspaces/${ws.id}` })
    expect(deleted.statusCode).toBe(204)
    expect(deleted.body).toBe('')
    const after = await t.call(t.masterKey, { method: 'GET', url: `/api/v1/workspaces/${ws.id}` })
    expect(after.statusCode).toBe(404)
    // its keys died with it
    expect((await t.call(key, { method: 'GET', url: '/api/v1/me' })).statusCode).toBe(401)
  })

  it('lists with pagination, sort, fields, search, tier filter and include=owner', async () => {
    for (const name of ['List Alpha', 'List Beta', 'List Gamma'])
      await t.workspace({ name, owner_email: 'owner@example.com' })
    const res = await t.call(t.masterKey, {
      method: 'GET',
      url: '/api/v1/workspaces?search=list%20&sort=name&per_page=2&fields=name,slug&include=owner',
    })
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body.data).toEqual([
      {
        id: expect.any(Number),
        name: 'List Alpha',
        slug: 'list-alpha',
        owner: expect.objectContaining({ email: 'owner@example.com' }),
      },
      {
        id: expect.any(Number),
        name: 'List Beta',
        slug: 'list-beta',
        owner: expect.objectContaining({ email: 'owner@example.com' }),
      },
    ])
    expect(body.meta).toEqual({ current_page: 1, from: 1, last_page: 2, per_page: 2, to: 2, total: 3 })
    expect(body.links.next).toBe(
      'http://api.test/api/v1/workspaces?search=list+&sort=name&per_page=2&fields=name%2Cslug&include=owner&page=2',
    )
    expect(body.links.prev).toBeNull()

    const page2 = await t.call(t.masterKey, {
      method: 'GET',
      url: '/api/v1/workspaces?search=list&sort=-name&page=1&include=owner',
    })
    expect(page2.json().data[0]).toMatchObject({ name: 'List Gamma', owner: { email: 'owner@example.com' } })

    const pro = await t.call(t.masterKey, { method: 'GET', url: '/api/v1/workspaces?tier=pro' })
    expect(pro.json().data.every((w: { tier: string }) => w.tier === 'pro')).toBe(true)
  })

  it('filters by creation date', async () => {
    const future = new Date(Date.now() + 86_400_000).toISOString()
    const res = await t.call(t.masterKey, {
      method: 'GET',
      url: `/api/v1/workspaces?created_after=${future}`,
    })
    expect(res.json().meta.total).toBe(0)
    const all = await t.call(t.masterKey, {
      method: 'GET',
      url: '/api/v1/workspaces?created_before=2999-01-01',
    })
    expect(all.json().meta.total).toBeGreaterThan(0)
  })
})

describe('workspaces: errors', () => {
  it('rejects a missing name, unknown fields, wrong types and over-long names with 422', async () => {
    const cases = [
      [{}, 'name'],
      [{ name: 'x', plan: 'gold' }, 'plan'],
      [{ name: 42 }, 'name'],
      [{ name: 'x'.repeat(256) }, 'name'],
      [{ name: '   ' }, 'name'],
      [{ name: 'x', tier: 'business' }, 'tier'],
      [{ name: 'x', slug: 'Not A Slug' }, 'slug'],
    ] as const
    for (const [payload, field] of cases) {
      const res = await t.call(t.masterKey, { method: 'POST', url: '/api/v1/workspaces', payload })
      expect(res.statusCode, JSON.stringify(payload)).toBe(422)
      expect(res.json()).toMatchObject({ error: 'validation_failed', message: 'The given data was invalid.' })
      expect(Object.keys(res.json().errors)).toContain(field)
    }
  })

  it('answers 409 for a taken slug and changes nothing', async () => {
    await t.workspace({ slug: 'taken' })
    const before = (await t.call(t.masterKey, { method: 'GET', url: '/api/v1/workspaces' })).json().meta.total
    const res = await t.call(t.masterKey, {
      method: 'POST',
      url: '/api/v1/workspaces',
      payload: { name: 'x', slug: 'taken' },
    })
    expect(res.statusCode).toBe(409)
    expect(res.json().error).toBe('conflict')
    const after = (await t.call(t.masterKey, { method: 'GET', url: '/api/v1/workspaces' })).json().meta.total
    expect(after).toBe(before)
  })

  it('rejects unknown query parameters, sort keys, fields and includes with 422', async () => {
    for (const query of [
      'foo=1',
      'sort=password',
      'fields=name,secret',
      'include=keys',
      'per_page=101',
      'page=0',
      'created_after=yesterday',
      'created_after=2026-02-31',
      'status=active',
    ]) {
      const res = await t.call(t.masterKey, { method: 'GET', url: `/api/v1/workspaces?${query}` })
      expect(res.statusCode, query).toBe(422)
      expect(res.json().error).toBe('validation_failed')
    }
  })

  it('answers 404 for unknown and malformed ids', async () => {
    for (const id of ['999999', 'abc', '99999999999999', '-1']) {
      const res = await t.call(t.masterKey, { method: 'GET', url: `/api/v1/workspaces/${id}` })
      expect(res.statusCode, id).toBe(404)
      expect(res.json().error).toBe('not_found')
    }
  })

  it('refuses owner_email from anyone but the master key', async () => {
    const ws = await t.workspace()
    const { key } = await t.key(ws.id)
    const res = await t.call(key, {
      method: 'POST',
      url: '/api/v1/workspaces',
      payload: { name: 'x', owner_email: 'a@b.co' },
    })
    expect(res.statusCode).toBe(422)
  })
})

describe('workspaces: security', () => {
  it('a key sees only its own workspace', async () => {
    const mine = await t.workspace()
    const other = await t.workspace()
    const { key } = await t.key(mine.id, { scopes: ['workspaces:*'] })
    const list = await t.call(key, { method: 'GET', url: '/api/v1/workspaces' })
    expect(list.json().data.map((w: { id: number }) => w.id)).toEqual([mine.id])
    for (const method of ['GET', 'PATCH', 'DELETE'] as const) {
      const res = await t.call(key, {
        method,
        url: `/api/v1/workspaces/${other.id}`,
        ...(method === 'PATCH' && { payload: { name: 'hijack' } }),
      })
      expect(res.statusCode, method).toBe(404)
    }
    const still = await t.call(t.masterKey, { method: 'GET', url: `/api/v1/workspaces/${other.id}` })
    expect(still.json().data.name).not.toBe('hijack')
  })

  it('needs workspaces:delete to delete', async () => {
    const ws = await t.workspace()
    const { key } = await t.key(ws.id) // read, write
    const res = await t.call(key, { method: 'DELETE', url: `/api/v1/workspaces/${ws.id}` })
    expect(res.statusCode).toBe(403)
    expect(res.json().message).toBe('Insufficient permissions. Required scope: workspaces:delete')
  })
})

describe('workspaces: tiers belong to the operator', () => {
  it('refuses a tier change or a paid tier at creation from a key, and allows both to the master key', async () => {
    const ws = await t.workspace({ tier: 'free' })
    const { key } = await t.key(ws.id, { scopes: ['workspaces:*'] })
    const upgrade = await t.call(key, {
      method: 'PATCH',
      url: `/api/v1/workspaces/${ws.id}`,
      payload: { tier: 'enterprise' },
    })
    expect(upgrade.statusCode).toBe(403)
    expect(upgrade.json().error).toBe('access_denied')
    const same = await t.call(key, {
      method: 'PATCH',
      url: `/api/v1/workspaces/${ws.id}`,
      payload: { tier: 'free', name: 'Kept' },
    })
    expect(same.statusCode).toBe(200)
    const paid = await t.call(key, {
      method: 'POST',
      url: '/api/v1/workspaces',
      payload: { name: 'Paid', tier: 'pro' },
    })
    expect(paid.statusCode).toBe(403)
    const free = await t.call(key, {
      method: 'POST',
      url: '/api/v1/workspaces',
      payload: { name: 'Free', tier: 'free' },
    })
    expect(free.statusCode).toBe(201)
    const byOperator = await t.call(t.masterKey, {
      method: 'PATCH',
      url: `/api/v1/workspaces/${ws.id}`,
      payload: { tier: 'pro' },
    })
    expect(byOperator.json().data.tier).toBe('pro')
    const me = await t.call(key, { method: 'GET', url: '/api/v1/me' })
    expect(me.json().data.workspace.tier).toBe('pro')
  })
})

describe('workspaces: concurrent updates', () => {
  it('keeps every settings key of concurrent PATCHes (none is lost to another)', async () => {
    const ws = await t.workspace({ settings: { kept: true, dropped: 1 } })
    for (let round = 0; round < 3; round++) {
      const keys = Array.from({ length: 8 }, (_, i) => `r${round}k${i}`)
      const answers = await Promise.all([
        ...keys.map((key, i) =>
          t.call(t.masterKey, {
            method: 'PATCH',
            url: `/api/v1/workspaces/${ws.id}`,
            payload: { settings: { [key]: i } },
          }),
        ),
        t.call(t.masterKey, {
          method: 'PATCH',
          url: `/api/v1/workspaces/${ws.id}`,
          payload: { name: `Renamed ${round}`, settings: { dropped: null } },
        }),
      ])
      for (const res of answers) expect(res.statusCode, res.body).toBe(200)
      const settings = (
        await t.call(t.masterKey, { method: 'GET', url: `/api/v1/workspaces/${ws.id}` })
      ).json().data.settings
      expect(settings).toMatchObject(Object.fromEntries(keys.map((key, i) => [key, i])))
      expect(settings.kept).toBe(true)
      expect(settings).not.toHaveProperty('dropped')
    }
  })
})
