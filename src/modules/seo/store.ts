// Queries on SEO reports, their issues and the audit jobs. Every query a request makes names
// the workspace; the worker's claim and outcome queries name the job and its claim.
import { and, asc, desc, eq, gte, inArray, lt, or, type SQL, sql } from 'drizzle-orm'
import type { Database, Executor } from '../../platform/db/index.ts'
import { dateFilters, paginate } from '../../platform/db/list.ts'
import type { ListQuery } from '../../platform/http/list.ts'
import { seoAudits, seoIssues, seoReports } from './tables.ts'

export type ReportRow = typeof seoReports.$inferSelect
export type IssueRow = typeof seoIssues.$inferSelect
export type AuditRow = typeof seoAudits.$inferSelect
type Severity = IssueRow['severity']

export type NewIssue = {
  url: string
  type: string
  severity: Severity
  message: string | null
  element: string | null
}

export type NewReport = {
  workspaceId: number
  url: string
  scores: Pick<ReportRow, 'performance' | 'accessibility' | 'bestPractices' | 'seo'>
  source: ReportRow['source']
  issues: NewIssue[]
  now: Date
}

/** Writes a report and its issues; returns both. */
export async function insertReport(
  tx: Executor,
  report: NewReport,
): Promise<{ report: ReportRow; issues: IssueRow[] }> {
  const [row] = await tx
    .insert(seoReports)
    .values({
      workspaceId: report.workspaceId,
      url: report.url,
      ...report.scores,
      issueCount: report.issues.length,
      source: report.source,
      createdAt: report.now,
    })
    .returning()
  const issues =
    report.issues.length === 0
      ? []
      : await tx
          .insert(seoIssues)
          .values(
            report.issues.map((issue) => ({
              ...issue,
              workspaceId: report.workspaceId,
              reportId: row!.id,
              createdAt: report.now,
            })),
          )
          .returning()
  return { report: row!, issues: issues.sort((a, b) => a.id - b.id) }
}

export async function findReport(db: Executor, workspaceId: number, id: number): Promise<ReportRow | null> {
  const [row] = await db
    .select()
    .from(seoReports)
    .where(and(eq(seoReports.id, id), eq(seoReports.workspaceId, workspaceId)))
  return row ?? null
}

/** The issues of these reports, by report, in the order they were written. */
export async function issuesOf(db: Executor, reportIds: number[]): Promise<Map<number, IssueRow[]>> {
  const out = new Map<number, IssueRow[]>(reportIds.map((id) => [id, []]))
  if (reportIds.length === 0) return out
  const rows = await db
    .select()
    .from(seoIssues)
    .where(inArray(seoIssues.reportId, reportIds))
    .orderBy(seoIssues.id)
  for (const row of rows) out.get(row.reportId)?.push(row)
  return out
}

/** The report of the same URL just before this one (by id: ids grow with time), if any. */
export async function previousReportId(
  db: Executor,
  workspaceId: number,
  url: string,
  beforeId: number,
): Promise<number | null> {
  const [row] = await db
    .select({ id: seoReports.id })
    .from(seoReports)
    .where(and(eq(seoReports.workspaceId, workspaceId), eq(seoReports.url, url), lt(seoReports.id, beforeId)))
    .orderBy(desc(seoReports.id))
    .limit(1)
  return row?.id ?? null
}

/** The latest `limit` reports of a URL, oldest first, and the one before them (for its changes). */
export async function reportsOfUrl(
  db: Executor,
  workspaceId: number,
  url: string,
  limit: number,
): Promise<{ reports: ReportRow[]; before: ReportRow | null }> {
  const rows = await db
    .select()
    .from(seoReports)
    .where(and(eq(seoReports.workspaceId, workspaceId), eq(seoReports.url, url)))
    .orderBy(desc(seoReports.id))
    .limit(limit + 1)
  const before = rows.length > limit ? rows.pop()! : null
  return { reports: rows.reverse(), before }
}

const reportSort = {
  id: seoReports.id,
  created_at: seoReports.createdAt,
  url: seoReports.url,
  performance: seoReports.performance,
  accessibility: seoReports.accessibility,
  best_practices: seoReports.bestPractices,
  seo: seoReports.seo,
}

export async function listReports(db: Database, workspaceId: number, query: ListQuery) {
  const conditions: Array<SQL | undefined> = [
    eq(seoReports.workspaceId, workspaceId),
    ...dateFilters(query, { createdAt: seoReports.createdAt }),
  ]
  if (typeof query.filters.url === 'string') conditions.push(eq(seoReports.url, query.filters.url))
  if (typeof query.filters.source === 'string')
    conditions.push(eq(seoReports.source, query.filters.source as ReportRow['source']))
  return paginate(db, db.select().from(seoReports).$dynamic(), {
    from: seoReports,
    where: and(...conditions),
    query,
    sort: reportSort,
  })
}

const issueSort = {
  id: seoIssues.id,
  created_at: seoIssues.createdAt,
  issue_type: seoIssues.type,
  url: seoIssues.url,
}

export async function listIssues(db: Database, workspaceId: number, query: ListQuery) {
  const conditions: Array<SQL | undefined> = [
    eq(seoIssues.workspaceId, workspaceId),
    ...dateFilters(query, { createdAt: seoIssues.createdAt }),
  ]
  const { severity, type, url, report_id } = query.filters
  if (typeof severity === 'string') conditions.push(eq(seoIssues.severity, severity as Severity))
  if (typeof type === 'string') conditions.push(eq(seoIssues.type, type))
  if (typeof url === 'string') conditions.push(eq(seoIssues.url, url))
  if (typeof report_id === 'number') conditions.push(eq(seoIssues.reportId, report_id))
  return paginate(db, db.select().from(seoIssues).$dynamic(), {
    from: seoIssues,
    where: and(...conditions),
    query,
    sort: issueSort,
  })
}

// ---- audits ----------------------------------------------------------------------------------

export async function insertAudit(
  tx: Executor,
  workspaceId: number,
  url: string,
  now: Date,
): Promise<AuditRow> {
  const [row] = await tx
    .insert(seoAudits)
    .values({ workspaceId, url, createdAt: now, updatedAt: now })
    .returning()
  return row!
}

export async function findAudit(db: Executor, workspaceId: number, id: number): Promise<AuditRow | null> {
  const [row] = await db
    .select()
    .from(seoAudits)
    .where(and(eq(seoAudits.id, id), eq(seoAudits.workspaceId, workspaceId)))
  return row ?? null
}

const auditSort = {
  id: seoAudits.id,
  created_at: seoAudits.createdAt,
  updated_at: seoAudits.updatedAt,
  status: seoAudits.status,
}

export async function listAudits(db: Database, workspaceId: number, query: ListQuery) {
  const conditions: Array<SQL | undefined> = [
    eq(seoAudits.workspaceId, workspaceId),
    ...dateFilters(query, seoAudits),
  ]
  if (query.status) conditions.push(eq(seoAudits.status, query.status as AuditRow['status']))
  if (typeof query.filters.url === 'string') conditions.push(eq(seoAudits.url, query.filters.url))
  return paginate(db, db.select().from(seoAudits).$dynamic(), {
    from: seoAudits,
    where: and(...conditions),
    query,
    sort: auditSort,
  })
}

/** Wakes the audit workers (they LISTEN on it); in a transaction, once it commits. */
export const AUDIT_CHANNEL = 'core_api_seo_audits'

export async function notifyWorkers(tx: Executor): Promise<void> {
  await tx.execute(sql`select pg_notify(${AUDIT_CHANNEL}, '')`)
}

/** Runs a job may start: the first, and one more after a process died holding it. */
const MAX_ATTEMPTS = 2

/** Claims are taken one at a time across every worker, so the per-workspace limit holds exactly. */
const CLAIM_LOCK = 0x5e0a0d17

/**
 * Jobs whose lease ran out after their last allowed run, marked failed; returned so that their
 * completion is announced in the same transaction.
 */
export async function failAbandoned(tx: Executor, now: Date, error: string): Promise<AuditRow[]> {
  return tx
    .update(seoAudits)
    .set({ status: 'failed', error, finishedAt: now, updatedAt: now, lockedUntil: null, claimToken: null })
    .where(
      and(
        eq(seoAudits.status, 'running'),
        lt(seoAudits.lockedUntil, now),
        gte(seoAudits.attempts, MAX_ATTEMPTS),
      ),
    )
    .returning()
}

/**
 * Takes up to `limit` jobs, oldest first, until `lockedUntil`: queued ones, and running ones whose
 * lease ran out (their process died) with a run left. A workspace never has more than
 * `perWorkspace` jobs held at once, counting every worker's.
 */
export async function claimAudits(
  tx: Executor,
  input: { now: Date; lockedUntil: Date; limit: number; perWorkspace: number; token: string },
): Promise<AuditRow[]> {
  const { now } = input
  await tx.execute(sql`select pg_advisory_xact_lock(${CLAIM_LOCK})`)
  const claimed: AuditRow[] = []
  for (let i = 0; i < input.limit; i++) {
    const held = tx
      .select({ n: sql`count(*)` })
      .from(sql`seo_audits r`)
      .where(
        sql`r.workspace_id = ${seoAudits.workspaceId} and r.status = 'running' and r.locked_until >= ${now.toISOString()}::timestamptz`,
      )
    const [next] = await tx
      .select({ id: seoAudits.id })
      .from(seoAudits)
      .where(
        and(
          or(
            eq(seoAudits.status, 'queued'),
            and(
              eq(seoAudits.status, 'running'),
              lt(seoAudits.lockedUntil, now),
              lt(seoAudits.attempts, MAX_ATTEMPTS),
            ),
          ),
          sql`(${held}) < ${input.perWorkspace}`,
        ),
      )
      .orderBy(asc(seoAudits.createdAt), asc(seoAudits.id))
      .limit(1)
      .for('update', { skipLocked: true })
    if (!next) break
    const [row] = await tx
      .update(seoAudits)
      .set({
        status: 'running',
        attempts: sql`${seoAudits.attempts} + 1`,
        lockedUntil: input.lockedUntil,
        claimToken: input.token,
        startedAt: now,
        updatedAt: now,
        error: null,
      })
      .where(eq(seoAudits.id, next.id))
      .returning()
    claimed.push(row!)
  }
  return claimed
}

/** Records a job's outcome if it is still held under this claim; null when it is not. */
export async function finishAudit(
  tx: Executor,
  claimed: { id: number; token: string },
  outcome: { status: 'succeeded' | 'failed'; reportId: number | null; error: string | null; now: Date },
): Promise<AuditRow | null> {
  const [row] = await tx
    .update(seoAudits)
    .set({
      status: outcome.status,
      reportId: outcome.reportId,
      error: outcome.error,
      finishedAt: outcome.now,
      updatedAt: outcome.now,
      lockedUntil: null,
      claimToken: null,
    })
    .where(
      and(
        eq(seoAudits.id, claimed.id),
        eq(seoAudits.claimToken, claimed.token),
        eq(seoAudits.status, 'running'),
      ),
    )
    .returning()
  return row ?? null
}

/** Puts a job this instance gave up (at shutdown) back in the queue, its run not counted. */
export async function releaseAudit(db: Executor, job: Pick<AuditRow, 'id' | 'claimToken'>): Promise<void> {
  await db
    .update(seoAudits)
    .set({
      status: 'queued',
      attempts: sql`greatest(${seoAudits.attempts} - 1, 0)`,
      lockedUntil: null,
      claimToken: null,
      startedAt: null,
    })
    .where(
      and(
        eq(seoAudits.id, job.id),
        eq(seoAudits.claimToken, job.claimToken ?? ''),
        eq(seoAudits.status, 'running'),
      ),
    )
}
