// MCP gateway module: the servers of MCP_CONFIG and those a workspace registers, their tools,
// tool calls and resource reads, through the official MCP SDK client (scopes `mcp:*`). See
// docs/mcp.md.
import type { FastifyInstance } from 'fastify'
import { registerScopeResources } from '../../platform/auth/index.ts'
import type { Deps } from '../../platform/deps.ts'
import type { SecretBox } from '../../platform/lib/secret-box.ts'
import { agentRoutes } from './agent.ts'
import { mcpRoutes } from './routes.ts'
import { McpService } from './service.ts'

const AUDIT_PURGE_EVERY_MS = 3_600_000

/** Builds the gateway (no server is contacted yet) and registers the `mcp` scope resource. */
export function createMcp(
  deps: Deps,
  box: SecretBox,
  warn: (message: string, error: unknown) => void,
): McpService {
  registerScopeResources('mcp')
  return new McpService(deps, box, warn)
}

/** The gateway's routes, core-api's own MCP server (POST /mcp) and the hourly audit purge; the app's shutdown closes every MCP connection (and stdio server process) and writes the audit records still queued. */
export async function mcpModule(app: FastifyInstance, service: McpService, publicUrl: string) {
  mcpRoutes(app, service, publicUrl)
  agentRoutes(app)
  let purging: NodeJS.Timeout | null = null
  app.addHook('onReady', async function purgeMcpAudit() {
    await service.start()
    const purge = () =>
      service.purgeAudit().catch((error) => app.log.warn({ err: error }, 'MCP audit purge failed'))
    await purge()
    purging = setInterval(purge, AUDIT_PURGE_EVERY_MS)
    purging.unref()
  })
  app.addHook('onClose', async function closeMcpConnections() {
    if (purging) clearInterval(purging)
    await service.close()
  })
}

export type { McpService }
