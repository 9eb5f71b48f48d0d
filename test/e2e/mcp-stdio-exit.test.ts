// A stdio MCP server that ignores the end of its input (the fixture's `hang` mode) must not
// outlive the server that started it: a real server process starts it, stops on SIGTERM, and
// the MCP server's process is gone too.
import { rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { randomBase62 } from '../../src/platform/lib/random.ts'
import { call, createTenant, processesMatching, startServer } from '../../src/testing/processes.ts'

const MASTER = `sk_master_${randomBase62(40)}`
const FIXTURE = fileURLToPath(new URL('../../src/modules/mcp/fixture-server.ts', import.meta.url))
/** Passed to the fixture (which ignores it) so that this test finds its own processes only. */
const MARKER = `exit-test-${randomBase62(12)}`

/** The pids of this test's MCP server processes still running. */
const survivors = () => processesMatching(MARKER)

describe('stdio MCP servers at shutdown', () => {
  it('are killed with the server, even one that ignores the end of its input', async () => {
    const config = join(tmpdir(), `core-api-mcp-exit-${process.pid}.json`)
    writeFileSync(
      config,
      JSON.stringify({
        mcpServers: {
          hanging: { command: process.execPath, args: [FIXTURE, 'hang', MARKER], timeout: 30_000 },
        },
      }),
    )
    const server = await startServer({
      DATABASE_URL: '',
      REDIS_URL: '',
      DATA_DIR: 'memory://',
      CORE_API_MASTER_KEY: MASTER,
      WEBHOOK_WORKER: '0',
      MCP_CONFIG: config,
    })
    try {
      const { key } = await createTenant(server.url, MASTER)
      // Listing the servers starts connecting to each, so the fixture's process starts.
      expect((await call(server.url, key, 'GET', '/api/v1/mcp/servers')).status).toBe(200)
      await expect.poll(survivors, { timeout: 10_000 }).not.toEqual([])
    } finally {
      await server.stop('SIGTERM')
      rmSync(config, { force: true })
    }
    await expect.poll(survivors, { timeout: 5_000 }).toEqual([])
  }, 60_000)
})
