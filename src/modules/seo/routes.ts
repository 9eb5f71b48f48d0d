import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { listRoute, NoQuery } from '../../platform/http/list.ts'
import {
  addComponents,
  dataSchema,
  errorResponses,
  messageDataSchema,
} from '../../platform/http/responses.ts'
import {
  AUDIT_EXAMPLE,
  AuditCreate,
  auditList,
  IdParams,
  issueList,
  REPORT_EXAMPLE,
  ReportCreate,
  reportList,
  SeoAudit,
  SeoIssue,
  SeoReport,
  SeoTrend,
  TrendQuery,
  WorkspaceParams,
} from './schemas.ts'
import type { SeoService } from './service.ts'

const tags = ['SEO']

export function seoRoutes(fastify: FastifyInstance, service: SeoService, publicUrl: string): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  addComponents(fastify, SeoIssue, SeoReport, SeoAudit, SeoTrend)
  const issues = listRoute(issueList, SeoIssue, publicUrl, 'A page of issues')
  const reports = listRoute(reportList, SeoReport, publicUrl, 'A page of reports (without their issues)')
  const audits = listRoute(auditList, SeoAudit, publicUrl, 'A page of audits')

  app.post(
    '/api/v1/seo/report',
    {
      schema: {
        tags,
        summary: 'Submit an SEO report',
        operationId: 'createSeoReport',
        description:
          "Scores are whole numbers 0–100 under `performance`, `accessibility`, `best_practices` and `seo` (at least one; any other key is 422). An issue without `url` is on the report's page. The answer holds the issues and the changes since the previous report of the same URL.",
        body: ReportCreate,
        querystring: NoQuery,
        response: {
          201: messageDataSchema(SeoReport.ref, {
            description: 'The report was stored; `Location` is its URL',
            example: { message: 'SEO report submitted successfully.', data: REPORT_EXAMPLE },
          }),
          ...errorResponses(),
        },
      },
      config: { auth: { scope: 'seo:write', workspace: true } },
    },
    async (req, reply) => {
      const data = await service.createReport(req.workspace!, req.body)
      return reply
        .code(201)
        .header('location', `${publicUrl}/api/v1/seo/reports/${data.id}`)
        .send({ message: 'SEO report submitted successfully.', data })
    },
  )

  app.get(
    '/api/v1/seo/issues/:workspace_id',
    {
      schema: {
        tags,
        summary: "List a workspace's SEO issues",
        operationId: 'listSeoIssues',
        description:
          'Newest first. Filters: `severity`, `type`, `url` (exact page), `report_id`. A workspace the credential cannot see is 404.',
        params: WorkspaceParams,
        querystring: issues.querystring,
        response: { 200: issues.response, ...errorResponses('not_found') },
      },
      config: { auth: { scope: 'seo:read', workspace: false } },
    },
    async (req) => {
      const workspace = await service.workspaceInPath(req.principal!, req.params.workspace_id)
      const { query, url } = issues.parse(req)
      return service.listIssues(workspace, query, url)
    },
  )

  app.get(
    '/api/v1/seo/reports',
    {
      schema: {
        tags,
        summary: 'List SEO reports',
        operationId: 'listSeoReports',
        description: 'Newest first. Filters: `url` (exact page), `source` (`api` or `audit`).',
        querystring: reports.querystring,
        response: { 200: reports.response, ...errorResponses() },
      },
      config: { auth: { scope: 'seo:read', workspace: true } },
    },
    (req) => {
      const { query, url } = reports.parse(req)
      return service.listReports(req.workspace!, query, url)
    },
  )

  app.get(
    '/api/v1/seo/reports/:id',
    {
      schema: {
        tags,
        summary: 'Get an SEO report',
        operationId: 'getSeoReport',
        description:
          'With its issues, and the issues that appeared or were fixed since the previous report of the same URL.',
        params: IdParams,
        querystring: NoQuery,
        response: {
          200: dataSchema(SeoReport.ref, { description: 'The report', example: { data: REPORT_EXAMPLE } }),
          ...errorResponses('not_found'),
        },
      },
      config: { auth: { scope: 'seo:read', workspace: true } },
    },
    async (req) => ({ data: await service.getReport(req.workspace!, req.params.id) }),
  )

  app.get(
    '/api/v1/seo/trends',
    {
      schema: {
        tags,
        summary: 'Get the SEO trend of a URL',
        operationId: 'getSeoTrend',
        description:
          'The scores of the latest `limit` reports of the page, oldest first, with how many issues appeared and were fixed at each.',
        querystring: TrendQuery,
        response: {
          200: dataSchema(SeoTrend.ref, { description: 'The trend (no points when the URL has no report)' }),
          ...errorResponses(),
        },
      },
      config: { auth: { scope: 'seo:read', workspace: true } },
    },
    async (req) => ({ data: await service.trend(req.workspace!, req.query.url, req.query.limit ?? 100) }),
  )

  app.post(
    '/api/v1/seo/audits',
    {
      schema: {
        tags,
        summary: 'Start an SEO audit',
        operationId: 'createSeoAudit',
        description:
          'Queues a Lighthouse audit of the page, run by core-api in headless Chromium; follow it with `GET /api/v1/seo/audits/{id}`. The URL must be https and public (its addresses are checked when the audit runs, and every connection the browser makes).',
        body: AuditCreate,
        querystring: NoQuery,
        response: {
          202: messageDataSchema(SeoAudit.ref, {
            description: 'The audit is queued; `Location` is its URL',
            example: {
              message: 'SEO audit queued.',
              data: {
                ...AUDIT_EXAMPLE,
                status: 'queued',
                report_id: null,
                attempts: 0,
                started_at: null,
                finished_at: null,
              },
            },
          }),
          ...errorResponses(),
        },
      },
      config: { auth: { scope: 'seo:write', workspace: true } },
    },
    async (req, reply) => {
      const data = await service.createAudit(req.workspace!, req.body)
      return reply
        .code(202)
        .header('location', `${publicUrl}/api/v1/seo/audits/${data.id}`)
        .send({ message: 'SEO audit queued.', data })
    },
  )

  app.get(
    '/api/v1/seo/audits',
    {
      schema: {
        tags,
        summary: 'List SEO audits',
        operationId: 'listSeoAudits',
        description: 'Newest first. Filters: `status`, `url` (exact page).',
        querystring: audits.querystring,
        response: { 200: audits.response, ...errorResponses() },
      },
      config: { auth: { scope: 'seo:read', workspace: true } },
    },
    (req) => {
      const { query, url } = audits.parse(req)
      return service.listAudits(req.workspace!, query, url)
    },
  )

  app.get(
    '/api/v1/seo/audits/:id',
    {
      schema: {
        tags,
        summary: 'Get an SEO audit',
        operationId: 'getSeoAudit',
        params: IdParams,
        querystring: NoQuery,
        response: {
          200: dataSchema(SeoAudit.ref, { description: 'The audit', example: { data: AUDIT_EXAMPLE } }),
          ...errorResponses('not_found'),
        },
      },
      config: { auth: { scope: 'seo:read', workspace: true } },
    },
    async (req) => ({ data: await service.getAudit(req.workspace!, req.params.id) }),
  )
}
