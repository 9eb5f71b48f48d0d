// The MCP gateway against real servers over stdio — @modelcontextprotocol/server-filesystem
// (tools), @modelcontextprotocol/server-everything (resources), and a fixture server written
// with the SDK that crashes or hangs on demand — and a Streamable HTTP server registered by a
// workspace. Every server runs on the project's own Node from node_modules.
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Server } from '@modelcontextprotocol/sdk/server/index.js'
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, useTestApp } from '../../testing/harness.ts'
import { answerWith, type Loopback, loopbackServer } from './remote-fixture.ts'
import { purgeCalls } from './store.ts'

const modules = new URL('../../../node_modules/@modelcontextprotocol/', import.meta.url)
const script = (path: string) => fileURLToPath(new URL(path, modules))
const dir = realpathSync(mkdtempSync(join(tmpdir(), 'core-api-mcp-')))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
writeFileSync(join(dir, 'hello.txt'), 'Hello from the gateway test\n')
const configPath = join(dir, 'mcp.json')
writeFileSync(
  configPath,
  JSON.stringify({
    mcpServers: {
      filesystem: {
        command: process.execPath,
        args: [script('server-filesystem/dist/index.js'), dir],
        name: 'Filesystem Server',
        description: 'File and directory operations',
      },
      everything: { command: process.execPath, args: [script('server-everything/dist/index.js'), 'stdio'] },
      fixture: {
        command: process.execPath,
        args: [fileURLToPath(new URL('./fixture-server.ts', import.meta.url))],
        timeout: 1500,
      },
      missing: { command: join(dir, 'no-such-program') },
    },
  }),
)

const t = useTestApp({ env: { MCP_CONFIG: configPath, WEBHOOK_ALLOW_INSECURE_URLS: '1' } })
let workspace: number
let other: number
let key: string
let readOnly: string

beforeAll(async () => {
  workspace = (await t.workspace()).id
  other = (await t.workspace()).id
  key = (await t.key(workspace, { scopes: ['mcp:write'] })).key
  readOnly = (await t.key(workspace, { scopes: ['mcp:read'] })).key
})

const get = (url: string, credential = key) => t.call(credential, { method: 'GET', url })
const callTool = (payload: Record<string, unknown>, credential = key) =>
  t.call(credential, { method: 'POST', url: '/api/v1/mcp/tools/call', payload })

/**
 * A call that needs the server restarted: its 1.5 s deadline includes starting node, which a
 * loaded machine can exceed; the start goes on past it (MCP_START_TIMEOUT_MS), so the server is
 * there for a call made a moment later.
 */
async function callAfterRestart(payload: Record<string, unknown>) {
  let res = await callTool(payload)
  for (let i = 0; i < 20 && res.statusCode === 502; i++) {
    await new Promise((resolve) => setTimeout(resolve, 250))
    res = await callTool(payload)
  }
  return res
}

describe('servers and tools', () => {
  it('lists the configured servers with their tool names, every page of the fixture followed', async () => {
    // A listing waits a second at most for servers still starting (they show as `connecting`).
    let res = await get('/api/v1/mcp/servers')
    const starting = () => res.json().data.some((s: { status: string }) => s.status === 'connecting')
    for (let i = 0; i < 30 && starting(); i++) {
      await new Promise((resolve) => setTimeout(resolve, 300))
      res = await get('/api/v1/mcp/servers')
    }
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body.data.map((s: { id: string }) => s.id)).toEqual([
      'filesystem',
      'everything',
      'fixture',
      'missing',
    ])
    const [filesystem, , fixture, missing] = body.data
    expect(filesystem).toMatchObject({
      id: 'filesystem',
      name: 'Filesystem Server',
      description: 'File and directory operations',
      source: 'config',
      transport: 'stdio',
      status: 'available',
    })
    expect(filesystem.tools).toEqual(
      expect.arrayContaining(['read_text_file', 'list_directory', 'write_file']),
    )
    expect(fixture.tools).toEqual(['echo', 'fail', 'crash', 'hang', 'grow'])
    expect(missing).toEqual({
      id: 'missing',
      name: 'missing',
      description: '',
      source: 'config',
      transport: 'stdio',
      status: 'unreachable',
      tools: [],
    })
    expect(body.meta).toMatchObject({ total: 4, per_page: 25, current_page: 1 })
    expect(filesystem).not.toHaveProperty('command')
  })

  it('gets one server, and answers 404 for an unknown one', async () => {
    const res = await get('/api/v1/mcp/servers/fixture')
    expect(res.statusCode).toBe(200)
    expect(res.json().data).toMatchObject({ id: 'fixture', tools: ['echo', 'fail', 'crash', 'hang', 'grow'] })
    const unknown = await get('/api/v1/mcp/servers/nope')
    expect(unknown.statusCode).toBe(404)
    expect(unknown.json()).toMatchObject({ error: 'not_found', message: 'MCP server not found.' })
  })

  it("lists a server's tools with the seed's parameters and the raw input schema", async () => {
    const res = await get('/api/v1/mcp/servers/fixture/tools')
    expect(res.statusCode).toBe(200)
    expect(res.json().data[0]).toEqual({
      name: 'echo',
      description: 'Answers its text',
      parameters: {
        text: { type: 'string', description: 'What to say', required: true },
        times: { type: 'integer', required: false },
      },
      input_schema: {
        type: 'object',
        properties: { text: { type: 'string', description: 'What to say' }, times: { type: 'integer' } },
        required: ['text'],
      },
    })
    const fs = await get('/api/v1/mcp/servers/filesystem/tools?per_page=100')
    const read = fs.json().data.find((tool: { name: string }) => tool.name === 'read_text_file')
    expect(read.parameters.path).toMatchObject({ type: 'string', required: true })
    const paged = await get('/api/v1/mcp/servers/fixture/tools?per_page=2&page=2')
    expect(paged.json().data.map((tool: { name: string }) => tool.name)).toEqual(['crash', 'hang'])
    expect(paged.json().meta).toMatchObject({ total: 5, last_page: 3 })
  })

  it('answers 502 for the tools of a server that cannot be started', async () => {
    const res = await get('/api/v1/mcp/servers/missing/tools')
    expect(res.statusCode).toBe(502)
    expect(res.json()).toMatchObject({ error: 'upstream_error', server: 'missing' })
  })
})

describe('tool calls', () => {
  it('calls the filesystem server: lists and reads the temporary folder', async () => {
    const listed = await callTool({ server: 'filesystem', tool: 'list_directory', arguments: { path: dir } })
    expect(listed.statusCode).toBe(200)
    expect(listed.json().result.is_error).toBe(false)
    expect(listed.json().result.content[0]).toMatchObject({ type: 'text' })
    expect(listed.json().result.content[0].text).toContain('[FILE] hello.txt')
    const read = await callTool({
      server: 'filesystem',
      tool: 'read_text_file',
      arguments: { path: join(dir, 'hello.txt') },
    })
    expect(read.statusCode).toBe(200)
    expect(read.json().result.content).toEqual([{ type: 'text', text: 'Hello from the gateway test\n' }])
  })

  it("answers a tool's own error as a result with is_error, and structured content as given", async () => {
    const failed = await callTool({ server: 'fixture', tool: 'fail' })
    expect(failed.statusCode).toBe(200)
    expect(failed.json()).toEqual({
      result: {
        content: [{ type: 'text', text: 'the tool failed' }],
        structured_content: null,
        is_error: true,
      },
    })
    const echoed = await callTool({ server: 'fixture', tool: 'echo', arguments: { text: 'hi' } })
    expect(echoed.json().result).toMatchObject({ structured_content: { text: 'hi' }, is_error: false })
    const outside = await callTool({
      server: 'filesystem',
      tool: 'read_text_file',
      arguments: { path: '/etc/passwd' },
    })
    expect(outside.statusCode).toBe(200)
    expect(outside.json().result.is_error).toBe(true)
  })

  it('answers 404 for an unknown server or tool, 422 for a malformed call, 502 for a server that cannot start', async () => {
    const server = await callTool({ server: 'nope', tool: 'echo' })
    expect(server.statusCode).toBe(404)
    expect(server.json().error).toBe('not_found')
    const tool = await callTool({ server: 'fixture', tool: 'nope' })
    expect(tool.statusCode).toBe(404)
    expect(tool.json().message).toBe('Tool nope on MCP server fixture not found.')
    const malformed = await callTool({ server: 'fixture', tool: 'echo', arguments: 'text', extra: 1 })
    expect(malformed.statusCode).toBe(422)
    const missing = await callTool({ server: 'missing', tool: 'anything' })
    expect(missing.statusCode).toBe(502)
    expect(missing.json()).toMatchObject({ error: 'upstream_error', server: 'missing' })
  })

  it('answers 502 when the server crashes mid-call, then restarts it for the next call', async () => {
    const before = await callTool({ server: 'fixture', tool: 'echo', arguments: { text: 'a' } })
    const pid = before.json().result.structured_content.pid
    const crashed = await callTool({ server: 'fixture', tool: 'crash' })
    expect(crashed.statusCode).toBe(502)
    expect(crashed.json()).toMatchObject({
      error: 'upstream_error',
      message: 'MCP server fixture closed the connection during tools/call crash.',
      server: 'fixture',
    })
    const after = await callAfterRestart({ server: 'fixture', tool: 'echo', arguments: { text: 'b' } })
    expect(after.statusCode).toBe(200)
    expect(after.json().result.structured_content.pid).not.toBe(pid)
  })

  it('answers 502 when the server does not answer within its timeout, and keeps serving other calls', async () => {
    const started = Date.now()
    const hung = await callTool({ server: 'fixture', tool: 'hang' })
    expect(hung.statusCode).toBe(502)
    expect(hung.json().message).toBe('MCP server fixture did not answer tools/call hang within 1500 ms.')
    expect(Date.now() - started).toBeLessThan(5000)
    const after = await callAfterRestart({
      server: 'fixture',
      tool: 'echo',
      arguments: { text: 'still here' },
    })
    expect(after.statusCode).toBe(200)
  })

  it('needs mcp:write to call a tool, mcp:read to list', async () => {
    const refused = await callTool({ server: 'fixture', tool: 'echo', arguments: { text: 'x' } }, readOnly)
    expect(refused.statusCode).toBe(403)
    expect(refused.json().message).toBe('Insufficient permissions. Required scope: mcp:write')
    expect((await get('/api/v1/mcp/servers/fixture/tools', readOnly)).statusCode).toBe(200)
  })
})

describe('resources', () => {
  const uri = 'demo://resource/static/document/architecture.md'

  it('reads a resource of the everything server, its URI given with slashes or encoded', async () => {
    for (const path of [uri, encodeURIComponent(uri)]) {
      const res = await get(`/api/v1/mcp/resources/${path}?server=everything`)
      expect(res.statusCode, path).toBe(200)
      const data = res.json().data
      expect(data).toMatchObject({ server: 'everything', uri })
      expect(data.contents[0]).toMatchObject({ uri, mime_type: 'text/markdown' })
      expect(data.contents[0].text.length).toBeGreaterThan(100)
    }
    const blob = await get(
      `/api/v1/mcp/resources/${encodeURIComponent('demo://resource/dynamic/blob/1')}?server=everything`,
    )
    expect(blob.statusCode).toBe(200)
    expect(typeof blob.json().data.contents[0].blob).toBe('string')
  })

  it('answers 404 for an unknown resource or server, 422 without a server', async () => {
    const unknown = await get(
      '/api/v1/mcp/resources/demo://resource/static/document/nope.md?server=everything',
    )
    expect(unknown.statusCode).toBe(404)
    expect(unknown.json().message).toBe(
      'Resource demo://resource/static/document/nope.md on MCP server everything not found.',
    )
    // Decoded once: an encoded percent sign stays a percent sign.
    const once = await get(`/api/v1/mcp/resources/${encodeURIComponent('file:///a%20b')}?server=everything`)
    expect(once.json().message).toBe('Resource file:///a%20b on MCP server everything not found.')
    expect((await get(`/api/v1/mcp/resources/${uri}?server=nope`)).statusCode).toBe(404)
    expect((await get(`/api/v1/mcp/resources/${uri}`)).statusCode).toBe(422)
  })
})

describe('servers registered by a workspace (Streamable HTTP)', () => {
  let http: Loopback
  let url: string
  let seenAuthorization: string | undefined

  beforeAll(async () => {
    http = await loopbackServer(async (req, res) => {
      seenAuthorization = req.headers.authorization
      const server = new Server({ name: 'remote', version: '1.0.0' }, { capabilities: { tools: {} } })
      server.setRequestHandler(ListToolsRequestSchema, async () => ({
        tools: [
          { name: 'big', inputSchema: { type: 'object' } },
          {
            name: 'add',
            inputSchema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } } },
          },
        ],
      }))
      server.setRequestHandler(CallToolRequestSchema, async (request) => {
        if (request.params.name === 'big')
          return { content: [{ type: 'text', text: 'x'.repeat(11 * 1024 * 1024) }] }
        const { a, b } = request.params.arguments as { a: number; b: number }
        return { content: [{ type: 'text', text: String(a + b) }], structuredContent: { sum: a + b } }
      })
      await answerWith(server, req, res)
    })
    url = `${http.base}/mcp`
  })
  afterAll(() => http.close())

  it('registers a server, lists it with its tools, calls it with its headers, updates and removes it', async () => {
    const created = await t.call(key, {
      method: 'POST',
      url: '/api/v1/mcp/servers',
      payload: { id: 'calc', url, name: 'Calculator', headers: { Authorization: 'Bearer upstream-secret' } },
    })
    expect(created.statusCode).toBe(201)
    expect(created.json()).toMatchObject({
      message: 'MCP server registered successfully.',
      data: {
        id: 'calc',
        name: 'Calculator',
        source: 'workspace',
        transport: 'http',
        url,
        headers: ['authorization'],
        tools: ['big', 'add'],
      },
    })
    expect(created.body).not.toContain('upstream-secret')
    const listed = await get('/api/v1/mcp/servers')
    expect(listed.json().data.map((s: { id: string }) => s.id)).toContain('calc')
    const sum = await callTool({ server: 'calc', tool: 'add', arguments: { a: 2, b: 3 } })
    expect(sum.json()).toEqual({
      result: { content: [{ type: 'text', text: '5' }], structured_content: { sum: 5 }, is_error: false },
    })
    expect(seenAuthorization).toBe('Bearer upstream-secret')

    const patched = await t.call(key, {
      method: 'PATCH',
      url: '/api/v1/mcp/servers/calc',
      payload: { headers: { Authorization: 'Bearer rotated' } },
    })
    expect(patched.statusCode).toBe(200)
    await callTool({ server: 'calc', tool: 'add', arguments: { a: 1, b: 1 } })
    expect(seenAuthorization).toBe('Bearer rotated')

    // Another workspace does not see it.
    expect(
      (await t.call(t.masterKey, { method: 'GET', url: '/api/v1/mcp/servers/calc', workspace: other }))
        .statusCode,
    ).toBe(404)

    const removed = await t.call(key, { method: 'DELETE', url: '/api/v1/mcp/servers/calc' })
    expect(removed.statusCode).toBe(204)
    expect((await get('/api/v1/mcp/servers/calc')).statusCode).toBe(404)
  })

  it('refuses a taken id, an operator server id, a non-http URL, and changes to operator servers', async () => {
    const first = await t.call(key, {
      method: 'POST',
      url: '/api/v1/mcp/servers',
      payload: { id: 'dup', url },
    })
    expect(first.statusCode).toBe(201)
    const again = await t.call(key, {
      method: 'POST',
      url: '/api/v1/mcp/servers',
      payload: { id: 'dup', url },
    })
    expect(again.statusCode).toBe(409)
    const operator = await t.call(key, {
      method: 'POST',
      url: '/api/v1/mcp/servers',
      payload: { id: 'filesystem', url },
    })
    expect(operator.statusCode).toBe(409)
    const host = await t.call(key, {
      method: 'POST',
      url: '/api/v1/mcp/servers',
      payload: { id: 'host', url, headers: { Host: 'internal' } },
    })
    expect(host.statusCode).toBe(422)
    expect(host.json().errors.headers).toEqual(['The Host header is set by the gateway and cannot be given.'])
    const big = await callTool({ server: 'dup', tool: 'big' })
    expect(big.statusCode).toBe(502)
    expect(big.json()).toMatchObject({ error: 'upstream_error', server: 'dup' })
    expect((await callTool({ server: 'dup', tool: 'add', arguments: { a: 1, b: 2 } })).statusCode).toBe(200)
    const ftp = await t.call(key, {
      method: 'POST',
      url: '/api/v1/mcp/servers',
      payload: { id: 'ftp', url: 'ftp://example.com/' },
    })
    expect(ftp.statusCode).toBe(422)
    expect(ftp.json().errors.url).toEqual(['The url must use https.'])
    const patch = await t.call(key, {
      method: 'PATCH',
      url: '/api/v1/mcp/servers/filesystem',
      payload: { name: 'x' },
    })
    expect(patch.statusCode).toBe(409)
    const ids = (await get('/api/v1/mcp/servers')).json().data.map((s: { id: string }) => s.id)
    expect(ids).toEqual(['filesystem', 'everything', 'fixture', 'missing', 'dup'])
  })
})

describe('workspace allowlist', () => {
  it('limits the servers and tools its keys may use; only workspaces:write sets it', async () => {
    const ws = (await t.workspace()).id
    const admin = (await t.key(ws, { scopes: ['mcp:write', 'workspaces:write'] })).key
    const user = (await t.key(ws, { scopes: ['mcp:write'] })).key
    const policy = (credential: string, allowed: string[] | null) =>
      t.call(credential, { method: 'PUT', url: '/api/v1/mcp/policy', payload: { allowed } })

    const refused = await policy(user, [])
    expect(refused.statusCode).toBe(403)
    expect(refused.json().message).toBe('Insufficient permissions. Required scope: workspaces:write')
    expect((await t.call(user, { method: 'GET', url: '/api/v1/mcp/policy' })).json()).toEqual({
      data: { allowed: null },
    })
    expect((await policy(admin, ['bad entry'])).statusCode).toBe(422)

    const set = await policy(admin, ['filesystem/list_directory', 'everything'])
    expect(set.json()).toEqual({
      message: 'MCP allowlist updated successfully.',
      data: { allowed: ['filesystem/list_directory', 'everything'] },
    })
    const servers = (await t.call(user, { method: 'GET', url: '/api/v1/mcp/servers' })).json().data
    expect(servers.map((s: { id: string }) => s.id)).toEqual(['filesystem', 'everything'])
    expect(servers[0].tools).toEqual(['list_directory'])
    const tools = await t.call(user, { method: 'GET', url: '/api/v1/mcp/servers/filesystem/tools' })
    expect(tools.json().data.map((tool: { name: string }) => tool.name)).toEqual(['list_directory'])

    const call = (payload: Record<string, unknown>) =>
      t.call(user, { method: 'POST', url: '/api/v1/mcp/tools/call', payload })
    const denied = await call({
      server: 'filesystem',
      tool: 'read_text_file',
      arguments: { path: join(dir, 'hello.txt') },
    })
    expect(denied.statusCode).toBe(403)
    expect(denied.json()).toMatchObject({
      error: 'access_denied',
      message: 'This workspace does not allow the tool read_text_file of MCP server filesystem.',
    })
    expect(
      (await call({ server: 'filesystem', tool: 'list_directory', arguments: { path: dir } })).statusCode,
    ).toBe(200)
    expect((await call({ server: 'fixture', tool: 'echo', arguments: { text: 'x' } })).statusCode).toBe(404)
    expect((await t.call(user, { method: 'GET', url: '/api/v1/mcp/servers/fixture' })).statusCode).toBe(404)
    const uri = 'demo://resource/static/document/architecture.md'
    expect(
      (await t.call(user, { method: 'GET', url: `/api/v1/mcp/resources/${uri}?server=everything` }))
        .statusCode,
    ).toBe(200)
    expect(
      (await t.call(user, { method: 'GET', url: `/api/v1/mcp/resources/file:///etc?server=filesystem` }))
        .statusCode,
    ).toBe(403)
    const audit = await t.call(user, { method: 'GET', url: '/api/v1/mcp/calls?outcome=access_denied' })
    expect(audit.json().data.map((c: { tool: string | null }) => c.tool)).toEqual([null, 'read_text_file'])

    await policy(admin, null)
    expect((await call({ server: 'fixture', tool: 'echo', arguments: { text: 'x' } })).statusCode).toBe(200)
  })
})

describe('audit', () => {
  it('records every call and read — who, what, how long, how it ended — with no secret-looking value', async () => {
    const ws = (await t.workspace()).id
    const auditor = await t.key(ws, { scopes: ['mcp:write'] })
    const as = (payload: Record<string, unknown>) =>
      t.call(auditor.key, { method: 'POST', url: '/api/v1/mcp/tools/call', payload })
    await as({
      server: 'fixture',
      tool: 'echo',
      arguments: {
        text: 'hello',
        api_key: 'plain words but a secret name',
        note: `sk_live_${'a1'.repeat(20)}`,
        nested: { header: 'Bearer abc.def', opaque: 'Zk3hQ9xY2mN7pL4tR8vB1cD6fG0jK5sW' },
      },
    })
    await as({ server: 'fixture', tool: 'fail' })
    await as({ server: 'fixture', tool: 'nope' })
    await as({ server: 'missing', tool: 'x' })
    await t.call(auditor.key, {
      method: 'GET',
      url: '/api/v1/mcp/resources/demo://resource/static/document/architecture.md?server=everything',
    })

    const res = await t.call(auditor.key, { method: 'GET', url: '/api/v1/mcp/calls?sort=id' })
    expect(res.statusCode).toBe(200)
    const calls = res.json().data
    expect(calls.map((c: { outcome: string; status: number }) => [c.outcome, c.status])).toEqual([
      ['ok', 200],
      ['tool_error', 200],
      ['not_found', 404],
      ['upstream_error', 502],
      ['ok', 200],
    ])
    expect(calls[0]).toMatchObject({
      kind: 'tool',
      server: 'fixture',
      tool: 'echo',
      uri: null,
      credential_type: 'api_key',
      key_id: auditor.id,
      user_id: null,
      arguments: {
        text: 'hello',
        api_key: '[redacted]',
        note: '[redacted]',
        nested: { header: '[redacted]', opaque: '[redacted]' },
      },
    })
    expect(calls[0].duration_ms).toBeGreaterThanOrEqual(0)
    expect(calls[4]).toMatchObject({
      kind: 'resource',
      server: 'everything',
      tool: null,
      uri: 'demo://resource/static/document/architecture.md',
      arguments: null,
    })
    expect(res.body).not.toContain('sk_live_')
    expect(res.body).not.toContain('plain words')

    const failed = await t.call(auditor.key, { method: 'GET', url: '/api/v1/mcp/calls?outcome=tool_error' })
    expect(failed.json().data.map((c: { tool: string }) => c.tool)).toEqual(['fail'])
    const unknown = await t.call(auditor.key, { method: 'GET', url: '/api/v1/mcp/calls?outcome=maybe' })
    expect(unknown.statusCode).toBe(422)
    // Another workspace's audit is its own.
    const elsewhere = await t.call(t.masterKey, { method: 'GET', url: '/api/v1/mcp/calls', workspace: other })
    expect(elsewhere.json().data).toEqual([])
  })

  it('purges the records older than the retention cutoff (the hourly purge of MCP_AUDIT_RETENTION_DAYS)', async () => {
    const ws = (await t.workspace()).id
    const { key: caller } = await t.key(ws, { scopes: ['mcp:write'] })
    const echo = () =>
      t.call(caller, {
        method: 'POST',
        url: '/api/v1/mcp/tools/call',
        payload: { server: 'fixture', tool: 'echo', arguments: { text: 'x' } },
      })
    await echo()
    const firstAt = t.clock.now()
    t.clock.advance(89 * 86_400_000)
    await echo()
    const count = async () =>
      (await t.call(caller, { method: 'GET', url: '/api/v1/mcp/calls' })).json().meta.total as number
    expect(await count()).toBe(2)
    expect(await purgeCalls(t.database.db, new Date(firstAt + 1000))).toBeGreaterThanOrEqual(1)
    expect(await count()).toBe(1)
  })
})

describe('shutdown', () => {
  it('ends the stdio server processes when the app closes', async () => {
    const app = await buildTestApp({ env: { MCP_CONFIG: configPath } })
    const ws = (await app.workspace()).id
    const res = await app.call(app.masterKey, {
      method: 'POST',
      url: '/api/v1/mcp/tools/call',
      workspace: ws,
      payload: { server: 'fixture', tool: 'echo', arguments: { text: 'x' } },
    })
    const pid = res.json().result.structured_content.pid as number
    expect(() => process.kill(pid, 0)).not.toThrow()
    await app.close()
    await expect
      .poll(() => {
        try {
          process.kill(pid, 0)
          return 'alive'
        } catch {
          return 'gone'
        }
      })
      .toBe('gone')
  })
})
