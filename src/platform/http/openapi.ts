// The OpenAPI 3.1 document's frame. The paths come from the route schemas, so the reference
// at /docs and /api/openapi.json cannot drift from what the server does.
import type { SwaggerOptions } from '@fastify/swagger'

type OpenApi = NonNullable<Extract<SwaggerOptions, { openapi?: unknown }>['openapi']>

export function openApiDocument(publicUrl: string): OpenApi {
  return {
    openapi: '3.1.0',
    info: {
      title: 'core-api',
      version: '1.0.0',
      description:
        'Workspaces, API keys with scopes and rotation, rate limits, idempotency, signed webhooks and ' +
        'entitlements. Authenticate with `Authorization: Bearer sk_live_…`. Errors are ' +
        '`{"error", "message", "request_id"}`; every response carries `X-Request-ID`.',
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
      { name: 'Operations', description: 'Health and readiness' },
    ],
  }
}
