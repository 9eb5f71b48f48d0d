// The platform master key: every scope, any workspace. Taken from CORE_API_MASTER_KEY, or
// generated at the first start, when only its hash is kept (printed once, never again).
import type { Database } from '../db/index.ts'
import { settingOnce } from '../db/settings.ts'
import { sha256Hex } from '../lib/hash.ts'
import { randomBase62 } from '../lib/random.ts'

export type MasterKey = {
  hash: string
  /** The key itself when this call generated it (to print once); null otherwise. */
  generated: string | null
}

export async function ensureMasterKey(db: Database, configured: string | null): Promise<MasterKey> {
  if (configured !== null) return { hash: sha256Hex(configured), generated: null }
  const candidate = `sk_master_${randomBase62(43)}`
  const stored = await settingOnce(db, 'master_key_hash', sha256Hex(candidate))
  return { hash: stored.value, generated: stored.created ? candidate : null }
}

/**
 * Key material for encrypting secrets at rest: ENCRYPTION_KEY, or one generated at the first
 * start and kept in the database (which protects nothing against a copy of the database:
 * production deployments set ENCRYPTION_KEY).
 */
export async function ensureEncryptionKey(db: Database, configured: string | null): Promise<string> {
  if (configured !== null) return configured
  return (await settingOnce(db, 'encryption_key', randomBase62(48))).value
}
