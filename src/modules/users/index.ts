// Users module: people behind credentials, and `GET /api/v1/me`.
import type { FastifyInstance } from 'fastify'
import { userRoutes } from './routes.ts'

export async function usersModule(app: FastifyInstance): Promise<void> {
  userRoutes(app)
}

export { findOrCreateUser, findUser, usersById } from './store.ts'
export { users } from './tables.ts'
