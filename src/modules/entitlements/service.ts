// Entitlements: what a workspace's plan allows, what it uses, and the one place limits are
// enforced. Count features are counted from their rows by the owning module's counter, under
// a per-workspace lock taken in the creating transaction; metered features are counters that
// reset each calendar month (UTC); sizes are counters that never reset.
import type { PrincipalWorkspace } from '../../platform/auth/index.ts'
import type { Executor } from '../../platform/db/index.ts'
import type { Deps } from '../../platform/deps.ts'
import { ApiError } from '../../platform/http/errors.ts'
import { isoSeconds } from '../../platform/lib/clock.ts'
import type { FeatureDef, Plans } from './plans.ts'
import { addUsage, lockFeature, purgeUsageBefore, readUsage, rememberEvent } from './store.ts'

/** Counts the resources of a count feature that exist in a workspace now. */
export type Counter = (db: Executor, workspaceId: number, now: Date) => Promise<number>

const EPOCH = new Date(0)

function percentage(used: number, limit: number | null): number | null {
  if (limit === null) return null
  if (limit === 0) return used > 0 ? 100 : 0
  return Math.round((used / limit) * 10_000) / 100
}

export class EntitlementService {
  private readonly deps: Deps
  private readonly plans: Plans
  private readonly counters = new Map<string, Counter>()

  constructor(deps: Deps, plans: Plans) {
    this.deps = deps
    this.plans = plans
  }

  /** Modules that own a count feature register how to count it. */
  registerCounter(feature: string, counter: Counter): void {
    this.counters.set(feature, counter)
  }

  feature(name: string): FeatureDef {
    const def = this.plans.features.get(name)
    if (!def) {
      const known = [...this.plans.features.keys()].join(', ')
      throw ApiError.invalid('feature', `Unknown feature "${name}". Features: ${known}.`)
    }
    return def
  }

  /** The start of the feature's current period and when it resets (null: never). */
  private period(def: FeatureDef, now: number): { start: Date; resetAt: Date | null } {
    if (def.period !== 'month') return { start: EPOCH, resetAt: null }
    const d = new Date(now)
    return {
      start: new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)),
      resetAt: new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)),
    }
  }

  private async used(db: Executor, workspaceId: number, def: FeatureDef, now: number): Promise<number> {
    if (def.kind === 'count') {
      const counter = this.counters.get(def.name)
      return counter ? counter(db, workspaceId, new Date(now)) : 0
    }
    return readUsage(db, workspaceId, def.name, this.period(def, now).start)
  }

  private limitReached(def: FeatureDef, used: number, limit: number): ApiError {
    return new ApiError('feature_limit_reached', undefined, {
      feature: def.name,
      limit,
      current_usage: used,
      upgrade_url: this.plans.upgradeUrl,
    })
  }

  async check(workspace: PrincipalWorkspace, feature: string, quantity: number) {
    const def = this.feature(feature)
    const now = this.deps.clock.now()
    const used = await this.used(this.deps.db, workspace.id, def, now)
    const limit = this.plans.limit(workspace.tier, feature)
    const available = limit === null ? null : Math.max(0, limit - used)
    if (limit === null || used + quantity <= limit) {
      return { allowed: true, feature, current_usage: used, limit, available }
    }
    return {
      allowed: false,
      feature,
      reason: 'LIMIT_EXCEEDED' as const,
      message: `${def.label} limit exceeded. Used: ${used}, Limit: ${limit}`,
      current_usage: used,
      limit,
      available,
      upgrade_url: this.plans.upgradeUrl,
    }
  }

  async record(
    workspace: PrincipalWorkspace,
    input: { feature: string; quantity: number; eventId: string | null },
  ) {
    const def = this.feature(input.feature)
    if (def.kind === 'count') {
      throw ApiError.invalid(
        'feature',
        `${input.feature} is counted from its resources and cannot be recorded.`,
      )
    }
    const { db, clock } = this.deps
    const now = clock.now()
    const limit = this.plans.limit(workspace.tier, def.name)
    const hardLimit = def.enforcement === 'hard' ? limit : null
    const { start } = this.period(def, now)
    const result: number = await db.transaction(async (tx) => {
      if (input.eventId !== null) {
        const first = await rememberEvent(tx, {
          workspaceId: workspace.id,
          eventId: input.eventId,
          feature: def.name,
          quantity: input.quantity,
          createdAt: new Date(now),
        })
        if (!first) return readUsage(tx, workspace.id, def.name, start) // counted already
      }
      const used = await addUsage(tx, {
        workspaceId: workspace.id,
        feature: def.name,
        periodStart: start,
        quantity: input.quantity,
        limit: hardLimit,
        now: new Date(now),
      })
      if (used === null) {
        // Refused: undo the remembered event id with the rest of the transaction.
        throw this.limitReached(def, await readUsage(tx, workspace.id, def.name, start), hardLimit!)
      }
      return used
    })
    return { recorded: true, feature: def.name, current_usage: result, limit }
  }

  async summary(workspace: PrincipalWorkspace) {
    const now = this.deps.clock.now()
    const entitlements: Record<string, Record<string, unknown>> = {}
    for (const def of this.plans.features.values()) {
      const used = await this.used(this.deps.db, workspace.id, def, now)
      const limit = this.plans.limit(workspace.tier, def.name)
      const entry: Record<string, unknown> = {
        used,
        limit,
        available: limit === null ? null : Math.max(0, limit - used),
        percentage: percentage(used, limit),
      }
      if (def.kind === 'metered') entry.reset_at = isoSeconds(this.period(def, now).resetAt)
      if (def.kind === 'bytes') entry.unit = 'bytes'
      entitlements[def.name] = entry
    }
    return { workspace_id: workspace.id, tier: workspace.tier, entitlements }
  }

  /**
   * Forgets usage older than USAGE_RETENTION_DAYS, in bounded batches: remembered event ids and
   * the counters of past monthly periods. The current and the previous month are always kept
   * (the summary, a late retry of a record, and the last invoice need them), and so are the
   * counters of features that never reset. Returns the rows deleted.
   */
  async purgeUsage(batchSize = 1000, maxBatches = 100): Promise<number> {
    const now = new Date(this.deps.clock.now())
    const previousPeriod = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)
    const retained = now.getTime() - this.deps.config.usageRetentionDays * 86_400_000
    const cutoff = new Date(Math.min(retained, previousPeriod))
    // A period's counter goes once the whole period is past the cutoff.
    const periodsBefore = new Date(Date.UTC(cutoff.getUTCFullYear(), cutoff.getUTCMonth(), 1))
    return purgeUsageBefore(this.deps.db, { cutoff, periodsBefore, batchSize, maxBatches })
  }

  /**
   * Inside the transaction that creates `quantity` resources of a count feature: refuses with
   * 403 `feature_limit_reached` beyond a hard limit. The lock it takes serialises concurrent
   * creators in the workspace until the transaction ends, so the count cannot go stale.
   */
  async reserve(tx: Executor, workspace: PrincipalWorkspace, feature: string, quantity = 1): Promise<void> {
    const def = this.feature(feature)
    const limit = this.plans.limit(workspace.tier, feature)
    if (limit === null || def.enforcement !== 'hard') return
    await lockFeature(tx, workspace.id, feature)
    const used = await this.used(tx, workspace.id, def, this.deps.clock.now())
    if (used + quantity > limit) throw this.limitReached(def, used, limit)
  }
}
