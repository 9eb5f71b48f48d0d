import { Type } from 'typebox'
import type { ListSpec } from '../../platform/http/list.ts'
import { component } from '../../platform/http/responses.ts'

const Timestamp = Type.String({ format: 'date-time' })
const ServerId = Type.String({
  pattern: '^[a-z0-9][a-z0-9_-]{0,62}$',
  description: 'The server id: 1-63 lowercase letters, digits, - or _',
})
const HeaderName = "^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$"

const ServerOut = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  source: Type.String({
    description: "`config` (the operator's MCP_CONFIG) or `workspace` (registered over the API)",
  }),
  transport: Type.String({ description: '`stdio` or `http` (Streamable HTTP)' }),
  status: Type.Union([Type.Literal('available'), Type.Literal('connecting'), Type.Literal('unreachable')], {
    description:
      '`available` when its tool list is known; `connecting` while it is being started or reached (a listing waits for it at most a second); `unreachable` when the last attempt failed',
  }),
  tools: Type.Array(Type.String(), { description: 'The names of its tools (empty unless available)' }),
  url: Type.Optional(Type.String({ description: 'Registered servers: the Streamable HTTP endpoint' })),
  headers: Type.Optional(
    Type.Array(Type.String(), {
      description: 'Registered servers: the names of the headers sent (values are never shown)',
    }),
  ),
  created_at: Type.Optional(Timestamp),
  updated_at: Type.Optional(Timestamp),
})

export const SERVER_EXAMPLE = {
  id: 'docs',
  name: 'Docs search',
  description: 'Searches the product documentation',
  source: 'workspace',
  transport: 'http',
  status: 'available',
  tools: ['search_docs', 'get_page'],
  url: 'https://mcp.example.com/mcp',
  headers: ['Authorization'],
  created_at: '2026-01-15T10:30:00Z',
  updated_at: '2026-01-15T10:30:00Z',
}

export const McpServer = component('McpServer', ServerOut, {
  description:
    "An MCP server the workspace may use: one of the operator's (MCP_CONFIG) or one it registered, with its tool names.",
  example: SERVER_EXAMPLE,
})

const Headers = Type.Record(
  Type.String({ pattern: HeaderName }),
  Type.String({ maxLength: 4096, pattern: '^[^\\r\\n]*$' }),
  {
    maxProperties: 20,
    description: 'Headers sent with every request (a bearer token, say); stored encrypted, never shown again',
  },
)
const Name = Type.String({ minLength: 1, maxLength: 255, pattern: '\\S' })
const Description = Type.String({ maxLength: 2000 })
const Url = Type.String({
  minLength: 1,
  maxLength: 2048,
  description: 'The Streamable HTTP endpoint (https)',
})

export const ServerCreate = Type.Object(
  {
    id: ServerId,
    url: Url,
    name: Type.Optional(Name),
    description: Type.Optional(Description),
    headers: Type.Optional(Headers),
  },
  {
    additionalProperties: false,
    examples: [
      {
        id: 'docs',
        url: 'https://mcp.example.com/mcp',
        name: 'Docs search',
        description: 'Searches the product documentation',
        headers: { Authorization: 'Bearer mcp_token_value' },
      },
    ],
  },
)

export const ServerUpdate = Type.Object(
  {
    url: Type.Optional(Url),
    name: Type.Optional(Name),
    description: Type.Optional(Description),
    headers: Type.Optional(Headers),
  },
  { additionalProperties: false, minProperties: 1, examples: [{ name: 'Docs search (EU)' }] },
)

export const ServerParams = Type.Object({ id: ServerId })

const Parameter = Type.Object(
  {
    type: Type.Optional(Type.Unknown()),
    description: Type.Optional(Type.String()),
    required: Type.Boolean(),
  },
  { additionalProperties: true },
)

const ToolOut = Type.Object({
  name: Type.String(),
  title: Type.Optional(Type.String()),
  description: Type.String(),
  parameters: Type.Record(Type.String(), Parameter, {
    description: 'Each argument: its JSON Schema `type` and `description`, and whether it is `required`',
  }),
  input_schema: Type.Record(Type.String(), Type.Unknown(), {
    description: "The tool's JSON Schema, as the server gave it",
  }),
  output_schema: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
})

export const McpTool = component('McpTool', ToolOut, {
  description:
    'A tool of an MCP server: its arguments summarised, and its JSON Schema as the server gave it.',
  example: {
    name: 'search_docs',
    description: 'Full-text search over the documentation',
    parameters: { query: { type: 'string', description: 'What to look for', required: true } },
    input_schema: {
      type: 'object',
      properties: { query: { type: 'string', description: 'What to look for' } },
      required: ['query'],
    },
  },
})

export const ToolCall = Type.Object(
  {
    server: ServerId,
    tool: Type.String({ minLength: 1, maxLength: 128 }),
    arguments: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), { description: "The tool's arguments" }),
    ),
  },
  {
    additionalProperties: false,
    examples: [{ server: 'docs', tool: 'search_docs', arguments: { query: 'rate limits' } }],
  },
)

export const ToolCallOut = Type.Object(
  {
    result: Type.Object({
      content: Type.Array(Type.Record(Type.String(), Type.Unknown()), {
        description:
          'MCP content blocks (`text`, `image`, `audio`, `resource_link`, `resource`), as the server sent them',
      }),
      structured_content: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
      is_error: Type.Boolean({ description: 'True when the tool itself reported an error' }),
    }),
  },
  {
    description: "The tool's result (a tool that reports an error is still 200, with `is_error: true`)",
    examples: [
      {
        result: {
          content: [{ type: 'text', text: 'Rate limits: every key has a token bucket per minute.' }],
          structured_content: null,
          is_error: false,
        },
      },
    ],
  },
)

export const ResourceQuery = Type.Object({ server: ServerId }, { additionalProperties: false })

const ResourceOut = Type.Object({
  server: Type.String(),
  uri: Type.String(),
  contents: Type.Array(
    Type.Object({
      uri: Type.String(),
      mime_type: Type.Union([Type.String(), Type.Null()]),
      text: Type.Optional(Type.String()),
      blob: Type.Optional(Type.String({ description: 'Binary contents, base64' })),
    }),
  ),
})

export const RESOURCE_EXAMPLE = {
  server: 'docs',
  uri: 'docs://pages/rate-limits.md',
  contents: [{ uri: 'docs://pages/rate-limits.md', mime_type: 'text/markdown', text: '# Rate limits\n' }],
}

export const McpResource = component('McpResource', ResourceOut, {
  description: 'The contents of an MCP resource, as the server sent them (text, or binary as base64).',
  example: RESOURCE_EXAMPLE,
})

export const PageQuery = Type.Object(
  {
    page: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1, description: 'Page number' }),
    ),
    per_page: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100, default: 25, description: 'Items per page (1-100)' }),
    ),
  },
  { additionalProperties: false },
)

const CALL_OUTCOMES = [
  'ok',
  'tool_error',
  'not_found',
  'access_denied',
  'invalid',
  'upstream_error',
  'server_error',
] as const

const CallOut = Type.Object({
  id: Type.Integer(),
  kind: Type.String({ description: '`tool` (a tool call) or `resource` (a resource read)' }),
  server: Type.String(),
  tool: Type.Union([Type.String(), Type.Null()]),
  uri: Type.Union([Type.String(), Type.Null()]),
  arguments: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()], {
    description: 'The arguments, every secret-looking value replaced by `[redacted]`',
  }),
  outcome: Type.String({ description: CALL_OUTCOMES.join(', ') }),
  status: Type.Integer({ description: 'The HTTP status the call was answered with' }),
  duration_ms: Type.Integer(),
  credential_type: Type.String(),
  key_id: Type.Union([Type.Integer(), Type.Null()]),
  user_id: Type.Union([Type.Integer(), Type.Null()]),
  created_at: Timestamp,
})

export const McpCall = component('McpCall', CallOut, {
  description: 'One tool call or resource read of the workspace, as audited.',
  example: {
    id: 901,
    kind: 'tool',
    server: 'docs',
    tool: 'search_docs',
    uri: null,
    arguments: { query: 'rate limits', api_key: '[redacted]' },
    outcome: 'ok',
    status: 200,
    duration_ms: 84,
    credential_type: 'api_key',
    key_id: 12,
    user_id: 7,
    created_at: '2026-01-15T10:30:00Z',
  },
})

export const callList: ListSpec = {
  sortable: ['id', 'created_at', 'duration_ms'],
  defaultSort: '-created_at',
  fields: [
    'kind',
    'server',
    'tool',
    'uri',
    'arguments',
    'outcome',
    'status',
    'duration_ms',
    'credential_type',
    'key_id',
    'user_id',
    'created_at',
  ],
  includes: [],
  filters: {
    server: Type.String({ minLength: 1, maxLength: 63, description: 'Calls to this server' }),
    tool: Type.String({ minLength: 1, maxLength: 128, description: 'Calls of this tool' }),
    outcome: Type.Enum([...CALL_OUTCOMES], { description: 'Calls that ended so' }),
    kind: Type.Enum(['tool', 'resource'], { description: 'Tool calls or resource reads' }),
  },
}

const PolicyEntry = Type.String({
  pattern: '^[a-z0-9][a-z0-9_-]{0,62}(/[^/\\s]{1,128})?$',
  description: '`server` (every tool and resource of it) or `server/tool` (that tool only)',
})

export const POLICY_EXAMPLE = { allowed: ['docs', 'files/read_text_file'] }

export const McpPolicy = component(
  'McpPolicy',
  Type.Object({
    allowed: Type.Union([Type.Array(Type.String()), Type.Null()], {
      description: 'What keys may use; null: every server and tool',
    }),
  }),
  { description: "The workspace's MCP allowlist.", example: POLICY_EXAMPLE },
)

export const PolicyUpdate = Type.Object(
  { allowed: Type.Union([Type.Array(PolicyEntry, { maxItems: 500, uniqueItems: true }), Type.Null()]) },
  { additionalProperties: false, examples: [POLICY_EXAMPLE] },
)
