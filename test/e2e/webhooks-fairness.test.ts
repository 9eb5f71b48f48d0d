// Fairness between tenants: an endpoint that accepts connections and never answers (a tarpit)
// with a backlog of events must cost its workspace its own per-endpoint slots and nothing
// more — another workspace's events go out at once, not after the tarpit's timeouts. Prints
// the healthy tenant's delivery latency without and with the tarpit.
import { createServer as createHttpServer } from 'node:http'
import { createServer as createTcpServer, type Socket } from 'node:net'
import { and, eq, isNotNull } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { webhookDeliveries } from '../../src/modules/webhooks/tables.ts'
import { buildTestApp, type TestApp } from '../../src/testing/harness.ts'

const BACKLOG = 30
const SAMPLES = 5

async function until(check: () => boolean | Promise<boolean>, label: string, ms: number) {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

describe('webhook fairness across tenants', () => {
  let t: TestApp
  const sockets = new Set<Socket>()
  const tarpit = createTcpServer((socket) => {
    sockets.add(socket)
    socket.on('data', () => {}) // reads the request, never answers
    socket.on('close', () => sockets.delete(socket))
  })
  const arrivals = new Map<string, number>()
  const healthy = createHttpServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => {
      body += chunk
    })
    req.on('end', () => {
      const title = /"title":"([^"]+)"/.exec(body)?.[1]
      if (title) arrivals.set(title, performance.now())
      res.end('{"received":true}')
    })
  })
  const port = (server: { address(): unknown }) => (server.address() as { port: number }).port

  beforeAll(async () => {
    await new Promise<void>((resolve) => tarpit.listen(0, '127.0.0.1', resolve))
    await new Promise<void>((resolve) => healthy.listen(0, '127.0.0.1', resolve))
    t = await buildTestApp({
      env: {
        WEBHOOK_ALLOW_INSECURE_URLS: '1',
        WEBHOOK_CONCURRENCY: '4',
        WEBHOOK_ENDPOINT_CONCURRENCY: '2',
        WEBHOOK_POLL_MS: '50',
        // The default receiver timeout (15 s): a tarpit's attempts outlast this test's checks.
      },
    })
  })

  afterAll(async () => {
    for (const socket of sockets) socket.destroy() // the tarpit's attempts fail now, not in 15 s
    tarpit.close()
    await t?.close()
    healthy.closeAllConnections()
    healthy.close()
  })

  async function tenant() {
    const ws = await t.workspace()
    const { key } = await t.key(ws.id, { scopes: ['*'] })
    return { ws, key }
  }
  async function endpoint(key: string, url: string) {
    const res = await t.call(key, {
      method: 'POST',
      url: '/api/v1/webhooks',
      payload: { url, events: ['post.created'] },
    })
    expect(res.statusCode, res.body).toBe(201)
    return res.json().data.id as number
  }
  /** Creates a post and returns the ms from the request to its webhook's arrival. */
  async function latency(key: string, title: string): Promise<number> {
    const started = performance.now()
    const res = await t.call(key, { method: 'POST', url: '/api/v1/posts', payload: { title } })
    expect(res.statusCode).toBe(201)
    await until(() => arrivals.has(title), `delivery of ${title}`, 60_000)
    return arrivals.get(title)! - started
  }

  it("delivers a healthy tenant's events while another tenant's endpoint is a tarpit", async () => {
    const b = await tenant()
    await endpoint(b.key, `http://127.0.0.1:${port(healthy)}/hook`)
    for (let i = 0; i < 3; i++) await latency(b.key, `warm-up-${i}`)
    const alone: number[] = []
    for (let i = 0; i < SAMPLES; i++) alone.push(await latency(b.key, `alone-${i}`))

    const a = await tenant()
    const stuck = await endpoint(a.key, `http://127.0.0.1:${port(tarpit)}/hook`)
    for (let i = 0; i < BACKLOG; i++) {
      await t.call(a.key, { method: 'POST', url: '/api/v1/posts', payload: { title: `stuck-${i}` } })
    }
    await until(() => sockets.size === 2, 'the tarpit holding its two slots', 10_000)

    const beside: number[] = []
    for (let i = 0; i < SAMPLES; i++) beside.push(await latency(b.key, `beside-${i}`))

    // The tarpit holds exactly its own two slots; the rest of its backlog is left unclaimed
    // for later, and none of its attempts has ended: B never waited for A's timeouts.
    expect(sockets.size).toBe(2)
    const held = await t.database.db
      .select({ id: webhookDeliveries.id })
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.endpointId, stuck), isNotNull(webhookDeliveries.lockedUntil)))
    expect(held).toHaveLength(2)
    const attempted = await t.database.db
      .select({ attempt: webhookDeliveries.attempt })
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.endpointId, stuck))
    expect(attempted).toHaveLength(BACKLOG)
    expect(attempted.every((d) => d.attempt === 0)).toBe(true)
    console.log(
      `healthy tenant's delivery latency, median of ${SAMPLES}: ${median(alone).toFixed(1)} ms alone, ` +
        `${median(beside).toFixed(1)} ms beside a tarpit endpoint with ${BACKLOG} queued events ` +
        `(WEBHOOK_CONCURRENCY=4, WEBHOOK_ENDPOINT_CONCURRENCY=2, timeout 15 s; max ${Math.max(...beside).toFixed(1)} ms)`,
    )
  }, 90_000)
})
