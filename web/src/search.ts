// The tables' state in the URL: validated by the routes, read and written by the screens.
export const KEY_STATUSES = ['active', 'expired', 'revoked'] as const
export const KEY_SORTS = ['-created_at', '-last_used_at', 'expires_at', 'name'] as const
export type KeySearch = {
  q?: string
  status?: (typeof KEY_STATUSES)[number]
  sort?: (typeof KEY_SORTS)[number]
  page?: number
}

export const DELIVERY_STATUSES = ['pending', 'success', 'failed', 'retrying'] as const
export type DeliverySearch = {
  status?: (typeof DELIVERY_STATUSES)[number]
  event_type?: string
  page?: number
}

function page(value: unknown): number | undefined {
  const number = Number(value)
  return Number.isInteger(number) && number > 1 ? number : undefined
}

export function validateKeySearch(search: Record<string, unknown>): KeySearch {
  return {
    q: typeof search.q === 'string' && search.q.trim() !== '' ? search.q : undefined,
    status: KEY_STATUSES.find((status) => status === search.status),
    sort: KEY_SORTS.find((sort) => sort === search.sort),
    page: page(search.page),
  }
}

export function validateDeliverySearch(search: Record<string, unknown>): DeliverySearch {
  return {
    status: DELIVERY_STATUSES.find((status) => status === search.status),
    event_type:
      typeof search.event_type === 'string' && /^[a-z0-9_.*-]{1,100}$/.test(search.event_type)
        ? search.event_type
        : undefined,
    page: page(search.page),
  }
}

export const REPORT_SOURCES = ['api', 'audit'] as const
export const REPORT_SORTS = [
  '-created_at',
  'created_at',
  'url',
  'seo',
  'performance',
  'accessibility',
  'best_practices',
] as const
export const AUDIT_STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const
export type SeoSearch = {
  source?: (typeof REPORT_SOURCES)[number]
  sort?: (typeof REPORT_SORTS)[number]
  url?: string
  page?: number
  audit_status?: (typeof AUDIT_STATUSES)[number]
  audit_page?: number
}

export const SEVERITIES = ['error', 'warning', 'notice'] as const
export type IssueSearch = { severity?: (typeof SEVERITIES)[number]; type?: string }

export type McpServerSearch = { tool?: string }

/** A page address as the API takes it (absolute, at most 2,048 characters), or nothing. */
function pageUrl(value: unknown): string | undefined {
  return typeof value === 'string' && /^https?:\/\/\S+$/i.test(value) && value.length <= 2048
    ? value
    : undefined
}

export function validateSeoSearch(search: Record<string, unknown>): SeoSearch {
  return {
    source: REPORT_SOURCES.find((source) => source === search.source),
    sort: REPORT_SORTS.find((sort) => sort === search.sort),
    url: pageUrl(search.url),
    page: page(search.page),
    audit_status: AUDIT_STATUSES.find((status) => status === search.audit_status),
    audit_page: page(search.audit_page),
  }
}

export function validateIssueSearch(search: Record<string, unknown>): IssueSearch {
  return {
    severity: SEVERITIES.find((severity) => severity === search.severity),
    type:
      typeof search.type === 'string' && search.type.length >= 1 && search.type.length <= 100
        ? search.type
        : undefined,
  }
}

export function validateMcpServerSearch(search: Record<string, unknown>): McpServerSearch {
  return {
    tool:
      typeof search.tool === 'string' && search.tool.length >= 1 && search.tool.length <= 128
        ? search.tool
        : undefined,
  }
}

// The pixel screen's site, period, interval and filters (docs/pixel.md, "Stats").
export const PIXEL_PERIODS = ['today', '7d', '30d', 'month', '12mo', 'custom'] as const
export const PIXEL_INTERVALS = ['hour', 'day', 'month'] as const
export type PixelSearch = {
  site?: number
  period?: (typeof PIXEL_PERIODS)[number]
  from?: string
  to?: string
  interval?: (typeof PIXEL_INTERVALS)[number]
  page?: string
  source?: string
  event?: string
}

/** A calendar date (YYYY-MM-DD) that exists, from 1970 on, as the stats API takes it. */
export function isDay(value: unknown): value is string {
  if (typeof value !== 'string' || !/^(19[7-9]\d|[2-9]\d{3})-\d{2}-\d{2}$/.test(value)) return false
  const ms = Date.parse(`${value}T00:00:00Z`)
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === value
}

/** A filter value; the router reads `?event=404` as a number, which is the name "404". */
function text(value: unknown, max: number): string | undefined {
  const string = typeof value === 'number' ? String(value) : value
  return typeof string === 'string' && string !== '' && string.length <= max ? string : undefined
}

export function validatePixelSearch(search: Record<string, unknown>): PixelSearch {
  const site = Number(search.site)
  const period = PIXEL_PERIODS.find((p) => p === search.period)
  const from = isDay(search.from) ? search.from : undefined
  const to = isDay(search.to) ? search.to : undefined
  // A custom range needs both ends, in order; anything less is the default period.
  const custom = period === 'custom' && from !== undefined && to !== undefined && from <= to
  return {
    site: Number.isInteger(site) && site > 0 ? site : undefined,
    period: period === 'custom' && !custom ? undefined : period,
    from: custom ? from : undefined,
    to: custom ? to : undefined,
    interval: PIXEL_INTERVALS.find((i) => i === search.interval),
    page: text(search.page, 1024),
    source: text(search.source, 253),
    event: text(search.event, 120),
  }
}
