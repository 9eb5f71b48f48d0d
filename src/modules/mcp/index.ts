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

/** Builds the gateway (no server is contacted yet) and registers the `mcp` scope resource. */
export function createMcp(
  deps: Deps,
  box: SecretBox,
  warn: (message: string, error: unknown) => void,
): McpService {
  registerScopeResources('mcp')
  return new McpService(deps, box, warn)
}

/** The gateway's routes and core-api's own MCP server (POST /mcp); the app's shutdown closes every MCP connection (and stdio server process). */
export async function mcpModule(app: FastifyInstance, service: McpService, publicUrl: string) {
  mcpRoutes(app, service, publicUrl)
  agentRoutes(app)
  app.addHook('onClose', async function closeMcpConnections() {
    await service.close()
  })
}

export type { McpService }
