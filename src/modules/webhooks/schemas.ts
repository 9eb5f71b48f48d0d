import { Type } from 'typebox'
import type { ListSpec } from '../../platform/http/list.ts'

const Timestamp = Type.String({ format: 'date-time' })
const NullableTimestamp = Type.Union([Timestamp, Type.Null()])
const Url = Type.String({ minLength: 1, maxLength: 2048, description: 'HTTPS URL on the public internet' })
const Events = Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
  minItems: 1,
  maxItems: 50,
  uniqueItems: true,
  description: 'Event types (`post.created`), resource wildcards (`post.*`) or `*`',
})
const Secret = Type.String({
  maxLength: 200,
  description: '`whsec_` + base64 of 24 to 64 bytes; generated when omitted',
})

export const EndpointOut = Type.Object({
  id: Type.Integer(),
  url: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  events: Type.Array(Type.String()),
  is_active: Type.Boolean(),
  disabled_reason: Type.Union([Type.String(), Type.Null()]),
  success_count: Type.Integer(),
  failure_count: Type.Integer(),
  consecutive_failures: Type.Integer(),
  last_delivery_at: NullableTimestamp,
  created_at: Timestamp,
  updated_at: Timestamp,
})

export const EndpointCreated = Type.Object({
  ...EndpointOut.properties,
  secret: Type.String({ description: 'The signing secret. Returned only once: store it securely.' }),
})

export const EndpointCreate = Type.Object(
  {
    url: Url,
    events: Events,
    secret: Type.Optional(Secret),
    description: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
)

export const EndpointUpdate = Type.Object(
  {
    url: Type.Optional(Url),
    events: Type.Optional(Events),
    is_active: Type.Optional(
      Type.Boolean({ description: 'false pauses deliveries; true re-enables a disabled endpoint' }),
    ),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 500 }), Type.Null()])),
  },
  { additionalProperties: false, minProperties: 1 },
)

export const SecretRotate = Type.Object(
  {
    secret: Type.Optional(Secret),
    grace_period_hours: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 720,
        description: 'Hours the old secret still signs (default 24)',
      }),
    ),
  },
  { additionalProperties: false },
)

export const SecretRotated = Type.Object({
  id: Type.Integer(),
  secret: Type.String({ description: 'The new signing secret. Returned only once.' }),
  previous_secret_expires_at: NullableTimestamp,
})

export const TestResult = Type.Object({
  success: Type.Boolean(),
  status_code: Type.Union([Type.Integer(), Type.Null()]),
  response_time_ms: Type.Integer(),
  response_body: Type.Optional(Type.String()),
  error: Type.Optional(Type.String()),
  delivery_id: Type.Integer(),
})

export const DeliveryOut = Type.Object({
  id: Type.Integer(),
  event_id: Type.String(),
  event_type: Type.String(),
  status: Type.String(),
  attempt: Type.Integer(),
  response_code: Type.Union([Type.Integer(), Type.Null()]),
  response_time_ms: Type.Union([Type.Integer(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
  next_retry_at: NullableTimestamp,
  delivered_at: NullableTimestamp,
  created_at: Timestamp,
  request: Type.Optional(
    Type.Union([
      Type.Object({ url: Type.String(), headers: Type.Record(Type.String(), Type.String()) }),
      Type.Null(),
    ]),
  ),
  response_body: Type.Optional(Type.Union([Type.String(), Type.Null()])),
})

export const RetryOut = Type.Object({
  message: Type.String(),
  data: Type.Object({ id: Type.Integer(), status: Type.String(), attempt: Type.Integer() }),
})

export const EndpointParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) })
export const DeliveryParams = Type.Object({
  webhook_id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }),
  delivery_id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }),
})

export const endpointList: ListSpec = {
  sortable: ['id', 'url', 'created_at', 'updated_at', 'last_delivery_at'],
  defaultSort: '-created_at',
  fields: Object.keys(EndpointOut.properties).filter((f) => f !== 'id'),
  includes: [],
  statuses: ['active', 'disabled'],
}

export const deliveryList: ListSpec = {
  sortable: ['id', 'created_at'],
  defaultSort: '-created_at',
  fields: [
    'event_id',
    'event_type',
    'status',
    'attempt',
    'response_code',
    'response_time_ms',
    'error',
    'next_retry_at',
    'delivered_at',
    'created_at',
  ],
  includes: [],
  statuses: ['pending', 'success', 'failed', 'retrying'],
  filters: {
    event_type: Type.String({ minLength: 1, maxLength: 100, description: 'Deliveries of this event type' }),
  },
}
