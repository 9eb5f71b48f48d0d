// Queries on API keys. Every query names the workspace; revoked keys are read only for the
// audit trail (list with `status=revoked`, get by id), never to authenticate.
import {
  type AnyColumn,
  and,
  count,
  eq,
  gt,
  ilike,
  isNotNull,
  isNull,
  lte,
  or,
  type SQL,
  sql,
} from 'drizzle-orm'
import { alias } from 'drizzle-orm/pg-core'
import type { Database, Executor } from '../../platform/db/index.ts'
import { containsPattern, dateFilters, paginate } from '../../platform/db/list.ts'
import type { ListQuery } from '../../platform/http/list.ts'
import { users } from '../users/tables.ts'
import { workspaces } from '../workspaces/tables.ts'
import { apiKeys, type RevokedBy } from './tables.ts'

export type ApiKeyRow = typeof apiKeys.$inferSelect
export type NewApiKey = typeof apiKeys.$inferInsert

const sortColumns = {
  id: apiKeys.id,
  name: apiKeys.name,
  created_at: apiKeys.createdAt,
  updated_at: apiKeys.updatedAt,
  last_used_at: apiKeys.lastUsedAt,
  expires_at: apiKeys.expiresAt,
  revoked_at: apiKeys.revokedAt,
}

/** Not revoked (of `keys`, the table or an alias of it). */
function notRevoked(keys: { revokedAt: AnyColumn } = apiKeys): SQL {
  return isNull(keys.revokedAt)
}

/** A live key: not revoked and not expired at `now`. */
function liveKey(now: Date): SQL {
  return and(notRevoked(), or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, now)))!
}

/**
 * Whose keys a caller may see: `null` for every key of the workspace, else only the keys made
 * by that user (a member's credential); 0 matches no key.
 */
export type KeyOwner = number | null

function ownedBy(owner: KeyOwner): SQL | undefined {
  return owner === null ? undefined : eq(apiKeys.userId, owner)
}

const successor = alias(apiKeys, 'successor')

/** The key was replaced by a rotation: a key that is not revoked names it as its predecessor. */
const replaced = sql`exists (select 1 from ${apiKeys} as ${successor}
  where ${successor.rotatedFromId} = ${apiKeys.id} and ${notRevoked(successor)})`

/** The keys of each `status` filter; without one, every key but the revoked. */
function withStatus(status: ListQuery['status'], now: Date): SQL {
  if (status === 'revoked') return isNotNull(apiKeys.revokedAt)
  if (status === 'active') return liveKey(now)
  if (status === 'expired') return and(notRevoked(), lte(apiKeys.expiresAt, now))!
  return notRevoked()
}

export async function listKeys(
  db: Database,
  workspaceId: number,
  owner: KeyOwner,
  query: ListQuery,
  now: Date,
) {
  const conditions: Array<SQL | undefined> = [
    eq(apiKeys.workspaceId, workspaceId),
    ownedBy(owner),
    withStatus(query.status, now),
    ...dateFilters(query, apiKeys),
  ]
  if (query.search) conditions.push(ilike(apiKeys.name, containsPattern(query.search)))
  const where = and(...conditions)
  return paginate(db, db.select().from(apiKeys).$dynamic(), {
    from: apiKeys,
    where,
    query,
    sort: sortColumns,
  })
}

/** A key of the workspace, revoked or not (GET answers a revoked key with its status). */
export async function findKey(
  db: Executor,
  workspaceId: number,
  owner: KeyOwner,
  id: number,
): Promise<ApiKeyRow | null> {
  const [row] = await db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.id, id), eq(apiKeys.workspaceId, workspaceId), ownedBy(owner)))
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
    .where(and(eq(apiKeys.keyHash, hash), notRevoked()))
  return row ?? null
}

export async function insertKey(tx: Executor, key: NewApiKey): Promise<ApiKeyRow> {
  const [row] = await tx.insert(apiKeys).values(key).returning()
  return row!
}

/** A key of the workspace that is not revoked, locked until the transaction ends (rotation). */
export async function lockUnrevokedKey(
  tx: Executor,
  workspaceId: number,
  owner: KeyOwner,
  id: number,
): Promise<ApiKeyRow | null> {
  const [row] = await tx
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.id, id), eq(apiKeys.workspaceId, workspaceId), ownedBy(owner), notRevoked()))
    .for('update')
  return row ?? null
}

/** The id of the unrevoked key that replaced this one by a rotation, if any. */
export async function successorOf(tx: Executor, workspaceId: number, id: number): Promise<number | null> {
  const [row] = await tx
    .select({ id: apiKeys.id })
    .from(apiKeys)
    .where(and(eq(apiKeys.rotatedFromId, id), eq(apiKeys.workspaceId, workspaceId), notRevoked()))
  return row?.id ?? null
}

/** Ends a key that a rotation replaced: revoked now, or expiring at the end of the grace period. */
export async function endKey(
  tx: Executor,
  workspaceId: number,
  id: number,
  end: { revokedAt: Date; revokedBy: RevokedBy } | { expiresAt: Date },
  now: Date,
): Promise<void> {
  await tx
    .update(apiKeys)
    .set({ ...end, updatedAt: now })
    .where(and(eq(apiKeys.id, id), eq(apiKeys.workspaceId, workspaceId)))
}

/** Revokes a key unless it is revoked already; null when no unrevoked key of the workspace has this id. */
export async function revokeKey(
  tx: Executor,
  workspaceId: number,
  owner: KeyOwner,
  id: number,
  revokedBy: RevokedBy,
  now: Date,
): Promise<{ id: number; name: string; prefix: string; rotatedFromId: number | null } | null> {
  const [row] = await tx
    .update(apiKeys)
    .set({ revokedAt: now, revokedBy, updatedAt: now })
    .where(and(eq(apiKeys.id, id), eq(apiKeys.workspaceId, workspaceId), ownedBy(owner), notRevoked()))
    .returning({
      id: apiKeys.id,
      name: apiKeys.name,
      prefix: apiKeys.prefix,
      rotatedFromId: apiKeys.rotatedFromId,
    })
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
 * Keys held by the workspace: not revoked and not replaced by a rotation, expired or not. What
 * the kept `api_keys` counter counts: it changes with creates, rotations and revocations alone
 * (a rotation replaces one held key with another), and it is never less than `countLiveKeys`.
 */
export async function countHeldKeys(db: Executor, workspaceId: number): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(apiKeys)
    .where(and(eq(apiKeys.workspaceId, workspaceId), notRevoked(), sql`not ${replaced}`))
  return row?.n ?? 0
}

/** Whether the workspace holds this key (see `countHeldKeys`). */
export async function isHeldKey(db: Executor, workspaceId: number, id: number): Promise<boolean> {
  const [row] = await db
    .select({ id: apiKeys.id })
    .from(apiKeys)
    .where(and(eq(apiKeys.id, id), eq(apiKeys.workspaceId, workspaceId), notRevoked(), sql`not ${replaced}`))
  return row !== undefined
}

/**
 * Keys that count against the plan's `api_keys` limit: live and unexpired, not counting a
 * key already replaced by a rotation (its grace period must not block the rotation itself).
 */
export async function countLiveKeys(db: Executor, workspaceId: number, now: Date): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(apiKeys)
    .where(and(eq(apiKeys.workspaceId, workspaceId), liveKey(now), sql`not ${replaced}`))
  return row?.n ?? 0
}

/** The workspace a key belongs to, for the operator's CLI, which names keys by id alone. */
export async function workspaceOfKey(db: Database, id: number): Promise<number | null> {
  const [row] = await db.select({ workspaceId: apiKeys.workspaceId }).from(apiKeys).where(eq(apiKeys.id, id))
  return row?.workspaceId ?? null
}
