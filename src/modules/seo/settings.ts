// Settings only the SEO module reads: where Chromium is, and how much audit work one instance
// and one workspace may run at once.
import { isAbsolute } from 'node:path'
import { ConfigError, defineSettings, integer } from '../../platform/config/index.ts'
import type { Parse } from '../../platform/config/settings.ts'

const absolutePath: Parse<string> = (raw, env) => {
  if (!isAbsolute(raw)) throw new ConfigError(`${env} must be an absolute path, got "${raw}"`)
  return raw
}

export const seoSettings = defineSettings('seo', {
  chromiumPath: {
    env: 'SEO_CHROMIUM_PATH',
    default: '/usr/bin/chromium',
    parse: absolutePath,
    doc: 'the Chromium (or Chrome) binary SEO audits run Lighthouse in; an audit fails with a message naming it when it is missing',
  },
  auditTimeoutSeconds: {
    env: 'SEO_AUDIT_TIMEOUT_SECONDS',
    default: 120,
    parse: integer(10, 3600),
    doc: 'seconds one SEO audit may run before its process tree is killed and the audit fails',
  },
  auditConcurrency: {
    env: 'SEO_AUDIT_CONCURRENCY',
    default: 1,
    parse: integer(0, 64),
    doc: 'SEO audits one instance runs at once (each is a Chromium); `0` runs none on this instance',
  },
  auditWorkspaceConcurrency: {
    env: 'SEO_AUDIT_WORKSPACE_CONCURRENCY',
    default: 1,
    parse: integer(1, 64),
    doc: 'SEO audits of one workspace running at once, across all instances',
  },
  auditPollSeconds: {
    env: 'SEO_AUDIT_POLL_SECONDS',
    default: 5,
    parse: integer(1, 3600),
    doc: 'how often an idle instance looks for queued SEO audits (a new audit wakes the workers at once)',
  },
})
