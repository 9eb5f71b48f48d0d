// The workspace's OAuth apps (partner apps that ask users for tokens, or act for the workspace
// with client credentials): register one, its client secret shown once; edit its name,
// redirect URIs, grant types and scopes; rotate its secret (the old one ends at once, the new one
// shown once); delete it with every grant and token it holds. Actions follow GET /api/v1/me.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useParams } from '@tanstack/react-router'
import { type FormEvent, useId, useState } from 'react'
import { api, describeError } from '../api.ts'
import { ConfirmDialog, FormActions, FormDialog, SecretDialog } from '../dialogs.tsx'
import { formatDate } from '../format.ts'
import { accessQuery, can } from '../session.ts'
import { DataTable, ErrorText, Pager } from '../ui.tsx'

type OAuthApp = Awaited<ReturnType<typeof api.oauthClients.get>>['data']
type GrantType = 'authorization_code' | 'refresh_token' | 'client_credentials'
type AuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none'
type AppFields = { name: string; redirect_uris: string[]; grant_types: GrantType[]; scopes: string[] }

const PER_PAGE = 25
const GRANT_TYPES: { value: GrantType; label: string }[] = [
  { value: 'authorization_code', label: 'Authorization code (users sign in and consent; PKCE)' },
  { value: 'refresh_token', label: 'Refresh token (with authorization code)' },
  { value: 'client_credentials', label: 'Client credentials (the app acts for this workspace)' },
]
const AUTH_METHODS: { value: AuthMethod; label: string }[] = [
  { value: 'client_secret_basic', label: 'Confidential: secret in HTTP Basic (default)' },
  { value: 'client_secret_post', label: 'Confidential: secret in the form body' },
  { value: 'none', label: 'Public: a browser or mobile app without a secret' },
]

/** One URI per line (blank lines ignored). */
function parseLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean)
}

/** `posts:read, read` or one per line → `['posts:read', 'read']`. */
function parseScopes(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((scope) => scope.trim())
    .filter(Boolean)
}

function readFields(form: FormData): AppFields {
  return {
    name: String(form.get('name') ?? '').trim(),
    redirect_uris: parseLines(String(form.get('redirect_uris') ?? '')),
    grant_types: form.getAll('grant_types').map(String) as GrantType[],
    scopes: parseScopes(String(form.get('scopes') ?? '')),
  }
}

export function OAuthApps() {
  const { workspaceId } = useParams({ from: '/w/$workspaceId' })
  const access = useQuery(accessQuery(workspaceId)).data
  const canWrite = can(access, 'oauth-clients:write')
  const canDelete = can(access, 'oauth-clients:delete')
  const [page, setPage] = useState(1)
  const apps = useQuery({
    queryKey: ['oauth-apps', workspaceId, page],
    queryFn: async () =>
      await api.oauthClients.list({ page, per_page: PER_PAGE, sort: '-created_at' }, { workspaceId }),
    placeholderData: keepPreviousData,
  })
  const [creating, setCreating] = useState(false)
  const [editing, setEditing] = useState<OAuthApp | null>(null)
  const [rotating, setRotating] = useState<OAuthApp | null>(null)
  const [deleting, setDeleting] = useState<OAuthApp | null>(null)
  const [secret, setSecret] = useState<{ label: string; value: string } | null>(null)
  const [announcement, setAnnouncement] = useState('')
  const meta = apps.data?.meta
  const showActions = canWrite || canDelete

  return (
    <section aria-labelledby="oauth-title">
      <div className="screen-head">
        <h1 id="oauth-title">OAuth apps</h1>
        {canWrite && (
          <button type="button" onClick={() => setCreating(true)}>
            Register app
          </button>
        )}
      </div>
      <p className="hint">
        Partner apps ask people for access at <code>/oauth2/auth</code> and get tokens at{' '}
        <code>/oauth2/token</code> (<a href="/.well-known/oauth-authorization-server">server metadata</a>). A
        client secret is shown once, when the app is registered or its secret rotated.
      </p>
      <p className="visually-hidden" aria-live="polite">
        {announcement}
      </p>
      {apps.isError ? (
        <ErrorText error={apps.error} />
      ) : (
        <DataTable label="OAuth apps table" caption="OAuth apps of this workspace" busy={apps.isFetching}>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Client ID</th>
              <th scope="col">Redirect URIs</th>
              <th scope="col">Grant types</th>
              <th scope="col">Scopes</th>
              <th scope="col">Type</th>
              <th scope="col">Registered</th>
              {showActions && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {apps.data?.data.length === 0 && (
              <tr>
                <td colSpan={showActions ? 8 : 7}>No apps yet.</td>
              </tr>
            )}
            {apps.data?.data.map((app) => (
              <tr key={app.id}>
                <th scope="row">{app.name}</th>
                <td>
                  <code>{app.client_id}</code>
                </td>
                <td className="uris">
                  {app.redirect_uris.length === 0 ? (
                    <span className="hint">none</span>
                  ) : (
                    <ul className="plain">
                      {app.redirect_uris.map((uri) => (
                        <li key={uri}>{uri}</li>
                      ))}
                    </ul>
                  )}
                </td>
                <td>
                  <NoWrapList items={app.grant_types} />
                </td>
                <td>
                  <NoWrapList items={app.scopes} />
                </td>
                <td>{app.token_endpoint_auth_method === 'none' ? 'public' : 'confidential'}</td>
                <td>{formatDate(app.created_at)}</td>
                {showActions && (
                  <td>
                    <div className="row-actions">
                      {canWrite && (
                        <button
                          type="button"
                          className="secondary"
                          aria-label={`Edit ${app.name}`}
                          onClick={() => setEditing(app)}
                        >
                          Edit
                        </button>
                      )}
                      {canWrite && app.token_endpoint_auth_method !== 'none' && (
                        <button
                          type="button"
                          className="secondary"
                          aria-label={`Rotate secret of ${app.name}`}
                          onClick={() => setRotating(app)}
                        >
                          Rotate secret
                        </button>
                      )}
                      {canDelete && (
                        <button
                          type="button"
                          className="danger"
                          aria-label={`Delete ${app.name}`}
                          onClick={() => setDeleting(app)}
                        >
                          Delete
                        </button>
                      )}
                    </div>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </DataTable>
      )}
      <Pager label="Pages of apps" unit="apps" meta={meta} onPage={setPage} />
      <RegisterDialog
        open={creating}
        workspaceId={workspaceId}
        onClose={() => setCreating(false)}
        onCreated={(app) => {
          setCreating(false)
          setAnnouncement(`${app.name} registered; its client ID is ${app.client_id}.`)
          if (app.client_secret)
            setSecret({
              label: `Client secret of “${app.name}” (${app.client_id})`,
              value: app.client_secret,
            })
        }}
      />
      <EditDialog
        app={editing}
        workspaceId={workspaceId}
        onClose={() => setEditing(null)}
        onSaved={(app) => {
          setEditing(null)
          setAnnouncement(`${app.name} saved.`)
        }}
      />
      <RotateDialog
        app={rotating}
        workspaceId={workspaceId}
        onClose={() => setRotating(null)}
        onRotated={(app) => {
          setRotating(null)
          setAnnouncement(`The secret of ${app.name} was rotated.`)
          if (app.client_secret)
            setSecret({ label: `New client secret of “${app.name}”`, value: app.client_secret })
        }}
      />
      <DeleteDialog
        app={deleting}
        workspaceId={workspaceId}
        onClose={() => setDeleting(null)}
        onDeleted={(app) => {
          setDeleting(null)
          setAnnouncement(`${app.name} deleted.`)
        }}
      />
      <SecretDialog secret={secret} onClose={() => setSecret(null)} />
    </section>
  )
}

/** Short values (grant types, scopes) one per line, never broken inside. */
function NoWrapList({ items }: { items: string[] }) {
  return (
    <ul className="plain nowrap">
      {items.map((item) => (
        <li key={item}>{item}</li>
      ))}
    </ul>
  )
}

/** The fields an app is registered and edited with. */
function AppFieldset(props: { app?: OAuthApp }) {
  const nameId = useId()
  const urisId = useId()
  const urisHint = useId()
  const scopesId = useId()
  const scopesHint = useId()
  const { app } = props
  const grants = app?.grant_types ?? ['authorization_code', 'refresh_token']
  return (
    <>
      <label htmlFor={nameId}>Name</label>
      <input id={nameId} name="name" required maxLength={255} defaultValue={app?.name} />
      <label htmlFor={urisId}>Redirect URIs</label>
      <textarea
        id={urisId}
        name="redirect_uris"
        rows={3}
        defaultValue={app?.redirect_uris.join('\n')}
        aria-describedby={urisHint}
        placeholder="https://app.example.com/callback"
      />
      <p id={urisHint} className="hint">
        One per line, matched exactly: https, or http to localhost. Needed for the authorization code grant.
      </p>
      <fieldset>
        <legend>Grant types</legend>
        {GRANT_TYPES.map((grant) => (
          <label key={grant.value} className="inline">
            <input
              type="checkbox"
              name="grant_types"
              value={grant.value}
              defaultChecked={grants.includes(grant.value)}
            />{' '}
            {grant.label}
          </label>
        ))}
      </fieldset>
      <label htmlFor={scopesId}>Scopes</label>
      <input
        id={scopesId}
        name="scopes"
        defaultValue={(app?.scopes ?? ['read']).join(', ')}
        aria-describedby={scopesHint}
      />
      <p id={scopesHint} className="hint">
        What the app may ask for, comma-separated, as API keys name them (<code>posts:read</code>,{' '}
        <code>read</code>).
      </p>
    </>
  )
}

function RegisterDialog(props: {
  open: boolean
  workspaceId: number
  onClose: () => void
  onCreated: (app: { name: string; client_id: string; client_secret: string | null }) => void
}) {
  const queryClient = useQueryClient()
  const methodId = useId()
  const create = useMutation({
    mutationFn: (body: AppFields & { token_endpoint_auth_method: AuthMethod }) =>
      api.oauthClients.create(body, { workspaceId: props.workspaceId }),
    onSuccess: async ({ data }) => {
      await queryClient.invalidateQueries({ queryKey: ['oauth-apps', props.workspaceId] })
      props.onCreated(data)
    },
  })
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const form = new FormData(event.currentTarget)
    create.mutate({
      ...readFields(form),
      token_endpoint_auth_method: String(form.get('method')) as AuthMethod,
    })
  }
  return (
    <FormDialog
      open={props.open}
      onOpenChange={(open) => {
        if (!open) {
          create.reset()
          props.onClose()
        }
      }}
      title="Register an OAuth app"
      description="The app gets a client ID, and a client secret shown once unless it is a public app."
    >
      <form className="stack" onSubmit={submit}>
        <AppFieldset />
        <label htmlFor={methodId}>Client type</label>
        <select id={methodId} name="method" defaultValue="client_secret_basic">
          {AUTH_METHODS.map((method) => (
            <option key={method.value} value={method.value}>
              {method.label}
            </option>
          ))}
        </select>
        <ErrorText error={create.error} />
        <FormActions pending={create.isPending} label="Register app" pendingLabel="Registering…" />
      </form>
    </FormDialog>
  )
}

function EditDialog(props: {
  app: OAuthApp | null
  workspaceId: number
  onClose: () => void
  onSaved: (app: OAuthApp) => void
}) {
  const queryClient = useQueryClient()
  const update = useMutation({
    mutationFn: ({ id, body }: { id: number; body: AppFields }) =>
      api.oauthClients.update(id, body, { workspaceId: props.workspaceId }),
    onSuccess: async ({ data }) => {
      await queryClient.invalidateQueries({ queryKey: ['oauth-apps', props.workspaceId] })
      props.onSaved(data)
    },
  })
  const { app } = props
  return (
    <FormDialog
      open={app !== null}
      onOpenChange={(open) => {
        if (!open) {
          update.reset()
          props.onClose()
        }
      }}
      title={`Edit “${app?.name ?? ''}”`}
      description="Narrowing its scopes narrows the tokens the app already holds, at once. The secret is unchanged."
    >
      <form
        className="stack"
        onSubmit={(event) => {
          event.preventDefault()
          if (app) update.mutate({ id: app.id, body: readFields(new FormData(event.currentTarget)) })
        }}
      >
        {app && <AppFieldset app={app} />}
        <ErrorText error={update.error} />
        <FormActions pending={update.isPending} label="Save" pendingLabel="Saving…" />
      </form>
    </FormDialog>
  )
}

function RotateDialog(props: {
  app: OAuthApp | null
  workspaceId: number
  onClose: () => void
  onRotated: (app: { name: string; client_secret: string | null }) => void
}) {
  const rotate = useMutation({
    mutationFn: (app: OAuthApp) => api.oauthClients.rotateSecret(app.id, { workspaceId: props.workspaceId }),
    onSuccess: ({ data }) => props.onRotated(data),
  })
  const { app } = props
  return (
    <ConfirmDialog
      open={app !== null}
      onOpenChange={(open) => {
        if (!open) {
          rotate.reset()
          props.onClose()
        }
      }}
      title={`Rotate the secret of “${app?.name ?? ''}”?`}
      description="The current secret stops working at once, on every instance; the app needs the new one, shown once."
      confirm="Rotate secret"
      pending={rotate.isPending}
      error={rotate.isError ? describeError(rotate.error) : null}
      onConfirm={() => app && rotate.mutate(app)}
    />
  )
}

function DeleteDialog(props: {
  app: OAuthApp | null
  workspaceId: number
  onClose: () => void
  onDeleted: (app: OAuthApp) => void
}) {
  const queryClient = useQueryClient()
  const remove = useMutation({
    mutationFn: (app: OAuthApp) => api.oauthClients.delete(app.id, { workspaceId: props.workspaceId }),
    onSuccess: async (_result, app) => {
      await queryClient.invalidateQueries({ queryKey: ['oauth-apps', props.workspaceId] })
      props.onDeleted(app)
    },
  })
  const { app } = props
  return (
    <ConfirmDialog
      open={app !== null}
      onOpenChange={(open) => {
        if (!open) {
          remove.reset()
          props.onClose()
        }
      }}
      title={`Delete “${app?.name ?? ''}”?`}
      description={
        <>
          <code>{app?.client_id}</code> can no longer get tokens, and every grant and token it holds ends now,
          on every instance. This cannot be undone.
        </>
      }
      confirm="Delete app"
      pending={remove.isPending}
      error={remove.isError ? describeError(remove.error) : null}
      onConfirm={() => app && remove.mutate(app)}
    />
  )
}
