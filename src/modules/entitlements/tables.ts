// Recorded usage of metered and size features, per workspace, feature and period (the first
// instant of the month for monthly features; the epoch for those that never reset). Count
// features (posts, api_keys, webhooks) are not stored here: they are counted from their rows.
import { bigint, index, integer, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core'
import { workspaces } from '../workspaces/tables.ts'

export const entitlementUsage = pgTable(
  'entitlement_usage',
  {
    workspaceId: integer('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    feature: text('feature').notNull(),
    periodStart: timestamp('period_start', { withTimezone: true }).notNull(),
    used: bigint('used', { mode: 'number' }).notNull().default(0),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.feature, t.periodStart] })],
)

/** Client event ids already counted, so a retried record counts once; purged after USAGE_RETENTION_DAYS. */
export const entitlementUsageEvents = pgTable(
  'entitlement_usage_events',
  {
    workspaceId: integer('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    eventId: text('event_id').notNull(),
    feature: text('feature').notNull(),
    quantity: bigint('quantity', { mode: 'number' }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.workspaceId, t.eventId] }),
    index('entitlement_usage_events_created_idx').on(t.createdAt),
  ],
)
