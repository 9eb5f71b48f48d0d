// One connection to the fixture stdio server, without the app: the concurrency slots, the
// deadline that also bounds the wait for a slot, the restart backoff and the tool-list cache.
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { ApiError } from '../../platform/http/errors.ts'
import { ManualClock } from '../../platform/lib/clock.ts'
import { McpConnection } from './connection.ts'

const fixture = {
  transport: 'stdio' as const,
  command: process.execPath,
  args: [fileURLToPath(new URL('./fixture-server.ts', import.meta.url))],
  env: {},
  cwd: null,
}
const open: McpConnection[] = []
function connection(
  options: {
    maxConcurrent?: number
    timeoutMs?: number
    startTimeoutMs?: number
    toolsTtlMs?: number
    args?: string[]
  } = {},
) {
  const clock = new ManualClock(Date.now())
  const target = { ...fixture, args: [...fixture.args, ...(options.args ?? [])] }
  const made = new McpConnection('fixture', target, {
    clock,
    timeoutMs: options.timeoutMs ?? 5000,
    startTimeoutMs: options.startTimeoutMs ?? 30_000,
    maxConcurrent: options.maxConcurrent ?? 4,
    toolsTtlMs: options.toolsTtlMs ?? 60_000,
  })
  open.push(made)
  return { connection: made, clock }
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()))
})

const call = (c: McpConnection, name: string, args: Record<string, unknown> = {}) =>
  c.run(`tools/call ${name}`, (client, options) =>
    client.callTool({ name, arguments: args }, undefined, options),
  )
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (error: unknown) => error as ApiError,
  )

describe('McpConnection', () => {
  it('makes a call beyond the concurrency limit wait for a slot, only within its own deadline', async () => {
    const one = connection({ maxConcurrent: 1, timeoutMs: 2500 }).connection
    await call(one, 'echo', { text: 'warm up' })
    const hung = failure(call(one, 'hang'))
    const waiting = await failure(call(one, 'echo', { text: 'queued' }))
    expect(waiting).toBeInstanceOf(ApiError)
    expect(waiting!.code).toBe('upstream_error')
    expect((await hung)!.code).toBe('upstream_error')
    // The slot is free again.
    expect(await call(one, 'echo', { text: 'after' })).toMatchObject({ structuredContent: { text: 'after' } })

    const two = connection({ maxConcurrent: 2, timeoutMs: 2500 }).connection
    await call(two, 'echo', { text: 'warm up' })
    const hanging = failure(call(two, 'hang'))
    expect(await call(two, 'echo', { text: 'beside' })).toMatchObject({
      structuredContent: { text: 'beside' },
    })
    await hanging
  })

  it('restarts a crashed server at once the first time, then waits a backoff that doubles', async () => {
    const { connection: c, clock } = connection()
    await call(c, 'echo', { text: 'a' })
    expect((await failure(call(c, 'crash')))!.message).toMatch(/closed the connection/)
    await failure(call(c, 'crash'))
    // Two failures in a row: 250 ms before the next start.
    const refused = await failure(call(c, 'echo', { text: 'b' }))
    expect(refused!.message).toBe('MCP server fixture failed and is restarting; retry shortly.')
    expect(refused!.headers).toEqual({ 'retry-after': '1' })
    clock.advance(250)
    expect(await call(c, 'echo', { text: 'c' })).toMatchObject({ structuredContent: { text: 'c' } })
  })

  it('caches the tool list for its TTL, every page followed', async () => {
    const { connection: c, clock } = connection({ toolsTtlMs: 1000 })
    const first = await c.listTools()
    expect(first.map((t) => t.name)).toEqual(['echo', 'fail', 'crash', 'hang', 'grow'])
    expect(await c.listTools()).toBe(first)
    clock.advance(1000)
    const again = await c.listTools()
    expect(again).not.toBe(first)
    expect(again).toEqual(first)
  })

  it('drops the cached tool list when the server announces a change', async () => {
    const { connection: c } = connection({ toolsTtlMs: 3_600_000 })
    expect((await c.listTools()).map((t) => t.name)).not.toContain('extra')
    await call(c, 'grow')
    expect((await c.listTools()).map((t) => t.name)).toContain('extra')
  })

  it('lets a slow start outlive the request that began it, within the start timeout', async () => {
    const { connection: slow } = connection({ timeoutMs: 300, args: ['slow-start', '1500'] })
    const first = await failure(call(slow, 'echo', { text: 'early' }))
    expect(first?.code).toBe('upstream_error') // the request keeps its own deadline
    await new Promise((resolve) => setTimeout(resolve, 3000))
    expect(await call(slow, 'echo', { text: 'started' })).toMatchObject({
      structuredContent: { text: 'started' },
    })
  })

  it('gives up a start that takes longer than the start timeout', async () => {
    const { connection: slow } = connection({
      timeoutMs: 300,
      startTimeoutMs: 300,
      args: ['slow-start', '5000'],
    })
    const first = await failure(call(slow, 'echo', { text: 'early' }))
    expect(first?.code).toBe('upstream_error')
    await new Promise((resolve) => setTimeout(resolve, 600))
    expect((await slow.glance(50)).status).toBe('unreachable') // the start failed: not still connecting
  })

  it('refuses calls once closed', async () => {
    const { connection: c } = connection()
    await c.close()
    expect((await failure(call(c, 'echo', { text: 'x' })))!.message).toBe('MCP server fixture is shut down.')
  })
})
