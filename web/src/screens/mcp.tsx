// The MCP screens: the servers the workspace may use (the operator's and its own), with their
// status, transport and tool count; registering and removing a Streamable HTTP server; a
// server's tools with their descriptions and input schemas; a playground that builds a form from
// a tool's input schema, calls the tool and shows its result (or the tool's own error, or the
// gateway's); and the workspace's audit of recent calls. Registering, removing and calling need
// `mcp:write`, and appear only to people whose role allows it.
import { CoreApiError } from '@core-api/sdk'
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { Link, useNavigate, useParams, useSearch } from '@tanstack/react-router'
import { type FormEvent, type ReactNode, useId, useState } from 'react'
import { api, describeError } from '../api.ts'
import { ConfirmDialog, FormActions, FormDialog } from '../dialogs.tsx'
import { formatDate, fromNow } from '../format.ts'
import { accessQuery, can } from '../session.ts'
import {
  pretty,
  type ReadResult,
  readArguments,
  readJsonArguments,
  type ToolField,
  toolFields,
} from '../tool-form.ts'
import { DataTable, ErrorText, Pager } from '../ui.tsx'

type Server = Awaited<ReturnType<typeof api.mcp.getServer>>['data']
type Tool = Awaited<ReturnType<typeof api.mcp.listTools>>['data'][number]
type CallResult = Awaited<ReturnType<typeof api.mcp.callTool>>['result']

const CALLS_PER_PAGE = 20
/** The playground's tool choice, focused when a tool's "Try" button is pressed. */
const PLAYGROUND_TOOL = 'playground-tool'
/** How often a list holding a server still connecting is asked for again. */
const POLL_MS = 2000

function serversQuery(workspaceId: number) {
  return {
    queryKey: ['mcp-servers', workspaceId],
    queryFn: async () => await api.mcp.listServers({ per_page: 100 }, { workspaceId }),
  }
}

export function Mcp() {
  const { workspaceId } = useParams({ from: '/w/$workspaceId' })
  const canWrite = can(useQuery(accessQuery(workspaceId)).data, 'mcp:write')
  const queryClient = useQueryClient()
  const servers = useQuery({
    ...serversQuery(workspaceId),
    refetchInterval: (query) =>
      query.state.data?.data.some((server) => server.status === 'connecting') ? POLL_MS : false,
  })
  const [registering, setRegistering] = useState(false)
  const [removing, setRemoving] = useState<Server | null>(null)
  const remove = useMutation({
    mutationFn: (id: string) => api.mcp.deleteServer(id, { workspaceId }),
    onSuccess: async () => {
      setRemoving(null)
      await queryClient.invalidateQueries({ queryKey: ['mcp-servers', workspaceId] })
    },
  })
  return (
    <section aria-labelledby="mcp-title">
      <div className="screen-head">
        <h1 id="mcp-title">MCP servers</h1>
        {canWrite && (
          <button type="button" onClick={() => setRegistering(true)}>
            Register server
          </button>
        )}
      </div>
      <p className="hint">
        Model Context Protocol servers this workspace's keys may use through core-api: the operator's (from
        the server's configuration) and the workspace's own (Streamable HTTP). Open one to see its tools and
        try them.
      </p>
      {servers.isError ? (
        <ErrorText error={servers.error} />
      ) : (
        <DataTable
          label="MCP servers table"
          caption="MCP servers of this workspace"
          busy={servers.isFetching}
        >
          <thead>
            <tr>
              <th scope="col">Server</th>
              <th scope="col">Status</th>
              <th scope="col">Transport</th>
              <th scope="col">Tools</th>
              <th scope="col">Source</th>
              {canWrite && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {servers.data?.data.length === 0 && (
              <tr>
                <td colSpan={canWrite ? 6 : 5}>No servers yet.</td>
              </tr>
            )}
            {servers.data?.data.map((server) => (
              <tr key={server.id}>
                <th scope="row">
                  <Link
                    to="/w/$workspaceId/mcp/servers/$serverId"
                    params={{ workspaceId, serverId: server.id }}
                  >
                    {server.name}
                  </Link>
                  <div className="hint">
                    <code>{server.id}</code>
                    {server.description && ` · ${server.description}`}
                  </div>
                </th>
                <td>
                  <ServerStatus status={server.status} />
                </td>
                <td>{server.transport === 'http' ? 'Streamable HTTP' : server.transport}</td>
                <td>{server.status === 'available' ? server.tools.length : '—'}</td>
                <td>{server.source === 'config' ? 'Operator' : 'Workspace'}</td>
                {canWrite && (
                  <td>
                    {server.source === 'workspace' && (
                      <button
                        type="button"
                        className="danger"
                        aria-label={`Remove ${server.id}`}
                        onClick={() => setRemoving(server)}
                      >
                        Remove
                      </button>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </DataTable>
      )}
      <h2 className="section">Recent calls</h2>
      <Calls workspaceId={workspaceId} />
      <RegisterDialog workspaceId={workspaceId} open={registering} onClose={() => setRegistering(false)} />
      <ConfirmDialog
        open={removing !== null}
        onOpenChange={(open) => {
          if (!open) {
            remove.reset()
            setRemoving(null)
          }
        }}
        title={`Remove ${removing?.id ?? 'the server'}?`}
        description="Its connection is closed and the workspace's keys can no longer use it. Its past calls stay in the audit."
        confirm="Remove server"
        pending={remove.isPending}
        error={remove.isError ? describeError(remove.error) : null}
        onConfirm={() => removing && remove.mutate(removing.id)}
      />
    </section>
  )
}

function ServerStatus({ status }: { status: string }) {
  return <span className={`badge ${status}`}>{status}</span>
}

/** `Authorization: Bearer x` lines → headers; the lines that are not `Name: value`. */
function parseHeaders(text: string): { headers: Record<string, string>; invalid: string[] } {
  const headers: Record<string, string> = {}
  const invalid: string[] = []
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    const match = /^\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*:\s*(.*?)\s*$/.exec(line)
    if (match) headers[match[1]!] = match[2]!
    else invalid.push(line.trim())
  }
  return { headers, invalid }
}

function RegisterDialog(props: { workspaceId: number; open: boolean; onClose: () => void }) {
  const idId = useId()
  const idHint = useId()
  const urlId = useId()
  const nameId = useId()
  const descriptionId = useId()
  const headersId = useId()
  const headersHint = useId()
  const queryClient = useQueryClient()
  const [invalid, setInvalid] = useState<string | null>(null)
  const register = useMutation({
    mutationFn: (body: Parameters<typeof api.mcp.createServer>[0]) =>
      api.mcp.createServer(body, { workspaceId: props.workspaceId }),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ['mcp-servers', props.workspaceId] })
      props.onClose()
    },
  })
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const form = new FormData(event.currentTarget)
    const text = (name: string) => String(form.get(name) ?? '').trim()
    const { headers, invalid: lines } = parseHeaders(String(form.get('headers') ?? ''))
    if (lines.length > 0) {
      setInvalid(`Each header is a line "Name: value"; not: ${lines.join(', ')}`)
      return
    }
    setInvalid(null)
    register.mutate({
      id: text('id'),
      url: text('url'),
      ...(text('name') !== '' && { name: text('name') }),
      ...(text('description') !== '' && { description: text('description') }),
      ...(Object.keys(headers).length > 0 && { headers }),
    })
  }
  return (
    <FormDialog
      open={props.open}
      onOpenChange={(open) => {
        if (!open) {
          register.reset()
          setInvalid(null)
          props.onClose()
        }
      }}
      title="Register an MCP server"
      description="A Streamable HTTP server for this workspace. No connection is made until it is used."
    >
      <form className="stack" onSubmit={submit}>
        <label htmlFor={idId}>Id</label>
        <input
          id={idId}
          name="id"
          required
          pattern="[a-z0-9][a-z0-9_\-]{0,62}"
          aria-describedby={idHint}
          autoComplete="off"
        />
        <p id={idHint} className="hint">
          How calls name it: 1–63 lowercase letters, digits, <code>-</code> or <code>_</code>.
        </p>
        <label htmlFor={urlId}>URL</label>
        <input id={urlId} name="url" type="url" required placeholder="https://mcp.example.com/mcp" />
        <label htmlFor={nameId}>Name (optional)</label>
        <input id={nameId} name="name" maxLength={255} />
        <label htmlFor={descriptionId}>Description (optional)</label>
        <input id={descriptionId} name="description" maxLength={2000} />
        <label htmlFor={headersId}>Headers (optional)</label>
        <textarea id={headersId} name="headers" rows={3} aria-describedby={headersHint} spellCheck={false} />
        <p id={headersHint} className="hint">
          One per line, <code>Name: value</code> (a bearer token, say). Stored encrypted; only their names are
          shown again.
        </p>
        <ErrorText error={invalid ?? register.error} />
        <FormActions pending={register.isPending} label="Register server" pendingLabel="Registering…" />
      </form>
    </FormDialog>
  )
}

/** The workspace's audited calls, newest first (of one server when `server` is given). */
function Calls({ workspaceId, server }: { workspaceId: number; server?: string }) {
  const [page, setPage] = useState(1)
  const calls = useQuery({
    queryKey: ['mcp-calls', workspaceId, server, page],
    queryFn: async () =>
      await api.mcp.listCalls(
        { server, sort: '-created_at', page, per_page: CALLS_PER_PAGE },
        { workspaceId },
      ),
    placeholderData: keepPreviousData,
  })
  if (calls.isError) return <ErrorText error={calls.error} />
  return (
    <>
      <DataTable
        label="MCP calls table"
        caption={server ? `Recent calls to ${server}` : 'Recent MCP calls of this workspace'}
        busy={calls.isFetching}
      >
        <thead>
          <tr>
            <th scope="col">Tool or resource</th>
            {!server && <th scope="col">Server</th>}
            <th scope="col">Outcome</th>
            <th scope="col">Status</th>
            <th scope="col">Duration</th>
            <th scope="col">By</th>
            <th scope="col">When</th>
            <th scope="col">Arguments</th>
          </tr>
        </thead>
        <tbody>
          {calls.data?.data.length === 0 && (
            <tr>
              <td colSpan={server ? 7 : 8}>No calls yet.</td>
            </tr>
          )}
          {calls.data?.data.map((call) => (
            <tr key={call.id}>
              <th scope="row" className="page-cell">
                <code>{call.tool ?? call.uri}</code>
              </th>
              {!server && (
                <td>
                  <code>{call.server}</code>
                </td>
              )}
              <td>
                <span className={`badge ${call.outcome}`}>{call.outcome}</span>
              </td>
              <td>{call.status}</td>
              <td>{call.duration_ms} ms</td>
              <td>{call.credential_type.replace('_', ' ')}</td>
              <td title={formatDate(call.created_at)}>{fromNow(call.created_at)}</td>
              <td>
                {call.arguments && Object.keys(call.arguments).length > 0 ? (
                  <details>
                    <summary>Show</summary>
                    <Json value={call.arguments} />
                  </details>
                ) : (
                  '—'
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </DataTable>
      <Pager label="Pages of calls" meta={calls.data?.meta} onPage={setPage} />
    </>
  )
}

/** One server: what it is, its tools (with their input schemas), the playground and its calls. */
export function McpServer() {
  const { workspaceId, serverId } = useParams({ from: '/w/$workspaceId/mcp/servers/$serverId' })
  const search = useSearch({ from: '/w/$workspaceId/mcp/servers/$serverId' })
  const navigate = useNavigate({ from: '/w/$workspaceId/mcp/servers/$serverId' })
  const canCall = can(useQuery(accessQuery(workspaceId)).data, 'mcp:write')
  const server = useQuery({
    queryKey: ['mcp-server', workspaceId, serverId],
    queryFn: async () => (await api.mcp.getServer(serverId, { workspaceId })).data,
    refetchInterval: (query) => (query.state.data?.status === 'connecting' ? POLL_MS : false),
  })
  const tools = useQuery({
    queryKey: ['mcp-tools', workspaceId, serverId],
    queryFn: async () =>
      await api.mcp.listTools(serverId, { per_page: 100 }, { workspaceId }).toArray({ limit: 1000 }),
    // An unreachable server answers 502 at once; asking again is the person's choice (Retry).
    retry: false,
  })
  const data = server.data
  const list = tools.data ?? []
  const chosen = list.find((tool) => tool.name === search.tool) ?? list[0]
  const choose = (name: string) => navigate({ search: { tool: name }, replace: true })
  return (
    <section aria-labelledby="server-title" aria-busy={server.isPending}>
      <p>
        <Link to="/w/$workspaceId/mcp" params={{ workspaceId }}>
          ← MCP servers
        </Link>
      </p>
      <h1 id="server-title">{data?.name ?? serverId}</h1>
      <ErrorText error={server.error} />
      {data && (
        <dl className="facts">
          <dt>Id</dt>
          <dd>
            <code>{data.id}</code>
          </dd>
          <dt>Status</dt>
          <dd>
            <ServerStatus status={data.status} />
          </dd>
          <dt>Transport</dt>
          <dd>{data.transport === 'http' ? 'Streamable HTTP' : data.transport}</dd>
          <dt>Source</dt>
          <dd>
            {data.source === 'config' ? "The operator's configuration" : 'Registered by this workspace'}
          </dd>
          {data.description && (
            <>
              <dt>Description</dt>
              <dd>{data.description}</dd>
            </>
          )}
          {data.url && (
            <>
              <dt>URL</dt>
              <dd>{data.url}</dd>
            </>
          )}
          {data.headers && data.headers.length > 0 && (
            <>
              <dt>Headers sent</dt>
              <dd>{data.headers.join(', ')}</dd>
            </>
          )}
        </dl>
      )}

      <div className="workbench">
        <div>
          <h2 className="section">Tools</h2>
          {tools.isError && (
            <div className="toolbar">
              <ErrorText error={tools.error} />
              <button type="button" className="secondary" onClick={() => tools.refetch()}>
                Retry
              </button>
            </div>
          )}
          {tools.isPending && <p aria-live="polite">Asking the server for its tools…</p>}
          {tools.isSuccess && list.length === 0 && <p>This server offers no tools.</p>}
          {list.length > 0 && (
            <ul className="tools">
              {list.map((tool) => (
                <li key={tool.name} className="card">
                  <h3>
                    <code>{tool.name}</code>
                    {tool.title && <span className="hint"> {tool.title}</span>}
                  </h3>
                  <p>{tool.description || <span className="hint">No description.</span>}</p>
                  <details>
                    <summary>Input schema</summary>
                    <Json value={tool.input_schema} />
                  </details>
                  {canCall && (
                    <button
                      type="button"
                      className="secondary"
                      onClick={async () => {
                        await choose(tool.name)
                        const select = document.getElementById(PLAYGROUND_TOOL)
                        select?.scrollIntoView({ block: 'center' })
                        select?.focus()
                      }}
                    >
                      Try {tool.name}
                    </button>
                  )}
                </li>
              ))}
            </ul>
          )}
        </div>
        <div className="workbench-side">
          <h2 className="section">Playground</h2>
          {!canCall ? (
            <p className="hint">
              Calling tools needs the mcp:write scope, which your role does not have here.
            </p>
          ) : list.length === 0 || !chosen ? (
            <p className="hint">The playground needs the server's tools.</p>
          ) : (
            <Playground
              key={chosen.name}
              workspaceId={workspaceId}
              serverId={serverId}
              tools={list}
              tool={chosen}
              onChoose={choose}
            />
          )}
        </div>
      </div>

      <h2 className="section">Recent calls to this server</h2>
      <Calls workspaceId={workspaceId} server={serverId} />
    </section>
  )
}

function Playground(props: {
  workspaceId: number
  serverId: string
  tools: Tool[]
  tool: Tool
  onChoose: (name: string) => void
}) {
  const toolId = PLAYGROUND_TOOL
  const jsonId = useId()
  const argumentsId = useId()
  const queryClient = useQueryClient()
  const fields = toolFields(props.tool.input_schema)
  const [asJson, setAsJson] = useState(fields === null)
  const [invalid, setInvalid] = useState<Record<string, string>>({})
  const call = useMutation({
    mutationFn: (args: Record<string, unknown>) =>
      api.mcp.callTool(
        { server: props.serverId, tool: props.tool.name, arguments: args },
        // A failed call is not repeated: a tool may have acted before the gateway gave up, and a
        // 5xx answer is not kept for replay, so a retry would run it again.
        { workspaceId: props.workspaceId, maxRetries: 0 },
      ),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['mcp-calls', props.workspaceId] }),
  })
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const form = new FormData(event.currentTarget)
    let read: ReadResult
    if (asJson || fields === null) {
      read = readJsonArguments(String(form.get('arguments') ?? ''))
    } else {
      const values: Record<string, string> = {}
      for (const f of fields) values[f.name] = String(form.get(`arg:${f.name}`) ?? '')
      read = readArguments(fields, values)
    }
    if (!read.ok) {
      call.reset()
      setInvalid(read.errors)
      return
    }
    setInvalid({})
    call.mutate(read.arguments)
  }
  return (
    <form className="card stack playground" onSubmit={submit}>
      <label htmlFor={toolId}>Tool</label>
      <select id={toolId} value={props.tool.name} onChange={(event) => props.onChoose(event.target.value)}>
        {props.tools.map((tool) => (
          <option key={tool.name} value={tool.name}>
            {tool.name}
          </option>
        ))}
      </select>
      {props.tool.description && <p className="hint">{props.tool.description}</p>}
      {fields !== null && fields.length > 0 && (
        <label className="inline" htmlFor={jsonId}>
          <input
            id={jsonId}
            type="checkbox"
            checked={asJson}
            onChange={(event) => setAsJson(event.target.checked)}
          />
          Write the arguments as JSON
        </label>
      )}
      {asJson || fields === null ? (
        <>
          <label htmlFor={argumentsId}>Arguments (a JSON object)</label>
          <textarea
            id={argumentsId}
            name="arguments"
            rows={6}
            spellCheck={false}
            defaultValue="{}"
            aria-invalid={invalid.arguments !== undefined}
            aria-describedby={invalid.arguments ? `${argumentsId}-error` : undefined}
          />
          {invalid.arguments && (
            <p id={`${argumentsId}-error`} className="error" role="alert">
              {invalid.arguments}
            </p>
          )}
        </>
      ) : fields.length === 0 ? (
        <p className="hint">This tool takes no arguments.</p>
      ) : (
        fields.map((f) => <ArgumentField key={f.name} field={f} error={invalid[f.name]} />)
      )}
      {Object.keys(invalid).length > 0 && (
        <p className="visually-hidden" role="alert">
          Some arguments could not be read; nothing was sent.
        </p>
      )}
      <div className="actions">
        <button type="submit" disabled={call.isPending}>
          {call.isPending ? 'Calling…' : 'Call tool'}
        </button>
      </div>
      <div aria-live="polite">{call.isSuccess && <CallOutcome result={call.data.result} />}</div>
      {call.isError && <CallError error={call.error} />}
    </form>
  )
}

function ArgumentField({ field, error }: { field: ToolField; error: string | undefined }) {
  const id = useId()
  const hintId = `${id}-hint`
  const errorId = `${id}-error`
  const name = `arg:${field.name}`
  const describedBy = [field.description ? hintId : null, error ? errorId : null].filter(Boolean).join(' ')
  const common = {
    id,
    name,
    required: field.required,
    'aria-invalid': error !== undefined,
    'aria-describedby': describedBy || undefined,
  }
  let control: ReactNode
  switch (field.kind) {
    case 'string':
      control = <input {...common} type="text" autoComplete="off" />
      break
    case 'number':
    case 'integer':
      control = (
        <input
          {...common}
          type="number"
          step={field.kind === 'integer' ? 1 : 'any'}
          min={field.minimum}
          max={field.maximum}
        />
      )
      break
    case 'boolean':
      control = (
        <select {...common} defaultValue={field.required ? 'false' : ''}>
          {!field.required && <option value="">(not set)</option>}
          <option value="true">true</option>
          <option value="false">false</option>
        </select>
      )
      break
    case 'enum':
      control = (
        <select {...common} defaultValue={field.required ? '0' : ''}>
          {!field.required && <option value="">(not set)</option>}
          {field.options.map((option, index) => (
            <option key={String(option)} value={index}>
              {String(option)}
            </option>
          ))}
        </select>
      )
      break
    case 'json':
      control = <textarea {...common} rows={3} spellCheck={false} placeholder="JSON" />
      break
  }
  return (
    <div className="stack argument">
      <label htmlFor={id}>
        {field.name}
        <span className="hint">
          {' '}
          ({field.kind === 'json' ? 'JSON' : field.kind}
          {field.required ? ', required' : ''})
        </span>
      </label>
      {control}
      {field.description && (
        <p id={hintId} className="hint">
          {field.description}
        </p>
      )}
      {error && (
        <p id={errorId} className="error">
          {error}
        </p>
      )}
    </div>
  )
}

/** The tool's answer: its content blocks (text as text, anything else as JSON), and whether it failed. */
function CallOutcome({ result }: { result: CallResult }) {
  return (
    <section className={`result ${result.is_error ? 'failed' : 'succeeded'}`} aria-label="Result">
      <h3>
        Result{' '}
        <span className={`badge ${result.is_error ? 'tool_error' : 'ok'}`} data-testid="is-error">
          is_error: {String(result.is_error)}
        </span>
      </h3>
      {result.is_error && <p className="error">The tool reported an error.</p>}
      {result.content.length === 0 && <p className="hint">No content.</p>}
      {result.content.map((block, index) =>
        block.type === 'text' && typeof block.text === 'string' ? (
          // biome-ignore lint/suspicious/noArrayIndexKey: content blocks have no identity but their place
          <Scrolling key={index} testId="result-text">
            {block.text}
          </Scrolling>
        ) : (
          // biome-ignore lint/suspicious/noArrayIndexKey: content blocks have no identity but their place
          <details key={index} open>
            <summary>{String(block.type ?? 'content')} block</summary>
            <Json value={block} />
          </details>
        ),
      )}
      {result.structured_content && (
        <details>
          <summary>Structured content</summary>
          <Json value={result.structured_content} />
        </details>
      )}
    </section>
  )
}

/** A call the gateway refused or could not make: status and code, then the server's message. */
function CallError({ error }: { error: unknown }) {
  const head =
    error instanceof CoreApiError
      ? `${error.status ?? 'No answer'} ${error.code}`
      : 'The call could not be sent'
  return (
    <div className="notice" role="alert" data-testid="call-error">
      <h3>The call failed: {head}</h3>
      <p>{describeError(error)}</p>
    </div>
  )
}

/** Preformatted text that may scroll, so keyboards can reach it. */
function Scrolling({ children, testId }: { children: ReactNode; testId?: string }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a long result scrolls, and keyboards must reach it
    <pre className="excerpt" tabIndex={0} data-testid={testId}>
      {children}
    </pre>
  )
}

function Json({ value }: { value: unknown }) {
  return <Scrolling>{pretty(value)}</Scrolling>
}
