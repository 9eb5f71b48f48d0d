// Screen 4 (second part): one webhook endpoint. Its actions (send a test event, edit,
// disable/enable, rotate the signing secret) and its deliveries, filtered by status and event type
// in the URL; a delivery opens on its last answer and every attempt (status code, duration, time,
// response excerpt) and can be retried when it failed.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { Link, useNavigate, useParams, useSearch } from '@tanstack/react-router'
import { type FormEvent, useId, useState } from 'react'
import { api, describeError } from '../api.ts'
import { ConfirmDialog, DialogClose, FormActions, FormDialog, SecretDialog } from '../dialogs.tsx'
import { formatDate } from '../format.ts'
import { DELIVERY_STATUSES, type DeliverySearch } from '../search.ts'
import { accessQuery, can } from '../session.ts'
import { DataTable, ErrorText, Pager } from '../ui.tsx'
import { EndpointFields, EndpointStatus, parseEvents } from './webhooks.tsx'

const PER_PAGE = 25

type TestResult = Awaited<ReturnType<typeof api.webhooks.test>>

export function WebhookEndpoint() {
  const { workspaceId, webhookId } = useParams({ from: '/w/$workspaceId/webhooks/$webhookId' })
  const search = useSearch({ from: '/w/$workspaceId/webhooks/$webhookId' })
  const navigate = useNavigate({ from: '/w/$workspaceId/webhooks/$webhookId' })
  const queryClient = useQueryClient()
  const canWrite = can(useQuery(accessQuery(workspaceId)).data, 'webhooks:write')
  const endpoint = useQuery({
    queryKey: ['webhook', workspaceId, webhookId],
    queryFn: async () => (await api.webhooks.get(webhookId, { workspaceId })).data,
  })
  const deliveries = useQuery({
    queryKey: ['deliveries', workspaceId, webhookId, search],
    queryFn: async () =>
      await api.webhooks.listDeliveries(
        webhookId,
        {
          status: search.status,
          event_type: search.event_type,
          page: search.page ?? 1,
          per_page: PER_PAGE,
          sort: '-created_at',
        },
        { workspaceId },
      ),
    placeholderData: keepPreviousData,
  })
  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: ['webhook', workspaceId, webhookId] }),
      queryClient.invalidateQueries({ queryKey: ['deliveries', workspaceId, webhookId] }),
      queryClient.invalidateQueries({ queryKey: ['webhooks', workspaceId] }),
    ])
  const [testResult, setTestResult] = useState<TestResult | null>(null)
  const [editing, setEditing] = useState(false)
  const [rotating, setRotating] = useState(false)
  const [secret, setSecret] = useState<{ label: string; value: string } | null>(null)
  const [opened, setOpened] = useState<number | null>(null)

  const sendTest = useMutation({
    mutationFn: () => api.webhooks.test(webhookId, { workspaceId }),
    onSuccess: async (result) => {
      setTestResult(result)
      await refresh()
    },
  })
  const toggle = useMutation({
    mutationFn: (active: boolean) => api.webhooks.update(webhookId, { is_active: active }, { workspaceId }),
    onSuccess: refresh,
  })
  const rotate = useMutation({
    mutationFn: () => api.webhooks.rotateSecret(webhookId, {}, { workspaceId }),
    onSuccess: ({ data }) => {
      setRotating(false)
      setSecret({ label: 'The new signing secret', value: data.secret })
    },
  })

  const setSearch = (next: Partial<DeliverySearch>) =>
    navigate({ search: (previous) => ({ ...previous, page: undefined, ...next }) })
  const data = endpoint.data
  if (endpoint.isError) {
    return (
      <section aria-labelledby="endpoint-title">
        <h1 id="endpoint-title">Webhook endpoint</h1>
        <ErrorText error={endpoint.error} />
        <Link to="/w/$workspaceId/webhooks" params={{ workspaceId }}>
          All endpoints
        </Link>
      </section>
    )
  }
  const meta = deliveries.data?.meta
  return (
    <section aria-labelledby="endpoint-title" aria-busy={endpoint.isPending}>
      <p>
        <Link to="/w/$workspaceId/webhooks" params={{ workspaceId }}>
          ← All endpoints
        </Link>
      </p>
      <h1 id="endpoint-title" className="break">
        {data?.url ?? 'Webhook endpoint'}
      </h1>
      {data && (
        <dl className="facts">
          <dt>Status</dt>
          <dd>
            <EndpointStatus active={data.is_active} reason={data.disabled_reason} />
          </dd>
          <dt>Events</dt>
          <dd>{data.events.join(', ')}</dd>
          <dt>Delivered / failed</dt>
          <dd>
            {data.success_count} / {data.failure_count}
          </dd>
          {data.description && (
            <>
              <dt>Description</dt>
              <dd>{data.description}</dd>
            </>
          )}
        </dl>
      )}
      {canWrite && data && (
        <div className="toolbar">
          <button type="button" onClick={() => sendTest.mutate()} disabled={sendTest.isPending}>
            {sendTest.isPending ? 'Sending…' : 'Send test event'}
          </button>
          <button type="button" className="secondary" onClick={() => setEditing(true)}>
            Edit
          </button>
          <button
            type="button"
            className="secondary"
            onClick={() => toggle.mutate(!data.is_active)}
            disabled={toggle.isPending}
          >
            {data.is_active ? 'Disable' : 'Enable'}
          </button>
          <button type="button" className="secondary" onClick={() => setRotating(true)}>
            Rotate secret
          </button>
        </div>
      )}
      <div aria-live="polite">
        {testResult && (
          <p className={testResult.success ? 'ok' : 'error'} data-testid="test-result">
            Test event {testResult.success ? 'delivered' : 'failed'}: status{' '}
            {testResult.status_code ?? 'none'}, {testResult.response_time_ms} ms
            {testResult.error ? ` (${testResult.error})` : ''}.
          </p>
        )}
        <ErrorText error={sendTest.error ?? toggle.error} />
      </div>

      <h2>Deliveries</h2>
      <DeliveryFilters search={search} onChange={setSearch} />
      {deliveries.isError ? (
        <ErrorText error={deliveries.error} />
      ) : (
        <DataTable
          label="Deliveries table"
          caption="Deliveries to this endpoint"
          busy={deliveries.isFetching}
        >
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">Response</th>
              <th scope="col">Duration</th>
              <th scope="col">Created</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {deliveries.data?.data.length === 0 && (
              <tr>
                <td colSpan={7}>No deliveries{search.status || search.event_type ? ' match' : ' yet'}.</td>
              </tr>
            )}
            {deliveries.data?.data.map((delivery) => (
              <tr key={delivery.id}>
                <th scope="row">
                  <code>{delivery.event_type}</code>
                </th>
                <td>
                  <span className={`badge ${delivery.status}`}>{delivery.status}</span>
                </td>
                <td>{delivery.attempt}</td>
                <td>{delivery.response_code ?? delivery.error ?? '—'}</td>
                <td>{delivery.response_time_ms === null ? '—' : `${delivery.response_time_ms} ms`}</td>
                <td>{formatDate(delivery.created_at)}</td>
                <td>
                  <button
                    type="button"
                    className="secondary"
                    aria-label={`Details of delivery ${delivery.id}`}
                    onClick={() => setOpened(delivery.id)}
                  >
                    Details
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </DataTable>
      )}
      <Pager
        label="Pages of deliveries"
        meta={meta}
        onPage={(page) => setSearch({ page: page > 1 ? page : undefined })}
      />
      {data && (
        <EditEndpointDialog
          key={data.updated_at}
          open={editing}
          endpoint={data}
          workspaceId={workspaceId}
          onClose={() => setEditing(false)}
          onSaved={async () => {
            setEditing(false)
            await refresh()
          }}
        />
      )}
      <ConfirmDialog
        open={rotating}
        onOpenChange={(open) => {
          if (!open) {
            rotate.reset()
            setRotating(false)
          }
        }}
        title="Rotate the signing secret?"
        description="A new secret signs every delivery from now on; for 24 hours deliveries carry a signature under the old one too, so receivers can switch over."
        confirm="Rotate secret"
        pending={rotate.isPending}
        error={rotate.isError ? describeError(rotate.error) : null}
        onConfirm={() => rotate.mutate()}
      />
      <SecretDialog secret={secret} onClose={() => setSecret(null)} />
      <DeliveryDialog
        workspaceId={workspaceId}
        webhookId={webhookId}
        deliveryId={opened}
        canRetry={canWrite}
        onClose={() => setOpened(null)}
        onRetried={refresh}
      />
    </section>
  )
}

function DeliveryFilters(props: {
  search: DeliverySearch
  onChange: (next: Partial<DeliverySearch>) => void
}) {
  const statusId = useId()
  const typeId = useId()
  return (
    <search aria-label="Filter deliveries">
      <form
        className="filters"
        onSubmit={(event) => {
          event.preventDefault()
          const type = String(new FormData(event.currentTarget).get('event_type') ?? '').trim()
          props.onChange({ event_type: type === '' ? undefined : type })
        }}
      >
        <div>
          <label htmlFor={statusId}>Delivery status</label>
          <select
            id={statusId}
            value={props.search.status ?? ''}
            onChange={(event) =>
              props.onChange({ status: DELIVERY_STATUSES.find((status) => status === event.target.value) })
            }
          >
            <option value="">Any</option>
            {DELIVERY_STATUSES.map((status) => (
              <option key={status} value={status}>
                {status}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor={typeId}>Event type</label>
          <input
            id={typeId}
            name="event_type"
            defaultValue={props.search.event_type ?? ''}
            key={props.search.event_type ?? ''}
            placeholder="post.created"
          />
        </div>
        <button type="submit" className="secondary">
          Filter
        </button>
      </form>
    </search>
  )
}

function EditEndpointDialog(props: {
  open: boolean
  endpoint: { id: number; url: string; events: string[]; description: string | null }
  workspaceId: number
  onClose: () => void
  onSaved: () => void
}) {
  const save = useMutation({
    mutationFn: (body: { url: string; events: string[]; description: string | null }) =>
      api.webhooks.update(props.endpoint.id, body, { workspaceId: props.workspaceId }),
    onSuccess: props.onSaved,
  })
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const form = new FormData(event.currentTarget)
    const description = String(form.get('description') ?? '').trim()
    save.mutate({
      url: String(form.get('url')).trim(),
      events: parseEvents(String(form.get('events') ?? '')),
      description: description === '' ? null : description,
    })
  }
  return (
    <FormDialog
      open={props.open}
      onOpenChange={(open) => {
        if (!open) {
          save.reset()
          props.onClose()
        }
      }}
      title="Edit the endpoint"
      description="Changes apply to the events that happen from now on."
    >
      <form className="stack" onSubmit={submit}>
        <EndpointFields
          url={props.endpoint.url}
          events={props.endpoint.events}
          description={props.endpoint.description}
        />
        <ErrorText error={save.error} />
        <FormActions pending={save.isPending} label="Save" pendingLabel="Saving…" />
      </form>
    </FormDialog>
  )
}

function DeliveryDialog(props: {
  workspaceId: number
  webhookId: number
  deliveryId: number | null
  canRetry: boolean
  onClose: () => void
  onRetried: () => Promise<unknown>
}) {
  const { deliveryId } = props
  const queryClient = useQueryClient()
  const delivery = useQuery({
    queryKey: ['delivery', props.workspaceId, props.webhookId, deliveryId],
    queryFn: async () =>
      (await api.webhooks.getDelivery(props.webhookId, deliveryId!, { workspaceId: props.workspaceId })).data,
    enabled: deliveryId !== null,
    // Queued (after a retry): watched until its attempt is recorded.
    refetchInterval: (query) => (query.state.data?.status === 'pending' ? 1000 : false),
  })
  const retry = useMutation({
    mutationFn: () =>
      api.webhooks.retryDelivery(props.webhookId, deliveryId!, { workspaceId: props.workspaceId }),
    onSuccess: async () => {
      await queryClient.invalidateQueries({
        queryKey: ['delivery', props.workspaceId, props.webhookId, deliveryId],
      })
      await props.onRetried()
    },
  })
  const data = delivery.data
  return (
    <FormDialog
      open={deliveryId !== null}
      onOpenChange={(open) => {
        if (!open) {
          retry.reset()
          props.onClose()
        }
      }}
      title={`Delivery ${deliveryId ?? ''}`}
      description="The event sent, what the endpoint answered last, and every attempt."
    >
      <ErrorText error={delivery.error} />
      {data && (
        <dl className="facts">
          <dt>Event</dt>
          <dd>
            <code>{data.event_type}</code> (<code>{data.event_id}</code>)
          </dd>
          <dt>Status</dt>
          <dd>
            <span className={`badge ${data.status}`}>{data.status}</span>
          </dd>
          <dt>Attempts</dt>
          <dd>{data.attempt}</dd>
          <dt>Response status</dt>
          <dd>{data.response_code ?? '—'}</dd>
          <dt>Duration</dt>
          <dd>{data.response_time_ms === null ? '—' : `${data.response_time_ms} ms`}</dd>
          {data.error && (
            <>
              <dt>Error</dt>
              <dd>{data.error}</dd>
            </>
          )}
          {data.next_retry_at && (
            <>
              <dt>Next attempt</dt>
              <dd>{formatDate(data.next_retry_at)}</dd>
            </>
          )}
          {/* Each attempt shows its own response; a delivery older than the attempt log has only its last. */}
          {(data.attempts ?? []).length === 0 && (
            <>
              <dt>Response excerpt</dt>
              <dd>
                <pre className="excerpt">{data.response_body || '(empty)'}</pre>
              </dd>
            </>
          )}
        </dl>
      )}
      {data?.attempts && data.attempts.length > 0 && <AttemptList attempts={data.attempts} />}
      <ErrorText error={retry.error} />
      {retry.isSuccess && <p aria-live="polite">Queued for another attempt.</p>}
      <div className="actions">
        <DialogClose className="secondary">Close</DialogClose>
        {props.canRetry && data && (data.status === 'failed' || data.status === 'retrying') && (
          <button type="button" onClick={() => retry.mutate()} disabled={retry.isPending || retry.isSuccess}>
            Retry now
          </button>
        )}
      </div>
    </FormDialog>
  )
}

type Attempt = NonNullable<Awaited<ReturnType<typeof api.webhooks.getDelivery>>['data']['attempts']>[number]

/** Every attempt of a delivery, newest first: when, how long, and what the endpoint answered. */
function AttemptList({ attempts }: { attempts: Attempt[] }) {
  return (
    <>
      <h3>Attempts</h3>
      <ol className="attempts" aria-label="Attempts, newest first" data-testid="attempts">
        {attempts.map((a) => (
          <li key={a.attempt} className={a.error ? 'failed' : 'success'}>
            <p>
              <strong>Attempt {a.attempt}</strong>:{' '}
              <span className={`badge ${a.error ? 'failed' : 'success'}`}>
                {a.response_code === null ? 'no response' : `HTTP ${a.response_code}`}
              </span>{' '}
              in {a.duration_ms} ms, <time dateTime={a.started_at}>{formatDate(a.started_at)}</time>
              {a.error && a.error !== `HTTP ${a.response_code}` && ` (${a.error})`}
            </p>
            {a.response_body ? (
              <pre className="excerpt">{a.response_body}</pre>
            ) : (
              <p className="hint">Empty response.</p>
            )}
          </li>
        ))}
      </ol>
    </>
  )
}
