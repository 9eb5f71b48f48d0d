// core-api as an MCP server, at POST /mcp (Streamable HTTP, stateless, JSON answers): the tools
// are the API's own operations, named by their operationId and described by the OpenAPI
// document, offered only when the caller's credential holds the operation's scope. A tool call
// is replayed as the HTTP request it stands for — same Authorization, same X-Workspace-ID, same
// client address — through app.inject, so it meets every guard an HTTP call meets (scopes, rate
// limits, idempotency, plan limits, validation) and is logged like one. Nothing is decided here
// that the HTTP route would not decide itself.
import { Server } from '@modelcontextprotocol/sdk/server/index.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import {
  CallToolRequestSchema,
  type CallToolResult,
  JSONRPCMessageSchema,
  ListToolsRequestSchema,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { effectiveScopes, type RouteAuth } from '../../platform/auth/index.ts'
import { ApiError } from '../../platform/http/errors.ts'

type Parameter = {
  name: string
  in: string
  required?: boolean
  schema?: Record<string, unknown>
  description?: string
}
type Operation = {
  operationId?: string
  summary?: string
  description?: string
  parameters?: Parameter[]
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Record<string, unknown> }> }
}

/** One API operation as a tool: how to call it over HTTP and the scope it needs. */
type OperationTool = {
  tool: Tool
  method: string
  path: string
  auth: RouteAuth
  pathParams: string[]
  queryParams: string[]
  hasBody: boolean
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const
const COMPONENT_REF = '#/components/schemas/'

/**
 * A schema of the document with its `#/components/schemas/…` references replaced by the named
 * schemas: a tool's input schema stands alone, since an MCP client never sees the document. A
 * reference already being expanded (a recursive schema) becomes `{}`.
 */
function inlineRefs(schema: unknown, components: Record<string, unknown>, open: string[] = []): unknown {
  if (Array.isArray(schema)) return schema.map((item) => inlineRefs(item, components, open))
  if (typeof schema !== 'object' || schema === null) return schema
  const { $ref, ...rest } = schema as Record<string, unknown>
  if (typeof $ref === 'string' && $ref.startsWith(COMPONENT_REF)) {
    const name = $ref.slice(COMPONENT_REF.length)
    const target = components[name]
    if (target === undefined || open.includes(name)) return inlineRefs(rest, components, open)
    return {
      ...(inlineRefs(target, components, [...open, name]) as object),
      ...(inlineRefs(rest, components, open) as object),
    }
  }
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(schema)) out[key] = inlineRefs(value, components, open)
  return out
}

/** Every authenticated operation of the OpenAPI document that can be called as a tool. */
function operationTools(app: FastifyInstance): OperationTool[] {
  const guarded = new Map(app.authenticatedRoutes.map((r) => [`${r.method} ${r.url}`, r.auth]))
  const document = app.swagger() as {
    paths?: Record<string, Record<string, Operation>>
    components?: { schemas?: Record<string, unknown> }
  }
  const components = document.components?.schemas ?? {}
  const inline = (schema: Record<string, unknown> | undefined) =>
    inlineRefs(schema ?? {}, components) as Record<string, unknown>
  const tools: OperationTool[] = []
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const method of METHODS) {
      const operation = item[method]
      if (!operation?.operationId) continue
      const auth = guarded.get(`${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`)
      // Public operations and paths a tool cannot fill in (a wildcard) are not offered.
      if (!auth || path.includes('*')) continue
      const properties: Record<string, object> = {}
      const required: string[] = []
      const pathParams: string[] = []
      const queryParams: string[] = []
      for (const parameter of operation.parameters ?? []) {
        if (parameter.in !== 'path' && parameter.in !== 'query') continue
        properties[parameter.name] = {
          ...inline(parameter.schema),
          ...(parameter.description !== undefined && { description: parameter.description }),
        }
        if (parameter.required || parameter.in === 'path') required.push(parameter.name)
        ;(parameter.in === 'path' ? pathParams : queryParams).push(parameter.name)
      }
      const body = operation.requestBody?.content?.['application/json']?.schema
      if (body) {
        properties.body = inline(body)
        if (operation.requestBody?.required) required.push('body')
      }
      const description = [operation.summary, operation.description].filter(Boolean).join('. ')
      tools.push({
        tool: {
          name: operation.operationId,
          description: `${description} (${method.toUpperCase()} ${path}; scope ${auth.scope ?? 'none'})`,
          inputSchema: { type: 'object', properties, ...(required.length > 0 && { required }) },
        },
        method: method.toUpperCase(),
        path,
        auth,
        pathParams,
        queryParams,
        hasBody: body !== undefined,
      })
    }
  }
  return tools
}

/**
 * An Idempotency-Key sent to POST /mcp belongs to the tool call inside it, not to the MCP
 * exchange (whose answer is streamed by the SDK's transport and never stored): it is taken off
 * the outer request before the idempotency layer sees it and sent with the operation's request.
 */
const idempotencyKeys = new WeakMap<FastifyRequest, string>()
async function takeIdempotencyKey(req: FastifyRequest): Promise<void> {
  const key = req.headers['idempotency-key']
  if (typeof key === 'string') idempotencyKeys.set(req, key)
  delete req.headers['idempotency-key']
}

/** The tool call as the HTTP request it stands for, answered as MCP content. */
async function invoke(
  app: FastifyInstance,
  req: FastifyRequest,
  operation: OperationTool,
  args: Record<string, unknown>,
): Promise<CallToolResult> {
  let url = operation.path
  for (const name of operation.pathParams) {
    const value = args[name]
    if (value === undefined || value === null)
      return { content: [{ type: 'text', text: `Missing argument: ${name}` }], isError: true }
    url = url.replace(`{${name}}`, encodeURIComponent(String(value)))
  }
  const query = new URLSearchParams()
  for (const name of operation.queryParams) {
    const value = args[name]
    if (value !== undefined && value !== null) query.set(name, String(value))
  }
  if (query.size > 0) url += `?${query}`
  const headers: Record<string, string> = { authorization: req.headers.authorization ?? '' }
  const workspace = req.headers['x-workspace-id']
  if (typeof workspace === 'string') headers['x-workspace-id'] = workspace
  const idempotencyKey = idempotencyKeys.get(req)
  if (idempotencyKey !== undefined && operation.method !== 'GET') headers['idempotency-key'] = idempotencyKey
  const res = await app.inject({
    method: operation.method as 'GET',
    url,
    headers,
    remoteAddress: req.ip,
    ...(operation.hasBody && args.body !== undefined && { payload: args.body as Record<string, unknown> }),
  })
  let structured: Record<string, unknown> | undefined
  try {
    const parsed = res.body ? JSON.parse(res.body) : undefined
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) structured = parsed
  } catch {}
  return {
    content: [{ type: 'text', text: res.body || `HTTP ${res.statusCode}` }],
    ...(structured && { structuredContent: structured }),
    isError: res.statusCode >= 400,
  }
}

/**
 * What the transport would refuse in JSON-RPC's own format is refused first in the API's: a
 * body that is not a JSON-RPC message (or a batch of them) is 422. The answer is always JSON, so
 * an Accept header that does not offer both of the transport's types is completed, not refused.
 */
function checkExchange(req: FastifyRequest): void {
  const body = req.body
  const messages = Array.isArray(body) ? body : [body]
  if (messages.length === 0 || !messages.every((m) => JSONRPCMessageSchema.safeParse(m).success))
    throw ApiError.invalid(
      'body',
      'The body must be a JSON-RPC 2.0 message of the MCP Streamable HTTP transport.',
    )
  req.raw.headers.accept = 'application/json, text/event-stream'
}

/** POST /mcp: one stateless MCP exchange per request, for the credential that sent it. */
export function agentRoutes(app: FastifyInstance): void {
  let operations: OperationTool[] | null = null
  const allowed = (req: FastifyRequest) => {
    operations ??= operationTools(app)
    // A user's credential is narrowed by the user's role in the workspace it acts in.
    const granted = effectiveScopes(req.principal!, req.workspace ?? null)
    return operations.filter((o) => o.auth.scope === null || granted.has(o.auth.scope))
  }

  app.post(
    '/mcp',
    {
      schema: { hide: true },
      // Any valid credential: which tools it sees depends on its scopes (and, for a user, the
      // role in the workspace it acts in), not on one scope.
      config: { auth: { scope: null, workspace: 'optional' } },
      onRequest: takeIdempotencyKey,
    },
    async function serveMcp(req, reply) {
      checkExchange(req)
      const offered = allowed(req)
      const server = new Server({ name: 'core-api', version: '1.0.0' }, { capabilities: { tools: {} } })
      server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: offered.map((o) => o.tool) }))
      server.setRequestHandler(CallToolRequestSchema, async (request) => {
        const operation = offered.find((o) => o.tool.name === request.params.name)
        if (!operation)
          return {
            content: [
              {
                type: 'text',
                text: `Unknown tool, or not allowed for this credential: ${request.params.name}`,
              },
            ],
            isError: true,
          }
        return invoke(app, req, operation, request.params.arguments ?? {})
      })
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: undefined,
        enableJsonResponse: true,
      })
      reply.hijack()
      reply.raw.on('close', () => {
        void transport.close()
        void server.close()
      })
      await server.connect(transport)
      await transport.handleRequest(req.raw, reply.raw, req.body)
    },
  )
}
