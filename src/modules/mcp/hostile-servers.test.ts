// Workspace-registered MCP servers that misbehave, reached over real HTTP on loopback: a plain
// text or HTML answer, JSON that is broken or is not JSON-RPC, an endless or oversized body, an
// event stream of junk or of nothing, a body dripped a byte at a time, a connection cut or reset,
// a redirect, a 500. Each registration, listing and call is answered in the contract's format
// (a call 502 `upstream_error`) within the call timeout, and the gateway keeps serving: no
// unhandled error (vitest fails the run on one), a good server still answers afterwards.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Server } from '@modelcontextprotocol/sdk/server/index.js'
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { useTestApp } from '../../testing/harness.ts'
import { answerWith, bodyOf, type Loopback, loopbackServer } from './remote-fixture.ts'

const CALL_TIMEOUT_MS = 1500

/** Writes `chunk` every `everyMs` until the client goes away. */
function trickle(res: ServerResponse, chunk: string, everyMs: number): void {
  const timer = setInterval(() => res.write(chunk), everyMs)
  res.on('close', () => clearInterval(timer))
}

const BEHAVIOURS: Record<string, (res: ServerResponse, url: string) => void> = {
  text: (res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'),
  html: (res) =>
    res.writeHead(200, { 'content-type': 'text/html' }).end(`<html>${'<p>hi</p>'.repeat(5000)}</html>`),
  'broken-json': (res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"jsonrpc": "2.0", "id": '),
  'not-jsonrpc': (res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"hello": "world"}'),
  'json-array': (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('[1, 2, 3]'),
  oversized: (res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    const chunk = ' '.repeat(64 * 1024)
    let sent = 0
    const pump = () => {
      while (sent < 12 * 1024 * 1024) {
        sent += chunk.length
        if (!res.write(chunk)) return void res.once('drain', pump)
      }
      res.end('{}')
    }
    pump()
  },
  'sse-junk': (res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.end('data: not json\n\nevent: message\ndata: {"jsonrpc":\n\n: comment\n\ndata: \u0000\n\n')
  },
  'sse-silent': (res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    trickle(res, ': still here\n\n', 50)
  },
  drip: (res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    trickle(res, ' ', 100)
  },
  cut: (res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' })
    res.write('{"jsonrpc": "2.0", "result": {')
    setTimeout(() => res.socket?.destroy(), 20)
  },
  reset: (res) => res.socket?.resetAndDestroy(),
  redirect: (res, url) => res.writeHead(307, { location: url.replace(/\/redirect$/, '/good') }).end(),
  'status-500': (res) =>
    res.writeHead(500, { 'content-type': 'application/json' }).end('{"error": "internal", "stack": "at x"}'),
  'status-404-html': (res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>'),
}

let http: Loopback
let base: string

/** A well-behaved server at /good; the others at /<behaviour>. */
async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await bodyOf(req)
  const path = (req.url ?? '/').slice(1)
  const hostile = BEHAVIOURS[path]
  if (hostile) return hostile(res, `${base}/${path}`)
  const server = new Server({ name: 'good', version: '1.0.0' }, { capabilities: { tools: {} } })
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: [{ name: 'ping', inputSchema: { type: 'object' } }],
  }))
  server.setRequestHandler(CallToolRequestSchema, async () => ({ content: [{ type: 'text', text: 'pong' }] }))
  await answerWith(server, req, res, body)
}

beforeAll(async () => {
  http = await loopbackServer(answer)
  base = http.base
})
afterAll(() => http.close())

const t = useTestApp({
  env: {
    WEBHOOK_ALLOW_INSECURE_URLS: '1',
    MCP_CALL_TIMEOUT_MS: String(CALL_TIMEOUT_MS),
    MCP_START_TIMEOUT_MS: String(CALL_TIMEOUT_MS),
  },
})
let key: string

beforeAll(async () => {
  const workspace = (await t.workspace()).id
  key = (await t.key(workspace, { scopes: ['mcp:write'] })).key
})

const slug = (name: string) => name.replace(/[^a-z0-9]/g, '')

describe('hostile Streamable HTTP servers', () => {
  it.each(Object.keys(BEHAVIOURS))('%s: registered, listed and called without harm', async (name) => {
    const id = slug(name)
    const created = await t.call(key, {
      method: 'POST',
      url: '/api/v1/mcp/servers',
      payload: { id, url: `${base}/${name}` },
    })
    expect(created.statusCode, created.body).toBe(201)
    expect(created.json().data).toMatchObject({ id, url: `${base}/${name}` })

    const started = Date.now()
    const called = await t.call(key, {
      method: 'POST',
      url: '/api/v1/mcp/tools/call',
      payload: { server: id, tool: 'ping', arguments: {} },
    })
    // The call's own deadline, plus the time a start may take before it and some slack.
    expect(Date.now() - started).toBeLessThan(2 * CALL_TIMEOUT_MS + 3000)
    // A redirect is not followed either: it could lead anywhere.
    expect(called.statusCode, called.body).toBe(502)
    expect(called.json()).toMatchObject({ error: 'upstream_error', request_id: expect.any(String) })

    const listed = await t.call(key, { method: 'GET', url: `/api/v1/mcp/servers/${id}` })
    expect(listed.statusCode, listed.body).toBe(200)
    const removed = await t.call(key, { method: 'DELETE', url: `/api/v1/mcp/servers/${id}` })
    expect(removed.statusCode).toBe(204)
  })

  it('still serves a well-behaved server afterwards', async () => {
    const created = await t.call(key, {
      method: 'POST',
      url: '/api/v1/mcp/servers',
      payload: { id: 'good', url: `${base}/good` },
    })
    expect(created.statusCode, created.body).toBe(201)
    expect(created.json().data.tools).toEqual(['ping'])
    const called = await t.call(key, {
      method: 'POST',
      url: '/api/v1/mcp/tools/call',
      payload: { server: 'good', tool: 'ping', arguments: {} },
    })
    expect(called.statusCode, called.body).toBe(200)
    expect(called.json().result.content).toEqual([{ type: 'text', text: 'pong' }])
  })
})
