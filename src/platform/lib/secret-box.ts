// Encryption at rest for secrets that must be read back (webhook signing secrets): AES-256-GCM
// with a random nonce per value. Stored as `v1.<nonce>.<tag>.<ciphertext>` (base64url).
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'

export class SecretBox {
  private readonly key: Buffer

  /** `material`: any string of at least 32 characters; the key is its SHA-256. */
  constructor(material: string) {
    if (material.length < 32) throw new Error('encryption key material must be at least 32 characters')
    this.key = createHash('sha256').update(material).digest()
  }

  seal(plaintext: string): string {
    const nonce = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce)
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
    return ['v1', nonce, cipher.getAuthTag(), data]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.')
  }

  open(sealed: string): string {
    const [version, nonce, tag, data] = sealed.split('.')
    if (version !== 'v1' || !nonce || !tag || data === undefined) throw new Error('not a sealed value')
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(nonce, 'base64url'))
    decipher.setAuthTag(Buffer.from(tag, 'base64url'))
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8')
  }
}
