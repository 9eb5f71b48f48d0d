// What every screen reads about the signed-in person: the session (null when signed out), their
// workspaces, and what they may do in one of them (the scopes of GET /api/v1/me there).
import { AuthenticationError } from '@core-api/sdk'
import { queryOptions } from '@tanstack/react-query'
import { api, grants, setCsrfToken } from './api.ts'

export type Session = Awaited<ReturnType<typeof api.sessions.get>>['data']

export const sessionQuery = queryOptions({
  queryKey: ['session'],
  queryFn: async (): Promise<Session | null> => {
    try {
      const { data } = await api.sessions.get()
      setCsrfToken(data.csrf_token)
      return data
    } catch (error) {
      if (error instanceof AuthenticationError) {
        setCsrfToken(null)
        return null
      }
      throw error
    }
  },
  staleTime: 60_000,
})

export const workspacesQuery = queryOptions({
  queryKey: ['workspaces'],
  queryFn: async () => await api.workspaces.list({ per_page: 100, sort: 'name' }),
})

/**
 * What the person may do in a workspace: their session's scopes (GET /api/v1/me there), narrowed
 * by their role in it (from the members list), as the server narrows them (docs/sessions.md).
 * It decides which actions are shown; the server decides what is allowed.
 */
export function accessQuery(workspaceId: number) {
  return queryOptions({
    queryKey: ['access', workspaceId],
    queryFn: async () => {
      const { data: me } = await api.users.me({ workspaceId })
      let role: string | null = null
      if (me.type === 'session' && me.user) {
        for await (const member of api.workspaces.listMembers(workspaceId, { per_page: 100 })) {
          if (member.id === me.user.id) {
            role = member.role
            break
          }
        }
      }
      return { scopes: me.scopes, role }
    },
    staleTime: 60_000,
  })
}

const ROLE_GRANTS: Record<string, readonly string[]> = {
  owner: ['*'],
  admin: ['*'],
  member: ['read', 'posts:write', 'posts:delete'],
}

/** Whether `access` allows `scope` (`resource:action`). */
export function can(
  access: { scopes: readonly string[]; role: string | null } | undefined,
  scope: string,
): boolean {
  if (!access || !grants(access.scopes, scope)) return false
  if (access.role === null) return true
  if (access.role === 'admin' && scope === 'workspaces:delete') return false
  return grants(ROLE_GRANTS[access.role] ?? [], scope)
}
