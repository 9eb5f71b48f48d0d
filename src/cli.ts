// core-api serve | migrate | workspaces create | keys create | entitlements recount
// The CLI acts as the operator (master-key rights) on the configured database.
import { parseArgs } from 'node:util'
import type { TSchema } from 'typebox'
import { exitWithError, serve } from './main.ts'
import { createApiKeyService } from './modules/api-keys/index.ts'
import { ApiKeyCreate } from './modules/api-keys/schemas.ts'
import { createEntitlementService } from './modules/entitlements/index.ts'
import { registerPostCounter } from './modules/posts/index.ts'
import { createEventSink } from './modules/webhooks/index.ts'
import { WorkspaceCreate } from './modules/workspaces/schemas.ts'
import { WorkspaceService } from './modules/workspaces/service.ts'
import { findWorkspaceForAuth } from './modules/workspaces/store.ts'
import { CredentialCache, masterPrincipal } from './platform/auth/index.ts'
import { loadConfig } from './platform/config/index.ts'
import type { DatabaseHandle } from './platform/db/index.ts'
import type { Deps } from './platform/deps.ts'
import { ApiError } from './platform/http/errors.ts'
import { toFieldErrors, validatorCompiler } from './platform/http/validation.ts'
import { systemClock } from './platform/lib/clock.ts'
import { connectPubSub, openConfiguredDatabase } from './server.ts'

const USAGE = `Usage: core-api <command>

  serve                              start the HTTP server (same as npm start)
  worker                             deliver webhooks only, without an HTTP server
  migrate                            apply pending database migrations
  workspaces create --name NAME [--slug SLUG] [--tier TIER] [--owner-email EMAIL]
  keys create --workspace ID --name NAME [--scopes a,b] [--tier TIER] [--expires-at ISO] [--environment live|test]
  entitlements recount [--workspace ID]    rebuild plan-limit counters (posts) from their rows

Configuration comes from the environment (see the README).`

function validate<T>(schema: TSchema, value: unknown): T {
  const check = validatorCompiler({ schema, httpPart: 'body', method: 'POST', url: '' }) as unknown as {
    (v: unknown): boolean
    errors: never
  }
  if (!check(value))
    throw new ApiError('validation_failed', undefined, { errors: toFieldErrors(check.errors) })
  return value as T
}

async function withDatabase<T>(run: (deps: Deps, database: DatabaseHandle) => Promise<T>): Promise<T> {
  const config = loadConfig()
  const database = await openConfiguredDatabase(config)
  const pubsub = connectPubSub(config)
  try {
    await database.migrate()
    const credentials = new CredentialCache(pubsub, systemClock, 0)
    const events = createEventSink(systemClock) // delivered by the server's worker
    return await run({ config, db: database.db, clock: systemClock, credentials, events }, database)
  } finally {
    await pubsub.close()
    await database.close()
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, sub, ...rest] = argv
  if (command === 'serve') return serve()
  if (command === 'worker') return serve({ http: false })
  if (command === 'migrate') {
    await withDatabase(async () => {})
    process.stdout.write('Migrations applied.\n')
    return
  }
  if (command === 'workspaces' && sub === 'create') {
    const { values } = parseArgs({
      args: rest,
      options: {
        name: { type: 'string' },
        slug: { type: 'string' },
        tier: { type: 'string' },
        'owner-email': { type: 'string' },
      },
    })
    const body = validate<never>(WorkspaceCreate, {
      name: values.name,
      ...(values.slug && { slug: values.slug }),
      ...(values.tier && { tier: values.tier }),
      ...(values['owner-email'] && { owner_email: values['owner-email'] }),
    })
    const workspace = await withDatabase((deps) => new WorkspaceService(deps).create(masterPrincipal(), body))
    process.stdout.write(`${JSON.stringify(workspace, null, 2)}\n`)
    return
  }
  if (command === 'keys' && sub === 'create') {
    const { values } = parseArgs({
      args: rest,
      options: {
        workspace: { type: 'string' },
        name: { type: 'string' },
        scopes: { type: 'string' },
        tier: { type: 'string' },
        'expires-at': { type: 'string' },
        environment: { type: 'string' },
      },
    })
    const workspaceId = Number(values.workspace)
    if (!Number.isInteger(workspaceId) || workspaceId < 1)
      throw ApiError.invalid('workspace', 'Pass --workspace ID.')
    const body = validate<never>(ApiKeyCreate, {
      name: values.name,
      ...(values.scopes && { scopes: values.scopes.split(',').map((s) => s.trim()) }),
      ...(values.tier && { rate_limit_tier: values.tier }),
      ...(values['expires-at'] && { expires_at: values['expires-at'] }),
      ...(values.environment && { environment: values.environment }),
    })
    const created = await withDatabase(async (deps) => {
      const workspace = await findWorkspaceForAuth(deps.db, workspaceId)
      if (!workspace) throw ApiError.notFound('Workspace')
      const entitlements = createEntitlementService(deps)
      return createApiKeyService(deps, entitlements, () => {}).create(masterPrincipal(), workspace, body)
    })
    process.stdout.write(`${JSON.stringify(created, null, 2)}\n`)
    process.stderr.write('The key is shown only once: store it securely.\n')
    return
  }
  if (command === 'entitlements' && sub === 'recount') return recountEntitlements(rest)
  process.stdout.write(`${USAGE}\n`)
  if (command !== undefined && command !== 'help' && command !== '--help') process.exitCode = 2
}

/** Rebuilds the kept entitlement counters (all workspaces, or --workspace ID) and lists the repairs. */
async function recountEntitlements(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { workspace: { type: 'string' } } })
  const workspaceId = values.workspace === undefined ? undefined : Number(values.workspace)
  if (workspaceId !== undefined && (!Number.isInteger(workspaceId) || workspaceId < 1))
    throw ApiError.invalid('workspace', 'Pass --workspace ID.')
  const repaired = await withDatabase((deps) => {
    const entitlements = createEntitlementService(deps)
    registerPostCounter(entitlements)
    return entitlements.recount(workspaceId)
  })
  for (const r of repaired)
    process.stdout.write(`workspace ${r.workspaceId} ${r.feature}: ${r.before} -> ${r.after}\n`)
  process.stdout.write(`${repaired.length} counter(s) repaired.\n`)
}

main(process.argv.slice(2)).catch((error) => {
  if (error instanceof ApiError) {
    process.stderr.write(`core-api: ${error.message}\n`)
    const errors = error.extra?.errors as Record<string, string[]> | undefined
    for (const [field, messages] of Object.entries(errors ?? {}))
      process.stderr.write(`  ${field}: ${messages.join(' ')}\n`)
    process.exit(1)
  }
  exitWithError(error)
})
