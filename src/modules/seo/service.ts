// SEO reports (seed 004 "SEO Reports"), their issues, trends per URL, and audits: jobs that
// run Lighthouse in Chromium and end with a report. Handlers call these methods with plain
// values; the audit worker (worker.ts) records outcomes through `recordOutcome`.
import type { Static } from 'typebox'
import type { Principal, PrincipalWorkspace, WorkspaceResolver } from '../../platform/auth/index.ts'
import type { Executor } from '../../platform/db/index.ts'
import type { Deps } from '../../platform/deps.ts'
import { ApiError } from '../../platform/http/errors.ts'
import { type ListQuery, type Page, selectFields, toPage } from '../../platform/http/list.ts'
import { isoSeconds } from '../../platform/lib/clock.ts'
import { checkUrl, UnsafeUrlError } from '../../platform/net/ssrf.ts'
import type { AuditCreate, ReportCreate } from './schemas.ts'
import {
  type AuditRow,
  findAudit,
  findReport,
  type IssueRow,
  insertAudit,
  insertReport,
  issuesOf,
  listAudits,
  listIssues,
  listReports,
  type NewReport,
  notifyWorkers,
  previousReportId,
  type ReportRow,
  reportsOfUrl,
} from './store.ts'

type IssueKey = { issue_type: string; url: string; element: string | null }

const keyOf = (i: Pick<IssueRow, 'type' | 'url' | 'element'>) =>
  `${i.type}\u0000${i.url}\u0000${i.element ?? ''}`

/** The issues of `current` that `previous` did not have (appeared), and the other way (fixed). */
function diff(current: IssueRow[], previous: IssueRow[] | null): { appeared: IssueKey[]; fixed: IssueKey[] } {
  if (previous === null) return { appeared: [], fixed: [] }
  const toKey = (i: IssueRow): IssueKey => ({ issue_type: i.type, url: i.url, element: i.element })
  const unique = (rows: IssueRow[]) => new Map(rows.map((r) => [keyOf(r), r]))
  const now = unique(current)
  const before = unique(previous)
  return {
    appeared: [...now].filter(([k]) => !before.has(k)).map(([, r]) => toKey(r)),
    fixed: [...before].filter(([k]) => !now.has(k)).map(([, r]) => toKey(r)),
  }
}

function scoresOut(row: ReportRow) {
  return {
    performance: row.performance,
    accessibility: row.accessibility,
    best_practices: row.bestPractices,
    seo: row.seo,
  }
}

function reportOut(row: ReportRow) {
  return {
    id: row.id,
    url: row.url,
    scores: scoresOut(row),
    source: row.source,
    issue_count: row.issueCount,
    created_at: isoSeconds(row.createdAt)!,
  }
}

function issueOut(row: IssueRow) {
  return {
    id: row.id,
    report_id: row.reportId,
    url: row.url,
    issue_type: row.type,
    severity: row.severity,
    details: { message: row.message, element: row.element },
    created_at: isoSeconds(row.createdAt)!,
  }
}

export function auditOut(row: AuditRow) {
  return {
    id: row.id,
    url: row.url,
    status: row.status,
    report_id: row.reportId,
    error: row.error,
    attempts: row.attempts,
    created_at: isoSeconds(row.createdAt)!,
    started_at: isoSeconds(row.startedAt),
    finished_at: isoSeconds(row.finishedAt),
    updated_at: isoSeconds(row.updatedAt)!,
  }
}

/** An absolute http(s) URL, or a 422 on `field`. */
function pageUrl(raw: string, field: string): string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw ApiError.invalid(field, `The ${field} field must be an absolute URL.`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw ApiError.invalid(field, `The ${field} field must be an http or https URL.`)
  return url.href
}

export class SeoService {
  private readonly deps: Deps
  private readonly findWorkspace: WorkspaceResolver
  private readonly allowInsecure: boolean

  constructor(deps: Deps, findWorkspace: WorkspaceResolver) {
    this.deps = deps
    this.findWorkspace = findWorkspace
    this.allowInsecure = deps.config.webhookAllowInsecureUrls
  }

  /**
   * The workspace named in a path (`/seo/issues/{workspace_id}`): a key's own workspace, or one
   * the master key or a user-level credential may act in. Any other is 404, whether it exists or
   * not; a member whose role does not grant `seo:read` there is 403.
   */
  async workspaceInPath(principal: Principal, id: number): Promise<PrincipalWorkspace> {
    if (principal.workspace) {
      if (principal.workspace.id !== id) throw ApiError.notFound('Workspace')
      return principal.workspace
    }
    const workspace = await this.findWorkspace(principal, id)
    if (!workspace) throw ApiError.notFound('Workspace')
    if (workspace.granted && !workspace.granted.has('seo:read'))
      throw new ApiError(
        'access_denied',
        `Insufficient permissions. Required scope: seo:read (not granted to the ${workspace.role} role in this workspace)`,
      )
    return workspace
  }

  // ---- reports -------------------------------------------------------------------------------

  async createReport(workspace: PrincipalWorkspace, body: Static<typeof ReportCreate>) {
    const url = pageUrl(body.url, 'url')
    const issues = (body.issues ?? []).map((issue, i) => ({
      url: issue.url === undefined ? url : pageUrl(issue.url, `issues.${i}.url`),
      type: issue.type.trim(),
      severity: issue.severity,
      message: issue.message ?? null,
      element: issue.element ?? null,
    }))
    const { scores } = body
    return this.deps.db.transaction((tx) =>
      this.storeReport(tx, {
        workspaceId: workspace.id,
        url,
        scores: {
          performance: scores.performance ?? null,
          accessibility: scores.accessibility ?? null,
          bestPractices: scores.best_practices ?? null,
          seo: scores.seo ?? null,
        },
        source: 'api',
        issues,
        now: new Date(this.deps.clock.now()),
      }),
    )
  }

  /** Writes a report and announces it (`seo.report.created`) in the caller's transaction. */
  async storeReport(tx: Executor, report: NewReport) {
    const { report: row, issues } = await insertReport(tx, report)
    const previousId = await previousReportId(tx, report.workspaceId, row.url, row.id)
    const previous = previousId === null ? null : ((await issuesOf(tx, [previousId])).get(previousId) ?? [])
    const data = {
      ...reportOut(row),
      issues: issues.map(issueOut),
      changes: { previous_report_id: previousId, ...diff(issues, previous) },
    }
    const { issues: _issues, ...announced } = data
    await this.deps.events.emit(tx, {
      workspaceId: report.workspaceId,
      type: 'seo.report.created',
      data: announced,
    })
    return data
  }

  async getReport(workspace: PrincipalWorkspace, id: number) {
    const { db } = this.deps
    const row = await findReport(db, workspace.id, id)
    if (!row) throw ApiError.notFound('Report')
    const previousId = await previousReportId(db, workspace.id, row.url, row.id)
    const issues = await issuesOf(db, previousId === null ? [row.id] : [row.id, previousId])
    const own = issues.get(row.id) ?? []
    return {
      ...reportOut(row),
      issues: own.map(issueOut),
      changes: {
        previous_report_id: previousId,
        ...diff(own, previousId === null ? null : (issues.get(previousId) ?? [])),
      },
    }
  }

  async listReports(
    workspace: PrincipalWorkspace,
    query: ListQuery,
    url: URL,
  ): Promise<Page<Record<string, unknown>>> {
    const { rows, total } = await listReports(this.deps.db, workspace.id, query)
    return toPage(
      rows.map((r) => selectFields(reportOut(r), query.fields)),
      total,
      query,
      url,
    )
  }

  async listIssues(
    workspace: PrincipalWorkspace,
    query: ListQuery,
    url: URL,
  ): Promise<Page<Record<string, unknown>>> {
    const { rows, total } = await listIssues(this.deps.db, workspace.id, query)
    return toPage(
      rows.map((r) => selectFields(issueOut(r), query.fields)),
      total,
      query,
      url,
    )
  }

  /** Scores of a URL over time (oldest first), with the issues that appeared and were fixed at each report. */
  async trend(workspace: PrincipalWorkspace, rawUrl: string, limit: number) {
    const url = pageUrl(rawUrl, 'url')
    const { db } = this.deps
    const { reports, before } = await reportsOfUrl(db, workspace.id, url, limit)
    const all = before ? [before, ...reports] : reports
    const issues = await issuesOf(
      db,
      all.map((r) => r.id),
    )
    const points = reports.map((row, i) => {
      const previous = i > 0 ? reports[i - 1]! : before
      const changes = diff(issues.get(row.id) ?? [], previous ? (issues.get(previous.id) ?? []) : null)
      return {
        report_id: row.id,
        created_at: isoSeconds(row.createdAt)!,
        scores: scoresOut(row),
        issue_count: row.issueCount,
        appeared: changes.appeared.length,
        fixed: changes.fixed.length,
      }
    })
    return { url, points }
  }

  // ---- audits --------------------------------------------------------------------------------

  async createAudit(workspace: PrincipalWorkspace, body: Static<typeof AuditCreate>) {
    const url = pageUrl(body.url, 'url')
    try {
      // The form here (https, no credentials, no private literal or local name); the addresses
      // the host resolves to are checked when the audit runs, and each connection again then.
      checkUrl(url, this.allowInsecure)
    } catch (error) {
      if (error instanceof UnsafeUrlError) throw ApiError.invalid('url', `The url ${error.message}.`)
      throw error
    }
    return this.deps.db.transaction(async (tx) => {
      const row = await insertAudit(tx, workspace.id, url, new Date(this.deps.clock.now()))
      await notifyWorkers(tx)
      return auditOut(row)
    })
  }

  async getAudit(workspace: PrincipalWorkspace, id: number) {
    const row = await findAudit(this.deps.db, workspace.id, id)
    if (!row) throw ApiError.notFound('Audit')
    return auditOut(row)
  }

  async listAudits(
    workspace: PrincipalWorkspace,
    query: ListQuery,
    url: URL,
  ): Promise<Page<Record<string, unknown>>> {
    const { rows, total } = await listAudits(this.deps.db, workspace.id, query)
    return toPage(
      rows.map((r) => selectFields(auditOut(r), query.fields)),
      total,
      query,
      url,
    )
  }
}
