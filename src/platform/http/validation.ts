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

/** How deep a body or query value may nest objects and arrays; deeper is a 422. */
export const MAX_DEPTH = 64

const pointer = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1')

/**
 * Ajv-style errors for every string (or object key) holding U+0000 or an unpaired UTF-16
 * surrogate (`"\ud800"` in JSON), which PostgreSQL cannot store (jsonb refuses the escape,
 * text would get U+FFFD instead), and for nesting deeper than MAX_DEPTH (reported once, at the top-level field holding
 * it). Iterative, so no input can exhaust the stack.
 */
function textErrors(data: unknown): ErrorObject[] {
  const out: ErrorObject[] = []
  const fail = (keyword: string, at: string, params: Record<string, unknown> = {}) =>
    out.push({ keyword, instancePath: at, schemaPath: '', params, message: '' })
  const tooDeep = new Set<string>()
  const pending: Array<{ value: unknown; path: string; depth: number; top: string }> = [
    { value: data, path: '', depth: 0, top: '' },
  ]
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value, path, depth, top } = next
    if (typeof value === 'string') {
      if (value.includes('\u0000')) fail('nul', path)
      else if (!value.isWellFormed()) fail('surrogate', path)
      continue
    }
    if (value === null || typeof value !== 'object') continue
    if (depth >= MAX_DEPTH) {
      if (!tooDeep.has(top)) fail('depth', top, { limit: MAX_DEPTH })
      tooDeep.add(top)
      continue
    }
    const entries: Array<[string | number, unknown]> = Array.isArray(value)
      ? [...value.entries()]
      : Object.entries(value)
    // Pushed last-first, so they are checked (and reported) in document order.
    for (const [key, item] of entries.reverse()) {
      const at = `${path}/${pointer(String(key))}`
      if (typeof key === 'string' && key.includes('\u0000')) fail('nul', at)
      else if (typeof key === 'string' && !key.isWellFormed()) fail('surrogate', at)
      else pending.push({ value: item, path: at, depth: depth + 1, top: depth === 0 ? at : top })
    }
  }
  return out
}

/** An object without enumerable keys. */
function isEmpty(data: unknown): boolean {
  if (data === null || typeof data !== 'object') return false
  for (const _ in data) return false
  return true
}

/** How a number must be spelled in a path or query string: plain decimal, nothing Number() also takes. */
const DECIMAL: Record<string, RegExp> = {
  integer: /^-?(?:0|[1-9][0-9]*)$/,
  number: /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/,
}

/** The numeric properties of a path or query schema, each with its type. */
function numericProperties(schema: unknown): Array<[string, string]> {
  const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties ?? {}
  const out: Array<[string, string]> = []
  for (const [name, property] of Object.entries(properties)) {
    const types = [property.type].flat()
    const type = types.includes('integer') ? 'integer' : types.includes('number') ? 'number' : null
    if (type) out.push([name, type])
  }
  return out
}

/**
 * Ajv for the part, then — for bodies and query strings that passed — a refusal of the NUL
 * character, of unpaired surrogates and of deep nesting, so text PostgreSQL would reject, or a
 * value no code path could walk safely, is a 422 naming the field instead of a 500. Numbers in paths and query
 * strings must be plain decimals first: Ajv's coercion would read `0x10`, `1e3` or `1 ` as
 * 16, 1000 and 1, so a malformed id would name another resource.
 */
export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? bodyAjv : textAjv
  const validate = ajv.compile(schema as object) as Validate
  if (httpPart !== 'body' && httpPart !== 'querystring' && httpPart !== 'params') return validate as never
  const numeric = httpPart === 'body' ? [] : numericProperties(schema)
  const checked: Validate = (data, context) => {
    for (const [name, type] of numeric) {
      const raw = (data as Record<string, unknown>)[name]
      if (typeof raw === 'string' && !DECIMAL[type]!.test(raw)) {
        checked.errors = [
          { keyword: 'type', instancePath: `/${name}`, schemaPath: '', params: { type }, message: '' },
        ]
        return false
      }
    }
    if (!validate(data, context)) {
      checked.errors = validate.errors
      return false
    }
    // A query string or body without fields (every GET without a query) has no text to check.
    if (httpPart === 'params' || isEmpty(data)) {
      checked.errors = null
      return true
    }
    const errors = textErrors(data)
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
    case 'surrogate':
      return `${subject} must be valid Unicode (it holds an unpaired surrogate).`
    case 'depth':
      return `${subject} must not nest objects or arrays more than ${p.limit} levels deep.`
    default:
      return `${subject} ${error.message ?? 'is invalid'}.`
  }
}

/**
 * Ajv errors as `{field: [messages]}`, with the noise of `anyOf` branches removed. Field names
 * come from the client (`constructor`, `__proto__`), so they are gathered in a Map and become
 * own properties only at the end.
 */
export function toFieldErrors(errors: readonly ErrorObject[]): FieldErrors {
  const out = new Map<string, string[]>()
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
    const list = out.get(field) ?? []
    if (!list.includes(message)) list.push(message)
    out.set(field, list)
  }
  for (const [field, types] of typeByField) {
    if (out.has(field)) continue // a more specific message already explains the problem
    out.set(field, [
      field === 'body'
        ? 'The request body must be a JSON object.'
        : `The ${field} field must be ${describeType([...new Set(types.filter((t) => t !== 'null' || types.length === 1))])}.`,
    ])
  }
  return Object.fromEntries(out)
}
