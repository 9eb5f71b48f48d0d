// Invitation mails. With SMTP_URL set, an invitation is also emailed to the invitee: who invited
// them, to which workspace and role, and how to accept (the INVITATION_URL page with the token,
// or the API call). Sending happens after the invitation is stored and off the request path:
// the answer never waits on the mail server, and a mail that cannot be sent is logged (never
// with its token) while the invitation stands, its token in the answer as always.
import { createTransport, type Transporter } from 'nodemailer'
import type { Role } from '../../platform/auth/index.ts'
import { type Config, ConfigError } from '../../platform/config/index.ts'
import { workspaceSettings } from './settings.ts'

export type InvitationMail = {
  to: string
  workspace: string
  role: Role
  token: string
  expiresAt: string
  /** Who invited: a person's name or email; null for the master key or a key. */
  inviter: string | null
}

/** Sends invitation mails; `send` never throws (failures go to `warn`). */
export class InvitationMailer {
  private readonly transport: Transporter
  private readonly from: string
  private readonly acceptUrl: (token: string) => string | null
  private readonly apiUrl: string
  private readonly warn: (message: string, error: unknown) => void

  constructor(
    options: { smtpUrl: string; from: string; invitationUrl: string | null; publicUrl: string },
    warn: (message: string, error: unknown) => void,
  ) {
    const url = new URL(options.smtpUrl)
    const secure = url.protocol === 'smtps:'
    this.transport = createTransport({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port ? Number(url.port) : secure ? 465 : 587,
      secure,
      ...(url.username && {
        auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) },
      }),
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    })
    this.from = options.from
    const page = options.invitationUrl
    this.acceptUrl = (token) => (page === null ? null : page.replaceAll('{token}', encodeURIComponent(token)))
    this.apiUrl = `${options.publicUrl}/api/auth/invitations/accept`
    this.warn = warn
  }

  /** The mail's subject and text. */
  compose(mail: InvitationMail): { subject: string; text: string } {
    const who = mail.inviter ?? 'An administrator'
    const link = this.acceptUrl(mail.token)
    const how =
      link !== null
        ? `Accept the invitation here:\n\n  ${link}\n`
        : `To accept, send this request (choose your password; an existing account gives its own):\n\n` +
          `  POST ${this.apiUrl}\n  {"token": "${mail.token}", "password": "…", "name": "…"}\n`
    return {
      subject: `You are invited to ${mail.workspace}`,
      text:
        `${who} invited you to join the workspace "${mail.workspace}" as ${mail.role}.\n\n${how}\n` +
        `The invitation works once, until ${mail.expiresAt}. If you did not expect it, ignore this mail.\n`,
    }
  }

  async send(mail: InvitationMail): Promise<void> {
    try {
      await this.transport.sendMail({ from: this.from, to: mail.to, ...this.compose(mail) })
    } catch (error) {
      // The error of a mail server names no token; the recipient's domain is enough to act on.
      this.warn(`could not email an invitation to …@${mail.to.split('@')[1]}`, error)
    }
  }
}

/** The mailer of the settings, or null when SMTP_URL is unset; SMTP_URL without SMTP_FROM stops the start. */
export function invitationMailer(
  config: Config,
  warn: (message: string, error: unknown) => void,
): InvitationMailer | null {
  const { smtpUrl, smtpFrom, invitationUrl } = workspaceSettings.from(config)
  if (smtpUrl === null) return null
  if (smtpFrom === null)
    throw new ConfigError('SMTP_FROM must be set with SMTP_URL: the sender of invitation mails')
  return new InvitationMailer({ smtpUrl, from: smtpFrom, invitationUrl, publicUrl: config.publicUrl }, warn)
}
