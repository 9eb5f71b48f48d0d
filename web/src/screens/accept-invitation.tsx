// Accepting an invitation (the link an owner or admin sends): a new person chooses a password
// (and a name); someone who already has an account gives their own. Either way they are signed in.
import { useMutation, useQueryClient } from '@tanstack/react-query'
import { Link, useNavigate, useSearch } from '@tanstack/react-router'
import { type FormEvent, useId } from 'react'
import { api, setCsrfToken } from '../api.ts'
import { ErrorText } from '../ui.tsx'

export function AcceptInvitation() {
  const { token } = useSearch({ from: '/invitations/accept' })
  const navigate = useNavigate()
  const queryClient = useQueryClient()
  const nameId = useId()
  const passwordId = useId()
  const accept = useMutation({
    mutationFn: (body: { token: string; password: string; name?: string }) =>
      api.sessions.acceptInvitation(body),
    onSuccess: async () => {
      queryClient.clear()
      setCsrfToken(null)
      await navigate({ to: '/' })
    },
  })
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    if (!token) return
    const form = new FormData(event.currentTarget)
    const name = String(form.get('name') ?? '').trim()
    accept.mutate({ token, password: String(form.get('password')), ...(name !== '' && { name }) })
  }
  return (
    <main id="main" className="centered">
      <form className="card sign-in" onSubmit={submit}>
        <h1>Join a workspace</h1>
        {token ? (
          <>
            <p className="hint">
              New to core-api? Choose a password (at least 8 characters). Already have an account? Enter its
              password.
            </p>
            <label htmlFor={nameId}>Your name (optional)</label>
            <input id={nameId} name="name" autoComplete="name" maxLength={255} />
            <label htmlFor={passwordId}>Password</label>
            <input id={passwordId} name="password" type="password" autoComplete="new-password" required />
            <ErrorText error={accept.error} />
            <button type="submit" disabled={accept.isPending}>
              Accept the invitation
            </button>
          </>
        ) : (
          <p className="error" role="alert">
            This link has no invitation token. Open the link from the invitation again.
          </p>
        )}
        <p className="hint">
          <Link to="/sign-in">Sign in instead</Link>
        </p>
      </form>
    </main>
  )
}
