import { Type } from 'typebox'
import type { ListSpec } from '../../platform/http/list.ts'
import { component } from '../../platform/http/responses.ts'

const SEVERITIES = ['error', 'warning', 'notice'] as const
const AUDIT_STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const
/** The score categories, as Lighthouse names them (with `_` for `-`). */
const SCORE_KEYS = ['performance', 'accessibility', 'best_practices', 'seo'] as const

const Timestamp = Type.String({ format: 'date-time' })
const Id = Type.Integer({ minimum: 1, maximum: 2_147_483_647 })
const PageUrl = Type.String({
  minLength: 1,
  maxLength: 2048,
  description: 'An absolute http(s) URL',
  examples: ['https://example.com/page'],
})
const Score = Type.Integer({ minimum: 0, maximum: 100 })
const Severity = Type.Enum([...SEVERITIES], { description: 'error, warning or notice' })

const ScoresIn = Type.Object(
  {
    performance: Type.Optional(Score),
    accessibility: Type.Optional(Score),
    best_practices: Type.Optional(Score),
    seo: Type.Optional(Score),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    description: 'Category scores, whole numbers 0–100; at least one; other keys are 422',
  },
)
const ScoresOut = Type.Object(
  {
    performance: Type.Union([Score, Type.Null()]),
    accessibility: Type.Union([Score, Type.Null()]),
    best_practices: Type.Union([Score, Type.Null()]),
    seo: Type.Union([Score, Type.Null()]),
  },
  { description: 'Category scores 0–100; null when the report did not give one' },
)

const IssueIn = Type.Object(
  {
    type: Type.String({
      minLength: 1,
      maxLength: 100,
      pattern: '\\S',
      description: 'What is wrong, e.g. `missing_alt`',
    }),
    severity: Severity,
    message: Type.Optional(Type.String({ maxLength: 2000 })),
    element: Type.Optional(Type.String({ maxLength: 1000, description: 'A selector of the element' })),
    url: Type.Optional(
      Type.String({ minLength: 1, maxLength: 2048, description: "The page, when not the report's" }),
    ),
  },
  { additionalProperties: false },
)

export const ReportCreate = Type.Object(
  {
    url: PageUrl,
    scores: ScoresIn,
    issues: Type.Optional(Type.Array(IssueIn, { maxItems: 1000 })),
  },
  {
    additionalProperties: false,
    examples: [
      {
        url: 'https://example.com/page',
        scores: { performance: 85, accessibility: 92, best_practices: 88, seo: 95 },
        issues: [{ type: 'missing_alt', severity: 'warning', element: 'img.hero-image' }],
      },
    ],
  },
)

const IssueDetails = Type.Object({
  message: Type.Union([Type.String(), Type.Null()]),
  element: Type.Union([Type.String(), Type.Null()]),
})

const IssueOut = Type.Object({
  id: Type.Integer(),
  report_id: Type.Integer(),
  url: Type.String(),
  issue_type: Type.String(),
  severity: Type.String(),
  details: IssueDetails,
  created_at: Timestamp,
})

const ISSUE_EXAMPLE = {
  id: 1,
  report_id: 3,
  url: 'https://example.com/page',
  issue_type: 'missing_alt',
  severity: 'warning',
  details: { message: null, element: 'img.hero-image' },
  created_at: '2026-01-15T10:30:00Z',
}

export const SeoIssue = component('SeoIssue', IssueOut, {
  description: 'One issue of a report, on one page.',
  example: ISSUE_EXAMPLE,
})

const IssueKey = Type.Object({
  issue_type: Type.String(),
  url: Type.String(),
  element: Type.Union([Type.String(), Type.Null()]),
})

const Changes = Type.Object(
  {
    previous_report_id: Type.Union([Type.Integer(), Type.Null()]),
    appeared: Type.Array(IssueKey),
    fixed: Type.Array(IssueKey),
  },
  {
    description:
      'Against the previous report of the same URL (null when there is none): issues (by type, page and element) that it did not have, and issues it had that this one does not',
  },
)

const ReportOut = Type.Object({
  id: Type.Integer(),
  url: Type.String(),
  scores: ScoresOut,
  source: Type.String({ description: '`api` (submitted) or `audit` (made by an audit)' }),
  issue_count: Type.Integer(),
  created_at: Timestamp,
  issues: Type.Optional(Type.Array(SeoIssue.ref, { description: 'The single report only' })),
  changes: Type.Optional(Changes),
})

const SCORES_EXAMPLE = { performance: 85, accessibility: 92, best_practices: 88, seo: 95 }
export const REPORT_EXAMPLE = {
  id: 3,
  url: 'https://example.com/page',
  scores: SCORES_EXAMPLE,
  source: 'api',
  issue_count: 1,
  created_at: '2026-01-15T10:30:00Z',
  issues: [ISSUE_EXAMPLE],
  changes: {
    previous_report_id: 2,
    appeared: [{ issue_type: 'missing_alt', url: 'https://example.com/page', element: 'img.hero-image' }],
    fixed: [],
  },
}

export const SeoReport = component('SeoReport', ReportOut, {
  description:
    'Scores of one page at one moment, with its issues (`issues` and `changes` on the single report).',
  example: REPORT_EXAMPLE,
})

const AuditOut = Type.Object({
  id: Type.Integer(),
  url: Type.String(),
  status: Type.String({ description: 'queued, running, succeeded or failed' }),
  report_id: Type.Union([Type.Integer(), Type.Null()], { description: 'The report, once succeeded' }),
  error: Type.Union([Type.String(), Type.Null()], { description: 'Why it failed' }),
  attempts: Type.Integer({ description: 'Runs started (a run cut short by a dead process counts)' }),
  created_at: Timestamp,
  started_at: Type.Union([Timestamp, Type.Null()]),
  finished_at: Type.Union([Timestamp, Type.Null()]),
  updated_at: Timestamp,
})

export const AUDIT_EXAMPLE = {
  id: 9,
  url: 'https://example.com/page',
  status: 'succeeded',
  report_id: 3,
  error: null,
  attempts: 1,
  created_at: '2026-01-15T10:30:00Z',
  started_at: '2026-01-15T10:30:01Z',
  finished_at: '2026-01-15T10:30:20Z',
  updated_at: '2026-01-15T10:30:20Z',
}

export const SeoAudit = component('SeoAudit', AuditOut, {
  description: 'A Lighthouse audit of a page run by core-api: a job that ends with a report or an error.',
  example: AUDIT_EXAMPLE,
})

export const AuditCreate = Type.Object(
  { url: PageUrl },
  { additionalProperties: false, examples: [{ url: 'https://example.com/page' }] },
)

const TrendPoint = Type.Object({
  report_id: Type.Integer(),
  created_at: Timestamp,
  scores: ScoresOut,
  issue_count: Type.Integer(),
  appeared: Type.Integer({ description: 'Issues the previous report of the URL did not have' }),
  fixed: Type.Integer({ description: 'Issues of the previous report this one does not have' }),
})

const TrendOut = Type.Object({
  url: Type.String(),
  points: Type.Array(TrendPoint, { description: 'Oldest first' }),
})

export const SeoTrend = component('SeoTrend', TrendOut, {
  description: 'Scores of one URL over time, and how many issues appeared or were fixed at each report.',
  example: {
    url: 'https://example.com/page',
    points: [
      {
        report_id: 2,
        created_at: '2026-01-14T10:30:00Z',
        scores: { ...SCORES_EXAMPLE, accessibility: 80 },
        issue_count: 0,
        appeared: 0,
        fixed: 0,
      },
      {
        report_id: 3,
        created_at: '2026-01-15T10:30:00Z',
        scores: SCORES_EXAMPLE,
        issue_count: 1,
        appeared: 1,
        fixed: 0,
      },
    ],
  },
})

export const TrendQuery = Type.Object(
  {
    url: PageUrl,
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 500, default: 100, description: 'The latest this many reports' }),
    ),
  },
  { additionalProperties: false },
)

export const IdParams = Type.Object({ id: Id })
export const WorkspaceParams = Type.Object({ workspace_id: Id })

export const issueList: ListSpec = {
  sortable: ['id', 'created_at', 'issue_type', 'url'],
  defaultSort: '-created_at',
  fields: ['report_id', 'url', 'issue_type', 'severity', 'details', 'created_at'],
  includes: [],
  filters: {
    severity: Severity,
    type: Type.String({ minLength: 1, maxLength: 100, description: 'Issues of this type' }),
    url: Type.String({ minLength: 1, maxLength: 2048, description: 'Issues on this page' }),
    report_id: Type.Integer({ minimum: 1, maximum: 2_147_483_647, description: 'Issues of this report' }),
  },
}

export const reportList: ListSpec = {
  sortable: ['id', 'created_at', 'url', ...SCORE_KEYS],
  defaultSort: '-created_at',
  fields: ['url', 'scores', 'source', 'issue_count', 'created_at'],
  includes: [],
  filters: {
    url: Type.String({ minLength: 1, maxLength: 2048, description: 'Reports of this page' }),
    source: Type.Enum(['api', 'audit'], { description: 'Submitted (`api`) or made by an audit' }),
  },
}

export const auditList: ListSpec = {
  sortable: ['id', 'created_at', 'updated_at', 'status'],
  defaultSort: '-created_at',
  fields: [
    'url',
    'status',
    'report_id',
    'error',
    'attempts',
    'created_at',
    'started_at',
    'finished_at',
    'updated_at',
  ],
  includes: [],
  statuses: AUDIT_STATUSES,
  filters: {
    url: Type.String({ minLength: 1, maxLength: 2048, description: 'Audits of this page' }),
  },
}
