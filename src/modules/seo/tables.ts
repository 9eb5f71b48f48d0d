// SEO: reports (scores of one page at one moment, submitted through the API or made by an
// audit), their issues, and the audit jobs core-api runs itself with Lighthouse. Audits are a
// job table claimed with FOR UPDATE SKIP LOCKED, like webhook deliveries: a job whose lease
// ran out (its process died) is taken again once, then failed.
import { sql } from 'drizzle-orm'
import { index, integer, pgTable, smallint, text, timestamp } from 'drizzle-orm/pg-core'
import { workspaces } from '../workspaces/tables.ts'

export const seoReports = pgTable(
  'seo_reports',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    workspaceId: integer('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    /** Category scores, 0–100; null when the report did not give that category. */
    performance: smallint('performance'),
    accessibility: smallint('accessibility'),
    bestPractices: smallint('best_practices'),
    seo: smallint('seo'),
    /** `api` (submitted) or `audit` (made by an audit job). */
    issueCount: integer('issue_count').notNull().default(0),
    source: text('source').$type<'api' | 'audit'>().notNull().default('api'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('seo_reports_workspace_created_idx').on(t.workspaceId, t.createdAt),
    index('seo_reports_workspace_url_idx').on(t.workspaceId, t.url, t.createdAt),
  ],
)

export const seoIssues = pgTable(
  'seo_issues',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    workspaceId: integer('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    reportId: integer('report_id')
      .notNull()
      .references(() => seoReports.id, { onDelete: 'cascade' }),
    /** The page the issue is on: the issue's own `url`, else the report's. */
    url: text('url').notNull(),
    type: text('type').notNull(),
    severity: text('severity').$type<'error' | 'warning' | 'notice'>().notNull(),
    message: text('message'),
    element: text('element'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('seo_issues_workspace_created_idx').on(t.workspaceId, t.createdAt),
    index('seo_issues_report_idx').on(t.reportId),
  ],
)

export const seoAudits = pgTable(
  'seo_audits',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    workspaceId: integer('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    status: text('status').$type<'queued' | 'running' | 'succeeded' | 'failed'>().notNull().default('queued'),
    reportId: integer('report_id').references(() => seoReports.id, { onDelete: 'set null' }),
    error: text('error'),
    /** Runs started so far (a run cut short by a dead process counts). */
    attempts: integer('attempts').notNull().default(0),
    /** Set while a worker holds the job; a dead worker's lease runs out. */
    lockedUntil: timestamp('locked_until', { withTimezone: true }),
    /** Names the claim: only its holder records the outcome. */
    claimToken: text('claim_token'),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('seo_audits_workspace_created_idx').on(t.workspaceId, t.createdAt),
    // The queue: jobs waiting or held, oldest first.
    index('seo_audits_queue_idx').on(t.createdAt).where(sql`status in ('queued', 'running')`),
  ],
)
