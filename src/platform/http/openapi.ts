// The OpenAPI 3.1 document's frame. The paths come from the route schemas, so the reference
// at /docs and /api/openapi.json cannot drift from what the server does.
import { readFileSync } from 'node:fs'
import type { SwaggerOptions, SwaggerTransform } from '@fastify/swagger'
import { Type } from 'typebox'

type OpenApi = NonNullable<Extract<SwaggerOptions, { openapi?: unknown }>['openapi']>

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/** The package's version, which the document's `info.version` follows. */
const VERSION: string = JSON.parse(
  readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
).version

/**
 * Documents the headers the guards read, which no route schema declares (declaring them
 * would make every route validate them): X-Workspace-ID and Idempotency-Key. A route without
 * `config.auth` is public and says so (`security: []`), overriding the document's default.
 */
export const documentGuardHeaders: SwaggerTransform = ({ schema, url, route }) => {
  const auth = route.config?.auth
  if (!auth) return { schema: { ...schema, security: [] }, url }
  const methods = [route.method].flat()
  const headers: Record<string, unknown> = {}
  if (auth.workspace) {
    headers['x-workspace-id'] = Type.Optional(
      Type.String({
        description: 'Workspace to act in (master key and user credentials); a key acts in its own',
      }),
    )
  }
  if (methods.some((m) => MUTATING.has(m))) {
    headers['idempotency-key'] = Type.Optional(
      Type.String({
        maxLength: 255,
        description: 'Makes retries safe: the first response is replayed for 24 h',
      }),
    )
  }
  if (Object.keys(headers).length === 0) return { schema, url }
  return { schema: { ...schema, headers: Type.Object(headers as never) }, url }
}

export function openApiDocument(publicUrl: string): OpenApi {
  return {
    openapi: '3.1.0',
    info: {
      title: 'core-api',
      version: VERSION,
      description:
        'Workspaces, API keys with scopes and rotation, rate limits, idempotency, signed webhooks and ' +
        'entitlements. Authenticate with `Authorization: Bearer sk_live_…`. Errors are ' +
        '`{"error", "message", "request_id"}`; every response carries `X-Request-ID`. Rate-limited ' +
        'responses carry `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset`, `RateLimit` and ' +
        '`RateLimit-Policy`; a POST, PUT, PATCH or DELETE with `Idempotency-Key` is safe to retry.',
    },
    servers: [{ url: publicUrl }],
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API key (`sk_live_…`, `sk_test_…`) or the master key',
        },
      },
    },
    security: [{ bearer: [] }],
    tags: [
      { name: 'Identity', description: 'Who is calling' },
      { name: 'Workspaces', description: 'Tenants: every resource belongs to one' },
      { name: 'API Keys', description: 'Keys with scopes, expiry, rotation and revocation' },
      { name: 'Entitlements', description: 'Plan limits and usage' },
      { name: 'Posts', description: 'The reference resource' },
      { name: 'Webhooks', description: 'Signed, at-least-once event delivery (Standard Webhooks)' },
      { name: 'MCP', description: 'A gateway to Model Context Protocol servers: their tools and resources' },
      { name: 'Operations', description: 'Health and readiness' },
    ],
  }
}
