// Screen 1: signing in with a user's email and password (POST /api/auth/sign-in), which sets the
// session cookie and gives the CSRF token for the writes that follow.
import { useMutation, useQueryClient } from '@tanstack/react-query'
import { useNavigate, useSearch } from '@tanstack/react-router'
import { type FormEvent, useId } from 'react'
import { api, describeError, setCsrfToken } from './api.ts'
import { sessionQuery } from './session.ts'

export function SignIn() {
  const { redirect } = useSearch({ from: '/sign-in' })
  const navigate = useNavigate()
  const queryClient = useQueryClient()
  const emailId = useId()
  const passwordId = useId()
  const errorId = useId()
  const signIn = useMutation({
    mutationFn: (body: { email: string; password: string }) => api.sessions.signIn(body),
    onSuccess: async ({ data }) => {
      setCsrfToken(data.csrf_token)
      queryClient.clear()
      queryClient.setQueryData(sessionQuery.queryKey, data)
      await navigate({ to: redirect ?? '/' })
    },
  })
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const form = new FormData(event.currentTarget)
    signIn.mutate({ email: String(form.get('email')), password: String(form.get('password')) })
  }
  return (
    <main id="main" className="centered">
      <form
        className="card sign-in"
        onSubmit={submit}
        aria-describedby={signIn.isError ? errorId : undefined}
      >
        <h1>Sign in to core-api</h1>
        <label htmlFor={emailId}>Email</label>
        <input id={emailId} name="email" type="email" autoComplete="username" required />
        <label htmlFor={passwordId}>Password</label>
        <input id={passwordId} name="password" type="password" autoComplete="current-password" required />
        {signIn.isError && (
          <p id={errorId} className="error" role="alert">
            {describeError(signIn.error)}
          </p>
        )}
        <button type="submit" disabled={signIn.isPending}>
          {signIn.isPending ? 'Signing in…' : 'Sign in'}
        </button>
        <p className="hint">
          <a href="/docs">API reference</a>
        </p>
      </form>
    </main>
  )
}
