// Webhooks module (seed 004 "Webhooks", Standard Webhooks signatures): endpoints, the
// transactional outbox other modules emit into, and the delivery worker.
import type { FastifyInstance } from 'fastify'
import { registerScopeResources } from '../../platform/auth/index.ts'
import type { DatabaseHandle } from '../../platform/db/index.ts'
import type { Deps } from '../../platform/deps.ts'
import type { SecretBox } from '../../platform/lib/secret-box.ts'
import type { EntitlementService } from '../entitlements/index.ts'
import { Deliverer, type DeliveryPolicy, DeliveryWorker } from './delivery.ts'
import { registerWebhookEvents } from './events.ts'
import { announceDisabled, WebhookEvents } from './outbox.ts'
import { OutcomeWriter } from './outcomes.ts'
import { webhookRoutes } from './routes.ts'
import { Sender } from './sender.ts'
import { WebhookService } from './service.ts'
import { countEndpoints } from './store.ts'

/** How long a claim lasts: long enough that a live attempt (at most the timeout) never loses it. */
function claimMs(config: Deps['config']): number {
  return Math.max(config.webhookClaimSeconds, config.webhookTimeoutSeconds * 2) * 1000
}

/**
 * The worker's own connections: one claiming, one writing outcomes, one for a purge or a
 * skipped delivery (each of those runs one statement or transaction at a time).
 */
const WORKER_CONNECTIONS = 3

export type Webhooks = { service: WebhookService; worker: DeliveryWorker; sender: Sender }

/** The event sink, needed before the modules that emit events are built. */
export function createEventSink(clock: Deps['clock']): WebhookEvents {
  return new WebhookEvents(clock)
}

/** Builds the module, registering its scope, events and plan-limit counter (kept in its create and delete). */
export function createWebhooks(input: {
  deps: Deps
  database: DatabaseHandle
  box: SecretBox
  entitlements: EntitlementService
  log: (message: string, error: unknown) => void
}): Webhooks {
  const { deps, database, box, entitlements, log } = input
  const { config, clock } = deps
  registerScopeResources('webhooks')
  registerWebhookEvents()
  // Kept: the create reserves a slot of the counter and the delete statement gives it back.
  entitlements.registerCounter('webhooks', countEndpoints, { kept: true })
  const policy: DeliveryPolicy = {
    scheduleMs: config.webhookRetrySchedule.map((s) => s * 1000),
    manualAttempts: 10,
    disableAfterMs: config.webhookDisableAfterHours * 3_600_000,
  }
  const sender = new Sender({
    allowInsecure: config.webhookAllowInsecureUrls,
    timeoutMs: config.webhookTimeoutSeconds * 1000,
  })
  // The worker's claims, outcomes and purges run on connections of their own: behind a queue
  // of requests waiting for the shared pool, a claim would wait as long as the slowest write.
  const background = database.separate(WORKER_CONNECTIONS)
  const outcomes = new OutcomeWriter({
    db: background,
    disableAfterMs: policy.disableAfterMs,
    onDisabled: (endpoint) => announceDisabled(deps.db, deps.events, endpoint),
    log,
  })
  const deliverer = new Deliverer({ db: background, clock, box, sender, policy, outcomes })
  const service = new WebhookService({ deps, box, entitlements, deliverer, policy, claimMs: claimMs(config) })
  const worker = new DeliveryWorker({
    database,
    db: background,
    deliverer,
    clock,
    log,
    options: {
      concurrency: config.webhookConcurrency,
      perEndpoint: config.webhookEndpointConcurrency,
      pollMs: config.webhookPollMs,
      lockMs: claimMs(config),
      batch: 100,
      retentionMs: config.webhookRetentionDays * 86_400_000,
      purgeEveryMs: 600_000,
    },
  })
  return { service, worker, sender }
}

export async function webhooksModule(
  app: FastifyInstance,
  webhooks: Webhooks,
  publicUrl: string,
): Promise<void> {
  webhookRoutes(app, webhooks.service, publicUrl)
}
