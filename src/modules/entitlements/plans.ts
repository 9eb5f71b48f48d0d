// Plans: which features each tier gets and how much. The defaults ship in config/plans.json;
// an operator's PLANS_FILE (same format) replaces the features and plans it names. Loaded and
// checked once at start.
import { readFileSync } from 'node:fs'
import { Type } from 'typebox'
import { TIERS, type Tier } from '../../platform/auth/index.ts'
import { toFieldErrors, validatorCompiler } from '../../platform/http/validation.ts'

const Feature = Type.Object(
  {
    kind: Type.Enum(['count', 'metered', 'bytes'], {
      description: 'count: resources that exist now; metered: a quantity reset each period; bytes: a size',
    }),
    period: Type.Optional(Type.Enum(['month'])),
    enforcement: Type.Enum(['hard', 'soft'], { description: 'hard limits refuse; soft limits only report' }),
    label: Type.String({ minLength: 1 }),
  },
  { additionalProperties: false },
)

const PlansFile = Type.Object({
  $comment: Type.Optional(Type.String()),
  upgrade_url: Type.Optional(Type.String()),
  features: Type.Optional(Type.Record(Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$' }), Feature)),
  plans: Type.Optional(
    Type.Record(
      Type.String(),
      Type.Record(Type.String(), Type.Union([Type.Integer({ minimum: 0 }), Type.Null()])),
    ),
  ),
})

export type FeatureDef = {
  name: string
  kind: 'count' | 'metered' | 'bytes'
  period: 'month' | null
  enforcement: 'hard' | 'soft'
  label: string
}

export type Plans = Readonly<{
  upgradeUrl: string
  features: ReadonlyMap<string, FeatureDef>
  /** Limit per tier and feature; null is unlimited. */
  limit(tier: Tier, feature: string): number | null
}>

type RawPlans = {
  upgrade_url?: string
  features?: Record<string, Omit<FeatureDef, 'name' | 'period'> & { period?: 'month' }>
  plans?: Record<string, Record<string, number | null>>
}

const DEFAULTS = new URL('../../../config/plans.json', import.meta.url)

function read(path: string | URL): RawPlans {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as unknown
  const check = validatorCompiler({
    schema: PlansFile,
    httpPart: 'body',
    method: 'GET',
    url: '',
  }) as unknown as {
    (v: unknown): boolean
    errors: never
  }
  if (!check(raw))
    throw new Error(`Invalid plans file ${path}: ${JSON.stringify(toFieldErrors(check.errors))}`)
  return raw as RawPlans
}

export function loadPlans(operatorFile: string | null): Plans {
  const base = read(DEFAULTS)
  const override = operatorFile ? read(operatorFile) : {}
  const featureDefs = { ...base.features, ...override.features }
  const plans = { ...base.plans, ...override.plans }
  const features = new Map<string, FeatureDef>()
  for (const [name, def] of Object.entries(featureDefs)) {
    if (def.kind === 'metered' && !def.period) throw new Error(`Feature ${name} is metered but has no period`)
    features.set(name, { name, ...def, period: def.period ?? null })
  }
  for (const tier of TIERS) {
    const plan = plans[tier]
    if (!plan) throw new Error(`The plans have no "${tier}" plan`)
    for (const name of features.keys()) {
      if (!(name in plan))
        throw new Error(`The ${tier} plan has no limit for "${name}" (use null for unlimited)`)
    }
  }
  return Object.freeze({
    upgradeUrl: override.upgrade_url ?? base.upgrade_url ?? '',
    features,
    limit: (tier: Tier, feature: string) => plans[tier]?.[feature] ?? null,
  })
}
