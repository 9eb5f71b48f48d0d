import { AuthenticationError } from '@core-api/sdk'
import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { RouterProvider } from '@tanstack/react-router'
import { setNonce } from 'get-nonce'
import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { setCsrfToken } from './api.ts'
import { createDashboardRouter } from './router.tsx'
import { sessionQuery } from './session.ts'
import { applyTheme, storedTheme } from './theme.ts'
import './styles.css'

// The server puts a fresh nonce on every page (its CSP's style-src); dialogs' scroll lock adds a
// <style> element that must carry it.
const nonce = document.querySelector<HTMLMetaElement>('meta[property="csp-nonce"]')?.nonce
if (nonce) setNonce(nonce)
applyTheme(storedTheme())

/** A session that ended (expired, signed out elsewhere, password changed) sends the person to sign in. */
function onError(error: unknown) {
  if (!(error instanceof AuthenticationError)) return
  setCsrfToken(null)
  queryClient.setQueryData(sessionQuery.queryKey, null)
  const { href } = router.state.location
  // Only screens behind sign-in: the sign-in and invitation forms show their own refusals.
  if (href.startsWith('/w/')) void router.navigate({ to: '/sign-in', search: { redirect: href } })
}

const queryClient = new QueryClient({
  queryCache: new QueryCache({ onError }),
  mutationCache: new MutationCache({ onError }),
  defaultOptions: {
    queries: { retry: false, refetchOnWindowFocus: false, staleTime: 10_000 },
  },
})
const router = createDashboardRouter(queryClient)

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  </StrictMode>,
)
