// Workspaces module: the tenants and their memberships (seed 004 "Workspaces"), and the one
// rule of which workspaces a credential may act in.
import type { FastifyInstance } from 'fastify'
import { registerScopeResources, type WorkspaceResolver } from '../../platform/auth/index.ts'
import type { Deps } from '../../platform/deps.ts'
import { registerEventTypes } from '../../platform/events.ts'
import { invitationMailer } from './mail.ts'
import { memberRoutes } from './member-routes.ts'
import { MemberService } from './members.ts'
import { roleRule } from './roles.ts'
import { workspaceRoutes } from './routes.ts'
import { WORKSPACE_EXAMPLE } from './schemas.ts'
import { WorkspaceService } from './service.ts'
import { findMemberWorkspace, findWorkspaceForAuth } from './store.ts'

/** Builds the module's service and registers its scopes and events. */
export function createWorkspaces(deps: Deps): WorkspaceService {
  registerScopeResources('workspaces')
  registerEventTypes({
    type: 'workspace.updated',
    readScope: 'workspaces:read',
    description: "A workspace's name, tier or settings changed",
    example: WORKSPACE_EXAMPLE,
  })
  return new WorkspaceService(deps)
}

/**
 * Which workspaces a credential may act in: the master key in every one, a user-level
 * credential (session, OAuth token) in those its user is a member of — by default the one it
 * joined first. A key never asks: it acts in its own.
 */
export function workspaceResolver(deps: Deps): WorkspaceResolver {
  return (principal, id) => {
    if (principal.type === 'master_key')
      return id === null ? Promise.resolve(null) : findWorkspaceForAuth(deps.db, id)
    if (principal.user && !principal.workspace)
      return findMemberWorkspace(deps.db, principal.user.id, id).then(
        (found) => found && { ...found, ...roleRule(found.role) },
      )
    return Promise.resolve(null)
  }
}

/**
 * Members of workspaces and their roles; invitations are emailed when SMTP_URL is set (a mail
 * that cannot be sent goes to `warn`).
 */
export function createMembers(deps: Deps, warn: (message: string, error: unknown) => void): MemberService {
  return new MemberService(deps, invitationMailer(deps.config, warn))
}

export async function workspacesModule(
  app: FastifyInstance,
  services: { workspaces: WorkspaceService; members: MemberService },
  publicUrl: string,
): Promise<void> {
  workspaceRoutes(app, services.workspaces, publicUrl)
  memberRoutes(app, services.members, publicUrl)
}

export { WorkspaceCreate } from './schemas.ts'
export {
  claimInvitation,
  findPendingInvitation,
  findWorkspaceForAuth,
  insertMembership as addMember,
  joinWorkspace,
} from './store.ts'
export { memberships, workspaces } from './tables.ts'
export type { MemberService, WorkspaceService }
