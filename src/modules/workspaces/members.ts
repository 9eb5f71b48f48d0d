// The members of a workspace: who they are, their roles, and who may change them. The master
// key may do anything; a user may change roles only as an owner, and remove members as an
// owner or an admin (an admin not an owner), or remove themselves (leaving); a key acts for no
// person, so it may list and remove members (not owners) of its own workspace, never change a
// role. A
// workspace always keeps an owner: demoting or removing the last one is 409. Changes take
// effect at the next request on every instance (membership is read on each request of a
// user-level credential).
import type { Principal, Role } from '../../platform/auth/index.ts'
import type { Deps } from '../../platform/deps.ts'
import { ApiError } from '../../platform/http/errors.ts'
import { type ListQuery, type Page, selectFields, toPage } from '../../platform/http/list.ts'
import { isoSeconds } from '../../platform/lib/clock.ts'
import { sha256Hex } from '../../platform/lib/hash.ts'
import { randomBase62 } from '../../platform/lib/random.ts'
import type { InvitationMailer } from './mail.ts'
import { workspaceSettings } from './settings.ts'
import {
  deleteInvitation,
  deleteMember,
  findMember,
  findVisibleWorkspace,
  type InvitationRow,
  insertInvitation,
  listMembers,
  lockOwners,
  pendingInvitations,
  roleOf,
  updateMemberRole,
} from './store.ts'

export type MemberOut = { id: number; email: string; name: string | null; role: Role; created_at: string }

type MemberRow = NonNullable<Awaited<ReturnType<typeof findMember>>>

export type InvitationOut = {
  id: number
  workspace_id: number
  email: string
  role: Role
  created_at: string
  expires_at: string
  /** Shown once, when the invitation is created. */
  token?: string
}

function invitationOut(row: InvitationRow, token?: string): InvitationOut {
  return {
    id: row.id,
    workspace_id: row.workspaceId,
    email: row.email,
    role: row.role,
    created_at: isoSeconds(row.createdAt) as string,
    expires_at: isoSeconds(row.expiresAt) as string,
    ...(token !== undefined && { token }),
  }
}

function toOut(row: MemberRow): MemberOut {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    created_at: isoSeconds(row.createdAt) as string,
  }
}

export class MemberService {
  private readonly deps: Deps
  private readonly mailer: InvitationMailer | null

  constructor(deps: Deps, mailer: InvitationMailer | null) {
    this.deps = deps
    this.mailer = mailer
  }

  async list(
    principal: Principal,
    workspaceId: number,
    query: ListQuery,
    url: URL,
  ): Promise<Page<Partial<MemberOut>>> {
    await this.visible(principal, workspaceId)
    const { rows, total } = await listMembers(this.deps.db, workspaceId, query)
    return toPage(
      rows.map((row) => selectFields(toOut(row), query.fields)),
      total,
      query,
      url,
    )
  }

  async updateRole(
    principal: Principal,
    workspaceId: number,
    userId: number,
    role: Role,
  ): Promise<MemberOut> {
    await this.visible(principal, workspaceId)
    if (principal.type !== 'master_key') {
      const mine = await this.callerRole(principal, workspaceId)
      if (mine !== 'owner')
        throw new ApiError('access_denied', 'Only an owner or the master key changes roles.')
    }
    const updated = await this.deps.db.transaction(async (tx) => {
      const owners = await lockOwners(tx, workspaceId)
      const member = await findMember(tx, workspaceId, userId)
      if (!member) throw ApiError.notFound('Member')
      if (member.role === 'owner' && role !== 'owner' && owners.length <= 1)
        throw new ApiError(
          'conflict',
          'A workspace keeps at least one owner: make another member owner first.',
        )
      await updateMemberRole(tx, workspaceId, userId, role)
      return { ...member, role }
    })
    await this.deps.credentials.invalidateUser(userId)
    return toOut(updated)
  }

  async remove(principal: Principal, workspaceId: number, userId: number): Promise<void> {
    await this.visible(principal, workspaceId)
    const self = principal.user?.id === userId && !principal.key
    const mine =
      principal.type === 'master_key' || self ? null : await this.callerRole(principal, workspaceId)
    await this.deps.db.transaction(async (tx) => {
      const owners = await lockOwners(tx, workspaceId)
      const member = await findMember(tx, workspaceId, userId)
      if (!member) throw ApiError.notFound('Member')
      if (mine === 'member') throw new ApiError('access_denied', 'Only an owner or an admin removes members.')
      if ((mine === 'admin' || mine === 'key') && member.role === 'owner')
        throw new ApiError('access_denied', 'Only an owner removes an owner.')
      if (member.role === 'owner' && owners.length <= 1)
        throw new ApiError(
          'conflict',
          'A workspace keeps at least one owner: make another member owner first.',
        )
      await deleteMember(tx, workspaceId, userId)
    })
    await this.deps.credentials.invalidateUser(userId)
  }

  /**
   * Invites an email to the workspace with a role: a single-use token, shown once, valid for
   * INVITATION_EXPIRY_HOURS. Owners (and the master key) invite with any role; admins and keys
   * invite admins and members.
   */
  async invite(
    principal: Principal,
    workspaceId: number,
    body: { email: string; role?: Role },
  ): Promise<InvitationOut> {
    const workspace = await this.visible(principal, workspaceId)
    const role = body.role ?? 'member'
    const mine = principal.type === 'master_key' ? 'owner' : await this.callerRole(principal, workspaceId)
    if (mine === 'member') throw new ApiError('access_denied', 'Only an owner or an admin invites.')
    if (role === 'owner' && mine !== 'owner')
      throw ApiError.invalid('role', 'Only an owner invites an owner.')
    const now = this.deps.clock.now()
    const token = `inv_${randomBase62(43)}`
    const row = await insertInvitation(this.deps.db, {
      workspaceId,
      email: body.email.trim().toLowerCase(),
      role,
      tokenHash: sha256Hex(token),
      invitedBy: principal.user?.id ?? null,
      expiresAt: new Date(now + workspaceSettings.from(this.deps.config).invitationHours * 3_600_000),
      now: new Date(now),
    })
    const out = invitationOut(row, token)
    // Emailed when SMTP_URL is set, off the request path (the mailer logs a failure).
    void this.mailer?.send({
      to: out.email,
      workspace: workspace.name,
      role: out.role,
      token,
      expiresAt: out.expires_at,
      inviter: principal.key ? null : (principal.user?.name ?? principal.user?.email ?? null),
    })
    return out
  }

  /** The workspace's pending invitations (never their tokens). */
  async invitations(
    principal: Principal,
    workspaceId: number,
    query: ListQuery,
    url: URL,
  ): Promise<Page<Partial<InvitationOut>>> {
    await this.visible(principal, workspaceId)
    const now = new Date(this.deps.clock.now())
    const { rows, total } = await pendingInvitations(this.deps.db, workspaceId, query, now)
    return toPage(
      rows.map((row) => selectFields(invitationOut(row), query.fields)),
      total,
      query,
      url,
    )
  }

  async revokeInvitation(principal: Principal, workspaceId: number, id: number): Promise<void> {
    await this.visible(principal, workspaceId)
    if (principal.type !== 'master_key' && (await this.callerRole(principal, workspaceId)) === 'member')
      throw new ApiError('access_denied', 'Only an owner or an admin revokes invitations.')
    if (!(await deleteInvitation(this.deps.db, workspaceId, id))) throw ApiError.notFound('Invitation')
  }

  /** The workspace; 404 unless the caller can see it (as for `GET /workspaces/{id}`). */
  private async visible(principal: Principal, workspaceId: number) {
    const workspace = await findVisibleWorkspace(this.deps.db, principal, workspaceId)
    if (!workspace) throw ApiError.notFound('Workspace')
    return workspace
  }

  /** The caller's role: a user's membership; a key of the workspace counts as an admin. */
  private async callerRole(principal: Principal, workspaceId: number): Promise<Role | 'key'> {
    if (principal.workspace) return 'key'
    const role = principal.user ? await roleOf(this.deps.db, principal.user.id, workspaceId) : null
    if (!role) throw ApiError.notFound('Workspace')
    return role as Role
  }
}
