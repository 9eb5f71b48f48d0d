// The transactional outbox other modules emit into: an event is written in the transaction of
// the change that caused it, with one pending delivery per subscribed endpoint, and workers are
// woken once it commits. Also what every receiver gets: the event id and the envelope.
import type { Database, Executor } from '../../platform/db/index.ts'
import type { Deps } from '../../platform/deps.ts'
import type { DomainEvent, EventSink } from '../../platform/events.ts'
import { isoSeconds } from '../../platform/lib/clock.ts'
import { newIdentifier } from '../../platform/lib/random.ts'
import type { DisabledEndpoint } from './outcomes.ts'
import { insertEvent } from './store.ts'

export function newEventId(): string {
  return newIdentifier('evt_', 24)
}

/** The envelope every receiver gets: {id, type, timestamp, workspace_id, data}. */
export function envelope(id: string, event: DomainEvent, now: number): string {
  return JSON.stringify({
    id,
    type: event.type,
    timestamp: isoSeconds(now),
    workspace_id: event.workspaceId,
    data: event.data,
  })
}

/** The outbox: events are written in the caller's transaction and delivered once it commits. */
export class WebhookEvents implements EventSink {
  private readonly clock: Deps['clock']

  constructor(clock: Deps['clock']) {
    this.clock = clock
  }

  async emit(tx: Executor, event: DomainEvent): Promise<void> {
    const now = this.clock.now()
    const id = newEventId()
    await insertEvent(tx, {
      id,
      workspaceId: event.workspaceId,
      type: event.type,
      payload: envelope(id, event, now),
      now: new Date(now),
    })
  }
}

/** Announces an endpoint the delivery worker disabled to the workspace's other endpoints. */
export function announceDisabled(db: Database, events: EventSink, endpoint: DisabledEndpoint): Promise<void> {
  return db.transaction((tx) =>
    events.emit(tx, {
      workspaceId: endpoint.workspaceId,
      type: 'webhook.disabled',
      data: { webhook_id: endpoint.endpointId, url: endpoint.url, reason: endpoint.reason },
    }),
  )
}
