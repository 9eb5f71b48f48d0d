// A tiny MCP server over stdio for the gateway's tests, written with the SDK's server side:
// tools that echo, report an error, crash the process mid-call, never answer, or change the
// tool list (announcing it with notifications/tools/list_changed), listed one
// page per tool so the gateway must follow MCP cursors. Started with the argument `hang`, it
// never answers at all (not even the handshake). Not part of the running application.
import { Server } from '@modelcontextprotocol/sdk/server/index.js'
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import { CallToolRequestSchema, ListToolsRequestSchema, type Tool } from '@modelcontextprotocol/sdk/types.js'

const TOOLS: Tool[] = [
  {
    name: 'echo',
    description: 'Answers its text',
    inputSchema: {
      type: 'object',
      properties: { text: { type: 'string', description: 'What to say' }, times: { type: 'integer' } },
      required: ['text'],
    },
  },
  { name: 'fail', description: 'Reports an error', inputSchema: { type: 'object', properties: {} } },
  {
    name: 'crash',
    description: 'Exits the process mid-call',
    inputSchema: { type: 'object', properties: {} },
  },
  { name: 'hang', description: 'Never answers', inputSchema: { type: 'object', properties: {} } },
  {
    name: 'grow',
    description: 'Adds the tool "extra" and announces the change',
    inputSchema: { type: 'object', properties: {} },
  },
]

const server = new Server(
  { name: 'fixture', version: '1.0.0' },
  { capabilities: { tools: { listChanged: true } } },
)

server.setRequestHandler(ListToolsRequestSchema, async (request) => {
  const at = Number(request.params?.cursor ?? 0)
  const next = at + 1
  return { tools: [TOOLS[at]!], ...(next < TOOLS.length && { nextCursor: String(next) }) }
})

server.setRequestHandler(CallToolRequestSchema, async (request) => {
  const args = (request.params.arguments ?? {}) as { text?: string }
  switch (request.params.name) {
    case 'echo':
      return {
        content: [{ type: 'text', text: `${args.text} (pid ${process.pid})` }],
        structuredContent: { text: args.text, pid: process.pid },
      }
    case 'fail':
      return { content: [{ type: 'text', text: 'the tool failed' }], isError: true }
    case 'crash':
      process.exit(3)
      break
    case 'hang':
      return new Promise<never>(() => {})
    case 'grow':
      if (!TOOLS.some((t) => t.name === 'extra'))
        TOOLS.push({ name: 'extra', inputSchema: { type: 'object', properties: {} } })
      await server.sendToolListChanged()
      return { content: [{ type: 'text', text: 'grown' }] }
  }
  throw new Error(`unknown tool ${request.params.name}`)
})

if (process.argv[2] === 'hang') {
  // Reads what it is sent and never answers; stays alive until it is killed.
  process.stdin.resume()
  setInterval(() => {}, 60_000)
} else {
  // `slow-start <ms>`: a server that takes that long to start answering (a command being fetched).
  if (process.argv[2] === 'slow-start')
    await new Promise((resolve) => setTimeout(resolve, Number(process.argv[3])))
  await server.connect(new StdioServerTransport())
}
