// What the audit keeps of a tool call's arguments: the shape and the harmless values, never
// anything that looks like a secret. A value is replaced when its name says secret (`password`,
// `api_key`, `token`, `authorization` …) or its text looks like one (our key prefixes, a
// Bearer/Basic value, a JWT, a long unbroken run of key-like characters); strings are cut to
// 200 characters, nesting to 5 levels and arrays to 20 items.
import { redactText, SECRET_FIELDS } from '../../platform/logging.ts'

const CENSOR = '[redacted]'
const SECRET_NAME =
  /pass(word|wd|phrase)?|secret|token|api[-_]?key|auth|credential|cookie|session|signature|private|^key$|_key$|^pin$|otp/i
const JWT = /^eyJ[\w-]{5,}\.[\w-]{5,}\./
const OPAQUE = /^[A-Za-z0-9+/_\-=.~]{32,}$/
const MAX_DEPTH = 5
const MAX_ITEMS = 20
const MAX_TEXT = 200

function looksSecret(text: string): boolean {
  return (
    JWT.test(text) ||
    (OPAQUE.test(text) && /\d/.test(text) && /[A-Za-z]/.test(text)) ||
    redactText(text) !== text
  )
}

function scrub(value: unknown, depth: number): unknown {
  if (typeof value === 'string') {
    if (looksSecret(value)) return CENSOR
    return value.length > MAX_TEXT ? `${value.slice(0, MAX_TEXT)}…` : value
  }
  if (value === null || typeof value !== 'object') return value
  if (depth >= MAX_DEPTH) return '[…]'
  if (Array.isArray(value)) return value.slice(0, MAX_ITEMS).map((item) => scrub(item, depth + 1))
  const out: Record<string, unknown> = {}
  for (const [name, item] of Object.entries(value).slice(0, MAX_ITEMS))
    out[name] =
      SECRET_FIELDS.has(name.toLowerCase()) || SECRET_NAME.test(name) ? CENSOR : scrub(item, depth + 1)
  return out
}

/** The arguments as the audit keeps them. */
export function auditedArguments(args: Record<string, unknown> | undefined): Record<string, unknown> | null {
  if (args === undefined) return null
  return scrub(args, 0) as Record<string, unknown>
}
