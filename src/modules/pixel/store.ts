// Queries of the pixel: sites (every query of the API names the workspace; the public
// endpoints look a site up by hostname), the daily salts and the events.
import { and, eq, lt, type SQL, sql } from 'drizzle-orm'
import { PgDialect } from 'drizzle-orm/pg-core'
import type { Database, Executor } from '../../platform/db/index.ts'
import { dateFilters, paginate } from '../../platform/db/list.ts'
import { preparedStatement } from '../../platform/db/prepared.ts'
import type { ListQuery } from '../../platform/http/list.ts'
import { pixelDailyStats, pixelEvents, pixelMonthlyStats, pixelSalts, pixelSites } from './tables.ts'

export type SiteRow = typeof pixelSites.$inferSelect
export type NewSite = Omit<typeof pixelSites.$inferInsert, 'id' | 'createdAt' | 'updatedAt'>
export type SiteChanges = Partial<
  Pick<SiteRow, 'domain' | 'enabled' | 'sampleRate' | 'allowedHostnames' | 'features' | 'timezone'>
>
export type EventRow = Omit<typeof pixelEvents.$inferInsert, 'id'>

const sortColumns = {
  id: pixelSites.id,
  domain: pixelSites.domain,
  created_at: pixelSites.createdAt,
  updated_at: pixelSites.updatedAt,
}

export async function listSites(db: Database, workspaceId: number, query: ListQuery) {
  const conditions: Array<SQL | undefined> = [
    eq(pixelSites.workspaceId, workspaceId),
    ...dateFilters(query, pixelSites),
  ]
  if (typeof query.filters.enabled === 'boolean')
    conditions.push(eq(pixelSites.enabled, query.filters.enabled))
  return paginate(db, db.select().from(pixelSites).$dynamic(), {
    from: pixelSites,
    where: and(...conditions),
    query,
    sort: sortColumns,
  })
}

export async function findSite(db: Executor, workspaceId: number, id: number): Promise<SiteRow | null> {
  const [row] = await db
    .select()
    .from(pixelSites)
    .where(and(eq(pixelSites.id, id), eq(pixelSites.workspaceId, workspaceId)))
  return row ?? null
}

export async function insertSite(db: Executor, site: NewSite): Promise<SiteRow> {
  const [row] = await db.insert(pixelSites).values(site).returning()
  return row!
}

export async function updateSite(
  db: Executor,
  workspaceId: number,
  id: number,
  changes: SiteChanges,
  now: Date,
): Promise<SiteRow | null> {
  const [row] = await db
    .update(pixelSites)
    .set({ ...changes, updatedAt: now })
    .where(and(eq(pixelSites.id, id), eq(pixelSites.workspaceId, workspaceId)))
    .returning()
  return row ?? null
}

export async function deleteSite(db: Executor, workspaceId: number, id: number): Promise<SiteRow | null> {
  const [row] = await db
    .delete(pixelSites)
    .where(and(eq(pixelSites.id, id), eq(pixelSites.workspaceId, workspaceId)))
    .returning()
  return row ?? null
}

/** Whether the database knows the time zone `name` (the runtime's zones and the database's may differ). */
export async function databaseKnowsZone(db: Database, name: string): Promise<boolean> {
  try {
    await db.execute(sql`select now() at time zone ${name}`)
    return true
  } catch (error) {
    if (isUnknownTimeZone(error)) return false
    throw error
  }
}

/** Whether `error` is the database refusing a time zone it does not know. */
export function isUnknownTimeZone(error: unknown): boolean {
  let current: unknown = error
  for (let depth = 0; depth < 4 && current; depth++) {
    const { code, message } = current as { code?: unknown; message?: unknown }
    if (code === '22023' && typeof message === 'string' && message.includes('time zone')) return true
    current = (current as { cause?: unknown }).cause
  }
  return false
}

/**
 * The site a page on `hostname` belongs to, for the public endpoints: its domain, one of its
 * allowed hostnames, or a subdomain of a `*.` entry among them.
 */
export async function siteForHostname(db: Database, hostname: string): Promise<SiteRow | null> {
  // `a.shop.example` is also matched by `*.shop.example` and `*.example`.
  const names = [hostname]
  for (let dot = hostname.indexOf('.'); dot > 0; dot = hostname.indexOf('.', dot + 1))
    names.push(`*${hostname.slice(dot)}`)
  const [row] = await db
    .select()
    .from(pixelSites)
    .where(
      sql`${pixelSites.domain} = ${hostname}
        or ${pixelSites.allowedHostnames} && array[${sql.join(
          names.map((name) => sql`${name}::text`),
          sql`, `,
        )}]`,
    )
    .orderBy(sql`${pixelSites.domain} = ${hostname} desc`, pixelSites.id)
    .limit(1)
  return row ?? null
}

/** The sealed salt of `day`: `candidate` if none was stored yet, else the stored one. */
export async function ensureSalt(db: Database, day: string, candidate: string): Promise<string> {
  await db.insert(pixelSalts).values({ day, salt: candidate }).onConflictDoNothing()
  const [row] = await db.select({ salt: pixelSalts.salt }).from(pixelSalts).where(eq(pixelSalts.day, day))
  return row!.salt
}

/** Destroys the salts of the days before `day`. */
export async function deleteSaltsBefore(db: Database, day: string): Promise<void> {
  await db.delete(pixelSalts).where(lt(pixelSalts.day, day))
}

/**
 * Deletes events received before `cutoff`, site by site along the (site, time) index, `batchSize`
 * rows per statement and at most `maxBatches` statements. Returns the rows deleted.
 */
export async function purgeEventsBefore(
  db: Database,
  cutoff: Date,
  batchSize: number,
  maxBatches: number,
): Promise<number> {
  const statement = sql`delete from ${pixelEvents} where id in (
    select e.id from ${pixelSites} s cross join lateral (
      select id from ${pixelEvents}
      where site_id = s.id and occurred_at < ${cutoff.toISOString()}::timestamptz limit ${batchSize}
    ) e limit ${batchSize})`
  let deleted = 0
  for (let batch = 0; batch < maxBatches; batch++) {
    const result = (await db.execute(statement)) as { rowCount?: number | null; affectedRows?: number }
    const count = result.rowCount ?? result.affectedRows ?? 0
    deleted += count
    if (count < batchSize) break
  }
  return deleted
}

/**
 * A batch of events in one prepared statement (one round trip, one commit): the rows travel as
 * one JSON array parameter, so the statement's text and plan are the same whatever the batch's
 * size, and nothing is built per event. Visitor ids go as decimal text (a JSON number would
 * lose the low bits of a 64-bit integer).
 */
const insertEventsStatement = preparedStatement('insert_pixel_events', () => {
  const statement = sql`insert into ${pixelEvents} (site_id, occurred_at, name, visitor_id, hostname,
      pathname, source, referrer_host, utm_medium, utm_campaign, utm_content, utm_term, device, browser,
      os, properties)
    select site_id, occurred_at, name, visitor_id, hostname, pathname, source, referrer_host, utm_medium,
      utm_campaign, utm_content, utm_term, device, browser, os, properties
    from jsonb_to_recordset(${sql.placeholder('rows')}::jsonb) as r(site_id integer,
      occurred_at timestamptz, name text, visitor_id bigint, hostname text, pathname text, source text,
      referrer_host text, utm_medium text, utm_campaign text, utm_content text, utm_term text,
      device text, browser text, os text, properties jsonb)`
  return { toSQL: () => new PgDialect().sqlToQuery(statement) }
})

export async function insertEvents(db: Database, events: EventRow[]): Promise<void> {
  const rows = events.map((e) => ({
    site_id: e.siteId,
    occurred_at: e.occurredAt.toISOString(),
    name: e.name,
    visitor_id: e.visitorId.toString(),
    hostname: e.hostname,
    pathname: e.pathname,
    source: e.source ?? null,
    referrer_host: e.referrerHost ?? null,
    utm_medium: e.utmMedium ?? null,
    utm_campaign: e.utmCampaign ?? null,
    utm_content: e.utmContent ?? null,
    utm_term: e.utmTerm ?? null,
    device: e.device,
    browser: e.browser,
    os: e.os,
    properties: e.properties ?? null,
  }))
  await insertEventsStatement(db).execute({ rows: JSON.stringify(rows) })
}

// ---- stats ----------------------------------------------------------------------------------

export type StatsScope = {
  siteId: number
  /** First and last day of the range (YYYY-MM-DD), in `timezone`. */
  from: string
  to: string
  timezone: string
  page: string | null
  source: string | null
  event: string | null
}

type Row = Record<string, unknown>

async function rows(db: Executor, query: SQL): Promise<Row[]> {
  return ((await db.execute(query)) as unknown as { rows: Row[] }).rows
}

/**
 * The events of the range that pass the filters, as a WITH part named `ev`, each with its `day`
 * in the range's zone and its `visitor`: the visitor of that day. A visitor is counted once per
 * day and a visit never spans two days: the daily rollups count so, and a range answers the same
 * from either. `visitor` is the visitor id with the day's number XORed into its high bits: one
 * bigint (counted distinct several times faster than an (id, day) pair), different for each day
 * of one id, and no likelier to match another id's than two 64-bit hashes are to collide.
 *
 * `source` selects whole visits (as Plausible does: the source is the visit's, not the page
 * view's): the visits whose entry page view came from it, with all their page views and the
 * custom events sent during them. `page` then keeps the events of that path, and `event` the
 * visitors who sent it.
 */
function scoped(s: StatsScope): SQL {
  const start = sql`((${s.from}::date)::timestamp at time zone ${s.timezone})`
  const end = sql`(((${s.to}::date) + 1)::timestamp at time zone ${s.timezone})`
  const range = sql`site_id = ${s.siteId} and occurred_at >= ${start} and occurred_at < ${end}`
  const conditions: SQL[] = [range]
  const parts: SQL[] = []
  if (s.source !== null) {
    parts.push(visitsFrom(range, s.timezone, s.source))
    conditions.push(sql`id in (select id from from_source)`)
  }
  if (s.page !== null) conditions.push(sql`pathname = ${s.page}`)
  if (s.event !== null)
    conditions.push(sql`visitor_id in (select visitor_id from ${pixelEvents}
      where ${range} and name = ${s.event})`)
  parts.push(sql`ev as (
    select *, visitor_id # ((day - date '1970-01-01')::bigint << 40) as visitor
    from (select *, (occurred_at at time zone ${s.timezone})::date as day from ${pixelEvents}
      where ${sql.join(conditions, sql` and `)}) as e
  )`)
  return sql.join(parts, sql`, `)
}

/**
 * The ids of the events of the visits whose entry page view came from `source`, as a WITH part
 * named `from_source`. The same visits as `viewsPart` finds; a custom event belongs to the
 * visit of the visitor's latest page view at or before it (none before it: to no visit).
 */
function visitsFrom(range: SQL, timezone: string, source: string): SQL {
  return sql`marked as (
      select id, visitor_id, day, occurred_at, source, name = 'pageview' and coalesce(occurred_at - max(occurred_at)
          filter (where name = 'pageview') over (partition by visitor_id, day order by occurred_at, id
            rows between unbounded preceding and 1 preceding) > interval '30 minutes', true) as starts
      from (select *, (occurred_at at time zone ${timezone})::date as day from ${pixelEvents} where ${range}) as e
    ),
    numbered as (
      select *, count(*) filter (where starts) over (partition by visitor_id, day order by occurred_at, id) as visit
      from marked
    ),
    from_source as (
      select id from (
        select id, visit, max(source) filter (where starts) over (partition by visitor_id, day, visit) as entry_source
        from numbered
      ) as visits
      where visit > 0 and entry_source = ${source}
    )`
}

/**
 * Page views marked by the visits they belong to — a visitor's views less than 30 minutes
 * apart — in one pass over the views in order: `starts` (the first view of a visit: its entry
 * page), `ends` (the last: its exit page) and `seconds` (the time since the visit's previous
 * view, so that a visit's views add up to its length). A visit is a view that `starts`, a
 * bounce one that also `ends`. `partition` is who a visit belongs to (and the day, for rollups).
 */
function viewsPart(partition: SQL): SQL {
  return sql`views as (
      select *,
        prev is null or occurred_at - prev > interval '30 minutes' as starts,
        next is null or next - occurred_at > interval '30 minutes' as ends,
        case when occurred_at - prev <= interval '30 minutes' then extract(epoch from occurred_at - prev) else 0 end as seconds
      from (
        select *, lag(occurred_at) over w as prev, lead(occurred_at) over w as next
        from ev where name = 'pageview'
        window w as (partition by ${partition} order by occurred_at, id)
      ) as ordered
    )`
}

export async function statsTotals(db: Database, s: StatsScope) {
  const [row] = await rows(
    db,
    sql`with ${scoped(s)}, ${viewsPart(sql`visitor`)}
      select
        (select count(distinct visitor) from ev)::int as visitors,
        (select count(*) from ev where name = 'pageview')::int as pageviews,
        (select count(*) from ev where name <> 'pageview')::int as events,
        (select count(*) filter (where starts) from views)::int as visits,
        (select coalesce(round(100.0 * count(*) filter (where starts and ends)
          / nullif(count(*) filter (where starts), 0)), 0) from views)::int as bounce_rate,
        (select coalesce(round(sum(seconds) / nullif(count(*) filter (where starts), 0)), 0) from views)::int as visit_duration`,
  )
  return row as {
    visitors: number
    pageviews: number
    events: number
    visits: number
    bounce_rate: number
    visit_duration: number
  }
}

const BUCKET_FORMATS = { hour: 'YYYY-MM-DD"T"HH24:00', day: 'YYYY-MM-DD', month: 'YYYY-MM' } as const

/** One row per hour, day or month of the range (empty ones included), in the range's time zone. */
export async function statsSeries(db: Database, s: StatsScope, interval: keyof typeof BUCKET_FORMATS) {
  const unit = sql.raw(`'${interval}'`)
  const step = sql.raw(`interval '1 ${interval}'`)
  const format = sql.raw(`'${BUCKET_FORMATS[interval]}'`)
  const out = await rows(
    db,
    sql`with ${scoped(s)},
      buckets as (
        select generate_series(date_trunc(${unit}, ${s.from}::date::timestamp), ${s.to}::date::timestamp + interval '1 day' - interval '1 second', ${step}) as bucket
      ),
      counted as (
        select date_trunc(${unit}, occurred_at at time zone ${s.timezone}) as bucket,
          count(distinct visitor)::int as visitors,
          (count(*) filter (where name = 'pageview'))::int as pageviews
        from ev group by 1
      )
      select to_char(b.bucket, ${format}) as date, coalesce(c.visitors, 0) as visitors, coalesce(c.pageviews, 0) as pageviews
      from buckets b left join counted c on c.bucket = b.bucket
      order by b.bucket`,
  )
  return out as Array<{ date: string; visitors: number; pageviews: number }>
}

const BREAKDOWNS = {
  page: 'pathname',
  source: 'source',
  campaign: 'utm_campaign',
  browser: 'browser',
  device: 'device',
  os: 'os',
} as const

/** Visitors and page views per value of one dimension, most visitors first. */
export async function statsBreakdown(
  db: Database,
  s: StatsScope,
  key: keyof typeof BREAKDOWNS,
  limit: number,
) {
  const column = sql.raw(BREAKDOWNS[key])
  const out = await rows(
    db,
    sql`with ${scoped(s)}
      select ${column} as value, count(distinct visitor)::int as visitors,
        (count(*) filter (where name = 'pageview'))::int as pageviews
      from ev where ${column} is not null and name = 'pageview'
      group by ${column} order by visitors desc, pageviews desc, value limit ${limit}`,
  )
  return out.map((r) => ({
    [key]: r.value as string,
    visitors: r.visitors as number,
    pageviews: r.pageviews as number,
  }))
}

/** The pages visits began (`entry`) or ended (`exit`) on, most visits first. */
export async function statsVisitPages(db: Database, s: StatsScope, end: 'entry' | 'exit', limit: number) {
  const marks = sql.raw(end === 'entry' ? 'starts' : 'ends')
  const out = await rows(
    db,
    sql`with ${scoped(s)}, ${viewsPart(sql`visitor`)}
      select pathname as page, count(*)::int as visits from views where ${marks}
      group by pathname order by visits desc, page limit ${limit}`,
  )
  return out as Array<{ page: string; visits: number }>
}

/** Custom events by name: how many were sent and by how many visitors. */
export async function statsEvents(db: Database, s: StatsScope, limit: number) {
  const out = await rows(
    db,
    sql`with ${scoped(s)}
      select name, count(distinct visitor)::int as visitors, count(*)::int as count
      from ev where name <> 'pageview'
      group by name order by count desc, name limit ${limit}`,
  )
  return out as Array<{ name: string; visitors: number; count: number }>
}

// ---- daily rollups --------------------------------------------------------------------------

/**
 * The rows of pixel_daily_stats for the days `from`..`to` (in `timezone`) of a site, computed
 * from its events (columns: day, dimension, value, visitors, pageviews, events, visits, bounces,
 * duration). The same rules as the raw stats: a visitor counted once a day, a visit being the
 * page views of a visitor less than 30 minutes apart within a day.
 */
function dailyRows(siteId: number, from: string, to: string, timezone: string): SQL {
  const dimension = (name: string, column: string) =>
    sql`select day, ${name}::text, ${sql.raw(column)}, count(distinct visitor_id), count(*), 0, 0, 0, 0
      from ev where name = 'pageview' and ${sql.raw(column)} is not null group by day, ${sql.raw(column)}`
  return sql`with ev as (
      select (occurred_at at time zone ${timezone})::date as day, id, occurred_at, name, visitor_id, pathname,
        source, utm_campaign, browser, device, os
      from ${pixelEvents}
      where site_id = ${siteId}
        and occurred_at >= (${from}::date)::timestamp at time zone ${timezone}
        and occurred_at < ((${to}::date) + 1)::timestamp at time zone ${timezone}
    ),
    ${viewsPart(sql`day, visitor_id`)}
    select day, 'total'::text as dimension, ''::text as value,
      count(distinct visitor_id) as visitors,
      count(*) filter (where name = 'pageview') as pageviews,
      count(*) filter (where name <> 'pageview') as events,
      0 as visits, 0 as bounces, 0::double precision as duration
    from ev group by day
    union all
    select day, 'visits'::text, ''::text, 0, 0, 0, count(*) filter (where starts), count(*) filter (where starts and ends),
      sum(seconds)::double precision
    from views group by day
    union all ${dimension('page', 'pathname')}
    union all ${dimension('source', 'source')}
    union all ${dimension('campaign', 'utm_campaign')}
    union all ${dimension('browser', 'browser')}
    union all ${dimension('device', 'device')}
    union all ${dimension('os', 'os')}
    union all
    select day, 'entry'::text, pathname, 0, 0, 0, count(*), 0, 0 from views where starts group by day, pathname
    union all
    select day, 'exit'::text, pathname, 0, 0, 0, count(*), 0, 0 from views where ends group by day, pathname
    union all
    select day, 'event'::text, name, count(distinct visitor_id), 0, count(*), 0, 0, 0
    from ev where name <> 'pageview' group by day, name`
}

/**
 * Sites with finished days not rolled up yet: `through` is the last day of the site's zone that
 * ended an hour before `now` (events still being committed at midnight are in), `first_day` the
 * day of its first event, both in the site's zone.
 */
export async function sitesToRollUp(db: Database, now: Date) {
  const out = await rows(
    db,
    sql`select id, timezone, rolled_through, first_day, through from (
        select s.id, s.timezone, s.rolled_through::text as rolled_through,
          (((${now.toISOString()}::timestamptz - interval '1 hour') at time zone s.timezone)::date - 1)::text as through,
          (select (min(e.occurred_at) at time zone s.timezone)::date::text from ${pixelEvents} e
            where e.site_id = s.id) as first_day
        from ${pixelSites} s
      ) as sites
      where rolled_through is null or rolled_through::date < through::date`,
  )
  return out as Array<{
    id: number
    timezone: string
    rolled_through: string | null
    first_day: string | null
    through: string
  }>
}

/**
 * Rolls the days `from`..`to` (in the site's zone, `timezone`) of a site up (again), and records
 * `to` as rolled up — unless the site's zone changed meanwhile, when nothing is written.
 */
export async function rollUpDays(
  db: Database,
  siteId: number,
  from: string,
  to: string,
  timezone: string,
): Promise<void> {
  await db.transaction(async (tx) => {
    // The site's row locked: a change of zone (which deletes the rollups) waits, or came first.
    const [site] = await rows(tx, sql`select timezone from ${pixelSites} where id = ${siteId} for update`)
    if (site?.timezone !== timezone) return
    await tx.execute(
      sql`delete from ${pixelDailyStats} where site_id = ${siteId} and day between ${from}::date and ${to}::date`,
    )
    await tx.execute(
      sql`insert into ${pixelDailyStats} (day, dimension, value, visitors, pageviews, events, visits, bounces, duration, site_id)
        select *, ${siteId}::integer from (${dailyRows(siteId, from, to, timezone)}) as rolled`,
    )
    // The months the days belong to, summed again from their days.
    const first = monthOf(from)
    const next = addMonth(monthOf(to))
    await tx.execute(
      sql`delete from ${pixelMonthlyStats} where site_id = ${siteId} and month >= ${first}::date and month < ${next}::date`,
    )
    await tx.execute(
      sql`insert into ${pixelMonthlyStats} (site_id, month, dimension, value, visitors, pageviews, events, visits, bounces, duration)
        select site_id, date_trunc('month', day)::date, dimension, value, sum(visitors), sum(pageviews), sum(events),
          sum(visits), sum(bounces), sum(duration)
        from ${pixelDailyStats}
        where site_id = ${siteId} and day >= ${first}::date and day < ${next}::date
        group by 1, 2, 3, 4`,
    )
    await tx.execute(sql`update ${pixelSites} set rolled_through = ${to}::date where id = ${siteId}`)
  })
}

/**
 * A range of whole days of the site's zone (`timezone`): `fresh` holds the per-day rows of the
 * days after `rolledThrough` (today, usually), computed from the events once for the three
 * queries that read the range.
 */
export type DailyScope = {
  siteId: number
  from: string
  to: string
  timezone: string
  rolledThrough: string
  fresh: Row[]
}

/** The per-day rows of the range's days not rolled up yet, computed from the events (none when every day is). */
export async function freshDailyRows(db: Database, s: Omit<DailyScope, 'fresh'>): Promise<Row[]> {
  if (s.to <= s.rolledThrough) return []
  const rest = s.from > s.rolledThrough ? s.from : addDay(s.rolledThrough)
  return rows(
    db,
    sql`select day::text as day, dimension, value, visitors::int as visitors, pageviews::int as pageviews,
        events::int as events, visits::int as visits, bounces::int as bounces, duration::double precision as duration
      from (${dailyRows(s.siteId, rest, s.to, s.timezone)}) as fresh(day, dimension, value, visitors, pageviews, events,
        visits, bounces, duration)`,
  )
}

/**
 * The per-day rows of a range: rolled-up days from the table (`dimensions` narrows them, so
 * the totals read two rows a day through the (site, dimension, day) index), then the fresh ones.
 * With `months`, the whole months of the range that are rolled up come from pixel_monthly_stats
 * instead, one row per month (dated the month's first day): only for sums over the whole range.
 */
function daily(s: DailyScope, options: { dimensions?: 'totals'; months?: boolean } = {}): SQL {
  const only = options.dimensions === 'totals' ? sql` and dimension in ('total', 'visits')` : sql``
  const [last] = [s.to, s.rolledThrough].sort() as [string, string]
  const days = (
    from: string,
    through: string,
  ) => sql`select day, dimension, value, visitors, pageviews, events, visits, bounces, duration
    from ${pixelDailyStats}
    where site_id = ${s.siteId}${only} and day between ${from}::date and ${through}::date`
  // Whole months: from the first month starting in the range to the last one ending in it.
  const firstWhole = monthOf(s.from) === s.from ? s.from : addMonth(monthOf(s.from))
  const afterWhole = monthOf(addDay(last)) // the first day after the last whole month
  let stored: SQL
  if (options.months && firstWhole < afterWhole) {
    const parts = [
      sql`select month as day, dimension, value, visitors, pageviews, events, visits, bounces, duration
        from ${pixelMonthlyStats}
        where site_id = ${s.siteId}${only} and month >= ${firstWhole}::date and month < ${afterWhole}::date`,
    ]
    if (s.from < firstWhole) parts.push(days(s.from, addDay(firstWhole, -1)))
    if (afterWhole <= last) parts.push(days(afterWhole, last))
    stored = sql.join(parts, sql` union all `)
  } else {
    stored = days(s.from, last)
  }
  if (s.fresh.length === 0) return sql`daily as (${stored})`
  const fresh = sql`select * from jsonb_to_recordset(${JSON.stringify(s.fresh)}::jsonb) as f(day date,
    dimension text, value text, visitors integer, pageviews integer, events integer, visits integer,
    bounces integer, duration double precision)`
  return sql`daily as (${stored} union all ${fresh})`
}

/** The first day (YYYY-MM-DD) of the month of `day`. */
function monthOf(day: string): string {
  return `${day.slice(0, 7)}-01`
}

/** The first day of the month after the one that starts on `month`. */
function addMonth(month: string): string {
  const date = new Date(`${month}T00:00:00Z`)
  date.setUTCMonth(date.getUTCMonth() + 1)
  return date.toISOString().slice(0, 10)
}

function addDay(day: string, days = 1): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10)
}

export async function dailyTotals(db: Database, s: DailyScope) {
  const [row] = await rows(
    db,
    sql`with ${daily(s, { dimensions: 'totals', months: true })}
      select
        coalesce(sum(visitors) filter (where dimension = 'total'), 0)::int as visitors,
        coalesce(sum(pageviews) filter (where dimension = 'total'), 0)::int as pageviews,
        coalesce(sum(events) filter (where dimension = 'total'), 0)::int as events,
        coalesce(sum(visits) filter (where dimension = 'visits'), 0)::int as visits,
        coalesce(round(100.0 * sum(bounces) filter (where dimension = 'visits')
          / nullif(sum(visits) filter (where dimension = 'visits'), 0)), 0)::int as bounce_rate,
        coalesce(round((sum(duration) filter (where dimension = 'visits')
          / nullif(sum(visits) filter (where dimension = 'visits'), 0))::numeric), 0)::int as visit_duration
      from daily`,
  )
  return row as Awaited<ReturnType<typeof statsTotals>>
}

export async function dailySeries(db: Database, s: DailyScope, interval: 'day' | 'month') {
  const unit = sql.raw(`'${interval}'`)
  const step = sql.raw(`interval '1 ${interval}'`)
  const format = sql.raw(`'${BUCKET_FORMATS[interval]}'`)
  const out = await rows(
    db,
    sql`with ${daily(s, { dimensions: 'totals' })},
      buckets as (
        select generate_series(date_trunc(${unit}, ${s.from}::date::timestamp), ${s.to}::date::timestamp, ${step}) as bucket
      ),
      counted as (
        select date_trunc(${unit}, day::timestamp) as bucket, sum(visitors)::int as visitors, sum(pageviews)::int as pageviews
        from daily where dimension = 'total' group by 1
      )
      select to_char(b.bucket, ${format}) as date, coalesce(c.visitors, 0) as visitors, coalesce(c.pageviews, 0) as pageviews
      from buckets b left join counted c on c.bucket = b.bucket
      order by b.bucket`,
  )
  return out as Array<{ date: string; visitors: number; pageviews: number }>
}

/** Every breakdown at once: the top `limit` values of each dimension, in the raw stats' order. */
export async function dailyBreakdowns(db: Database, s: DailyScope, limit: number) {
  const out = await rows(
    db,
    sql`with ${daily(s, { months: true })},
      summed as (
        select dimension, value, sum(visitors)::int as visitors, sum(pageviews)::int as pageviews,
          sum(events)::int as events, sum(visits)::int as visits
        from daily where dimension not in ('total', 'visits') group by dimension, value
      ),
      ranked as (
        select *, row_number() over (partition by dimension order by
          case when dimension in ('entry', 'exit') then visits when dimension = 'event' then events else visitors end desc,
          case when dimension in ('entry', 'exit', 'event') then 0 else pageviews end desc,
          value) as rank
        from summed
      )
      select dimension, value, visitors, pageviews, events, visits from ranked where rank <= ${limit}
      order by dimension, rank`,
  )
  return out as Array<{
    dimension: string
    value: string
    visitors: number
    pageviews: number
    events: number
    visits: number
  }>
}

/**
 * Forgets a site's rollups (after a change of its zone): the upkeep rolls its days up again,
 * from the events, in the new zone; until then its stats read the events.
 */
export async function deleteRollups(db: Executor, siteId: number): Promise<void> {
  await db.delete(pixelDailyStats).where(eq(pixelDailyStats.siteId, siteId))
  await db.delete(pixelMonthlyStats).where(eq(pixelMonthlyStats.siteId, siteId))
  await db.update(pixelSites).set({ rolledThrough: null }).where(eq(pixelSites.id, siteId))
}

/** The first rolled-up day of a site (in its zone) that began before `cutoff`, if any. */
export async function rolledDayBefore(
  db: Executor,
  siteId: number,
  timezone: string,
  cutoff: Date,
): Promise<string | null> {
  const [row] = await db
    .select({ day: pixelDailyStats.day })
    .from(pixelDailyStats)
    .where(
      and(
        eq(pixelDailyStats.siteId, siteId),
        sql`(${pixelDailyStats.day}::timestamp at time zone ${timezone}) < ${cutoff.toISOString()}::timestamptz`,
      ),
    )
    .orderBy(pixelDailyStats.day)
    .limit(1)
  return row?.day ?? null
}
