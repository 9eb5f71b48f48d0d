// Recorded usage of metered and size features, per workspace, feature and period (the first
// instant of the month for monthly features; the epoch for those that never reset). Count
// features (posts, api_keys, webhooks) are counted from their rows; the features whose module
// keeps a counter (posts, webhooks, api_keys) also have one in entitlement_counters.
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

/**
 * How many resources of a count feature a workspace has, kept by the module that owns them in
 * the transactions that create and delete them, so a hard limit costs one conditional
 * increment instead of a COUNT. A row exists only once a create under a hard limit needed it
 * (it starts from a COUNT); a create with no hard limit removes it, since such creates do not
 * keep it. `core-api entitlements recount` rebuilds rows from their resources.
 */
export const entitlementCounters = pgTable(
  'entitlement_counters',
  {
    workspaceId: integer('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    feature: text('feature').notNull(),
    used: bigint('used', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.feature] })],
)
