import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { listQuerySchema, pageSchema, parseListQuery } from '../../platform/http/list.ts'
import { absoluteUrl, dataSchema, errorResponses, messageDataSchema } from '../../platform/http/responses.ts'
import { WorkspaceCreate, WorkspaceOut, WorkspaceParams, WorkspaceUpdate, workspaceList } from './schemas.ts'
import type { WorkspaceService } from './service.ts'

const tags = ['Workspaces']
const IncludeQuery = Type.Object(
  { include: Type.Optional(Type.String({ maxLength: 200, description: 'Relations to embed: owner' })) },
  { additionalProperties: false },
)

export function workspaceRoutes(app: FastifyInstance, service: WorkspaceService, publicUrl: string): void {
  app.get(
    '/api/v1/workspaces',
    {
      schema: {
        tags,
        summary: 'List workspaces',
        operationId: 'listWorkspaces',
        description: 'The workspaces the caller can see: a key sees its own, the master key sees all.',
        querystring: listQuerySchema(workspaceList),
        response: { 200: pageSchema(Type.Partial(WorkspaceOut)), ...errorResponses() },
      },
      config: { auth: { scope: 'workspaces:read', workspace: false } },
    },
    (req) =>
      service.list(
        req.principal!,
        parseListQuery(req.query as Record<string, unknown>, workspaceList),
        absoluteUrl(publicUrl, req.url),
      ),
  )

  app.get(
    '/api/v1/workspaces/:id',
    {
      schema: {
        tags,
        summary: 'Get a workspace',
        operationId: 'getWorkspace',
        params: WorkspaceParams,
        querystring: IncludeQuery,
        response: { 200: dataSchema(WorkspaceOut), ...errorResponses(404) },
      },
      config: { auth: { scope: 'workspaces:read', workspace: false } },
    },
    async (req) => {
      const { id } = req.params as { id: number }
      const include = parseListQuery(req.query as Record<string, unknown>, workspaceList).include
      return { data: await service.get(req.principal!, id, include) }
    },
  )

  app.post(
    '/api/v1/workspaces',
    {
      schema: {
        tags,
        summary: 'Create a workspace',
        operationId: 'createWorkspace',
        description: 'The slug is derived from the name when omitted; a taken slug is 409 `conflict`.',
        body: WorkspaceCreate,
        response: { 201: messageDataSchema(WorkspaceOut), ...errorResponses(409) },
      },
      config: { auth: { scope: 'workspaces:write', workspace: false } },
    },
    async (req, reply) => {
      const data = await service.create(req.principal!, req.body as never)
      return reply.code(201).send({ message: 'Workspace created successfully.', data })
    },
  )

  app.patch(
    '/api/v1/workspaces/:id',
    {
      schema: {
        tags,
        summary: 'Update a workspace',
        operationId: 'updateWorkspace',
        description: '`settings` is merged into the current settings; a key set to `null` is removed.',
        params: WorkspaceParams,
        body: WorkspaceUpdate,
        response: { 200: messageDataSchema(WorkspaceOut), ...errorResponses(404, 409) },
      },
      config: { auth: { scope: 'workspaces:write', workspace: false } },
    },
    async (req) => {
      const { id } = req.params as { id: number }
      const data = await service.update(req.principal!, id, req.body as never)
      return { message: 'Workspace updated successfully.', data }
    },
  )

  app.delete(
    '/api/v1/workspaces/:id',
    {
      schema: {
        tags,
        summary: 'Delete a workspace',
        operationId: 'deleteWorkspace',
        description: 'Deletes the workspace with its keys and memberships. Its keys stop working at once.',
        params: WorkspaceParams,
        response: { 204: Type.Null(), ...errorResponses(404) },
      },
      config: { auth: { scope: 'workspaces:delete', workspace: false } },
    },
    async (req, reply) => {
      const { id } = req.params as { id: number }
      await service.remove(req.principal!, id)
      return reply.code(204).send()
    },
  )
}
