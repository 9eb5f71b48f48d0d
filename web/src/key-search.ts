// The API keys table's state in the URL (validated by the route, read by the screen).
export const KEY_STATUSES = ['active', 'expired', 'revoked'] as const
export const KEY_SORTS = ['-created_at', '-last_used_at', 'expires_at', 'name'] as const
export type KeySearch = {
  q?: string
  status?: (typeof KEY_STATUSES)[number]
  sort?: (typeof KEY_SORTS)[number]
  page?: number
}
