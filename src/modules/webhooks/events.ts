// The event types endpoints can subscribe to, and how a subscription matches: an exact type,
// `resource.*`, or `*`.

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
