// Posts module: the example resource of seed 004 (scopes `posts:*`, events `post.*`,
// entitlement `posts`). Copy this folder to add a resource: docs/adding-a-resource.md.
import type { FastifyInstance } from 'fastify'
import { registerScopeResources } from '../../platform/auth/index.ts'
import type { Deps } from '../../platform/deps.ts'
import { registerEventTypes } from '../../platform/events.ts'
import type { EntitlementService } from '../entitlements/index.ts'
import { postRoutes } from './routes.ts'
import { PostService } from './service.ts'
import { countPosts } from './store.ts'

/**
 * Builds the module's service and registers, at composition time, what it owns: its scope
 * resource, its event types and its plan-limit counter (kept in the statements that create and
 * delete posts).
 */
export function createPosts(deps: Deps, entitlements: EntitlementService): PostService {
  registerScopeResources('posts')
  registerEventTypes(
    { type: 'post.created', readScope: 'posts:read', description: 'A post was created' },
    { type: 'post.updated', readScope: 'posts:read', description: 'A post was changed' },
    { type: 'post.deleted', readScope: 'posts:read', description: 'A post was deleted' },
  )
  entitlements.registerCounter('posts', countPosts, { kept: true })
  return new PostService(deps, entitlements)
}

export async function postsModule(app: FastifyInstance, service: PostService, publicUrl: string) {
  postRoutes(app, service, publicUrl)
}

export type { PostService }
