import { createServer, type Server } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_RETRY_AFTER_MS, parseRetryAfter, Sender } from './sender.ts'

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
    if (req.url === '/binary') {
      res.writeHead(503, { 'retry-after': '99999999999999' })
      res.end(Buffer.from([0x61, 0x00, 0xff, 0xe2, 0x82]))
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

describe('what a receiver sends back, as it is kept', () => {
  const sender = new Sender({ allowInsecure: true, timeoutMs: 1000 })
  afterAll(() => sender.close())

  it('turns a binary answer into text without NUL and caps Retry-After', async () => {
    const result = await sender.send(new URL(`${base}/binary`), {}, '{}')
    expect(result).toMatchObject({
      ok: false,
      status: 503,
      body: 'a\uFFFD\uFFFD\uFFFD',
      retryAfterMs: MAX_RETRY_AFTER_MS,
    })
  })

  it('reads Retry-After as seconds or a date, between 0 and 24 hours, else not at all', () => {
    const now = Date.UTC(2026, 0, 1)
    expect(parseRetryAfter('120', now)).toBe(120_000)
    expect(parseRetryAfter(' 7 ', now)).toBe(7000)
    expect(parseRetryAfter('99999999999999', now)).toBe(MAX_RETRY_AFTER_MS)
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:01:00 GMT', now)).toBe(60_000)
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0)
    expect(parseRetryAfter('Fri, 31 Dec 9999 23:59:59 GMT', now)).toBe(MAX_RETRY_AFTER_MS)
    expect(parseRetryAfter('Fri, 31 Dec 275759 23:59:59 GMT', now)).toBeNull()
    expect(parseRetryAfter('2026-01-01T00:01:00Z', now)).toBeNull()
    expect(parseRetryAfter('soon', now)).toBeNull()
    expect(parseRetryAfter('-5', now)).toBeNull()
    expect(parseRetryAfter(undefined, now)).toBeNull()
  })
})
