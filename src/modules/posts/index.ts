// Posts module: the example resource of seed 004 (scopes `posts:*`, events `post.*`,
// entitlement `posts`). Copy this folder to add a resource: docs/adding-a-resource.md.
import type { FastifyInstance } from 'fastify'
import type { Deps } from '../../platform/deps.ts'
import type { EntitlementService } from '../entitlements/index.ts'
import { postRoutes } from './routes.ts'
import { PostService } from './service.ts'
import { countPosts } from './store.ts'

export async function postsModule(app: FastifyInstance, deps: Deps & { entitlements: EntitlementService }) {
  registerPostCounter(deps.entitlements)
  postRoutes(app, new PostService(deps, deps.entitlements), deps.config.publicUrl)
}

/** Posts keep their entitlement counter in the statements that create and delete them. */
export function registerPostCounter(entitlements: EntitlementService): void {
  entitlements.registerCounter('posts', countPosts, { kept: true })
}
