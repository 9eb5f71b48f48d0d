// API keys: only the SHA-256 of the secret is stored; `prefix` is the visible part shown in
// lists. Revoked keys keep their row (revoked_at, revoked_by) for the audit trail: they are
// listed with `status=revoked` and never authenticate again.
import { boolean, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core'

/** Who revoked a key: the credential type, and the key and user behind it when there are some. */
export type RevokedBy = { type: string; key_id: number | null; user_id: number | null }

import { users } from '../users/tables.ts'
import { workspaces } from '../workspaces/tables.ts'

export const apiKeys = pgTable(
  'api_keys',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    workspaceId: integer('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    userId: integer('user_id').references(() => users.id, { onDelete: 'set null' }),
    name: text('name').notNull(),
    prefix: text('prefix').notNull(),
    keyHash: text('key_hash').notNull(),
    scopes: text('scopes').array().notNull(),
    rateLimitTier: text('rate_limit_tier'),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    revokedBy: jsonb('revoked_by').$type<RevokedBy>(),
    rotatedFromId: integer('rotated_from_id'),
    /**
     * Made by a member, whose role manages only their own keys: the key's `api-keys` scopes
     * reach only keys of the same user, as its creator's did.
     */
    ownKeysOnly: boolean('own_keys_only').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('api_keys_key_hash_key').on(t.keyHash),
    index('api_keys_workspace_idx').on(t.workspaceId, t.createdAt),
  ],
)
