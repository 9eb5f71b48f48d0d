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
