// Pixel analytics, in the manner of Plausible: one site's visitors over a period, as figures, a
// chart and breakdowns. The site, period, interval and filters live in the URL, so a view can be
// bookmarked and shared; a row of the pages, sources or events tables filters the whole screen by
// it. Days are the site's: the stats API reports in the site's time zone, and the screen says which. Without a site, the screen
// explains how to add one and, to people who may, offers the form and the snippet to paste.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useNavigate, useParams, useSearch } from '@tanstack/react-router'
import {
  type CSSProperties,
  type FormEvent,
  type ReactNode,
  useEffect,
  useId,
  useMemo,
  useRef,
  useState,
} from 'react'
import { api } from '../api.ts'
import { TimeSeriesChart } from '../chart.tsx'
import { DialogClose, FormDialog } from '../dialogs.tsx'
import { formatNumber } from '../format.ts'
import { isDay, PIXEL_INTERVALS, PIXEL_PERIODS, type PixelSearch } from '../search.ts'
import { accessQuery, can } from '../session.ts'
import { DataTable, ErrorText } from '../ui.tsx'

type Site = Awaited<ReturnType<typeof api.pixel.getSite>>['data']
type Stats = Awaited<ReturnType<typeof api.pixel.getSiteStats>>['data']
type Period = (typeof PIXEL_PERIODS)[number]
type Interval = (typeof PIXEL_INTERVALS)[number]
type FilterName = 'page' | 'source' | 'event'

const PERIOD_LABELS: Record<Period, string> = {
  today: 'Today',
  '7d': 'Last 7 days',
  '30d': 'Last 30 days',
  month: 'This month',
  '12mo': 'Last 12 months',
  custom: 'Custom range',
}
const INTERVAL_LABELS: Record<Interval, string> = { hour: 'Hours', day: 'Days', month: 'Months' }
const FILTER_LABELS: Record<FilterName, string> = { page: 'Page', source: 'Source', event: 'Event' }
/** The stats API's longest hourly series, in days. */
const MAX_HOURLY_DAYS = 31
const DAY_MS = 86_400_000

function pad(n: number): string {
  return String(n).padStart(2, '0')
}

/** Today in the site's time zone (YYYY-MM-DD): the periods end on the site's today. */
function today(timezone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: timezone,
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
  }).formatToParts(new Date())
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value)
  return `${part('year')}-${pad(part('month'))}-${pad(part('day'))}`
}

function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10)
}

/** The first day of the month `n` months after the one of `day`. */
function monthStart(day: string, n = 0): string {
  const date = new Date(Date.parse(`${day.slice(0, 7)}-01T00:00:00Z`))
  date.setUTCMonth(date.getUTCMonth() + n)
  return date.toISOString().slice(0, 10)
}

/** Days from `from` to `to`, both included. */
function daysIn(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS) + 1
}

/** The first and last day of a period, ending today. */
function periodRange(period: Period, search: PixelSearch, now: string): { from: string; to: string } {
  switch (period) {
    case 'today':
      return { from: now, to: now }
    case '7d':
      return { from: addDays(now, -6), to: now }
    case 'month':
      return { from: monthStart(now), to: now }
    case '12mo':
      return { from: monthStart(now, -11), to: now }
    case 'custom':
      if (search.from && search.to) return { from: search.from, to: search.to }
      return { from: addDays(now, -29), to: now }
    default:
      return { from: addDays(now, -29), to: now }
  }
}

/** The interval a period opens with: hours for a day, months for a year, days otherwise. */
function defaultInterval(days: number): Interval {
  if (days === 1) return 'hour'
  return days > 92 ? 'month' : 'day'
}

/** A series bucket (`2026-01-02T13:00`, `2026-01-02`, `2026-01`) as seconds, in the browser's zone. */
function bucketSeconds(bucket: string): number {
  const [date = '', time] = bucket.split('T')
  const [year = 1970, month = 1, day = 1] = date.split('-').map(Number)
  const hour = time ? Number(time.slice(0, 2)) : 0
  return new Date(year, month - 1, day, hour).getTime() / 1000
}

const BUCKET_FORMATS: Record<Interval, Intl.DateTimeFormat> = {
  hour: new Intl.DateTimeFormat(undefined, {
    month: 'short',
    day: 'numeric',
    hour: 'numeric',
    minute: '2-digit',
  }),
  day: new Intl.DateTimeFormat(undefined, {
    weekday: 'short',
    month: 'short',
    day: 'numeric',
    year: 'numeric',
  }),
  month: new Intl.DateTimeFormat(undefined, { month: 'long', year: 'numeric' }),
}
const DAY_FORMAT = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' })

function formatDay(day: string): string {
  return DAY_FORMAT.format(new Date(bucketSeconds(day) * 1000))
}

/** "45s", "1m 35s", "2h 5m": a visit's length at a glance. */
function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`
}

function formatPercent(value: number): string {
  return `${value.toLocaleString(undefined, { maximumFractionDigits: 0 })}%`
}

export function Pixel() {
  const { workspaceId } = useParams({ from: '/w/$workspaceId' })
  const search = useSearch({ from: '/w/$workspaceId/pixel' })
  const navigate = useNavigate({ from: '/w/$workspaceId/pixel' })
  const canWrite = can(useQuery(accessQuery(workspaceId)).data, 'pixel:write')
  const sites = useQuery({
    queryKey: ['pixel-sites', workspaceId],
    queryFn: async () => await api.pixel.listSites({ per_page: 100, sort: 'domain' }, { workspaceId }),
  })
  const [adding, setAdding] = useState(false)
  const [added, setAdded] = useState<Site | null>(null)

  const list = sites.data?.data ?? []
  const site = list.find((s) => s.id === search.site) ?? list[0]
  const setSearch = (next: Partial<PixelSearch>) =>
    navigate({ search: (previous) => ({ ...previous, ...next }) })
  const onAdded = (created: Site) => {
    setAdding(false)
    setAdded(created)
    navigate({ search: { site: created.id } })
  }

  return (
    <section aria-labelledby="pixel-title">
      <div className="screen-head">
        <h1 id="pixel-title">Pixel analytics</h1>
        {canWrite && list.length > 0 && (
          <button type="button" onClick={() => setAdding(true)}>
            Add site
          </button>
        )}
      </div>
      {sites.isError && <ErrorText error={sites.error} />}
      {sites.isPending && <p aria-live="polite">Loading sites…</p>}
      {sites.isSuccess && list.length === 0 && (
        <NoSites canWrite={canWrite} workspaceId={workspaceId} onAdded={onAdded} />
      )}
      {added && <AddedNotice site={added} onDone={() => setAdded(null)} />}
      {site && (
        <>
          <ScreenControls sites={list} site={site} search={search} onChange={setSearch} />
          <SiteStats workspaceId={workspaceId} site={site} search={search} onChange={setSearch} />
          {!added && (
            <details className="snippet-details">
              <summary>Tracking snippet for {site.domain}</summary>
              <Snippet domain={site.domain} />
            </details>
          )}
        </>
      )}
      <FormDialog
        open={adding}
        onOpenChange={setAdding}
        title="Add a site"
        description="Register the domain whose pages will send the pixel their page views."
      >
        <AddSiteForm workspaceId={workspaceId} onAdded={onAdded} inDialog />
      </FormDialog>
    </section>
  )
}

/** What to do with a site just registered; it takes the focus, as the form that made it is gone. */
function AddedNotice(props: { site: Site; onDone: () => void }) {
  const heading = useRef<HTMLHeadingElement>(null)
  useEffect(() => heading.current?.focus(), [])
  return (
    <div className="notice ok-notice">
      <h2 ref={heading} tabIndex={-1}>
        {props.site.domain} is registered
      </h2>
      <p>
        Paste this snippet into the pages of {props.site.domain}, in their head, to start counting visitors:
      </p>
      <Snippet domain={props.site.domain} />
      <button type="button" className="secondary" onClick={props.onDone}>
        Done
      </button>
    </div>
  )
}

function NoSites(props: { canWrite: boolean; workspaceId: number; onAdded: (site: Site) => void }) {
  return (
    <div className="card empty-state">
      <h2>No sites yet</h2>
      <p>
        The pixel counts the visitors, page views, sources and custom events of a website, without cookies and
        without storing IP addresses. Register the site's domain, then paste one <code>&lt;script&gt;</code>{' '}
        tag into its pages: the numbers appear here.
      </p>
      {props.canWrite ? (
        <AddSiteForm workspaceId={props.workspaceId} onAdded={props.onAdded} />
      ) : (
        <p className="hint">
          Your role cannot add sites: ask an owner or admin of this workspace, or use a key with the{' '}
          <code>pixel:write</code> scope (<code>POST /api/v1/pixel/sites</code>).
        </p>
      )}
    </div>
  )
}

/** `a.example.com, *.example.com` → the list the API takes. */
function parseHostnames(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((host) => host.trim())
    .filter(Boolean)
}

/** The zone this browser is in (what most people want their days counted in), else UTC. */
function browserZone(): string {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone
  try {
    // A browser that cannot tell its zone may say `Etc/Unknown`, which no formatter takes.
    return zone ? new Intl.DateTimeFormat('en', { timeZone: zone }).resolvedOptions().timeZone : 'UTC'
  } catch {
    return 'UTC'
  }
}

/** IANA zone names to suggest (any other the server knows is taken too). */
function knownZones(): string[] {
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : []
  return zones.includes('UTC') ? zones : ['UTC', ...zones]
}

function AddSiteForm(props: { workspaceId: number; onAdded: (site: Site) => void; inDialog?: boolean }) {
  const queryClient = useQueryClient()
  const domainId = useId()
  const hostsId = useId()
  const hostsHint = useId()
  const zoneId = useId()
  const zoneHint = useId()
  const zoneList = useId()
  const zones = useMemo(knownZones, [])
  const create = useMutation({
    mutationFn: (body: Parameters<typeof api.pixel.createSite>[0]) =>
      api.pixel.createSite(body, { workspaceId: props.workspaceId }),
    onSuccess: async ({ data }) => {
      await queryClient.invalidateQueries({ queryKey: ['pixel-sites', props.workspaceId] })
      props.onAdded(data)
    },
  })
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const form = new FormData(event.currentTarget)
    const hosts = parseHostnames(String(form.get('allowed_hostnames') ?? ''))
    create.mutate({
      domain: String(form.get('domain')).trim(),
      ...(hosts.length > 0 && { allowed_hostnames: hosts }),
      timezone: String(form.get('timezone')).trim(),
      features: {
        outbound_links: form.get('outbound_links') === 'on',
        file_downloads: form.get('file_downloads') === 'on',
        respect_dnt: form.get('respect_dnt') === 'on',
      },
    })
  }
  return (
    <form className="stack site-form" onSubmit={submit}>
      <label htmlFor={domainId}>Domain</label>
      <input
        id={domainId}
        name="domain"
        required
        maxLength={253}
        placeholder="example.com"
        autoComplete="off"
        spellCheck={false}
      />
      <label htmlFor={hostsId}>Other hostnames (optional)</label>
      <input
        id={hostsId}
        name="allowed_hostnames"
        placeholder="*.example.com, shop.example.net"
        aria-describedby={hostsHint}
        autoComplete="off"
        spellCheck={false}
      />
      <p className="hint" id={hostsHint}>
        Pages on these hostnames count for the site too; <code>*.example.com</code> matches its subdomains.
      </p>
      <label htmlFor={zoneId}>Time zone of the reports</label>
      <input
        id={zoneId}
        name="timezone"
        required
        list={zoneList}
        defaultValue={browserZone()}
        aria-describedby={zoneHint}
        autoComplete="off"
        spellCheck={false}
      />
      <datalist id={zoneList}>
        {zones.map((zone) => (
          <option key={zone} value={zone} />
        ))}
      </datalist>
      <p className="hint" id={zoneHint}>
        The site's days and months start at midnight in this zone, such as <code>Europe/Paris</code>; this
        browser's zone is suggested.
      </p>
      <fieldset>
        <legend>Also track</legend>
        <label className="inline">
          <input type="checkbox" name="outbound_links" /> Clicks on links to other sites
        </label>
        <label className="inline">
          <input type="checkbox" name="file_downloads" /> File downloads (pdf, zip…)
        </label>
        <label className="inline">
          <input type="checkbox" name="respect_dnt" /> Send nothing when the browser asks Do Not Track
        </label>
      </fieldset>
      <ErrorText error={create.error} />
      <div className="actions">
        {props.inDialog && <DialogClose className="secondary">Cancel</DialogClose>}
        <button type="submit" disabled={create.isPending}>
          {create.isPending ? 'Adding…' : 'Add site'}
        </button>
      </div>
    </form>
  )
}

/** The tag a site pastes into its pages, exactly as the tracker reads it (docs/pixel.md). */
function Snippet(props: { domain: string }) {
  const id = useId()
  const [copied, setCopied] = useState<'idle' | 'copied' | 'failed'>('idle')
  const code = `<script defer src="${window.location.origin}/pixel.js" data-domain="${props.domain}"></script>`
  return (
    <div className="snippet">
      <label htmlFor={id}>Snippet for {props.domain}</label>
      <div className="secret">
        <textarea
          id={id}
          readOnly
          rows={2}
          value={code}
          data-testid="snippet"
          onFocus={(event) => event.currentTarget.select()}
        />
        <button
          type="button"
          onClick={() =>
            navigator.clipboard.writeText(code).then(
              () => setCopied('copied'),
              () => setCopied('failed'),
            )
          }
        >
          Copy
        </button>
      </div>
      <p className="hint" aria-live="polite">
        {copied === 'copied' && 'Copied to the clipboard.'}
        {copied === 'failed' && 'The browser refused the clipboard: select the text and copy it.'}
      </p>
    </div>
  )
}

/** The site, period and interval pickers. */
function ScreenControls(props: {
  sites: Site[]
  site: Site
  search: PixelSearch
  onChange: (next: Partial<PixelSearch>) => void
}) {
  const siteId = useId()
  const periodId = useId()
  const intervalId = useId()
  const fromId = useId()
  const toId = useId()
  const { search, onChange } = props
  const period = search.period ?? '30d'
  const now = today(props.site.timezone)
  const range = periodRange(period, search, now)
  const days = daysIn(range.from, range.to)
  const interval = effectiveInterval(search.interval, days)
  // "Custom range" chosen but not applied yet: the dates show, the period is still the old one.
  const [pickingCustom, setPickingCustom] = useState(false)
  const custom = period === 'custom' || pickingCustom
  const [customError, setCustomError] = useState<string | null>(null)

  function applyCustom(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const form = new FormData(event.currentTarget)
    const from = String(form.get('from') ?? '')
    const to = String(form.get('to') ?? '')
    if (!isDay(from) || !isDay(to)) return setCustomError('Choose both days.')
    if (from > to) return setCustomError('The first day must not be after the last.')
    setCustomError(null)
    setPickingCustom(false)
    onChange({ period: 'custom', from, to, interval: undefined })
  }

  return (
    <search aria-label="What to show">
      <div className="filters">
        {props.sites.length > 1 ? (
          <div>
            <label htmlFor={siteId}>Site</label>
            <select
              id={siteId}
              value={props.site.id}
              onChange={(event) => onChange({ site: Number(event.target.value) })}
            >
              {props.sites.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.domain}
                  {s.enabled ? '' : ' (disabled)'}
                </option>
              ))}
            </select>
          </div>
        ) : (
          <p className="site-name">
            Site: <strong>{props.site.domain}</strong>
            {props.site.enabled ? '' : ' (disabled)'}
          </p>
        )}
        <div>
          <label htmlFor={periodId}>Period</label>
          <select
            id={periodId}
            value={custom ? 'custom' : period}
            onChange={(event) => {
              const next = PIXEL_PERIODS.find((p) => p === event.target.value) ?? '30d'
              if (next === 'custom') return setPickingCustom(true)
              setPickingCustom(false)
              onChange({
                period: next === '30d' ? undefined : next,
                from: undefined,
                to: undefined,
                interval: undefined,
              })
            }}
          >
            {PIXEL_PERIODS.map((p) => (
              <option key={p} value={p}>
                {PERIOD_LABELS[p]}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor={intervalId}>Interval</label>
          <select
            id={intervalId}
            value={interval}
            onChange={(event) => {
              const next = PIXEL_INTERVALS.find((i) => i === event.target.value)
              onChange({ interval: next === defaultInterval(days) ? undefined : next })
            }}
          >
            {PIXEL_INTERVALS.map((i) => (
              <option key={i} value={i} disabled={i === 'hour' && days > MAX_HOURLY_DAYS}>
                {INTERVAL_LABELS[i]}
              </option>
            ))}
          </select>
        </div>
      </div>
      {custom && (
        <form className="filters" onSubmit={applyCustom} aria-label="Custom range">
          <div>
            <label htmlFor={fromId}>From</label>
            <input id={fromId} name="from" type="date" defaultValue={range.from} max={now} required />
          </div>
          <div>
            <label htmlFor={toId}>To</label>
            <input id={toId} name="to" type="date" defaultValue={range.to} max={now} required />
          </div>
          <button type="submit" className="secondary">
            Apply range
          </button>
          <ErrorText error={customError} />
        </form>
      )}
    </search>
  )
}

/** The interval asked for when the range allows it, else the range's default. */
function effectiveInterval(asked: Interval | undefined, days: number): Interval {
  if (asked === 'hour' && days > MAX_HOURLY_DAYS) return defaultInterval(days)
  return asked ?? defaultInterval(days)
}

function SiteStats(props: {
  workspaceId: number
  site: Site
  search: PixelSearch
  onChange: (next: Partial<PixelSearch>) => void
}) {
  const { search, site, workspaceId } = props
  const period = search.period ?? '30d'
  const range = periodRange(period, search, today(site.timezone))
  const interval = effectiveInterval(search.interval, daysIn(range.from, range.to))
  const filters = { page: search.page, source: search.source, event: search.event }
  const stats = useQuery({
    queryKey: ['pixel-stats', workspaceId, site.id, range, interval, site.timezone, filters],
    // In the site's zone (the API's default), whose whole days its rollups answer.
    queryFn: async () =>
      (await api.pixel.getSiteStats(site.id, { ...range, interval, ...filters, limit: 10 }, { workspaceId }))
        .data,
    placeholderData: keepPreviousData,
  })
  const filter = (name: FilterName, value: string) => props.onChange({ [name]: value })
  const active = (Object.keys(FILTER_LABELS) as FilterName[]).filter((name) => filters[name] !== undefined)

  return (
    <div aria-busy={stats.isFetching} className="pixel-stats">
      <p className="hint">
        {range.from === range.to
          ? formatDay(range.from)
          : `${formatDay(range.from)} – ${formatDay(range.to)}`}
        , in {stats.data?.timezone ?? site.timezone}.
      </p>
      {active.length > 0 && (
        <div className="chips-bar">
          <ul className="chips" aria-label="Active filters">
            {active.map((name) => (
              <li key={name} className="chip">
                {FILTER_LABELS[name]}: <strong>{filters[name]}</strong>
                <button
                  type="button"
                  className="chip-remove"
                  aria-label={`Remove filter ${FILTER_LABELS[name]}: ${filters[name]}`}
                  onClick={() => props.onChange({ [name]: undefined })}
                >
                  ×
                </button>
              </li>
            ))}
          </ul>
          {active.length > 1 && (
            <button
              type="button"
              className="link"
              onClick={() => props.onChange({ page: undefined, source: undefined, event: undefined })}
            >
              Clear filters
            </button>
          )}
        </div>
      )}
      {stats.isError && <ErrorText error={stats.error} />}
      {stats.isPending && !stats.isError && <p aria-live="polite">Loading stats…</p>}
      {stats.data && <StatsView stats={stats.data} interval={interval} onFilter={filter} />}
    </div>
  )
}

function StatsView(props: {
  stats: Stats
  interval: Interval
  onFilter: (name: FilterName, value: string) => void
}) {
  const { stats, onFilter } = props
  const { totals } = stats
  const chart = useMemo(
    () => ({
      x: stats.timeseries.map((point) => bucketSeconds(point.date)),
      series: [
        {
          label: 'Visitors',
          values: stats.timeseries.map((point) => point.visitors),
          color: '--accent',
          fill: true,
        },
        { label: 'Pageviews', values: stats.timeseries.map((point) => point.pageviews), color: '--ok' },
      ],
    }),
    [stats.timeseries],
  )
  const format = BUCKET_FORMATS[props.interval]
  const metrics: [string, string, string][] = [
    ['visitors', 'Unique visitors', formatNumber(totals.visitors)],
    ['visits', 'Visits', formatNumber(totals.visits)],
    ['pageviews', 'Pageviews', formatNumber(totals.pageviews)],
    ['bounce_rate', 'Bounce rate', formatPercent(totals.bounce_rate)],
    ['visit_duration', 'Visit duration', formatDuration(totals.visit_duration)],
  ]
  if (totals.events > 0) metrics.push(['events', 'Custom events', formatNumber(totals.events)])

  return (
    <>
      <h2 className="visually-hidden">Totals</h2>
      <dl className="metrics">
        {metrics.map(([key, label, value]) => (
          <div key={key} className="metric" data-metric={key}>
            <dt>{label}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      <TimeSeriesChart
        title="Visitors and pageviews"
        x={chart.x}
        series={chart.series}
        formatX={(seconds) => format.format(new Date(seconds * 1000))}
        integers
      />
      <div className="breakdowns">
        <Breakdown
          title="Top pages"
          heading="Page"
          rows={stats.pages.map((r) => ({ key: r.page, counts: [r.visitors, r.pageviews] }))}
          columns={['Visitors', 'Pageviews']}
          onFilter={(page) => onFilter('page', page)}
        />
        <Breakdown
          title="Entry pages"
          heading="Page"
          rows={stats.entry_pages.map((r) => ({ key: r.page, counts: [r.visits] }))}
          columns={['Visits']}
          onFilter={(page) => onFilter('page', page)}
        />
        <Breakdown
          title="Exit pages"
          heading="Page"
          rows={stats.exit_pages.map((r) => ({ key: r.page, counts: [r.visits] }))}
          columns={['Visits']}
          onFilter={(page) => onFilter('page', page)}
        />
        <Breakdown
          title="Sources"
          heading="Source"
          rows={stats.sources.map((r) => ({ key: r.source, counts: [r.visitors, r.pageviews] }))}
          columns={['Visitors', 'Pageviews']}
          onFilter={(source) => onFilter('source', source)}
        />
        <Breakdown
          title="UTM campaigns"
          heading="Campaign"
          rows={stats.utm_campaigns.map((r) => ({ key: r.campaign, counts: [r.visitors, r.pageviews] }))}
          columns={['Visitors', 'Pageviews']}
        />
        <Breakdown
          title="Custom events"
          heading="Event"
          rows={stats.events.map((r) => ({ key: r.name, counts: [r.visitors, r.count] }))}
          columns={['Visitors', 'Events']}
          onFilter={(event) => onFilter('event', event)}
        />
        <Breakdown
          title="Devices"
          heading="Device"
          rows={stats.devices.map((r) => ({ key: r.device, counts: [r.visitors, r.pageviews] }))}
          columns={['Visitors', 'Pageviews']}
        />
        <Breakdown
          title="Browsers"
          heading="Browser"
          rows={stats.browsers.map((r) => ({ key: r.browser, counts: [r.visitors, r.pageviews] }))}
          columns={['Visitors', 'Pageviews']}
        />
        <Breakdown
          title="Operating systems"
          heading="OS"
          rows={stats.os.map((r) => ({ key: r.os, counts: [r.visitors, r.pageviews] }))}
          columns={['Visitors', 'Pageviews']}
        />
      </div>
    </>
  )
}

/**
 * One breakdown: its rows, each with a bar of its share of the first column's total. With
 * `onFilter`, a row's name is a button that filters the whole screen by it.
 */
function Breakdown(props: {
  title: string
  heading: string
  rows: { key: string; counts: number[] }[]
  columns: string[]
  onFilter?: (value: string) => void
}) {
  const headingId = useId()
  const top = Math.max(1, ...props.rows.map((row) => row.counts[0] ?? 0))
  return (
    <section className="breakdown" aria-labelledby={headingId}>
      <h2 id={headingId}>{props.title}</h2>
      <DataTable label={props.title} caption={props.title}>
        <thead>
          <tr>
            <th scope="col">{props.heading}</th>
            {props.columns.map((column) => (
              <th scope="col" key={column} className="number">
                {column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.length === 0 && (
            <tr>
              <td colSpan={props.columns.length + 1} className="hint">
                Nothing in this period.
              </td>
            </tr>
          )}
          {props.rows.map((row) => (
            <tr key={row.key}>
              <th
                scope="row"
                className="bar"
                style={{ '--share': `${((row.counts[0] ?? 0) / top) * 100}%` } as CSSProperties}
              >
                {props.onFilter ? (
                  <FilterButton value={row.key} onClick={() => props.onFilter?.(row.key)} />
                ) : (
                  <span className="break">{row.key}</span>
                )}
              </th>
              {row.counts.map((count, i) => (
                <td key={props.columns[i]} className="number">
                  {formatNumber(count)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </DataTable>
    </section>
  )
}

function FilterButton(props: { value: string; onClick: () => void }): ReactNode {
  return (
    <button type="button" className="link break" title={`Show only ${props.value}`} onClick={props.onClick}>
      {props.value}
    </button>
  )
}
