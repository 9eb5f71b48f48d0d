// MCP_CONFIG is checked once, at start: a file that cannot be used stops the start with a
// message naming the server and the field.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../platform/config/index.ts'
import { mcpSettings } from './settings.ts'

const dir = mkdtempSync(join(tmpdir(), 'core-api-mcp-config-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let files = 0
function configWith(content: unknown) {
  const path = join(dir, `mcp-${++files}.json`)
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content))
  return loadConfig({ CORE_API_MASTER_KEY: `sk_master_${'x'.repeat(40)}`, MCP_CONFIG: path })
}

describe('MCP_CONFIG', () => {
  it('reads stdio and Streamable HTTP servers, leaving disabled ones out', () => {
    const config = configWith({
      mcpServers: {
        files: { command: 'node', args: ['server.js'], env: { A: '1' }, cwd: 'sub', timeout: 500 },
        remote: {
          type: 'streamable-http',
          url: 'https://mcp.example.com/mcp',
          headers: { Authorization: 'x' },
        },
        off: { command: 'node', disabled: true },
      },
    })
    expect(mcpSettings.from(config).servers).toEqual([
      {
        id: 'files',
        name: 'files',
        description: '',
        timeoutMs: 500,
        transport: 'stdio',
        command: 'node',
        args: ['server.js'],
        env: { A: '1' },
        cwd: join(dir, 'sub'),
      },
      {
        id: 'remote',
        name: 'remote',
        description: '',
        timeoutMs: null,
        transport: 'http',
        url: 'https://mcp.example.com/mcp',
        headers: { Authorization: 'x' },
      },
    ])
  })

  it('stops the start on a file that cannot be used, naming the server and the field', () => {
    const cases: Array<[unknown, RegExp]> = [
      ['{not json', /is not valid JSON/],
      [{ servers: {} }, /must hold an object "mcpServers"/],
      [{ mcpServers: { 'Bad Id': { command: 'x' } } }, /mcpServers.Bad Id: a server id is/],
      [{ mcpServers: { a: { command: 'x', colour: 'red' } } }, /mcpServers.a: unknown field "colour"/],
      [{ mcpServers: { a: { command: 'x', url: 'https://x' } } }, /give either command or url/],
      [{ mcpServers: { a: { command: 'x', args: [1] } } }, /mcpServers.a.args must be an array of strings/],
      [{ mcpServers: { a: { url: 'ftp://x' } } }, /mcpServers.a.url must be http or https/],
      [{ mcpServers: { a: { command: 'x', timeout: 0 } } }, /mcpServers.a.timeout must be milliseconds/],
      [{ mcpServers: { a: {} } }, /needs a "command" \(stdio\) or a "url"/],
    ]
    for (const [content, message] of cases) expect(() => configWith(content)).toThrow(message)
    expect(() =>
      loadConfig({
        CORE_API_MASTER_KEY: `sk_master_${'x'.repeat(40)}`,
        MCP_CONFIG: join(dir, 'absent.json'),
      }),
    ).toThrow(/MCP_CONFIG: cannot read .*absent.json \(ENOENT\)/)
  })
})
