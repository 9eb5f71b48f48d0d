// pino options: JSON lines with the request id; credentials and secrets are redacted wherever
// they could appear in a logged object.
import type { FastifyServerOptions } from 'fastify'

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.key',
  '*.secret',
  '*.password',
  '*.client_secret',
  '*.masterKey',
]

export function loggerOptions(level: string): FastifyServerOptions['logger'] {
  if (level === 'silent') return false
  return { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }
}
