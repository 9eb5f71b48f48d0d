// The MCP gateway: the servers a workspace may use — the operator's (MCP_CONFIG, every
// workspace) and its own registered Streamable HTTP servers — their tools, tool calls and
// resource reads, over one reused connection per server (connection.ts). A tool's own error is
// a result (`is_error: true`), not an HTTP error; a server that cannot be reached or does not
// answer in time is 502 `upstream_error`; an unknown server, tool or resource is 404.
import { type CallToolResult, ErrorCode, McpError, type Tool } from '@modelcontextprotocol/sdk/types.js'
import type { Static } from 'typebox'
import type { Principal, PrincipalWorkspace } from '../../platform/auth/index.ts'
import { isDatabaseUnavailable } from '../../platform/db/errors.ts'
import type { Deps } from '../../platform/deps.ts'
import { ApiError } from '../../platform/http/errors.ts'
import { type ListQuery, selectFields, toPage } from '../../platform/http/list.ts'
import { SharedCache } from '../../platform/kv/shared-cache.ts'
import { isoSeconds } from '../../platform/lib/clock.ts'
import { GroupCommit } from '../../platform/lib/group-commit.ts'
import type { SecretBox } from '../../platform/lib/secret-box.ts'
import { checkUrl, UnsafeUrlError } from '../../platform/net/ssrf.ts'
import { auditedArguments } from './audit.ts'
import { type ConnectionOptions, ConnectionPool, McpConnection } from './connection.ts'
import { guardedFetch } from './guarded-fetch.ts'
import type { PolicyUpdate, ServerCreate, ServerUpdate, ToolCall } from './schemas.ts'
import { mcpSettings, type ServerSpec } from './settings.ts'
import {
  type CallRow,
  countServers,
  deletePolicy,
  deleteServer,
  findPolicy,
  findServer,
  insertCalls,
  insertServer,
  listCalls,
  listServers,
  type NewCall,
  purgeCalls,
  type ServerChanges,
  type ServerRow,
  savePolicy,
  updateServer,
} from './store.ts'

/** Registered servers per workspace at most: each may hold a connection open. */
const MAX_WORKSPACE_SERVERS = 50
/** Longest a listing of servers waits for one that is still being reached. */
const GLANCE_WAIT_MS = 1000
/** How long an instance trusts its copy of a workspace's allowlist without hearing of a change. */
const POLICY_CACHE_MS = 60_000
const POLICY_CACHE_SIZE = 10_000
/** Audit records written in one statement at most. */
const AUDIT_BATCH = 500
/** Headers the transport sets itself: a registered server's headers may not replace them. */
const TRANSPORT_HEADERS = new Set([
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
  'accept',
  'mcp-session-id',
  'mcp-protocol-version',
  'last-event-id',
])
/** MCP's "resource not found" error code (not in the SDK's enum). */
const RESOURCE_NOT_FOUND = -32002

type Resolved = {
  id: string
  name: string
  description: string
  source: 'config' | 'workspace'
  transport: 'stdio' | 'http'
  row: ServerRow | null
  connection: McpConnection
}

/** The seed's `parameters`: each property's type and description, and whether it is required. */
type Parameter = { type?: unknown; description?: string; required: boolean }

function parametersOf(schema: Tool['inputSchema']): Record<string, Parameter> {
  const required = new Set(Array.isArray(schema.required) ? schema.required : [])
  const out: Record<string, Parameter> = {}
  for (const [name, raw] of Object.entries(schema.properties ?? {})) {
    const property = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>
    out[name] = {
      ...(property.type !== undefined && { type: property.type }),
      ...(typeof property.description === 'string' && { description: property.description }),
      required: required.has(name),
    }
  }
  return out
}

function toolOut(tool: Tool) {
  return {
    name: tool.name,
    ...(tool.title !== undefined && { title: tool.title }),
    description: tool.description ?? '',
    parameters: parametersOf(tool.inputSchema),
    input_schema: tool.inputSchema as Record<string, unknown>,
    ...(tool.outputSchema !== undefined && { output_schema: tool.outputSchema as Record<string, unknown> }),
  }
}

/** A workspace's allowlist, or null when it restricts nothing. */
type Policy = { servers: Set<string>; tools: Set<string> } | null

function policyOf(allowed: string[] | null): Policy {
  if (allowed === null) return null
  const servers = new Set<string>()
  const tools = new Set<string>()
  for (const entry of allowed) (entry.includes('/') ? tools : servers).add(entry)
  return { servers, tools }
}

/** May the workspace's keys see this server at all (the whole of it, or some of its tools)? */
function serverVisible(policy: Policy, server: string): boolean {
  if (policy === null || policy.servers.has(server)) return true
  for (const entry of policy.tools) if (entry.startsWith(`${server}/`)) return true
  return false
}

function toolAllowed(policy: Policy, server: string, tool: string): boolean {
  return policy === null || policy.servers.has(server) || policy.tools.has(`${server}/${tool}`)
}

type Audited = {
  kind: 'tool' | 'resource'
  server: string
  target: string
  arguments: Record<string, unknown> | undefined
}

/** The audit's word for how a call ended. */
function outcomeOf(error: unknown): { outcome: string; status: number } {
  if (error instanceof ApiError)
    return {
      outcome:
        error.code === 'not_found'
          ? 'not_found'
          : error.code === 'validation_failed'
            ? 'invalid'
            : error.code,
      status: error.status,
    }
  return { outcome: 'server_error', status: 500 }
}

function callOut(row: CallRow) {
  return {
    id: row.id,
    kind: row.kind,
    server: row.server,
    tool: row.kind === 'tool' ? row.target : null,
    uri: row.kind === 'resource' ? row.target : null,
    arguments: row.arguments,
    outcome: row.outcome,
    status: row.status,
    duration_ms: row.durationMs,
    credential_type: row.credentialType,
    key_id: row.keyId,
    user_id: row.userId,
    created_at: isoSeconds(row.createdAt)!,
  }
}

export class McpService {
  private readonly deps: Deps
  private readonly box: SecretBox
  private readonly options: ConnectionOptions
  private readonly allowInsecure: boolean
  private readonly configured = new Map<string, { spec: ServerSpec; connection: McpConnection }>()
  /** Registered servers' connections by row id, with the row version they were opened for. */
  private readonly registered = new Map<number, { version: number; connection: McpConnection }>()
  /** The open connections to registered servers, capped by MCP_MAX_CONNECTIONS. */
  private readonly pool: ConnectionPool
  private readonly maxConnections: number
  /** Workspaces' allowlists (null: no allowlist), dropped on every instance when one changes. */
  private readonly policies: SharedCache<string[] | null>
  /** The audit, group-committed: a call is answered once its record is written. */
  private readonly audits: GroupCommit<NewCall>

  private readonly warn: (message: string, error: unknown) => void

  constructor(deps: Deps, box: SecretBox, warn: (message: string, error: unknown) => void) {
    this.deps = deps
    this.box = box
    this.warn = warn
    const settings = mcpSettings.from(deps.config)
    this.allowInsecure = deps.config.webhookAllowInsecureUrls
    this.options = {
      clock: deps.clock,
      timeoutMs: settings.callTimeoutMs,
      startTimeoutMs: settings.startTimeoutMs,
      maxConcurrent: settings.maxConcurrentCalls,
      toolsTtlMs: settings.toolsCacheSeconds * 1000,
    }
    this.maxConnections = settings.maxConnections
    this.pool = new ConnectionPool(settings.maxConnections)
    this.policies = new SharedCache(deps.pubsub, 'mcp-policies', deps.clock, {
      ttlMs: POLICY_CACHE_MS,
      maxEntries: POLICY_CACHE_SIZE,
    })
    this.audits = new GroupCommit((calls) => this.writeAudit(calls), {
      maxInFlight: 1,
      maxBatch: AUDIT_BATCH,
    })
    for (const spec of settings.servers) {
      const options = { ...this.options, timeoutMs: spec.timeoutMs ?? this.options.timeoutMs }
      const target =
        spec.transport === 'stdio'
          ? {
              transport: 'stdio' as const,
              command: spec.command,
              args: spec.args,
              env: spec.env,
              cwd: spec.cwd,
            }
          : { transport: 'http' as const, url: spec.url, headers: spec.headers }
      this.configured.set(spec.id, { spec, connection: new McpConnection(spec.id, target, options) })
    }
  }

  async list(workspace: PrincipalWorkspace, query: ListQuery, url: URL) {
    const policy = policyOf(await this.allowlist(workspace.id))
    const servers = (await this.all(workspace)).filter((s) => serverVisible(policy, s.id))
    const page = servers.slice(query.offset, query.offset + query.perPage)
    return toPage(await Promise.all(page.map((s) => this.present(s, policy))), servers.length, query, url)
  }

  async get(workspace: PrincipalWorkspace, id: string) {
    const policy = policyOf(await this.allowlist(workspace.id))
    return this.present(await this.resolve(workspace, id, policy), policy)
  }

  async tools(workspace: PrincipalWorkspace, id: string, query: ListQuery, url: URL) {
    const policy = policyOf(await this.allowlist(workspace.id))
    const server = await this.resolve(workspace, id, policy)
    const tools = (await server.connection.listTools()).filter((t) => toolAllowed(policy, server.id, t.name))
    return toPage(
      tools.slice(query.offset, query.offset + query.perPage).map(toolOut),
      tools.length,
      query,
      url,
    )
  }

  /** A tool call, recorded in the audit however it ends. */
  async call(principal: Principal, workspace: PrincipalWorkspace, body: Static<typeof ToolCall>) {
    const audited = {
      kind: 'tool' as const,
      server: body.server,
      target: body.tool,
      arguments: body.arguments,
    }
    return this.audit(principal, workspace, audited, async () => {
      const answer = await this.callTool(workspace, body)
      return { answer, outcome: answer.result.is_error ? 'tool_error' : 'ok' }
    })
  }

  /** A resource read, recorded in the audit however it ends. */
  async read(principal: Principal, workspace: PrincipalWorkspace, id: string, uri: string) {
    const audited = { kind: 'resource' as const, server: id, target: uri, arguments: undefined }
    return this.audit(principal, workspace, audited, async () => ({
      answer: await this.readResource(workspace, id, uri),
      outcome: 'ok',
    }))
  }

  async calls(workspace: PrincipalWorkspace, query: ListQuery, url: URL) {
    const { rows, total } = await listCalls(this.deps.db, workspace.id, query)
    return toPage(
      rows.map((row) => selectFields(callOut(row), query.fields)),
      total,
      query,
      url,
    )
  }

  private async audit<T>(
    principal: Principal,
    workspace: PrincipalWorkspace,
    audited: Audited,
    run: () => Promise<{ answer: T; outcome: string }>,
  ): Promise<T> {
    const started = performance.now()
    let ended: { outcome: string; status: number }
    try {
      const { answer, outcome } = await run()
      ended = { outcome, status: 200 }
      return answer
    } catch (error) {
      ended = outcomeOf(error)
      throw error
    } finally {
      await this.audits
        .add({
          workspaceId: workspace.id,
          kind: audited.kind,
          server: audited.server,
          target: audited.target,
          arguments: auditedArguments(audited.arguments),
          outcome: ended!.outcome,
          status: ended!.status,
          durationMs: Math.round(performance.now() - started),
          credentialType: principal.type,
          keyId: principal.key?.id ?? null,
          userId: principal.user?.id ?? null,
          createdAt: new Date(this.deps.clock.now()),
        })
        .catch((error) => this.warn('could not record an MCP call in the audit', error))
    }
  }

  /** A batch of audit records in one statement; if the database refuses it, each on its own. */
  private async writeAudit(calls: NewCall[]): Promise<unknown[] | undefined> {
    try {
      await insertCalls(this.deps.db, calls)
      return undefined
    } catch (error) {
      if (calls.length === 1 || isDatabaseUnavailable(error)) throw error
      return Promise.all(
        calls.map((call) =>
          insertCalls(this.deps.db, [call]).then(
            () => undefined,
            (failure: unknown) => failure ?? new Error('the audit record was not stored'),
          ),
        ),
      )
    }
  }

  private allowlist(workspaceId: number): Promise<string[] | null> {
    return this.policies.get(String(workspaceId), () => findPolicy(this.deps.db, workspaceId))
  }

  private async callTool(workspace: PrincipalWorkspace, body: Static<typeof ToolCall>) {
    const policy = policyOf(await this.allowlist(workspace.id))
    const server = await this.resolve(workspace, body.server, policy)
    if (!toolAllowed(policy, server.id, body.tool))
      throw new ApiError(
        'access_denied',
        `This workspace does not allow the tool ${body.tool} of MCP server ${server.id}.`,
      )
    const tools = await server.connection.listTools()
    if (!tools.some((t) => t.name === body.tool))
      throw ApiError.notFound(`Tool ${body.tool} on MCP server ${server.id}`)
    const result = (await server.connection
      .run(`tools/call ${body.tool}`, (client, options) =>
        client.callTool({ name: body.tool, arguments: body.arguments ?? {} }, undefined, options),
      )
      .catch((error) => {
        throw this.serverError(server.id, error, 'call')
      })) as CallToolResult
    return {
      result: {
        content: result.content as Array<Record<string, unknown>>,
        structured_content: (result.structuredContent as Record<string, unknown> | undefined) ?? null,
        is_error: result.isError === true,
      },
    }
  }

  private async readResource(workspace: PrincipalWorkspace, id: string, uri: string) {
    const policy = policyOf(await this.allowlist(workspace.id))
    const server = await this.resolve(workspace, id, policy)
    if (policy !== null && !policy.servers.has(server.id))
      throw new ApiError(
        'access_denied',
        `This workspace does not allow reading resources of MCP server ${server.id}.`,
      )
    const answer = await server.connection
      .run('resources/read', (client, options) => client.readResource({ uri }, options))
      .catch((error) => {
        throw this.serverError(server.id, error, 'resource', uri)
      })
    return {
      server: server.id,
      uri,
      contents: answer.contents.map((c) => ({
        uri: c.uri,
        mime_type: c.mimeType ?? null,
        ...('text' in c && typeof c.text === 'string' && { text: c.text }),
        ...('blob' in c && typeof c.blob === 'string' && { blob: c.blob }),
      })),
    }
  }

  async register(workspace: PrincipalWorkspace, body: Static<typeof ServerCreate>) {
    if (this.configured.has(body.id))
      throw new ApiError('conflict', 'An MCP server with this id is configured by the operator.', {
        errors: { id: ['is taken'] },
      })
    if ((await countServers(this.deps.db, workspace.id)) >= MAX_WORKSPACE_SERVERS)
      throw new ApiError('conflict', `A workspace registers at most ${MAX_WORKSPACE_SERVERS} MCP servers.`)
    const row = await insertServer(this.deps.db, {
      workspaceId: workspace.id,
      slug: body.id,
      name: body.name ?? body.id,
      description: body.description ?? '',
      url: this.checkedUrl(body.url),
      headers: this.sealHeaders(body.headers ?? {}),
    })
    if (!row)
      throw new ApiError('conflict', 'This workspace already has an MCP server with this id.', {
        errors: { id: ['is taken'] },
      })
    return this.present(this.fromRow(row))
  }

  async update(workspace: PrincipalWorkspace, id: string, body: Static<typeof ServerUpdate>) {
    this.refuseConfigured(id)
    const changes: ServerChanges = {}
    if (body.name !== undefined) changes.name = body.name
    if (body.description !== undefined) changes.description = body.description
    if (body.url !== undefined) changes.url = this.checkedUrl(body.url)
    if (body.headers !== undefined) changes.headers = this.sealHeaders(body.headers)
    const row = await updateServer(this.deps.db, workspace.id, id, changes, new Date(this.deps.clock.now()))
    if (!row) throw ApiError.notFound('MCP server')
    return this.present(this.fromRow(row))
  }

  async remove(workspace: PrincipalWorkspace, id: string): Promise<void> {
    this.refuseConfigured(id)
    const row = await deleteServer(this.deps.db, workspace.id, id)
    if (!row) throw ApiError.notFound('MCP server')
    const held = this.registered.get(row.id)
    this.registered.delete(row.id)
    await held?.connection.close()
  }

  async policy(workspace: PrincipalWorkspace) {
    return { allowed: await findPolicy(this.deps.db, workspace.id) }
  }

  /** Saves the allowlist; every instance drops its copy before the change is answered. */
  async setPolicy(workspace: PrincipalWorkspace, body: Static<typeof PolicyUpdate>) {
    if (body.allowed === null) await deletePolicy(this.deps.db, workspace.id)
    else await savePolicy(this.deps.db, workspace.id, body.allowed, new Date(this.deps.clock.now()))
    await this.policies.invalidate(String(workspace.id))
    return { allowed: body.allowed }
  }

  /** Listens for allowlist changes made on other instances (the app's onReady). */
  start(): Promise<void> {
    return this.policies.start()
  }

  /** Purges the audit past MCP_AUDIT_RETENTION_DAYS (none when it is 0); answers how many records went. */
  async purgeAudit(): Promise<number> {
    const days = mcpSettings.from(this.deps.config).auditRetentionDays
    if (days === 0) return 0
    return purgeCalls(this.deps.db, new Date(this.deps.clock.now() - days * 86_400_000))
  }

  /** Closes every connection, ending the stdio servers' processes (the app's onClose). */
  async close(): Promise<void> {
    const connections = [...this.configured.values(), ...this.registered.values()].map((c) => c.connection)
    this.registered.clear()
    await Promise.all([...connections.map((c) => c.close()), this.pool.close()])
    await this.audits.drain()
  }

  /** Connections open now to workspace-registered servers. */
  get openConnections(): number {
    return this.pool.size
  }

  private async all(workspace: PrincipalWorkspace): Promise<Resolved[]> {
    const own = await listServers(this.deps.db, workspace.id)
    return [
      ...[...this.configured.keys()].map((id) => this.fromConfig(id)!),
      ...own.filter((row) => !this.configured.has(row.slug)).map((row) => this.fromRow(row)),
    ]
  }

  /** The server by id, if the workspace has it and its policy lets its keys see it. */
  private async resolve(workspace: PrincipalWorkspace, id: string, policy: Policy = null): Promise<Resolved> {
    if (!serverVisible(policy, id)) throw ApiError.notFound('MCP server')
    const configured = this.fromConfig(id)
    if (configured) return configured
    const row = await findServer(this.deps.db, workspace.id, id)
    if (!row) throw ApiError.notFound('MCP server')
    return this.fromRow(row)
  }

  private fromConfig(id: string): Resolved | null {
    const held = this.configured.get(id)
    if (!held) return null
    const { spec, connection } = held
    const { name, description, transport } = spec
    return { id, name, description, source: 'config', transport, row: null, connection }
  }

  /** A registered server, with its connection: reopened when the row changed since it was opened. */
  private fromRow(row: ServerRow): Resolved {
    const version = row.updatedAt.getTime()
    let held = this.registered.get(row.id)
    if (!held || held.version !== version) {
      void held?.connection.close()
      const target = {
        transport: 'http' as const,
        url: row.url,
        headers: this.headersOf(row),
        fetch: guardedFetch(this.allowInsecure),
      }
      held = {
        version,
        connection: new McpConnection(row.slug, target, { ...this.options, pool: this.pool }),
      }
      this.forgetUnused()
    } else this.registered.delete(row.id) // re-inserted last: the map stays in order of use
    this.registered.set(row.id, held)
    const { slug, name, description } = row
    return {
      id: slug,
      name,
      description,
      source: 'workspace',
      transport: 'http',
      row,
      connection: held.connection,
    }
  }

  /** Past a few times the connection cap, the least recently used servers with nothing open are forgotten. */
  private forgetUnused(): void {
    if (this.registered.size < this.maxConnections * 4) return
    for (const [id, held] of this.registered) {
      if (this.registered.size < this.maxConnections * 2) return
      if (held.connection.idle && !this.pool.holds(held.connection)) this.registered.delete(id)
    }
  }

  /** A server as listed: answered from what is known, never held by a server that hangs. */
  private async present(server: Resolved, policy: Policy = null) {
    const glance = await server.connection.glance(GLANCE_WAIT_MS)
    const { status } = glance
    const tools = glance.tools.filter((t) => toolAllowed(policy, server.id, t.name)).map((t) => t.name)
    const { id, name, description, source, transport, row } = server
    return {
      id,
      name,
      description,
      source,
      transport,
      status,
      tools,
      ...(row && {
        url: row.url,
        headers: Object.keys(this.headersOf(row)),
        created_at: isoSeconds(row.createdAt)!,
        updated_at: isoSeconds(row.updatedAt)!,
      }),
    }
  }

  /** Header names are case-insensitive: stored lowercase, so a later PATCH replaces them all. */
  private sealHeaders(headers: Record<string, string>): string {
    for (const name of Object.keys(headers))
      if (TRANSPORT_HEADERS.has(name.toLowerCase()))
        throw ApiError.invalid('headers', `The ${name} header is set by the gateway and cannot be given.`)
    return this.box.seal(
      JSON.stringify(Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]))),
    )
  }

  private headersOf(row: ServerRow): Record<string, string> {
    return JSON.parse(this.box.open(row.headers)) as Record<string, string>
  }

  private checkedUrl(raw: string): string {
    try {
      return checkUrl(raw, this.allowInsecure).toString()
    } catch (error) {
      if (error instanceof UnsafeUrlError) throw ApiError.invalid('url', `The url ${error.message}.`)
      throw error
    }
  }

  private refuseConfigured(id: string): void {
    if (this.configured.has(id))
      throw new ApiError(
        'conflict',
        'This MCP server is configured by the operator and cannot be changed here.',
      )
  }

  /** An error the server answered: unknown resource is 404, bad arguments 422, the rest 502. */
  private serverError(server: string, error: unknown, during: 'call' | 'resource', uri?: string): unknown {
    if (!(error instanceof McpError)) return error
    if (
      during === 'resource' &&
      (error.code === RESOURCE_NOT_FOUND || error.code === ErrorCode.InvalidParams)
    )
      return ApiError.notFound(`Resource ${uri} on MCP server ${server}`)
    if (during === 'call' && error.code === ErrorCode.InvalidParams)
      return new ApiError('validation_failed', undefined, { errors: { arguments: [error.message] } })
    return new ApiError(
      'upstream_error',
      `MCP server ${server} answered an error: ${error.message.slice(0, 500)}`,
      { server },
    )
  }
}
