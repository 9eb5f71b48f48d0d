import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import {
  absoluteUrl,
  type ListSpec,
  listRoute,
  NoQuery,
  pageSchema,
  parseListQuery,
} from '../../platform/http/list.ts'
import {
  addComponents,
  dataSchema,
  errorResponses,
  messageDataSchema,
  noContent,
} from '../../platform/http/responses.ts'
import {
  callList,
  McpCall,
  McpPolicy,
  McpResource,
  McpServer,
  McpTool,
  PageQuery,
  POLICY_EXAMPLE,
  PolicyUpdate,
  RESOURCE_EXAMPLE,
  ResourceQuery,
  SERVER_EXAMPLE,
  ServerCreate,
  ServerParams,
  ServerUpdate,
  ToolCall,
  ToolCallOut,
} from './schemas.ts'
import type { McpService } from './service.ts'

const tags = ['MCP']
const read = { auth: { scope: 'mcp:read', workspace: true } } as const
const write = { auth: { scope: 'mcp:write', workspace: true } } as const
/** Servers and tools are listed in their own order: only `page` and `per_page` apply. */
const pages: ListSpec = { sortable: [], defaultSort: '', fields: [], includes: [] }
const pageOf = (query: Readonly<Record<string, unknown>>) => parseListQuery(query, pages)

export function mcpRoutes(fastify: FastifyInstance, service: McpService, publicUrl: string): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  addComponents(fastify, McpServer, McpTool, McpResource, McpCall, McpPolicy)
  const calls = listRoute(callList, McpCall, publicUrl, "A page of the workspace's audited MCP calls")
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
        response: { 200: pageSchema(McpServer, 'A page of MCP servers'), ...errorResponses() },
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
        querystring: NoQuery,
        response: {
          201: messageDataSchema(McpServer.ref, {
            description: 'The server was registered',
            example: { message: 'MCP server registered successfully.', data: SERVER_EXAMPLE },
          }),
          ...errorResponses('conflict'),
        },
      },
      config: write,
    },
    async (req, reply) => {
      const data = await service.register(req.workspace!, req.body)
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
        querystring: NoQuery,
        response: {
          200: dataSchema(McpServer.ref, { description: 'The server', example: { data: SERVER_EXAMPLE } }),
          ...errorResponses('not_found'),
        },
      },
      config: read,
    },
    async (req) => ({ data: await service.get(req.workspace!, req.params.id) }),
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
        querystring: NoQuery,
        response: {
          200: messageDataSchema(McpServer.ref, {
            description: 'The server as updated',
            example: { message: 'MCP server updated successfully.', data: SERVER_EXAMPLE },
          }),
          ...errorResponses('not_found', 'conflict'),
        },
      },
      config: write,
    },
    async (req) => {
      const data = await service.update(req.workspace!, req.params.id, req.body)
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
        querystring: NoQuery,
        response: {
          204: noContent('The server was removed and its connection closed'),
          ...errorResponses('not_found', 'conflict'),
        },
      },
      config: write,
    },
    async (req, reply) => {
      await service.remove(req.workspace!, req.params.id)
      return reply.code(204).send(null)
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
        response: {
          200: pageSchema(McpTool, "A page of the server's tools"),
          ...errorResponses('not_found', 'upstream_error'),
        },
      },
      config: read,
    },
    (req) => service.tools(req.workspace!, req.params.id, pageOf(req.query), absoluteUrl(publicUrl, req.url)),
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
        querystring: NoQuery,
        response: { 200: ToolCallOut, ...errorResponses('not_found', 'upstream_error') },
      },
      config: write,
    },
    (req) => service.call(req.principal!, req.workspace!, req.body),
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
        response: {
          200: dataSchema(McpResource.ref, {
            description: 'The resource',
            example: { data: RESOURCE_EXAMPLE },
          }),
          ...errorResponses('not_found', 'upstream_error'),
        },
      },
      config: read,
    },
    async (req) => {
      // The router has URL-decoded the remainder once: `demo%3A%2F%2Fx` and `demo://x` are one URI.
      return { data: await service.read(req.principal!, req.workspace!, req.query.server, req.params['*']) }
    },
  )

  app.get(
    '/api/v1/mcp/policy',
    {
      schema: {
        tags,
        summary: "Get the workspace's MCP allowlist",
        operationId: 'getMcpPolicy',
        querystring: NoQuery,
        response: {
          200: dataSchema(McpPolicy.ref, { description: 'The allowlist', example: { data: POLICY_EXAMPLE } }),
          ...errorResponses(),
        },
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
        querystring: NoQuery,
        response: {
          200: messageDataSchema(McpPolicy.ref, {
            description: 'The allowlist as set',
            example: { message: 'MCP allowlist updated successfully.', data: POLICY_EXAMPLE },
          }),
          ...errorResponses(),
        },
      },
      config: { auth: { scope: 'workspaces:write', workspace: true } },
    },
    async (req) => ({
      message: 'MCP allowlist updated successfully.',
      data: await service.setPolicy(req.workspace!, req.body),
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
        querystring: calls.querystring,
        response: { 200: calls.response, ...errorResponses() },
      },
      config: read,
    },
    (req) => {
      const { query, url } = calls.parse(req)
      return service.calls(req.workspace!, query, url)
    },
  )
}
