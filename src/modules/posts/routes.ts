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
import { POST_EXAMPLE, Post, PostCreate, PostParams, PostUpdate, postList } from './schemas.ts'
import type { PostService } from './service.ts'

const tags = ['Posts']

export function postRoutes(fastify: FastifyInstance, service: PostService, publicUrl: string): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  addComponents(fastify, Post)
  const list = listRoute(postList, Post, publicUrl, 'A page of posts')
  const location = (id: unknown) => `${publicUrl}/api/v1/posts/${id}`

  app.get(
    '/api/v1/posts',
    {
      schema: {
        tags,
        summary: 'List posts',
        operationId: 'listPosts',
        description: 'Newest first. `search` is full-text search over title and body (web-search syntax).',
        querystring: list.querystring,
        response: { 200: list.response, ...errorResponses() },
      },
      config: { auth: { scope: 'posts:read', workspace: true } },
    },
    (req) => {
      const { query, url } = list.parse(req)
      return service.list(req.workspace!, query, url)
    },
  )

  app.get(
    '/api/v1/posts/:id',
    {
      schema: {
        tags,
        summary: 'Get a post',
        operationId: 'getPost',
        params: PostParams,
        querystring: includeQuerySchema(postList),
        response: {
          200: dataSchema(Post.ref, { description: 'The post', example: { data: POST_EXAMPLE } }),
          ...errorResponses('not_found'),
        },
      },
      config: { auth: { scope: 'posts:read', workspace: true } },
    },
    async (req) => {
      const include = parseIncludes(req.query, postList)
      return { data: await service.get(req.workspace!, req.params.id, include) }
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
        querystring: NoQuery,
        response: {
          201: messageDataSchema(Post.ref, {
            description: 'The post was created; `Location` is its URL',
            example: { message: 'Post created successfully.', data: POST_EXAMPLE },
          }),
          ...errorResponses('feature_limit_reached'),
        },
      },
      config: { auth: { scope: 'posts:write', workspace: true } },
    },
    async (req, reply) => {
      const data = await service.create(req.principal!, req.workspace!, req.body)
      return reply
        .code(201)
        .header('location', location(data.id))
        .send({ message: 'Post created successfully.', data })
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
        querystring: NoQuery,
        response: {
          200: messageDataSchema(Post.ref, {
            description: 'The post as updated',
            example: { message: 'Post updated successfully.', data: { ...POST_EXAMPLE, status: 'archived' } },
          }),
          ...errorResponses('not_found'),
        },
      },
      config: { auth: { scope: 'posts:write', workspace: true } },
    },
    async (req) => {
      const data = await service.update(req.workspace!, req.params.id, req.body)
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
        querystring: NoQuery,
        response: { 204: noContent('The post was deleted'), ...errorResponses('not_found') },
      },
      config: { auth: { scope: 'posts:delete', workspace: true } },
    },
    async (req, reply) => {
      await service.remove(req.workspace!, req.params.id)
      return reply.code(204).send(null)
    },
  )
}
