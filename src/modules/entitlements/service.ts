// Entitlements: what a workspace's plan allows, what it uses, and the one place limits are
// enforced. Count features are counted from their rows by the owning module's counter. A
// module that keeps a counter row in its create and delete transactions (posts, webhooks, api
// keys) is limited by one conditional increment of that row, whatever the workspace's size;
// the others are counted under a per-workspace lock taken in the creating transaction. Metered features are
// counters that reset each calendar month (UTC); sizes are counters that never reset.
import type { PrincipalWorkspace } from '../../platform/auth/index.ts'
import type { Executor } from '../../platform/db/index.ts'
import type { Deps } from '../../platform/deps.ts'
import { ApiError } from '../../platform/http/errors.ts'
import { isoSeconds } from '../../platform/lib/clock.ts'
import type { FeatureDef, Plans } from './plans.ts'
import type { SummaryEntry } from './schemas.ts'
import {
  addUsage,
  countersAfter,
  lockCounter,
  lockFeature,
  openCounter,
  purgeUsageBefore,
  readCounter,
  readUsage,
  recountCounter,
  releaseCounter,
  rememberEvent,
  reserveCounter,
} from './store.ts'

/** Counts the resources of a count feature that exist in a workspace now. */
export type Counter = (db: Executor, workspaceId: number, now: Date) => Promise<number>

export type CounterOptions = {
  /**
   * The module keeps the counter row: every create goes through `reserve` (or carries
   * `counterSteps` in its statement, calling `refused` when it admitted nothing) and every
   * delete through `release` (or `releaseStep`), in the transaction of the change. The
   * counter counts what `counter` counts, which must change with writes alone.
   */
  kept?: boolean
  /**
   * For a kept feature whose resources also stop counting with time, without any write (keys
   * that expire): counts the resources that count now. The kept counter then counts those
   * that may still count — an upper bound, exact through writes alone — so a create it admits
   * is within the limit, since what counts now is never more; a create it refuses is decided
   * by `live`, counted under the counter's row lock (O(resources), but only at the limit); and
   * the usage shown is `live`'s.
   */
  live?: Counter
}

/** A counter that was rebuilt from its resources. */
export type Recounted = { workspaceId: number; feature: string; before: number; after: number }

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
  private readonly kept = new Set<string>()
  private readonly live = new Map<string, Counter>()

  constructor(deps: Deps, plans: Plans) {
    this.deps = deps
    this.plans = plans
  }

  /** Modules that own a count feature register how to count it, and whether they keep its counter. */
  registerCounter(feature: string, counter: Counter, options: CounterOptions = {}): void {
    this.counters.set(feature, counter)
    if (options.kept) this.kept.add(feature)
    else this.kept.delete(feature)
    if (options.kept && options.live) this.live.set(feature, options.live)
    else this.live.delete(feature)
  }

  /**
   * Fails when a count feature of the plans has no registered counter: called once every module
   * is composed, so a plan naming a resource nobody counts stops the start instead of counting 0.
   */
  assertCounters(): void {
    const missing = [...this.plans.features.values()]
      .filter((def) => def.kind === 'count' && !this.counters.has(def.name))
      .map((def) => def.name)
    if (missing.length > 0)
      throw new Error(
        `The plans limit ${missing.join(', ')}, which no module counts: register a counter (entitlements.registerCounter) or remove the feature from the plans`,
      )
  }

  /** The hard limit of a feature for this workspace; null when none is enforced. */
  hardLimit(workspace: PrincipalWorkspace, feature: string): number | null {
    const def = this.feature(feature)
    return def.enforcement === 'hard' ? this.plans.limit(workspace.tier, feature) : null
  }

  /** The resources of a count feature counted from their rows (O(resources)). */
  private count(db: Executor, workspaceId: number, feature: string, now: number): Promise<number> {
    const counter = this.counters.get(feature)
    if (!counter) throw new Error(`No counter is registered for the count feature "${feature}"`)
    return counter(db, workspaceId, new Date(now))
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
      const live = this.live.get(def.name)
      if (live) return live(db, workspaceId, new Date(now))
      const kept = this.kept.has(def.name) ? await readCounter(db, workspaceId, def.name) : null
      return kept ?? this.count(db, workspaceId, def.name, now)
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
    const entitlements: Record<string, SummaryEntry> = {}
    for (const def of this.plans.features.values()) {
      const used = await this.used(this.deps.db, workspace.id, def, now)
      const limit = this.plans.limit(workspace.tier, def.name)
      const entry: SummaryEntry = {
        used,
        limit,
        available: limit === null ? null : Math.max(0, limit - used),
        percentage: percentage(used, limit),
      }
      // A metered feature that never resets has no `reset_at`.
      const resetAt = def.kind === 'metered' ? isoSeconds(this.period(def, now).resetAt) : null
      if (resetAt !== null) entry.reset_at = resetAt
      if (def.kind === 'bytes') entry.unit = 'bytes'
      entitlements[def.name] = entry
    }
    return {
      workspace_id: workspace.id,
      tier: workspace.tier,
      entitlements,
      upgrade_url: this.plans.upgradeUrl || null,
    }
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
   * 403 `feature_limit_reached` beyond a hard limit. A kept counter is one conditional
   * increment, whose row lock orders the workspace's concurrent creators until the transaction
   * ends; other features are counted under a lock held as long, so the count cannot go stale.
   */
  async reserve(tx: Executor, workspace: PrincipalWorkspace, feature: string, quantity = 1): Promise<void> {
    const def = this.feature(feature)
    const limit = this.hardLimit(workspace, feature)
    if (this.kept.has(feature)) {
      const input = { workspaceId: workspace.id, feature, quantity, limit }
      if (await reserveCounter(tx, input)) return
      const live = this.live.get(feature)
      if (live) return this.reserveLive(tx, workspace, def, quantity, live)
      await this.refused(tx, workspace, feature, quantity)
      if (await reserveCounter(tx, input)) return
      return this.refused(tx, workspace, feature, quantity, false)
    }
    if (limit === null) return
    await lockFeature(tx, workspace.id, feature)
    const used = await this.used(tx, workspace.id, def, this.deps.clock.now())
    if (used + quantity > limit) throw this.limitReached(def, used, limit)
  }

  /**
   * A create the kept counter of a `live` feature did not admit: decided by what counts now,
   * counted while the counter's row is locked (so concurrent creates are decided one after the
   * other); admitted, it adds to the counter whatever the limit.
   */
  private async reserveLive(
    tx: Executor,
    workspace: PrincipalWorkspace,
    def: FeatureDef,
    quantity: number,
    live: Counter,
  ): Promise<void> {
    const now = this.deps.clock.now()
    const limit = this.hardLimit(workspace, def.name)
    await openCounter(tx, workspace.id, def.name, () => this.count(tx, workspace.id, def.name, now))
    await lockCounter(tx, workspace.id, def.name)
    const used = await live(tx, workspace.id, new Date(now))
    if (limit !== null && used + quantity > limit) throw this.limitReached(def, used, limit)
    await releaseCounter(tx, { workspaceId: workspace.id, feature: def.name, quantity: -quantity })
  }

  /**
   * After a create whose `counterSteps` admitted nothing, in its transaction: starts the
   * workspace's counter from a COUNT when it has none yet, then returns when the counter has
   * room (the create is worth one more try: the counter was missing, or a concurrent create
   * started it meanwhile); otherwise, or when `retry` is false, refuses with 403
   * `feature_limit_reached`.
   */
  async refused(
    tx: Executor,
    workspace: PrincipalWorkspace,
    feature: string,
    quantity = 1,
    retry = true,
  ): Promise<void> {
    const def = this.feature(feature)
    const limit = this.hardLimit(workspace, feature)
    const now = this.deps.clock.now()
    const { used } = await openCounter(tx, workspace.id, feature, () =>
      this.count(tx, workspace.id, feature, now),
    )
    if (retry && limit !== null && used + quantity <= limit) return
    throw this.limitReached(def, used, limit ?? used)
  }

  /**
   * In the transaction that deletes `quantity` resources of a kept count feature (a negative
   * `quantity`: a change that makes resources count again, such as revoking the key that
   * replaced another during its grace period).
   */
  async release(tx: Executor, workspace: PrincipalWorkspace, feature: string, quantity = 1): Promise<void> {
    if (this.kept.has(feature)) await releaseCounter(tx, { workspaceId: workspace.id, feature, quantity })
  }

  /**
   * Rebuilds kept counters from their resources (all workspaces, or one), each in a short
   * transaction of its own that holds the counter's row lock between the count and the write.
   * A repair for counters that drifted (rows changed outside the API, an interrupted
   * migration); returns the counters whose value changed.
   */
  async recount(workspaceId?: number, batchSize = 500): Promise<Recounted[]> {
    const { db, clock } = this.deps
    const repaired: Recounted[] = []
    for (const feature of this.kept) {
      const one = async (id: number) => {
        const result = await db.transaction((tx) =>
          recountCounter(tx, id, feature, () => this.count(tx, id, feature, clock.now())),
        )
        if (result && result.before !== result.after) repaired.push({ workspaceId: id, feature, ...result })
      }
      if (workspaceId !== undefined) {
        await one(workspaceId)
        continue
      }
      // Bounded by the counters that exist: each batch starts after the last workspace seen.
      for (let after = 0; ; ) {
        const ids = await countersAfter(db, feature, after, batchSize)
        for (const id of ids) await one(id)
        if (ids.length < batchSize) break
        after = ids[ids.length - 1]!
      }
    }
    return repaired
  }
}
