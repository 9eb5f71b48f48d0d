// The MCP gateway's settings. MCP_CONFIG names a file in the `mcpServers` format MCP clients
// use (Claude Desktop, Cursor, VS Code): it is read and checked once, at start, so a bad file
// stops the start with a message naming the server and the field, never a failing call later.
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { ConfigError, defineSettings, integer } from '../../platform/config/index.ts'
import type { Parse } from '../../platform/config/settings.ts'

/** A server the operator configured: a command run over stdio, or a Streamable HTTP URL. */
export type ServerSpec = {
  id: string
  name: string
  description: string
  /** Milliseconds one call may take; the gateway's default when the file does not say. */
  timeoutMs: number | null
} & (
  | { transport: 'stdio'; command: string; args: string[]; env: Record<string, string>; cwd: string | null }
  | { transport: 'http'; url: string; headers: Record<string, string> }
)

/** Server ids are path segments and tool-call names: short, lowercase, no spaces. */
const SERVER_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/

const KNOWN_FIELDS = new Set([
  'type',
  'command',
  'args',
  'env',
  'cwd',
  'url',
  'headers',
  'name',
  'description',
  'timeout',
  'disabled',
])

function stringRecord(value: unknown, where: string): Record<string, string> {
  if (value === undefined) return {}
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ConfigError(`${where} must be an object of strings`)
  for (const [key, item] of Object.entries(value))
    if (typeof item !== 'string') throw new ConfigError(`${where}.${key} must be a string`)
  return { ...(value as Record<string, string>) }
}

function optionalText(value: unknown, where: string): string | null {
  if (value === undefined) return null
  if (typeof value !== 'string') throw new ConfigError(`${where} must be a string`)
  return value
}

/** One entry of `mcpServers`, checked; relative `cwd` is taken from the file's folder. */
function serverSpec(id: string, raw: unknown, folder: string, env: string): ServerSpec | null {
  const where = `${env}: mcpServers.${id}`
  if (!SERVER_ID.test(id))
    throw new ConfigError(`${where}: a server id is 1-63 lowercase letters, digits, - or _`)
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ConfigError(`${where} must be an object`)
  const entry = raw as Record<string, unknown>
  for (const key of Object.keys(entry))
    if (!KNOWN_FIELDS.has(key)) throw new ConfigError(`${where}: unknown field "${key}"`)
  if (entry.disabled === true) return null
  const timeout = entry.timeout
  if (
    timeout !== undefined &&
    (!Number.isInteger(timeout) || (timeout as number) < 1 || (timeout as number) > 3_600_000)
  )
    throw new ConfigError(`${where}.timeout must be milliseconds from 1 to 3600000`)
  const common = {
    id,
    name: optionalText(entry.name, `${where}.name`) ?? id,
    description: optionalText(entry.description, `${where}.description`) ?? '',
    timeoutMs: (timeout as number | undefined) ?? null,
  }
  const type = entry.type
  if (typeof entry.command === 'string' && (type === undefined || type === 'stdio')) {
    if (entry.url !== undefined) throw new ConfigError(`${where}: give either command or url, not both`)
    const args = entry.args ?? []
    if (!Array.isArray(args) || args.some((a) => typeof a !== 'string'))
      throw new ConfigError(`${where}.args must be an array of strings`)
    const cwd = optionalText(entry.cwd, `${where}.cwd`)
    return {
      ...common,
      transport: 'stdio',
      command: entry.command,
      args: [...(args as string[])],
      env: stringRecord(entry.env, `${where}.env`),
      cwd: cwd === null ? null : resolve(folder, cwd),
    }
  }
  if (
    typeof entry.url === 'string' &&
    (type === undefined || type === 'http' || type === 'streamable-http')
  ) {
    if (entry.command !== undefined) throw new ConfigError(`${where}: give either command or url, not both`)
    let url: URL
    try {
      url = new URL(entry.url)
    } catch {
      throw new ConfigError(`${where}.url must be an absolute URL`)
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new ConfigError(`${where}.url must be http or https`)
    return {
      ...common,
      transport: 'http',
      url: url.toString(),
      headers: stringRecord(entry.headers, `${where}.headers`),
    }
  }
  throw new ConfigError(`${where} needs a "command" (stdio) or a "url" (Streamable HTTP)`)
}

/** Reads and checks an `mcpServers` file; the servers in the file's order, disabled ones left out. */
const serversFile: Parse<readonly ServerSpec[]> = (path, env) => {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new ConfigError(`${env}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  let document: unknown
  try {
    document = JSON.parse(text)
  } catch {
    throw new ConfigError(`${env}: ${path} is not valid JSON`)
  }
  const servers = (document as { mcpServers?: unknown } | null)?.mcpServers
  if (typeof servers !== 'object' || servers === null || Array.isArray(servers))
    throw new ConfigError(`${env}: ${path} must hold an object "mcpServers"`)
  const folder = dirname(resolve(path))
  const specs: ServerSpec[] = []
  for (const [id, raw] of Object.entries(servers)) {
    const spec = serverSpec(id, raw, folder, env)
    if (spec) specs.push(Object.freeze(spec))
  }
  return Object.freeze(specs)
}

export const mcpSettings = defineSettings('mcp', {
  servers: {
    env: 'MCP_CONFIG',
    default: Object.freeze([]) as readonly ServerSpec[],
    parse: serversFile,
    doc: 'path of an `mcpServers` JSON file: the MCP servers every workspace may use, over stdio or Streamable HTTP (docs/mcp.md)',
    shown: 'none',
  },
  callTimeoutMs: {
    env: 'MCP_CALL_TIMEOUT_MS',
    default: 30_000,
    parse: integer(100, 3_600_000),
    doc: 'milliseconds an MCP request may take before it is answered 502 `upstream_error`; a server entry may set its own `timeout`',
  },
  startTimeoutMs: {
    env: 'MCP_START_TIMEOUT_MS',
    default: 30_000,
    parse: integer(100, 3_600_000),
    doc: 'milliseconds an MCP server may take to start and answer `initialize` (a stdio command may first have to be fetched); the request that opened it still answers within its own timeout, and the start goes on in the background',
  },
  maxConcurrentCalls: {
    env: 'MCP_MAX_CONCURRENT_CALLS',
    default: 8,
    parse: integer(1, 1000),
    doc: 'requests in flight to one MCP server at once; more wait for a free slot within their timeout',
  },
  maxConnections: {
    env: 'MCP_MAX_CONNECTIONS',
    default: 200,
    parse: integer(1, 100_000),
    doc: 'connections held open at once to workspace-registered MCP servers; past it, the least recently used idle one is closed (and reopened when next used)',
  },
  auditRetentionDays: {
    env: 'MCP_AUDIT_RETENTION_DAYS',
    default: 90,
    parse: integer(0, 36_500),
    doc: 'days the audit of MCP calls is kept, then purged (`0` keeps it forever)',
  },
  toolsCacheSeconds: {
    env: 'MCP_TOOLS_CACHE_SECONDS',
    default: 60,
    parse: integer(0, 86_400),
    doc: "seconds a server's tool list is cached (a `tools/list_changed` notification drops it at once)",
  },
})
