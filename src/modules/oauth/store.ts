// Queries of the OAuth module: partner apps (always by workspace), the authorization server's
// stored models and its signing keys.
import { and, eq, inArray, isNotNull, lt, or, type SQL, sql } from 'drizzle-orm'
import type { Database } from '../../platform/db/index.ts'
import { dateFilters, paginate } from '../../platform/db/list.ts'
import type { ListQuery } from '../../platform/http/list.ts'
import { oauthClients, oauthKeys, oauthModels } from './tables.ts'

export type ClientRow = typeof oauthClients.$inferSelect
type NewClient = typeof oauthClients.$inferInsert

const clientSort = {
  id: oauthClients.id,
  name: oauthClients.name,
  created_at: oauthClients.createdAt,
  updated_at: oauthClients.updatedAt,
}

export async function listClients(db: Database, workspaceId: number, query: ListQuery) {
  const conditions: Array<SQL | undefined> = [
    eq(oauthClients.workspaceId, workspaceId),
    ...dateFilters(query, oauthClients),
  ]
  const select = db.select().from(oauthClients).$dynamic()
  return paginate(db, select, { from: oauthClients, where: and(...conditions), query, sort: clientSort })
}

export async function findClient(db: Database, workspaceId: number, id: number): Promise<ClientRow | null> {
  const [row] = await db
    .select()
    .from(oauthClients)
    .where(and(eq(oauthClients.id, id), eq(oauthClients.workspaceId, workspaceId)))
  return row ?? null
}

/** A client by its public identifier, in any workspace (the authorization server's lookup). */
export async function findClientByClientId(db: Database, clientId: string): Promise<ClientRow | null> {
  const [row] = await db.select().from(oauthClients).where(eq(oauthClients.clientId, clientId))
  return row ?? null
}

export async function insertClient(db: Database, client: NewClient): Promise<ClientRow> {
  const [row] = await db.insert(oauthClients).values(client).returning()
  return row!
}

export async function updateClient(
  db: Database,
  workspaceId: number,
  id: number,
  changes: Partial<NewClient>,
): Promise<ClientRow | null> {
  const [row] = await db
    .update(oauthClients)
    .set({ ...changes, updatedAt: sql`now()` })
    .where(and(eq(oauthClients.id, id), eq(oauthClients.workspaceId, workspaceId)))
    .returning()
  return row ?? null
}

export async function deleteClient(db: Database, workspaceId: number, id: number): Promise<ClientRow | null> {
  const [row] = await db
    .delete(oauthClients)
    .where(and(eq(oauthClients.id, id), eq(oauthClients.workspaceId, workspaceId)))
    .returning()
  return row ?? null
}

// The authorization server's models.

export type ModelRow = typeof oauthModels.$inferSelect

export async function upsertModel(db: Database, row: typeof oauthModels.$inferInsert): Promise<void> {
  await db
    .insert(oauthModels)
    .values(row)
    .onConflictDoUpdate({
      target: [oauthModels.model, oauthModels.id],
      set: {
        payload: row.payload,
        grantId: row.grantId,
        uid: row.uid,
        userCode: row.userCode,
        expiresAt: row.expiresAt,
        consumedAt: null,
      },
    })
}

/** A stored model that has not expired. */
export async function findModel(
  db: Database,
  model: string,
  id: string,
  now: Date,
): Promise<ModelRow | null> {
  const [row] = await db
    .select()
    .from(oauthModels)
    .where(
      and(
        eq(oauthModels.model, model),
        eq(oauthModels.id, id),
        or(sql`${oauthModels.expiresAt} is null`, sql`${oauthModels.expiresAt} > ${now}`),
      ),
    )
  return row ?? null
}

export async function findModelBy(
  db: Database,
  model: string,
  column: 'uid' | 'userCode',
  value: string,
  now: Date,
): Promise<ModelRow | null> {
  const [row] = await db
    .select()
    .from(oauthModels)
    .where(
      and(
        eq(oauthModels.model, model),
        eq(column === 'uid' ? oauthModels.uid : oauthModels.userCode, value),
        or(sql`${oauthModels.expiresAt} is null`, sql`${oauthModels.expiresAt} > ${now}`),
      ),
    )
  return row ?? null
}

export async function consumeModel(db: Database, model: string, id: string, at: Date): Promise<void> {
  await db
    .update(oauthModels)
    .set({ consumedAt: at })
    .where(and(eq(oauthModels.model, model), eq(oauthModels.id, id)))
}

export async function deleteModel(db: Database, model: string, id: string): Promise<void> {
  await db.delete(oauthModels).where(and(eq(oauthModels.model, model), eq(oauthModels.id, id)))
}

/** Deletes every model of a grant; answers the (model, id) of those deleted. */
export async function deleteGrantModels(
  db: Database,
  grantId: string,
): Promise<Array<{ model: string; id: string }>> {
  return db
    .delete(oauthModels)
    .where(eq(oauthModels.grantId, grantId))
    .returning({ model: oauthModels.model, id: oauthModels.id })
}

/** Deletes every grant, code and token of a client (a deleted client); answers what was deleted. */
export async function deleteClientModels(
  db: Database,
  clientId: string,
): Promise<Array<{ model: string; id: string }>> {
  return db
    .delete(oauthModels)
    .where(sql`${oauthModels.payload}->>'clientId' = ${clientId}`)
    .returning({ model: oauthModels.model, id: oauthModels.id })
}

/** Deletes models that ended before `now`, at most `limit` of them. */
export async function purgeExpiredModels(db: Database, now: Date, limit: number): Promise<number> {
  const doomed = db
    .select({ model: oauthModels.model, id: oauthModels.id })
    .from(oauthModels)
    .where(and(isNotNull(oauthModels.expiresAt), lt(oauthModels.expiresAt, now)))
    .limit(limit)
  const deleted = await db
    .delete(oauthModels)
    .where(sql`(${oauthModels.model}, ${oauthModels.id}) in ${doomed}`)
    .returning({ id: oauthModels.id })
  return deleted.length
}

/** The live access token (model and payload) stored under this hash. */
export async function findTokenByHash(db: Database, models: readonly string[], hash: string, now: Date) {
  const [row] = await db
    .select({ model: oauthModels.model, payload: oauthModels.payload, expiresAt: oauthModels.expiresAt })
    .from(oauthModels)
    .where(
      and(
        inArray(oauthModels.model, [...models]),
        eq(oauthModels.id, hash),
        or(sql`${oauthModels.expiresAt} is null`, sql`${oauthModels.expiresAt} > ${now}`),
      ),
    )
  return row ?? null
}

// Signing keys.

/** Stores the sealed keys unless another instance did first; answers the stored ones. */
export async function storeKeysOnce(db: Database, sealed: string): Promise<string> {
  await db.insert(oauthKeys).values({ id: 'signing', sealed }).onConflictDoNothing()
  const [row] = await db.select().from(oauthKeys).where(eq(oauthKeys.id, 'signing'))
  return row!.sealed
}

export async function findKeys(db: Database): Promise<string | null> {
  const [row] = await db.select().from(oauthKeys).where(eq(oauthKeys.id, 'signing'))
  return row?.sealed ?? null
}

// The grants a person gave partner apps.

/** The most grants of one person read at once (a person authorises a handful of apps). */
const MAX_GRANTS = 1000

export type GrantRow = {
  /** The stored id (the SHA-256 of the grant's id). */
  hash: string
  payload: Record<string, unknown>
  expiresAt: Date | null
  clientName: string | null
  /** Epoch seconds of the newest token, code or refresh token issued under the grant. */
  lastIssued: number | null
}

/** The live grants of a person, with their app's name and when a token was last issued under each. */
export async function grantsOf(db: Database, accountId: string, now: Date): Promise<GrantRow[]> {
  const issued = sql<number | null>`(select max((t.payload->>'iat')::bigint) from ${oauthModels} t
    where t.grant_id = ${oauthModels.payload}->>'jti' and t.model <> 'Grant')`
  return db
    .select({
      hash: oauthModels.id,
      payload: oauthModels.payload,
      expiresAt: oauthModels.expiresAt,
      clientName: oauthClients.name,
      lastIssued: issued.mapWith(Number),
    })
    .from(oauthModels)
    .leftJoin(oauthClients, eq(oauthClients.clientId, sql`${oauthModels.payload}->>'clientId'`))
    .where(
      and(
        eq(oauthModels.model, 'Grant'),
        sql`${oauthModels.payload}->>'accountId' = ${accountId}`,
        or(sql`${oauthModels.expiresAt} is null`, sql`${oauthModels.expiresAt} > ${now}`),
      ),
    )
    .limit(MAX_GRANTS)
}

/**
 * Deletes a person's grant (by the SHA-256 of its id) and everything issued under it; answers
 * the (model, id) of what was deleted, or null when the person has no such grant.
 */
export async function deleteGrantOf(
  db: Database,
  accountId: string,
  hash: string,
  grantId: string,
): Promise<Array<{ model: string; id: string }> | null> {
  return db.transaction(async (tx) => {
    const [grant] = await tx
      .delete(oauthModels)
      .where(
        and(
          eq(oauthModels.model, 'Grant'),
          eq(oauthModels.id, hash),
          sql`${oauthModels.payload}->>'accountId' = ${accountId}`,
        ),
      )
      .returning({ id: oauthModels.id })
    if (!grant) return null
    return tx
      .delete(oauthModels)
      .where(eq(oauthModels.grantId, grantId))
      .returning({ model: oauthModels.model, id: oauthModels.id })
  })
}
