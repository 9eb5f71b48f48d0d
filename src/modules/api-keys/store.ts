// Queries on API keys. Every query names the workspace; revoked keys are read only for the
// audit trail (list with `status=revoked`, get by id), never to authenticate.
import { and, count, eq, gt, ilike, isNotNull, isNull, lte, or, type SQL, sql } from 'drizzle-orm'
import type { Database, Executor } from '../../platform/db/index.ts'
import { containsPattern, dateFilters, orderBy } from '../../platform/db/list.ts'
import type { ListQuery } from '../../platform/http/list.ts'
import { users } from '../users/tables.ts'
import { workspaces } from '../workspaces/tables.ts'
import { apiKeys } from './tables.ts'

export type ApiKeyRow = typeof apiKeys.$inferSelect

const sortColumns = {
  id: apiKeys.id,
  name: apiKeys.name,
  created_at: apiKeys.createdAt,
  updated_at: apiKeys.updatedAt,
  last_used_at: apiKeys.lastUsedAt,
  expires_at: apiKeys.expiresAt,
  revoked_at: apiKeys.revokedAt,
}

const live = isNull(apiKeys.revokedAt)

export async function listKeys(db: Database, workspaceId: number, query: ListQuery, now: Date) {
  const conditions: Array<SQL | undefined> = [
    eq(apiKeys.workspaceId, workspaceId),
    query.status === 'revoked' ? isNotNull(apiKeys.revokedAt) : live,
    ...dateFilters(query, apiKeys),
  ]
  if (query.status === 'active') conditions.push(or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, now)))
  if (query.status === 'expired') conditions.push(lte(apiKeys.expiresAt, now))
  if (query.search) conditions.push(ilike(apiKeys.name, containsPattern(query.search)))
  const where = and(...conditions)
  const [rows, [total]] = await Promise.all([
    db
      .select()
      .from(apiKeys)
      .where(where)
      .orderBy(...orderBy(query, sortColumns))
      .limit(query.perPage)
      .offset(query.offset),
    db.select({ n: count() }).from(apiKeys).where(where),
  ])
  return { rows, total: total?.n ?? 0 }
}

/** A key of the workspace, revoked or not (GET answers a revoked key with its status). */
export async function findKey(db: Executor, workspaceId: number, id: number): Promise<ApiKeyRow | null> {
  const [row] = await db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.id, id), eq(apiKeys.workspaceId, workspaceId)))
  return row ?? null
}

/** The live key with this hash, with its workspace and user, for authentication. */
export async function findKeyForAuth(db: Database, hash: string) {
  const [row] = await db
    .select({
      key: apiKeys,
      workspace: { id: workspaces.id, name: workspaces.name, slug: workspaces.slug, tier: workspaces.tier },
      user: { id: users.id, email: users.email, name: users.name },
    })
    .from(apiKeys)
    .innerJoin(workspaces, eq(workspaces.id, apiKeys.workspaceId))
    .leftJoin(users, eq(users.id, apiKeys.userId))
    .where(and(eq(apiKeys.keyHash, hash), live))
  return row ?? null
}

/** Writes buffered last-used times in one statement; never moves a time backwards. */
export async function writeLastUsed(db: Database, times: Map<number, number>): Promise<void> {
  if (times.size === 0) return
  // In id order: two instances flushing overlapping keys in opposite orders could deadlock.
  const values = sql.join(
    [...times]
      .sort(([a], [b]) => a - b)
      .map(([id, at]) => sql`(${id}::integer, ${new Date(at).toISOString()}::timestamptz)`),
    sql`, `,
  )
  await db.execute(sql`
    update ${apiKeys} set last_used_at = v.at
    from (values ${values}) as v(id, at)
    where ${apiKeys.id} = v.id and (${apiKeys.lastUsedAt} is null or ${apiKeys.lastUsedAt} < v.at)`)
}

/**
 * Keys that count against the plan's `api_keys` limit: live and unexpired, not counting a
 * key already replaced by a rotation (its grace period must not block the rotation itself).
 */
export async function countLiveKeys(db: Executor, workspaceId: number, now: Date): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(apiKeys)
    .where(
      and(
        eq(apiKeys.workspaceId, workspaceId),
        live,
        or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, now)),
        sql`not exists (select 1 from ${apiKeys} as successor where successor.rotated_from_id = ${apiKeys.id} and successor.revoked_at is null)`,
      ),
    )
  return row?.n ?? 0
}

/** The workspace a key belongs to, for the operator's CLI, which names keys by id alone. */
export async function workspaceOfKey(db: Database, id: number): Promise<number | null> {
  const [row] = await db.select({ workspaceId: apiKeys.workspaceId }).from(apiKeys).where(eq(apiKeys.id, id))
  return row?.workspaceId ?? null
}
