// Recording attempt outcomes: one outcome that cannot be written must not sink the others of
// its batch, and an outcome is written only under the claim it was attempted with. Rows are
// made straight in the database, held by a claim of the test's own and not yet due, so the
// app's worker leaves them alone.
import { eq, inArray } from 'drizzle-orm'
import { expect, it } from 'vitest'
import { useTestApp } from '../../testing/harness.ts'
import { type Outcome, OutcomeWriter } from './outcomes.ts'
import { webhookDeliveries, webhookDeliveryAttempts, webhookEndpoints, webhookEvents } from './tables.ts'

const t = useTestApp({ env: { WEBHOOK_WORKER: '0' } })

/** An endpoint in a new workspace with one claimed delivery per token. */
async function claimed(tokens: string[]) {
  const db = t.database.db
  const ws = await t.workspace()
  const created = await t.call(t.masterKey, {
    method: 'POST',
    url: '/api/v1/webhooks',
    workspace: ws.id,
    payload: { url: 'https://hooks.invalid/x', events: ['webhook.test'] },
  })
  const endpointId = created.json().data.id as number
  const now = new Date(t.clock.now())
  const ids: number[] = []
  for (const [i, token] of tokens.entries()) {
    const eventId = `evt_outcome${endpointId}x${i}`
    await db
      .insert(webhookEvents)
      .values({ id: eventId, workspaceId: ws.id, type: 'webhook.test', payload: '{}' })
    const [row] = await db
      .insert(webhookDeliveries)
      .values({
        workspaceId: ws.id,
        endpointId,
        eventId,
        eventType: 'webhook.test',
        nextAttemptAt: new Date(now.getTime() + 86_400_000),
        lockedUntil: new Date(now.getTime() + 86_400_000),
        claimToken: token,
      })
      .returning({ id: webhookDeliveries.id })
    ids.push(row!.id)
  }
  return { endpointId, ids }
}

function outcome(
  deliveryId: number,
  endpointId: number,
  claimToken: string,
  result: Partial<Outcome['result']>,
) {
  const at = t.clock.now()
  return {
    deliveryId,
    endpointId,
    claimToken,
    url: 'https://hooks.invalid/x',
    attempt: 1,
    status: result.ok === false ? 'retrying' : 'success',
    nextAttemptAt: result.ok === false ? at + 5000 : null,
    gone: false,
    result: {
      ok: true,
      status: 200,
      body: 'fine',
      durationMs: 3,
      error: null,
      retryAfterMs: null,
      ...result,
    },
    headers: { 'webhook-id': 'evt_x' },
    at,
  } satisfies Outcome
}

it('writes the rest of a batch when one outcome cannot be written, and that one without the answer', async () => {
  const logged: string[] = []
  const writer = new OutcomeWriter({
    db: t.database.db,
    disableAfterMs: 3_600_000,
    onDisabled: async () => {},
    log: (message) => logged.push(message),
  })
  const healthy = await claimed(['h'])
  const hostile = await claimed(['x'])
  // A status no integer column holds: the batched statement fails as a whole.
  const bad = outcome(hostile.ids[0]!, hostile.endpointId, 'x', {
    ok: false,
    status: 2 ** 40,
    body: 'bad',
    error: 'HTTP 1099511627776',
  })
  await Promise.all([
    writer.add(outcome(healthy.ids[0]!, healthy.endpointId, 'h', { body: 'ok body' })),
    writer.add(bad),
  ])
  const rows = await t.database.db
    .select()
    .from(webhookDeliveries)
    .where(inArray(webhookDeliveries.id, [healthy.ids[0]!, hostile.ids[0]!]))
  const byId = new Map(rows.map((r) => [r.id, r]))
  expect(byId.get(healthy.ids[0]!)).toMatchObject({
    status: 'success',
    attempt: 1,
    responseCode: 200,
    responseBody: 'ok body',
    lockedUntil: null,
    claimToken: null,
  })
  expect(byId.get(hostile.ids[0]!)).toMatchObject({
    status: 'retrying',
    attempt: 1,
    responseCode: null,
    responseBody: '',
    error: 'The answer could not be stored.',
    lockedUntil: null,
  })
  const counters = await t.database.db
    .select({ id: webhookEndpoints.id, s: webhookEndpoints.successCount, f: webhookEndpoints.failureCount })
    .from(webhookEndpoints)
    .where(inArray(webhookEndpoints.id, [healthy.endpointId, hostile.endpointId]))
  expect(counters.sort((a, b) => a.id - b.id)).toEqual([
    { id: healthy.endpointId, s: 1, f: 0 },
    { id: hostile.endpointId, s: 0, f: 1 },
  ])
  // Each attempt keeps its row, written with its outcome: the hostile one without the answer.
  const attempts = await t.database.db
    .select()
    .from(webhookDeliveryAttempts)
    .where(inArray(webhookDeliveryAttempts.deliveryId, [healthy.ids[0]!, hostile.ids[0]!]))
  expect(attempts.sort((a, b) => a.deliveryId - b.deliveryId)).toEqual([
    expect.objectContaining({
      deliveryId: healthy.ids[0],
      attempt: 1,
      responseCode: 200,
      responseBody: 'ok body',
    }),
    expect.objectContaining({
      deliveryId: hostile.ids[0],
      attempt: 1,
      responseCode: null,
      responseBody: '',
      error: 'The answer could not be stored.',
    }),
  ])
  expect(logged).toEqual([
    'could not record a batch of webhook delivery outcomes; recording them one by one',
    `could not record the outcome of webhook delivery ${hostile.ids[0]}; recording it without the answer`,
  ])
})

it('drops an outcome whose claim is no longer held, and counts it nowhere', async () => {
  const writer = new OutcomeWriter({
    db: t.database.db,
    disableAfterMs: 3_600_000,
    onDisabled: async () => {},
    log: () => {},
  })
  const { endpointId, ids } = await claimed(['current', 'current'])
  await Promise.all([
    writer.add(outcome(ids[0]!, endpointId, 'lapsed', {})),
    writer.add(outcome(ids[1]!, endpointId, 'current', {})),
  ])
  const rows = await t.database.db
    .select()
    .from(webhookDeliveries)
    .where(eq(webhookDeliveries.endpointId, endpointId))
  expect(rows.sort((a, b) => a.id - b.id).map((r) => [r.status, r.attempt, r.claimToken])).toEqual([
    ['pending', 0, 'current'],
    ['success', 1, null],
  ])
  const [endpoint] = await t.database.db
    .select()
    .from(webhookEndpoints)
    .where(eq(webhookEndpoints.id, endpointId))
  expect(endpoint).toMatchObject({ successCount: 1, failureCount: 0 })
  // Only the attempt whose outcome was written is kept.
  const attempts = await t.database.db
    .select({ deliveryId: webhookDeliveryAttempts.deliveryId })
    .from(webhookDeliveryAttempts)
    .where(inArray(webhookDeliveryAttempts.deliveryId, ids))
  expect(attempts).toEqual([{ deliveryId: ids[1] }])
})

it('counts a batch in the order its attempts finished: the run of failures after the last success, then added on', async () => {
  const disabled: number[] = []
  const writer = new OutcomeWriter({
    db: t.database.db,
    disableAfterMs: 3_600_000,
    onDisabled: async (endpoint) => {
      disabled.push(endpoint.endpointId)
    },
    log: () => {},
  })
  const { endpointId, ids } = await claimed(['c', 'c', 'c', 'c', 'c', 'c'])
  const failure = { ok: false, status: 500, body: 'no' }
  const at = (o: Outcome, ms: number) => ({ ...o, at: t.clock.now() + ms })
  // fail, success, fail, fail: two failures since the success, the run starting at the first
  await Promise.all([
    writer.add(at(outcome(ids[0]!, endpointId, 'c', failure), 0)),
    writer.add(at(outcome(ids[1]!, endpointId, 'c', {}), 10)),
    writer.add(at(outcome(ids[2]!, endpointId, 'c', failure), 20)),
    writer.add(at(outcome(ids[3]!, endpointId, 'c', failure), 30)),
  ])
  const read = async () =>
    (await t.database.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, endpointId)))[0]!
  expect(await read()).toMatchObject({
    successCount: 1,
    failureCount: 3,
    consecutiveFailures: 2,
    failingSince: new Date(t.clock.now() + 20),
    lastDeliveryAt: new Date(t.clock.now() + 30),
    isActive: true,
  })
  // A batch of failures only adds to the run, which keeps its start; past the limit, disabled.
  await Promise.all([
    writer.add(at(outcome(ids[4]!, endpointId, 'c', failure), 3_600_000)),
    writer.add(at(outcome(ids[5]!, endpointId, 'c', failure), 3_600_030)),
  ])
  expect(await read()).toMatchObject({
    successCount: 1,
    failureCount: 5,
    consecutiveFailures: 4,
    failingSince: new Date(t.clock.now() + 20),
    lastDeliveryAt: new Date(t.clock.now() + 3_600_030),
    isActive: false,
    disabledReason: 'The endpoint kept failing without a success.',
  })
  expect(disabled).toEqual([endpointId])
})
