// How a subscription matches event types (an exact type, `resource.*`, or `*`), and what it
// takes to subscribe: an event carries its resource, so subscribing to it is reading that
// resource and needs the resource's read scope. The types come from the catalogue the modules
// register into (platform/events.ts); this module registers its own two.
import type { Scope } from '../../platform/auth/index.ts'
import { registerEventTypes, registeredEventTypes } from '../../platform/events.ts'

/** What a `webhook.test` event says. */
export const TEST_MESSAGE = 'This is a test event sent from core-api.'

/** The event types of the webhooks module itself. */
export function registerWebhookEvents(): void {
  registerEventTypes(
    {
      type: 'webhook.test',
      readScope: 'webhooks:read',
      description: 'Sent by `POST /webhooks/{id}/test`, to that endpoint only',
      example: { webhook_id: 1, message: TEST_MESSAGE },
    },
    {
      type: 'webhook.disabled',
      readScope: 'webhooks:read',
      description:
        'An endpoint was disabled after failing for WEBHOOK_DISABLE_AFTER_HOURS, or answering 410 Gone',
      example: {
        webhook_id: 1,
        url: 'https://your-app.com/webhooks',
        reason: 'The endpoint kept failing without a success.',
      },
    },
  )
}

/** Null when the pattern is valid, else why not. */
export function patternProblem(pattern: string): string | null {
  const types = registeredEventTypes()
  if (pattern === '*' || types.some((t) => t.type === pattern)) return null
  const [resource, action] = pattern.split('.')
  if (action === '*' && resource && types.some((t) => t.type.startsWith(`${resource}.`))) return null
  return `Unknown event "${pattern}". Events: ${types.map((t) => t.type).join(', ')}, a resource wildcard such as post.*, or *.`
}

/** Whether a subscription takes an event type; the outbox write (`insertEvent`) says the same in SQL. */
function matches(patterns: readonly string[], type: string): boolean {
  for (const pattern of patterns) {
    if (pattern === '*' || pattern === type) return true
    if (pattern.endsWith('.*') && type.startsWith(pattern.slice(0, -1))) return true
  }
  return false
}

/**
 * The first read scope the `patterns` need that `granted` lacks, with the pattern that needs
 * it; null when every matched event type is readable. `*` needs every type's read scope.
 */
export function missingReadScope(
  patterns: readonly string[],
  granted: ReadonlySet<string>,
): { scope: Scope; pattern: string } | null {
  const types = registeredEventTypes()
  for (const pattern of patterns) {
    for (const def of types) {
      if (matches([pattern], def.type) && !granted.has(def.readScope))
        return { scope: def.readScope, pattern }
    }
  }
  return null
}
