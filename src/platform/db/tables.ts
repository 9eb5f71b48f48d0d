// Platform-wide values that must survive restarts, such as the hash of a generated master key.
import { pgTable, text, timestamp } from 'drizzle-orm/pg-core'

export const platformSettings = pgTable('platform_settings', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
})
