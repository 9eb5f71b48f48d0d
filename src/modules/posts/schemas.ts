import { Type } from 'typebox'
import type { ListSpec } from '../../platform/http/list.ts'
import { component } from '../../platform/http/responses.ts'
import { UserRef } from '../users/index.ts'

const POST_STATUSES = ['draft', 'published', 'archived'] as const
const Status = Type.Enum([...POST_STATUSES], { description: 'draft, published or archived' })
const Timestamp = Type.String({ format: 'date-time' })
const TagNames = Type.Array(Type.String({ minLength: 1, maxLength: 64, pattern: '\\S' }), {
  maxItems: 20,
  description: 'Tag names; unknown names are created in the workspace',
})

const PostOut = Type.Object({
  id: Type.Integer(),
  title: Type.String(),
  body: Type.String(),
  status: Type.String(),
  author_id: Type.Union([Type.Integer(), Type.Null()], {
    description: 'The user behind the credential that created it',
  }),
  published_at: Type.Union([Timestamp, Type.Null()]),
  created_at: Timestamp,
  updated_at: Timestamp,
  owner: Type.Optional(
    Type.Union([UserRef, Type.Null()], { description: 'With `include=owner`: the author' }),
  ),
  tags: Type.Optional(
    Type.Array(Type.Object({ id: Type.Integer(), name: Type.String() }), {
      description: 'With `include=tags`',
    }),
  ),
})

export const POST_EXAMPLE = {
  id: 42,
  title: 'Hello, world',
  body: 'Our first post.',
  status: 'published',
  author_id: 7,
  published_at: '2026-01-15T10:30:00Z',
  created_at: '2026-01-15T10:30:00Z',
  updated_at: '2026-01-15T10:30:00Z',
}

export const Post = component('Post', PostOut, {
  description: 'A post: the reference resource. `owner` and `tags` appear with `include`.',
  example: POST_EXAMPLE,
})

const Title = Type.String({ minLength: 1, maxLength: 255, pattern: '\\S' })
const Body = Type.String({ maxLength: 100_000 })

export const PostCreate = Type.Object(
  { title: Title, body: Type.Optional(Body), status: Type.Optional(Status), tags: Type.Optional(TagNames) },
  {
    additionalProperties: false,
    examples: [{ title: 'Hello, world', body: 'Our first post.', status: 'published', tags: ['news'] }],
  },
)

export const PostUpdate = Type.Object(
  {
    title: Type.Optional(Title),
    body: Type.Optional(Body),
    status: Type.Optional(Status),
    tags: Type.Optional(TagNames),
  },
  { additionalProperties: false, minProperties: 1, examples: [{ status: 'archived' }] },
)

export const PostParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) })

export const postList: ListSpec = {
  sortable: ['id', 'title', 'status', 'created_at', 'updated_at', 'published_at'],
  defaultSort: '-created_at',
  fields: ['title', 'body', 'status', 'author_id', 'published_at', 'created_at', 'updated_at'],
  includes: ['owner', 'tags'],
  statuses: POST_STATUSES,
  search: true,
  filters: {
    author_id: Type.Integer({ minimum: 1, maximum: 2_147_483_647, description: 'Posts by this user' }),
    tag: Type.String({ minLength: 1, maxLength: 64, description: 'Posts with this tag' }),
  },
}
