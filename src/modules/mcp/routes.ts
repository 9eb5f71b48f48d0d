import type { FastifyInstance } from 'fastify'
import { type Static, Type } from 'typebox'
import { type ListSpec, listQuerySchema, pageSchema, parseListQuery } from '../../platform/http/list.ts'
import { absoluteUrl, dataSchema, errorResponses, messageDataSchema } from '../../platform/http/responses.ts'
import {
  CallOut,
  callList,
  PageQuery,
  PolicyOut,
  PolicyUpdate,
  ResourceOut,
  ResourceQuery,
  ServerCreate,
  ServerOut,
  ServerParams,
  ServerUpdate,
  ToolCall,
  ToolCallOut,
  ToolOut,
} from './schemas.ts'
import type { McpService } from './service.ts'

const tags = ['MCP']
const read = { auth: { scope: 'mcp:read', workspace: true } } as const
const write = { auth: { scope: 'mcp:write', workspace: true } } as const
/** Servers and tools are listed in their own order: only `page` and `per_page` apply. */
const pages: ListSpec = { sortable: [], defaultSort: '', fields: [], includes: [] }
const pageOf = (query: unknown) => parseListQuery(query as Record<string, unknown>, pages)

export function mcpRoutes(app: FastifyInstance, service: McpService, publicUrl: string): void {
  app.get(
    '/api/v1/mcp/servers',
    {
      schema: {
        tags,
        summary: 'List MCP servers',
        operationId: 'listMcpServers',
        description:
          "The operator's servers (MCP_CONFIG) first, then the workspace's registered ones, each with its tool names.",
        querystring: PageQuery,
        response: { 200: pageSchema(ServerOut), ...errorResponses() },
      },
      config: read,
    },
    (req) => service.list(req.workspace!, pageOf(req.query), absoluteUrl(publicUrl, req.url)),
  )

  app.post(
    '/api/v1/mcp/servers',
    {
      schema: {
        tags,
        summary: 'Register an MCP server',
        operationId: 'createMcpServer',
        description:
          'A Streamable HTTP server for this workspace (https, public address; stdio servers come only from the operator). No connection is made until the server is used.',
        body: ServerCreate,
        response: { 201: messageDataSchema(ServerOut), ...errorResponses(409) },
      },
      config: write,
    },
    async (req, reply) => {
      const data = await service.register(req.workspace!, req.body as Static<typeof ServerCreate>)
      return reply.code(201).send({ message: 'MCP server registered successfully.', data })
    },
  )

  app.get(
    '/api/v1/mcp/servers/:id',
    {
      schema: {
        tags,
        summary: 'Get an MCP server',
        operationId: 'getMcpServer',
        params: ServerParams,
        response: { 200: dataSchema(ServerOut), ...errorResponses(404) },
      },
      config: read,
    },
    async (req) => ({
      data: await service.get(req.workspace!, (req.params as Static<typeof ServerParams>).id),
    }),
  )

  app.patch(
    '/api/v1/mcp/servers/:id',
    {
      schema: {
        tags,
        summary: 'Update a registered MCP server',
        operationId: 'updateMcpServer',
        description: '`headers`, when given, replaces the headers. The connection is reopened on next use.',
        params: ServerParams,
        body: ServerUpdate,
        response: { 200: messageDataSchema(ServerOut), ...errorResponses(404, 409) },
      },
      config: write,
    },
    async (req) => {
      const { id } = req.params as Static<typeof ServerParams>
      const data = await service.update(req.workspace!, id, req.body as Static<typeof ServerUpdate>)
      return { message: 'MCP server updated successfully.', data }
    },
  )

  app.delete(
    '/api/v1/mcp/servers/:id',
    {
      schema: {
        tags,
        summary: 'Remove a registered MCP server',
        operationId: 'deleteMcpServer',
        params: ServerParams,
        response: { 204: Type.Null(), ...errorResponses(404, 409) },
      },
      config: write,
    },
    async (req, reply) => {
      await service.remove(req.workspace!, (req.params as Static<typeof ServerParams>).id)
      return reply.code(204).send()
    },
  )

  app.get(
    '/api/v1/mcp/servers/:id/tools',
    {
      schema: {
        tags,
        summary: "List an MCP server's tools",
        operationId: 'listMcpTools',
        description:
          "Every page of the server's tool list (MCP cursors followed), cached for MCP_TOOLS_CACHE_SECONDS. 502 `upstream_error` when the server cannot be reached.",
        params: ServerParams,
        querystring: PageQuery,
        response: { 200: pageSchema(ToolOut), ...errorResponses(404, 502) },
      },
      config: read,
    },
    (req) =>
      service.tools(
        req.workspace!,
        (req.params as Static<typeof ServerParams>).id,
        pageOf(req.query),
        absoluteUrl(publicUrl, req.url),
      ),
  )

  app.post(
    '/api/v1/mcp/tools/call',
    {
      schema: {
        tags,
        summary: 'Call an MCP tool',
        operationId: 'callMcpTool',
        description:
          'A tool that reports an error answers 200 with `is_error: true`. Unknown server or tool: 404; a server that cannot be reached, closes the connection or does not answer in time: 502 `upstream_error`.',
        body: ToolCall,
        response: { 200: ToolCallOut, ...errorResponses(404, 502) },
      },
      config: write,
    },
    (req) => service.call(req.principal!, req.workspace!, req.body as Static<typeof ToolCall>),
  )

  app.get(
    '/api/v1/mcp/resources/*',
    {
      schema: {
        tags,
        summary: 'Read an MCP resource',
        operationId: 'getMcpResource',
        description:
          'The resource URI is the rest of the path, slashes included, URL-decoded (`demo://resource/static/document/a.md` or its encoded form); `server` names the server.',
        params: Type.Object({ '*': Type.String({ description: 'The resource URI' }) }),
        querystring: ResourceQuery,
        response: { 200: dataSchema(ResourceOut), ...errorResponses(404, 502) },
      },
      config: read,
    },
    async (req) => {
      // The router has URL-decoded the remainder once: `demo%3A%2F%2Fx` and `demo://x` are one URI.
      const uri = (req.params as { '*': string })['*']
      const { server } = req.query as Static<typeof ResourceQuery>
      return { data: await service.read(req.principal!, req.workspace!, server, uri) }
    },
  )

  app.get(
    '/api/v1/mcp/policy',
    {
      schema: {
        tags,
        summary: "Get the workspace's MCP allowlist",
        operationId: 'getMcpPolicy',
        response: { 200: dataSchema(PolicyOut), ...errorResponses() },
      },
      config: read,
    },
    async (req) => ({ data: await service.policy(req.workspace!) }),
  )

  app.put(
    '/api/v1/mcp/policy',
    {
      schema: {
        tags,
        summary: "Set the workspace's MCP allowlist",
        operationId: 'setMcpPolicy',
        description:
          'Which servers (`server`) and tools (`server/tool`) the keys of the workspace may use; `null` lifts every restriction. A workspace setting: it needs `workspaces:write`, so a key with `mcp:write` alone cannot widen its own reach.',
        body: PolicyUpdate,
        response: { 200: messageDataSchema(PolicyOut), ...errorResponses() },
      },
      config: { auth: { scope: 'workspaces:write', workspace: true } },
    },
    async (req) => ({
      message: 'MCP allowlist updated successfully.',
      data: await service.setPolicy(req.workspace!, req.body as Static<typeof PolicyUpdate>),
    }),
  )

  app.get(
    '/api/v1/mcp/calls',
    {
      schema: {
        tags,
        summary: 'List the audit of MCP calls',
        operationId: 'listMcpCalls',
        description:
          'Every tool call and resource read of the workspace: who, which server and tool or resource, how long, and the outcome. Arguments are kept with secret-looking values replaced by `[redacted]`.',
        querystring: listQuerySchema(callList),
        response: { 200: pageSchema(Type.Partial(CallOut)), ...errorResponses() },
      },
      config: read,
    },
    (req) =>
      service.calls(
        req.workspace!,
        parseListQuery(req.query as Record<string, unknown>, callList),
        absoluteUrl(publicUrl, req.url),
      ),
  )
}
