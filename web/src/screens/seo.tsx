// The SEO screens: the workspace's reports (filtered by source and page, sorted, all kept in the
// URL) and its audits; a form that starts a Lighthouse audit of a page and an audit's own screen
// that follows it until it ends, then leads to its report; and a report with its scores, what
// changed since the previous report of the page, and its issues filtered by severity and type
// (in the URL). Starting an audit appears only to people whose role allows `seo:write`.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { Link, useNavigate, useParams, useSearch } from '@tanstack/react-router'
import { type FormEvent, useId } from 'react'
import { api } from '../api.ts'
import { formatDate, fromNow } from '../format.ts'
import {
  AUDIT_STATUSES,
  type IssueSearch,
  REPORT_SORTS,
  REPORT_SOURCES,
  SEVERITIES,
  type SeoSearch,
} from '../search.ts'
import { accessQuery, can } from '../session.ts'
import { DataTable, ErrorText, Pager } from '../ui.tsx'

type Report = Awaited<ReturnType<typeof api.seo.getReport>>['data']
type Audit = Awaited<ReturnType<typeof api.seo.getAudit>>['data']
type Scores = Report['scores']

const PER_PAGE = 25
const AUDITS_PER_PAGE = 10
/** How often an audit still queued or running is asked for again. */
const POLL_MS = 1500

const SCORE_LABELS: Record<keyof Scores, string> = {
  performance: 'Performance',
  accessibility: 'Accessibility',
  best_practices: 'Best practices',
  seo: 'SEO',
}
const SCORE_KEYS = Object.keys(SCORE_LABELS) as (keyof Scores)[]
const SORT_LABELS: Record<(typeof REPORT_SORTS)[number], string> = {
  '-created_at': 'Newest first',
  created_at: 'Oldest first',
  url: 'Page URL',
  seo: 'Lowest SEO score',
  performance: 'Lowest performance',
  accessibility: 'Lowest accessibility',
  best_practices: 'Lowest best practices',
}
const SOURCE_LABELS: Record<(typeof REPORT_SOURCES)[number], string> = {
  api: 'Submitted (API)',
  audit: 'Audit',
}

const unfinished = (status: string) => status === 'queued' || status === 'running'

export function Seo() {
  const { workspaceId } = useParams({ from: '/w/$workspaceId' })
  const search = useSearch({ from: '/w/$workspaceId/seo' })
  const navigate = useNavigate({ from: '/w/$workspaceId/seo' })
  const canAudit = can(useQuery(accessQuery(workspaceId)).data, 'seo:write')
  const reports = useQuery({
    queryKey: ['seo-reports', workspaceId, search.source, search.url, search.sort, search.page],
    queryFn: async () =>
      await api.seo.listReports(
        {
          source: search.source,
          url: search.url,
          sort: search.sort ?? '-created_at',
          page: search.page ?? 1,
          per_page: PER_PAGE,
        },
        { workspaceId },
      ),
    placeholderData: keepPreviousData,
  })
  const setSearch = (next: Partial<SeoSearch>) =>
    navigate({ search: (previous) => ({ ...previous, page: undefined, ...next }) })
  const filtered = search.source !== undefined || search.url !== undefined

  return (
    <section aria-labelledby="seo-title">
      <h1 id="seo-title">SEO</h1>
      <p className="hint">
        Reports hold a page's scores and the issues found on it: submitted through the API, or made by
        core-api when it audits a page with Lighthouse.
      </p>
      {canAudit && <StartAudit workspaceId={workspaceId} />}

      <h2 className="section">Reports</h2>
      <ReportFilters search={search} onChange={setSearch} />
      {reports.isError ? (
        <ErrorText error={reports.error} />
      ) : (
        <DataTable
          label="SEO reports table"
          caption="SEO reports of this workspace"
          busy={reports.isFetching}
        >
          <thead>
            <tr>
              <th scope="col">Page</th>
              {SCORE_KEYS.map((key) => (
                <th scope="col" key={key}>
                  {SCORE_LABELS[key]}
                </th>
              ))}
              <th scope="col">Issues</th>
              <th scope="col">Source</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {reports.data?.data.length === 0 && (
              <tr>
                <td colSpan={8}>{filtered ? 'No report matches.' : 'No reports yet.'}</td>
              </tr>
            )}
            {reports.data?.data.map((report) => (
              <tr key={report.id}>
                <th scope="row" className="page-cell">
                  <Link
                    to="/w/$workspaceId/seo/reports/$reportId"
                    params={{ workspaceId, reportId: report.id }}
                    aria-label={`Report ${report.id}: ${report.url}`}
                  >
                    {report.url}
                  </Link>
                </th>
                {SCORE_KEYS.map((key) => (
                  <td key={key}>
                    <Score value={report.scores[key]} />
                  </td>
                ))}
                <td>{report.issue_count}</td>
                <td>{report.source}</td>
                <td title={formatDate(report.created_at)}>{fromNow(report.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </DataTable>
      )}
      <Pager
        label="Pages of reports"
        meta={reports.data?.meta}
        onPage={(page) =>
          navigate({ search: (previous) => ({ ...previous, page: page > 1 ? page : undefined }) })
        }
      />

      <Audits workspaceId={workspaceId} search={search} />
    </section>
  )
}

function StartAudit({ workspaceId }: { workspaceId: number }) {
  const urlId = useId()
  const hintId = useId()
  const navigate = useNavigate()
  const queryClient = useQueryClient()
  const start = useMutation({
    mutationFn: (url: string) => api.seo.createAudit({ url }, { workspaceId }),
    onSuccess: async ({ data }) => {
      await queryClient.invalidateQueries({ queryKey: ['seo-audits', workspaceId] })
      await navigate({ to: '/w/$workspaceId/seo/audits/$auditId', params: { workspaceId, auditId: data.id } })
    },
  })
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    start.mutate(String(new FormData(event.currentTarget).get('url') ?? '').trim())
  }
  return (
    <form className="card stack audit-form" onSubmit={submit} aria-labelledby={`${urlId}-title`}>
      <h2 id={`${urlId}-title`}>Audit a page</h2>
      <label htmlFor={urlId}>Page URL</label>
      <div className="inline-field">
        <input
          id={urlId}
          name="url"
          type="url"
          required
          maxLength={2048}
          placeholder="https://example.com/page"
          aria-describedby={hintId}
        />
        <button type="submit" disabled={start.isPending}>
          {start.isPending ? 'Starting…' : 'Start audit'}
        </button>
      </div>
      <p id={hintId} className="hint">
        core-api runs Lighthouse on the page in headless Chromium (performance, accessibility, best practices,
        SEO); it takes from a few seconds to a minute. The page must be public and served over https.
      </p>
      <ErrorText error={start.error} />
    </form>
  )
}

function ReportFilters(props: { search: SeoSearch; onChange: (next: Partial<SeoSearch>) => void }) {
  const sourceId = useId()
  const sortId = useId()
  const urlId = useId()
  const { search } = props
  return (
    <search aria-label="Filter reports">
      <form
        className="filters"
        onSubmit={(event) => {
          event.preventDefault()
          const url = String(new FormData(event.currentTarget).get('url') ?? '').trim()
          props.onChange({ url: url === '' ? undefined : url })
        }}
      >
        <div>
          <label htmlFor={sourceId}>Source</label>
          <select
            id={sourceId}
            value={search.source ?? ''}
            onChange={(event) =>
              props.onChange({ source: REPORT_SOURCES.find((source) => source === event.target.value) })
            }
          >
            <option value="">Any</option>
            {REPORT_SOURCES.map((source) => (
              <option key={source} value={source}>
                {SOURCE_LABELS[source]}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor={sortId}>Sort</label>
          <select
            id={sortId}
            value={search.sort ?? '-created_at'}
            onChange={(event) => {
              const sort = REPORT_SORTS.find((value) => value === event.target.value)
              props.onChange({ sort: sort === '-created_at' ? undefined : sort })
            }}
          >
            {REPORT_SORTS.map((sort) => (
              <option key={sort} value={sort}>
                {SORT_LABELS[sort]}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor={urlId}>Page URL (exact)</label>
          <input
            id={urlId}
            name="url"
            type="url"
            defaultValue={search.url ?? ''}
            key={search.url ?? ''}
            placeholder="https://example.com/page"
          />
        </div>
        <button type="submit" className="secondary">
          Filter
        </button>
      </form>
    </search>
  )
}

function Audits({ workspaceId, search }: { workspaceId: number; search: SeoSearch }) {
  const statusId = useId()
  const navigate = useNavigate({ from: '/w/$workspaceId/seo' })
  const audits = useQuery({
    queryKey: ['seo-audits', workspaceId, search.audit_status, search.audit_page],
    queryFn: async () =>
      await api.seo.listAudits(
        {
          status: search.audit_status,
          sort: '-created_at',
          page: search.audit_page ?? 1,
          per_page: AUDITS_PER_PAGE,
        },
        { workspaceId },
      ),
    placeholderData: keepPreviousData,
    // While an audit on this page is still going, the list follows it.
    refetchInterval: (query) => (query.state.data?.data.some((a) => unfinished(a.status)) ? POLL_MS : false),
  })
  return (
    <>
      <h2 className="section">Audits</h2>
      <search aria-label="Filter audits">
        <div className="filters">
          <div>
            <label htmlFor={statusId}>Audit status</label>
            <select
              id={statusId}
              value={search.audit_status ?? ''}
              onChange={(event) =>
                navigate({
                  search: (previous) => ({
                    ...previous,
                    audit_page: undefined,
                    audit_status: AUDIT_STATUSES.find((status) => status === event.target.value),
                  }),
                })
              }
            >
              <option value="">Any</option>
              {AUDIT_STATUSES.map((status) => (
                <option key={status} value={status}>
                  {status}
                </option>
              ))}
            </select>
          </div>
        </div>
      </search>
      {audits.isError ? (
        <ErrorText error={audits.error} />
      ) : (
        <DataTable label="SEO audits table" caption="SEO audits of this workspace" busy={audits.isFetching}>
          <thead>
            <tr>
              <th scope="col">Page</th>
              <th scope="col">Status</th>
              <th scope="col">Report</th>
              <th scope="col">Started</th>
              <th scope="col">Finished</th>
            </tr>
          </thead>
          <tbody>
            {audits.data?.data.length === 0 && (
              <tr>
                <td colSpan={5}>{search.audit_status ? 'No audit matches.' : 'No audits yet.'}</td>
              </tr>
            )}
            {audits.data?.data.map((audit) => (
              <tr key={audit.id}>
                <th scope="row" className="page-cell">
                  <Link
                    to="/w/$workspaceId/seo/audits/$auditId"
                    params={{ workspaceId, auditId: audit.id }}
                    aria-label={`Audit ${audit.id}: ${audit.url}`}
                  >
                    {audit.url}
                  </Link>
                </th>
                <td>
                  <AuditStatus status={audit.status} />
                </td>
                <td>
                  {audit.report_id === null ? (
                    '—'
                  ) : (
                    <Link
                      to="/w/$workspaceId/seo/reports/$reportId"
                      params={{ workspaceId, reportId: audit.report_id }}
                    >
                      Report {audit.report_id}
                    </Link>
                  )}
                </td>
                <td title={formatDate(audit.started_at, '')}>{fromNow(audit.started_at, '—')}</td>
                <td title={formatDate(audit.finished_at, '')}>{fromNow(audit.finished_at, '—')}</td>
              </tr>
            ))}
          </tbody>
        </DataTable>
      )}
      <Pager
        label="Pages of audits"
        meta={audits.data?.meta}
        onPage={(page) =>
          navigate({ search: (previous) => ({ ...previous, audit_page: page > 1 ? page : undefined }) })
        }
      />
    </>
  )
}

function AuditStatus({ status }: { status: string }) {
  return <span className={`badge ${status}`}>{status}</span>
}

const AUDIT_PROGRESS: Record<string, string> = {
  queued: 'Queued: waiting for a worker to pick it up.',
  running: 'Running: Lighthouse is auditing the page.',
  succeeded: 'Finished: the report is ready.',
  failed: 'Failed.',
}

/** One audit, asked for again every 1.5 s until it has succeeded or failed. */
export function SeoAudit() {
  const { workspaceId, auditId } = useParams({ from: '/w/$workspaceId/seo/audits/$auditId' })
  const audit = useQuery({
    queryKey: ['seo-audit', workspaceId, auditId],
    queryFn: async () => (await api.seo.getAudit(auditId, { workspaceId })).data,
    refetchInterval: (query) => {
      const status = query.state.data?.status
      return status === undefined || unfinished(status) ? POLL_MS : false
    },
    // A failed poll ends the polling: the error is shown instead.
    retry: false,
  })
  const data: Audit | undefined = audit.data
  return (
    <section aria-labelledby="audit-title" aria-busy={audit.isPending}>
      <p>
        <Link to="/w/$workspaceId/seo" params={{ workspaceId }}>
          ← SEO
        </Link>
      </p>
      <h1 id="audit-title" className="break">
        Audit {auditId}
        {data ? ` of ${data.url}` : ''}
      </h1>
      <ErrorText error={audit.error} />
      {data && (
        <>
          <div className="progress" role="status" data-testid="audit-status">
            <AuditStatus status={data.status} /> {AUDIT_PROGRESS[data.status] ?? data.status}
            {data.error && <span className="error"> {data.error}</span>}
          </div>
          {data.status === 'succeeded' && data.report_id !== null && (
            <p>
              <Link
                className="button"
                to="/w/$workspaceId/seo/reports/$reportId"
                params={{ workspaceId, reportId: data.report_id }}
              >
                Open the report
              </Link>
            </p>
          )}
          <dl className="facts">
            <dt>Page</dt>
            <dd>{data.url}</dd>
            <dt>Runs started</dt>
            <dd>{data.attempts}</dd>
            <dt>Queued</dt>
            <dd>{formatDate(data.created_at)}</dd>
            <dt>Started</dt>
            <dd>{formatDate(data.started_at)}</dd>
            <dt>Finished</dt>
            <dd>{formatDate(data.finished_at)}</dd>
          </dl>
        </>
      )}
    </section>
  )
}

/** A report: its scores, its changes since the previous report of the page, and its issues. */
export function SeoReport() {
  const { workspaceId, reportId } = useParams({ from: '/w/$workspaceId/seo/reports/$reportId' })
  const search = useSearch({ from: '/w/$workspaceId/seo/reports/$reportId' })
  const navigate = useNavigate({ from: '/w/$workspaceId/seo/reports/$reportId' })
  const report = useQuery({
    queryKey: ['seo-report', workspaceId, reportId],
    queryFn: async () => (await api.seo.getReport(reportId, { workspaceId })).data,
  })
  const data: Report | undefined = report.data
  const back = (
    <p>
      <Link to="/w/$workspaceId/seo" params={{ workspaceId }}>
        ← SEO
      </Link>
    </p>
  )
  if (!data) {
    return (
      <section aria-labelledby="report-title" aria-busy={report.isPending}>
        {back}
        <h1 id="report-title">Report {reportId}</h1>
        <ErrorText error={report.error} />
      </section>
    )
  }
  const previous = data.changes?.previous_report_id ?? null
  return (
    <section aria-labelledby="report-title">
      {back}
      <h1 id="report-title" className="break">
        {data.url}
      </h1>
      <dl className="facts">
        <dt>Report</dt>
        <dd>{data.id}</dd>
        <dt>Source</dt>
        <dd>{data.source === 'audit' ? 'Lighthouse audit' : 'Submitted through the API'}</dd>
        <dt>Created</dt>
        <dd>{formatDate(data.created_at)}</dd>
        <dt>Previous report</dt>
        <dd>
          {previous === null ? (
            'None: the first report of this page'
          ) : (
            <Link to="/w/$workspaceId/seo/reports/$reportId" params={{ workspaceId, reportId: previous }}>
              Report {previous}
            </Link>
          )}
        </dd>
      </dl>
      <h2 className="section">Scores</h2>
      <ul className="scores">
        {SCORE_KEYS.map((key) => (
          <li key={key} className="meter-card">
            <span className="hint">{SCORE_LABELS[key]}</span>
            <span className="figure" data-testid={`score-${key}`}>
              <Score value={data.scores[key]} />
            </span>
          </li>
        ))}
      </ul>
      {data.changes && previous !== null && <Changes changes={data.changes} />}
      <Issues
        issues={data.issues ?? []}
        pageUrl={data.url}
        search={search}
        onChange={(next) => navigate({ search: (previousSearch) => ({ ...previousSearch, ...next }) })}
      />
    </section>
  )
}

function Changes({ changes }: { changes: NonNullable<Report['changes']> }) {
  const list = (items: typeof changes.appeared) =>
    items.map((item) => (
      <li key={`${item.issue_type} ${item.url} ${item.element ?? ''}`}>
        <code>{item.issue_type}</code>
        {item.element && (
          <>
            {' '}
            on <code>{item.element}</code>
          </>
        )}
      </li>
    ))
  return (
    <>
      <h2 className="section">Since the previous report</h2>
      <p>
        {changes.appeared.length} issue{changes.appeared.length === 1 ? '' : 's'} appeared,{' '}
        {changes.fixed.length} fixed.
      </p>
      {changes.appeared.length > 0 && (
        <details>
          <summary>Appeared</summary>
          <ul>{list(changes.appeared)}</ul>
        </details>
      )}
      {changes.fixed.length > 0 && (
        <details>
          <summary>Fixed</summary>
          <ul>{list(changes.fixed)}</ul>
        </details>
      )}
    </>
  )
}

type Issue = NonNullable<Report['issues']>[number]

function Issues(props: {
  issues: Issue[]
  pageUrl: string
  search: IssueSearch
  onChange: (next: Partial<IssueSearch>) => void
}) {
  const severityId = useId()
  const typeId = useId()
  const { issues, search } = props
  const types = [...new Set(issues.map((issue) => issue.issue_type))].sort()
  const count = (severity: string) => issues.filter((issue) => issue.severity === severity).length
  const shown = issues.filter(
    (issue) =>
      (search.severity === undefined || issue.severity === search.severity) &&
      (search.type === undefined || issue.issue_type === search.type),
  )
  const otherPages = issues.some((issue) => issue.url !== props.pageUrl)
  return (
    <>
      <h2 className="section">Issues</h2>
      <search aria-label="Filter issues">
        <div className="filters">
          <div>
            <label htmlFor={severityId}>Severity</label>
            <select
              id={severityId}
              value={search.severity ?? ''}
              onChange={(event) =>
                props.onChange({ severity: SEVERITIES.find((severity) => severity === event.target.value) })
              }
            >
              <option value="">Any ({issues.length})</option>
              {SEVERITIES.map((severity) => (
                <option key={severity} value={severity}>
                  {severity} ({count(severity)})
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor={typeId}>Type</label>
            <select
              id={typeId}
              value={search.type ?? ''}
              onChange={(event) => props.onChange({ type: event.target.value || undefined })}
            >
              <option value="">Any</option>
              {search.type !== undefined && !types.includes(search.type) && (
                <option value={search.type}>{search.type}</option>
              )}
              {types.map((type) => (
                <option key={type} value={type}>
                  {type}
                </option>
              ))}
            </select>
          </div>
        </div>
      </search>
      <DataTable label="Issues table" caption="Issues of this report">
        <thead>
          <tr>
            <th scope="col">Type</th>
            <th scope="col">Severity</th>
            <th scope="col">Message</th>
            <th scope="col">Element</th>
            {otherPages && <th scope="col">Page</th>}
          </tr>
        </thead>
        <tbody>
          {shown.length === 0 && (
            <tr>
              <td colSpan={otherPages ? 5 : 4}>
                {issues.length === 0 ? 'No issues: nothing to fix.' : 'No issue matches.'}
              </td>
            </tr>
          )}
          {shown.map((issue) => (
            <tr key={issue.id}>
              <th scope="row">
                <code>{issue.issue_type}</code>
              </th>
              <td>
                <span className={`badge ${issue.severity}`}>{issue.severity}</span>
              </td>
              <td>{issue.details.message ?? '—'}</td>
              <td className="break">{issue.details.element ? <code>{issue.details.element}</code> : '—'}</td>
              {otherPages && <td className="break">{issue.url}</td>}
            </tr>
          ))}
        </tbody>
      </DataTable>
    </>
  )
}

/** A 0–100 score, with Lighthouse's bands as a class (the number itself says it all). */
function Score({ value }: { value: number | null }) {
  if (value === null) return <span className="hint">—</span>
  const band = value >= 90 ? 'good' : value >= 50 ? 'average' : 'poor'
  return <span className={`score ${band}`}>{value}</span>
}
