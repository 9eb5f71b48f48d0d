// The platform master key: every scope, any workspace. Taken from CORE_API_MASTER_KEY, or
// generated at the first start, when only its hash is kept (printed once, never again).
import { eq } from 'drizzle-orm'
import type { Database } from '../db/index.ts'
import { platformSettings } from '../db/tables.ts'
import { sha256Hex } from '../lib/hash.ts'
import { randomBase62 } from '../lib/random.ts'

const SETTING = 'master_key_hash'

export type MasterKey = {
  hash: string
  /** The key itself when this call generated it (to print once); null otherwise. */
  generated: string | null
}

export async function ensureMasterKey(db: Database, configured: string | null): Promise<MasterKey> {
  if (configured !== null) return { hash: sha256Hex(configured), generated: null }
  const candidate = `sk_master_${randomBase62(43)}`
  // Several instances may start at once: the first insert wins, the others read its hash.
  const inserted = await db
    .insert(platformSettings)
    .values({ key: SETTING, value: sha256Hex(candidate) })
    .onConflictDoNothing()
    .returning()
  if (inserted.length > 0) return { hash: inserted[0]!.value, generated: candidate }
  const [row] = await db.select().from(platformSettings).where(eq(platformSettings.key, SETTING))
  return { hash: row!.value, generated: null }
}
