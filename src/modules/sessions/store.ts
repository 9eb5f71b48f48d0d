// Queries on sessions and failed sign-ins.
import { and, eq, gt, lt, ne, or, sql } from 'drizzle-orm'
import type { Database } from '../../platform/db/index.ts'
import { users } from '../users/tables.ts'
import { sessions, signInFailures } from './tables.ts'

export type SessionRow = typeof sessions.$inferSelect

export async function insertSession(
  db: Database,
  session: { tokenHash: string; userId: number; expiresAt: Date; now: Date },
): Promise<SessionRow> {
  const [row] = await db
    .insert(sessions)
    .values({
      tokenHash: session.tokenHash,
      userId: session.userId,
      expiresAt: session.expiresAt,
      createdAt: session.now,
      lastSeenAt: session.now,
    })
    .returning()
  return row!
}

/** The live session with this token hash (not past its absolute end, nor idle too long), with its user. */
export async function findLiveSession(db: Database, tokenHash: string, now: Date, idleSince: Date) {
  const [row] = await db
    .select({
      id: sessions.id,
      lastSeenAt: sessions.lastSeenAt,
      expiresAt: sessions.expiresAt,
      user: { id: users.id, email: users.email, name: users.name },
    })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(
      and(eq(sessions.tokenHash, tokenHash), gt(sessions.expiresAt, now), gt(sessions.lastSeenAt, idleSince)),
    )
  return row ?? null
}

export async function touchSession(db: Database, id: number, at: Date): Promise<void> {
  await db
    .update(sessions)
    .set({ lastSeenAt: at })
    .where(and(eq(sessions.id, id), lt(sessions.lastSeenAt, at)))
}

export async function deleteSession(db: Database, tokenHash: string): Promise<void> {
  await db.delete(sessions).where(eq(sessions.tokenHash, tokenHash))
}

/** Deletes up to `limit` sessions that have ended; returns how many. */
export async function purgeEndedSessions(db: Database, now: Date, idleSince: Date, limit: number) {
  const ended = db
    .select({ id: sessions.id })
    .from(sessions)
    .where(or(lt(sessions.expiresAt, now), lt(sessions.lastSeenAt, idleSince)))
    .limit(limit)
  const deleted = await db
    .delete(sessions)
    .where(sql`${sessions.id} in (${ended})`)
    .returning({ id: sessions.id })
  return deleted.length
}

/** Until when `email` is locked, or null. */
export async function lockedUntil(db: Database, email: string, now: Date): Promise<Date | null> {
  const [row] = await db
    .select({ lockedUntil: signInFailures.lockedUntil })
    .from(signInFailures)
    .where(and(eq(signInFailures.email, email), gt(signInFailures.lockedUntil, now)))
  return row?.lockedUntil ?? null
}

/**
 * Counts a failed sign-in of `email` in one statement (so concurrent failures all count); a
 * count that started before `windowStart` starts again. Locks the email until `lockUntil` when
 * the count reaches `max`. Returns the count.
 */
export async function recordFailure(
  db: Database,
  email: string,
  now: Date,
  windowStart: Date,
  max: number,
  lockUntil: Date,
): Promise<number> {
  const f = signInFailures
  const [row] = await db
    .insert(f)
    .values({ email, failures: 1, firstFailureAt: now, lockedUntil: max <= 1 ? lockUntil : null })
    .onConflictDoUpdate({
      target: f.email,
      set: {
        failures: sql`case when ${f.firstFailureAt} < ${windowStart} then 1 else ${f.failures} + 1 end`,
        firstFailureAt: sql`case when ${f.firstFailureAt} < ${windowStart} then ${now} else ${f.firstFailureAt} end`,
        lockedUntil: sql`case when (case when ${f.firstFailureAt} < ${windowStart} then 1 else ${f.failures} + 1 end) >= ${max} then ${lockUntil} else ${f.lockedUntil} end`,
      },
    })
    .returning({ failures: f.failures })
  return row!.failures
}

export async function clearFailures(db: Database, email: string): Promise<void> {
  await db.delete(signInFailures).where(eq(signInFailures.email, email))
}

/** Ends every session of a user but the one with `keepHash` (the one changing the password). */
export async function deleteOtherSessions(db: Database, userId: number, keepHash: string): Promise<void> {
  await db.delete(sessions).where(and(eq(sessions.userId, userId), ne(sessions.tokenHash, keepHash)))
}
