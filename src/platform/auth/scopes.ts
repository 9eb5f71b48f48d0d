// Scopes are `<resource>:<action>`. `write` implies `read` of the same resource; `delete`
// implies nothing else. Shorthands: `read`, `write`, `delete` (that action on every resource),
// `<resource>:*` and `*`. A credential's scopes are expanded once, when it is loaded, into the
// set of concrete `resource:action` pairs it grants, so a check is one Set lookup.
//
// The platform names no resource: each module registers the resources it owns when the
// application is composed (`registerScopeResources('posts')`), before any credential is loaded.
// A scope naming a resource no module registered is unknown (422 where a client names it).

const ACTIONS = ['read', 'write', 'delete'] as const

type Action = (typeof ACTIONS)[number]
export type Scope = `${string}:${Action}`

const RESOURCE_NAME = /^[a-z][a-z0-9-]{0,39}$/
const resources = new Set<string>()
const actionSet = new Set<string>(ACTIONS)

/**
 * Adds resources to the scope vocabulary. Registering a resource again is a no-op (every app
 * built in one process registers the same modules).
 */
export function registerScopeResources(...names: string[]): void {
  for (const name of names) {
    if (!RESOURCE_NAME.test(name)) throw new Error(`Invalid scope resource "${name}"`)
    resources.add(name)
  }
}

/** The registered resources, in registration order. */
export function scopeResources(): readonly string[] {
  return [...resources]
}

export function isValidScope(scope: string): boolean {
  if (scope === '*' || actionSet.has(scope)) return true
  const [resource, action, extra] = scope.split(':')
  if (extra !== undefined || resource === undefined || action === undefined) return false
  return resources.has(resource) && (action === '*' || actionSet.has(action))
}

/** Every concrete `resource:action` the given scopes grant. Invalid scopes grant nothing. */
export function expandScopes(scopes: readonly string[]): Set<Scope> {
  const granted = new Set<Scope>()
  const grant = (resource: string, action: Action) => {
    granted.add(`${resource}:${action}`)
    if (action === 'write') granted.add(`${resource}:read`)
  }
  for (const scope of scopes) {
    if (!isValidScope(scope)) continue
    if (scope === '*') {
      for (const r of resources) for (const a of ACTIONS) grant(r, a)
    } else if (actionSet.has(scope)) {
      for (const r of resources) grant(r, scope as Action)
    } else {
      const [resource, action] = scope.split(':') as [string, string]
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
