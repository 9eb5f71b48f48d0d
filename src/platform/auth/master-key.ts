// The platform master key: every scope, any workspace. Taken from CORE_API_MASTER_KEY, or
// generated at the first start, when only its hash is kept (printed once, never again).
import type { Database } from '../db/index.ts'
import { settingOnce } from '../db/settings.ts'
import { platformSettings } from '../db/tables.ts'
import { sha256Hex } from '../lib/hash.ts'
import { randomBase62 } from '../lib/random.ts'

export type MasterKey = {
  hash: string
  /** The key itself when this call generated it (to print once); null otherwise. */
  generated: string | null
}

const newMasterKey = () => `sk_master_${randomBase62(43)}`

export async function ensureMasterKey(db: Database, configured: string | null): Promise<MasterKey> {
  if (configured !== null) return { hash: sha256Hex(configured), generated: null }
  const candidate = newMasterKey()
  const stored = await settingOnce(db, 'master_key_hash', sha256Hex(candidate))
  return { hash: stored.value, generated: stored.created ? candidate : null }
}

/**
 * Replaces the stored master key (a lost or leaked one) with a new one and returns it, to print
 * once. Servers read the hash at start: they accept the new key, and refuse the old one, once
 * restarted. Not used when CORE_API_MASTER_KEY is set, which wins over the stored key.
 */
export async function rotateMasterKey(db: Database): Promise<string> {
  const key = newMasterKey()
  await db
    .insert(platformSettings)
    .values({ key: 'master_key_hash', value: sha256Hex(key) })
    .onConflictDoUpdate({
      target: platformSettings.key,
      set: { value: sha256Hex(key), createdAt: new Date() },
    })
  return key
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
