import { type Static, Type } from 'typebox'

const Feature = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'Feature key, such as posts or api_calls',
})
const Quantity = Type.Integer({
  minimum: 1,
  maximum: 1_000_000_000_000,
  description: 'A positive whole number',
})
const Limit = Type.Union([Type.Integer(), Type.Null()], { description: 'null: unlimited' })

export const CheckQuery = Type.Object(
  { feature: Feature, quantity: Type.Optional({ ...Quantity, default: 1 }) },
  { additionalProperties: false },
)

export const CheckOut = Type.Object(
  {
    allowed: Type.Boolean(),
    feature: Type.String(),
    reason: Type.Optional(Type.Literal('LIMIT_EXCEEDED')),
    message: Type.Optional(Type.String()),
    current_usage: Type.Integer(),
    limit: Limit,
    available: Limit,
    upgrade_url: Type.Optional(Type.String()),
  },
  {
    description: 'Whether the workspace may use that much more of the feature (a refusal is still 200)',
    examples: [
      { allowed: true, feature: 'posts', current_usage: 45, limit: 100, available: 55 },
      {
        allowed: false,
        feature: 'posts',
        reason: 'LIMIT_EXCEEDED',
        message: 'Post limit exceeded. Used: 100, Limit: 100',
        current_usage: 100,
        limit: 100,
        available: 0,
        upgrade_url: 'https://example.com/upgrade',
      },
    ],
  },
)

export const UsageIn = Type.Object(
  {
    feature: Feature,
    quantity: Type.Optional({ ...Quantity, default: 1 }),
    event_id: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 255,
        description: 'Your id for this usage event: a retried record with the same id counts once',
      }),
    ),
    metadata: Type.Optional(
      Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), {
        maxProperties: 50,
        description: 'Free-form context for your own logs; not stored',
      }),
    ),
  },
  {
    additionalProperties: false,
    examples: [{ feature: 'api_calls', quantity: 1, metadata: { endpoint: '/api/v1/posts' } }],
  },
)

export const UsageOut = Type.Object(
  {
    recorded: Type.Boolean(),
    feature: Type.String(),
    current_usage: Type.Integer(),
    limit: Limit,
  },
  {
    description: 'The usage was recorded',
    examples: [{ recorded: true, feature: 'api_calls', current_usage: 5001, limit: 10000 }],
  },
)

const SummaryEntryOut = Type.Object({
  used: Type.Integer(),
  limit: Limit,
  available: Limit,
  percentage: Type.Union([Type.Number(), Type.Null()]),
  reset_at: Type.Optional(Type.String({ format: 'date-time' })),
  unit: Type.Optional(Type.Literal('bytes')),
})

export type SummaryEntry = Static<typeof SummaryEntryOut>

export const SummaryOut = Type.Object(
  {
    data: Type.Object({
      workspace_id: Type.Integer(),
      tier: Type.String(),
      entitlements: Type.Record(Type.String(), SummaryEntryOut),
      upgrade_url: Type.Union([Type.String(), Type.Null()], {
        description:
          "Where to raise the plan's limits (the plans file's `upgrade_url`, as in every " +
          '`feature_limit_reached` refusal); null when none is configured.',
      }),
    }),
  },
  {
    description: "Every feature of the workspace's plan",
    examples: [
      {
        data: {
          workspace_id: 1,
          tier: 'pro',
          entitlements: {
            posts: { used: 45, limit: 1000, available: 955, percentage: 4.5 },
            api_calls: {
              used: 5001,
              limit: 100000,
              available: 94999,
              percentage: 5,
              reset_at: '2026-02-01T00:00:00Z',
            },
            storage: {
              used: 1073741824,
              limit: 5368709120,
              available: 4294967296,
              percentage: 20,
              unit: 'bytes',
            },
          },
          upgrade_url: 'https://example.com/upgrade',
        },
      },
    ],
  },
)
