// The frame around every screen: the skip link, the header with the workspace switcher, the
// navigation, the theme and signing out.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { Link, Outlet, useMatches, useNavigate, useParams } from '@tanstack/react-router'
import { type ReactNode, useId, useState } from 'react'
import { api, describeError, setCsrfToken } from './api.ts'
import { accessQuery, sessionQuery, workspacesQuery } from './session.ts'
import { applyTheme, storedTheme, type Theme } from './theme.ts'

export function Root() {
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Outlet />
    </>
  )
}

export function NotFound() {
  return (
    <main id="main" className="centered">
      <h1>Page not found</h1>
      <p>
        <Link to="/">Back to the dashboard</Link>
      </p>
    </main>
  )
}

export function NoWorkspace() {
  return (
    <main id="main" className="centered">
      <h1>No workspace yet</h1>
      <p>You are not a member of any workspace. Ask an owner or admin for an invitation.</p>
      <SignOutButton />
    </main>
  )
}

const SCREENS = [
  { to: '/w/$workspaceId/overview', label: 'Overview' },
  { to: '/w/$workspaceId/keys', label: 'API keys' },
  { to: '/w/$workspaceId/webhooks', label: 'Webhooks' },
  { to: '/w/$workspaceId/pixel', label: 'Pixel analytics' },
  { to: '/w/$workspaceId/usage', label: 'Usage and plan' },
  { to: '/w/$workspaceId/members', label: 'Members' },
  { to: '/w/$workspaceId/oauth-apps', label: 'OAuth apps' },
  { to: '/w/$workspaceId/seo', label: 'SEO' },
  { to: '/w/$workspaceId/mcp', label: 'MCP' },
] as const

export function WorkspaceShell() {
  const { workspaceId } = useParams({ from: '/w/$workspaceId' })
  const session = useQuery(sessionQuery).data
  const access = useQuery(accessQuery(workspaceId))
  return (
    <div className="app">
      <header className="topbar">
        <Link to="/" className="brand">
          core-api
        </Link>
        <WorkspaceSwitcher workspaceId={workspaceId} />
        <div className="topbar-end">
          <ThemeSelect />
          {session && <span className="who">{session.user.email}</span>}
          <SignOutButton />
        </div>
      </header>
      <nav className="sidebar" aria-label="Dashboard">
        <ul>
          {SCREENS.map((screen) => (
            <li key={screen.to}>
              <Link to={screen.to} params={{ workspaceId }} activeProps={{ 'aria-current': 'page' }}>
                {screen.label}
              </Link>
            </li>
          ))}
          <li>
            <a href="/docs">API reference</a>
          </li>
        </ul>
      </nav>
      <main id="main" className="content">
        {access.isError ? (
          <Notice title="This workspace is not available">{describeError(access.error)}</Notice>
        ) : (
          <Outlet />
        )}
      </main>
    </div>
  )
}

function WorkspaceSwitcher({ workspaceId }: { workspaceId: number }) {
  const id = useId()
  const navigate = useNavigate()
  const matches = useMatches()
  const workspaces = useQuery(workspacesQuery)
  const screen = SCREENS.find((s) => matches.some((match) => match.routeId === s.to))?.to ?? SCREENS[0].to
  const list = workspaces.data?.data ?? []
  return (
    <div className="switcher">
      <label htmlFor={id}>Workspace</label>
      <select
        id={id}
        value={workspaceId}
        disabled={list.length === 0}
        onChange={(event) => navigate({ to: screen, params: { workspaceId: Number(event.target.value) } })}
      >
        {list.length === 0 && <option value={workspaceId}>Workspace {workspaceId}</option>}
        {list.map((workspace) => (
          <option key={workspace.id} value={workspace.id}>
            {workspace.name} ({workspace.tier})
          </option>
        ))}
      </select>
    </div>
  )
}

function ThemeSelect() {
  const id = useId()
  const [theme, setTheme] = useState<Theme>(storedTheme)
  return (
    <div className="theme">
      <label htmlFor={id}>Theme</label>
      <select
        id={id}
        value={theme}
        onChange={(event) => {
          const next = event.target.value as Theme
          applyTheme(next)
          setTheme(next)
        }}
      >
        <option value="system">System</option>
        <option value="light">Light</option>
        <option value="dark">Dark</option>
      </select>
    </div>
  )
}

function SignOutButton() {
  const queryClient = useQueryClient()
  const navigate = useNavigate()
  const signOut = useMutation({
    mutationFn: () => api.sessions.signOut(),
    onSettled: async () => {
      setCsrfToken(null)
      queryClient.clear()
      await navigate({ to: '/sign-in' })
    },
  })
  return (
    <button type="button" className="secondary" onClick={() => signOut.mutate()} disabled={signOut.isPending}>
      Sign out
    </button>
  )
}

function Notice({ title, children }: { title: string; children: ReactNode }) {
  return (
    <div className="notice" role="alert">
      <h2>{title}</h2>
      <p>{children}</p>
    </div>
  )
}
