// The pixel: sites per workspace, the public config and track endpoints, and the stats.
// A track request runs a short list of steps — refuse bots, find the site by the page's
// hostname, check it is enabled and tracks this kind of event, hash the visitor, keep or drop
// it by the site's sample rate, then write the event through group commit and answer only
// when it is committed. Anything refused is `{tracked: false}` and stores nothing.
import type { Static } from 'typebox'
import type { PrincipalWorkspace } from '../../platform/auth/index.ts'
import { isDatabaseUnavailable } from '../../platform/db/errors.ts'
import { type Executor, isUniqueViolation } from '../../platform/db/index.ts'
import type { Deps } from '../../platform/deps.ts'
import { ApiError } from '../../platform/http/errors.ts'
import { type ListQuery, type Page, selectFields, toPage } from '../../platform/http/list.ts'
import { SharedCache } from '../../platform/kv/shared-cache.ts'
import { isoSeconds } from '../../platform/lib/clock.ts'
import { GroupCommit } from '../../platform/lib/group-commit.ts'
import type { SecretBox } from '../../platform/lib/secret-box.ts'
import { agentOf, pageParts, parsePageUrl, siteHost, storable, storableProperties } from './parse.ts'
import type {
  ConfigOut,
  INTERVALS,
  SiteCreate,
  SiteOut,
  SiteUpdate,
  StatsOut,
  StatsQuery,
  TrackBody,
} from './schemas.ts'
import { pixelSettings } from './settings.ts'
import {
  type DailyScope,
  dailyBreakdowns,
  dailySeries,
  dailyTotals,
  databaseKnowsZone,
  deleteRollups,
  deleteSite,
  type EventRow,
  findSite,
  freshDailyRows,
  insertEvents,
  insertSite,
  isUnknownTimeZone,
  listSites,
  purgeEventsBefore,
  rolledDayBefore,
  rollUpDays,
  type SiteChanges,
  type SiteRow,
  type StatsScope,
  siteForHostname,
  sitesToRollUp,
  statsBreakdown,
  statsEvents,
  statsSeries,
  statsTotals,
  statsVisitPages,
  updateSite,
} from './store.ts'
import type { SiteFeatures } from './tables.ts'
import { VisitorIds } from './visitors.ts'

const DEFAULT_FEATURES: SiteFeatures = {
  pageviews: true,
  events: true,
  sessions: true,
  outbound_links: false,
  file_downloads: false,
  respect_dnt: false,
}

/** How long an instance trusts its copy of a site without hearing of a change (a lost announcement). */
const SITE_CACHE_MS = 60_000
const SITE_CACHE_SIZE = 10_000
const DAY_MS = 86_400_000
/** Longest range of an hourly series, in days. */
const MAX_HOURLY_DAYS = 31
const MAX_RANGE_DAYS = 3 * 366

type SiteOutT = Static<typeof SiteOut>
/** What became of a track request: only `tracked` is stored. */
export type TrackOutcome =
  | 'tracked'
  | 'bot'
  | 'unknown_site'
  | 'disabled'
  | 'not_tracked_kind'
  | 'sampled_out'
export type TrackInput = {
  body: Static<typeof TrackBody>
  ip: string
  userAgent: string | undefined
}

function toOut(row: SiteRow): SiteOutT {
  return {
    id: row.id,
    domain: row.domain,
    enabled: row.enabled,
    sample_rate: row.sampleRate,
    allowed_hostnames: row.allowedHostnames,
    features: { ...DEFAULT_FEATURES, ...row.features },
    timezone: row.timezone,
    created_at: isoSeconds(row.createdAt)!,
    updated_at: isoSeconds(row.updatedAt)!,
  }
}

function hostnames(list: string[] | undefined): string[] | undefined {
  if (list === undefined) return undefined
  return [...new Set(list.map((h) => (h.startsWith('*.') ? h.toLowerCase() : siteHost(h))))]
}

function duplicateDomain(domain: string): ApiError {
  return new ApiError('conflict', `The domain "${domain}" is already registered.`, {
    errors: { domain: ['The domain has already been registered.'] },
  })
}

export class PixelService {
  private readonly deps: Deps
  /** The site of each recently seen hostname (null: none), dropped on every instance when a site changes. */
  private readonly sites: SharedCache<SiteRow | null>
  private readonly visitors: VisitorIds
  readonly writer: GroupCommit<EventRow>
  /** Told the size of every batch written (metrics). */
  onBatch: (size: number) => void = () => {}

  constructor(deps: Deps, box: SecretBox, options: { maxInFlight: number }) {
    this.deps = deps
    this.sites = new SharedCache(deps.pubsub, 'pixel-sites', deps.clock, {
      ttlMs: SITE_CACHE_MS,
      maxEntries: SITE_CACHE_SIZE,
    })
    this.visitors = new VisitorIds(deps.db, deps.clock, box)
    this.writer = new GroupCommit((events) => this.writeEvents(events), {
      maxInFlight: options.maxInFlight,
      maxBatch: 1000,
    })
  }

  /** Listens for site changes made on other instances (the app's onReady). */
  start(): Promise<void> {
    return this.sites.start()
  }

  private siteOf(hostname: string): Promise<SiteRow | null> {
    return this.sites.get(hostname, () => siteForHostname(this.deps.db, hostname))
  }

  /** A batch in one statement; if it fails but the database is there, each event on its own. */
  private async writeEvents(events: EventRow[]): Promise<unknown[] | undefined> {
    const { db } = this.deps
    this.onBatch(events.length)
    try {
      await insertEvents(db, events)
      return undefined
    } catch (error) {
      if (events.length === 1 || isDatabaseUnavailable(error)) throw error
      // One event the database refuses must not fail the others of its batch.
      return Promise.all(
        events.map((event) =>
          insertEvents(db, [event]).then(
            () => undefined,
            (failure: unknown) => failure ?? new Error('the event was not stored'),
          ),
        ),
      )
    }
  }

  /**
   * The hourly upkeep: destroys salts older than yesterday's, and events older than
   * PIXEL_RETENTION_DAYS (when set), in bounded batches. Returns the events deleted.
   */
  async purge(batchSize = 5000, maxBatches = 100): Promise<number> {
    await this.visitors.forgetOldSalts()
    // Rolled up before any event goes, so the stats of whole days outlive the retention.
    await this.rollUp()
    const { retentionDays } = pixelSettings.from(this.deps.config)
    if (retentionDays === 0) return 0
    const cutoff = new Date(this.deps.clock.now() - retentionDays * DAY_MS)
    return purgeEventsBefore(this.deps.db, cutoff, batchSize, maxBatches)
  }

  /**
   * Rolls every site's finished days, in the site's time zone, up into the daily stats, at most
   * `maxDays` days per site and run. A day is finished an hour after its end in that zone (events
   * still being committed at midnight are in). Idempotent: a day rolled up twice is replaced.
   */
  async rollUp(maxDays = 31): Promise<void> {
    const { db, clock } = this.deps
    for (const site of await sitesToRollUp(db, new Date(clock.now()))) {
      const { through } = site
      const from = site.rolled_through ? addDays(site.rolled_through, 1) : (site.first_day ?? through)
      if (from > through) continue
      const [to] = [addDays(from, maxDays - 1), through].sort()
      await rollUpDays(db, site.id, from, to!, site.timezone)
    }
  }

  /** The canonical name of an IANA zone both the runtime and the database know, else a 422 on `field`. */
  private async knownZone(name: string, field: string): Promise<string> {
    const zone = canonicalZone(name)
    if (zone === null) throw ApiError.invalid(field, 'Must be an IANA time zone, such as Europe/Paris.')
    if (!(await databaseKnowsZone(this.deps.db, zone)))
      throw ApiError.invalid(field, 'This time zone is not known to the database.')
    return zone
  }

  // ---- sites ----------------------------------------------------------------------------------

  async list(
    workspace: PrincipalWorkspace,
    query: ListQuery,
    url: URL,
  ): Promise<Page<Record<string, unknown>>> {
    const { rows, total } = await listSites(this.deps.db, workspace.id, query)
    return toPage(
      rows.map((row) => selectFields(toOut(row), query.fields)),
      total,
      query,
      url,
    )
  }

  async get(workspace: PrincipalWorkspace, id: number): Promise<SiteOutT> {
    const row = await findSite(this.deps.db, workspace.id, id)
    if (!row) throw ApiError.notFound('Site')
    return toOut(row)
  }

  async create(workspace: PrincipalWorkspace, body: Static<typeof SiteCreate>): Promise<SiteOutT> {
    const domain = siteHost(body.domain)
    const timezone = body.timezone === undefined ? 'UTC' : await this.knownZone(body.timezone, 'timezone')
    try {
      const row = await insertSite(this.deps.db, {
        workspaceId: workspace.id,
        domain,
        enabled: body.enabled ?? true,
        sampleRate: body.sample_rate ?? 1,
        allowedHostnames: hostnames(body.allowed_hostnames) ?? [],
        features: { ...DEFAULT_FEATURES, ...body.features },
        timezone,
      })
      await this.sites.invalidate()
      return toOut(row)
    } catch (error) {
      if (isUniqueViolation(error)) throw duplicateDomain(domain)
      throw error
    }
  }

  async update(
    workspace: PrincipalWorkspace,
    id: number,
    body: Static<typeof SiteUpdate>,
  ): Promise<SiteOutT> {
    const { db, clock } = this.deps
    const domain = body.domain === undefined ? undefined : siteHost(body.domain)
    const timezone = body.timezone === undefined ? undefined : await this.knownZone(body.timezone, 'timezone')
    try {
      const row = await db.transaction(async (tx) => {
        const current = await findSite(tx, workspace.id, id)
        if (!current) throw ApiError.notFound('Site')
        // Another name of the same zone (`Asia/Calcutta`, `Asia/Kolkata`) keeps the rollups.
        if (timezone !== undefined && zoneRules(timezone) !== zoneRules(current.timezone))
          await this.forgetRollups(tx, current)
        const changes: SiteChanges = {
          ...(domain !== undefined && { domain }),
          ...(body.enabled !== undefined && { enabled: body.enabled }),
          ...(body.sample_rate !== undefined && { sampleRate: body.sample_rate }),
          ...(body.allowed_hostnames !== undefined && {
            allowedHostnames: hostnames(body.allowed_hostnames),
          }),
          ...(body.features !== undefined && {
            features: { ...DEFAULT_FEATURES, ...current.features, ...body.features },
          }),
          ...(timezone !== undefined && { timezone }),
        }
        const updated = await updateSite(tx, workspace.id, id, changes, new Date(clock.now()))
        if (!updated) throw ApiError.notFound('Site')
        return updated
      })
      await this.sites.invalidate()
      return toOut(row)
    } catch (error) {
      if (isUniqueViolation(error)) throw duplicateDomain(domain!)
      throw error
    }
  }

  /**
   * Before a site changes zone: its rollups count the days of the old zone, so they go, and the
   * upkeep rolls the days up again from the events. Refused (409) when rolled-up days began
   * before the retention's cutoff: their events may be gone, and the days could not be counted
   * again — the owner would lose that history, or get days of two zones mixed.
   */
  private async forgetRollups(tx: Executor, site: SiteRow): Promise<void> {
    const { retentionDays } = pixelSettings.from(this.deps.config)
    if (retentionDays > 0) {
      const cutoff = new Date(this.deps.clock.now() - retentionDays * DAY_MS)
      const day = await rolledDayBefore(tx, site.id, site.timezone, cutoff)
      if (day !== null)
        throw new ApiError(
          'conflict',
          `The time zone cannot change: days already rolled up (from ${day}) are older than the ${retentionDays} days of events kept (PIXEL_RETENTION_DAYS), so their stats exist only as days of ${site.timezone} and could not be counted again in another zone.`,
          { errors: { timezone: ['The stats kept beyond the retention are in the current time zone.'] } },
        )
    }
    await deleteRollups(tx, site.id)
  }

  async remove(workspace: PrincipalWorkspace, id: number): Promise<void> {
    const row = await deleteSite(this.deps.db, workspace.id, id)
    if (!row) throw ApiError.notFound('Site')
    await this.sites.invalidate()
  }

  // ---- public endpoints -----------------------------------------------------------------------

  /** The configuration the tracker reads: the site from Origin, else Referer, else `domain`. */
  async config(
    headers: { origin?: string; referer?: string },
    domain: string | undefined,
  ): Promise<Static<typeof ConfigOut>> {
    const hostname =
      hostnameOf(headers.origin) ?? hostnameOf(headers.referer) ?? (domain ? siteHost(domain) : null)
    const site = hostname ? await this.siteOf(hostname) : null
    if (!site) throw ApiError.notFound('Site')
    return {
      enabled: site.enabled,
      features: { ...DEFAULT_FEATURES, ...site.features },
      sample_rate: site.sampleRate,
    }
  }

  /** Records one event: `tracked` once it is committed, otherwise why it is not kept. */
  async track(input: TrackInput): Promise<TrackOutcome> {
    const { body } = input
    const userAgent = input.userAgent ?? body.user_agent ?? ''
    const agent = agentOf(userAgent)
    if (agent === null) return 'bot'
    const url = parsePageUrl(body.url)
    if (!url) return 'unknown_site'
    const now = this.deps.clock.now()
    const site = await this.siteOf(siteHost(url.hostname))
    if (!site) return 'unknown_site'
    if (!site.enabled) return 'disabled'
    const features = { ...DEFAULT_FEATURES, ...site.features }
    const pageview = body.event === 'pageview'
    if (pageview ? !features.pageviews : !features.events) return 'not_tracked_kind'
    const visitorId = await this.visitors.of(input.ip, userAgent, site.id)
    if (!sampledIn(visitorId, site.sampleRate)) return 'sampled_out'
    await this.writer.add({
      siteId: site.id,
      occurredAt: new Date(now),
      name: storable(body.event),
      visitorId,
      ...pageParts(url, body.referrer),
      ...agent,
      properties: storableProperties(body.properties),
    })
    return 'tracked'
  }

  // ---- stats ----------------------------------------------------------------------------------

  async stats(
    workspace: PrincipalWorkspace,
    id: number,
    query: Static<typeof StatsQuery>,
  ): Promise<Static<typeof StatsOut>> {
    const { db, clock } = this.deps
    const site = await findSite(db, workspace.id, id)
    if (!site) throw ApiError.notFound('Site')
    const timezone = query.timezone === undefined ? site.timezone : canonicalZone(query.timezone)
    if (timezone === null)
      throw ApiError.invalid('timezone', 'Must be an IANA time zone, such as Europe/Paris.')
    const interval = query.interval ?? 'day'
    const to = query.to ?? dayIn(clock.now(), timezone)
    const from = query.from ?? addDays(to, -29)
    const days = dayNumber(to) - dayNumber(from)
    if (Number.isNaN(dayNumber(from))) throw ApiError.invalid('from', 'Must be a date (YYYY-MM-DD).')
    if (Number.isNaN(dayNumber(to))) throw ApiError.invalid('to', 'Must be a date (YYYY-MM-DD).')
    if (days < 0) throw ApiError.invalid('from', 'Must not be after `to`.')
    if (days >= MAX_RANGE_DAYS)
      throw ApiError.invalid('from', `The range may cover at most ${MAX_RANGE_DAYS} days.`)
    if (interval === 'hour' && days >= MAX_HOURLY_DAYS)
      throw ApiError.invalid('interval', `An hourly series may cover at most ${MAX_HOURLY_DAYS} days.`)
    const scope: StatsScope = {
      siteId: site.id,
      from,
      to,
      timezone,
      page: query.page === undefined ? null : storable(query.page),
      source: query.source === undefined ? null : storable(query.source),
      event: query.event === undefined ? null : storable(query.event),
    }
    const limit = query.limit ?? 10
    // Whole days of the site's zone without filters come from the daily rollups (and today's events).
    const rolled = site.rolledThrough
    try {
      if (
        zoneRules(timezone) === zoneRules(site.timezone) &&
        interval !== 'hour' &&
        scope.page === null &&
        scope.source === null &&
        scope.event === null &&
        rolled !== null &&
        from <= rolled
      ) {
        const range = { siteId: site.id, from, to, timezone, rolledThrough: rolled }
        const fresh = await freshDailyRows(this.deps.db, range)
        return await this.rolledUpStats({ ...range, fresh }, interval, limit)
      }
      return await this.computeStats(site.id, scope, interval, limit)
    } catch (error) {
      // A zone the runtime knows but the database does not.
      if (isUnknownTimeZone(error))
        throw ApiError.invalid('timezone', 'This time zone is not known to the database.')
      throw error
    }
  }

  private async rolledUpStats(
    scope: DailyScope,
    interval: 'day' | 'month',
    limit: number,
  ): Promise<Static<typeof StatsOut>> {
    const { db } = this.deps
    const totals = await dailyTotals(db, scope)
    const timeseries = await dailySeries(db, scope, interval)
    const rows = await dailyBreakdowns(db, scope, limit)
    const of = (dimension: string) => rows.filter((r) => r.dimension === dimension)
    const breakdown = (dimension: string, key: string) =>
      of(dimension).map((r) => ({ [key]: r.value, visitors: r.visitors, pageviews: r.pageviews }))
    const visitPages = (dimension: string) => of(dimension).map((r) => ({ page: r.value, visits: r.visits }))
    return {
      site_id: scope.siteId,
      from: scope.from,
      to: scope.to,
      timezone: scope.timezone,
      interval,
      totals,
      timeseries,
      pages: breakdown('page', 'page') as Static<typeof StatsOut>['pages'],
      entry_pages: visitPages('entry'),
      exit_pages: visitPages('exit'),
      sources: breakdown('source', 'source') as Static<typeof StatsOut>['sources'],
      utm_campaigns: breakdown('campaign', 'campaign') as Static<typeof StatsOut>['utm_campaigns'],
      browsers: breakdown('browser', 'browser') as Static<typeof StatsOut>['browsers'],
      devices: breakdown('device', 'device') as Static<typeof StatsOut>['devices'],
      os: breakdown('os', 'os') as Static<typeof StatsOut>['os'],
      events: of('event').map((r) => ({ name: r.value, visitors: r.visitors, count: r.events })),
    }
  }

  private async computeStats(
    siteId: number,
    scope: StatsScope,
    interval: (typeof INTERVALS)[number],
    limit: number,
  ): Promise<Static<typeof StatsOut>> {
    const { db } = this.deps
    const { from, to, timezone } = scope
    // One after the other: the embedded engine runs one query at a time anyway, and a pooled
    // one is shared with the requests being tracked.
    const totals = await statsTotals(db, scope)
    const timeseries = await statsSeries(db, scope, interval)
    const pages = await statsBreakdown(db, scope, 'page', limit)
    const entry = await statsVisitPages(db, scope, 'entry', limit)
    const exit = await statsVisitPages(db, scope, 'exit', limit)
    const sources = await statsBreakdown(db, scope, 'source', limit)
    const campaigns = await statsBreakdown(db, scope, 'campaign', limit)
    const browsers = await statsBreakdown(db, scope, 'browser', limit)
    const devices = await statsBreakdown(db, scope, 'device', limit)
    const os = await statsBreakdown(db, scope, 'os', limit)
    const events = await statsEvents(db, scope, limit)
    return {
      site_id: siteId,
      from,
      to,
      timezone,
      interval,
      totals,
      timeseries,
      pages: pages as Static<typeof StatsOut>['pages'],
      entry_pages: entry,
      exit_pages: exit,
      sources: sources as Static<typeof StatsOut>['sources'],
      utm_campaigns: campaigns as Static<typeof StatsOut>['utm_campaigns'],
      browsers: browsers as Static<typeof StatsOut>['browsers'],
      devices: devices as Static<typeof StatsOut>['devices'],
      os: os as Static<typeof StatsOut>['os'],
      events,
    }
  }
}

/** Whether a visitor falls inside the site's sample: decided by its id, so for the whole day. */
function sampledIn(visitorId: bigint, rate: number): boolean {
  if (rate >= 1) return true
  if (rate <= 0) return false
  const slot = Number(BigInt.asUintN(64, visitorId) % 10_000n)
  return slot < rate * 10_000
}

function hostnameOf(value: string | undefined): string | null {
  if (!value || value === 'null') return null
  const url = parsePageUrl(value)
  return url ? siteHost(url.hostname) : null
}

/**
 * The IANA zone `name` as written (its case fixed when the runtime's name differs only by case:
 * `europe/paris` → `Europe/Paris`), or null if the runtime does not know it. Offsets (`+05:30`)
 * are refused: the runtime reads them as ISO 8601 does, the database as POSIX does (east and
 * west swapped).
 */
function canonicalZone(name: string): string | null {
  const resolved = zoneRules(name)
  if (resolved === null) return null
  return resolved.toLowerCase() === name.toLowerCase() ? resolved : name
}

/**
 * The runtime's name of the rules of the zone `name`, or null: the same for the names of one
 * zone (`Asia/Kolkata` and `Asia/Calcutta`, `UTC` and `Etc/UTC`), whose days are the same.
 */
function zoneRules(name: string): string | null {
  if (!/^[A-Za-z]/.test(name)) return null
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone
  } catch {
    return null
  }
}

/** The date (YYYY-MM-DD) of `ms` in `timezone`. */
function dayIn(ms: number, timezone: string): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(ms)
}

function dayNumber(day: string): number {
  const ms = Date.parse(`${day}T00:00:00Z`)
  return Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== day ? Number.NaN : ms / DAY_MS
}

function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10)
}
