import { createServer } from 'node:http'
import { describe, expect, it } from 'vitest'
import { Sender } from '../../modules/webhooks/sender.ts'
import { checkUrl, guardedLookup, isBlockedAddress } from './ssrf.ts'

describe('SSRF guard', () => {
  it('blocks every private, loopback, link-local, CGNAT, multicast and metadata range', () => {
    for (const address of [
      '0.0.0.0',
      '10.1.2.3',
      '100.64.0.1',
      '127.0.0.1',
      '169.254.169.254',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '198.18.0.1',
      '224.0.0.1',
      '240.0.0.1',
      '255.255.255.255',
      '::',
      '::1',
      'fc00::1',
      'fd00:ec2::254',
      'fe80::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '64:ff9b::a00:1',
      'not-an-ip',
    ]) {
      expect(isBlockedAddress(address), address).toBe(true)
    }
    for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '172.32.0.1']) {
      expect(isBlockedAddress(address), address).toBe(false)
    }
  })

  it('checks URLs before they are stored', () => {
    expect(() => checkUrl('http://example.com', false)).toThrow('https')
    expect(() => checkUrl('https://192.168.0.1/x', false)).toThrow('private')
    expect(() => checkUrl('https://localhost/x', false)).toThrow('private')
    expect(checkUrl('https://example.com/hook', false).hostname).toBe('example.com')
    expect(checkUrl('http://127.0.0.1:9/x', true).port).toBe('9')
  })

  it('refuses at connect time a host name that resolves to a blocked address', async () => {
    const lookup = guardedLookup(false)
    const error = await new Promise<Error | null>((resolve) => lookup('localhost', {}, (e) => resolve(e)))
    expect(error?.message).toBe('localhost: destination not allowed')

    let hits = 0
    const server = createServer((_req, res) => {
      hits++
      res.end('ok')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as { port: number }
    try {
      const guarded = new Sender({ allowInsecure: false, timeoutMs: 2000 })
      const blocked = await guarded.send(new URL(`http://localhost:${port}/x`), {}, '{}')
      expect(blocked.ok).toBe(false)
      expect(blocked.error).toMatch(/^Blocked/)
      // What the name resolves to is not told (the delivery log is shown to the workspace).
      expect(blocked.error).not.toMatch(/127\.0\.0\.1|::1|private|loopback/)
      expect(hits).toBe(0)
      guarded.close()
      const open = new Sender({ allowInsecure: true, timeoutMs: 2000 })
      expect((await open.send(new URL(`http://localhost:${port}/x`), {}, '{}')).ok).toBe(true)
      expect(hits).toBe(1)
      open.close()
    } finally {
      server.close()
    }
  })

  it('names the resolved address only to the operator’s debug hook, never in the error', async () => {
    const seen: Array<[string, string]> = []
    const lookup = guardedLookup(false, (host, address) => seen.push([host, address]))
    const error = await new Promise<Error | null>((resolve) =>
      lookup('localhost', { all: true }, (e) => resolve(e)),
    )
    expect(error?.name).toBe('UnsafeUrlError')
    expect(error?.message).not.toMatch(/\d+\.\d+\.\d+\.\d+|::1|resolves/)
    expect(seen).toHaveLength(1)
    expect(seen[0]![0]).toBe('localhost')
    expect(['127.0.0.1', '::1']).toContain(seen[0]![1])
  })
})
