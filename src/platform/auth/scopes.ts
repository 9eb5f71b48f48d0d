// Scopes are `<resource>:<action>`. `write` implies `read` of the same resource; `delete`
// implies nothing else. Shorthands: `read`, `write`, `delete` (that action on every resource),
// `<resource>:*` and `*`. A credential's scopes are expanded once, when it is loaded, into the
// set of concrete `resource:action` pairs it grants, so a check is one Set lookup.

export const RESOURCES = [
  'workspaces',
  'users',
  'api-keys',
  'webhooks',
  'entitlements',
  'posts',
  'seo',
  'pixel',
  'mcp',
  'oauth-clients',
] as const
export const ACTIONS = ['read', 'write', 'delete'] as const

export type Resource = (typeof RESOURCES)[number]
export type Action = (typeof ACTIONS)[number]
export type Scope = `${Resource}:${Action}`

const resourceSet = new Set<string>(RESOURCES)
const actionSet = new Set<string>(ACTIONS)

export function isValidScope(scope: string): boolean {
  if (scope === '*' || actionSet.has(scope)) return true
  const [resource, action, extra] = scope.split(':')
  if (extra !== undefined || resource === undefined || action === undefined) return false
  return resourceSet.has(resource) && (action === '*' || actionSet.has(action))
}

/** Every concrete `resource:action` the given scopes grant. Invalid scopes grant nothing. */
export function expandScopes(scopes: readonly string[]): Set<Scope> {
  const granted = new Set<Scope>()
  const grant = (resource: Resource, action: Action) => {
    granted.add(`${resource}:${action}`)
    if (action === 'write') granted.add(`${resource}:read`)
  }
  for (const scope of scopes) {
    if (!isValidScope(scope)) continue
    if (scope === '*') {
      for (const r of RESOURCES) for (const a of ACTIONS) grant(r, a)
    } else if (actionSet.has(scope)) {
      for (const r of RESOURCES) grant(r, scope as Action)
    } else {
      const [resource, action] = scope.split(':') as [Resource, string]
      if (action === '*') for (const a of ACTIONS) grant(resource, a)
      else grant(resource, action as Action)
    }
  }
  return granted
}

/** The first concrete scope in `wanted` that `granted` lacks, or null when all are granted. */
export function missingScope(wanted: readonly string[], granted: ReadonlySet<string>): Scope | null {
  for (const scope of expandScopes(wanted)) if (!granted.has(scope)) return scope
  return null
}
