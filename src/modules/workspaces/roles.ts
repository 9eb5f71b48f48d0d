// What each membership role allows in its workspace. A user-level credential (a session, an
// OAuth token) is limited by its own scopes and, on top, by its user's role in the workspace it
// acts in: the owner may do everything; an admin everything but deleting the workspace; a
// member reads everything, writes posts and manages their own API keys (creates keys for
// themself, and reads, rotates and revokes only keys they created), but manages neither other
// people's keys, webhooks, members nor the workspace itself.
import { expandScopes, type Role, type Scope } from '../../platform/auth/index.ts'

type RoleSpec = {
  grant: readonly string[]
  except: readonly Scope[]
  /** Resources the role manages only where the record is the user's own. */
  ownOnly: readonly string[]
}

const ROLE_SCOPES: Record<Role, RoleSpec> = {
  owner: { grant: ['*'], except: [], ownOnly: [] },
  admin: { grant: ['*'], except: ['workspaces:delete'], ownOnly: [] },
  member: {
    grant: ['read', 'posts:write', 'posts:delete', 'api-keys:write', 'api-keys:delete'],
    except: [],
    ownOnly: ['api-keys'],
  },
}

type RoleRule = { granted: ReadonlySet<Scope>; ownOnly?: ReadonlySet<string> }

// Worked out on first use: every module has registered its scope resources by then.
const rules = new Map<string, RoleRule>()

/**
 * What `role` allows: the concrete scopes, and the resources it manages only where they are
 * the user's own. An unknown role allows nothing.
 */
export function roleRule(role: string): RoleRule {
  let rule = rules.get(role)
  if (!rule) {
    const spec = ROLE_SCOPES[role as Role]
    const granted = spec ? expandScopes(spec.grant) : new Set<Scope>()
    for (const scope of spec?.except ?? []) granted.delete(scope)
    rule = { granted, ...(spec && spec.ownOnly.length > 0 && { ownOnly: new Set(spec.ownOnly) }) }
    rules.set(role, rule)
  }
  return rule
}

/** The concrete scopes `role` allows; an unknown role allows nothing. */
export function roleGrants(role: string): ReadonlySet<Scope> {
  return roleRule(role).granted
}
