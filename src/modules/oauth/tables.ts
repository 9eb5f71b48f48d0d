// OAuth 2.0: the partner apps (clients) a workspace registers, what the authorization server
// stores (grants, codes, tokens, interactions: one row per model and id) and its signing keys.
import { index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core'
import { users } from '../users/tables.ts'
import { workspaces } from '../workspaces/tables.ts'

export const oauthClients = pgTable(
  'oauth_clients',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    workspaceId: integer('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    createdBy: integer('created_by').references(() => users.id, { onDelete: 'set null' }),
    /** The public identifier (`oc_…`), unique across workspaces. */
    clientId: text('client_id').notNull().unique(),
    /** SHA-256 of the client secret (shown once); null for a public client, which has none. */
    secretHash: text('secret_hash'),
    /** How the app authenticates at the token endpoint: `client_secret_basic`, `client_secret_post` or `none`. */
    authMethod: text('auth_method').notNull().default('client_secret_basic'),
    name: text('name').notNull(),
    redirectUris: jsonb('redirect_uris').$type<string[]>().notNull(),
    grantTypes: jsonb('grant_types').$type<string[]>().notNull(),
    scopes: jsonb('scopes').$type<string[]>().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('oauth_clients_workspace_created_idx').on(t.workspaceId, t.createdAt)],
)

/**
 * The authorization server's storage: grants, authorization codes, tokens, sessions and
 * interactions, by model name and id. Token ids (the secrets) are stored as their SHA-256.
 */
export const oauthModels = pgTable(
  'oauth_models',
  {
    model: text('model').notNull(),
    id: text('id').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    grantId: text('grant_id'),
    uid: text('uid'),
    userCode: text('user_code'),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    consumedAt: timestamp('consumed_at', { withTimezone: true }),
  },
  (t) => [
    primaryKey({ columns: [t.model, t.id] }),
    index('oauth_models_grant_idx').on(t.grantId),
    index('oauth_models_uid_idx').on(t.uid),
    index('oauth_models_user_code_idx').on(t.userCode),
    index('oauth_models_expires_idx').on(t.expiresAt),
  ],
)

/** The signing keys (a JWKS), sealed with the app's encryption key; one row. */
export const oauthKeys = pgTable('oauth_keys', {
  id: text('id').primaryKey(),
  sealed: text('sealed').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
})
