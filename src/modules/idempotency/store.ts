// The idempotency records in the database — the same on PGlite and PostgreSQL, and shared by
// every instance: the primary key makes the first claim win, the lock expiry lets a retry take
// over from a request whose process died.
import { and, eq, lt, or, sql } from 'drizzle-orm'
import type { Database } from '../../platform/db/index.ts'
import { idempotencyRecords } from './tables.ts'

export type StoredResponse = { status: number; headers: Record<string, string>; body: string | null }

export type Claim =
  | { outcome: 'owner' }
  | { outcome: 'replay'; fingerprint: string; response: StoredResponse }
  | { outcome: 'running'; fingerprint: string }

export async function claim(
  db: Database,
  input: { scope: string; fingerprint: string; now: number; lockMs: number; ttlMs: number },
  attempt = 0,
): Promise<Claim> {
  const fresh = {
    fingerprint: input.fingerprint,
    state: 'running' as const,
    lockedUntil: new Date(input.now + input.lockMs),
    responseStatus: null,
    responseHeaders: null,
    responseBody: null,
    createdAt: new Date(input.now),
    expiresAt: new Date(input.now + input.ttlMs),
  }
  const inserted = await db
    .insert(idempotencyRecords)
    .values({ scope: input.scope, ...fresh })
    .onConflictDoNothing()
    .returning({ scope: idempotencyRecords.scope })
  if (inserted.length > 0) return { outcome: 'owner' }

  // Taken: an expired record, or a lock whose request died, may be claimed again.
  const now = new Date(input.now)
  const taken = await db
    .update(idempotencyRecords)
    .set(fresh)
    .where(
      and(
        eq(idempotencyRecords.scope, input.scope),
        or(
          lt(idempotencyRecords.expiresAt, now),
          and(eq(idempotencyRecords.state, 'running'), lt(idempotencyRecords.lockedUntil, now)),
        ),
      ),
    )
    .returning({ scope: idempotencyRecords.scope })
  if (taken.length > 0) return { outcome: 'owner' }

  const [row] = await db.select().from(idempotencyRecords).where(eq(idempotencyRecords.scope, input.scope))
  if (!row) {
    // Released or purged in between: claim again (a twin that keeps racing is told to wait).
    return attempt < 2
      ? claim(db, input, attempt + 1)
      : { outcome: 'running', fingerprint: input.fingerprint }
  }
  if (row.state === 'running') return { outcome: 'running', fingerprint: row.fingerprint }
  return {
    outcome: 'replay',
    fingerprint: row.fingerprint,
    response: { status: row.responseStatus!, headers: row.responseHeaders ?? {}, body: row.responseBody },
  }
}

export async function complete(db: Database, scope: string, response: StoredResponse): Promise<void> {
  await db
    .update(idempotencyRecords)
    .set({
      state: 'done',
      lockedUntil: null,
      responseStatus: response.status,
      responseHeaders: response.headers,
      responseBody: response.body,
    })
    .where(eq(idempotencyRecords.scope, scope))
}

/** Forgets a claim whose response is not to be replayed, so a retry runs again. */
export async function release(db: Database, scope: string): Promise<void> {
  await db.delete(idempotencyRecords).where(eq(idempotencyRecords.scope, scope))
}

export async function purgeExpired(db: Database, now: number): Promise<number> {
  const result = await db.execute(
    sql`delete from ${idempotencyRecords} where ${idempotencyRecords.expiresAt} < ${new Date(now).toISOString()}::timestamptz`,
  )
  return (
    (result as { rowCount?: number; affectedRows?: number }).rowCount ??
    (result as { affectedRows?: number }).affectedRows ??
    0
  )
}
