// MCP servers a workspace registered over the API (Streamable HTTP only: stdio servers come
// from the operator's MCP_CONFIG). `slug` is the server's id in paths and tool calls, unique in
// the workspace; `headers` are sealed with the platform's secret box, since they usually carry
// a credential for the server.
import { index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core'
import { workspaces } from '../workspaces/tables.ts'

export const mcpServers = pgTable(
  'mcp_servers',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    workspaceId: integer('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    slug: text('slug').notNull(),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    url: text('url').notNull(),
    /** Sealed JSON object of header names to values. */
    headers: text('headers').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('mcp_servers_workspace_slug_idx').on(t.workspaceId, t.slug)],
)

/**
 * The audit of tool calls and resource reads: who (key and user), which server and tool or
 * resource, how long, and the outcome. Arguments are kept with every secret-looking value
 * replaced (audit.ts), bounded in size.
 */
export const mcpCalls = pgTable(
  'mcp_calls',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    workspaceId: integer('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    kind: text('kind').$type<'tool' | 'resource'>().notNull(),
    server: text('server').notNull(),
    /** The tool's name, or the resource's URI. */
    target: text('target').notNull(),
    arguments: jsonb('arguments').$type<Record<string, unknown> | null>(),
    outcome: text('outcome').notNull(),
    status: integer('status').notNull(),
    durationMs: integer('duration_ms').notNull(),
    credentialType: text('credential_type').notNull(),
    keyId: integer('key_id'),
    userId: integer('user_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('mcp_calls_workspace_created_idx').on(t.workspaceId, t.createdAt)],
)

/**
 * A workspace's allowlist of MCP servers and tools: entries `server` (all of it) or
 * `server/tool` (that tool). No row: every server and tool may be used.
 */
export const mcpPolicies = pgTable('mcp_policies', {
  workspaceId: integer('workspace_id')
    .primaryKey()
    .references(() => workspaces.id, { onDelete: 'cascade' }),
  allowed: jsonb('allowed').$type<string[]>().notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
})
