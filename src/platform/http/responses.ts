// Response envelopes shared by every resource: `{data}` and `{message, data}`.
import { type TObject, type TSchema, Type } from 'typebox'
import { ERROR_CODES } from './errors.ts'

export function dataSchema(item: TSchema): TObject {
  return Type.Object({ data: item })
}

export function messageDataSchema(item: TSchema): TObject {
  return Type.Object({ message: Type.String(), data: item })
}

/** The error body, for the OpenAPI description of error responses. */
export const ErrorBody = Type.Object(
  {
    error: Type.Enum(Object.keys(ERROR_CODES), { description: 'Stable machine-readable code' }),
    message: Type.String({ description: 'Human-readable explanation' }),
    request_id: Type.String(),
    errors: Type.Optional(
      Type.Record(Type.String(), Type.Array(Type.String()), { description: '422 only: messages per field' }),
    ),
  },
  { additionalProperties: true, description: 'Error (see docs/errors.md)' },
)

/** Error responses of an authenticated route, plus any extra statuses it documents. */
export function errorResponses(...statuses: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {}
  for (const status of [401, 403, 422, 429, ...statuses]) out[status] = ErrorBody
  return out
}
