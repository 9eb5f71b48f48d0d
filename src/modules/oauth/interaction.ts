// Our own login and consent pages for the authorization endpoint (oidc-provider's
// "interactions"; its development pages are off). Server-rendered HTML, no script and no
// external asset. A person signs in with the email and password of their core-api user (the
// sessions module's check, so failures count towards the same per-email lockout), then allows
// or denies the app the scopes it asked for. The pages are bound to the interaction
// cookie oidc-provider sets (SameSite=Lax, so another site cannot post them).
import type { FastifyContextConfig, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type Provider from 'oidc-provider'
import type { PrincipalUser } from '../../platform/auth/index.ts'
import type { Deps } from '../../platform/deps.ts'
import { ApiError } from '../../platform/http/errors.ts'
import { escapeHtml, MOUNT, page } from './provider.ts'
import { findClientByClientId } from './store.ts'

type Params = { uid: string }
/** The user with this email and password; throws ApiError 401, or 429 while the email is locked. */
export type CheckCredentials = (email: string, password: string) => Promise<PrincipalUser>
type Form = Record<string, string | undefined>

const HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
}

function html(reply: FastifyReply, status: number, title: string, body: string) {
  return reply.code(status).headers(HEADERS).send(page(title, body))
}

function loginForm(uid: string, clientName: string, email = '', error = ''): string {
  return `<h1>Sign in</h1>
<p>to continue to <strong>${escapeHtml(clientName)}</strong></p>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="${MOUNT}/interaction/${escapeHtml(uid)}/login">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required value="${escapeHtml(email)}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>`
}

function consentForm(uid: string, clientName: string, scopes: string[]): string {
  const items = scopes.map((s) => `<li><code>${escapeHtml(s)}</code></li>`).join('')
  return `<h1>Allow access?</h1>
<p><strong>${escapeHtml(clientName)}</strong> asks to act for you in your workspaces with:</p>
<ul>${items || '<li>no scope (it can only see who you are)</li>'}</ul>
<form method="post" action="${MOUNT}/interaction/${escapeHtml(uid)}/confirm"><button type="submit">Allow</button></form>
<form method="post" action="${MOUNT}/interaction/${escapeHtml(uid)}/abort"><button type="submit">Deny</button></form>`
}

export function interactionRoutes(
  app: FastifyInstance,
  provider: Provider,
  deps: Deps & { checkCredentials: CheckCredentials },
  config: FastifyContextConfig,
): void {
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 8192 },
    (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
  )

  const details = async (req: FastifyRequest, reply: FastifyReply) => {
    try {
      const found = await provider.interactionDetails(req.raw, reply.raw)
      return found.uid === (req.params as Params).uid ? found : null
    } catch {
      return null
    }
  }
  const expired = (reply: FastifyReply) =>
    html(
      reply,
      400,
      'Sign-in expired',
      '<h1>This sign-in has expired</h1><p>Go back to the application and start again.</p>',
    )
  const clientName = async (clientId: unknown) =>
    (typeof clientId === 'string' && (await findClientByClientId(deps.db, clientId))?.name) ||
    'an application'
  const requested = (prompt: { details: Record<string, unknown> }) => {
    const resources = (prompt.details.missingResourceScopes ?? {}) as Record<string, string[]>
    return [...new Set(Object.values(resources).flat())]
  }

  app.get<{ Params: Params }>(
    `${MOUNT}/interaction/:uid`,
    { schema: { hide: true }, config },
    async (req, reply) => {
      const found = await details(req, reply)
      if (!found) return expired(reply)
      const name = await clientName(found.params.client_id)
      if (found.prompt.name === 'login') return html(reply, 200, 'Sign in', loginForm(found.uid, name))
      return html(reply, 200, 'Allow access?', consentForm(found.uid, name, requested(found.prompt)))
    },
  )

  app.post<{ Params: Params; Body: Form }>(
    `${MOUNT}/interaction/:uid/login`,
    { schema: { hide: true }, config },
    async (req, reply) => {
      const found = await details(req, reply)
      if (found?.prompt.name !== 'login') return expired(reply)
      const email = String(req.body?.email ?? '').slice(0, 320)
      const password = String(req.body?.password ?? '').slice(0, 1024)
      let user: PrincipalUser
      try {
        user = await deps.checkCredentials(email, password)
      } catch (error) {
        if (!(error instanceof ApiError)) throw error
        const name = await clientName(found.params.client_id)
        if (error.headers) reply.headers(error.headers)
        return html(reply, error.status, 'Sign in', loginForm(found.uid, name, email, error.message))
      }
      const to = await provider.interactionResult(
        req.raw,
        reply.raw,
        { login: { accountId: String(user.id) } },
        { mergeWithLastSubmission: false },
      )
      return reply.code(303).header('location', to).send()
    },
  )

  app.post<{ Params: Params }>(
    `${MOUNT}/interaction/:uid/confirm`,
    { schema: { hide: true }, config },
    async (req, reply) => {
      const found = await details(req, reply)
      if (found?.prompt.name !== 'consent' || !found.session?.accountId) return expired(reply)
      const { Grant } = provider
      const clientId = String(found.params.client_id)
      const grant =
        (found.grantId ? await Grant.find(found.grantId) : undefined) ??
        new Grant({ accountId: found.session.accountId, clientId })
      const missingOidc = found.prompt.details.missingOIDCScope as string[] | undefined
      if (missingOidc) grant.addOIDCScope(missingOidc.join(' '))
      const resources = (found.prompt.details.missingResourceScopes ?? {}) as Record<string, string[]>
      for (const [resource, scopes] of Object.entries(resources))
        grant.addResourceScope(resource, scopes.join(' '))
      const grantId = await grant.save()
      const to = await provider.interactionResult(
        req.raw,
        reply.raw,
        { consent: { grantId } },
        { mergeWithLastSubmission: true },
      )
      return reply.code(303).header('location', to).send()
    },
  )

  app.post<{ Params: Params }>(
    `${MOUNT}/interaction/:uid/abort`,
    { schema: { hide: true }, config },
    async (req, reply) => {
      const found = await details(req, reply)
      if (!found) return expired(reply)
      const to = await provider.interactionResult(
        req.raw,
        reply.raw,
        { error: 'access_denied', error_description: 'The user denied the request.' },
        { mergeWithLastSubmission: false },
      )
      return reply.code(303).header('location', to).send()
    },
  )
}
