// The fetch registered MCP servers are reached with, against real servers on loopback: the
// answer streams, stops at the byte limit, and a reader that gives up early leaves nothing
// behind (a chunk already buffered must not be pushed into the cancelled stream).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { guardedFetch } from './guarded-fetch.ts'
import { type Loopback, loopbackServer } from './remote-fixture.ts'

let server: Loopback
let base: string

beforeAll(async () => {
  server = await loopbackServer((req, res) => {
    const chunk = Buffer.alloc(64 * 1024, 'a')
    if (req.url === '/huge') {
      // Past the limit, a chunk at a time, as long as the client reads.
      let sent = 0
      const pump = () => {
        while (sent < 12 * 1024 * 1024) {
          sent += chunk.length
          if (!res.write(chunk)) return void res.once('drain', pump)
        }
        res.end()
      }
      return pump()
    }
    if (req.url === '/many') {
      for (let i = 0; i < 64; i++) res.write(chunk)
      return res.end()
    }
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ method: req.method }))
  })
  base = server.base
})

afterAll(() => server.close())

describe('guardedFetch', () => {
  it('streams a whole answer', async () => {
    const res = await guardedFetch(true)(`${base}/json`, { method: 'POST', body: '{}' })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ method: 'POST' })
  })

  it('refuses an address the SSRF guard forbids', async () => {
    await expect(guardedFetch(false)(`${base}/json`)).rejects.toThrow()
  })

  it('errors the body past the byte limit', async () => {
    const res = await guardedFetch(true)(`${base}/huge`)
    await expect(res.arrayBuffer()).rejects.toThrow(/exceeds/)
  })

  it('leaves nothing behind when the reader cancels with chunks still buffered', async () => {
    for (let round = 0; round < 20; round++) {
      const res = await guardedFetch(true)(`${base}/many`)
      const reader = res.body!.getReader()
      // Let chunks arrive and wait in the buffers, then take one and give up at once: taking
      // it asks the source for more, and the cancel lands before the source's next turn.
      await new Promise((resolve) => setTimeout(resolve, 5))
      await reader.read()
      await reader.cancel()
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  })
})
