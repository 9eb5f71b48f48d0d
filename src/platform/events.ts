// Domain events: a module announces a change (`post.created`) inside the transaction that makes
// it, so the announcement commits or rolls back with the change. The webhooks module is the
// sink; modules see only this interface.
import type { Scope } from './auth/scopes.ts'
import type { Executor } from './db/index.ts'

export type DomainEvent = {
  workspaceId: number
  /** `<resource>.<verb>`, such as `post.created`. */
  type: string
  data: Record<string, unknown>
}

export interface EventSink {
  /** Records the event in the transaction `tx`; it is delivered once `tx` commits. */
  emit(tx: Executor, event: DomainEvent): Promise<void>
}

/** A sink that drops events (tools that change data outside the server, such as the CLI). */
export const noEvents: EventSink = { emit: async () => {} }

/** An event type a module announces: its name, the scope that reads it, and what it means. */
export type EventType = {
  /** `<resource>.<verb>` such as `post.created`, or `<resource>.<thing>.<verb>`. */
  type: string
  /** Subscribing to the event is reading its resource: the read scope it takes. */
  readScope: Scope
  description: string
  /**
   * What `data` holds, as the module really sends it: the catalogue shows it inside the
   * envelope every receiver gets (`GET /webhooks/event-types`).
   */
  example: Record<string, unknown>
}

// `<resource>.<verb>`, or `<resource>.<thing>.<verb>` for a resource with several kinds of
// record (`seo.report.created`); `<resource>.*` matches both.
const EVENT_TYPE = /^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*){1,2}$/
const eventTypes = new Map<string, EventType>()

/**
 * Adds event types to the catalogue webhooks subscribe to. Each module registers the events it
 * emits when the application is composed; registering the same type again is a no-op.
 */
export function registerEventTypes(...types: EventType[]): void {
  for (const def of types) {
    if (!EVENT_TYPE.test(def.type)) throw new Error(`Invalid event type "${def.type}"`)
    const known = eventTypes.get(def.type)
    if (known && known.readScope !== def.readScope)
      throw new Error(`Event type "${def.type}" is registered twice with different scopes`)
    eventTypes.set(def.type, Object.freeze({ ...def }))
  }
}

/** The registered event types, in registration order. */
export function registeredEventTypes(): readonly EventType[] {
  return [...eventTypes.values()]
}
