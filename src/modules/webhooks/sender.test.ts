import { createServer, type Server } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Sender } from './sender.ts'

let server: Server
let base = ''
beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume()
    if (req.url === '/silent') return // never answers
    if (req.url === '/huge') {
      res.writeHead(200)
      res.end('x'.repeat(5 * 1024 * 1024))
      return
    }
    if (req.url === '/hangup') {
      res.writeHead(200, { 'content-length': '1000' })
      res.write('partial')
      setTimeout(() => res.destroy(), 10)
      return
    }
    if (req.url === '/redirect') {
      res.writeHead(302, { location: '/ok' }).end()
      return
    }
    res.end('ok')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
})
afterAll(() => {
  server.closeAllConnections()
  server.close()
})

describe('one delivery attempt', () => {
  const sender = new Sender({ allowInsecure: true, timeoutMs: 300 })
  afterAll(() => sender.close())

  it('gives up on a receiver that never answers', async () => {
    const result = await sender.send(new URL(`${base}/silent`), {}, '{}')
    expect(result).toMatchObject({ ok: false, status: null, error: 'Connection timeout' })
    expect(result.durationMs).toBeGreaterThanOrEqual(290)
  })

  it('keeps only a bounded prefix of a huge answer, and survives a receiver hanging up', async () => {
    const huge = await sender.send(new URL(`${base}/huge`), {}, '{}')
    expect(huge.body.length).toBe(4096)
    const hangup = await sender.send(new URL(`${base}/hangup`), {}, '{}')
    expect(hangup.body.startsWith('partial')).toBe(true)
    expect((await sender.send(new URL(`${base}/ok`), {}, '{}')).ok).toBe(true)
  })

  it('does not follow redirects: a 3xx is a failure', async () => {
    const result = await sender.send(new URL(`${base}/redirect`), {}, '{}')
    expect(result).toMatchObject({ ok: false, status: 302 })
  })

  it('reports a refused connection', async () => {
    const closed = new Sender({ allowInsecure: true, timeoutMs: 1000 })
    const result = await closed.send(new URL('http://127.0.0.1:9/'), {}, '{}')
    closed.close()
    expect(result).toMatchObject({ ok: false, error: 'Connection refused' })
  })
})
