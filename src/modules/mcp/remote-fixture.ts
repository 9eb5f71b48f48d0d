// Remote MCP servers for the tests: an HTTP server on a free loopback port, and the answer of
// an MCP `Server` to one Streamable HTTP request (stateless, JSON answers), as a server a
// workspace registers would give it.
import { createServer, type Server as HttpServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Server } from '@modelcontextprotocol/sdk/server/index.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'

export type Loopback = { base: string; close(): Promise<void> }

/** Serves `handler` on 127.0.0.1 at a free port; `close` ends it and its open connections. */
export async function loopbackServer(
  handler: (req: IncomingMessage, res: ServerResponse) => unknown,
): Promise<Loopback> {
  const http: HttpServer = createServer((req, res) => void handler(req, res))
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  return {
    base: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    close: async () => {
      http.closeAllConnections()
      await new Promise<void>((resolve) => http.close(() => resolve()))
    },
  }
}

/** The request's body, read whole. */
export async function bodyOf(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString()
}

/** Answers one request with `server`; `body` is the request's, already read (else it is read). */
export async function answerWith(
  server: Server,
  req: IncomingMessage,
  res: ServerResponse,
  body?: string,
): Promise<void> {
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: true,
  })
  res.on('close', () => {
    void transport.close()
    void server.close()
  })
  await server.connect(transport)
  await transport.handleRequest(req, res, body ? JSON.parse(body) : undefined)
}
