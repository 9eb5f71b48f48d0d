// Passwords are stored as argon2id hashes (PHC strings, salt and parameters included), with
// OWASP's minimum parameters for argon2id: 19 MiB of memory, two passes, one lane. The hash runs
// on libuv's thread pool, off the event loop.
import { hash, verify } from '@node-rs/argon2'

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
