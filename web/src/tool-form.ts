// From an MCP tool's input schema (JSON Schema) to the fields of a form, and from what the form
// holds back to the tool's arguments. Simple properties get a control of their own — text,
// number, whole number, yes/no, a choice among an enum — and anything else (objects, arrays,
// unions, references) a JSON text box, parsed before the call is sent. A schema that is not an
// object of properties is edited as one JSON object.

type Primitive = string | number | boolean | null
type Common = { name: string; required: boolean; description: string | undefined; schema: unknown }

export type ToolField =
  | (Common & { kind: 'string' })
  | (Common & { kind: 'number' | 'integer'; minimum?: number; maximum?: number })
  | (Common & { kind: 'boolean' })
  | (Common & { kind: 'enum'; options: Primitive[] })
  | (Common & { kind: 'json' })

const record = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** `"string"`, or `["string", "null"]` (an optional value written the other way): the one type. */
function singleType(type: unknown): string | undefined {
  if (typeof type === 'string') return type
  if (Array.isArray(type)) {
    const types = type.filter((t) => t !== 'null')
    return types.length === 1 && typeof types[0] === 'string' ? types[0] : undefined
  }
  return undefined
}

function field(name: string, schema: unknown, required: boolean): ToolField {
  const description =
    record(schema) && typeof schema.description === 'string' ? schema.description : undefined
  const common = { name, required, description, schema }
  if (!record(schema)) return { ...common, kind: 'json' }
  const options = Array.isArray(schema.enum) ? schema.enum : 'const' in schema ? [schema.const] : undefined
  if (options && options.length > 0 && options.every((o) => o === null || typeof o !== 'object')) {
    return { ...common, kind: 'enum', options: options as Primitive[] }
  }
  const type = singleType(schema.type)
  if (type === 'string' || type === 'boolean') return { ...common, kind: type }
  if (type === 'number' || type === 'integer') {
    return {
      ...common,
      kind: type,
      ...(typeof schema.minimum === 'number' && { minimum: schema.minimum }),
      ...(typeof schema.maximum === 'number' && { maximum: schema.maximum }),
    }
  }
  return { ...common, kind: 'json' }
}

/** The form's fields, in the schema's order; null when the schema is not an object of properties. */
export function toolFields(inputSchema: unknown): ToolField[] | null {
  if (!record(inputSchema) || (inputSchema.type !== undefined && inputSchema.type !== 'object')) return null
  const properties = inputSchema.properties ?? {}
  if (!record(properties)) return null
  const required = new Set(Array.isArray(inputSchema.required) ? inputSchema.required : [])
  return Object.entries(properties).map(([name, schema]) => field(name, schema, required.has(name)))
}

/** The arguments, or the errors of the fields that could not be read (by field name). */
export type ReadResult =
  | { ok: true; arguments: Record<string, unknown> }
  | { ok: false; errors: Record<string, string> }

/**
 * The arguments from the form's values (each a string, as form controls hold them; booleans
 * `true`/`false`, enums the option's index). An empty optional value is left out.
 */
export function readArguments(fields: ToolField[], values: Record<string, string>): ReadResult {
  const args: Record<string, unknown> = {}
  const errors: Record<string, string> = {}
  for (const f of fields) {
    const raw = values[f.name] ?? ''
    if (f.kind === 'string') {
      if (raw !== '' || f.required) args[f.name] = raw
      continue
    }
    if (raw.trim() === '') {
      if (f.required) errors[f.name] = 'Required.'
      continue
    }
    switch (f.kind) {
      case 'number':
      case 'integer': {
        const number = Number(raw)
        if (!Number.isFinite(number)) errors[f.name] = 'Not a number.'
        else if (f.kind === 'integer' && !Number.isInteger(number)) errors[f.name] = 'Must be a whole number.'
        else args[f.name] = number
        break
      }
      case 'boolean':
        args[f.name] = raw === 'true'
        break
      case 'enum': {
        const index = Number(raw)
        if (Number.isInteger(index) && index >= 0 && index < f.options.length) args[f.name] = f.options[index]
        else errors[f.name] = 'Not one of the choices.'
        break
      }
      case 'json': {
        const parsed = parseJson(raw)
        if (parsed.ok) args[f.name] = parsed.value
        else errors[f.name] = parsed.error
        break
      }
    }
  }
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, arguments: args }
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch (error) {
    return { ok: false, error: `Not valid JSON: ${error instanceof Error ? error.message : String(error)}` }
  }
}

/** A JSON text box holding every argument: it must be an object. */
export function readJsonArguments(text: string): ReadResult {
  const parsed = parseJson(text.trim() === '' ? '{}' : text)
  if (!parsed.ok) return { ok: false, errors: { arguments: parsed.error } }
  if (!record(parsed.value))
    return { ok: false, errors: { arguments: 'The arguments must be a JSON object.' } }
  return { ok: true, arguments: parsed.value }
}

/** JSON for people: two-space indentation. */
export function pretty(value: unknown): string {
  return JSON.stringify(value, null, 2)
}
