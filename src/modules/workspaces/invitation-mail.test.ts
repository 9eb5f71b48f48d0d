// Invitations by mail: with SMTP_URL set, an invitation is also emailed to the invitee. A tiny
// SMTP server on loopback (node:net) receives what core-api sends; it asks for a login, so the
// credentials of SMTP_URL are checked too.
import { once } from 'node:events'
import { createServer, type Server } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../platform/config/index.ts'
import { buildTestApp, type TestApp } from '../../testing/harness.ts'
import { InvitationMailer, invitationMailer } from './mail.ts'

type Received = { from: string; to: string[]; login: string | null; data: string }

/** A minimal SMTP server: EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT; it keeps every message. */
function smtpServer(): { server: Server; received: Received[] } {
  const received: Received[] = []
  const server = createServer((socket) => {
    socket.setEncoding('utf8')
    let buffer = ''
    let inData = false
    let current: Received = { from: '', to: [], login: null, data: '' }
    const reply = (line: string) => socket.write(`${line}\r\n`)
    reply('220 mail.test ESMTP')
    socket.on('data', (chunk: string) => {
      buffer += chunk
      while (true) {
        if (inData) {
          const end = buffer.indexOf('\r\n.\r\n')
          if (end === -1) return
          current.data = buffer.slice(0, end)
          buffer = buffer.slice(end + 5)
          inData = false
          received.push(current)
          current = { from: '', to: [], login: current.login, data: '' }
          reply('250 queued')
          continue
        }
        const newline = buffer.indexOf('\r\n')
        if (newline === -1) return
        const line = buffer.slice(0, newline)
        buffer = buffer.slice(newline + 2)
        const verb = line.split(' ')[0]!.toUpperCase()
        if (verb === 'EHLO') {
          reply('250-mail.test')
          reply('250 AUTH PLAIN')
        } else if (verb === 'AUTH') {
          const [, , value] = line.split(' ')
          current.login = Buffer.from(value ?? '', 'base64').toString('utf8')
          reply('235 accepted')
        } else if (verb === 'MAIL') {
          current.from = line
          reply('250 ok')
        } else if (verb === 'RCPT') {
          current.to.push(line)
          reply('250 ok')
        } else if (verb === 'DATA') {
          inData = true
          reply('354 go on')
        } else if (verb === 'QUIT') {
          reply('221 bye')
          socket.end()
        } else reply('250 ok')
      }
    })
    socket.on('error', () => {})
  })
  return { server, received }
}

const smtp = smtpServer()
let t: TestApp
let ws: number
const ORIGIN = 'http://api.test'
const PASSWORD = 'correct horse battery staple'

async function until<T>(what: string, read: () => T | undefined): Promise<T> {
  const started = Date.now()
  for (;;) {
    const value = read()
    if (value !== undefined) return value
    if (Date.now() - started > 5000) throw new Error(`no ${what} within 5 s`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** The text of a quoted-printable or 7-bit body, joined back into lines. */
const unfold = (data: string) =>
  data
    .replace(/=\r\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))

beforeAll(async () => {
  smtp.server.listen(0, '127.0.0.1')
  await once(smtp.server, 'listening')
  const { port } = smtp.server.address() as { port: number }
  t = await buildTestApp({
    env: {
      SMTP_URL: `smtp://mailer%40core:se%20cret@127.0.0.1:${port}`,
      SMTP_FROM: 'core-api <no-reply@api.test>',
      INVITATION_URL: 'https://app.test/join?token={token}',
      SIGN_IN_PER_MINUTE: '0',
    },
  })
  ws = (await t.workspace({ name: 'Acme "Labs"' })).id
}, 60_000)

afterAll(async () => {
  await t?.close()
  smtp.server.close()
})

describe('invitations by mail', () => {
  it("emails the invitee a link with the invitation's token, from SMTP_FROM, logged in with SMTP_URL's credentials", async () => {
    const owner = { email: 'ada@mail.test', password: PASSWORD }
    await t.call(t.masterKey, {
      method: 'POST',
      url: '/api/v1/users',
      workspace: ws,
      payload: { ...owner, name: 'Ada Lovelace', role: 'owner' },
    })
    const signIn = await t.app.inject({ method: 'POST', url: '/api/auth/sign-in', payload: owner })
    const before = smtp.received.length
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/v1/workspaces/${ws}/invitations`,
      payload: { email: 'Grace@Example.com', role: 'admin' },
      headers: {
        cookie: String(signIn.headers['set-cookie']).split(';')[0]!,
        'x-csrf-token': signIn.json().data.csrf_token,
        origin: ORIGIN,
      },
    })
    expect(res.statusCode, res.body).toBe(201)
    const { token } = res.json().data as { token: string }

    const mail = await until('mail', () => smtp.received[before])
    expect(mail.login).toBe('\0mailer@core\0se cret')
    expect(mail.from).toBe('MAIL FROM:<no-reply@api.test>')
    expect(mail.to).toEqual(['RCPT TO:<grace@example.com>'])
    const text = unfold(mail.data)
    // The subject is MIME-encoded: a workspace name cannot break the headers.
    expect(mail.data).toContain('Subject: =?UTF-8?Q?You_are_invited_to_Acme_=22Labs=22?=')
    expect(text).toContain('Ada Lovelace invited you to join the workspace "Acme "Labs"" as admin.')
    expect(text).toContain(`https://app.test/join?token=${token}`)

    // The emailed token is the invitation's: it accepts it.
    const accepted = await t.app.inject({
      method: 'POST',
      url: '/api/auth/invitations/accept',
      payload: { token, password: PASSWORD, name: 'Grace' },
    })
    expect(accepted.statusCode, accepted.body).toBe(200)
  })

  it('sends nothing for a refused invitation', async () => {
    const { key } = await t.key(ws, { scopes: ['posts:read'] })
    const before = smtp.received.length
    const res = await t.call(key, {
      method: 'POST',
      url: `/api/v1/workspaces/${ws}/invitations`,
      payload: { email: 'nobody@example.com' },
    })
    expect(res.statusCode).toBe(403)
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(smtp.received.length).toBe(before)
  })

  it('still answers the invitation, token included, when the mail server cannot be reached', async () => {
    const closed = createServer()
    closed.listen(0, '127.0.0.1')
    await once(closed, 'listening')
    const { port } = closed.address() as { port: number }
    closed.close()
    const warnings: string[] = []
    const mailer = new InvitationMailer(
      { smtpUrl: `smtp://127.0.0.1:${port}`, from: 'x@api.test', invitationUrl: null, publicUrl: ORIGIN },
      (message) => warnings.push(message),
    )
    await mailer.send({
      to: 'grace@example.com',
      workspace: 'Acme',
      role: 'member',
      token: 'inv_secret',
      expiresAt: '2026-01-01T00:00:00Z',
      inviter: null,
    })
    expect(warnings).toEqual(['could not email an invitation to …@example.com'])
  })

  it('tells how to accept through the API when no INVITATION_URL is set', () => {
    const mailer = new InvitationMailer(
      { smtpUrl: 'smtp://127.0.0.1:25', from: 'x@api.test', invitationUrl: null, publicUrl: ORIGIN },
      () => {},
    )
    const { subject, text } = mailer.compose({
      to: 'grace@example.com',
      workspace: 'Acme',
      role: 'member',
      token: 'inv_abc',
      expiresAt: '2026-01-01T00:00:00Z',
      inviter: null,
    })
    expect(subject).toBe('You are invited to Acme')
    expect(text).toContain('An administrator invited you to join the workspace "Acme" as member.')
    expect(text).toContain('POST http://api.test/api/auth/invitations/accept')
    expect(text).toContain('"token": "inv_abc"')
    expect(text).toContain('until 2026-01-01T00:00:00Z')
  })

  it('refuses SMTP_URL of another scheme, SMTP_URL without SMTP_FROM, and an INVITATION_URL without {token}', () => {
    expect(() => loadConfig({ SMTP_URL: 'http://mail.test' })).toThrow(
      /SMTP_URL must be an smtp:\/\/ or smtps:\/\//,
    )
    expect(() => loadConfig({ INVITATION_URL: 'https://app.test/join' })).toThrow(
      /INVITATION_URL must contain \{token\}/,
    )
    expect(() => invitationMailer(loadConfig({ SMTP_URL: 'smtp://mail.test' }), () => {})).toThrow(
      /SMTP_FROM must be set with SMTP_URL/,
    )
    expect(invitationMailer(loadConfig({}), () => {})).toBeNull()
  })
})
