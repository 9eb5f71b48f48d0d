// Domain events: a module announces a change (`post.created`) inside the transaction that makes
// it, so the announcement commits or rolls back with the change. The webhooks module is the
// sink; modules see only this interface.
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
