import { Type } from 'typebox'
import type { ListSpec } from '../../platform/http/list.ts'
import { component } from '../../platform/http/responses.ts'

const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const

const Timestamp = Type.String({ format: 'date-time' })
const RedirectUris = Type.Array(Type.String({ minLength: 1, maxLength: 2000 }), {
  maxItems: 20,
  description:
    'Where the authorization server may send the user back; matched exactly. Needed with `authorization_code`.',
})
const GrantTypes = Type.Array(Type.Enum([...GRANT_TYPES]), {
  minItems: 1,
  maxItems: 3,
  uniqueItems: true,
  description: 'Any of `authorization_code`, `refresh_token`, `client_credentials`',
})
const Scopes = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
  maxItems: 100,
  description: 'The scopes the app may ask for (`posts:read`, `read`, …); default `["read"]`',
})
const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none'] as const
const AuthMethod = Type.Enum([...AUTH_METHODS], {
  description:
    'How the app authenticates at the token endpoint: `client_secret_basic` (default), `client_secret_post`, ' +
    'or `none` for a public app (a browser or mobile app that cannot keep a secret: no secret, PKCE, no `client_credentials`)',
})
const Name = Type.String({ minLength: 1, maxLength: 255, pattern: '\\S' })

const ClientOut = Type.Object({
  id: Type.Integer(),
  client_id: Type.String({ description: 'The public identifier the app sends to `/oauth2/*`' }),
  name: Type.String(),
  redirect_uris: Type.Array(Type.String()),
  grant_types: Type.Array(Type.String()),
  scopes: Type.Array(Type.String()),
  token_endpoint_auth_method: Type.String(),
  created_at: Timestamp,
  updated_at: Timestamp,
})

export const CLIENT_EXAMPLE = {
  id: 3,
  client_id: 'oc_4kXb9Qw2ZrT7mPa1LsV8nD0c',
  name: 'Acme reports',
  redirect_uris: ['https://reports.acme.test/callback'],
  grant_types: ['authorization_code', 'refresh_token'],
  scopes: ['posts:read'],
  token_endpoint_auth_method: 'client_secret_basic',
  created_at: '2026-01-15T10:30:00Z',
  updated_at: '2026-01-15T10:30:00Z',
}
const SECRET_EXAMPLE = 'ocs_9fQ2mL7xR4tZ1bN8vK3cH6wY0pJ5sD2gA7eU4iO1'

export const OAuthClient = component('OAuthClient', ClientOut, {
  description: 'A partner app allowed to ask for OAuth tokens',
  example: CLIENT_EXAMPLE,
})

export const OAuthClientWithSecret = component(
  'OAuthClientWithSecret',
  Type.Object({
    ...ClientOut.properties,
    client_secret: Type.Union([Type.String(), Type.Null()], {
      description: 'Shown only here: store it now. Null for a public app.',
    }),
  }),
  {
    description: 'A partner app with its client secret, answered once at creation and rotation',
    example: { ...CLIENT_EXAMPLE, client_secret: SECRET_EXAMPLE },
  },
)

export const ClientCreate = Type.Object(
  {
    name: Name,
    redirect_uris: Type.Optional(RedirectUris),
    grant_types: GrantTypes,
    scopes: Type.Optional(Scopes),
    token_endpoint_auth_method: Type.Optional(AuthMethod),
  },
  {
    additionalProperties: false,
    examples: [
      {
        name: 'Acme reports',
        redirect_uris: ['https://reports.acme.test/callback'],
        grant_types: ['authorization_code', 'refresh_token'],
        scopes: ['posts:read'],
      },
    ],
  },
)

export const ClientUpdate = Type.Object(
  {
    name: Type.Optional(Name),
    redirect_uris: Type.Optional(RedirectUris),
    grant_types: Type.Optional(GrantTypes),
    scopes: Type.Optional(Scopes),
  },
  { additionalProperties: false, minProperties: 1, examples: [{ name: 'Acme reports (new)' }] },
)

export const ClientParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) })

export const clientList: ListSpec = {
  sortable: ['id', 'name', 'created_at', 'updated_at'],
  defaultSort: '-created_at',
  fields: Object.keys(ClientOut.properties).filter((f) => f !== 'id'),
  includes: [],
}

// The apps a person has authorised (their grants).

const GrantOut = Type.Object({
  id: Type.String({ description: 'The grant, as `DELETE /api/auth/grants/{id}` names it' }),
  client_id: Type.String({ description: 'The app' }),
  client_name: Type.String(),
  scopes: Type.Array(Type.String(), { description: 'What the person allowed the app' }),
  created_at: Timestamp,
  last_used_at: Type.Union([Timestamp, Type.Null()], {
    description:
      'When the app last obtained a token under this grant (the code exchange or a refresh); null when never',
  }),
  expires_at: Type.Union([Timestamp, Type.Null()], {
    description: 'When the grant ends unless the app refreshes its tokens',
  }),
})

const GRANT_EXAMPLE = {
  id: 'Vb3kQ0mZ7xR2pL9sT4cH8yW1nJ6dF5gA0eU3iO2qK7s',
  client_id: 'oc_4kXb9Qw2ZrT7mPa1LsV8nD0c',
  client_name: 'Acme reports',
  scopes: ['posts:read'],
  created_at: '2026-01-15T10:30:00Z',
  last_used_at: '2026-01-16T08:02:11Z',
  expires_at: '2026-02-14T10:30:00Z',
}

export const OAuthGrant = component('OAuthGrant', GrantOut, {
  description: 'A partner app the signed-in person has authorised to act for them',
  example: GRANT_EXAMPLE,
})

export const GrantParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' }),
})

export const grantList: ListSpec = {
  sortable: ['created_at', 'last_used_at', 'client_name'],
  defaultSort: '-created_at',
  fields: Object.keys(GrantOut.properties).filter((f) => f !== 'id'),
  includes: [],
}
