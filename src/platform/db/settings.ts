// Values the platform generates once and keeps (platform_settings). Several instances may
// start at once: the first insert wins and every instance reads the winner's value.
import { eq } from 'drizzle-orm'
import type { Database } from './index.ts'
import { platformSettings } from './tables.ts'

/** The stored value of `key`, storing `candidate` first if there is none; `created` tells which. */
export async function settingOnce(
  db: Database,
  key: string,
  candidate: string,
): Promise<{ value: string; created: boolean }> {
  const inserted = await db
    .insert(platformSettings)
    .values({ key, value: candidate })
    .onConflictDoNothing()
    .returning({ value: platformSettings.value })
  if (inserted.length > 0) return { value: inserted[0]!.value, created: true }
  const [row] = await db.select().from(platformSettings).where(eq(platformSettings.key, key))
  return { value: row!.value, created: false }
}
