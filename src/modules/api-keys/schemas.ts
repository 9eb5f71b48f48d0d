import { Type } from 'typebox'
import { TIERS } from '../../platform/auth/index.ts'
import type { ListSpec } from '../../platform/http/list.ts'
import { component } from '../../platform/http/responses.ts'
import { UserRef } from '../users/index.ts'

const Scopes = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
  maxItems: 50,
  uniqueItems: true,
  description: '`resource:action` scopes, or the shorthands `read`, `write`, `delete`, `resource:*`, `*`',
})
const KeyTier = Type.Enum([...TIERS], {
  description: "Rate-limit tier; null (or none) follows the workspace's tier, also when it changes",
})
const EffectiveTier = Type.String({
  description:
    "The tier the key is limited by: its own, or its workspace's when it was created without one (it then follows the workspace's tier when that changes)",
})
const Timestamp = Type.String({ format: 'date-time' })
const NullableTimestamp = Type.Union([Timestamp, Type.Null()])

const ApiKeyOut = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  prefix: Type.String({ description: 'The visible start of the key, to recognise it' }),
  environment: Type.Enum(['live', 'test']),
  scopes: Type.Array(Type.String()),
  rate_limit_tier: EffectiveTier,
  status: Type.Enum(['active', 'expired', 'revoked'], {
    description: '`expired` once `expires_at` has passed; `revoked` once revoked (it never works again)',
  }),
  last_used_at: NullableTimestamp,
  expires_at: NullableTimestamp,
  created_at: Timestamp,
  revoked_at: Type.Union([Timestamp, Type.Null()], { description: 'When the key was revoked' }),
  revoked_by: Type.Union(
    [
      Type.Object({
        type: Type.String({ description: 'Credential type: `api_key`, `master_key` …' }),
        key_id: Type.Union([Type.Integer(), Type.Null()], { description: 'The key that revoked it' }),
        user_id: Type.Union([Type.Integer(), Type.Null()], {
          description: 'The user behind that credential',
        }),
      }),
      Type.Null(),
    ],
    { description: 'Who revoked the key (by revocation, or a rotation with no grace period)' },
  ),
  user: Type.Optional(
    Type.Union([UserRef, Type.Null()], { description: 'With `include=user`: who created it' }),
  ),
})

const ApiKeyCreated = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  key: Type.String({ description: 'The full secret. Returned only once: store it securely.' }),
  prefix: Type.String(),
  environment: Type.Enum(['live', 'test']),
  scopes: Type.Array(Type.String()),
  rate_limit_tier: EffectiveTier,
  expires_at: NullableTimestamp,
  created_at: Timestamp,
})

const ApiKeyRotated = Type.Object({
  ...ApiKeyCreated.properties,
  rotated_from_id: Type.Integer({ description: 'The key this one replaces' }),
  grace_period_ends_at: Type.String({ format: 'date-time', description: 'When the old key stops working' }),
})

export const API_KEY_EXAMPLE = {
  id: 1,
  name: 'Production API Key',
  prefix: 'sk_live_abc',
  environment: 'live',
  scopes: ['posts:read', 'posts:write'],
  rate_limit_tier: 'pro',
  status: 'active',
  last_used_at: '2026-01-15T10:30:00Z',
  expires_at: null,
  created_at: '2026-01-01T00:00:00Z',
  revoked_at: null,
  revoked_by: null,
}

export const API_KEY_CREATED_EXAMPLE = {
  id: 2,
  name: 'Mobile App Key',
  key: 'sk_live_abc123def456ghi789jkl012mno345pq',
  prefix: 'sk_live_abc',
  environment: 'live',
  scopes: ['posts:read', 'users:read'],
  rate_limit_tier: 'pro',
  expires_at: '2027-01-01T00:00:00Z',
  created_at: '2026-01-15T10:30:00Z',
}

export const ApiKey = component('ApiKey', ApiKeyOut, {
  description: 'An API key as listed: never the secret, only its prefix',
  example: API_KEY_EXAMPLE,
})

export const ApiKeyWithSecret = component('ApiKeyCreated', ApiKeyCreated, {
  description: 'A new API key: `key` is the secret, shown only in this response',
  example: API_KEY_CREATED_EXAMPLE,
})

export const ApiKeyRotation = component('ApiKeyRotated', ApiKeyRotated, {
  description: 'The key that replaces a rotated one: `key` is the secret, shown only in this response',
  example: {
    ...API_KEY_CREATED_EXAMPLE,
    id: 3,
    key: 'sk_live_new123key456abc789def012ghi345jk',
    rotated_from_id: 2,
    grace_period_ends_at: '2026-01-16T10:30:00Z',
  },
})

export const ApiKeyCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255, pattern: '\\S' }),
    scopes: Type.Optional(Scopes),
    rate_limit_tier: Type.Optional(Type.Union([KeyTier, Type.Null()])),
    expires_at: Type.Optional(Type.Union([Timestamp, Type.Null()], { description: 'null = never' })),
    environment: Type.Optional(
      Type.Enum(['live', 'test'], { description: 'sk_live_ (default) or sk_test_' }),
    ),
  },
  {
    additionalProperties: false,
    examples: [
      {
        name: 'Mobile App Key',
        scopes: ['posts:read', 'users:read'],
        rate_limit_tier: 'pro',
        expires_at: '2027-01-01T00:00:00Z',
      },
    ],
  },
)

export const ApiKeyRotate = Type.Object(
  {
    grace_period_hours: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 720,
        description: 'Hours both keys work (default 24; 0 = none, which needs api-keys:delete)',
      }),
    ),
  },
  { additionalProperties: false, examples: [{ grace_period_hours: 24 }] },
)

export const ApiKeyParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) })

export const apiKeyList: ListSpec = {
  sortable: ['id', 'name', 'created_at', 'updated_at', 'last_used_at', 'expires_at', 'revoked_at'],
  defaultSort: '-created_at',
  fields: [
    'name',
    'prefix',
    'environment',
    'scopes',
    'rate_limit_tier',
    'status',
    'last_used_at',
    'expires_at',
    'created_at',
    'revoked_at',
    'revoked_by',
  ],
  includes: ['user'],
  // Without a status the list shows the keys that were not revoked (active and expired).
  statuses: ['active', 'expired', 'revoked'],
  search: true,
}
