// Users module: people behind credentials, and `GET /api/v1/me`.
import type { FastifyInstance } from 'fastify'
import { registerScopeResources } from '../../platform/auth/index.ts'
import { userRoutes } from './routes.ts'

/** Registers what the module owns: the `users` scope resource. */
export function registerUsers(): void {
  registerScopeResources('users')
}

export async function usersModule(app: FastifyInstance): Promise<void> {
  userRoutes(app)
}

export { UserRef } from './schemas.ts'
export { findOrCreateUser, findUser, usersById } from './store.ts'
export { users } from './tables.ts'
