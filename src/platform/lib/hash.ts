// Secrets are stored and compared only as SHA-256 digests. They are high-entropy random
// strings, so a fast unsalted hash is enough to make a leaked table useless, and it keeps the
// credential lookup a single indexed equality match.
import { hash } from 'node:crypto'

/** One-shot: no Hash object per call, which matters on every authenticated request. */
export function sha256Hex(value: string): string {
  return hash('sha256', value, 'hex')
}
