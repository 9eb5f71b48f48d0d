// Creating users: people who can sign in with an email and a password. The master key creates
// any user, and may make them a member of any workspace with any role; a workspace credential
// (a key with `users:write`, a member's session) creates users into its own workspace, as an
// admin or a member — an owner is made only by the master key, so no credential can make an
// owner above the people who own the workspace today.
import type { Static } from 'typebox'
import type { Principal, PrincipalWorkspace, Role } from '../../platform/auth/index.ts'
import type { Database, Executor } from '../../platform/db/index.ts'
import { ApiError } from '../../platform/http/errors.ts'
import { isoSeconds } from '../../platform/lib/clock.ts'
import { hashPassword } from './passwords.ts'
import type { UserCreate } from './schemas.ts'
import { insertUser } from './store.ts'

/** Adds a membership in the same transaction (the workspaces module owns memberships). */
export type AddMember = (tx: Executor, workspaceId: number, userId: number, role: Role) => Promise<void>

export type UserOut = {
  id: number
  email: string
  name: string | null
  created_at: string
  membership: { workspace_id: number; role: Role } | null
}

export class UserService {
  private readonly db: Database
  private readonly addMember: AddMember

  constructor(db: Database, addMember: AddMember) {
    this.db = db
    this.addMember = addMember
  }

  async create(
    principal: Principal,
    workspace: PrincipalWorkspace | null,
    body: Static<typeof UserCreate>,
  ): Promise<UserOut> {
    const master = principal.type === 'master_key'
    if (!master && !workspace) throw new ApiError('workspace_required')
    if (body.role !== undefined && !workspace)
      throw ApiError.invalid('role', 'A role needs a workspace: name one with X-Workspace-ID.')
    const role: Role = body.role ?? 'member'
    if (role === 'owner' && !master) throw ApiError.invalid('role', 'Only the master key may make an owner.')
    // Hashed before the transaction: argon2 takes tens of milliseconds, no row is held meanwhile.
    const passwordHash = await hashPassword(body.password)
    return this.db.transaction(async (tx) => {
      const user = await insertUser(tx, { email: body.email, name: body.name?.trim() ?? null, passwordHash })
      if (!user) throw new ApiError('conflict', 'A user with this email already exists.')
      if (workspace) await this.addMember(tx, workspace.id, user.id, role)
      return {
        id: user.id,
        email: user.email,
        name: user.name,
        created_at: isoSeconds(user.createdAt) as string,
        membership: workspace ? { workspace_id: workspace.id, role } : null,
      }
    })
  }
}
