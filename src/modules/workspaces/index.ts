// Workspaces module: the tenants and their memberships (seed 004 "Workspaces").
import type { FastifyInstance } from 'fastify'
import type { Deps } from '../../platform/deps.ts'
import { workspaceRoutes } from './routes.ts'
import { WorkspaceService } from './service.ts'

export async function workspacesModule(app: FastifyInstance, deps: Deps): Promise<void> {
  workspaceRoutes(app, new WorkspaceService(deps), deps.config.publicUrl)
}

export { findWorkspaceForAuth } from './store.ts'
export { memberships, workspaces } from './tables.ts'
