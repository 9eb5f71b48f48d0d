// Webhooks: endpoints, the events (the outbox, written in the transaction of the change they
// announce) and one delivery per event and endpoint, which workers claim with
// FOR UPDATE SKIP LOCKED, and every attempt of a delivery (its own row, written with the
// outcome). Signing secrets are stored encrypted (SecretBox). Finished deliveries, their
// attempts and their events are purged after WEBHOOK_RETENTION_DAYS.
import { sql } from 'drizzle-orm'
import { boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core'
import { workspaces } from '../workspaces/tables.ts'

export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    workspaceId: integer('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    description: text('description'),
    events: text('events').array().notNull(),
    isActive: boolean('is_active').notNull().default(true),
    disabledReason: text('disabled_reason'),
    secret: text('secret').notNull(),
    previousSecret: text('previous_secret'),
    previousSecretExpiresAt: timestamp('previous_secret_expires_at', { withTimezone: true }),
    successCount: integer('success_count').notNull().default(0),
    failureCount: integer('failure_count').notNull().default(0),
    consecutiveFailures: integer('consecutive_failures').notNull().default(0),
    /** The first failure since the last success: the endpoint is disabled when it gets too old. */
    failingSince: timestamp('failing_since', { withTimezone: true }),
    lastDeliveryAt: timestamp('last_delivery_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('webhook_endpoints_workspace_idx').on(t.workspaceId, t.createdAt)],
)

export const webhookEvents = pgTable(
  'webhook_events',
  {
    id: text('id').primaryKey(),
    workspaceId: integer('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    /** The envelope as delivered: {id, type, timestamp, workspace_id, data}. */
    payload: text('payload').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('webhook_events_workspace_idx').on(t.workspaceId, t.createdAt),
    index('webhook_events_created_idx').on(t.createdAt),
  ],
)

export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    workspaceId: integer('workspace_id').notNull(),
    endpointId: integer('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    eventId: text('event_id')
      .notNull()
      .references(() => webhookEvents.id, { onDelete: 'cascade' }),
    eventType: text('event_type').notNull(),
    status: text('status')
      .$type<'pending' | 'retrying' | 'success' | 'failed'>()
      .notNull()
      .default('pending'),
    /** Attempts made so far. */
    attempt: integer('attempt').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
    /** Set while a worker holds the delivery; a crashed worker's claim expires. */
    lockedUntil: timestamp('locked_until', { withTimezone: true }),
    /** Names the claim: an outcome is written only under the claim it was attempted with. */
    claimToken: text('claim_token'),
    responseCode: integer('response_code'),
    responseBody: text('response_body'),
    responseTimeMs: integer('response_time_ms'),
    error: text('error'),
    request: jsonb('request').$type<{ url: string; headers: Record<string, string> }>(),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // Claiming walks the endpoints with work left, then each one's oldest due deliveries.
    index('webhook_deliveries_queue_idx')
      .on(t.endpointId, t.nextAttemptAt)
      .where(sql`status in ('pending', 'retrying')`),
    // The deliveries held by workers right now, counted per endpoint against its concurrency.
    index('webhook_deliveries_claimed_idx').on(t.endpointId).where(sql`locked_until is not null`),
    index('webhook_deliveries_endpoint_idx').on(t.endpointId, t.createdAt),
    // Delivery stats of a workspace, by creation time.
    index('webhook_deliveries_workspace_idx').on(t.workspaceId, t.createdAt),
    index('webhook_deliveries_event_idx').on(t.eventId),
    // Retention: finished deliveries by age.
    index('webhook_deliveries_finished_idx').on(t.updatedAt).where(sql`status in ('success', 'failed')`),
  ],
)

/**
 * One HTTP attempt of a delivery, written in the statement that records its outcome; the
 * delivery row keeps only the last one's answer. Removed with its delivery.
 */
export const webhookDeliveryAttempts = pgTable(
  'webhook_delivery_attempts',
  {
    deliveryId: integer('delivery_id')
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: 'cascade' }),
    workspaceId: integer('workspace_id').notNull(),
    /** 1 for the first attempt of the delivery; one claim makes one attempt, so it names the row. */
    attempt: integer('attempt').notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
    finishedAt: timestamp('finished_at', { withTimezone: true }).notNull(),
    durationMs: integer('duration_ms').notNull(),
    responseCode: integer('response_code'),
    /** The start of the answer, capped as the delivery's `response_body` is. */
    responseBody: text('response_body'),
    error: text('error'),
  },
  (t) => [primaryKey({ columns: [t.deliveryId, t.attempt] })],
)
