// Passwords are stored as argon2id hashes (PHC strings, salt and parameters included), with
// OWASP's minimum parameters for argon2id: 19 MiB of memory, two passes, one lane. The hash runs
// on libuv's thread pool, off the event loop.
import { hash, verify } from '@node-rs/argon2'
import type { Database } from '../../platform/db/index.ts'
import { updatePasswordHash } from './store.ts'

const ARGON2ID = 2 // @node-rs/argon2's Algorithm.Argon2id (a const enum, unusable with type stripping)
const OPTIONS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS)
}

/** True when `password` matches the stored hash; false for any malformed hash. */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password)
  } catch {
    return false
  }
}

// A hash of no one's password, checked when the email is unknown, so that a sign-in takes as
// long for an unknown email as for a wrong password and does not tell which emails exist.
let decoy: Promise<string> | null = null

/** Checks `password` against `stored`, or against a decoy when there is no stored hash. */
export async function checkPassword(stored: string | null, password: string): Promise<boolean> {
  if (stored !== null) return verifyPassword(stored, password)
  decoy ??= hashPassword("decoy password, never anyone's")
  await verifyPassword(await decoy, password)
  return false
}

/** Stores a new password for a user, as its argon2id hash. */
export async function setPassword(db: Database, userId: number, password: string): Promise<void> {
  await updatePasswordHash(db, userId, await hashPassword(password))
}
