// core-api as an MCP server: an SDK client connects to POST /mcp with a key over Streamable
// HTTP, sees exactly the operations its scopes allow as tools, and acts through them under the
// same guards as an HTTP call.
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { Type } from 'typebox'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addComponents, component } from '../../platform/http/responses.ts'
import { useTestApp } from '../../testing/harness.ts'

/**
 * A request body documented by a named schema (`$ref`). The platform's validator resolves no
 * references, so this test route validates its body itself; the document is what is under test.
 */
const Note = component('AgentTestNote', Type.Object({ text: Type.String({ minLength: 1 }) }), {
  example: { text: 'Hello' },
})

const t = useTestApp({
  setup: (server) => {
    addComponents(server, Note)
    server.post(
      '/api/v1/agent-test-notes',
      {
        schema: { operationId: 'createAgentTestNote', body: Note.ref },
        config: { auth: { scope: 'posts:write', workspace: true } },
        validatorCompiler: () => (value) => ({ value }),
      },
      async (req) => ({ echoed: req.body }),
    )
  },
})
let base: string
let workspace: number
const clients: Client[] = []

beforeAll(async () => {
  base = await t.app.listen({ port: 0, host: '127.0.0.1' })
  workspace = (await t.workspace()).id
})
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()))
})

async function connect(key: string | null, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'agent-test', version: '1.0.0' })
  const transport = new StreamableHTTPClientTransport(new URL('/mcp', base), {
    requestInit: { headers: { ...headers, ...(key !== null && { authorization: `Bearer ${key}` }) } },
  })
  await client.connect(transport)
  clients.push(client)
  return client
}

const postsOf = async (key: string) =>
  (await t.call(key, { method: 'GET', url: '/api/v1/posts' })).json().data as Array<{ title: string }>

describe('POST /mcp', () => {
  it("offers the operations the key's scopes allow, and creates a post through one", async () => {
    const { key } = await t.key(workspace, { scopes: ['posts:write'] })
    const client = await connect(key)
    const names = (await client.listTools()).tools.map((tool) => tool.name)
    expect(names).toEqual(
      expect.arrayContaining(['listPosts', 'getPost', 'createPost', 'updatePost', 'getMe']),
    )
    for (const refused of ['deletePost', 'createWebhook', 'createApiKey', 'listMcpServers', 'callMcpTool'])
      expect(names).not.toContain(refused)

    const tools = (await client.listTools()).tools
    const create = tools.find((tool) => tool.name === 'createPost')!
    expect(create.inputSchema).toMatchObject({ type: 'object', required: ['body'] })
    // Each input schema stands alone: the document's named schemas are inlined, never referenced.
    for (const tool of tools) expect(JSON.stringify(tool.inputSchema), tool.name).not.toContain('$ref')
    const note = tools.find((tool) => tool.name === 'createAgentTestNote')!
    expect(note.inputSchema.properties?.body).toMatchObject({
      type: 'object',
      properties: { text: { type: 'string', minLength: 1 } },
    })

    const created = await client.callTool({
      name: 'createPost',
      arguments: { body: { title: 'From an agent' } },
    })
    expect(created.isError).toBe(false)
    expect(created.structuredContent).toMatchObject({
      message: 'Post created successfully.',
      data: { title: 'From an agent', status: 'draft' },
    })
    const id = (created.structuredContent as { data: { id: number } }).data.id
    const got = await client.callTool({ name: 'getPost', arguments: { id } })
    expect(got.structuredContent).toMatchObject({ data: { id, title: 'From an agent' } })
    expect((await postsOf(key)).map((p) => p.title)).toEqual(['From an agent'])
  })

  it('refuses a tool the scopes do not allow, and a call the API would refuse, storing nothing', async () => {
    const { key } = await t.key(workspace, { scopes: ['posts:read'] })
    const client = await connect(key)
    const denied = await client.callTool({ name: 'createPost', arguments: { body: { title: 'No' } } })
    expect(denied.isError).toBe(true)
    expect(denied.content).toEqual([
      { type: 'text', text: 'Unknown tool, or not allowed for this credential: createPost' },
    ])

    const { key: writer } = await t.key(workspace, { scopes: ['posts:write'] })
    const writing = await connect(writer)
    const invalid = await writing.callTool({ name: 'createPost', arguments: { body: { title: '' } } })
    expect(invalid.isError).toBe(true)
    expect(invalid.structuredContent).toMatchObject({ error: 'validation_failed' })
    expect((await postsOf(writer)).map((p) => p.title)).toEqual(['From an agent'])
  })

  it("narrows a user's tools by the user's role in the workspace", async () => {
    const team = (await t.workspace()).id
    const tools = async (role: 'owner' | 'member') => {
      const person = await t.member(team, role, `${role}@agent-roles.test`)
      const client = await connect(null, {
        cookie: person.cookie,
        'x-csrf-token': person.csrf,
        'x-workspace-id': String(team),
      })
      return (await client.listTools()).tools.map((tool) => tool.name)
    }
    const member = await tools('member')
    expect(member).toEqual(
      expect.arrayContaining(['listPosts', 'createPost', 'createApiKey', 'listWebhooks']),
    )
    for (const refused of ['createWebhook', 'deleteWorkspace', 'updateWorkspace'])
      expect(member).not.toContain(refused)
    expect(await tools('owner')).toEqual(expect.arrayContaining(['createWebhook', 'deleteWorkspace']))
  })

  it('gives an Idempotency-Key to the tool call: the same call again is replayed, not repeated', async () => {
    const fresh = (await t.workspace()).id
    const { key } = await t.key(fresh, { scopes: ['posts:write'] })
    const client = await connect(key, { 'idempotency-key': 'agent-retry-1' })
    const args = { name: 'createPost', arguments: { body: { title: 'Once' } } }
    const first = await client.callTool(args)
    const again = await client.callTool(args)
    expect(first.isError).toBe(false)
    expect(again.structuredContent).toEqual(first.structuredContent)
    expect((await postsOf(key)).map((p) => p.title)).toEqual(['Once'])
    const other = await client.callTool({ name: 'createPost', arguments: { body: { title: 'Twice' } } })
    expect(other.isError).toBe(true)
    expect(other.structuredContent).toMatchObject({ error: 'idempotency_key_reused' })
    expect((await postsOf(key)).map((p) => p.title)).toEqual(['Once'])
  })

  it('answers a body that is not JSON-RPC with 422 in the API error format', async () => {
    const { key } = await t.key(workspace, { scopes: ['posts:read'] })
    for (const payload of [{}, [], { jsonrpc: '1.0', id: 1, method: 'x' }]) {
      const res = await t.call(key, { method: 'POST', url: '/mcp', payload })
      expect(res.statusCode).toBe(422)
      expect(res.json()).toMatchObject({
        error: 'validation_failed',
        errors: { body: ['The body must be a JSON-RPC 2.0 message of the MCP Streamable HTTP transport.'] },
      })
    }
    // Without the Accept header the transport wants, the answer is still JSON.
    const res = await t.call(key, {
      method: 'POST',
      url: '/mcp',
      headers: { accept: 'application/json' },
      payload: { jsonrpc: '2.0', id: 7, method: 'tools/list' },
    })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ jsonrpc: '2.0', id: 7, result: { tools: expect.any(Array) } })
  })

  it('answers 401 without a valid credential', async () => {
    await expect(connect(null)).rejects.toThrow(/401|unauthorized/i)
    await expect(connect('sk_live_notARealKeyAtAllxxxxxxxxxxxxxxxxxxxxxxxxx')).rejects.toThrow(
      /401|unauthorized/i,
    )
  })
})
