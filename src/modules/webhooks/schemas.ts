import { Type } from 'typebox'
import type { ListSpec } from '../../platform/http/list.ts'
import { component } from '../../platform/http/responses.ts'

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

const EndpointOut = Type.Object({
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

const EndpointCreated = Type.Object({
  ...EndpointOut.properties,
  secret: Type.String({ description: 'The signing secret. Returned only once: store it securely.' }),
})

export const ENDPOINT_EXAMPLE = {
  id: 1,
  url: 'https://your-app.com/webhooks',
  description: null,
  events: ['post.created', 'post.updated'],
  is_active: true,
  disabled_reason: null,
  success_count: 150,
  failure_count: 2,
  consecutive_failures: 0,
  last_delivery_at: '2026-01-15T10:30:00Z',
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-15T10:30:00Z',
}

export const WebhookEndpoint = component('WebhookEndpoint', EndpointOut, {
  description: 'An endpoint that receives signed events (Standard Webhooks)',
  example: ENDPOINT_EXAMPLE,
})

export const WebhookEndpointCreated = component('WebhookEndpointCreated', EndpointCreated, {
  description: 'A new endpoint: `secret` signs its deliveries and is shown only in this response',
  example: {
    ...ENDPOINT_EXAMPLE,
    id: 2,
    events: ['post.created', 'post.updated', 'post.deleted'],
    success_count: 0,
    failure_count: 0,
    last_delivery_at: null,
    created_at: '2026-01-15T10:30:00Z',
    updated_at: '2026-01-15T10:30:00Z',
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  },
})

export const EndpointCreate = Type.Object(
  {
    url: Url,
    events: Events,
    secret: Type.Optional(Secret),
    description: Type.Optional(Type.String({ maxLength: 500 })),
  },
  {
    additionalProperties: false,
    examples: [
      { url: 'https://your-app.com/webhooks', events: ['post.created', 'post.updated', 'post.deleted'] },
    ],
  },
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
  {
    additionalProperties: false,
    minProperties: 1,
    examples: [{ url: 'https://new-url.com/webhooks', events: ['post.*'], is_active: true }],
  },
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
  { additionalProperties: false, examples: [{ grace_period_hours: 24 }] },
)

const SecretRotated = Type.Object({
  id: Type.Integer(),
  secret: Type.String({ description: 'The new signing secret. Returned only once.' }),
  previous_secret_expires_at: NullableTimestamp,
})

export const WebhookSecret = component('WebhookSecret', SecretRotated, {
  description: 'The new signing secret, shown only in this response',
  example: {
    id: 1,
    secret: 'whsec_Hq7cN1vR0wVxk2yT5uIoPaSdFgHjKlZx',
    previous_secret_expires_at: '2026-01-16T10:30:00Z',
  },
})

export const TestResult = Type.Object(
  {
    success: Type.Boolean(),
    status_code: Type.Union([Type.Integer(), Type.Null()]),
    response_time_ms: Type.Integer(),
    response_body: Type.Optional(Type.String()),
    error: Type.Optional(Type.String()),
    delivery_id: Type.Integer(),
  },
  {
    description: 'The outcome of the test send (200 whether the receiver accepted it or not)',
    examples: [
      {
        success: true,
        status_code: 200,
        response_time_ms: 145,
        response_body: '{"received": true}',
        delivery_id: 17,
      },
      {
        success: false,
        status_code: 500,
        error: 'Connection timeout',
        response_time_ms: 30000,
        delivery_id: 18,
      },
    ],
  },
)

/** Attempts a single delivery shows. */
export const MAX_ATTEMPTS_SHOWN = 50

const AttemptOut = Type.Object({
  attempt: Type.Integer({ description: '1 for the first attempt' }),
  started_at: Timestamp,
  finished_at: Timestamp,
  duration_ms: Type.Integer(),
  response_code: Type.Union([Type.Integer(), Type.Null()], {
    description: "The receiver's HTTP status; null when it never answered",
  }),
  error: Type.Union([Type.String(), Type.Null()], {
    description: 'Why the attempt failed (`HTTP 500`, `Connection refused`); null on success',
  }),
  response_body: Type.Union([Type.String(), Type.Null()], {
    description: 'The start of the answer (at most 4 KiB)',
  }),
})

const DeliveryOut = Type.Object({
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
  attempts: Type.Optional(
    Type.Array(AttemptOut, {
      description: `The single delivery only: its attempts, newest first (at most ${MAX_ATTEMPTS_SHOWN})`,
    }),
  ),
})

export const WebhookDelivery = component('WebhookDelivery', DeliveryOut, {
  description:
    'One event sent to one endpoint; a single delivery also shows `request`, `response_body` (of the last ' +
    'attempt) and every `attempts`',
  example: {
    id: 2,
    event_id: 'evt_xyz789',
    event_type: 'post.updated',
    status: 'retrying',
    attempt: 2,
    response_code: 500,
    response_time_ms: 212,
    error: 'HTTP 500',
    next_retry_at: '2026-01-15T10:35:00Z',
    delivered_at: null,
    created_at: '2026-01-15T10:30:00Z',
  },
})

export const RetryOut = Type.Object(
  {
    message: Type.String(),
    data: Type.Object({ id: Type.Integer(), status: Type.String(), attempt: Type.Integer() }),
  },
  {
    description: 'The delivery is queued for another attempt',
    examples: [{ message: 'Delivery queued for retry.', data: { id: 2, status: 'pending', attempt: 3 } }],
  },
)

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

const EventTypeOut = Type.Object({
  type: Type.String({ description: '`<resource>.<verb>`; subscribe to it, to `<resource>.*` or to `*`' }),
  description: Type.String(),
  read_scope: Type.String({ description: 'The scope a credential needs to subscribe to it' }),
  example: Type.Object(
    {
      id: Type.String(),
      type: Type.String(),
      timestamp: Timestamp,
      workspace_id: Type.Integer(),
      data: Type.Record(Type.String(), Type.Unknown()),
    },
    { description: 'A payload as a receiver gets it: the envelope with an example `data`' },
  ),
})

export const WebhookEventType = component('WebhookEventType', EventTypeOut, {
  description: 'An event type endpoints can subscribe to, with an example payload',
  example: {
    type: 'post.deleted',
    description: 'A post was deleted',
    read_scope: 'posts:read',
    example: {
      id: 'evt_2Vw8fXqJ4tLmN0pRsT6uYz1a',
      type: 'post.deleted',
      timestamp: '2026-01-15T10:30:00Z',
      workspace_id: 1,
      data: { id: 42, title: 'Hello, world' },
    },
  },
})

const STATS_INTERVALS = ['hour', 'day'] as const
/** The longest range stats cover, in whole UTC days or hours (so at most 2,160 hourly buckets). */
export const MAX_STATS_DAYS = 90

export const StatsQuery = Type.Object(
  {
    from: Type.Optional(
      Type.String({
        format: 'date-time',
        description:
          'Start of the range, inclusive, from 1970 (default: 14 days, or 24 hours for `hour`, before `to`)',
      }),
    ),
    to: Type.Optional(
      Type.String({
        format: 'date-time',
        description: 'End of the range, exclusive (default: the end of the current UTC day or hour)',
      }),
    ),
    interval: Type.Optional(
      Type.Enum([...STATS_INTERVALS], { description: 'Bucket size, UTC hours or days (default `day`)' }),
    ),
    webhook_id: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 2_147_483_647,
        description: 'Only the deliveries to this endpoint',
      }),
    ),
  },
  { additionalProperties: false },
)

const Counts = {
  succeeded: Type.Integer({ description: 'Deliveries that succeeded' }),
  failed: Type.Integer({ description: 'Deliveries that failed for good' }),
  pending: Type.Integer({ description: 'Deliveries not finished yet (pending or retrying)' }),
}

const StatsOut = Type.Object({
  from: Timestamp,
  to: Timestamp,
  interval: Type.String(),
  webhook_id: Type.Union([Type.Integer(), Type.Null()]),
  buckets: Type.Array(Type.Object({ start: Timestamp, ...Counts }), {
    description: 'Every bucket of the range, oldest first, empty ones included',
  }),
  totals: Type.Object({ ...Counts, total: Type.Integer() }),
  success_rate: Type.Union([Type.Number(), Type.Null()], {
    description: 'succeeded / (succeeded + failed), 0 to 1; null when none has finished',
  }),
})

export const WebhookStats = component('WebhookStats', StatsOut, {
  description:
    'Deliveries created in the range, counted by where they stand now, per UTC hour or day of their creation',
  example: {
    from: '2026-01-14T00:00:00Z',
    to: '2026-01-16T00:00:00Z',
    interval: 'day',
    webhook_id: null,
    buckets: [
      { start: '2026-01-14T00:00:00Z', succeeded: 120, failed: 2, pending: 0 },
      { start: '2026-01-15T00:00:00Z', succeeded: 98, failed: 0, pending: 3 },
    ],
    totals: { succeeded: 218, failed: 2, pending: 3, total: 223 },
    success_rate: 0.9909,
  },
})
