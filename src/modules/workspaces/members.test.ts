// Members of a workspace and their roles, as each kind of caller may see and change them: the
// master key, an owner's, an admin's and a member's sessions, and a key of the workspace.
import { describe, expect, it } from 'vitest'
import { type SignedIn, TEST_PASSWORD, useTestApp } from '../../testing/harness.ts'

const t = useTestApp({ env: { SIGN_IN_PER_MINUTE: '0' } })
const ORIGIN = 'http://api.test'
let counter = 0

type Session = SignedIn

/** A user with `role` in the workspace, signed in. */
const join = (workspaceId: number, role: 'owner' | 'admin' | 'member'): Promise<Session> =>
  t.member(workspaceId, role, `m${++counter}@members.test`)

function as(who: Session, method: string, url: string, payload?: unknown) {
  return t.app.inject({
    method: method as 'GET',
    url,
    ...(payload !== undefined && { payload: payload as object }),
    headers: { cookie: who.cookie, 'x-csrf-token': who.csrf, origin: ORIGIN },
  })
}

const members = (ws: number) => `/api/v1/workspaces/${ws}/members`

async function roles(ws: number): Promise<Record<number, string>> {
  const res = await t.call(t.masterKey, { method: 'GET', url: members(ws) })
  expect(res.statusCode, res.body).toBe(200)
  return Object.fromEntries(res.json().data.map((m: { id: number; role: string }) => [m.id, m.role]))
}

describe('members', () => {
  it('lists members with their roles, paginated, filtered and searched', async () => {
    const ws = (await t.workspace()).id
    const owner = await join(ws, 'owner')
    await join(ws, 'admin')
    const member = await join(ws, 'member')
    const res = await as(member, 'GET', `${members(ws)}?role=owner`)
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({
      data: [
        { id: owner.userId, email: expect.stringMatching(/@members\.test$/), name: null, role: 'owner' },
      ],
      meta: { total: 1, per_page: 25 },
    })
    expect((await as(member, 'GET', members(ws))).json().meta.total).toBe(3)
    const searched = await as(member, 'GET', `${members(ws)}?search=m${counter}@`)
    expect(searched.json().data.map((m: { id: number }) => m.id)).toEqual([member.userId])
    // Another workspace's members do not exist for it.
    const other = (await t.workspace()).id
    expect((await as(member, 'GET', members(other))).statusCode).toBe(404)
  })

  it('lets only an owner change roles, and keeps one owner', async () => {
    const ws = (await t.workspace()).id
    const owner = await join(ws, 'owner')
    const admin = await join(ws, 'admin')
    const member = await join(ws, 'member')
    const { key } = await t.key(ws, { scopes: ['*'] })

    expect((await as(admin, 'PATCH', `${members(ws)}/${member.userId}`, { role: 'admin' })).statusCode).toBe(
      403,
    )
    const byKey = await t.call(key, {
      method: 'PATCH',
      url: `${members(ws)}/${member.userId}`,
      payload: { role: 'admin' },
    })
    expect(byKey.statusCode).toBe(403)
    expect(byKey.json().message).toBe('Only an owner or the master key changes roles.')
    expect(await roles(ws)).toEqual({
      [owner.userId]: 'owner',
      [admin.userId]: 'admin',
      [member.userId]: 'member',
    })

    const promoted = await as(owner, 'PATCH', `${members(ws)}/${member.userId}`, { role: 'admin' })
    expect(promoted.statusCode).toBe(200)
    expect(promoted.json().data).toMatchObject({ id: member.userId, role: 'admin' })
    const last = await as(owner, 'PATCH', `${members(ws)}/${owner.userId}`, { role: 'member' })
    expect(last.statusCode).toBe(409)
    expect(last.json().error).toBe('conflict')
    // The promoted member may now do what an admin does, at once.
    const keyNow = await as(member, 'POST', '/api/v1/api-keys', { name: 'now allowed' })
    expect(keyNow.statusCode).toBe(201)
    expect((await as(owner, 'PATCH', `${members(ws)}/999999`, { role: 'admin' })).statusCode).toBe(404)
    expect((await as(owner, 'PATCH', `${members(ws)}/${member.userId}`, { role: 'god' })).statusCode).toBe(
      422,
    )
  })

  it('lets owners and admins remove members, admins not owners, everyone leave, and never the last owner', async () => {
    const ws = (await t.workspace()).id
    const owner = await join(ws, 'owner')
    const admin = await join(ws, 'admin')
    const member = await join(ws, 'member')
    const other = await join(ws, 'member')

    expect((await as(member, 'DELETE', `${members(ws)}/${other.userId}`)).statusCode).toBe(403)
    expect((await as(admin, 'DELETE', `${members(ws)}/${owner.userId}`)).statusCode).toBe(403)
    expect((await as(owner, 'DELETE', `${members(ws)}/${owner.userId}`)).statusCode).toBe(409)
    expect(Object.keys(await roles(ws))).toHaveLength(4)

    expect((await as(admin, 'DELETE', `${members(ws)}/${other.userId}`)).statusCode).toBe(204)
    expect((await as(member, 'DELETE', `${members(ws)}/${member.userId}`)).statusCode).toBe(204)
    // Gone at once: the next request of the removed user is refused in that workspace.
    const after = await as(member, 'GET', '/api/v1/posts')
    expect([403, 400]).toContain(after.statusCode)
    const named = await t.app.inject({
      method: 'GET',
      url: '/api/v1/posts',
      headers: { cookie: member.cookie, 'x-workspace-id': String(ws) },
    })
    expect(named.statusCode).toBe(403)
    expect(await roles(ws)).toEqual({ [owner.userId]: 'owner', [admin.userId]: 'admin' })
  })
})

describe('invitations', () => {
  const invitations = (ws: number) => `/api/v1/workspaces/${ws}/invitations`
  const accept = (payload: Record<string, unknown>) =>
    t.app.inject({ method: 'POST', url: '/api/auth/invitations/accept', payload })

  it('joins a new person with the role, signs them in, and works once', async () => {
    const ws = (await t.workspace()).id
    const admin = await join(ws, 'admin')
    const made = await as(admin, 'POST', invitations(ws), { email: 'Grace@Example.com', role: 'admin' })
    expect(made.statusCode, made.body).toBe(201)
    const invitation = made.json().data
    expect(invitation).toMatchObject({ workspace_id: ws, email: 'grace@example.com', role: 'admin' })
    expect(invitation.token).toMatch(/^inv_[A-Za-z0-9]{43}$/)
    const listed = await as(admin, 'GET', invitations(ws))
    expect(listed.json().data).toEqual(
      [{ ...invitation, token: undefined }].map(({ token: _, ...rest }) => rest),
    )

    const res = await accept({ token: invitation.token, password: TEST_PASSWORD, name: 'Grace' })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json().data).toMatchObject({
      user: { email: 'grace@example.com', name: 'Grace' },
      workspace: { id: ws, role: 'admin' },
    })
    expect(String(res.headers['set-cookie'])).toMatch(/^core_api_session=ses_/)
    const again = await accept({ token: invitation.token, password: TEST_PASSWORD })
    expect(again.statusCode).toBe(404)
    expect((await as(admin, 'GET', invitations(ws))).json().data).toEqual([])
    expect(Object.values(await roles(ws)).sort()).toEqual(['admin', 'admin'])
  })

  it('lists pending invitations as every list is: paginated, filtered, searched, sorted, with fields', async () => {
    const ws = (await t.workspace()).id
    const admin = await join(ws, 'admin')
    for (const [email, role] of [
      ['ada@example.com', 'member'],
      ['bob@example.com', 'admin'],
      ['cy@example.org', 'member'],
    ])
      expect((await as(admin, 'POST', invitations(ws), { email, role })).statusCode).toBe(201)
    const page = (await as(admin, 'GET', `${invitations(ws)}?per_page=2&sort=email`)).json()
    expect(page.data.map((i: { email: string }) => i.email)).toEqual(['ada@example.com', 'bob@example.com'])
    expect(page.meta).toMatchObject({ current_page: 1, per_page: 2, total: 3, last_page: 2 })
    expect(page.links.next).toContain('page=2')
    const members = (await as(admin, 'GET', `${invitations(ws)}?role=member&search=example.org`)).json()
    expect(members.data.map((i: { email: string }) => i.email)).toEqual(['cy@example.org'])
    const slim = (await as(admin, 'GET', `${invitations(ws)}?fields=email&per_page=1`)).json()
    expect(Object.keys(slim.data[0]).sort()).toEqual(['email', 'id'])
    const unknown = await as(admin, 'GET', `${invitations(ws)}?token=x`)
    expect(unknown.statusCode).toBe(422)
  })

  it("asks an existing account for its own password, and expired or revoked invitations don't work", async () => {
    const ws = (await t.workspace()).id
    const other = (await t.workspace()).id
    const existing = await join(other, 'owner')
    const email = (
      await t.call(t.masterKey, { method: 'GET', url: `/api/v1/workspaces/${other}/members` })
    ).json().data[0].email
    const token = (
      await t.call(t.masterKey, { method: 'POST', url: invitations(ws), payload: { email } })
    ).json().data.token
    const wrong = await accept({ token, password: 'somebody elses password' })
    expect(wrong.statusCode).toBe(401)
    expect(await roles(ws)).toEqual({})
    const right = await accept({ token, password: TEST_PASSWORD })
    expect(right.statusCode, right.body).toBe(200)
    expect(await roles(ws)).toEqual({ [existing.userId]: 'member' })

    const expiring = (
      await t.call(t.masterKey, {
        method: 'POST',
        url: invitations(ws),
        payload: { email: 'late@example.com' },
      })
    ).json().data
    t.clock.advance(7 * 86_400_000 + 1000)
    expect((await accept({ token: expiring.token, password: TEST_PASSWORD })).statusCode).toBe(404)
    const revoked = (
      await t.call(t.masterKey, {
        method: 'POST',
        url: invitations(ws),
        payload: { email: 'gone@example.com' },
      })
    ).json().data
    const del = await t.call(t.masterKey, { method: 'DELETE', url: `${invitations(ws)}/${revoked.id}` })
    expect(del.statusCode).toBe(204)
    expect((await accept({ token: revoked.token, password: TEST_PASSWORD })).statusCode).toBe(404)
  })

  it('lets members invite nobody, and only owners invite owners', async () => {
    const ws = (await t.workspace()).id
    const member = await join(ws, 'member')
    const admin = await join(ws, 'admin')
    expect((await as(member, 'POST', invitations(ws), { email: 'x@example.com' })).statusCode).toBe(403)
    const owner = await as(admin, 'POST', invitations(ws), { email: 'x@example.com', role: 'owner' })
    expect(owner.statusCode).toBe(422)
    expect((await as(admin, 'GET', invitations(ws))).json().data).toEqual([])
  })
})
