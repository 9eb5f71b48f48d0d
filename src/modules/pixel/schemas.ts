import { Type } from 'typebox'
import type { ListSpec } from '../../platform/http/list.ts'
import { component } from '../../platform/http/responses.ts'

const Timestamp = Type.String({ format: 'date-time' })
const HOSTNAME =
  '^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$'
const Domain = Type.String({
  pattern: HOSTNAME,
  maxLength: 253,
  description: "The site's hostname, without scheme or port (`example.com`; a leading `www.` is dropped)",
})
const AllowedHostnames = Type.Array(
  Type.String({ pattern: `^(?:\\*\\.)?${HOSTNAME.slice(1)}`, maxLength: 253 }),
  {
    maxItems: 20,
    description: 'Further hostnames whose pages count for this site; `*.example.com` matches its subdomains',
  },
)
const SampleRate = Type.Number({
  minimum: 0,
  maximum: 1,
  description: 'Share of visitors tracked (1 = all); a visitor is kept or left out for the whole day',
})

const TimeZone = Type.String({
  minLength: 1,
  maxLength: 64,
  description:
    "IANA name of the site's time zone (`Europe/Paris`; default `UTC`): the stats report its days by default, and the daily rollups are kept in it. A change deletes the rollups, which are rolled up again from the events",
  examples: ['Europe/Paris'],
})

const FeaturesOut = Type.Object({
  pageviews: Type.Boolean({ description: 'Page views are tracked' }),
  events: Type.Boolean({ description: 'Custom events are tracked' }),
  sessions: Type.Boolean({ description: 'Visits (sessions) are derived in the stats' }),
  outbound_links: Type.Boolean({ description: 'The tracker reports clicks on links to other sites' }),
  file_downloads: Type.Boolean({ description: 'The tracker reports clicks on file links (pdf, zip…)' }),
  respect_dnt: Type.Boolean({ description: 'The tracker sends nothing when the browser asks Do Not Track' }),
})
const FeaturesIn = Type.Partial(FeaturesOut, { additionalProperties: false })

export const SiteOut = Type.Object({
  id: Type.Integer(),
  domain: Type.String(),
  enabled: Type.Boolean(),
  sample_rate: Type.Number(),
  allowed_hostnames: Type.Array(Type.String()),
  features: FeaturesOut,
  timezone: TimeZone,
  created_at: Timestamp,
  updated_at: Timestamp,
})

const FEATURES_EXAMPLE = {
  pageviews: true,
  events: true,
  sessions: true,
  outbound_links: false,
  file_downloads: false,
  respect_dnt: true,
}

export const SITE_EXAMPLE = {
  id: 12,
  domain: 'example.com',
  enabled: true,
  sample_rate: 1,
  allowed_hostnames: ['*.example.com'],
  features: FEATURES_EXAMPLE,
  timezone: 'Europe/Paris',
  created_at: '2026-01-15T10:30:00Z',
  updated_at: '2026-01-15T10:30:00Z',
}

export const PixelSite = component('PixelSite', SiteOut, {
  description: 'A site whose pages send the pixel its page views and events.',
  example: SITE_EXAMPLE,
})

export const SiteCreate = Type.Object(
  {
    domain: Domain,
    enabled: Type.Optional(Type.Boolean({ default: true })),
    sample_rate: Type.Optional(SampleRate),
    allowed_hostnames: Type.Optional(AllowedHostnames),
    features: Type.Optional(FeaturesIn),
    timezone: Type.Optional(TimeZone),
  },
  {
    additionalProperties: false,
    examples: [
      {
        domain: 'example.com',
        allowed_hostnames: ['*.example.com'],
        features: { outbound_links: true },
        timezone: 'Europe/Paris',
      },
    ],
  },
)

export const SiteUpdate = Type.Object(
  {
    domain: Type.Optional(Domain),
    enabled: Type.Optional(Type.Boolean()),
    sample_rate: Type.Optional(SampleRate),
    allowed_hostnames: Type.Optional(AllowedHostnames),
    features: Type.Optional(FeaturesIn),
    timezone: Type.Optional(TimeZone),
  },
  { additionalProperties: false, minProperties: 1, examples: [{ enabled: false }] },
)

export const SiteParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) })

export const siteList: ListSpec = {
  sortable: ['id', 'domain', 'created_at', 'updated_at'],
  defaultSort: '-created_at',
  fields: [
    'domain',
    'enabled',
    'sample_rate',
    'allowed_hostnames',
    'features',
    'timezone',
    'created_at',
    'updated_at',
  ],
  includes: [],
  filters: { enabled: Type.Boolean({ description: 'Only enabled (or disabled) sites' }) },
}

export const ConfigQuery = Type.Object(
  {
    domain: Type.Optional(
      Type.String({ maxLength: 253, description: 'The site, when the request has no Origin or Referer' }),
    ),
  },
  { additionalProperties: false },
)

export const ConfigOut = Type.Object({
  enabled: Type.Boolean(),
  features: FeaturesOut,
  sample_rate: Type.Number(),
})

export const PixelConfig = component('PixelConfig', ConfigOut, {
  description: "What the tracker of a site needs: whether it tracks, which features, the visitors' share.",
  example: { enabled: true, features: FEATURES_EXAMPLE, sample_rate: 1 },
})

const PropertyValue = Type.Union([Type.String({ maxLength: 500 }), Type.Number(), Type.Boolean()])

export const TrackBody = Type.Object(
  {
    event: Type.String({
      minLength: 1,
      maxLength: 120,
      description: '`pageview`, or the name of a custom event',
    }),
    url: Type.String({ minLength: 1, maxLength: 4096, description: "The page's absolute URL" }),
    referrer: Type.Optional(Type.Union([Type.String({ maxLength: 4096 }), Type.Null()])),
    user_agent: Type.Optional(
      Type.String({
        maxLength: 1024,
        description: 'Used only when the request has no User-Agent header; never stored',
      }),
    ),
    properties: Type.Optional(
      Type.Record(Type.String({ maxLength: 100 }), PropertyValue, {
        maxProperties: 30,
        description: 'Up to 30 custom properties (strings, numbers, booleans)',
      }),
    ),
  },
  {
    additionalProperties: false,
    examples: [
      {
        event: 'pageview',
        url: 'https://example.com/pricing?utm_source=newsletter',
        referrer: 'https://news.example.org/',
      },
    ],
  },
)

const TrackOut = Type.Object({
  tracked: Type.Boolean({
    description: 'false for bots, unknown or disabled sites and sampled-out visitors',
  }),
})

export const PixelTrackResult = component('PixelTrackResult', TrackOut, {
  description: 'Whether the event was stored (committed) or left out.',
  example: { tracked: true },
})

export const INTERVALS = ['hour', 'day', 'month'] as const
const Day = Type.String({
  pattern: '^(19[7-9]\\d|[2-9]\\d{3})-\\d{2}-\\d{2}$',
  description: 'A date (YYYY-MM-DD, from 1970) in `timezone`',
})

export const StatsQuery = Type.Object(
  {
    from: Type.Optional(Day),
    to: Type.Optional(Day),
    interval: Type.Optional(Type.Enum([...INTERVALS], { description: 'Time series step (default `day`)' })),
    timezone: Type.Optional(
      Type.String({
        maxLength: 64,
        description:
          "IANA time zone of the dates and the series (default: the site's `timezone`). Ranges of whole days in the site's zone are read from its daily rollups; other zones read the events",
        examples: ['America/New_York'],
      }),
    ),
    page: Type.Optional(Type.String({ maxLength: 1024, description: 'Only this path (`/pricing`)' })),
    source: Type.Optional(
      Type.String({
        maxLength: 253,
        description:
          'Only the visits whose entry page view came from this source (`Google`), with all their page views and events',
      }),
    ),
    event: Type.Optional(
      Type.String({ maxLength: 120, description: 'Only visitors who sent this custom event' }),
    ),
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100, description: 'Rows per breakdown (default 10)' }),
    ),
  },
  { additionalProperties: false },
)

const Breakdown = (key: string) =>
  Type.Array(Type.Object({ [key]: Type.String(), visitors: Type.Integer(), pageviews: Type.Integer() }))

export const StatsOut = Type.Object({
  site_id: Type.Integer(),
  from: Type.String(),
  to: Type.String(),
  timezone: Type.String(),
  interval: Type.String(),
  totals: Type.Object({
    visitors: Type.Integer({ description: 'Unique visitors of each day, summed over the range' }),
    pageviews: Type.Integer(),
    events: Type.Integer({ description: 'Custom events' }),
    visits: Type.Integer({ description: "Sessions: a visitor's page views less than 30 minutes apart" }),
    bounce_rate: Type.Number({ description: 'Share of visits (0–100) with a single page view' }),
    visit_duration: Type.Integer({ description: 'Mean visit length in seconds' }),
  }),
  timeseries: Type.Array(
    Type.Object({ date: Type.String(), visitors: Type.Integer(), pageviews: Type.Integer() }),
  ),
  pages: Breakdown('page'),
  entry_pages: Type.Array(Type.Object({ page: Type.String(), visits: Type.Integer() })),
  exit_pages: Type.Array(Type.Object({ page: Type.String(), visits: Type.Integer() })),
  sources: Breakdown('source'),
  utm_campaigns: Breakdown('campaign'),
  browsers: Breakdown('browser'),
  devices: Breakdown('device'),
  os: Breakdown('os'),
  events: Type.Array(Type.Object({ name: Type.String(), visitors: Type.Integer(), count: Type.Integer() })),
})

export const PixelStats = component('PixelStats', StatsOut, {
  description: 'The stats of a site over a range of days.',
  example: {
    site_id: 12,
    from: '2026-01-01',
    to: '2026-01-02',
    timezone: 'UTC',
    interval: 'day',
    totals: { visitors: 140, pageviews: 410, events: 12, visits: 180, bounce_rate: 42.2, visit_duration: 95 },
    timeseries: [
      { date: '2026-01-01', visitors: 60, pageviews: 170 },
      { date: '2026-01-02', visitors: 80, pageviews: 240 },
    ],
    pages: [{ page: '/', visitors: 120, pageviews: 250 }],
    entry_pages: [{ page: '/', visits: 150 }],
    exit_pages: [{ page: '/pricing', visits: 70 }],
    sources: [{ source: 'Google', visitors: 50, pageviews: 130 }],
    utm_campaigns: [{ campaign: 'launch', visitors: 20, pageviews: 45 }],
    browsers: [{ browser: 'Firefox', visitors: 70, pageviews: 200 }],
    devices: [{ device: 'desktop', visitors: 100, pageviews: 300 }],
    os: [{ os: 'Linux', visitors: 40, pageviews: 120 }],
    events: [{ name: 'signup', visitors: 10, count: 12 }],
  },
})
