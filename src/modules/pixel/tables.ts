// Pixel analytics: sites registered per workspace (matched by hostname, unique across the
// platform, since the public endpoints find a site without a credential), the daily salts of
// the visitor hash, and the events. An event stores no IP and no user agent: only the visitor
// hash of the day, the page's path, the referrer's source and what the user agent says about
// the device, browser and OS.
import { sql } from 'drizzle-orm'
import {
  bigint,
  boolean,
  date,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core'
import { workspaces } from '../workspaces/tables.ts'

export type SiteFeatures = {
  pageviews: boolean
  events: boolean
  sessions: boolean
  outbound_links: boolean
  file_downloads: boolean
  respect_dnt: boolean
}

export const pixelSites = pgTable(
  'pixel_sites',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    workspaceId: integer('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    domain: text('domain').notNull(),
    enabled: boolean('enabled').notNull().default(true),
    sampleRate: real('sample_rate').notNull().default(1),
    allowedHostnames: text('allowed_hostnames').array().notNull().default(sql`'{}'::text[]`),
    features: jsonb('features').$type<SiteFeatures>().notNull(),
    /** IANA name of the zone whose days the stats report by default, and the rollups are kept in. */
    timezone: text('timezone').notNull().default('UTC'),
    /** The last day (in `timezone`) whose events are rolled up into pixel_daily_stats (null: none yet). */
    rolledThrough: date('rolled_through', { mode: 'string' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('pixel_sites_domain_key').on(t.domain),
    // The public endpoints look sites up by any of their hostnames.
    index('pixel_sites_allowed_hostnames_idx').using('gin', t.allowedHostnames),
    index('pixel_sites_workspace_created_idx').on(t.workspaceId, t.createdAt),
  ],
)

/** The salt of each UTC day (sealed at rest); today's and yesterday's are kept, older ones deleted. */
export const pixelSalts = pgTable('pixel_salts', {
  day: date('day', { mode: 'string' }).primaryKey(),
  salt: text('salt').notNull(),
})

export const pixelEvents = pgTable(
  'pixel_events',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    siteId: integer('site_id')
      .notNull()
      .references(() => pixelSites.id, { onDelete: 'cascade' }),
    /** The site's time of the event (the server's clock when it was received). */
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull(),
    /** `pageview`, or a custom event's name. */
    name: text('name').notNull(),
    /** Keyed hash of IP, user agent and site under the day's salt: unique per visitor and day. */
    visitorId: bigint('visitor_id', { mode: 'bigint' }).notNull(),
    hostname: text('hostname').notNull(),
    pathname: text('pathname').notNull(),
    /** Where the visit came from: utm_source, else the referrer's host (known engines named). */
    source: text('source'),
    referrerHost: text('referrer_host'),
    utmMedium: text('utm_medium'),
    utmCampaign: text('utm_campaign'),
    utmContent: text('utm_content'),
    utmTerm: text('utm_term'),
    device: text('device').notNull(),
    browser: text('browser').notNull(),
    os: text('os').notNull(),
    properties: jsonb('properties').$type<Record<string, string | number | boolean>>(),
  },
  (t) => [index('pixel_events_site_time_idx').on(t.siteId, t.occurredAt)],
)

/** The site a stats row counts, gone with it. */
const statsSite = () =>
  integer('site_id')
    .notNull()
    .references(() => pixelSites.id, { onDelete: 'cascade' })

/** What a stats row counts for one value of one dimension (the daily and the monthly rows alike). */
const statsCounts = () => ({
  dimension: text('dimension').notNull(),
  value: text('value').notNull(),
  visitors: integer('visitors').notNull(),
  pageviews: integer('pageviews').notNull(),
  events: integer('events').notNull(),
  visits: integer('visits').notNull(),
  bounces: integer('bounces').notNull(),
  /** Sum of the visits' lengths, in seconds. */
  duration: doublePrecision('duration').notNull(),
})

/**
 * The events of each finished day of a site, in the site's time zone, counted once per
 * dimension value: `total` (visitors, page views, events), `visits` (visits, bounces, seconds),
 * and `page`, `source`, `campaign`, `browser`, `device`, `os`, `entry`, `exit`, `event` with
 * their values. Visitors are counted per day (a visitor id lives for one UTC day, and the stats
 * count a visitor once per day of their zone), so the visitors of different days add up: a range
 * of whole days of the site's zone is answered from these rows, whatever its length. A change of
 * the site's zone deletes them (they are rolled up again from the events).
 */
export const pixelDailyStats = pgTable(
  'pixel_daily_stats',
  {
    siteId: statsSite(),
    day: date('day', { mode: 'string' }).notNull(),
    ...statsCounts(),
  },
  (t) => [
    primaryKey({ columns: [t.siteId, t.day, t.dimension, t.value] }),
    // The totals and the series of a range read two rows a day (`total`, `visits`), not all of them.
    index('pixel_daily_stats_site_dimension_day_idx').on(t.siteId, t.dimension, t.day),
  ],
)

/**
 * The same rows summed per month of the site's zone, kept beside the daily ones by each roll-up (the months it
 * touched are summed again). A range answers its whole months from here and only its partial
 * months from pixel_daily_stats: a year's breakdowns sum twelve rows per value instead of 365.
 * A month's row covers the days rolled up so far; it is read only for months that are whole and
 * rolled up.
 */
export const pixelMonthlyStats = pgTable(
  'pixel_monthly_stats',
  {
    siteId: statsSite(),
    /** The month's first day. */
    month: date('month', { mode: 'string' }).notNull(),
    ...statsCounts(),
  },
  (t) => [primaryKey({ columns: [t.siteId, t.month, t.dimension, t.value] })],
)
