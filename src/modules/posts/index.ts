// Posts module: the example resource of seed 004 (scopes `posts:*`, events `post.*`,
// entitlement `posts`). Copy this folder to add a resource: docs/adding-a-resource.md.
import type { FastifyInstance } from 'fastify'
import { registerScopeResources } from '../../platform/auth/index.ts'
import type { Deps } from '../../platform/deps.ts'
import { registerEventTypes } from '../../platform/events.ts'
import type { EntitlementService } from '../entitlements/index.ts'
import { postRoutes } from './routes.ts'
import { POST_EXAMPLE } from './schemas.ts'
import { PostService } from './service.ts'
import { countPosts } from './store.ts'

/**
 * Builds the module's service and registers, at composition time, what it owns: its scope
 * resource, its event types and its plan-limit counter (kept in the statements that create and
 * delete posts).
 */
export function createPosts(deps: Deps, entitlements: EntitlementService): PostService {
  registerScopeResources('posts')
  // Created and updated carry the post with its tags; deleted, the post as it was.
  const withTags = { ...POST_EXAMPLE, tags: [{ id: 3, name: 'news' }] }
  registerEventTypes(
    { type: 'post.created', readScope: 'posts:read', description: 'A post was created', example: withTags },
    { type: 'post.updated', readScope: 'posts:read', description: 'A post was changed', example: withTags },
    {
      type: 'post.deleted',
      readScope: 'posts:read',
      description: 'A post was deleted',
      example: POST_EXAMPLE,
    },
  )
  entitlements.registerCounter('posts', countPosts, { kept: true })
  return new PostService(deps, entitlements)
}

export async function postsModule(app: FastifyInstance, service: PostService, publicUrl: string) {
  postRoutes(app, service, publicUrl)
}

export type { PostService }
