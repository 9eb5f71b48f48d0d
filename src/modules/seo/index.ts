// SEO module (seed 004 "SEO Reports", PRODUCT.md "SEO"): reports submitted through the API,
// their issues per workspace, trends per URL, and audits core-api runs itself — Lighthouse in
// headless Chromium, in a child process, behind the SSRF guard — whose results are reports.
// Scopes `seo:*`; events `seo.report.created` and `seo.audit.completed`. See docs/seo.md.
import type { FastifyInstance } from 'fastify'
import { registerScopeResources, type WorkspaceResolver } from '../../platform/auth/index.ts'
import type { DatabaseHandle } from '../../platform/db/index.ts'
import type { Deps } from '../../platform/deps.ts'
import { registerEventTypes } from '../../platform/events.ts'
import { seoRoutes } from './routes.ts'
import { LighthouseRunner } from './runner.ts'
import { AUDIT_EXAMPLE, REPORT_EXAMPLE } from './schemas.ts'
import { SeoService } from './service.ts'
import { seoSettings } from './settings.ts'
import { AuditWorker } from './worker.ts'

/** Time a lease outlasts the audit's timeout: the outcome is written within it. */
const LEASE_MARGIN_MS = 60_000

export type Seo = { service: SeoService; worker: AuditWorker }

export function createSeo(input: {
  deps: Deps
  database: DatabaseHandle
  findWorkspace: WorkspaceResolver
  log: (message: string, error: unknown) => void
}): Seo {
  const { deps, database, findWorkspace, log } = input
  registerScopeResources('seo')
  // A report is announced with what changed since the previous one, without its issues.
  const { issues: _issues, ...reportAnnounced } = REPORT_EXAMPLE
  registerEventTypes(
    {
      type: 'seo.report.created',
      readScope: 'seo:read',
      description: 'An SEO report was stored (submitted or made by an audit)',
      example: reportAnnounced,
    },
    {
      type: 'seo.audit.completed',
      readScope: 'seo:read',
      description: 'An SEO audit succeeded or failed',
      example: AUDIT_EXAMPLE,
    },
  )
  const settings = seoSettings.from(deps.config)
  const timeoutMs = settings.auditTimeoutSeconds * 1000
  const service = new SeoService(deps, findWorkspace)
  const runner = new LighthouseRunner({
    chromiumPath: settings.chromiumPath,
    timeoutMs,
    allowInsecure: deps.config.webhookAllowInsecureUrls,
  })
  const worker = new AuditWorker({
    database,
    // Claims and outcomes on a connection of their own, beside the requests' pool.
    db: database.separate(1),
    clock: deps.clock,
    events: deps.events,
    service,
    runner,
    options: {
      concurrency: settings.auditConcurrency,
      perWorkspace: settings.auditWorkspaceConcurrency,
      pollMs: settings.auditPollSeconds * 1000,
      leaseMs: timeoutMs + LEASE_MARGIN_MS,
    },
    log,
  })
  return { service, worker }
}

export async function seoModule(app: FastifyInstance, seo: Seo, publicUrl: string): Promise<void> {
  seoRoutes(app, seo.service, publicUrl)
}
