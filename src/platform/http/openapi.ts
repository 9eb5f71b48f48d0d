// The OpenAPI 3.1 document's frame and its view of each route. The paths come from the route
// schemas, so the reference at /docs and /api/openapi.json cannot drift from what the server
// does; named schemas (components) come from `addSchema`, see responses.ts.
import { readFileSync } from 'node:fs'
import type { SwaggerOptions, SwaggerTransform, SwaggerTransformObject } from '@fastify/swagger'
import { type TObject, Type } from 'typebox'
import { ERROR_CODES, type ErrorCode } from './errors.ts'
import { listItemOf } from './list.ts'
import { describeCodes, ErrorBody, errorCodesOf, errorExamples } from './responses.ts'

type OpenApi = NonNullable<Extract<SwaggerOptions, { openapi?: unknown }>['openapi']>

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/** The package's version, which the document's `info.version` follows. */
const VERSION: string = JSON.parse(
  readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
).version

/** Components are named by their `$id` (`Error`, `Post` …), so `$ref`s are stable across releases. */
export const refResolver = {
  buildLocalReference(json: { $id?: unknown }, _baseUri: unknown, _fragment: unknown, i: number): string {
    return typeof json.$id === 'string' ? json.$id : `def-${i}`
  },
}

type Header = { type: string; description: string }
const header = (type: string, description: string): Header => ({ type, description })

const REQUEST_ID = {
  'X-Request-ID': header(
    'string',
    'The request id (echoed when the request sent a sane one); errors repeat it',
  ),
}
const RATE_LIMIT = {
  'X-RateLimit-Limit': header('integer', "The strictest bucket's limit in its own window"),
  'X-RateLimit-Remaining': header(
    'integer',
    'Whole tokens left in that bucket (may exceed the limit while burst is unused)',
  ),
  'X-RateLimit-Reset': header('integer', 'Unix time at which that bucket is full again'),
  RateLimit: header(
    'string',
    'The same, as the IETF RateLimit header: `"<policy>";r=<remaining>;t=<seconds>`',
  ),
  'RateLimit-Policy': header('string', 'Every bucket applied to the request'),
}
const RETRY_AFTER = { 'Retry-After': header('integer', 'Seconds to wait before retrying') }
const REPLAYED = {
  'Idempotent-Replayed': header(
    'string',
    '`true` when this is the stored response of an earlier request with the same Idempotency-Key',
  ),
}
const LOCATION = { Location: header('string', 'The URL of the created resource') }
const WWW_AUTHENTICATE = { 'WWW-Authenticate': header('string', '`Bearer`') }

type RouteFacts = {
  authenticated: boolean
  /** Acts in one workspace: the master key must name it. */
  workspace: boolean
  /** Reads X-Workspace-ID. */
  namesWorkspace: boolean
  mutating: boolean
  metered: boolean
}

/** The codes the platform can answer on a route, beyond the ones the route declares itself. */
function platformCodes(route: RouteFacts): ErrorCode[] {
  if (!route.authenticated) return []
  const codes: ErrorCode[] = []
  if (route.workspace) codes.push('workspace_required')
  // The master key naming a workspace that does not exist (X-Workspace-ID).
  if (route.namesWorkspace) codes.push('not_found')
  if (route.mutating) {
    codes.push('invalid_json', 'payload_too_large', 'unsupported_media_type')
    codes.push('idempotency_in_progress', 'idempotency_key_reused')
  }
  codes.push('server_error', 'service_unavailable')
  return codes
}

/** Refusals that never reach the idempotency store: the guards', the body parser's, the claim's own, and 5xx. */
const NEVER_STORED = new Set<ErrorCode>([
  'unauthorized',
  'rate_limit_exceeded',
  'workspace_required',
  'invalid_json',
  'payload_too_large',
  'unsupported_media_type',
  'idempotency_in_progress',
  'idempotency_key_reused',
  'server_error',
  'service_unavailable',
])

function headersFor(status: number, codes: readonly ErrorCode[], route: RouteFacts): Record<string, Header> {
  // A replay repeats what the handler answered: a success, or a refusal of its own.
  const replayable =
    route.authenticated && route.mutating && (status < 400 || codes.some((code) => !NEVER_STORED.has(code)))
  return {
    ...REQUEST_ID,
    ...(route.metered ? RATE_LIMIT : {}),
    ...(status === 201 ? LOCATION : {}),
    ...(status === 401 ? WWW_AUTHENTICATE : {}),
    ...(status === 429 || status === 503 || codes.includes('idempotency_in_progress') ? RETRY_AFTER : {}),
    ...(replayable ? REPLAYED : {}),
  }
}

/** A list's items, documented as the named resource (the serializer's are partial, for `fields`). */
function documentedList(response: TObject, item: string): TObject {
  return {
    ...response,
    properties: {
      ...response.properties,
      data: Type.Array(Type.Ref(item), {
        description: `With \`fields\`, each item holds only the fields named (and \`id\`)`,
      }),
    },
  } as TObject
}

/**
 * The document's view of a route. Declares the headers the guards read, which no route schema
 * declares (declaring them would make every route validate them): X-Workspace-ID and
 * Idempotency-Key. Completes the responses with what the platform answers on any route (400,
 * 413 and 415 for bodies, the idempotency refusals, 500, 503), each described by the error
 * codes it can carry and with the headers it has. A route without `config.auth` is public and
 * says so (`security: []`), overriding the document's default. The route's own schema (and so
 * its serializer) is left as it is.
 */
export const documentRoute: SwaggerTransform = ({ schema, url, route }) => {
  const auth = route.config?.auth
  const methods = [route.method].flat()
  const facts: RouteFacts = {
    authenticated: Boolean(auth),
    workspace: auth?.workspace === true,
    namesWorkspace: Boolean(auth?.workspace),
    mutating: methods.some((m) => MUTATING.has(m)),
    metered: !route.config?.unmetered,
  }
  const out: Record<string, unknown> = { ...schema }
  if (!auth) out.security = []

  const headers: Record<string, unknown> = {}
  if (auth?.workspace) {
    headers['x-workspace-id'] = Type.Optional(
      Type.String({
        description: 'Workspace to act in (master key and user credentials); a key acts in its own',
      }),
    )
  }
  if (auth && facts.mutating) {
    headers['idempotency-key'] = Type.Optional(
      Type.String({
        maxLength: 255,
        description: 'Makes retries safe: the first response is replayed for 24 h',
      }),
    )
  }
  if (Object.keys(headers).length > 0) out.headers = Type.Object(headers as never)

  const declared = (schema?.response ?? {}) as Record<string, TObject>
  const codes = new Map<number, ErrorCode[]>()
  for (const [status, response] of Object.entries(declared)) {
    const own = errorCodesOf(response)
    if (own) codes.set(Number(status), [...own])
  }
  for (const code of platformCodes(facts)) {
    const status = ERROR_CODES[code].status
    const list = codes.get(status) ?? []
    if (!list.includes(code)) list.push(code)
    codes.set(status, list)
  }
  const statuses = new Set([...Object.keys(declared).map(Number), ...codes.keys()])
  const responses: Record<number, unknown> = {}
  for (const status of [...statuses].sort((a, b) => a - b)) {
    let response: TObject = declared[status] ?? ErrorBody.ref
    const item = listItemOf(response)
    if (item) response = documentedList(response, item)
    const list = codes.get(status)
    const headers = headersFor(status, list ?? [], facts)
    responses[status] = list
      ? {
          description: describeCodes(list),
          headers,
          content: { 'application/json': { schema: response, examples: errorExamples(list) } },
        }
      : { ...response, headers }
  }
  out.response = responses
  return { schema: out as typeof schema, url }
}

/** The response headers every operation shares, declared once in components.headers. */
const SHARED_HEADERS: Record<string, Header> = {
  ...REQUEST_ID,
  ...RATE_LIMIT,
  ...RETRY_AFTER,
  ...REPLAYED,
  ...LOCATION,
  ...WWW_AUTHENTICATE,
}

type Responses = Record<string, { headers?: Record<string, unknown> }>
type Operations = Record<string, { responses?: Responses }>

/**
 * The finished document: the shared response headers become `#/components/headers/…` and
 * every response refers to them instead of repeating them.
 */
export const shareHeaders: SwaggerTransformObject = (input) => {
  if (!('openapiObject' in input)) return input.swaggerObject
  const { openapiObject } = input
  const document = openapiObject as {
    paths?: Record<string, Operations>
    components?: Record<string, unknown>
  }
  for (const operations of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(operations)) {
      for (const response of Object.values(operation.responses ?? {})) {
        for (const name of Object.keys(response.headers ?? {})) {
          if (Object.hasOwn(SHARED_HEADERS, name))
            response.headers![name] = { $ref: `#/components/headers/${name}` }
        }
      }
    }
  }
  const headers = Object.fromEntries(
    Object.entries(SHARED_HEADERS).map(([name, { type, description }]) => [
      name,
      { description, schema: { type } },
    ]),
  )
  document.components = { ...document.components, headers }
  return openapiObject
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
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: 'core_api_session',
          description:
            'The dashboard session set by `POST /api/auth/sign-in`; writes also need `X-CSRF-Token` and our own origin',
        },
      },
    },
    // Either: a bearer credential, or the dashboard's session cookie.
    security: [{ bearer: [] }, { session: [] }],
    tags: [
      { name: 'Identity', description: 'Who is calling, and the users behind credentials' },
      { name: 'Sessions', description: 'Signing in to the dashboard: a session cookie and its CSRF token' },
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
