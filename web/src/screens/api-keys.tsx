// Screen 3: the workspace's API keys. The table's search, status filter, sort and page live in
// the URL; creating and rotating show the secret once; rotation offers a grace period; revoking
// asks for confirmation. The actions appear only to people whose role allows them (a member
// sees and manages only the keys they made).
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useNavigate, useParams, useSearch } from '@tanstack/react-router'
import { type FormEvent, useId, useState } from 'react'
import { api, describeError } from '../api.ts'
import { ConfirmDialog, FormActions, FormDialog, SecretDialog } from '../dialogs.tsx'
import { formatDate, fromNow } from '../format.ts'
import { KEY_SORTS, KEY_STATUSES, type KeySearch } from '../search.ts'
import { accessQuery, can } from '../session.ts'
import { DataTable, ErrorText, Pager } from '../ui.tsx'

type ApiKey = Awaited<ReturnType<typeof api.apiKeys.get>>['data']

const PER_PAGE = 25
const SORT_LABELS: Record<(typeof KEY_SORTS)[number], string> = {
  '-created_at': 'Newest first',
  '-last_used_at': 'Recently used',
  expires_at: 'Expiring soonest',
  name: 'Name',
}
const RESOURCES = [
  'api-keys',
  'entitlements',
  'mcp',
  'oauth-clients',
  'pixel',
  'posts',
  'seo',
  'users',
  'webhooks',
  'workspaces',
] as const
const ACTIONS = ['read', 'write', 'delete'] as const
const EXPIRY_DAYS = [
  { value: '', label: 'Never' },
  { value: '7', label: 'In 7 days' },
  { value: '30', label: 'In 30 days' },
  { value: '90', label: 'In 90 days' },
  { value: '365', label: 'In a year' },
]
const GRACE_HOURS = [
  { value: 0, label: 'None: the old key stops working now' },
  { value: 1, label: '1 hour' },
  { value: 24, label: '24 hours (default)' },
  { value: 72, label: '3 days' },
  { value: 168, label: '7 days' },
]

export function ApiKeys() {
  const { workspaceId } = useParams({ from: '/w/$workspaceId' })
  const search = useSearch({ from: '/w/$workspaceId/keys' })
  const navigate = useNavigate({ from: '/w/$workspaceId/keys' })
  const access = useQuery(accessQuery(workspaceId)).data
  const canWrite = can(access, 'api-keys:write')
  const canRevoke = can(access, 'api-keys:delete')
  const keys = useQuery({
    queryKey: ['api-keys', workspaceId, search],
    queryFn: async () =>
      await api.apiKeys.list(
        {
          search: search.q,
          status: search.status,
          sort: search.sort ?? '-created_at',
          page: search.page ?? 1,
          per_page: PER_PAGE,
        },
        { workspaceId },
      ),
    placeholderData: keepPreviousData,
  })
  const [creating, setCreating] = useState(false)
  const [rotating, setRotating] = useState<ApiKey | null>(null)
  const [revoking, setRevoking] = useState<ApiKey | null>(null)
  const [secret, setSecret] = useState<{ label: string; value: string } | null>(null)
  const [announcement, setAnnouncement] = useState('')

  const setSearch = (next: Partial<KeySearch>) =>
    navigate({ search: (previous) => ({ ...previous, page: undefined, ...next }) })
  const meta = keys.data?.meta

  return (
    <section aria-labelledby="keys-title">
      <div className="screen-head">
        <h1 id="keys-title">API keys</h1>
        {canWrite && (
          <button type="button" onClick={() => setCreating(true)}>
            Create key
          </button>
        )}
      </div>
      <p className="hint">
        Keys act in this workspace with the scopes they were given. The secret is shown once, when the key is
        created or rotated.
      </p>
      <KeyFilters search={search} onChange={setSearch} />
      <p className="visually-hidden" aria-live="polite">
        {announcement}
      </p>
      {keys.isError ? (
        <ErrorText error={keys.error} />
      ) : (
        <DataTable label="API keys table" caption="API keys of this workspace" busy={keys.isFetching}>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Key</th>
              <th scope="col">Scopes</th>
              <th scope="col">Status</th>
              <th scope="col">Last used</th>
              <th scope="col">Expires</th>
              <th scope="col">Created</th>
              {(canWrite || canRevoke) && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {keys.data?.data.length === 0 && (
              <tr>
                <td colSpan={8}>{search.q || search.status ? 'No key matches.' : 'No keys yet.'}</td>
              </tr>
            )}
            {keys.data?.data.map((key) => (
              <tr key={key.id}>
                <th scope="row">{key.name}</th>
                <td>
                  <code>{key.prefix}…</code>
                </td>
                <td className="scopes">{key.scopes.join(', ')}</td>
                <td>
                  <span className={`badge ${key.status}`}>{key.status}</span>
                </td>
                <td title={formatDate(key.last_used_at, '')}>{fromNow(key.last_used_at)}</td>
                <td title={formatDate(key.expires_at, '')}>{fromNow(key.expires_at)}</td>
                <td>{formatDate(key.created_at)}</td>
                {(canWrite || canRevoke) && (
                  <td>
                    <div className="row-actions">
                      {canWrite && key.status === 'active' && (
                        <button
                          type="button"
                          className="secondary"
                          aria-label={`Rotate ${key.name}`}
                          onClick={() => setRotating(key)}
                        >
                          Rotate
                        </button>
                      )}
                      {canRevoke && key.status !== 'revoked' && (
                        <button
                          type="button"
                          className="danger"
                          aria-label={`Revoke ${key.name}`}
                          onClick={() => setRevoking(key)}
                        >
                          Revoke
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
      <Pager
        label="Pages of keys"
        unit="keys"
        meta={meta}
        onPage={(page) => setSearch({ page: page > 1 ? page : undefined })}
      />
      <CreateKeyDialog
        open={creating}
        workspaceId={workspaceId}
        onClose={() => setCreating(false)}
        onCreated={(key) => {
          setCreating(false)
          setAnnouncement(`Key ${key.name} created.`)
          setSecret({ label: `Your new key “${key.name}”`, value: key.key })
        }}
      />
      <RotateKeyDialog
        apiKey={rotating}
        workspaceId={workspaceId}
        onClose={() => setRotating(null)}
        onRotated={(key) => {
          setRotating(null)
          setAnnouncement(`Key ${key.name} rotated.`)
          setSecret({ label: `The new secret of “${key.name}”`, value: key.key })
        }}
      />
      <RevokeKeyDialog
        apiKey={revoking}
        workspaceId={workspaceId}
        onClose={() => setRevoking(null)}
        onRevoked={(key) => {
          setRevoking(null)
          setAnnouncement(`Key ${key.name} revoked.`)
        }}
      />
      <SecretDialog secret={secret} onClose={() => setSecret(null)} />
    </section>
  )
}

function KeyFilters({
  search,
  onChange,
}: {
  search: KeySearch
  onChange: (next: Partial<KeySearch>) => void
}) {
  const searchId = useId()
  const statusId = useId()
  const sortId = useId()
  return (
    <search aria-label="Filter keys">
      <form
        className="filters"
        onSubmit={(event) => {
          event.preventDefault()
          const q = String(new FormData(event.currentTarget).get('q') ?? '').trim()
          onChange({ q: q === '' ? undefined : q })
        }}
      >
        <div>
          <label htmlFor={searchId}>Search</label>
          <input id={searchId} name="q" type="search" defaultValue={search.q ?? ''} key={search.q ?? ''} />
        </div>
        <div>
          <label htmlFor={statusId}>Status</label>
          <select
            id={statusId}
            value={search.status ?? ''}
            onChange={(event) =>
              onChange({ status: KEY_STATUSES.find((status) => status === event.target.value) })
            }
          >
            <option value="">Any</option>
            {KEY_STATUSES.map((status) => (
              <option key={status} value={status}>
                {status[0]!.toUpperCase() + status.slice(1)}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor={sortId}>Sort</label>
          <select
            id={sortId}
            value={search.sort ?? '-created_at'}
            onChange={(event) => {
              const sort = KEY_SORTS.find((value) => value === event.target.value)
              onChange({ sort: sort === '-created_at' ? undefined : sort })
            }}
          >
            {KEY_SORTS.map((sort) => (
              <option key={sort} value={sort}>
                {SORT_LABELS[sort]}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" className="secondary">
          Search
        </button>
      </form>
    </search>
  )
}

function CreateKeyDialog(props: {
  open: boolean
  workspaceId: number
  onClose: () => void
  onCreated: (key: { name: string; key: string }) => void
}) {
  const queryClient = useQueryClient()
  const nameId = useId()
  const expiryId = useId()
  const [custom, setCustom] = useState(false)
  const create = useMutation({
    mutationFn: (body: { name: string; scopes?: string[]; expires_at?: string }) =>
      api.apiKeys.create(body, { workspaceId: props.workspaceId }),
    onSuccess: async ({ data }) => {
      await queryClient.invalidateQueries({ queryKey: ['api-keys', props.workspaceId] })
      props.onCreated(data)
    },
  })
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const form = new FormData(event.currentTarget)
    const days = String(form.get('expiry') ?? '')
    const scopes = form.getAll('scope').map(String)
    create.mutate({
      name: String(form.get('name')).trim(),
      ...(custom && { scopes }),
      ...(days !== '' && { expires_at: new Date(Date.now() + Number(days) * 86_400_000).toISOString() }),
    })
  }
  return (
    <FormDialog
      open={props.open}
      onOpenChange={(open) => {
        if (!open) {
          create.reset()
          setCustom(false)
          props.onClose()
        }
      }}
      title="Create an API key"
      description="The key acts in this workspace. Give it only the scopes it needs."
    >
      <form onSubmit={submit} className="stack">
        <label htmlFor={nameId}>Name</label>
        <input id={nameId} name="name" required maxLength={255} placeholder="e.g. production backend" />
        <fieldset>
          <legend>Scopes</legend>
          <label className="inline">
            <input type="radio" name="scope-mode" checked={!custom} onChange={() => setCustom(false)} /> Read
            and write on every resource (the default)
          </label>
          <label className="inline">
            <input type="radio" name="scope-mode" checked={custom} onChange={() => setCustom(true)} /> Choose
            scopes
          </label>
          {custom && (
            <table className="scope-grid">
              <caption className="visually-hidden">Scopes by resource and action</caption>
              <thead>
                <tr>
                  <th scope="col">Resource</th>
                  {ACTIONS.map((action) => (
                    <th scope="col" key={action}>
                      {action}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {RESOURCES.map((resource) => (
                  <tr key={resource}>
                    <th scope="row">{resource}</th>
                    {ACTIONS.map((action) => (
                      <td key={action}>
                        <input
                          type="checkbox"
                          name="scope"
                          value={`${resource}:${action}`}
                          aria-label={`${resource}:${action}`}
                        />
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </fieldset>
        <label htmlFor={expiryId}>Expires</label>
        <select id={expiryId} name="expiry" defaultValue="">
          {EXPIRY_DAYS.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          ))}
        </select>
        <ErrorText error={create.error} />
        <FormActions pending={create.isPending} label="Create key" pendingLabel="Creating…" />
      </form>
    </FormDialog>
  )
}

function RotateKeyDialog(props: {
  apiKey: ApiKey | null
  workspaceId: number
  onClose: () => void
  onRotated: (key: { name: string; key: string }) => void
}) {
  const queryClient = useQueryClient()
  const graceId = useId()
  const rotate = useMutation({
    mutationFn: ({ id, hours }: { id: number; hours: number }) =>
      api.apiKeys.rotate(id, { grace_period_hours: hours }, { workspaceId: props.workspaceId }),
    onSuccess: async ({ data }) => {
      await queryClient.invalidateQueries({ queryKey: ['api-keys', props.workspaceId] })
      props.onRotated(data)
    },
  })
  const key = props.apiKey
  return (
    <FormDialog
      open={key !== null}
      onOpenChange={(open) => {
        if (!open) {
          rotate.reset()
          props.onClose()
        }
      }}
      title={`Rotate “${key?.name ?? ''}”`}
      description="A new key with the same name, scopes and expiry replaces this one. The old key keeps working during the grace period, so clients can switch over."
    >
      <form
        className="stack"
        onSubmit={(event) => {
          event.preventDefault()
          if (!key) return
          const hours = Number(new FormData(event.currentTarget).get('grace'))
          rotate.mutate({ id: key.id, hours })
        }}
      >
        <label htmlFor={graceId}>Grace period for the old key</label>
        <select id={graceId} name="grace" defaultValue="24">
          {GRACE_HOURS.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          ))}
        </select>
        <ErrorText error={rotate.error} />
        <FormActions pending={rotate.isPending} label="Rotate key" pendingLabel="Rotating…" />
      </form>
    </FormDialog>
  )
}

function RevokeKeyDialog(props: {
  apiKey: ApiKey | null
  workspaceId: number
  onClose: () => void
  onRevoked: (key: ApiKey) => void
}) {
  const queryClient = useQueryClient()
  const revoke = useMutation({
    mutationFn: (key: ApiKey) => api.apiKeys.revoke(key.id, { workspaceId: props.workspaceId }),
    onSuccess: async (_result, key) => {
      await queryClient.invalidateQueries({ queryKey: ['api-keys', props.workspaceId] })
      props.onRevoked(key)
    },
  })
  const key = props.apiKey
  return (
    <ConfirmDialog
      open={key !== null}
      onOpenChange={(open) => {
        if (!open) {
          revoke.reset()
          props.onClose()
        }
      }}
      title={`Revoke “${key?.name ?? ''}”?`}
      description={
        <>
          Requests with <code>{key?.prefix}…</code> are refused from now on, on every instance. This cannot be
          undone.
        </>
      }
      confirm="Revoke key"
      pending={revoke.isPending}
      error={revoke.isError ? describeError(revoke.error) : null}
      onConfirm={() => key && revoke.mutate(key)}
    />
  )
}
