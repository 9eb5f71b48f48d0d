// The authorization server: oidc-provider (not protocol code of our own), configured for
// partner apps of core-api. Issuer = PUBLIC_URL; endpoints under /oauth2/; opaque access tokens
// for the API (`oat_…`, so the auth platform offers them to this module's credential source);
// refresh tokens rotated at every use; PKCE (S256) on every authorization request; client
// secrets compared as hashes; signing keys from OAUTH_SIGNING_KEYS or generated once and stored
// sealed with the app's encryption key.
import { createHmac, generateKeyPairSync, randomUUID, timingSafeEqual } from 'node:crypto'
import Provider, { type Configuration, errors, type JWK, type KoaContextWithOIDC } from 'oidc-provider'
import { scopeResources } from '../../platform/auth/index.ts'
import type { Deps } from '../../platform/deps.ts'
import { sha256Hex } from '../../platform/lib/hash.ts'
import type { SecretBox } from '../../platform/lib/secret-box.ts'
import { findUser } from '../users/index.ts'
import { DatabaseAdapter } from './adapter.ts'
import { oauthSettings } from './settings.ts'
import { findKeys, storeKeysOnce } from './store.ts'

/** Where the server is mounted. */
export const MOUNT = '/oauth2'
export const ACCESS_TOKEN_PREFIX = 'oat_'
const REFRESH_TOKEN_PREFIX = 'ort_'

/** Every scope a client may be allowed: the API keys' syntax over the registered resources. */
function allScopes(): string[] {
  const out = ['*', 'read', 'write', 'delete']
  for (const resource of scopeResources())
    out.push(`${resource}:*`, `${resource}:read`, `${resource}:write`, `${resource}:delete`)
  return out
}

/** The signing keys: from the setting, else the stored ones, else new ones stored once. */
async function signingKeys(deps: Deps, box: SecretBox): Promise<JWK[]> {
  const configured = oauthSettings.from(deps.config).signingKeys
  if (configured !== '') return (JSON.parse(configured) as { keys: JWK[] }).keys
  let sealed = await findKeys(deps.db)
  if (sealed === null) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const jwk = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' }
    // Several instances starting at once: the first stored wins, and every one uses it.
    sealed = await storeKeysOnce(deps.db, box.seal(JSON.stringify({ keys: [jwk] })))
  }
  return (JSON.parse(box.open(sealed)) as { keys: JWK[] }).keys
}

const escapeHtml = (value: unknown) =>
  String(value).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  )

export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#111}
label{display:block;margin-top:1rem}input{display:block;width:100%;padding:.5rem;font:inherit;box-sizing:border-box}
button{margin-top:1.25rem;padding:.5rem 1rem;font:inherit}.error{color:#a00}</style></head>
<body><main>${body}</main></body></html>`
}

export { escapeHtml }

export async function createProvider(input: {
  deps: Deps
  box: SecretBox
  encryptionKey: string
}): Promise<Provider> {
  const { deps, box } = input
  const { publicUrl } = deps.config
  const settings = oauthSettings.from(deps.config)
  const apiResource = `${publicUrl}/api`
  const accessTokenTtl = settings.accessTokenMinutes * 60
  const scopes = allScopes()

  const configuration: Configuration = {
    adapter: (name: string) => new DatabaseAdapter(name, deps),
    clients: [],
    jwks: { keys: await signingKeys(deps, box) },
    cookies: {
      keys: [createHmac('sha256', input.encryptionKey).update('oauth-cookies').digest('base64url')],
    },
    scopes,
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // An app learns about, and ends, only its own tokens: another workspace's app gets
      // `{"active": false}` and a revocation that changes nothing.
      introspection: {
        enabled: true,
        allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId,
      },
      revocation: {
        enabled: true,
        allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId,
      },
      userinfo: { enabled: false },
      resourceIndicators: {
        enabled: true,
        // Every token is for the API, whether or not the app names it as the resource.
        defaultResource: () => apiResource,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource, client) => {
          if (resource !== apiResource) throw new errors.InvalidTarget()
          return {
            scope: client.scope ?? '',
            accessTokenFormat: 'opaque',
            accessTokenTTL: accessTokenTtl,
          }
        },
      },
    },
    pkce: { required: () => true },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: () => true,
    ttl: {
      AccessToken: accessTokenTtl,
      ClientCredentials: accessTokenTtl,
      AuthorizationCode: 60,
      Interaction: 600,
      Session: 3600,
      Grant: settings.refreshTokenDays * 86_400,
      RefreshToken: settings.refreshTokenDays * 86_400,
    },
    interactions: { url: (_ctx, interaction) => `${MOUNT}/interaction/${interaction.uid}` },
    findAccount: async (_ctx, sub) => {
      const user = /^[1-9][0-9]{0,9}$/.test(sub) ? await findUser(deps.db, Number(sub)) : null
      return user ? { accountId: sub, claims: () => ({ sub }) } : undefined
    },
    renderError: (ctx, out) => {
      ctx.type = 'html'
      ctx.body = page(
        'Authorization error',
        `<h1>Authorization error</h1><p class="error">${escapeHtml(out.error)}: ${escapeHtml(out.error_description ?? '')}</p>`,
      )
    },
  }

  const provider = new Provider(publicUrl, configuration)
  // Endpoint URLs are built from the forwarded host and protocol, which the mount sets from
  // PUBLIC_URL (see server.ts): the metadata names the URLs clients are told to use.
  provider.proxy = true

  // Client secrets are stored hashed: the server compares the hash of what the app sent.
  const Client = provider.Client as unknown as {
    prototype: { clientSecret?: string; compareClientSecret(actual: string): boolean }
  }
  Client.prototype.compareClientSecret = function compareClientSecret(actual: string) {
    const expected = Buffer.from(this.clientSecret ?? '')
    const given = Buffer.from(sha256Hex(actual))
    return expected.length === given.length && timingSafeEqual(expected, given)
  }

  // Access tokens carry a prefix, so the API knows which credential source they belong to.
  const prefix = (model: unknown, value: string) => {
    const proto = (model as { prototype: { generateTokenId(): string } }).prototype
    const generate = proto.generateTokenId
    proto.generateTokenId = function generateTokenId() {
      return `${value}${generate.call(this)}`
    }
  }
  prefix(provider.AccessToken, ACCESS_TOKEN_PREFIX)
  prefix(provider.ClientCredentials, ACCESS_TOKEN_PREFIX)
  prefix(provider.RefreshToken, REFRESH_TOKEN_PREFIX)

  // RFC 6749 error bodies carry the request id, as every other error of the API does.
  provider.use(async (ctx: KoaContextWithOIDC, next) => {
    await next()
    if (ctx.status === 404 && !ctx.body) {
      ctx.body = { error: 'invalid_request', error_description: 'unrecognized route' }
      ctx.status = 404
    }
    const body = ctx.body as Record<string, unknown> | undefined
    if (body && typeof body === 'object' && !Buffer.isBuffer(body) && typeof body.error === 'string')
      ctx.body = { ...body, request_id: (ctx.req as { id?: string }).id }
  })
  return provider
}
