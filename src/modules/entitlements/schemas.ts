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

export const CheckOut = Type.Object({
  allowed: Type.Boolean(),
  feature: Type.String(),
  reason: Type.Optional(Type.Literal('LIMIT_EXCEEDED')),
  message: Type.Optional(Type.String()),
  current_usage: Type.Integer(),
  limit: Limit,
  available: Limit,
  upgrade_url: Type.Optional(Type.String()),
})

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
  { additionalProperties: false },
)

export const UsageOut = Type.Object({
  recorded: Type.Boolean(),
  feature: Type.String(),
  current_usage: Type.Integer(),
  limit: Limit,
})

const SummaryEntryOut = Type.Object({
  used: Type.Integer(),
  limit: Limit,
  available: Limit,
  percentage: Type.Union([Type.Number(), Type.Null()]),
  reset_at: Type.Optional(Type.String({ format: 'date-time' })),
  unit: Type.Optional(Type.Literal('bytes')),
})

export type SummaryEntry = Static<typeof SummaryEntryOut>

export const SummaryOut = Type.Object({
  data: Type.Object({
    workspace_id: Type.Integer(),
    tier: Type.String(),
    entitlements: Type.Record(Type.String(), SummaryEntryOut),
  }),
})
