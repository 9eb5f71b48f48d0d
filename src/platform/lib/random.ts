// Random identifiers and secrets. Base62 keeps them copy-paste and URL safe; rejection
// sampling keeps every character uniformly likely (no modulo bias).
import { randomBytes, randomFillSync } from 'node:crypto'

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

export function randomBase62(length: number): string {
  let out = ''
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // 248 = 62 * 4: bytes at or above it would favour the first characters.
      if (byte < 248) out += ALPHABET[byte % 62]
      if (out.length === length) break
    }
  }
  return out
}

// Identifiers made on every request or event (request ids, event ids) draw their randomness
// from a pool refilled 8 KiB at a time rather than asking for fresh bytes each time. They
// identify, they do not protect: secrets use randomBase62.
const pool = Buffer.alloc(8192)
let offset = pool.length

/** `prefix` + `length` base62 characters, from the pool. */
export function newIdentifier(prefix: string, length: number): string {
  let id = prefix
  const size = prefix.length + length
  while (id.length < size) {
    if (offset === pool.length) {
      randomFillSync(pool)
      offset = 0
    }
    const byte = pool[offset++]!
    if (byte < 248) id += ALPHABET[byte % 62]
  }
  return id
}

/** A request id: `req_` + 20 base62 characters. */
export function newRequestId(): string {
  return newIdentifier('req_', 20)
}
