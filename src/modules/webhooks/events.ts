// The event types endpoints can subscribe to, how a subscription matches (an exact type,
// `resource.*`, or `*`), and what it takes to subscribe: an event carries its resource, so
// subscribing to it is reading that resource and needs the resource's read scope.
import type { Scope } from '../../platform/auth/index.ts'

export const EVENT_TYPES = [
  'post.created',
  'post.updated',
  'post.deleted',
  'api_key.created',
  'api_key.rotated',
  'api_key.revoked',
  'workspace.updated',
  'webhook.test',
  'webhook.disabled',
] as const

type EventResource = (typeof EVENT_TYPES)[number] extends `${infer R}.${string}` ? R : never

/** The scope that reads each event resource: a new event type does not compile without one. */
const READ_SCOPE: Record<EventResource, Scope> = {
  post: 'posts:read',
  api_key: 'api-keys:read',
  workspace: 'workspaces:read',
  webhook: 'webhooks:read',
}

const resources = new Set(EVENT_TYPES.map((t) => t.split('.')[0]!))
const known = new Set<string>(EVENT_TYPES)

/** Null when the pattern is valid, else why not. */
export function patternProblem(pattern: string): string | null {
  if (pattern === '*' || known.has(pattern)) return null
  const [resource, action] = pattern.split('.')
  if (action === '*' && resource && resources.has(resource)) return null
  return `Unknown event "${pattern}". Events: ${EVENT_TYPES.join(', ')}, a resource wildcard such as post.*, or *.`
}

export function matches(patterns: readonly string[], type: string): boolean {
  for (const pattern of patterns) {
    if (pattern === '*' || pattern === type) return true
    if (pattern.endsWith('.*') && type.startsWith(pattern.slice(0, -1))) return true
  }
  return false
}

/**
 * The first read scope the `patterns` need that `granted` lacks, with the pattern that needs
 * it; null when every matched resource is readable. `*` needs every resource's read scope.
 */
export function missingReadScope(
  patterns: readonly string[],
  granted: ReadonlySet<string>,
): { scope: Scope; pattern: string } | null {
  for (const pattern of patterns) {
    const needed =
      pattern === '*'
        ? Object.values(READ_SCOPE)
        : [READ_SCOPE[pattern.split('.')[0] as EventResource]].filter((s) => s !== undefined)
    const scope = needed.find((s) => !granted.has(s))
    if (scope) return { scope, pattern }
  }
  return null
}
