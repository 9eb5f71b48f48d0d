// Who manages which keys (docs/users.md, "Who may do what"): an owner and an admin every key of
// the workspace, a member only the keys they made, a key as its scopes allow (a key a member
// made, only that member's keys), the master key every key. And a key never holds more than its
// creator's role allowed when it was made.
import { beforeAll, describe, expect, it } from 'vitest'
import { type SignedIn, useTestApp } from '../../testing/harness.ts'

const t = useTestApp({ env: { SIGN_IN_PER_MINUTE: '0' } })
const ORIGIN = 'http://api.test'
let counter = 0

type Person = SignedIn
/** A session (cookie and CSRF token) or a bearer secret. */
type Caller = Person | string

/** A user with `role` in the workspace, signed in. */
const join = (workspaceId: number, role: 'owner' | 'admin' | 'member'): Promise<Person> =>
  t.member(workspaceId, role, `k${++counter}@ownership.test`)

function as(who: Caller, method: string, url: string, payload?: unknown, workspace?: number) {
  const headers =
    typeof who === 'string'
      ? { authorization: `Bearer ${who}` }
      : { cookie: who.cookie, 'x-csrf-token': who.csrf, origin: ORIGIN }
  return t.app.inject({
    method: method as 'GET',
    url,
    ...(payload !== undefined && { payload: payload as object }),
    headers: { ...headers, ...(workspace !== undefined && { 'x-workspace-id': String(workspace) }) },
  })
}

let ws: number
let owner: Person
let admin: Person
let member: Person
let colleague: Person

/** Creates a key as `who`; answers its id and secret. */
async function keyOf(who: Caller, scopes: string[] = ['posts:read']) {
  const res = await as(
    who,
    'POST',
    '/api/v1/api-keys',
    { name: `key ${++counter}`, scopes },
    whoWorkspace(who),
  )
  expect(res.statusCode, res.body).toBe(201)
  return res.json().data as { id: number; key: string }
}
const whoWorkspace = (who: Caller) => (who === t.masterKey ? ws : undefined)

async function storedKeys(): Promise<Array<{ id: number; status: string; user_id: number | null }>> {
  const all = []
  for (const status of ['active', 'revoked']) {
    const res = await t.call(t.masterKey, {
      method: 'GET',
      url: `/api/v1/api-keys?status=${status}&per_page=100&include=user`,
      workspace: ws,
    })
    all.push(
      ...res.json().data.map((k: { id: number; status: string; user: { id: number } | null }) => ({
        id: k.id,
        status: k.status,
        user_id: k.user?.id ?? null,
      })),
    )
  }
  return all.sort((a, b) => a.id - b.id)
}

beforeAll(async () => {
  ws = (await t.workspace()).id
  owner = await join(ws, 'owner')
  admin = await join(ws, 'admin')
  member = await join(ws, 'member')
  colleague = await join(ws, 'member')
})

describe('API keys by role', () => {
  it('lets a member create keys for themself, and see, rotate and revoke only those', async () => {
    const mine = await keyOf(member)
    const theirs = await keyOf(colleague)
    const admins = await keyOf(admin)
    const before = await storedKeys()

    const listed = await as(member, 'GET', '/api/v1/api-keys')
    expect(listed.statusCode).toBe(200)
    expect(listed.json().data.map((k: { id: number }) => k.id)).toEqual([mine.id])
    expect(listed.json().meta.total).toBe(1)
    expect((await as(member, 'GET', `/api/v1/api-keys/${mine.id}?include=user`)).json().data.user.id).toBe(
      member.userId,
    )
    // Someone else's key does not exist for a member: 404, as another tenant's.
    for (const id of [theirs.id, admins.id]) {
      for (const [method, path, body] of [
        ['GET', `/api/v1/api-keys/${id}`, undefined],
        ['POST', `/api/v1/api-keys/${id}/rotate`, { grace_period_hours: 1 }],
        ['DELETE', `/api/v1/api-keys/${id}`, undefined],
      ] as const) {
        const res = await as(member, method, path, body)
        expect(res.statusCode, `${method} ${path}`).toBe(404)
        expect(res.json().error).toBe('not_found')
      }
    }
    expect(await storedKeys()).toEqual(before)
    // Their own: rotated (the new key is theirs too) and revoked.
    const rotated = await as(member, 'POST', `/api/v1/api-keys/${mine.id}/rotate`, { grace_period_hours: 0 })
    expect(rotated.statusCode, rotated.body).toBe(200)
    const fresh = rotated.json().data.id as number
    expect((await as(member, 'DELETE', `/api/v1/api-keys/${fresh}`)).statusCode).toBe(204)
    expect((await as(member, 'GET', `/api/v1/api-keys/${fresh}`)).json().data.status).toBe('revoked')
    // The others' keys still work.
    for (const { key } of [theirs, admins])
      expect((await as(key, 'GET', '/api/v1/posts')).statusCode).toBe(200)
  })

  it('lets owners and admins manage every key of the workspace', async () => {
    for (const manager of [owner, admin]) {
      const theirs = await keyOf(member)
      const seen = (await as(manager, 'GET', '/api/v1/api-keys?per_page=100')).json().data
      expect(seen.map((k: { id: number }) => k.id)).toContain(theirs.id)
      expect((await as(manager, 'GET', `/api/v1/api-keys/${theirs.id}`)).statusCode).toBe(200)
      const rotated = await as(manager, 'POST', `/api/v1/api-keys/${theirs.id}/rotate`, {})
      expect(rotated.statusCode, rotated.body).toBe(200)
      expect((await as(manager, 'DELETE', `/api/v1/api-keys/${rotated.json().data.id}`)).statusCode).toBe(204)
    }
  })

  it('lets a key and the master key manage keys as their scopes allow; a key a member made, only theirs', async () => {
    const workspaceKey = await keyOf(t.masterKey, ['api-keys:*'])
    const membersKey = await keyOf(member, ['api-keys:write', 'api-keys:delete', 'posts:read'])
    const theirs = await keyOf(colleague)
    const admins = await keyOf(admin)

    // A key made by the master key acts for no person: every key of its workspace.
    const all = (await as(workspaceKey.key, 'GET', '/api/v1/api-keys?per_page=100')).json().data
    expect(all.map((k: { id: number }) => k.id)).toEqual(expect.arrayContaining([theirs.id, admins.id]))
    expect((await as(workspaceKey.key, 'GET', `/api/v1/api-keys/${admins.id}`)).statusCode).toBe(200)

    // A key a member made carries the member's limit: only keys of that member.
    const seen = (await as(membersKey.key, 'GET', '/api/v1/api-keys?per_page=100')).json().data
    expect(seen.map((k: { id: number }) => k.id)).not.toContain(theirs.id)
    expect(seen.map((k: { id: number }) => k.id)).toContain(membersKey.id)
    expect((await as(membersKey.key, 'DELETE', `/api/v1/api-keys/${theirs.id}`)).statusCode).toBe(404)
    expect((await as(membersKey.key, 'POST', `/api/v1/api-keys/${admins.id}/rotate`, {})).statusCode).toBe(
      404,
    )
    // What it makes belongs to the member, and is held to the same limit, rotation included.
    const child = await keyOf(membersKey.key, ['api-keys:write', 'posts:read'])
    const rotated = await as(membersKey.key, 'POST', `/api/v1/api-keys/${child.id}/rotate`, {
      grace_period_hours: 0,
    })
    expect(rotated.statusCode, rotated.body).toBe(200)
    const grandchild = rotated.json().data as { id: number; key: string }
    expect((await as(grandchild.key, 'GET', `/api/v1/api-keys/${theirs.id}`)).statusCode).toBe(404)
    expect((await as(grandchild.key, 'GET', `/api/v1/api-keys/${membersKey.id}`)).statusCode).toBe(200)
    const owned = await t.call(t.masterKey, {
      method: 'GET',
      url: `/api/v1/api-keys/${grandchild.id}?include=user`,
      workspace: ws,
    })
    expect(owned.json().data.user.id).toBe(member.userId)

    // The master key: every key.
    expect((await as(t.masterKey, 'DELETE', `/api/v1/api-keys/${theirs.id}`, undefined, ws)).statusCode).toBe(
      204,
    )
    // And the workspace key revokes a key of a person.
    expect((await as(workspaceKey.key, 'DELETE', `/api/v1/api-keys/${admins.id}`)).statusCode).toBe(204)
  })

  it("never makes a key beyond what its creator's role allows, naming the scope; nothing is stored", async () => {
    const before = await storedKeys()
    const cases: Array<[Person, string[], string, string]> = [
      [member, ['webhooks:write'], 'webhooks:write', 'member'],
      [member, ['read', 'write'], 'workspaces:write', 'member'],
      [member, ['users:read', 'users:write'], 'users:write', 'member'],
      [admin, ['*'], 'workspaces:delete', 'admin'],
      [admin, ['workspaces:delete'], 'workspaces:delete', 'admin'],
    ]
    for (const [who, scopes, scope, role] of cases) {
      const res = await as(who, 'POST', '/api/v1/api-keys', { name: 'too much', scopes })
      expect(res.statusCode, `${role} ${scopes}`).toBe(403)
      expect(res.json()).toMatchObject({
        error: 'access_denied',
        message: `Insufficient permissions. A key cannot grant a scope its creator lacks: ${scope} (not granted to the ${role} role in this workspace)`,
      })
    }
    expect(await storedKeys()).toEqual(before)
    // Within the role it works: an admin everything but deleting the workspace, an owner all.
    await keyOf(admin, ['workspaces:write', 'webhooks:*', 'users:*', 'api-keys:*'])
    await keyOf(owner, ['*'])
    await keyOf(member, ['read', 'posts:write', 'api-keys:write'])
  })

  it('refuses an admin rotating a key that holds a scope beyond the admin role', async () => {
    const mighty = await keyOf(owner, ['workspaces:delete', 'posts:read'])
    const res = await as(admin, 'POST', `/api/v1/api-keys/${mighty.id}/rotate`, {})
    expect(res.statusCode).toBe(403)
    expect(res.json().message).toBe(
      'Insufficient permissions. A key cannot rotate a key with a scope it lacks: workspaces:delete (not granted to the admin role in this workspace)',
    )
    const still = await as(owner, 'GET', `/api/v1/api-keys/${mighty.id}`)
    expect(still.json().data).toMatchObject({ status: 'active', expires_at: null })
    // The admin may still revoke it: revoking hands nothing out.
    expect((await as(admin, 'DELETE', `/api/v1/api-keys/${mighty.id}`)).statusCode).toBe(204)
  })
})

describe('workspace and roles by role', () => {
  it('lets only an owner delete the workspace or change roles', async () => {
    const space = (await t.workspace()).id
    const boss = await join(space, 'owner')
    const deputy = await join(space, 'admin')
    const staff = await join(space, 'member')
    for (const who of [deputy, staff]) {
      const drop = await as(who, 'DELETE', `/api/v1/workspaces/${space}`)
      expect(drop.statusCode).toBe(403)
      expect(drop.json().error).toBe('access_denied')
      const promote = await as(who, 'PATCH', `/api/v1/workspaces/${space}/members/${staff.userId}`, {
        role: 'owner',
      })
      expect(promote.statusCode).toBe(403)
    }
    const roles = await t.call(t.masterKey, { method: 'GET', url: `/api/v1/workspaces/${space}/members` })
    expect(
      Object.fromEntries(roles.json().data.map((m: { id: number; role: string }) => [m.id, m.role])),
    ).toEqual({ [boss.userId]: 'owner', [deputy.userId]: 'admin', [staff.userId]: 'member' })
    const promoted = await as(boss, 'PATCH', `/api/v1/workspaces/${space}/members/${staff.userId}`, {
      role: 'admin',
    })
    expect(promoted.statusCode).toBe(200)
    expect((await as(boss, 'DELETE', `/api/v1/workspaces/${space}`)).statusCode).toBe(204)
    const gone = await t.call(t.masterKey, { method: 'GET', url: `/api/v1/workspaces/${space}` })
    expect(gone.statusCode).toBe(404)
  })
})
