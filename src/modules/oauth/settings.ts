import { ConfigError, defineSettings, integer } from '../../platform/config/index.ts'

/** A JSON Web Key Set with at least one private RSA or EC signing key. */
const jwks = (raw: string, env: string): string => {
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch {
    throw new ConfigError(`${env} must be a JSON Web Key Set ({"keys": [...]})`)
  }
  const keys = (parsed as { keys?: unknown })?.keys
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => typeof k === 'object' && k && 'd' in k))
    throw new ConfigError(
      `${env} must be a JSON Web Key Set of private keys ({"keys": [{"kty": …, "d": …}]})`,
    )
  return raw
}

export const oauthSettings = defineSettings('oauth', {
  signingKeys: {
    env: 'OAUTH_SIGNING_KEYS',
    default: '',
    parse: jwks,
    doc: "the OAuth server's signing keys as a private JWKS; without it a key is generated at first start and stored encrypted",
    shown: 'generated',
  },
  accessTokenMinutes: {
    env: 'OAUTH_ACCESS_TOKEN_MINUTES',
    default: 60,
    parse: integer(1, 1440),
    doc: 'lifetime of an OAuth access token',
  },
  refreshTokenDays: {
    env: 'OAUTH_REFRESH_TOKEN_DAYS',
    default: 30,
    parse: integer(1, 365),
    doc: 'lifetime of an OAuth refresh token (each use replaces it)',
  },
  requestsPerFiveMinutes: {
    env: 'OAUTH_PER_5_MINUTES',
    default: 100,
    parse: integer(0, 1_000_000),
    doc: 'requests to `/oauth2/*` per client address per 5 minutes (`0` = no such budget)',
  },
})
