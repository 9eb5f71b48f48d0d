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
 * What the person may do in a workspace, as GET /api/v1/me there says: the session's scopes
 * narrowed by their role (`workspace.scopes`). It decides which actions are shown; the server
 * decides what is allowed.
 */
export function accessQuery(workspaceId: number) {
  return queryOptions({
    queryKey: ['access', workspaceId],
    queryFn: async () => {
      const { data: me } = await api.users.me({ workspaceId })
      return { scopes: me.workspace?.scopes ?? [], role: me.workspace?.role ?? null }
    },
    staleTime: 60_000,
  })
}

/** Whether `access` allows `scope` (`resource:action`). */
export function can(access: { scopes: readonly string[] } | undefined, scope: string): boolean {
  return access !== undefined && grants(access.scopes, scope)
}
