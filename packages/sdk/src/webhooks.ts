// Verifies a webhook delivery the Standard Webhooks way (docs/webhooks.md): the signature is
// HMAC-SHA256, keyed with the base64 secret after `whsec_`, over `{webhook-id}.{webhook-timestamp}.{body}`;
// `webhook-signature` holds one or more space-separated `v1,<base64>` (two during a secret's
// rotation), any of which may match. The HMAC is WebCrypto's and the comparison takes the same
// time wherever the strings differ, so it runs in Node, Deno, Bun, browsers and edge runtimes.
import type { components } from './schema.js'

type Schemas = components['schemas']
/** What an API key event carries: the key's summary, never its secret. */
type KeySummary = { id: number; name: string; prefix: string; [field: string]: unknown }

/** The `data` of each event type. */
export type WebhookEventData = {
  'post.created': Schemas['Post']
  'post.updated': Schemas['Post']
  'post.deleted': Schemas['Post']
  'api_key.created': KeySummary
  'api_key.rotated': KeySummary & { rotated_from_id: number; grace_period_ends_at: string }
  'api_key.revoked': KeySummary
  'workspace.updated': Schemas['Workspace']
  'webhook.test': { webhook_id: number; message: string }
  'webhook.disabled': { webhook_id: number; url: string; reason: string }
}

/** A delivery's body: narrow on `type` to get the typed `data`. */
export type WebhookEvent = {
  [T in keyof WebhookEventData]: {
    id: string
    type: T
    /** When the event happened (ISO 8601). */
    timestamp: string
    workspace_id: number
    data: WebhookEventData[T]
  }
}[keyof WebhookEventData]

export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>

export type VerifyOptions = {
  /** Seconds a timestamp may be off from now, either way. Default 300. */
  tolerance?: number
  /** The current time (milliseconds since the epoch), for tests. */
  now?: number
}

export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'WebhookVerificationError'
  }
}

const encoder = new TextEncoder()

/**
 * Checks the headers and signature of a webhook request and returns its parsed event; throws a
 * WebhookVerificationError otherwise. Pass the body exactly as received (a string or bytes),
 * never a parsed object: re-serialising JSON changes bytes, so the signature could not match.
 * `secret` is the endpoint's `whsec_…` secret (or several, while you switch to a new one).
 */
export async function verifyWebhook(
  rawBody: string | Uint8Array | ArrayBuffer,
  headers: WebhookHeaders,
  secret: string | readonly string[],
  options: VerifyOptions = {},
): Promise<WebhookEvent> {
  const body = bodyBytes(rawBody)
  const id = header(headers, 'webhook-id')
  const timestamp = header(headers, 'webhook-timestamp')
  const signatures = header(headers, 'webhook-signature')
  if (!id || !timestamp || !signatures) {
    throw new WebhookVerificationError('Missing webhook-id, webhook-timestamp or webhook-signature header')
  }
  if (!/^\d{1,15}$/.test(timestamp)) throw new WebhookVerificationError('Invalid webhook-timestamp header')
  const tolerance = options.tolerance ?? 300
  const skew = (options.now ?? Date.now()) / 1000 - Number(timestamp)
  if (skew > tolerance) throw new WebhookVerificationError('The webhook timestamp is too old')
  if (skew < -tolerance) throw new WebhookVerificationError('The webhook timestamp is too far in the future')

  const signed = concat(encoder.encode(`${id}.${timestamp}.`), body)
  const candidates = signatures
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => entry.slice(3))
  const secrets = typeof secret === 'string' ? [secret] : secret
  if (secrets.length === 0) throw new WebhookVerificationError('No secret given')
  let matched = false
  for (const one of secrets) {
    const expected = await sign(one, signed)
    // Every candidate is compared, match or not, so the time taken says nothing about which.
    for (const candidate of candidates) matched = constantTimeEqual(expected, candidate) || matched
  }
  if (!matched) throw new WebhookVerificationError('No matching webhook signature')
  try {
    return JSON.parse(new TextDecoder().decode(body)) as WebhookEvent
  } catch {
    throw new WebhookVerificationError('The webhook body is not JSON')
  }
}

function bodyBytes(rawBody: unknown): Uint8Array {
  if (typeof rawBody === 'string') return encoder.encode(rawBody)
  if (rawBody instanceof Uint8Array) return rawBody
  if (rawBody instanceof ArrayBuffer) return new Uint8Array(rawBody)
  throw new WebhookVerificationError(
    'Pass the raw request body (a string, Uint8Array, Buffer or ArrayBuffer) exactly as received: ' +
      'a parsed and re-serialised body does not have the bytes that were signed. ' +
      "In Express use express.raw({ type: 'application/json' }); with fetch, await request.text().",
  )
}

function header(headers: WebhookHeaders, name: string): string | null {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name)
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value.join(' ') : (value ?? null)
  }
  return null
}

async function sign(secret: string, data: Uint8Array): Promise<string> {
  const encoded = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret
  let key: Uint8Array
  try {
    key = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0))
  } catch {
    throw new WebhookVerificationError('The secret is not base64 (a whsec_… secret is expected)')
  }
  const hmac = await globalThis.crypto.subtle.importKey(
    'raw',
    key as Uint8Array<ArrayBuffer>,
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  )
  const mac = new Uint8Array(
    await globalThis.crypto.subtle.sign('HMAC', hmac, data as Uint8Array<ArrayBuffer>),
  )
  let binary = ''
  for (const byte of mac) binary += String.fromCharCode(byte)
  return btoa(binary)
}

function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false // the length of a signature is public
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}
