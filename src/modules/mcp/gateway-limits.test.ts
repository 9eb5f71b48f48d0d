// The gateway's bounds: a listing of servers is answered promptly even while a server hangs
// (it shows as `connecting`, then `unreachable`), shutdown does not wait for a hung server, and
// the connections held to workspace-registered servers are capped by MCP_MAX_CONNECTIONS, the
// least recently used idle one closed first.
import { rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Server } from '@modelcontextprotocol/sdk/server/index.js'
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomBase62 } from '../../platform/lib/random.ts'
import { buildTestApp, useTestApp } from '../../testing/harness.ts'
import { processesMatching } from '../../testing/processes.ts'
import { answerWith, bodyOf, type Loopback, loopbackServer } from './remote-fixture.ts'

/** The config files this file wrote, removed when it ends. */
const configs: string[] = []
afterAll(() => {
  for (const path of configs) rmSync(path, { force: true })
})

/**
 * A config with one stdio server that never answers; `marker` (which the fixture ignores) finds
 * its processes among the machine's.
 */
function hangingConfig(marker: string): string {
  const path = join(tmpdir(), `core-api-mcp-limits-${process.pid}-${marker}.json`)
  configs.push(path)
  const args = [fileURLToPath(new URL('./fixture-server.ts', import.meta.url)), 'hang', marker]
  writeFileSync(
    path,
    JSON.stringify({ mcpServers: { hanging: { command: process.execPath, args, timeout: 4000 } } }),
  )
  return path
}
const sharedMarker = `limits-${randomBase62(12)}`
const configPath = hangingConfig(sharedMarker)

/** Streamable HTTP servers at /a, /b, /c …, counting the handshakes each receives. */
const handshakes = new Map<string, number>()
let http: Loopback
let base: string

beforeAll(async () => {
  http = await loopbackServer(async (req, res) => {
    const path = req.url ?? '/'
    const body = await bodyOf(req)
    if (body.includes('"initialize"')) handshakes.set(path, (handshakes.get(path) ?? 0) + 1)
    const server = new Server({ name: path, version: '1.0.0' }, { capabilities: { tools: {} } })
    server.setRequestHandler(ListToolsRequestSchema, async () => ({
      tools: [{ name: 'where', inputSchema: { type: 'object' } }],
    }))
    server.setRequestHandler(CallToolRequestSchema, async () => ({ content: [{ type: 'text', text: path }] }))
    await answerWith(server, req, res, body)
  })
  base = http.base
})
afterAll(() => http.close())

const t = useTestApp({
  env: {
    MCP_CONFIG: configPath,
    MCP_MAX_CONNECTIONS: '1',
    WEBHOOK_ALLOW_INSECURE_URLS: '1',
    MCP_START_TIMEOUT_MS: '100', // a start then has the server's own 4 s timeout
  },
})
let key: string

beforeAll(async () => {
  const workspace = (await t.workspace()).id
  key = (await t.key(workspace, { scopes: ['mcp:write'] })).key
})

const timed = async <T>(run: () => Promise<T>) => {
  const started = Date.now()
  const result = await run()
  return { result, ms: Date.now() - started }
}

describe('a server that hangs', () => {
  it('is listed at once as connecting, then unreachable after its timeout, and a call to it is 502', async () => {
    const first = await timed(() => t.call(key, { method: 'GET', url: '/api/v1/mcp/servers' }))
    expect(first.result.statusCode).toBe(200)
    expect(first.result.json().data).toEqual([
      expect.objectContaining({ id: 'hanging', status: 'connecting', tools: [] }),
    ])
    expect(first.ms).toBeLessThan(2500)
    const one = await timed(() => t.call(key, { method: 'GET', url: '/api/v1/mcp/servers/hanging' }))
    expect(one.result.json().data).toMatchObject({ id: 'hanging', status: 'connecting', tools: [] })
    expect(one.ms).toBeLessThan(2500)
    // The handshake's deadline passes: the next listings say so, still without waiting long,
    // and the process that never answered is gone at once (no seconds of grace to wind down).
    await new Promise((resolve) => setTimeout(resolve, 4500))
    await expect.poll(() => processesMatching(sharedMarker), { timeout: 1000 }).toEqual([])
    const later = await timed(() => t.call(key, { method: 'GET', url: '/api/v1/mcp/servers' }))
    expect(later.result.json().data[0]).toMatchObject({ id: 'hanging', status: 'unreachable', tools: [] })
    expect(later.ms).toBeLessThan(2500)
    const call = await t.call(key, {
      method: 'POST',
      url: '/api/v1/mcp/tools/call',
      payload: { server: 'hanging', tool: 'anything' },
    })
    expect(call.statusCode).toBe(502)
    expect(call.json()).toMatchObject({ error: 'upstream_error', server: 'hanging' })
  }, 30_000)

  it('does not hold the shutdown while it is being reached', async () => {
    const marker = `limits-${randomBase62(12)}`
    const app = await buildTestApp({ env: { MCP_CONFIG: hangingConfig(marker) } })
    const ws = (await app.workspace()).id
    const listed = await app.call(app.masterKey, { method: 'GET', url: '/api/v1/mcp/servers', workspace: ws })
    expect(listed.json().data[0]).toMatchObject({ status: 'connecting' })
    await expect.poll(() => processesMatching(marker)).not.toEqual([])
    const closing = await timed(() => app.close())
    expect(closing.ms).toBeLessThan(3000)
    // …and its process does not outlive the gateway.
    await expect.poll(() => processesMatching(marker), { timeout: 1000 }).toEqual([])
  }, 30_000)
})

describe('connections to registered servers', () => {
  const register = (id: string) =>
    t.call(key, { method: 'POST', url: '/api/v1/mcp/servers', payload: { id, url: `${base}/${id}` } })
  const call = (server: string) =>
    t.call(key, { method: 'POST', url: '/api/v1/mcp/tools/call', payload: { server, tool: 'where' } })

  it('holds at most MCP_MAX_CONNECTIONS open, closing the least recently used and reopening it when used', async () => {
    for (const id of ['a', 'b']) expect((await register(id)).statusCode).toBe(201)
    handshakes.clear()
    const first = await call('a')
    expect(first.statusCode).toBe(200)
    expect(first.json().result.content).toEqual([{ type: 'text', text: '/a' }])
    expect(await call('a')).toMatchObject({ statusCode: 200 })
    expect(handshakes.get('/a')).toBe(1) // reused while it is the only one
    expect((await call('b')).json().result.content).toEqual([{ type: 'text', text: '/b' }])
    expect(handshakes.get('/b')).toBe(1)
    // Opening b closed a (the cap is 1): a is opened again, which closes b.
    expect((await call('a')).statusCode).toBe(200)
    expect(handshakes.get('/a')).toBe(2)
    expect((await call('b')).statusCode).toBe(200)
    expect(handshakes.get('/b')).toBe(2)
    expect(Object.fromEntries(handshakes)).toEqual({ '/a': 2, '/b': 2 })
  })
})
