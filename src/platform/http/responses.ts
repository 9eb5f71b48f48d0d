// Response envelopes shared by every resource (`{data}` and `{message, data}`), the named
// schemas of the OpenAPI document (`#/components/schemas/…`) and the error responses a route
// declares. A named schema is registered once with `addSchema` and referenced with `$ref`, so
// the document reuses it and the serializer (fast-json-stringify) resolves it to the same
// schema, byte for byte.
import type { FastifyInstance } from 'fastify'
import { type TObject, type TSchema, Type } from 'typebox'
import { ERROR_CODES, type ErrorCode } from './errors.ts'
import { validatorCompiler } from './validation.ts'

/** A schema published under `name` in components.schemas. */
export type Component<T extends TSchema> = {
  name: string
  /** The schema as defined, without `$id` (to derive others from, e.g. a partial). */
  plain: T
  /** The schema with its `$id`, for `addSchema`. */
  schema: T & { $id: string }
  /**
   * `{"$ref": name}`. Typed as an object of unknown properties: services build their outputs
   * field by field (selected fields, includes), so the check is the serializer's.
   */
  ref: TObject
}

/** Names `schema` for the document; `example` is one realistic instance (seed 004's where it has one). */
export function component<T extends TSchema>(
  name: string,
  schema: T,
  options: { description?: string; example?: unknown } = {},
): Component<T> {
  const annotations: Record<string, unknown> = {}
  if (options.description) annotations.description = options.description
  if (options.example !== undefined) annotations.examples = [options.example]
  return {
    name,
    plain: schema,
    schema: { ...schema, ...annotations, $id: name } as T & { $id: string },
    ref: Type.Ref(name) as unknown as TObject,
  }
}

/**
 * Registers named schemas on an instance (routes of that instance and its children may `$ref`
 * them). An encapsulated instance that adds schemas gets its validator compiler rebuilt from
 * Fastify's default factory (Ajv with `removeAdditional`), not from the one the root set, so
 * the platform's compiler is set again here: unknown fields stay a 422.
 */
export function addComponents(app: FastifyInstance, ...components: Array<Component<TSchema>>): void {
  for (const { schema } of components) app.addSchema(schema)
  app.setValidatorCompiler(validatorCompiler)
}

type Envelope = { description: string; example?: unknown }

function annotate(schema: TObject, { description, example }: Envelope): TObject {
  return { ...schema, description, ...(example === undefined ? {} : { examples: [example] }) } as TObject
}

export function dataSchema<T extends TSchema>(item: T, envelope: Envelope) {
  return annotate(Type.Object({ data: item }), envelope) as TObject<{ data: T }>
}

export function messageDataSchema<T extends TSchema>(item: T, envelope: Envelope) {
  return annotate(Type.Object({ message: Type.String(), data: item }), envelope) as TObject<{
    message: ReturnType<typeof Type.String>
    data: T
  }>
}

/** A 204: no body. */
export function noContent(description: string) {
  return { ...Type.Null(), description } as ReturnType<typeof Type.Null>
}

const REQUEST_ID_EXAMPLE = 'req_4fJ8kQ2mZx7Lp0aB9cDe'

/** The error body (see docs/errors.md). */
export const ErrorBody = component(
  'Error',
  Type.Object(
    {
      error: Type.Enum(Object.keys(ERROR_CODES), { description: 'Stable machine-readable code' }),
      message: Type.String({ description: 'Human-readable explanation' }),
      request_id: Type.String({ description: 'Equals the X-Request-ID response header' }),
      errors: Type.Optional(
        Type.Record(Type.String(), Type.Array(Type.String()), {
          description: '422 `validation_failed` (and some 409s): messages per field',
        }),
      ),
    },
    { additionalProperties: true },
  ),
  {
    description:
      'Every error (see docs/errors.md). Some codes add fields: `feature_limit_reached` has `feature`, ' +
      '`limit`, `current_usage`, `upgrade_url`; `rate_limit_exceeded` has `retry_after`, `limit`, ' +
      '`remaining`, `reset_at`.',
    example: {
      error: 'validation_failed',
      message: 'The given data was invalid.',
      errors: { title: ['The title field is required.'] },
      request_id: REQUEST_ID_EXAMPLE,
    },
  },
)

/** The fields some codes add to the body, as seed 004 shows them. */
const EXTRA_EXAMPLES: Partial<Record<ErrorCode, { message?: string; extra: Record<string, unknown> }>> = {
  validation_failed: { extra: { errors: { title: ['The title field is required.'] } } },
  access_denied: { message: 'Insufficient permissions. Required scope: posts:write', extra: {} },
  feature_limit_reached: {
    extra: { feature: 'posts', limit: 100, current_usage: 100, upgrade_url: 'https://example.com/upgrade' },
  },
  rate_limit_exceeded: {
    message: 'Too many requests. Please retry after 60 seconds.',
    extra: { retry_after: 60, limit: 1000, remaining: 0, reset_at: '2026-01-15T11:00:00Z', policy: 'key' },
  },
}

/** One example body per code, as OpenAPI named examples (`{code: {summary, value}}`). */
export function errorExamples(
  codes: readonly ErrorCode[],
): Record<string, { summary: string; value: unknown }> {
  return Object.fromEntries(
    codes.map((code) => {
      const known = EXTRA_EXAMPLES[code]
      const value = {
        error: code,
        message: known?.message ?? ERROR_CODES[code].message,
        ...known?.extra,
        request_id: REQUEST_ID_EXAMPLE,
      }
      return [code, { summary: ERROR_CODES[code].message, value }]
    }),
  )
}

/** The codes each error response of a route can carry (read by the document's transform). */
const codesOfResponse = new WeakMap<object, readonly ErrorCode[]>()

export function errorCodesOf(response: object): readonly ErrorCode[] | undefined {
  return codesOfResponse.get(response)
}

/** `` `code`: default message `` lines for a response description. */
export function describeCodes(codes: readonly ErrorCode[]): string {
  return codes.map((code) => `\`${code}\`: ${ERROR_CODES[code].message}`).join(' ')
}

/** The error response of one status carrying these codes: `$ref` Error, described by its codes. */
export function errorResponse(codes: readonly ErrorCode[]) {
  const response = { ...ErrorBody.ref, description: describeCodes(codes) }
  codesOfResponse.set(response, codes)
  return response as typeof ErrorBody.ref
}

/** Every authenticated route can answer these (credential, scope or workspace, input, bucket). */
const AUTHENTICATED: readonly ErrorCode[] = [
  'unauthorized',
  'access_denied',
  'validation_failed',
  'rate_limit_exceeded',
]

/**
 * The error responses of an authenticated route: the four every one of them can answer, plus
 * the codes of this route (`not_found`, `conflict`, `feature_limit_reached` …). The statuses the
 * platform adds to any route (400, 413, 415 for bodies, 409/422 of idempotency, 500, 503) are
 * added to the document by its transform, not to the serializer.
 */
export function errorResponses(...codes: ErrorCode[]) {
  const byStatus = new Map<number, ErrorCode[]>()
  for (const code of [...AUTHENTICATED, ...codes]) {
    const status = ERROR_CODES[code].status
    byStatus.set(status, [...(byStatus.get(status) ?? []), code])
  }
  const out: Record<number, typeof ErrorBody.ref> = {}
  for (const [status, list] of byStatus) out[status] = errorResponse(list)
  return out
}
