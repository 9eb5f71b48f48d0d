// Queries on workspaces and memberships. Every read takes the caller's visibility condition,
// so no query can reach a workspace the caller may not see.
import { and, eq, gt, ilike, inArray, isNull, or, type SQL, sql } from 'drizzle-orm'
import type { Principal, PrincipalWorkspace, Role, Tier } from '../../platform/auth/index.ts'
import type { Database, Executor } from '../../platform/db/index.ts'
import { containsPattern, dateFilters, paginate } from '../../platform/db/list.ts'
import type { ListQuery } from '../../platform/http/list.ts'
import { users } from '../users/tables.ts'
import { invitations, memberships, workspaces } from './tables.ts'

export type WorkspaceRow = typeof workspaces.$inferSelect
/** What a create or an update may set. */
export type WorkspaceFields = Pick<typeof workspaces.$inferInsert, 'name' | 'slug' | 'tier' | 'settings'>
export type Owner = { id: number; email: string; name: string | null }

const sortColumns = {
  id: workspaces.id,
  name: workspaces.name,
  slug: workspaces.slug,
  tier: workspaces.tier,
  created_at: workspaces.createdAt,
  updated_at: workspaces.updatedAt,
}

/** The workspaces `principal` can see: all for the master key, its own for a key, memberships for users. */
function visibleTo(principal: Principal): SQL | undefined {
  if (principal.type === 'master_key') return undefined
  if (principal.workspace) return eq(workspaces.id, principal.workspace.id)
  if (principal.user) {
    return sql`${workspaces.id} in (select ${memberships.workspaceId} from ${memberships} where ${memberships.userId} = ${principal.user.id})`
  }
  return sql`false`
}

export async function listWorkspaces(db: Database, principal: Principal, query: ListQuery) {
  const conditions = [visibleTo(principal), ...dateFilters(query, workspaces)]
  if (query.search) {
    const pattern = containsPattern(query.search)
    conditions.push(or(ilike(workspaces.name, pattern), ilike(workspaces.slug, pattern)))
  }
  if (typeof query.filters.tier === 'string') conditions.push(eq(workspaces.tier, query.filters.tier))
  const where = and(...conditions)
  const select = db.select().from(workspaces).$dynamic()
  return paginate(db, select, { from: workspaces, where, query, sort: sortColumns })
}

// The by-id read is on the hot path: a prepared statement per database skips building the
// query in JavaScript and planning it in PostgreSQL on every request.
const byIdStatements = new WeakMap<Database, ReturnType<typeof prepareById>>()
function prepareById(db: Database) {
  return db
    .select()
    .from(workspaces)
    .where(eq(workspaces.id, sql.placeholder('id')))
    .prepare('workspace_by_id')
}

export async function findVisibleWorkspace(db: Database, principal: Principal, id: number) {
  if (principal.type === 'master_key' || principal.workspace) {
    // A key sees only its own workspace: any other id is not found without asking the database.
    if (principal.workspace && principal.workspace.id !== id) return null
    let statement = byIdStatements.get(db)
    if (!statement) {
      statement = prepareById(db)
      byIdStatements.set(db, statement)
    }
    const [row] = await statement.execute({ id })
    return row ?? null
  }
  const [row] = await db
    .select()
    .from(workspaces)
    .where(and(eq(workspaces.id, id), visibleTo(principal)))
  return row ?? null
}

/** A workspace's row, locked until the transaction ends: read-modify-write updates take turns. */
export async function lockWorkspace(tx: Executor, id: number): Promise<WorkspaceRow | null> {
  const [row] = await tx.select().from(workspaces).where(eq(workspaces.id, id)).for('update')
  return row ?? null
}

/** Creates a workspace and, when there is an owner, the owner's membership. */
export async function insertWorkspace(
  tx: Executor,
  fields: Required<WorkspaceFields>,
  ownerId: number | null,
): Promise<WorkspaceRow> {
  const [created] = await tx.insert(workspaces).values(fields).returning()
  if (ownerId !== null)
    await tx.insert(memberships).values({ workspaceId: created!.id, userId: ownerId, role: 'owner' })
  return created!
}

export async function updateWorkspace(
  tx: Executor,
  id: number,
  changes: Partial<WorkspaceFields>,
  now: Date,
): Promise<WorkspaceRow | null> {
  const [row] = await tx
    .update(workspaces)
    .set({ ...changes, updatedAt: now })
    .where(eq(workspaces.id, id))
    .returning()
  return row ?? null
}

/** Deletes a workspace; its keys, memberships and resources go with it (ON DELETE CASCADE). */
export async function deleteWorkspace(db: Executor, id: number): Promise<void> {
  await db.delete(workspaces).where(eq(workspaces.id, id))
}

/** The owners of the given workspaces (the earliest owner when there are several). */
export async function ownersOf(db: Database, ids: number[]): Promise<Map<number, Owner>> {
  if (ids.length === 0) return new Map()
  const rows = await db
    .select({ workspaceId: memberships.workspaceId, id: users.id, email: users.email, name: users.name })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(inArray(memberships.workspaceId, ids), eq(memberships.role, 'owner')))
    .orderBy(memberships.createdAt)
  const out = new Map<number, Owner>()
  for (const { workspaceId, ...owner } of rows) if (!out.has(workspaceId)) out.set(workspaceId, owner)
  return out
}

export async function findWorkspaceForAuth(db: Database, id: number): Promise<PrincipalWorkspace | null> {
  const [row] = await db
    .select({ id: workspaces.id, name: workspaces.name, slug: workspaces.slug, tier: workspaces.tier })
    .from(workspaces)
    .where(eq(workspaces.id, id))
  return row ? { ...row, tier: row.tier as Tier } : null
}

/**
 * The workspace `id` if user `userId` is a member of it; with `id` null, the user's default
 * workspace (the one they joined first). Null when they are not a member.
 */
export async function findMemberWorkspace(
  db: Database,
  userId: number,
  id: number | null,
): Promise<(PrincipalWorkspace & { role: Role }) | null> {
  const [row] = await db
    .select({
      id: workspaces.id,
      name: workspaces.name,
      slug: workspaces.slug,
      tier: workspaces.tier,
      role: memberships.role,
    })
    .from(memberships)
    .innerJoin(workspaces, eq(workspaces.id, memberships.workspaceId))
    .where(and(eq(memberships.userId, userId), id === null ? undefined : eq(memberships.workspaceId, id)))
    .orderBy(memberships.createdAt, memberships.workspaceId)
    .limit(1)
  return row ? { ...row, tier: row.tier as Tier } : null
}

/** Makes user `userId` a member of workspace `workspaceId` with `role`. */
export async function insertMembership(
  tx: Executor,
  workspaceId: number,
  userId: number,
  role: 'owner' | 'admin' | 'member',
): Promise<void> {
  await tx.insert(memberships).values({ workspaceId, userId, role })
}

/** The role of user `userId` in workspace `workspaceId`, or null when not a member. */
export async function roleOf(db: Database, userId: number, workspaceId: number): Promise<string | null> {
  const [row] = await db
    .select({ role: memberships.role })
    .from(memberships)
    .where(and(eq(memberships.userId, userId), eq(memberships.workspaceId, workspaceId)))
  return row?.role ?? null
}

const memberColumns = {
  id: users.id,
  email: users.email,
  name: users.name,
  role: memberships.role,
  createdAt: memberships.createdAt,
}

/** A page of a workspace's members; search matches the email, `role` filters. */
export async function listMembers(db: Database, workspaceId: number, query: ListQuery) {
  const conditions = [eq(memberships.workspaceId, workspaceId), ...dateFilters(query, memberships)]
  if (typeof query.filters.role === 'string')
    conditions.push(eq(memberships.role, query.filters.role as Role))
  if (query.search)
    conditions.push(
      sql`${memberships.userId} in (select ${users.id} from ${users} where ${ilike(users.email, containsPattern(query.search))})`,
    )
  return paginate(
    db,
    db.select(memberColumns).from(memberships).innerJoin(users, eq(users.id, memberships.userId)).$dynamic(),
    {
      from: memberships,
      where: and(...conditions),
      query,
      sort: {
        id: memberships.userId,
        created_at: memberships.createdAt,
        email: users.email,
        role: memberships.role,
      },
    },
  )
}

export async function findMember(db: Executor, workspaceId: number, userId: number) {
  const [row] = await db
    .select(memberColumns)
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, userId)))
  return row ?? null
}

/** The workspace's owners, locked until the transaction ends (role changes take turns). */
export async function lockOwners(tx: Executor, workspaceId: number): Promise<number[]> {
  const rows = await tx
    .select({ userId: memberships.userId })
    .from(memberships)
    .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.role, 'owner')))
    .for('update')
  return rows.map((r) => r.userId)
}

export async function updateMemberRole(tx: Executor, workspaceId: number, userId: number, role: Role) {
  await tx
    .update(memberships)
    .set({ role })
    .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, userId)))
}

export async function deleteMember(tx: Executor, workspaceId: number, userId: number): Promise<void> {
  await tx
    .delete(memberships)
    .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, userId)))
}

export type InvitationRow = typeof invitations.$inferSelect

export async function insertInvitation(
  db: Database,
  invitation: {
    workspaceId: number
    email: string
    role: Role
    tokenHash: string
    invitedBy: number | null
    expiresAt: Date
    now: Date
  },
): Promise<InvitationRow> {
  const { now, ...values } = invitation
  const [row] = await db
    .insert(invitations)
    .values({ ...values, createdAt: now })
    .returning()
  return row!
}

/** The workspace's invitations not yet accepted nor expired, newest first. */
/** A page of the workspace's pending invitations (neither accepted nor expired). */
export async function pendingInvitations(db: Database, workspaceId: number, query: ListQuery, now: Date) {
  const conditions = [
    eq(invitations.workspaceId, workspaceId),
    isNull(invitations.acceptedAt),
    gt(invitations.expiresAt, now),
    ...dateFilters(query, invitations),
  ]
  if (typeof query.filters.role === 'string')
    conditions.push(eq(invitations.role, query.filters.role as Role))
  if (query.search) conditions.push(ilike(invitations.email, containsPattern(query.search)))
  return paginate(db, db.select().from(invitations).$dynamic(), {
    from: invitations,
    where: and(...conditions),
    query,
    sort: {
      id: invitations.id,
      created_at: invitations.createdAt,
      expires_at: invitations.expiresAt,
      email: invitations.email,
      role: invitations.role,
    },
  })
}

/** Deletes a pending invitation of the workspace; false when there is none. */
export async function deleteInvitation(db: Database, workspaceId: number, id: number): Promise<boolean> {
  const deleted = await db
    .delete(invitations)
    .where(
      and(eq(invitations.workspaceId, workspaceId), eq(invitations.id, id), isNull(invitations.acceptedAt)),
    )
    .returning({ id: invitations.id })
  return deleted.length > 0
}

/** The pending invitation with this token hash, or null (unknown, used or expired). */
export async function findPendingInvitation(
  db: Database,
  tokenHash: string,
  now: Date,
): Promise<InvitationRow | null> {
  const [row] = await db
    .select()
    .from(invitations)
    .where(
      and(
        eq(invitations.tokenHash, tokenHash),
        isNull(invitations.acceptedAt),
        gt(invitations.expiresAt, now),
      ),
    )
  return row ?? null
}

/**
 * Marks the invitation with this token hash accepted, if it is still pending: one statement, so
 * of two concurrent acceptances only one wins. Null when it is unknown, used or expired.
 */
export async function claimInvitation(
  tx: Executor,
  tokenHash: string,
  now: Date,
): Promise<InvitationRow | null> {
  const [row] = await tx
    .update(invitations)
    .set({ acceptedAt: now })
    .where(
      and(
        eq(invitations.tokenHash, tokenHash),
        isNull(invitations.acceptedAt),
        gt(invitations.expiresAt, now),
      ),
    )
    .returning()
  return row ?? null
}

/** Makes the user a member with `role`, unless they already are one (their role is kept). */
export async function joinWorkspace(
  tx: Executor,
  workspaceId: number,
  userId: number,
  role: Role,
): Promise<void> {
  await tx.insert(memberships).values({ workspaceId, userId, role }).onConflictDoNothing()
}
