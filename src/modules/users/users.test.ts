// Creating users (POST /api/v1/users): who may create whom, into which workspace with which
// role, and that nothing but an argon2id hash of the password is ever stored or shown.
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../testing/harness.ts'
import { verifyPassword } from './passwords.ts'

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(() => t.close())

const PASSWORD = 'correct horse battery staple'

function create(key: string, payload: Record<string, unknown>, workspace?: number) {
  return t.call(key, { method: 'POST', url: '/api/v1/users', payload, workspace })
}

async function storedUser(email: string) {
  const result = await t.database.db.execute(
    sql`select id, email, name, password_hash from users where lower(email) = lower(${email})`,
  )
  return (result as unknown as { rows: Array<{ id: number; password_hash: string | null }> }).rows[0] ?? null
}

async function membershipsOf(userId: number) {
  const result = await t.database.db.execute(
    sql`select workspace_id, role from memberships where user_id = ${userId} order by workspace_id`,
  )
  return (result as unknown as { rows: Array<{ workspace_id: number; role: string }> }).rows
}

async function userCount(): Promise<number> {
  const result = await t.database.db.execute(sql`select count(*)::int as n from users`)
  return (result as unknown as { rows: Array<{ n: number }> }).rows[0]!.n
}

describe('users: create', () => {
  it('lets the master key create a user, storing only an argon2id hash', async () => {
    const res = await create(t.masterKey, { email: 'Ada@Example.com', password: PASSWORD, name: ' Ada ' })
    expect(res.statusCode).toBe(201)
    const body = res.json()
    expect(body).toEqual({
      message: 'User created successfully',
      data: {
        id: expect.any(Number),
        email: 'ada@example.com',
        name: 'Ada',
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        membership: null,
      },
    })
    expect(res.body).not.toContain(PASSWORD)
    expect(res.body).not.toContain('argon2')
    const row = await storedUser('ada@example.com')
    expect(row!.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
    expect(await verifyPassword(row!.password_hash!, PASSWORD)).toBe(true)
    expect(await verifyPassword(row!.password_hash!, `${PASSWORD}!`)).toBe(false)
    expect(await membershipsOf(body.data.id)).toEqual([])
  })

  it('makes the user a member of the workspace the master key names, with the role given', async () => {
    const ws = await t.workspace()
    const res = await create(
      t.masterKey,
      { email: 'grace@example.com', password: PASSWORD, role: 'owner' },
      ws.id,
    )
    expect(res.statusCode).toBe(201)
    expect(res.json().data.membership).toEqual({ workspace_id: ws.id, role: 'owner' })
    expect(await membershipsOf(res.json().data.id)).toEqual([{ workspace_id: ws.id, role: 'owner' }])
  })

  it('lets a key with users:write add members and admins to its own workspace only', async () => {
    const ws = await t.workspace()
    const other = await t.workspace()
    const { key } = await t.key(ws.id, { scopes: ['users:write'] })
    const member = await create(key, { email: 'member@example.com', password: PASSWORD })
    expect(member.statusCode).toBe(201)
    expect(member.json().data.membership).toEqual({ workspace_id: ws.id, role: 'member' })
    const admin = await create(key, { email: 'admin@example.com', password: PASSWORD, role: 'admin' })
    expect(admin.json().data.membership).toEqual({ workspace_id: ws.id, role: 'admin' })

    const before = await userCount()
    const owner = await create(key, { email: 'owner@example.com', password: PASSWORD, role: 'owner' })
    expect(owner.statusCode).toBe(422)
    expect(owner.json().errors).toEqual({ role: ['Only the master key may make an owner.'] })
    const elsewhere = await create(key, { email: 'elsewhere@example.com', password: PASSWORD }, other.id)
    expect(elsewhere.statusCode).toBe(403)
    const { key: reader } = await t.key(ws.id, { scopes: ['users:read', 'workspaces:*'] })
    const unscoped = await create(reader, { email: 'nope@example.com', password: PASSWORD })
    expect(unscoped.statusCode).toBe(403)
    expect(unscoped.json().message).toBe('Insufficient permissions. Required scope: users:write')
    expect(await userCount()).toBe(before)
  })
})

describe('users: errors', () => {
  it('refuses a taken email (case-insensitively) with 409 and keeps the first password', async () => {
    await create(t.masterKey, { email: 'taken@example.com', password: PASSWORD })
    const again = await create(t.masterKey, { email: 'TAKEN@example.com', password: 'another password 1' })
    expect(again.statusCode).toBe(409)
    expect(again.json()).toMatchObject({
      error: 'conflict',
      message: 'A user with this email already exists.',
    })
    const row = await storedUser('taken@example.com')
    expect(await verifyPassword(row!.password_hash!, PASSWORD)).toBe(true)
  })

  it('answers 422 naming the field for every malformed body, and stores nothing', async () => {
    const before = await userCount()
    for (const [payload, field] of [
      [{ email: 'not-an-email', password: PASSWORD }, 'email'],
      [{ email: 'short@example.com', password: 'too short' }, 'password'],
      [{ email: 'long@example.com', password: 'x'.repeat(257) }, 'password'],
      [{ password: PASSWORD }, 'email'],
      [{ email: 'nopass@example.com' }, 'password'],
      [{ email: 'role@example.com', password: PASSWORD, role: 'god' }, 'role'],
      [{ email: 'extra@example.com', password: PASSWORD, is_admin: true }, 'is_admin'],
      [{ email: 'role2@example.com', password: PASSWORD, role: 'admin' }, 'role'],
    ] as Array<[Record<string, unknown>, string]>) {
      const res = await create(t.masterKey, payload)
      expect(res.statusCode, JSON.stringify(payload)).toBe(422)
      expect(Object.keys(res.json().errors), JSON.stringify(payload)).toContain(field)
    }
    expect(await userCount()).toBe(before)
  })
})
