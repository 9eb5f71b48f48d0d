// The composition root: every module's services built from the shared infrastructure, in
// dependency order, each registering what it owns (scopes, event types, plan-limit counters)
// as it is built. The HTTP server (app.ts) and the CLI (cli.ts) both start here, so an
// operator's command acts through the same services and rules as a request.
import { createApiKeyService, credentialSource } from './modules/api-keys/index.ts'
import { createEntitlementService } from './modules/entitlements/index.ts'
import { createMcp } from './modules/mcp/index.ts'
import { createOAuth } from './modules/oauth/index.ts'
import { createPixel } from './modules/pixel/index.ts'
import { createPosts } from './modules/posts/index.ts'
import { createSeo } from './modules/seo/index.ts'
import { createSessions } from './modules/sessions/index.ts'
import { createUsers } from './modules/users/index.ts'
import { createEventSink, createWebhooks } from './modules/webhooks/index.ts'
import { addMember, createMembers, createWorkspaces, workspaceResolver } from './modules/workspaces/index.ts'
import type { CredentialSource, WorkspaceResolver } from './platform/auth/index.ts'
import { CredentialCache } from './platform/auth/index.ts'
import type { Config } from './platform/config/index.ts'
import type { DatabaseHandle } from './platform/db/index.ts'
import type { Deps } from './platform/deps.ts'
import type { PubSub } from './platform/kv/index.ts'
import type { Clock } from './platform/lib/clock.ts'
import { SecretBox } from './platform/lib/secret-box.ts'

export type Infrastructure = {
  config: Config
  database: DatabaseHandle
  pubsub: PubSub
  clock: Clock
  /** Key material for secrets at rest (ENCRYPTION_KEY or the generated one). */
  encryptionKey: string
  /** Where background failures that no request sees are reported. */
  warn: (message: string, error: unknown) => void
}

export type Services = ReturnType<typeof composeServices>

export function composeServices(infra: Infrastructure) {
  const { config, database, pubsub, clock, warn } = infra
  const box = new SecretBox(infra.encryptionKey)
  const credentials = new CredentialCache(pubsub, clock, config.credentialCacheSeconds * 1000)
  const shared: Deps = {
    config,
    db: database.db,
    clock,
    credentials,
    events: createEventSink(clock),
    pubsub,
  }

  const workspaces = createWorkspaces(shared)
  const members = createMembers(shared, warn)
  const users = createUsers(shared, addMember)
  const entitlements = createEntitlementService(shared)
  const apiKeys = createApiKeyService(shared, entitlements, (error) =>
    warn('could not record key usage', error),
  )
  const posts = createPosts(shared, entitlements)
  const pixel = createPixel(shared, box)
  const webhooks = createWebhooks({ deps: shared, database, box, entitlements, log: warn })
  const mcp = createMcp(shared, box, warn)
  entitlements.assertCounters()

  const findWorkspace: WorkspaceResolver = workspaceResolver(shared)
  const seo = createSeo({ deps: shared, database, findWorkspace, log: warn })
  const sessions = createSessions(shared, { csrfKey: infra.encryptionKey, findWorkspace })
  const oauth = createOAuth(shared, {
    box,
    encryptionKey: infra.encryptionKey,
    checkCredentials: (email, password) => sessions.checkCredentials(email, password),
  })

  /** The credential kinds the auth platform accepts. */
  const credentialSources: CredentialSource[] = [
    credentialSource(apiKeys),
    sessions.credentialSource(),
    oauth.credentialSource,
  ]

  return {
    shared,
    box,
    credentials,
    credentialSources,
    findWorkspace,
    workspaces,
    members,
    users,
    sessions,
    entitlements,
    apiKeys,
    posts,
    pixel,
    webhooks,
    oauth,
    mcp,
    seo,
  }
}
