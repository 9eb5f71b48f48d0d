// Dashboard sessions: sign-in sets an HttpOnly cookie whose id is stored only hashed; the cookie
// authenticates like a key but every write must come from our own origin with the CSRF token;
// a member's role narrows what the session may do; sign-out, idleness and the absolute lifetime
// end it; failed sign-ins lock the email. Against the real database.
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { secureCookies } from '../../platform/auth/index.ts'
import { sha256Hex } from '../../platform/lib/hash.ts'
import { useTestApp } from '../../testing/harness.ts'

const t = useTestApp({ env: { SIGN_IN_PER_MINUTE: '0' } })
const ORIGIN = 'http://api.test'
const PASSWORD = 'correct horse battery staple'
let counter = 0

/** A user who is `role` in a new workspace; returns the email and the workspace id. */
async function person(role: 'owner' | 'admin' | 'member' = 'owner') {
  const ws = await t.workspace()
  const email = `person${++counter}@sessions.test`
  const res = await t.call(t.masterKey, {
    method: 'POST',
    url: '/api/v1/users',
    workspace: ws.id,
    payload: { email, password: PASSWORD, role },
  })
  expect(res.statusCode, res.body).toBe(201)
  return { email, workspaceId: ws.id as number, userId: res.json().data.id as number }
}

function signIn(email: string, password = PASSWORD, headers: Record<string, string> = {}) {
  return t.app.inject({ method: 'POST', url: '/api/auth/sign-in', payload: { email, password }, headers })
}

async function session(email: string) {
  const res = await signIn(email)
  expect(res.statusCode, res.body).toBe(200)
  const cookie = String(res.headers['set-cookie'])
  const secret = /core_api_session=([^;]+)/.exec(cookie)![1]!
  return { secret, csrf: res.json().data.csrf_token as string, body: res.json(), cookie }
}

function withCookie(secret: string, options: Record<string, unknown> & { headers?: Record<string, string> }) {
  return t.app.inject({
    ...(options as object),
    headers: { cookie: `core_api_session=${secret}`, ...options.headers },
  } as never)
}

async function rows<T>(query: ReturnType<typeof sql>): Promise<T[]> {
  return ((await t.database.db.execute(query)) as unknown as { rows: T[] }).rows
}
const postCount = async (workspaceId: number) =>
  Number(
    (
      await rows<{ n: number }>(sql`select count(*)::int as n from posts where workspace_id = ${workspaceId}`)
    )[0]!.n,
  )

describe('sessions: sign-in', () => {
  it('sets an HttpOnly, SameSite=Lax, Secure cookie and stores only the hash of its id', async () => {
    const { email, workspaceId, userId } = await person('admin')
    const { secret, csrf, body, cookie } = await session(email)
    expect(cookie).toBe(`core_api_session=${secret}; Path=/; Max-Age=604800; HttpOnly; SameSite=Lax; Secure`)
    expect(secret).toMatch(/^ses_[A-Za-z0-9]{43}$/)
    expect(body).toEqual({
      data: {
        user: { id: userId, email, name: null },
        workspace: {
          id: workspaceId,
          name: expect.any(String),
          slug: expect.any(String),
          tier: 'enterprise',
          role: 'admin',
        },
        expires_at: new Date(t.clock.now() + 7 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        idle_expires_at: new Date(t.clock.now() + 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        csrf_token: csrf,
      },
    })
    const stored = await rows<{ token_hash: string }>(
      sql`select token_hash from sessions where user_id = ${userId}`,
    )
    expect(stored).toEqual([{ token_hash: sha256Hex(secret) }])
    expect(JSON.stringify(stored)).not.toContain(secret)
  })

  it('answers the same 401 to a wrong password and to an unknown email', async () => {
    const { email } = await person()
    for (const res of [await signIn(email, 'wrong password'), await signIn('nobody@sessions.test')]) {
      expect(res.statusCode).toBe(401)
      expect(res.json()).toMatchObject({ error: 'unauthorized', message: 'Invalid email or password.' })
      expect(res.headers['set-cookie']).toBeUndefined()
    }
  })

  it('locks an email after five failures within the period, known or not, with a clear 429', async () => {
    const { email } = await person()
    for (const target of [email, 'ghost@sessions.test']) {
      const codes: number[] = []
      for (let i = 0; i < 5; i++) codes.push((await signIn(target, 'wrong password')).statusCode)
      expect(codes).toEqual([401, 401, 401, 401, 429])
    }
    const locked = await signIn(email)
    expect(locked.statusCode).toBe(429)
    expect(locked.json()).toMatchObject({
      error: 'rate_limit_exceeded',
      message: 'Too many failed sign-ins for this email: try again in 15 minutes.',
      retry_after: 900,
    })
    expect(locked.headers['retry-after']).toBe('900')
    t.clock.advance(15 * 60_000 + 1000)
    expect((await signIn(email)).statusCode).toBe(200)
  })

  it('refuses a sign-in posted from another origin', async () => {
    const { email } = await person()
    const res = await signIn(email, PASSWORD, { origin: 'https://evil.example' })
    expect(res.statusCode).toBe(403)
    expect(res.headers['set-cookie']).toBeUndefined()
  })
})

describe('sessions: the cookie as a credential', () => {
  it('reads like a key: /me, the session, lists', async () => {
    const { email, workspaceId } = await person()
    const { secret, csrf } = await session(email)
    const me = await withCookie(secret, { method: 'GET', url: '/api/v1/me' })
    expect(me.json().data).toMatchObject({
      type: 'session',
      user: { email },
      workspace: { id: workspaceId },
      key: null,
    })
    expect(me.json().data.workspace).toMatchObject({ role: 'owner' })
    expect(me.json().data.workspace.scopes).toContain('workspaces:delete')
    // /me says what the person may do in the workspace: the session's scopes narrowed by the role
    const member = await person('member')
    const asMember = await withCookie((await session(member.email)).secret, {
      method: 'GET',
      url: '/api/v1/me',
    })
    const { role, scopes } = asMember.json().data.workspace
    expect(role).toBe('member')
    expect(scopes).toEqual(expect.arrayContaining(['posts:write', 'api-keys:write', 'webhooks:read']))
    expect(scopes).not.toContain('webhooks:write')
    expect(scopes).not.toContain('workspaces:delete')
    const current = await withCookie(secret, { method: 'GET', url: '/api/auth/session' })
    expect(current.statusCode).toBe(200)
    expect(current.json().data.csrf_token).toBe(csrf)
    expect((await withCookie(secret, { method: 'GET', url: '/api/v1/posts' })).statusCode).toBe(200)
  })

  it('refuses a write without the CSRF token, with a wrong one, or from another site, and stores nothing', async () => {
    const { email, workspaceId } = await person()
    const { secret, csrf } = await session(email)
    const write = (headers: Record<string, string>) =>
      withCookie(secret, { method: 'POST', url: '/api/v1/posts', payload: { title: 'Hello' }, headers })
    for (const headers of [
      {},
      { 'x-csrf-token': 'not-the-token' },
      { 'x-csrf-token': csrf, origin: 'https://evil.example' },
      { 'x-csrf-token': csrf, 'sec-fetch-site': 'cross-site' },
      { 'x-csrf-token': csrf, 'sec-fetch-site': 'same-site' },
    ] as Array<Record<string, string>>) {
      const res = await write(headers)
      expect(res.statusCode, JSON.stringify(headers)).toBe(403)
      expect(res.json().error).toBe('access_denied')
    }
    expect(await postCount(workspaceId)).toBe(0)
    const ok = await write({ 'x-csrf-token': csrf, origin: ORIGIN, 'sec-fetch-site': 'same-origin' })
    expect(ok.statusCode, ok.body).toBe(201)
    expect(await postCount(workspaceId)).toBe(1)
    // Another session's token does not fit this one.
    const other = await session(email)
    expect((await write({ 'x-csrf-token': other.csrf })).statusCode).toBe(403)
  })

  it("narrows a session to its user's role in the workspace", async () => {
    const { email, workspaceId } = await person('member')
    const { secret, csrf } = await session(email)
    const headers = { 'x-csrf-token': csrf, origin: ORIGIN }
    const post = await withCookie(secret, {
      method: 'POST',
      url: '/api/v1/posts',
      payload: { title: 'ok' },
      headers,
    })
    expect(post.statusCode).toBe(201)
    const hook = await withCookie(secret, {
      method: 'POST',
      url: '/api/v1/webhooks',
      payload: { url: 'https://hooks.invalid/receive', events: ['post.created'] },
      headers,
    })
    expect(hook.statusCode).toBe(403)
    expect(hook.json().message).toBe(
      'Insufficient permissions. Required scope: webhooks:write (not granted to the member role in this workspace)',
    )
    const drop = await withCookie(secret, {
      method: 'DELETE',
      url: `/api/v1/workspaces/${workspaceId}`,
      headers,
    })
    expect(drop.statusCode).toBe(403)
    const rename = await withCookie(secret, {
      method: 'PATCH',
      url: `/api/v1/workspaces/${workspaceId}`,
      payload: { name: 'Mine now' },
      headers,
    })
    expect(rename.statusCode).toBe(403)
    const stillThere = await t.call(t.masterKey, { method: 'GET', url: `/api/v1/workspaces/${workspaceId}` })
    expect(stillThere.json().data.name).not.toBe('Mine now')
    // An admin may rename but not delete; an owner may delete.
    const admin = await session((await person('admin')).email)
    const adminWs = (await withCookie(admin.secret, { method: 'GET', url: '/api/v1/me' })).json().data
      .workspace.id
    const adminHeaders = { 'x-csrf-token': admin.csrf, origin: ORIGIN }
    const renamed = await withCookie(admin.secret, {
      method: 'PATCH',
      url: `/api/v1/workspaces/${adminWs}`,
      payload: { name: 'Renamed by admin' },
      headers: adminHeaders,
    })
    expect(renamed.statusCode).toBe(200)
    const dropped = await withCookie(admin.secret, {
      method: 'DELETE',
      url: `/api/v1/workspaces/${adminWs}`,
      headers: adminHeaders,
    })
    expect(dropped.statusCode).toBe(403)
  })

  it('ends at sign-out, after a day idle, and a week after sign-in however active', async () => {
    const { email, userId } = await person()
    const first = await session(email)
    const out = await withCookie(first.secret, {
      method: 'POST',
      url: '/api/auth/sign-out',
      headers: { 'x-csrf-token': first.csrf, origin: ORIGIN },
    })
    expect(out.statusCode).toBe(204)
    expect(String(out.headers['set-cookie'])).toContain('core_api_session=; Path=/; Max-Age=0')
    const after = await withCookie(first.secret, { method: 'GET', url: '/api/v1/me' })
    expect(after.statusCode).toBe(401)
    expect(after.json().message).toBe('Your session has ended: sign in again.')

    const idle = await session(email)
    t.clock.advance(86_400_000 + 1000)
    expect((await withCookie(idle.secret, { method: 'GET', url: '/api/v1/me' })).statusCode).toBe(401)

    const busy = await session(email)
    for (let day = 0; day < 6; day++) {
      t.clock.advance(23 * 3_600_000)
      expect(
        (await withCookie(busy.secret, { method: 'GET', url: '/api/v1/me' })).statusCode,
        `day ${day}`,
      ).toBe(200)
    }
    t.clock.advance(30 * 3_600_000)
    expect((await withCookie(busy.secret, { method: 'GET', url: '/api/v1/me' })).statusCode).toBe(401)
    const purged = await rows<{ n: number }>(
      sql`select count(*)::int as n from sessions where user_id = ${userId}`,
    )
    expect(purged[0]!.n).toBeGreaterThan(0) // ended rows wait for the hourly purge
  })

  it('is never accepted as a bearer token', async () => {
    const { email } = await person()
    const { secret } = await session(email)
    const res = await t.call(secret, { method: 'GET', url: '/api/v1/me' })
    expect(res.statusCode).toBe(401)
  })
})

describe('sessions: changing the password', () => {
  it('checks the current password, then ends every other session of the user', async () => {
    const { email, workspaceId } = await person()
    const a = await session(email)
    const b = await session(email)
    const change = (current: string, next: string, who = a) =>
      withCookie(who.secret, {
        method: 'POST',
        url: '/api/auth/password',
        payload: { current_password: current, new_password: next },
        headers: { 'x-csrf-token': who.csrf, origin: ORIGIN },
      })
    const wrong = await change('not my password', 'a new and longer passphrase')
    expect(wrong.statusCode).toBe(422)
    expect(wrong.json().errors).toEqual({ current_password: ['The current password is wrong.'] })
    const short = await change(PASSWORD, 'short')
    expect(short.statusCode).toBe(422)
    expect((await withCookie(b.secret, { method: 'GET', url: '/api/v1/me' })).statusCode).toBe(200)
    expect((await signIn(email)).statusCode).toBe(200) // unchanged so far

    const ok = await change(PASSWORD, 'a new and longer passphrase')
    expect(ok.statusCode).toBe(204)
    expect((await withCookie(a.secret, { method: 'GET', url: '/api/v1/me' })).statusCode).toBe(200)
    expect((await withCookie(b.secret, { method: 'GET', url: '/api/v1/me' })).statusCode).toBe(401)
    expect((await signIn(email)).statusCode).toBe(401)
    expect((await signIn(email, 'a new and longer passphrase')).statusCode).toBe(200)
    // A key is not a session: it has no password to change.
    const { key } = await t.key(workspaceId, { scopes: ['*'] })
    const byKey = await t.call(key, {
      method: 'POST',
      url: '/api/auth/password',
      payload: { current_password: PASSWORD, new_password: 'another long passphrase' },
    })
    expect(byKey.statusCode).toBe(401)
  })
})

describe('sessions: cookies', () => {
  it('drops Secure only when the public address is this machine', () => {
    expect(secureCookies('http://127.0.0.1:3000')).toBe(false)
    expect(secureCookies('http://localhost:3000')).toBe(false)
    expect(secureCookies('http://[::1]:3000')).toBe(false)
    expect(secureCookies('http://api.example.com')).toBe(true)
    expect(secureCookies('https://localhost')).toBe(true)
  })
})
