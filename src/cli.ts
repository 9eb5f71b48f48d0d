// core-api serve | worker | migrate | workspaces | keys | master-key | db | entitlements
// The CLI acts as the operator (master-key rights) on the configured database. Exit codes: 0
// done, 1 the command failed, 2 the command line is wrong (unknown command or option).
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import type { TSchema } from 'typebox'
import type { Services } from './compose.ts'
import type { DatabaseHandle } from './platform/db/index.ts'

/**
 * The application, loaded once the command line is understood: help, version and a wrong
 * command line answer at once, without loading the server. Commands act through the services
 * of the composition root (compose.ts) and the modules' entry points, as the server does.
 */
async function load() {
  const parts = await Promise.all([
    import('./main.ts'),
    import('./compose.ts'),
    import('./modules/api-keys/index.ts'),
    import('./modules/users/index.ts'),
    import('./modules/workspaces/index.ts'),
    import('./platform/auth/index.ts'),
    import('./platform/auth/master-key.ts'),
    import('./platform/config/index.ts'),
    import('./platform/db/transfer.ts'),
    import('./platform/http/errors.ts'),
    import('./platform/http/list.ts'),
    import('./platform/http/validation.ts'),
    import('./platform/lib/clock.ts'),
    import('./server.ts'),
  ])
  return Object.assign({}, ...parts) as UnionToIntersection<(typeof parts)[number]>
}

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void
  ? I
  : never

let m: Awaited<ReturnType<typeof load>>
/** Loads the application once the command line has been understood. */
async function ready(): Promise<void> {
  m ??= await load()
}

const USAGE = `Usage: core-api <command> [options]

  serve                              start the HTTP server (same as npm start)
  worker                             deliver webhooks only, without an HTTP server
  migrate                            apply pending database migrations
  workspaces create --name NAME [--slug SLUG] [--tier TIER] [--owner-email EMAIL]
  users create --email EMAIL [--name NAME] [--workspace ID] [--role owner|admin|member]
                                     the password is read from standard input (one line)
  keys create --workspace ID --name NAME [--scopes a,b] [--tier TIER] [--expires-at ISO] [--environment live|test]
  keys list --workspace ID [--status active|expired|revoked]
  keys revoke ID                     revoke a key at once
  master-key rotate                  replace the stored master key (a lost one); prints the new one once
  db export --out FILE               write every table to FILE (JSON lines), e.g. to move to PostgreSQL
  db import --file FILE              load an export into a new, empty database (DATABASE_URL or DATA_DIR)
  entitlements recount [--workspace ID]  rebuild plan-limit counters (posts, webhooks, api_keys) from their rows
  -h, --help                         this help
  -v, --version                      the version

Configuration comes from the environment (see the README). With the embedded database, stop
the server first: one process at a time holds the data folder.`

/** A command line that cannot be run: printed with a hint, exit code 2. */
class UsageError extends Error {
  override name = 'UsageError'
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  return String(pkg.version)
}

function validate<T>(schema: TSchema, value: unknown): T {
  const check = m.validatorCompiler({ schema, httpPart: 'body', method: 'POST', url: '' }) as unknown as {
    (v: unknown): boolean
    errors: never
  }
  if (!check(value))
    throw new m.ApiError('validation_failed', undefined, { errors: m.toFieldErrors(check.errors) })
  return value as T
}

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options']

/** Parses the options of a command; an unknown option or a stray argument is a UsageError. */
function options(args: string[], spec: Options, positionals = 0) {
  try {
    const parsed = parseArgs({ args, options: spec, allowPositionals: positionals > 0, strict: true })
    if (parsed.positionals.length > positionals)
      throw new UsageError(`unexpected argument "${parsed.positionals[positionals]}"`)
    return parsed as { values: Record<string, string | undefined>; positionals: string[] }
  } catch (error) {
    if (error instanceof UsageError) throw error
    throw new UsageError((error as Error).message)
  }
}

function positiveId(raw: string | undefined, what: string): number {
  const id = Number(raw)
  if (raw === undefined || !Number.isInteger(id) || id < 1 || id > 2_147_483_647)
    throw new UsageError(
      `${what} must be a positive integer, got ${raw === undefined ? 'nothing' : `"${raw}"`}`,
    )
  return id
}

/** Runs with the configured database, migrated; nothing else is built (export, import). */
async function withDatabase<T>(run: (database: DatabaseHandle) => Promise<T>): Promise<T> {
  const config = m.loadConfig()
  const database = await m.openConfiguredDatabase(config)
  try {
    await database.migrate()
    return await run(database)
  } finally {
    await database.close()
  }
}

/** Runs with the services as the server builds them, on the configured database. */
async function withServices<T>(
  run: (services: Services, database: DatabaseHandle) => Promise<T>,
): Promise<T> {
  const config = m.loadConfig()
  const pubsub = m.connectPubSub(config)
  try {
    return await withDatabase(async (database) => {
      const services = m.composeServices({
        config,
        database,
        pubsub, // a revocation reaches running servers through it (with REDIS_URL)
        clock: m.systemClock,
        encryptionKey: await m.ensureEncryptionKey(database.db, config.encryptionKey),
        warn: (message, error) => process.stderr.write(`core-api: ${message}: ${String(error)}\n`),
      })
      return run(services, database)
    })
  } finally {
    await pubsub.close()
  }
}

/** A workspace the operator names, as the master key would resolve it. */
async function workspaceNamed(services: Services, id: number) {
  const workspace = await services.findWorkspace(m.masterPrincipal(), id)
  if (!workspace) throw m.ApiError.notFound('Workspace')
  return workspace
}

const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`)

async function workspacesCreate(args: string[]) {
  const { values } = options(args, {
    name: { type: 'string' },
    slug: { type: 'string' },
    tier: { type: 'string' },
    'owner-email': { type: 'string' },
  })
  await ready()
  const body = validate<never>(m.WorkspaceCreate, {
    name: values.name,
    ...(values.slug && { slug: values.slug }),
    ...(values.tier && { tier: values.tier }),
    ...(values['owner-email'] && { owner_email: values['owner-email'] }),
  })
  print(await withServices((services) => services.workspaces.create(m.masterPrincipal(), body)))
}

/** The first line of standard input (at most 4 KiB), for secrets that must not be arguments. */
async function secretLine(what: string): Promise<string> {
  if (process.stdin.isTTY)
    throw new UsageError(`pipe the ${what} on standard input, e.g. printf '%s\\n' "$PASSWORD" | core-api …`)
  let text = ''
  for await (const chunk of process.stdin) {
    text += String(chunk)
    if (text.length > 4096 || text.includes('\n')) break
  }
  process.stdin.destroy()
  return text.split(/\r?\n/)[0] ?? ''
}

async function usersCreate(args: string[]) {
  const { values } = options(args, {
    email: { type: 'string' },
    name: { type: 'string' },
    workspace: { type: 'string' },
    role: { type: 'string' },
  })
  const workspaceId = values.workspace === undefined ? null : positiveId(values.workspace, '--workspace')
  const password = await secretLine('password')
  await ready()
  const body = validate<never>(m.UserCreate, {
    email: values.email,
    password,
    ...(values.name && { name: values.name }),
    ...(values.role && { role: values.role }),
  })
  const created = await withServices(async (services) => {
    const workspace = workspaceId === null ? null : await workspaceNamed(services, workspaceId)
    return services.users.create(m.masterPrincipal(), workspace, body)
  })
  print(created)
}

async function keysCreate(args: string[]) {
  const { values } = options(args, {
    workspace: { type: 'string' },
    name: { type: 'string' },
    scopes: { type: 'string' },
    tier: { type: 'string' },
    'expires-at': { type: 'string' },
    environment: { type: 'string' },
  })
  const workspaceId = positiveId(values.workspace, '--workspace')
  await ready()
  const body = validate<never>(m.ApiKeyCreate, {
    name: values.name,
    ...(values.scopes && { scopes: values.scopes.split(',').map((s) => s.trim()) }),
    ...(values.tier && { rate_limit_tier: values.tier }),
    ...(values['expires-at'] && { expires_at: values['expires-at'] }),
    ...(values.environment && { environment: values.environment }),
  })
  const created = await withServices(async (services) =>
    services.apiKeys.create(m.masterPrincipal(), await workspaceNamed(services, workspaceId), body),
  )
  print(created)
  process.stderr.write('The key is shown only once: store it securely.\n')
}

async function keysList(args: string[]) {
  const { values } = options(args, { workspace: { type: 'string' }, status: { type: 'string' } })
  const workspaceId = positiveId(values.workspace, '--workspace')
  await ready()
  const statuses = m.apiKeyList.statuses ?? []
  if (values.status !== undefined && !statuses.includes(values.status))
    throw new UsageError(`--status must be one of ${statuses.join(', ')}`)
  const keys = await withServices(async (services) => {
    const workspace = await workspaceNamed(services, workspaceId)
    const all: unknown[] = []
    // Bounded: at most 1,000 pages of 100.
    for (let page = 1; page <= 1000; page++) {
      const query = m.parseListQuery(
        { page, per_page: 100, ...(values.status && { status: values.status }) },
        m.apiKeyList,
      )
      const result = await services.apiKeys.list(
        m.masterPrincipal(),
        workspace,
        query,
        new URL('http://cli/api/v1/api-keys'),
      )
      all.push(...result.data)
      if (page >= result.meta.last_page) break
    }
    return all
  })
  print(keys)
}

async function keysRevoke(args: string[]) {
  const { positionals } = options(args, {}, 1)
  const id = positiveId(positionals[0], 'the key id')
  await ready()
  await withServices(async (services, database) => {
    const workspaceId = await m.workspaceOfKey(database.db, id)
    if (workspaceId === null) throw m.ApiError.notFound('API key')
    await services.apiKeys.revoke(m.masterPrincipal(), await workspaceNamed(services, workspaceId), id)
  })
  process.stderr.write(
    `API key ${id} is revoked. Running servers refuse it within CREDENTIAL_CACHE_SECONDS (at once with REDIS_URL).\n`,
  )
}

async function masterKeyRotate(args: string[]) {
  options(args, {})
  await ready()
  if (m.loadConfig().masterKey !== null) {
    throw new UsageError(
      'CORE_API_MASTER_KEY is set, and it wins over a stored master key: set a new value there and restart the servers',
    )
  }
  const key = await withDatabase((database) => m.rotateMasterKey(database.db))
  process.stdout.write(`${key}\n`)
  process.stderr.write(
    'This new master key is shown only this once; the old one stops working when the servers restart.\n',
  )
}

async function dbExport(args: string[]) {
  const { values } = options(args, { out: { type: 'string' } })
  if (!values.out) throw new UsageError('pass --out FILE')
  await ready()
  const header = await withDatabase((database) => m.exportDatabase(database.db, values.out!))
  const rows = Object.values(header.tables).reduce((a, b) => a + b, 0)
  process.stderr.write(
    `Exported ${rows} rows of ${Object.keys(header.tables).length} tables to ${values.out}. ` +
      'It holds key hashes and encrypted secrets: keep it as safe as the database.\n',
  )
}

async function dbImport(args: string[]) {
  const { values } = options(args, { file: { type: 'string' } })
  if (!values.file) throw new UsageError('pass --file FILE')
  await ready()
  const header = await withDatabase((database) => m.importDatabase(database.db, values.file!))
  const rows = Object.values(header.tables).reduce((a, b) => a + b, 0)
  process.stderr.write(`Imported ${rows} rows of ${Object.keys(header.tables).length} tables.\n`)
}

/** Rebuilds the kept entitlement counters (all workspaces, or --workspace ID) and lists the repairs. */
async function entitlementsRecount(args: string[]) {
  const { values } = options(args, { workspace: { type: 'string' } })
  const workspaceId = values.workspace === undefined ? undefined : positiveId(values.workspace, '--workspace')
  await ready()
  const repaired = await withServices((services) => services.entitlements.recount(workspaceId))
  for (const r of repaired)
    process.stdout.write(`workspace ${r.workspaceId} ${r.feature}: ${r.before} -> ${r.after}\n`)
  process.stdout.write(`${repaired.length} counter(s) repaired.\n`)
}

const COMMANDS: Record<string, (args: string[]) => Promise<void>> = {
  'workspaces create': workspacesCreate,
  'users create': usersCreate,
  'keys create': keysCreate,
  'keys list': keysList,
  'keys revoke': keysRevoke,
  'master-key rotate': masterKeyRotate,
  'db export': dbExport,
  'db import': dbImport,
  'entitlements recount': entitlementsRecount,
}

async function main(argv: string[]): Promise<void> {
  const [command, sub, ...rest] = argv
  if (command === undefined || command === 'help' || command === '-h' || command === '--help') {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  if (command === '-v' || command === '--version') {
    process.stdout.write(`core-api ${version()}\n`)
    return
  }
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  if (command === 'serve' || command === 'worker' || command === 'migrate') {
    if (sub !== undefined) throw new UsageError(`${command} takes no arguments, got "${sub}"`)
    await ready()
    if (command === 'serve') return m.serve()
    if (command === 'worker') return m.serve({ http: false })
    await withDatabase(async () => {})
    process.stdout.write('Migrations applied.\n')
    return
  }
  const run = COMMANDS[`${command} ${sub}`]
  if (!run) {
    const known = Object.keys(COMMANDS).filter((c) => c.startsWith(`${command} `))
    throw new UsageError(
      known.length > 0
        ? `unknown ${command} command${sub === undefined ? '' : ` "${sub}"`}; try: ${known.map((c) => `core-api ${c}`).join(', ')}`
        : `unknown command "${command}"`,
    )
  }
  return run(rest)
}

main(process.argv.slice(2)).catch((error) => {
  if (error instanceof UsageError) {
    process.stderr.write(`core-api: ${error.message}\nRun "core-api --help" for the commands.\n`)
    process.exit(2)
  }
  if (m === undefined) {
    process.stderr.write(`core-api: ${(error as Error)?.stack ?? String(error)}\n`)
    process.exit(1)
  }
  if (error instanceof m.ApiError || error instanceof m.TransferError) {
    process.stderr.write(`core-api: ${error.message}\n`)
    const errors =
      error instanceof m.ApiError ? (error.extra?.errors as Record<string, string[]> | undefined) : undefined
    for (const [field, messages] of Object.entries(errors ?? {}))
      process.stderr.write(`  ${field}: ${messages.join(' ')}\n`)
    process.exit(1)
  }
  m.exitWithError(error)
})
