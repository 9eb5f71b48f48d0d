// The SSRF guard for every outbound request to a user-supplied URL. The URL must be HTTPS,
// and every address its host resolves to — checked when the connection is made, on every
// attempt, so DNS rebinding cannot slip past a check made earlier — must be public: not
// loopback, private, link-local, CGNAT, multicast, documentation, or cloud metadata.
// `allowInsecure` (WEBHOOK_ALLOW_INSECURE_URLS) lifts both rules for development and tests.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { BlockList, isIP, type LookupFunction } from 'node:net'

const blocked = new BlockList()
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this" network
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  blocked.addSubnet(network, prefix, 'ipv4')
}
for (const [network, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['100::', 64], // discard
  ['2001::', 32], // Teredo
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4
  ['fc00::', 7], // unique local (includes fd00:ec2::254, a metadata address)
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) {
  blocked.addSubnet(network, prefix, 'ipv6')
}

// IPv4-mapped (::ffff:0:0/96) and NAT64 (64:ff9b::/96) addresses are judged by the IPv4
// address they carry (embeddedIpv4): listing those prefixes in the IPv6 rules would make
// BlockList match every IPv4 address against them.

/** The IPv4 address embedded in an IPv4-mapped or NAT64 IPv6 address, if any. */
function embeddedIpv4(address: string): string | null {
  const lower = address.toLowerCase()
  const dotted = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower)
  if (dotted) return dotted[1]!
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower)
  if (!hex) return null
  const high = Number.parseInt(hex[1]!, 16)
  const low = Number.parseInt(hex[2]!, 16)
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`
}

/** True when the address must never be the target of a request made for a user. */
export function isBlockedAddress(address: string): boolean {
  const family = isIP(address)
  if (family === 0) return true
  if (family === 4) return blocked.check(address, 'ipv4')
  const v4 = embeddedIpv4(address)
  if (v4 !== null && blocked.check(v4, 'ipv4')) return true
  return blocked.check(address, 'ipv6')
}

export class UnsafeUrlError extends Error {
  override name = 'UnsafeUrlError'
}

/** Checks a URL's form before it is stored: HTTPS, no credentials, a host; literal IPs checked. */
export function checkUrl(raw: string, allowInsecure: boolean): URL {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new UnsafeUrlError('must be an absolute URL')
  }
  if (url.protocol !== 'https:' && !(allowInsecure && url.protocol === 'http:')) {
    throw new UnsafeUrlError('must use https')
  }
  if (url.username || url.password) throw new UnsafeUrlError('must not contain credentials')
  const host = url.hostname.replace(/^\[|\]$/g, '')
  if (!allowInsecure) {
    if (isIP(host) !== 0 && isBlockedAddress(host))
      throw new UnsafeUrlError('must not point to a private address')
    if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.internal')) {
      throw new UnsafeUrlError('must not point to a private address')
    }
  }
  return url
}

/**
 * A `lookup` for http(s).request that resolves every address of the host and refuses the
 * connection when any of them is blocked. The refusal says only that the destination is not
 * allowed: its text reaches the workspace (a delivery's error), and naming the address would
 * tell anyone what internal names resolve to. `onBlocked` (a debug log, say) gets the address.
 */
export function guardedLookup(
  allowInsecure: boolean,
  onBlocked?: (hostname: string, address: string) => void,
): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0)
      const list = addresses as unknown as LookupAddress[]
      if (!allowInsecure) {
        const bad = list.find((a) => isBlockedAddress(a.address))
        if (bad) {
          onBlocked?.(hostname, bad.address)
          const refusal = new UnsafeUrlError(`${hostname}: destination not allowed`)
          return callback(Object.assign(refusal, { code: 'EADDRNOTAVAIL' }), '', 0)
        }
      }
      if ((options as { all?: boolean }).all)
        return (callback as never as (e: null, a: LookupAddress[]) => void)(null, list)
      const first = list[0]
      if (!first)
        return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0)
      callback(null, first.address, first.family)
    })
  }
}
