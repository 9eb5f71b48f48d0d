// One row per (workspace, credential, Idempotency-Key): the request's fingerprint, a lock while
// the first request runs, then the response to replay for 24 hours.
import { index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core'

export const idempotencyRecords = pgTable(
  'idempotency_records',
  {
    /** SHA-256 of workspace, credential and the client's key. */
    scope: text('scope').primaryKey(),
    /** SHA-256 of method, path, query and body. */
    fingerprint: text('fingerprint').notNull(),
    state: text('state').$type<'running' | 'done'>().notNull(),
    /** While running: when a crashed request's lock may be taken over. */
    lockedUntil: timestamp('locked_until', { withTimezone: true }),
    responseStatus: integer('response_status'),
    responseHeaders: jsonb('response_headers').$type<Record<string, string>>(),
    responseBody: text('response_body'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('idempotency_records_expires_idx').on(t.expiresAt)],
)
