// Schema validation with two Ajv instances: bodies are checked strictly (no type coercion,
// unknown fields rejected, every error reported), while path, query and headers arrive as text
// and are coerced to the schema's types. Ajv errors become the contract's `errors` map.
import { Ajv, type ErrorObject } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifySchemaCompiler } from 'fastify'
import type { FieldErrors } from './errors.ts'

function makeAjv(coerce: boolean): Ajv {
  const ajv = new Ajv({
    coerceTypes: coerce ? 'array' : false,
    useDefaults: true,
    removeAdditional: false,
    allErrors: !coerce,
    strict: false,
  })
  addFormats.default(ajv)
  return ajv
}

const bodyAjv = makeAjv(false)
const textAjv = makeAjv(true)

type Validate = ((data: unknown, context?: unknown) => boolean) & {
  errors?: ErrorObject[] | null
  schemaEnv?: unknown
}

/** Ajv's error for every string (or object key) holding U+0000, which PostgreSQL cannot store. */
function nulErrors(data: unknown, path = '', out: ErrorObject[] = []): ErrorObject[] {
  const nul = (at: string) =>
    out.push({ keyword: 'nul', instancePath: at, schemaPath: '', params: {}, message: '' })
  if (typeof data === 'string') {
    if (data.includes('\u0000')) nul(path)
  } else if (Array.isArray(data)) {
    for (const [i, item] of data.entries()) nulErrors(item, `${path}/${i}`, out)
  } else if (data !== null && typeof data === 'object') {
    for (const [key, value] of Object.entries(data)) {
      const at = `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`
      if (key.includes('\u0000')) nul(at)
      else nulErrors(value, at, out)
    }
  }
  return out
}

/**
 * Ajv for the part, then — for bodies and query strings that passed — a refusal of the NUL
 * character, so text PostgreSQL would reject is a 422 naming the field instead of a 500.
 */
export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? bodyAjv : textAjv
  const validate = ajv.compile(schema as object) as Validate
  if (httpPart !== 'body' && httpPart !== 'querystring') return validate as never
  const checked: Validate = (data, context) => {
    if (!validate(data, context)) {
      checked.errors = validate.errors
      return false
    }
    const errors = nulErrors(data)
    checked.errors = errors.length > 0 ? errors : null
    return errors.length === 0
  }
  checked.schemaEnv = validate.schemaEnv // Fastify passes the parent along, so Ajv may coerce the root
  return checked as never
}

const ARTICLE: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  array: 'an array',
  object: 'an object',
  null: 'null',
}

function describeType(type: unknown): string {
  const list = Array.isArray(type) ? type : [type]
  return list.map((t) => ARTICLE[String(t)] ?? String(t)).join(' or ')
}

function fieldOf(error: ErrorObject): string {
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
  if (error.keyword === 'required') path.push(String(error.params.missingProperty))
  if (error.keyword === 'additionalProperties') path.push(String(error.params.additionalProperty))
  return path.join('.') || 'body'
}

function messageOf(field: string, error: ErrorObject): string {
  const p = error.params as Record<string, unknown>
  const subject = `The ${field} field`
  switch (error.keyword) {
    case 'required':
      return `${subject} is required.`
    case 'additionalProperties':
      return `${subject} is not allowed.`
    case 'type':
      return `${subject} must be ${describeType(p.type)}.`
    case 'minLength':
      return p.limit === 1
        ? `${subject} must not be empty.`
        : `${subject} must be at least ${p.limit} characters.`
    case 'maxLength':
      return `${subject} must not be longer than ${p.limit} characters.`
    case 'minimum':
      return `${subject} must be at least ${p.limit}.`
    case 'maximum':
      return `${subject} must not be greater than ${p.limit}.`
    case 'minItems':
      return `${subject} must have at least ${p.limit} items.`
    case 'maxItems':
      return `${subject} must not have more than ${p.limit} items.`
    case 'uniqueItems':
      return `${subject} must not contain duplicates.`
    case 'maxProperties':
      return `${subject} must not have more than ${p.limit} keys.`
    case 'enum':
      return `${subject} must be one of: ${(p.allowedValues as unknown[]).join(', ')}.`
    case 'const':
      return `${subject} must be ${JSON.stringify(p.allowedValue)}.`
    case 'format':
      return p.format === 'date-time'
        ? `${subject} must be an ISO 8601 date-time with a time zone, such as 2027-01-01T00:00:00Z.`
        : `${subject} must be a valid ${p.format}.`
    case 'pattern':
      return `${subject} format is invalid.`
    case 'nul':
      return `${subject} must not contain the NUL character.`
    default:
      return `${subject} ${error.message ?? 'is invalid'}.`
  }
}

/** Ajv errors as `{field: [messages]}`, with the noise of `anyOf` branches removed. */
export function toFieldErrors(errors: readonly ErrorObject[]): FieldErrors {
  const out: FieldErrors = {}
  // An `anyOf` (e.g. "a string or null") reports one error per branch plus a summary; the
  // branch errors for a field that also has a more specific error are dropped.
  const meaningful = errors.filter(
    (e) => e.keyword !== 'anyOf' && e.keyword !== 'oneOf' && e.keyword !== 'if',
  )
  const typeByField = new Map<string, string[]>()
  for (const error of meaningful) {
    const field = fieldOf(error)
    if (error.keyword === 'type') {
      const list = typeByField.get(field) ?? []
      list.push(...(Array.isArray(error.params.type) ? error.params.type : [error.params.type]))
      typeByField.set(field, list)
      continue
    }
    const message = messageOf(field, error)
    const list = out[field] ?? []
    if (!list.includes(message)) list.push(message)
    out[field] = list
  }
  for (const [field, types] of typeByField) {
    if (out[field]) continue // a more specific message already explains the problem
    out[field] = [
      field === 'body'
        ? 'The request body must be a JSON object.'
        : `The ${field} field must be ${describeType([...new Set(types.filter((t) => t !== 'null' || types.length === 1))])}.`,
    ]
  }
  return out
}
