// What each membership role allows in its workspace. A user-level credential (a session, an
// OAuth token) is limited by its own scopes and, on top, by its user's role in the workspace it
// acts in: the owner may do everything; an admin everything but deleting the workspace; a
// member reads everything and writes posts, but manages neither keys, webhooks, members nor the
// workspace itself.
import { expandScopes, type Role, type Scope } from '../../platform/auth/index.ts'

const ROLE_SCOPES: Record<Role, { grant: readonly string[]; except: readonly Scope[] }> = {
  owner: { grant: ['*'], except: [] },
  admin: { grant: ['*'], except: ['workspaces:delete'] },
  member: { grant: ['read', 'posts:write', 'posts:delete'], except: [] },
}

// Worked out on first use: every module has registered its scope resources by then.
const granted = new Map<string, ReadonlySet<Scope>>()

/** The concrete scopes `role` allows; an unknown role allows nothing. */
export function roleGrants(role: string): ReadonlySet<Scope> {
  let scopes = granted.get(role)
  if (!scopes) {
    const spec = ROLE_SCOPES[role as Role]
    const set = spec ? expandScopes(spec.grant) : new Set<Scope>()
    for (const scope of spec?.except ?? []) set.delete(scope)
    scopes = set
    granted.set(role, scopes)
  }
  return scopes
}
