// What every module is given when it is registered: the frozen config and the shared
// infrastructure. Modules never construct infrastructure themselves.
import type { CredentialCache } from './auth/cache.ts'
import type { Config } from './config/index.ts'
import type { Database } from './db/index.ts'
import type { EventSink } from './events.ts'
import type { PubSub } from './kv/index.ts'
import type { Clock } from './lib/clock.ts'

export type Deps = {
  config: Config
  db: Database
  clock: Clock
  credentials: CredentialCache
  /** Where modules announce changes (the webhooks outbox). */
  events: EventSink
  /** Messages to every instance: how a module's caches learn of changes made elsewhere. */
  pubsub: PubSub
}
