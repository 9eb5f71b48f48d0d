// verifyWebhook against what the server really sends (a real endpoint, a real delivery, on a
// loopback receiver; during a secret's rotation too) and against what the `standardwebhooks`
// package signs; and its refusals: a tampered body, an old or future timestamp, a wrong secret,
// a missing header, and a body that was parsed into an object.
import { createServer, type IncomingHttpHeaders } from 'node:http'
import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient, verifyWebhook, WebhookVerificationError } from '../../packages/sdk/src/index.ts'
import { until, useServer } from './server.ts'

const server = useServer()
const received: Array<{ headers: IncomingHttpHeaders; body: Buffer }> = []
const sink = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (chunk: Buffer) => chunks.push(chunk))
  req.on('end', () => {
    received.push({ headers: req.headers, body: Buffer.concat(chunks) })
    res.writeHead(204).end()
  })
})
let sinkUrl = ''
beforeAll(async () => {
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve))
  sinkUrl = `http://127.0.0.1:${(sink.address() as { port: number }).port}/hook`
})
afterAll(async () => {
  sink.closeAllConnections()
  await new Promise((resolve) => sink.close(resolve))
})

const SECRET = `whsec_${Buffer.alloc(32, 9).toString('base64')}`
const OTHER = `whsec_${Buffer.alloc(32, 8).toString('base64')}`

/** A body and headers signed by the reference implementation. */
function signed(body: string, secret = SECRET, at = new Date()) {
  const id = 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W'
  const signature = new Webhook(secret).sign(id, at, body)
  return {
    body,
    headers: {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': signature,
    },
  }
}

describe('verifyWebhook accepts', () => {
  it('a real delivery from the server, as a string, as bytes and with a Headers object; and returns the typed event', async () => {
    const direct = createClient({ baseUrl: server.baseUrl, apiKey: server.t.masterKey })
    const { data: workspace } = await direct.workspaces.create({ name: 'Hooks Co' })
    const api = createClient({
      baseUrl: server.baseUrl,
      apiKey: server.t.masterKey,
      workspaceId: workspace.id,
    })
    const { data: endpoint } = await api.webhooks.create({ url: sinkUrl, events: ['post.created'] })
    received.length = 0
    const { data: post } = await api.posts.create({ title: 'Signed' })
    await until(() => received.length === 1, 'the delivery')
    const { headers, body } = received[0]!

    const event = await verifyWebhook(body.toString(), headers, endpoint.secret)
    expect(event).toMatchObject({ type: 'post.created', workspace_id: workspace.id, data: { id: post.id } })
    if (event.type === 'post.created') expect(event.data.title).toBe('Signed') // narrowed to a Post
    expect(event.id).toBe(headers['webhook-id'])

    const asBytes = await verifyWebhook(new Uint8Array(body), headers, endpoint.secret)
    expect(asBytes).toEqual(event)
    const web = new Headers(Object.entries(headers).map(([k, v]) => [k, String(v)]))
    expect(await verifyWebhook(body.toString(), web, endpoint.secret)).toEqual(event)

    // Rotation: every delivery carries a signature per secret; either secret verifies it.
    const { data: rotated } = await api.webhooks.rotateSecret(endpoint.id, {})
    received.length = 0
    await api.posts.create({ title: 'Two signatures' })
    await until(() => received.length === 1, 'the delivery after rotation')
    const after = received[0]!
    expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(2)
    for (const secret of [endpoint.secret, rotated.secret]) {
      const verified = await verifyWebhook(after.body.toString(), after.headers, secret)
      expect(verified).toMatchObject({ type: 'post.created', data: { title: 'Two signatures' } })
    }
    await expect(verifyWebhook(after.body.toString(), after.headers, OTHER)).rejects.toThrow(
      'No matching webhook signature',
    )
  })

  it('what the standardwebhooks package signs, and the other way round', async () => {
    const payload = JSON.stringify({
      id: 'evt_1',
      type: 'webhook.test',
      timestamp: '2026-01-15T10:30:00Z',
      workspace_id: 1,
      data: { webhook_id: 3, message: 'hi' },
    })
    const { body, headers } = signed(payload)
    expect(await verifyWebhook(body, headers, SECRET)).toEqual(JSON.parse(payload))
    expect(await verifyWebhook(body, headers, [OTHER, SECRET])).toEqual(JSON.parse(payload))
    // A secret without the prefix is the same key.
    expect(await verifyWebhook(body, headers, SECRET.slice('whsec_'.length))).toEqual(JSON.parse(payload))
    expect(new Webhook(SECRET).verify(body, headers)).toEqual(JSON.parse(payload))
  })
})

describe('verifyWebhook refuses', () => {
  const payload = JSON.stringify({ id: 'evt_2', type: 'post.deleted', data: { id: 1 } })

  it('a tampered body, a wrong secret and a signature of another scheme', async () => {
    const { body, headers } = signed(payload)
    await expect(verifyWebhook(body.replace('"id":1', '"id":2'), headers, SECRET)).rejects.toThrow(
      WebhookVerificationError,
    )
    await expect(verifyWebhook(body, headers, OTHER)).rejects.toThrow('No matching webhook signature')
    const v2 = headers['webhook-signature'].replace('v1,', 'v2,')
    await expect(verifyWebhook(body, { ...headers, 'webhook-signature': v2 }, SECRET)).rejects.toThrow(
      'No matching webhook signature',
    )
  })

  it('a timestamp outside the tolerance, either way', async () => {
    const old = signed(payload, SECRET, new Date(Date.now() - 301_000))
    await expect(verifyWebhook(old.body, old.headers, SECRET)).rejects.toThrow('too old')
    expect(await verifyWebhook(old.body, old.headers, SECRET, { tolerance: 600 })).toMatchObject({
      id: 'evt_2',
    })
    const future = signed(payload, SECRET, new Date(Date.now() + 301_000))
    await expect(verifyWebhook(future.body, future.headers, SECRET)).rejects.toThrow('future')
    // The timestamp is signed: moving it makes the signature wrong.
    const moved = { ...old.headers, 'webhook-timestamp': String(Math.floor(Date.now() / 1000)) }
    await expect(verifyWebhook(old.body, moved, SECRET)).rejects.toThrow('No matching webhook signature')
  })

  it('missing headers', async () => {
    const { body, headers } = signed(payload)
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const) {
      const without: Record<string, string> = { ...headers }
      delete without[name]
      await expect(verifyWebhook(body, without, SECRET)).rejects.toThrow('Missing webhook-id')
    }
  })

  it('a body that was parsed into an object, telling to pass the raw body', async () => {
    const { body, headers } = signed(payload)
    const parsed = JSON.parse(body)
    await expect(verifyWebhook(parsed, headers, SECRET)).rejects.toThrow(/Pass the raw request body/)
  })
})
