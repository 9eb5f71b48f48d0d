// Secrets are stored and compared only as SHA-256 digests. They are high-entropy random
// strings, so a fast unsalted hash is enough to make a leaked table useless, and it keeps the
// credential lookup a single indexed equality match.
import { createHash } from 'node:crypto'

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex')
}
