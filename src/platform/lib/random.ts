// Random identifiers and secrets. Base62 keeps them copy-paste and URL safe; rejection
// sampling keeps every character uniformly likely (no modulo bias).
import { randomBytes } from 'node:crypto'

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

/** A request id: `req_` + 20 base62 characters. */
export function newRequestId(): string {
  return `req_${randomBase62(20)}`
}
