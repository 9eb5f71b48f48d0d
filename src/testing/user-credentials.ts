// A user-level credential for tests, until sessions and OAuth tokens exist: a bearer secret
// (`tu_…`) standing for a real user row, acting as user-level credentials do — with no
// workspace of its own, in the workspaces its user is a member of (the real resolver decides,
// from the real memberships). Only the secret's issuance is the test's; everything it reaches
// is the product's own storage and rules.
import type { FastifyInstance } from 'fastify'
import { findUser } from '../modules/users/index.ts'
import { expandScopes, type Principal } from '../platform/auth/index.ts'
import type { Database } from '../platform/db/index.ts'
import { sha256Hex } from '../platform/lib/hash.ts'
import { randomBase62 } from '../platform/lib/random.ts'

export type UserCredentials = {
  /** A secret acting as user `userId` with `scopes` (all by default). */
  issue(userId: number, scopes?: readonly string[]): string
}

/** Plugs the test credential into `app` (call before the app is ready, e.g. in `setup`). */
export function addUserCredentials(app: FastifyInstance, db: Database): UserCredentials {
  const issued = new Map<string, { userId: number; scopes: readonly string[] }>()
  app.addCredentialSource({
    prefixes: ['tu_'],
    async find(hash): Promise<Principal | null> {
      const grant = issued.get(hash)
      const user = grant ? await findUser(db, grant.userId) : null
      if (!grant || !user) return null
      return {
        type: 'session',
        user,
        workspace: null,
        key: null,
        scopes: grant.scopes,
        granted: expandScopes(grant.scopes),
        rateLimitTier: null,
        expiresAt: null,
      }
    },
  })
  return {
    issue(userId, scopes = ['*']) {
      const secret = `tu_${randomBase62(40)}`
      issued.set(sha256Hex(secret), { userId, scopes })
      return secret
    },
  }
}
