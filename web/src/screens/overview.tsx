// The workspace's landing page: usage against the plan's limits, webhook deliveries of the last
// 14 days (GET /api/v1/webhooks/stats) and, when the workspace has a pixel site, its visitors
// over the same days. Each section shows only when the person's scopes allow reading it.
import { useQuery } from '@tanstack/react-query'
import { Link, useParams } from '@tanstack/react-router'
import { useId, useMemo, useState } from 'react'
import { api } from '../api.ts'
import { TimeSeriesChart } from '../chart.tsx'
import { formatNumber } from '../format.ts'
import { accessQuery, can } from '../session.ts'
import { ErrorText } from '../ui.tsx'
import { UsageMeters } from './usage.tsx'

const DAY_MS = 86_400_000
const DAYS = 14

/** The last 14 UTC days, today included: [start of the first, start of tomorrow). */
function lastDays(now = Date.now()) {
  const tomorrow = Math.floor(now / DAY_MS) * DAY_MS + DAY_MS
  return { from: tomorrow - DAYS * DAY_MS, to: tomorrow }
}
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10)
const dayLabel = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' })
const formatDay = (seconds: number) => dayLabel.format(new Date(seconds * 1000))

export function Overview() {
  const { workspaceId } = useParams({ from: '/w/$workspaceId' })
  const access = useQuery(accessQuery(workspaceId))
  const range = useMemo(() => lastDays(), [])
  return (
    <section aria-labelledby="overview-title" aria-busy={access.isPending}>
      <h1 id="overview-title">Overview</h1>
      <ErrorText error={access.error} />
      {access.data && (
        <div className="overview-grid">
          {can(access.data, 'entitlements:read') && <UsageSection workspaceId={workspaceId} />}
          {can(access.data, 'webhooks:read') && <DeliverySection workspaceId={workspaceId} range={range} />}
          {can(access.data, 'pixel:read') && <VisitorSection workspaceId={workspaceId} range={range} />}
        </div>
      )}
    </section>
  )
}

function UsageSection({ workspaceId }: { workspaceId: number }) {
  const summary = useQuery({
    // Its own cache entry: the usage screen fetches afresh when opened from here.
    queryKey: ['overview-entitlements', workspaceId],
    queryFn: async () => (await api.entitlements.getSummary({ workspaceId })).data,
  })
  return (
    <section className="wide" aria-labelledby="overview-usage" aria-busy={summary.isPending}>
      <h2 id="overview-usage">Plan usage</h2>
      <ErrorText error={summary.error} />
      {summary.data && (
        <>
          <p>
            Plan: <strong className="tier">{summary.data.tier}</strong>.{' '}
            <Link to="/w/$workspaceId/usage" params={{ workspaceId }}>
              Usage details
            </Link>
          </p>
          <UsageMeters entitlements={summary.data.entitlements} level={3} />
        </>
      )}
    </section>
  )
}

function DeliverySection({
  workspaceId,
  range,
}: {
  workspaceId: number
  range: { from: number; to: number }
}) {
  const stats = useQuery({
    queryKey: ['webhook-stats', workspaceId, range.from],
    queryFn: async () =>
      (
        await api.webhooks.getStats(
          { from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString(), interval: 'day' },
          { workspaceId },
        )
      ).data,
  })
  const data = stats.data
  const chart = useMemo(() => {
    if (!data) return null
    return {
      x: data.buckets.map((b) => Date.parse(b.start) / 1000),
      series: [
        { label: 'Succeeded', values: data.buckets.map((b) => b.succeeded), color: '--ok', fill: true },
        { label: 'Failed', values: data.buckets.map((b) => b.failed), color: '--danger' },
        { label: 'Pending', values: data.buckets.map((b) => b.pending), color: '--warn' },
      ],
    }
  }, [data])
  return (
    <section aria-labelledby="overview-deliveries" aria-busy={stats.isPending}>
      <h2 id="overview-deliveries">Webhook deliveries</h2>
      <ErrorText error={stats.error} />
      {data && chart && (
        <>
          <p data-testid="delivery-summary">
            {data.totals.total === 0
              ? 'No deliveries in the last 14 days.'
              : `${formatNumber(data.totals.total)} deliveries in the last 14 days; ${
                  data.success_rate === null
                    ? 'none finished yet'
                    : `${Math.round(data.success_rate * 1000) / 10}% of those finished succeeded`
                }.`}{' '}
            <Link to="/w/$workspaceId/webhooks" params={{ workspaceId }}>
              Endpoints
            </Link>
          </p>
          <TimeSeriesChart
            title="Deliveries per day (UTC)"
            x={chart.x}
            series={chart.series}
            formatX={formatDay}
          />
        </>
      )}
    </section>
  )
}

function VisitorSection({
  workspaceId,
  range,
}: {
  workspaceId: number
  range: { from: number; to: number }
}) {
  const siteId = useId()
  const sites = useQuery({
    queryKey: ['pixel-sites', workspaceId],
    queryFn: async () => (await api.pixel.listSites({ per_page: 100, sort: 'domain' }, { workspaceId })).data,
  })
  const [chosen, setChosen] = useState<number | null>(null)
  const site = sites.data?.find((s) => s.id === chosen) ?? sites.data?.[0]
  const stats = useQuery({
    queryKey: ['pixel-stats', workspaceId, site?.id, range.from],
    queryFn: async () =>
      (
        await api.pixel.getSiteStats(
          site!.id,
          // The UTC days of the deliveries beside it, whatever the site's own zone.
          { from: isoDay(range.from), to: isoDay(range.to - DAY_MS), interval: 'day', timezone: 'UTC' },
          { workspaceId },
        )
      ).data,
    enabled: site !== undefined,
  })
  const data = stats.data
  const chart = useMemo(() => {
    if (!data) return null
    return {
      x: data.timeseries.map((p) => Date.parse(`${p.date}T00:00:00Z`) / 1000),
      series: [
        { label: 'Visitors', values: data.timeseries.map((p) => p.visitors), color: '--accent', fill: true },
        { label: 'Page views', values: data.timeseries.map((p) => p.pageviews), color: '--muted' },
      ],
    }
  }, [data])
  // No site, no section: the pixel is optional.
  if (sites.isSuccess && sites.data.length === 0) return null
  return (
    <section aria-labelledby="overview-visitors" aria-busy={sites.isPending || stats.isFetching}>
      <h2 id="overview-visitors">Visitors</h2>
      <ErrorText error={sites.error ?? stats.error} />
      {sites.data && sites.data.length > 1 && (
        <div className="filters">
          <div>
            <label htmlFor={siteId}>Site</label>
            <select id={siteId} value={site?.id} onChange={(event) => setChosen(Number(event.target.value))}>
              {sites.data.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.domain}
                </option>
              ))}
            </select>
          </div>
        </div>
      )}
      {data && chart && (
        <>
          <p data-testid="visitor-summary">
            {formatNumber(data.totals.visitors)} visitors and {formatNumber(data.totals.pageviews)} page views
            on {site?.domain} in the last 14 days.
          </p>
          <TimeSeriesChart
            title={`Visitors per day on ${site?.domain ?? 'the site'} (UTC)`}
            x={chart.x}
            series={chart.series}
            formatX={formatDay}
          />
        </>
      )}
    </section>
  )
}
