// What every screen reads about the signed-in person: the session (null when signed out), their
// workspaces, and what they may do in one of them (the scopes of GET /api/v1/me there).
import { AuthenticationError } from '@core-api/sdk'
import { queryOptions } from '@tanstack/react-query'
import { api, setCsrfToken } from './api.ts'

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

export function meQuery(workspaceId: number) {
  return queryOptions({
    queryKey: ['me', workspaceId],
    queryFn: async () => (await api.users.me({ workspaceId })).data,
    staleTime: 60_000,
  })
}
