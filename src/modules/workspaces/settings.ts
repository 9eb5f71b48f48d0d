import { ConfigError, defineSettings, integer, text } from '../../platform/config/index.ts'

/** An `smtp://` or `smtps://` URL (credentials, if any, in its user and password). */
function smtpUrl(raw: string, env: string): string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConfigError(`${env} must be an smtp:// or smtps:// URL, got something else`)
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:')
    throw new ConfigError(`${env} must be an smtp:// or smtps:// URL, got ${url.protocol}//…`)
  return raw
}

/** A page URL with `{token}` where the invitation's token goes. */
function invitationUrl(raw: string, env: string): string {
  if (!raw.includes('{token}')) throw new ConfigError(`${env} must contain {token}, got "${raw}"`)
  try {
    new URL(raw.replace('{token}', 'x'))
  } catch {
    throw new ConfigError(`${env} must be an absolute URL, got "${raw}"`)
  }
  return raw
}

export const workspaceSettings = defineSettings('workspaces', {
  invitationHours: {
    env: 'INVITATION_EXPIRY_HOURS',
    default: 168,
    parse: integer(1, 8760),
    doc: 'how long an invitation to a workspace can be accepted',
  },
  smtpUrl: {
    env: 'SMTP_URL',
    default: null,
    parse: smtpUrl,
    doc: 'mail server for invitations (`smtp://user:pass@host:587`, STARTTLS when offered; `smtps://` for TLS); unset: no mail is sent',
  },
  smtpFrom: {
    env: 'SMTP_FROM',
    default: null,
    parse: text,
    doc: 'sender of invitation mails (`core-api <no-reply@example.com>`); needed with `SMTP_URL`',
  },
  invitationUrl: {
    env: 'INVITATION_URL',
    default: null,
    parse: invitationUrl,
    doc: 'the page that accepts an invitation, with `{token}` (`https://app.example.com/join?token={token}`); the mail links to it',
  },
})
