import { Type } from 'typebox'
import { TIERS } from '../../platform/auth/index.ts'
import type { ListSpec } from '../../platform/http/list.ts'
import { UserRef } from '../workspaces/schemas.ts'

const Scopes = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
  maxItems: 50,
  uniqueItems: true,
  description: '`resource:action` scopes, or the shorthands `read`, `write`, `delete`, `resource:*`, `*`',
})
const KeyTier = Type.Enum([...TIERS], { description: 'Rate-limit tier; null inherits the workspace tier' })
const Timestamp = Type.String({ format: 'date-time' })
const NullableTimestamp = Type.Union([Timestamp, Type.Null()])

export const ApiKeyOut = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  prefix: Type.String({ description: 'The visible start of the key, to recognise it' }),
  environment: Type.Enum(['live', 'test']),
  scopes: Type.Array(Type.String()),
  rate_limit_tier: Type.Union([Type.String(), Type.Null()]),
  status: Type.Enum(['active', 'expired'], { description: '`expired` once `expires_at` has passed' }),
  last_used_at: NullableTimestamp,
  expires_at: NullableTimestamp,
  created_at: Timestamp,
  user: Type.Optional(
    Type.Union([UserRef, Type.Null()], { description: 'With `include=user`: who created it' }),
  ),
})

export const ApiKeyCreated = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  key: Type.String({ description: 'The full secret. Returned only once: store it securely.' }),
  prefix: Type.String(),
  environment: Type.Enum(['live', 'test']),
  scopes: Type.Array(Type.String()),
  rate_limit_tier: Type.Union([Type.String(), Type.Null()]),
  expires_at: NullableTimestamp,
  created_at: Timestamp,
})

export const ApiKeyRotated = Type.Object({
  ...ApiKeyCreated.properties,
  rotated_from_id: Type.Integer({ description: 'The key this one replaces' }),
  grace_period_ends_at: Type.String({ format: 'date-time', description: 'When the old key stops working' }),
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
  { additionalProperties: false },
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
  { additionalProperties: false },
)

export const ApiKeyParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) })

export const apiKeyList: ListSpec = {
  sortable: ['id', 'name', 'created_at', 'updated_at', 'last_used_at', 'expires_at'],
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
  ],
  includes: ['user'],
  statuses: ['active', 'expired'],
  search: true,
}
