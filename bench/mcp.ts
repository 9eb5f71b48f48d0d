// MCP gateway overhead: the same tool call — `echo` of the official server-everything over
// stdio — made through core-api (`POST /api/v1/mcp/tools/call`: auth, rate limit, validation,
// the allowlist, the audit record, the SDK client, the answer's mapping) against an SDK client
// calling the server directly from this process. Both keep CONNECTIONS calls in flight for
// SECONDS, in turns, in rounds. Target: at least 0.5 of the direct throughput. A second row
// holds the gateway against what any gateway could reach here: a gateway call is an
// authenticated HTTP request plus the direct call, so GET /api/v1/me is measured alone too and
// the two costs are added.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { bearer, tenants, withCore } from './lib/core.ts'
import { CONNECTIONS, compare, type Load, load, SECONDS } from './lib/load.ts'
import { comparedRow, type Row } from './lib/report.ts'

const EVERYTHING = fileURLToPath(
  new URL('../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url),
)
const ARGS = { message: 'benchmark' }

/** Calls/s and p99 of `call` kept CONNECTIONS-deep for SECONDS (bounded in time and count). */
async function direct(call: () => Promise<unknown>): Promise<Load> {
  const latencies: number[] = []
  const until = Date.now() + SECONDS * 1000
  const worker = async () => {
    while (Date.now() < until && latencies.length < 1_000_000) {
      const started = performance.now()
      await call()
      latencies.push(performance.now() - started)
    }
  }
  const started = Date.now()
  await Promise.all(Array.from({ length: CONNECTIONS }, worker))
  latencies.sort((a, b) => a - b)
  return {
    rps: latencies.length / ((Date.now() - started) / 1000),
    p99: Math.round(latencies[Math.floor(latencies.length * 0.99)] ?? 0),
    errors: 0,
    non2xx: 0,
    otherCpu: 0,
    cpuPerRequest: null,
    dbCpuPerRequest: null,
  }
}

export async function mcpGateway(): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'core-api-bench-mcp-'))
  const config = join(dir, 'mcp.json')
  const server = { command: process.execPath, args: [EVERYTHING, 'stdio'] }
  writeFileSync(config, JSON.stringify({ mcpServers: { everything: server } }))
  const client = new Client({ name: 'core-api-bench', version: '1' })
  await client.connect(new StdioClientTransport({ ...server, stderr: 'ignore' }))
  try {
    const { compared, me } = await withCore({ DATA_DIR: 'memory://', MCP_CONFIG: config }, async (core) => {
      const [tenant] = await tenants(core, 1)
      // An authenticated request that does nothing else: the HTTP hop every gateway call pays.
      const me = await load({ server: core, targets: [{ path: '/api/v1/me', headers: bearer(tenant!.key) }] })
      const compared = await compare(
        () => direct(() => client.callTool({ name: 'echo', arguments: ARGS })),
        () =>
          load({
            server: core,
            targets: [{ path: '/api/v1/mcp/tools/call', headers: bearer(tenant!.key) }],
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ server: 'everything', tool: 'echo', arguments: ARGS }),
            expect: 200,
          }),
      )
      return { compared, me }
    })
    // The most a gateway can answer on this machine: an authenticated HTTP request and the
    // direct call one after the other, their costs added (1 / (1/me + 1/direct)).
    const ceiling = 1 / (1 / me.rps + 1 / compared.baseline.rps)
    return [
      comparedRow('MCP tool call through the gateway vs the SDK calling stdio directly', compared, 0.5),
      {
        name: 'MCP tool call through the gateway vs its ceiling (GET /api/v1/me and the direct call in series)',
        subject: compared.subject,
        baseline: { rps: ceiling },
        target: '>= 0.5',
        met: compared.subject.rps / ceiling >= 0.5,
        note:
          `GET /api/v1/me ${Math.round(me.rps)}/s and the direct call ${Math.round(compared.baseline.rps)}/s ` +
          `alone: a ceiling of ${(ceiling / compared.baseline.rps).toFixed(2)} of the direct call`,
      },
    ]
  } finally {
    await client.close()
    rmSync(dir, { recursive: true, force: true })
  }
}
