// Queries on the MCP servers a workspace registered and on the audit of calls. Every query
// names the workspace.
import { and, asc, count, eq, lt, type SQL, sql } from 'drizzle-orm'
import { PgDialect } from 'drizzle-orm/pg-core'
import type { Database } from '../../platform/db/index.ts'
import { dateFilters, paginate } from '../../platform/db/list.ts'
import { preparedStatement } from '../../platform/db/prepared.ts'
import type { ListQuery } from '../../platform/http/list.ts'
import { mcpCalls, mcpPolicies, mcpServers } from './tables.ts'

export type ServerRow = typeof mcpServers.$inferSelect
export type NewServer = Omit<typeof mcpServers.$inferInsert, 'id' | 'createdAt' | 'updatedAt'>
export type ServerChanges = Partial<Pick<ServerRow, 'name' | 'description' | 'url' | 'headers'>>

export async function listServers(db: Database, workspaceId: number): Promise<ServerRow[]> {
  return db
    .select()
    .from(mcpServers)
    .where(eq(mcpServers.workspaceId, workspaceId))
    .orderBy(asc(mcpServers.slug))
}

export async function countServers(db: Database, workspaceId: number): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(mcpServers)
    .where(eq(mcpServers.workspaceId, workspaceId))
  return row?.n ?? 0
}

export async function findServer(db: Database, workspaceId: number, slug: string): Promise<ServerRow | null> {
  const [row] = await db
    .select()
    .from(mcpServers)
    .where(and(eq(mcpServers.workspaceId, workspaceId), eq(mcpServers.slug, slug)))
  return row ?? null
}

/** The new row, or null when the workspace already has a server with this slug. */
export async function insertServer(db: Database, server: NewServer): Promise<ServerRow | null> {
  const [row] = await db.insert(mcpServers).values(server).onConflictDoNothing().returning()
  return row ?? null
}

export async function updateServer(
  db: Database,
  workspaceId: number,
  slug: string,
  changes: ServerChanges,
  now: Date,
): Promise<ServerRow | null> {
  const [row] = await db
    .update(mcpServers)
    .set({ ...changes, updatedAt: now })
    .where(and(eq(mcpServers.workspaceId, workspaceId), eq(mcpServers.slug, slug)))
    .returning()
  return row ?? null
}

export async function deleteServer(
  db: Database,
  workspaceId: number,
  slug: string,
): Promise<ServerRow | null> {
  const [row] = await db
    .delete(mcpServers)
    .where(and(eq(mcpServers.workspaceId, workspaceId), eq(mcpServers.slug, slug)))
    .returning()
  return row ?? null
}

export type CallRow = typeof mcpCalls.$inferSelect
export type NewCall = Omit<typeof mcpCalls.$inferInsert, 'id' | 'createdAt'> & { createdAt: Date }

/**
 * Audit records, any number of them, in one prepared statement: the rows travel as one JSON
 * array parameter (so neither the statement's text nor its plan depends on their number).
 */
const insertCallsStatement = preparedStatement('insert_mcp_calls', () => {
  const statement = sql`insert into ${mcpCalls} (workspace_id, kind, server, target, arguments, outcome,
      status, duration_ms, credential_type, key_id, user_id, created_at)
    select workspace_id, kind, server, target, arguments, outcome, status, duration_ms,
      credential_type, key_id, user_id, created_at
    from jsonb_to_recordset(${sql.placeholder('rows')}::jsonb) as r(workspace_id integer, kind text,
      server text, target text, arguments jsonb, outcome text, status integer, duration_ms integer,
      credential_type text, key_id integer, user_id integer, created_at timestamptz)`
  return { toSQL: () => new PgDialect().sqlToQuery(statement) }
})

export async function insertCalls(db: Database, calls: NewCall[]): Promise<void> {
  const rows = calls.map((call) => ({
    workspace_id: call.workspaceId,
    kind: call.kind,
    server: call.server,
    target: call.target,
    arguments: call.arguments ?? null,
    outcome: call.outcome,
    status: call.status,
    duration_ms: call.durationMs,
    credential_type: call.credentialType,
    key_id: call.keyId ?? null,
    user_id: call.userId ?? null,
    created_at: call.createdAt.toISOString(),
  }))
  await insertCallsStatement(db).execute({ rows: JSON.stringify(rows) })
}

const callSort = { id: mcpCalls.id, created_at: mcpCalls.createdAt, duration_ms: mcpCalls.durationMs }

export async function listCalls(db: Database, workspaceId: number, query: ListQuery) {
  const conditions: SQL[] = [eq(mcpCalls.workspaceId, workspaceId), ...dateFilters(query, mcpCalls)]
  const { server, tool, outcome, kind } = query.filters
  if (typeof server === 'string') conditions.push(eq(mcpCalls.server, server))
  if (typeof tool === 'string') conditions.push(and(eq(mcpCalls.kind, 'tool'), eq(mcpCalls.target, tool))!)
  if (typeof outcome === 'string') conditions.push(eq(mcpCalls.outcome, outcome))
  if (typeof kind === 'string') conditions.push(eq(mcpCalls.kind, kind as CallRow['kind']))
  return paginate(db, db.select().from(mcpCalls).$dynamic(), {
    from: mcpCalls,
    where: and(...conditions),
    query,
    sort: callSort,
  })
}

export async function findPolicy(db: Database, workspaceId: number): Promise<string[] | null> {
  const [row] = await db
    .select({ allowed: mcpPolicies.allowed })
    .from(mcpPolicies)
    .where(eq(mcpPolicies.workspaceId, workspaceId))
  return row?.allowed ?? null
}

export async function savePolicy(
  db: Database,
  workspaceId: number,
  allowed: string[],
  now: Date,
): Promise<void> {
  await db
    .insert(mcpPolicies)
    .values({ workspaceId, allowed, updatedAt: now })
    .onConflictDoUpdate({ target: mcpPolicies.workspaceId, set: { allowed, updatedAt: now } })
}

export async function deletePolicy(db: Database, workspaceId: number): Promise<void> {
  await db.delete(mcpPolicies).where(eq(mcpPolicies.workspaceId, workspaceId))
}

/** Deletes the audit records of every workspace older than `before`; answers how many. */
export async function purgeCalls(db: Database, before: Date): Promise<number> {
  const rows = await db.delete(mcpCalls).where(lt(mcpCalls.createdAt, before)).returning({ id: mcpCalls.id })
  return rows.length
}
