// Screen 5: the workspace's plan and its usage against each limit (GET /api/v1/entitlements).
import { useQuery } from '@tanstack/react-query'
import { useParams } from '@tanstack/react-router'
import { api } from '../api.ts'
import { formatBytes, formatDate, formatNumber } from '../format.ts'
import { ErrorText } from '../ui.tsx'

const FEATURE_LABELS: Record<string, string> = {
  posts: 'Posts',
  api_keys: 'API keys',
  webhooks: 'Webhook endpoints',
  api_calls: 'API calls this period',
  storage: 'Storage',
}

export function Usage() {
  const { workspaceId } = useParams({ from: '/w/$workspaceId' })
  const summary = useQuery({
    queryKey: ['entitlements', workspaceId],
    queryFn: async () => (await api.entitlements.getSummary({ workspaceId })).data,
  })
  if (summary.isError) {
    return (
      <section aria-labelledby="usage-title">
        <h1 id="usage-title">Usage and plan</h1>
        <ErrorText error={summary.error} />
      </section>
    )
  }
  const data = summary.data
  return (
    <section aria-labelledby="usage-title" aria-busy={summary.isPending}>
      <h1 id="usage-title">Usage and plan</h1>
      {data && (
        <>
          <p>
            Plan: <strong className="tier">{data.tier}</strong>. Limits come from the plan of the workspace's
            tier; count limits are enforced when something is created.
          </p>
          <UsageMeters entitlements={data.entitlements} />
          {data.upgrade_url && /^https?:\/\//i.test(data.upgrade_url) && (
            <p>
              <a className="button" href={data.upgrade_url} rel="noopener noreferrer">
                Upgrade the plan
              </a>{' '}
              for higher limits.
            </p>
          )}
        </>
      )}
    </section>
  )
}

type Entitlements = Awaited<ReturnType<typeof api.entitlements.getSummary>>['data']['entitlements']

/** One meter per limited feature: used against the plan's limit (shown on the overview too). */
export function UsageMeters({ entitlements, level = 2 }: { entitlements: Entitlements; level?: 2 | 3 }) {
  const Heading = level === 2 ? 'h2' : 'h3'
  return (
    <ul className="meters">
      {Object.entries(entitlements).map(([feature, usage]) => {
        const show = usage.unit === 'bytes' ? formatBytes : formatNumber
        const label = FEATURE_LABELS[feature] ?? feature
        const percentage = usage.percentage ?? 0
        return (
          <li key={feature} className="meter-card" data-feature={feature}>
            <Heading id={`feature-${feature}`}>{label}</Heading>
            <p className="figure">
              <span data-testid={`used-${feature}`}>{show(usage.used)}</span>
              {' of '}
              {usage.limit === null ? 'unlimited' : show(usage.limit)}
            </p>
            {usage.limit !== null && (
              <meter
                aria-labelledby={`feature-${feature}`}
                min={0}
                max={usage.limit}
                low={usage.limit * 0.75}
                high={usage.limit * 0.9}
                optimum={0}
                value={Math.min(usage.used, usage.limit)}
                aria-valuetext={`${percentage}% used`}
              />
            )}
            {usage.reset_at && <p className="hint">Resets {formatDate(usage.reset_at)}</p>}
          </li>
        )
      })}
    </ul>
  )
}
