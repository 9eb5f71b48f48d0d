import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { includeQuerySchema, listRoute, NoQuery, parseIncludes } from '../../platform/http/list.ts'
import {
  addComponents,
  dataSchema,
  errorResponses,
  messageDataSchema,
  noContent,
} from '../../platform/http/responses.ts'
import {
  WORKSPACE_EXAMPLE,
  Workspace,
  WorkspaceCreate,
  WorkspaceParams,
  WorkspaceUpdate,
  workspaceList,
} from './schemas.ts'
import type { WorkspaceService } from './service.ts'

const tags = ['Workspaces']

export function workspaceRoutes(
  fastify: FastifyInstance,
  service: WorkspaceService,
  publicUrl: string,
): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  addComponents(fastify, Workspace)
  const list = listRoute(workspaceList, Workspace, publicUrl, 'A page of workspaces')
  const location = (id: number) => `${publicUrl}/api/v1/workspaces/${id}`

  app.get(
    '/api/v1/workspaces',
    {
      schema: {
        tags,
        summary: 'List workspaces',
        operationId: 'listWorkspaces',
        description: 'The workspaces the caller can see: a key sees its own, the master key sees all.',
        querystring: list.querystring,
        response: { 200: list.response, ...errorResponses() },
      },
      config: { auth: { scope: 'workspaces:read', workspace: false } },
    },
    (req) => {
      const { query, url } = list.parse(req)
      return service.list(req.principal!, query, url)
    },
  )

  app.get(
    '/api/v1/workspaces/:id',
    {
      schema: {
        tags,
        summary: 'Get a workspace',
        operationId: 'getWorkspace',
        params: WorkspaceParams,
        querystring: includeQuerySchema(workspaceList),
        response: {
          200: dataSchema(Workspace.ref, {
            description: 'The workspace',
            example: { data: WORKSPACE_EXAMPLE },
          }),
          ...errorResponses('not_found'),
        },
      },
      config: { auth: { scope: 'workspaces:read', workspace: false } },
    },
    async (req) => {
      const include = parseIncludes(req.query, workspaceList)
      return { data: await service.get(req.principal!, req.params.id, include) }
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
        querystring: NoQuery,
        response: {
          201: messageDataSchema(Workspace.ref, {
            description: 'The workspace was created; `Location` is its URL',
            example: {
              message: 'Workspace created successfully.',
              data: {
                ...WORKSPACE_EXAMPLE,
                id: 2,
                name: 'New Workspace',
                slug: 'new-workspace',
                settings: {},
              },
            },
          }),
          ...errorResponses('conflict'),
        },
      },
      config: { auth: { scope: 'workspaces:write', workspace: false } },
    },
    async (req, reply) => {
      const data = await service.create(req.principal!, req.body)
      return reply
        .code(201)
        .header('location', location(data.id))
        .send({ message: 'Workspace created successfully.', data })
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
        querystring: NoQuery,
        response: {
          200: messageDataSchema(Workspace.ref, { description: 'The workspace as updated' }),
          ...errorResponses('not_found', 'conflict'),
        },
      },
      config: { auth: { scope: 'workspaces:write', workspace: false } },
    },
    async (req) => {
      const data = await service.update(req.principal!, req.params.id, req.body)
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
        querystring: NoQuery,
        response: { 204: noContent('The workspace was deleted'), ...errorResponses('not_found') },
      },
      config: { auth: { scope: 'workspaces:delete', workspace: false } },
    },
    async (req, reply) => {
      await service.remove(req.principal!, req.params.id)
      return reply.code(204).send(null)
    },
  )
}
