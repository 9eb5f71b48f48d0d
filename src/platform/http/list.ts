// The list machinery of every collection endpoint ("Common Parameters" of the reference):
// page/per_page, the status/date/search filters, sort, fields and include, and the
// `data`/`meta`/`links` envelope with absolute links. A resource declares a ListSpec; the
// querystring schema, the parsing and the envelope all follow from it. Unknown parameters,
// sort keys, fields and includes are 422, never ignored.
import { type TObject, type TSchema, Type } from 'typebox'
import { ApiError, type FieldErrors } from './errors.ts'
import { type Component, component } from './responses.ts'

export type ListSpec = {
  /** Fields that `sort` accepts. */
  sortable: readonly string[]
  /** Sort used when none is given, e.g. `-created_at`; `id` always breaks ties. */
  defaultSort: string
  /** Output fields that `fields` may select (`id` and included relations are always returned). */
  fields: readonly string[]
  /** Relations that `include` may load. */
  includes: readonly string[]
  /** Values the `status` filter accepts; absent when the resource has no status. */
  statuses?: readonly string[]
  /** Whether `search` is supported. */
  search?: boolean
  /** Resource-specific filters, as query schema properties. */
  filters?: Record<string, TSchema>
}

export type SortKey = { field: string; descending: boolean }

export type ListQuery = {
  page: number
  perPage: number
  offset: number
  sort: SortKey[]
  /** Selected fields, or null for all. */
  fields: ReadonlySet<string> | null
  include: ReadonlySet<string>
  status: string | null
  search: string | null
  createdAfter: Date | null
  createdBefore: Date | null
  updatedAfter: Date | null
  updatedBefore: Date | null
  /** The resource-specific filters, as validated by the schema. */
  filters: Record<string, unknown>
}

export type Page<T> = {
  data: T[]
  meta: {
    current_page: number
    from: number | null
    last_page: number
    per_page: number
    to: number | null
    total: number
  }
  links: { first: string; last: string; prev: string | null; next: string | null }
}

const DATE_PARAMS = ['created_after', 'created_before', 'updated_after', 'updated_before'] as const
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/

/** Any query object: what a list's querystring schema validates to. */
type QuerySchema = TObject<Record<string, TSchema>>

/** The querystring schema of a list endpoint with this spec. */
export function listQuerySchema(spec: ListSpec): QuerySchema {
  const dateParam = Type.String({
    maxLength: 40,
    description: 'ISO 8601 date or date-time (UTC unless an offset is given)',
  })
  const properties: Record<string, TSchema> = {
    page: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1, description: 'Page number' }),
    per_page: Type.Integer({ minimum: 1, maximum: 100, default: 25, description: 'Items per page (1-100)' }),
    sort: Type.String({
      minLength: 1,
      maxLength: 200,
      description: `Comma-separated fields, \`-\` for descending. Sortable: ${spec.sortable.join(', ')}`,
    }),
    fields: Type.String({
      minLength: 1,
      maxLength: 500,
      description: `Comma-separated output fields: ${spec.fields.join(', ')}`,
    }),
    include: Type.String({
      minLength: 1,
      maxLength: 200,
      description: spec.includes.length ? `Relations to embed: ${spec.includes.join(', ')}` : 'No relations',
    }),
    created_after: dateParam,
    created_before: dateParam,
    updated_after: dateParam,
    updated_before: dateParam,
    ...spec.filters,
  }
  if (spec.statuses) properties.status = Type.Enum([...spec.statuses], { description: 'Filter by status' })
  if (spec.search)
    properties.search = Type.String({ minLength: 1, maxLength: 200, description: 'Full-text search' })
  const optional = Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, Type.Optional(v)]))
  return Type.Object(optional, { additionalProperties: false })
}

const FIRST_INSTANT = Date.parse('0001-01-01T00:00:00Z')

/** Epoch ms of an ISO 8601 date or date-time (UTC when no offset is given), NaN when invalid. */
export function parseIsoDate(raw: string): number {
  if (!ISO_8601.test(raw)) return Number.NaN
  let text = raw.replace(' ', 'T')
  if (text.length === 10) text += 'T00:00:00Z'
  else if (!/(?:Z|[+-]\d{2}:?\d{2})$/.test(text)) text += 'Z'
  const time = Date.parse(text)
  // PostgreSQL has no year 0: an instant before 0001-01-01 (in UTC) is out of range.
  if (Number.isNaN(time) || time < FIRST_INSTANT) return Number.NaN
  // Date.parse rolls 2026-02-31 over to March: a day that does not exist is invalid.
  const [year, month, day] = text.slice(0, 10).split('-').map(Number) as [number, number, number]
  const check = new Date(Date.UTC(2000, month - 1, day)) // a leap year, unlike years 0–99 here
  check.setUTCFullYear(year)
  return check.getUTCMonth() === month - 1 && check.getUTCDate() === day ? time : Number.NaN
}

function csv(value: unknown): string[] {
  if (typeof value !== 'string' || value === '') return []
  return value.split(',').map((s) => s.trim())
}

/** Parses a query already validated by `listQuerySchema(spec)` (or `includeQuerySchema(spec)`). */
export function parseListQuery(query: Readonly<Record<string, unknown>>, spec: ListSpec): ListQuery {
  const errors: FieldErrors = {}
  const fail = (field: string, message: string) => {
    errors[field] = [...(errors[field] ?? []), message]
  }

  const sort: SortKey[] = []
  for (const part of csv(query.sort ?? spec.defaultSort)) {
    const descending = part.startsWith('-')
    const field = descending ? part.slice(1) : part
    if (!spec.sortable.includes(field)) {
      fail('sort', `Cannot sort by "${field}". Sortable fields: ${spec.sortable.join(', ')}.`)
    } else if (!sort.some((s) => s.field === field)) sort.push({ field, descending })
  }

  let fields: Set<string> | null = null
  if (query.fields !== undefined) {
    fields = new Set(['id'])
    for (const field of csv(query.fields)) {
      if (field !== 'id' && !spec.fields.includes(field))
        fail('fields', `Unknown field "${field}". Fields: ${spec.fields.join(', ')}.`)
      else fields.add(field)
    }
  }

  const include = new Set<string>()
  for (const name of csv(query.include)) {
    if (!spec.includes.includes(name)) {
      fail(
        'include',
        spec.includes.length
          ? `Cannot include "${name}". Includes: ${spec.includes.join(', ')}.`
          : 'This resource has no includes.',
      )
    } else include.add(name)
  }

  const dates: Partial<Record<(typeof DATE_PARAMS)[number], Date>> = {}
  for (const name of DATE_PARAMS) {
    const raw = query[name]
    if (typeof raw !== 'string') continue
    const time = parseIsoDate(raw)
    if (Number.isNaN(time))
      fail(name, `The ${name} field must be an ISO 8601 date, such as 2026-01-15 or 2026-01-15T10:30:00Z.`)
    else dates[name] = new Date(time)
  }

  if (Object.keys(errors).length > 0) throw new ApiError('validation_failed', undefined, { errors })
  // Relations asked for with `include` are returned even when `fields` narrows the rest.
  if (fields) for (const name of include) fields.add(name)

  const page = (query.page as number | undefined) ?? 1
  const perPage = (query.per_page as number | undefined) ?? 25
  const known = new Set(['page', 'per_page', 'sort', 'fields', 'include', 'status', 'search', ...DATE_PARAMS])
  const filters = Object.fromEntries(Object.entries(query).filter(([k]) => !known.has(k)))
  return {
    page,
    perPage,
    offset: (page - 1) * perPage,
    sort,
    fields,
    include,
    status: typeof query.status === 'string' ? query.status : null,
    search: typeof query.search === 'string' ? query.search : null,
    createdAfter: dates.created_after ?? null,
    createdBefore: dates.created_before ?? null,
    updatedAfter: dates.updated_after ?? null,
    updatedBefore: dates.updated_before ?? null,
    filters,
  }
}

/** Keeps only the selected fields of an output object (all when `fields` is null). */
export function selectFields<T extends Record<string, unknown>>(
  item: T,
  fields: ReadonlySet<string> | null,
): Partial<T> {
  if (fields === null) return item
  const out: Partial<T> = {}
  for (const key of Object.keys(item) as Array<keyof T & string>) if (fields.has(key)) out[key] = item[key]
  return out
}

/** The envelope of a list response; `url` is the absolute URL the client called. */
export function toPage<T>(items: T[], total: number, query: ListQuery, url: URL): Page<T> {
  const lastPage = Math.max(1, Math.ceil(total / query.perPage))
  const link = (page: number) => {
    const target = new URL(url)
    target.searchParams.set('page', String(page))
    return target.toString()
  }
  const from = items.length > 0 ? query.offset + 1 : null
  return {
    data: items,
    meta: {
      current_page: query.page,
      from,
      last_page: lastPage,
      per_page: query.perPage,
      to: from === null ? null : query.offset + items.length,
      total,
    },
    links: {
      first: link(1),
      last: link(lastPage),
      prev: query.page > 1 ? link(Math.min(query.page - 1, lastPage)) : null,
      next: query.page < lastPage ? link(query.page + 1) : null,
    },
  }
}

const nullableInt = Type.Union([Type.Integer(), Type.Null()])
const nullableUrl = Type.Union([Type.String(), Type.Null()])

/** The `meta` of every list (seed 004's pagination). */
export const PageMeta = component(
  'PageMeta',
  Type.Object({
    current_page: Type.Integer(),
    from: Type.Union([Type.Integer(), Type.Null()], { description: 'null beyond the last page' }),
    last_page: Type.Integer(),
    per_page: Type.Integer(),
    to: nullableInt,
    total: Type.Integer(),
  }),
  { example: { current_page: 1, from: 1, last_page: 10, per_page: 25, to: 25, total: 250 } },
)

/** The `links` of every list: absolute URLs keeping the other parameters. */
export const PageLinks = component(
  'PageLinks',
  Type.Object({ first: Type.String(), last: Type.String(), prev: nullableUrl, next: nullableUrl }),
  {
    example: {
      first: 'https://api.example.com/api/v1/posts?page=1',
      last: 'https://api.example.com/api/v1/posts?page=10',
      prev: null,
      next: 'https://api.example.com/api/v1/posts?page=2',
    },
  },
)

/** The component each list response's items are documented as (read by the document's transform). */
const itemOfList = new WeakMap<object, string>()

export function listItemOf(response: object): string | undefined {
  return itemOfList.get(response)
}

/**
 * Response schema of a list of `item`. The serializer gets the items as partial objects, since
 * `fields` narrows them; the document shows them as the named resource.
 */
export function pageSchema<T extends TObject>(item: Component<T>, description: string) {
  const schema = Type.Object(
    { data: Type.Array(Type.Partial(item.plain)), meta: PageMeta.ref, links: PageLinks.ref },
    { description },
  )
  itemOfList.set(schema, item.name)
  return schema
}

/** The querystring of a route that takes no parameters: any parameter is a 422, never ignored. */
export const NoQuery = Type.Object({}, { additionalProperties: false })

/** The querystring of a single-item route of a resource: `include` only. */
export function includeQuerySchema(spec: ListSpec) {
  return Type.Object(
    {
      include: Type.Optional(
        Type.String({
          maxLength: 200,
          description: spec.includes.length
            ? `Relations to embed: ${spec.includes.join(', ')}`
            : 'No relations',
        }),
      ),
    },
    { additionalProperties: false },
  )
}

/** The relations a single-item route's `include` names (422 for unknown ones). */
export function parseIncludes(query: { include?: string | undefined }, spec: ListSpec): ReadonlySet<string> {
  return parseListQuery(query, spec).include
}

/** The absolute URL a request was made to, under PUBLIC_URL (for pagination links). */
export function absoluteUrl(publicUrl: string, requestUrl: string): URL {
  return new URL(publicUrl + requestUrl)
}

/**
 * Everything a list route repeats: its querystring and 200 schemas, and its request turned into
 * the parsed query and the absolute URL the links are built from. `fields` may narrow the items,
 * so they are partial in the response schema.
 */
export function listRoute<T extends TObject>(
  spec: ListSpec,
  item: Component<T>,
  publicUrl: string,
  description: string,
) {
  return {
    querystring: listQuerySchema(spec),
    response: pageSchema(item, description),
    parse(req: { query: Readonly<Record<string, unknown>>; url: string }): { query: ListQuery; url: URL } {
      return { query: parseListQuery(req.query, spec), url: absoluteUrl(publicUrl, req.url) }
    },
  }
}
