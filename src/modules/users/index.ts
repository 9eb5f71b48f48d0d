// Users module: people behind credentials, and `GET /api/v1/me`.
import type { FastifyInstance } from 'fastify'
import { registerScopeResources } from '../../platform/auth/index.ts'
import type { Deps } from '../../platform/deps.ts'
import { userRoutes } from './routes.ts'
import { type AddMember, UserService } from './service.ts'

/**
 * Builds the module's service and registers its `users` scope resource. Memberships belong to
 * the workspaces module, which hands over how to add one (`addMember`).
 */
export function createUsers(deps: Deps, addMember: AddMember): UserService {
  registerScopeResources('users')
  return new UserService(deps.db, addMember)
}

export async function usersModule(app: FastifyInstance, service: UserService): Promise<void> {
  userRoutes(app, service)
}

export { checkPassword, hashPassword, setPassword } from './passwords.ts'
export { UserCreate, UserRef } from './schemas.ts'
export type { AddMember, UserService } from './service.ts'
export {
  findOrCreateUser,
  findUser,
  findUserForSignIn,
  insertUser,
  updatePasswordHash,
  usersById,
} from './store.ts'
export { users } from './tables.ts'
