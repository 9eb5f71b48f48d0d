import type { FastifyInstance } from 'fastify'
import { type Static, Type } from 'typebox'
import { listQuerySchema, pageSchema, parseListQuery } from '../../platform/http/list.ts'
import { absoluteUrl, dataSchema, errorResponses, messageDataSchema } from '../../platform/http/responses.ts'
import { PostCreate, PostOut, PostParams, PostUpdate, postList } from './schemas.ts'
import type { PostService } from './service.ts'

const tags = ['Posts']
const IncludeQuery = Type.Object(
  { include: Type.Optional(Type.String({ maxLength: 200, description: 'Relations to embed: owner, tags' })) },
  { additionalProperties: false },
)

export function postRoutes(app: FastifyInstance, service: PostService, publicUrl: string): void {
  app.get(
    '/api/v1/posts',
    {
      schema: {
        tags,
        summary: 'List posts',
        operationId: 'listPosts',
        description: 'Newest first. `search` is full-text search over title and body (web-search syntax).',
        querystring: listQuerySchema(postList),
        response: { 200: pageSchema(Type.Partial(PostOut)), ...errorResponses() },
      },
      config: { auth: { scope: 'posts:read', workspace: true } },
    },
    (req) =>
      service.list(
        req.workspace!,
        parseListQuery(req.query as Record<string, unknown>, postList),
        absoluteUrl(publicUrl, req.url),
      ),
  )

  app.get(
    '/api/v1/posts/:id',
    {
      schema: {
        tags,
        summary: 'Get a post',
        operationId: 'getPost',
        params: PostParams,
        querystring: IncludeQuery,
        response: { 200: dataSchema(PostOut), ...errorResponses(404) },
      },
      config: { auth: { scope: 'posts:read', workspace: true } },
    },
    async (req) => {
      const { id } = req.params as Static<typeof PostParams>
      const include = parseListQuery(req.query as Record<string, unknown>, postList).include
      return { data: await service.get(req.workspace!, id, include) }
    },
  )

  app.post(
    '/api/v1/posts',
    {
      schema: {
        tags,
        summary: 'Create a post',
        operationId: 'createPost',
        description: "Counts against the plan's `posts` limit (403 `feature_limit_reached` beyond it).",
        body: PostCreate,
        response: { 201: messageDataSchema(PostOut), ...errorResponses() },
      },
      config: { auth: { scope: 'posts:write', workspace: true } },
    },
    async (req, reply) => {
      const data = await service.create(req.principal!, req.workspace!, req.body as Static<typeof PostCreate>)
      return reply.code(201).send({ message: 'Post created successfully.', data })
    },
  )

  app.patch(
    '/api/v1/posts/:id',
    {
      schema: {
        tags,
        summary: 'Update a post',
        operationId: 'updatePost',
        description: '`tags`, when given, replaces the tags.',
        params: PostParams,
        body: PostUpdate,
        response: { 200: messageDataSchema(PostOut), ...errorResponses(404) },
      },
      config: { auth: { scope: 'posts:write', workspace: true } },
    },
    async (req) => {
      const { id } = req.params as Static<typeof PostParams>
      const data = await service.update(req.workspace!, id, req.body as Static<typeof PostUpdate>)
      return { message: 'Post updated successfully.', data }
    },
  )

  app.delete(
    '/api/v1/posts/:id',
    {
      schema: {
        tags,
        summary: 'Delete a post',
        operationId: 'deletePost',
        params: PostParams,
        response: { 204: Type.Null(), ...errorResponses(404) },
      },
      config: { auth: { scope: 'posts:delete', workspace: true } },
    },
    async (req, reply) => {
      const { id } = req.params as Static<typeof PostParams>
      await service.remove(req.workspace!, id)
      return reply.code(204).send()
    },
  )
}
