import { eq, inArray, sql } from 'drizzle-orm'
import type { PrincipalUser } from '../../platform/auth/index.ts'
import type { Database, Executor } from '../../platform/db/index.ts'
import { users } from './tables.ts'

const userColumns = { id: users.id, email: users.email, name: users.name }

export async function findUser(db: Database, id: number): Promise<PrincipalUser | null> {
  const [row] = await db.select(userColumns).from(users).where(eq(users.id, id))
  return row ?? null
}

/** The user with this email, created (without a password) when there is none. */
export async function findOrCreateUser(
  db: Database,
  email: string,
  name: string | null = null,
): Promise<PrincipalUser> {
  const normalized = email.trim().toLowerCase()
  await db.insert(users).values({ email: normalized, name }).onConflictDoNothing()
  const [row] = await db
    .select(userColumns)
    .from(users)
    .where(eq(sql`lower(${users.email})`, normalized))
  if (!row) throw new Error('user vanished after insert')
  return row
}

/** Users by id, for `include=owner`/`include=user`. */
export async function usersById(db: Database, ids: Array<number | null>) {
  const wanted = [...new Set(ids.filter((id): id is number => id !== null))]
  if (wanted.length === 0) return new Map<number, PrincipalUser>()
  const rows = await db.select(userColumns).from(users).where(inArray(users.id, wanted))
  return new Map<number, PrincipalUser>(rows.map((row) => [row.id, row]))
}

/** Inserts a user with a password hash; null when the email is taken (case-insensitively). */
export async function insertUser(
  db: Executor,
  user: { email: string; name: string | null; passwordHash: string },
): Promise<{ id: number; email: string; name: string | null; createdAt: Date } | null> {
  const [row] = await db
    .insert(users)
    .values({ email: user.email.trim().toLowerCase(), name: user.name, passwordHash: user.passwordHash })
    .onConflictDoNothing()
    .returning({ id: users.id, email: users.email, name: users.name, createdAt: users.createdAt })
  return row ?? null
}

/** The user signing in with this email (any case), with their password hash; null when none. */
export async function findUserForSignIn(
  db: Database,
  email: string,
): Promise<(PrincipalUser & { passwordHash: string | null }) | null> {
  const [row] = await db
    .select({ ...userColumns, passwordHash: users.passwordHash })
    .from(users)
    .where(eq(sql`lower(${users.email})`, email.trim().toLowerCase()))
  return row ?? null
}

export async function updatePasswordHash(db: Executor, userId: number, passwordHash: string): Promise<void> {
  await db.update(users).set({ passwordHash, updatedAt: new Date() }).where(eq(users.id, userId))
}
