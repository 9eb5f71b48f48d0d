// Screen 4 (first part): the workspace's webhook endpoints. Creating one shows its signing
// secret once; each endpoint opens on its deliveries (webhook-endpoint.tsx).
import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { Link, useParams } from '@tanstack/react-router'
import { type FormEvent, useId, useRef, useState } from 'react'
import { api } from '../api.ts'
import { FormActions, FormDialog, SecretDialog } from '../dialogs.tsx'
import { fromNow } from '../format.ts'
import { accessQuery, can } from '../session.ts'
import { DataTable, ErrorText } from '../ui.tsx'

/** The event catalogue (the types, with examples): it changes only with the server's version. */
export function eventTypesQuery(workspaceId: number) {
  return queryOptions({
    queryKey: ['event-types', workspaceId],
    queryFn: async () => (await api.webhooks.listEventTypes({ workspaceId })).data,
    staleTime: 3_600_000,
  })
}

/** `post.*, post.created` → `['post.*', 'post.created']`. */
export function parseEvents(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((event) => event.trim())
    .filter(Boolean)
}

export function Webhooks() {
  const { workspaceId } = useParams({ from: '/w/$workspaceId' })
  const canWrite = can(useQuery(accessQuery(workspaceId)).data, 'webhooks:write')
  const endpoints = useQuery({
    queryKey: ['webhooks', workspaceId],
    queryFn: async () => await api.webhooks.list({ per_page: 100, sort: '-created_at' }, { workspaceId }),
  })
  const [creating, setCreating] = useState(false)
  const [secret, setSecret] = useState<{ label: string; value: string } | null>(null)
  return (
    <section aria-labelledby="webhooks-title">
      <div className="screen-head">
        <h1 id="webhooks-title">Webhooks</h1>
        {canWrite && (
          <button type="button" onClick={() => setCreating(true)}>
            Add endpoint
          </button>
        )}
      </div>
      <p className="hint">
        Endpoints receive the events they subscribe to, signed with Standard Webhooks headers. Open one to see
        its deliveries, send a test event or retry a failed delivery. The{' '}
        <Link to="/w/$workspaceId/webhooks/event-types" params={{ workspaceId }}>
          event catalog
        </Link>{' '}
        lists every event type with an example payload.
      </p>
      {endpoints.isError ? (
        <ErrorText error={endpoints.error} />
      ) : (
        <DataTable
          label="Webhook endpoints table"
          caption="Webhook endpoints of this workspace"
          busy={endpoints.isFetching}
        >
          <thead>
            <tr>
              <th scope="col">URL</th>
              <th scope="col">Events</th>
              <th scope="col">Status</th>
              <th scope="col">Delivered</th>
              <th scope="col">Failed</th>
              <th scope="col">Last delivery</th>
            </tr>
          </thead>
          <tbody>
            {endpoints.data?.data.length === 0 && (
              <tr>
                <td colSpan={6}>No endpoints yet.</td>
              </tr>
            )}
            {endpoints.data?.data.map((endpoint) => (
              <tr key={endpoint.id}>
                <th scope="row">
                  <Link
                    to="/w/$workspaceId/webhooks/$webhookId"
                    params={{ workspaceId, webhookId: endpoint.id }}
                  >
                    {endpoint.url}
                  </Link>
                  {endpoint.description && <div className="hint">{endpoint.description}</div>}
                </th>
                <td className="scopes">{endpoint.events.join(', ')}</td>
                <td>
                  <EndpointStatus active={endpoint.is_active} reason={endpoint.disabled_reason} />
                </td>
                <td>{endpoint.success_count}</td>
                <td>{endpoint.failure_count}</td>
                <td>{fromNow(endpoint.last_delivery_at)}</td>
              </tr>
            ))}
          </tbody>
        </DataTable>
      )}
      <CreateEndpointDialog
        open={creating}
        workspaceId={workspaceId}
        onClose={() => setCreating(false)}
        onCreated={(endpoint) => {
          setCreating(false)
          setSecret({ label: `Signing secret of ${endpoint.url}`, value: endpoint.secret })
        }}
      />
      <SecretDialog secret={secret} onClose={() => setSecret(null)} />
    </section>
  )
}

export function EndpointStatus({ active, reason }: { active: boolean; reason: string | null }) {
  return active ? (
    <span className="badge active">enabled</span>
  ) : (
    <span className="badge revoked" title={reason ?? undefined}>
      disabled{reason ? `: ${reason}` : ''}
    </span>
  )
}

/** The fields of an endpoint, for creating one and for editing it; types can be picked from the catalogue. */
export function EndpointFields(props: { url?: string; events?: string[]; description?: string | null }) {
  const { workspaceId } = useParams({ from: '/w/$workspaceId' })
  const urlId = useId()
  const eventsId = useId()
  const eventsHint = useId()
  const pickId = useId()
  const descriptionId = useId()
  const events = useRef<HTMLInputElement>(null)
  const [picked, setPicked] = useState('')
  const catalogue = useQuery(eventTypesQuery(workspaceId))
  const types = catalogue.data ?? []
  const resources = [...new Set(types.map((t) => `${t.type.split('.')[0]}.*`))]
  function add() {
    const input = events.current
    if (!input || picked === '') return
    const current = parseEvents(input.value).filter((e) => e !== '*')
    if (!current.includes(picked)) input.value = [...current, picked].join(', ')
    setPicked('')
    input.focus()
  }
  return (
    <>
      <label htmlFor={urlId}>URL</label>
      <input id={urlId} name="url" type="url" required defaultValue={props.url} placeholder="https://" />
      <label htmlFor={eventsId}>Events</label>
      <input
        ref={events}
        id={eventsId}
        name="events"
        required
        defaultValue={props.events?.join(', ') ?? '*'}
        aria-describedby={eventsHint}
      />
      <p id={eventsHint} className="hint">
        Comma-separated: event types (<code>post.created</code>), a resource's events (<code>post.*</code>) or
        every event (<code>*</code>).
      </p>
      {types.length > 0 && (
        <div className="event-picker">
          <div>
            <label htmlFor={pickId}>Add from the catalog</label>
            <select id={pickId} value={picked} onChange={(event) => setPicked(event.target.value)}>
              <option value="">Choose an event type…</option>
              <optgroup label="Event types">
                {types.map((t) => (
                  <option key={t.type} value={t.type}>
                    {t.type}: {t.description}
                  </option>
                ))}
              </optgroup>
              <optgroup label="Every event of a resource">
                {resources.map((r) => (
                  <option key={r} value={r}>
                    {r}
                  </option>
                ))}
              </optgroup>
            </select>
          </div>
          <button type="button" className="secondary" onClick={add} disabled={picked === ''}>
            Add event
          </button>
        </div>
      )}
      <label htmlFor={descriptionId}>Description (optional)</label>
      <input id={descriptionId} name="description" maxLength={500} defaultValue={props.description ?? ''} />
    </>
  )
}

function CreateEndpointDialog(props: {
  open: boolean
  workspaceId: number
  onClose: () => void
  onCreated: (endpoint: { url: string; secret: string }) => void
}) {
  const queryClient = useQueryClient()
  const create = useMutation({
    mutationFn: (body: { url: string; events: string[]; description?: string }) =>
      api.webhooks.create(body, { workspaceId: props.workspaceId }),
    onSuccess: async ({ data }) => {
      await queryClient.invalidateQueries({ queryKey: ['webhooks', props.workspaceId] })
      props.onCreated(data)
    },
  })
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const form = new FormData(event.currentTarget)
    const description = String(form.get('description') ?? '').trim()
    create.mutate({
      url: String(form.get('url')).trim(),
      events: parseEvents(String(form.get('events') ?? '')),
      ...(description !== '' && { description }),
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
      title="Add a webhook endpoint"
      description="core-api posts each matching event to this URL and retries failures with backoff."
    >
      <form className="stack" onSubmit={submit}>
        <EndpointFields />
        <ErrorText error={create.error} />
        <FormActions pending={create.isPending} label="Add endpoint" pendingLabel="Adding…" />
      </form>
    </FormDialog>
  )
}
