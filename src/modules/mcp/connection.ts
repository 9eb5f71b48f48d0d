// One MCP server as the gateway holds it: a client over stdio or Streamable HTTP, opened on
// first use and reused by every call after it. A server that dies (the process exits, the
// connection drops, the start fails) is opened again on a later call, after a backoff that
// doubles with each failure in a row (none after the first, so one crash costs one call);
// a call that succeeds resets it. Every call has a deadline, which also bounds the wait for
// one of the server's concurrency slots; a missed deadline, a failed start and a dropped
// connection are all 502 `upstream_error`. Errors the server itself answers (JSON-RPC errors)
// pass through as McpError for the caller to translate. Connections to the servers workspaces
// register share a pool with a cap: past it, the least recently used idle one is closed, and
// opened again when next used.
import type { ChildProcess } from 'node:child_process'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js'
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js'
import {
  ErrorCode,
  type JSONRPCMessage,
  McpError,
  type Tool,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js'
import { ApiError } from '../../platform/http/errors.ts'
import type { Clock } from '../../platform/lib/clock.ts'

/** How to reach a server: a command spoken to over stdio, or a Streamable HTTP endpoint. */
export type Target =
  | { transport: 'stdio'; command: string; args: string[]; env: Record<string, string>; cwd: string | null }
  | { transport: 'http'; url: string; headers: Record<string, string>; fetch?: FetchLike }

export type ConnectionOptions = {
  clock: Clock
  timeoutMs: number
  /** How long opening the connection may take (at least `timeoutMs`): it outlives the request that began it. */
  startTimeoutMs: number
  maxConcurrent: number
  toolsTtlMs: number
  /** The pool whose cap the connection counts against (registered servers), if any. */
  pool?: ConnectionPool
}

/** What a listing of servers shows of one without waiting on it. */
export type Glance = { status: 'available' | 'connecting' | 'unreachable'; tools: Tool[] }

/** Pages of a tool list followed at most, so a server answering cursors forever cannot hold a call. */
const MAX_TOOL_PAGES = 100
const FIRST_BACKOFF_MS = 250
const MAX_BACKOFF_MS = 30_000
const CLIENT_INFO = { name: 'core-api-mcp-gateway', version: '1.0.0' }

/** Slots for calls in flight; a waiter gives up when its deadline's signal fires. */
class Slots {
  private free: number
  private readonly waiting: Array<() => void> = []

  constructor(size: number) {
    this.free = size
  }

  /** Takes a slot if one is free, without waiting. */
  tryTake(): boolean {
    if (this.free === 0) return false
    this.free--
    return true
  }

  async take(signal: AbortSignal): Promise<() => void> {
    if (this.free > 0) {
      this.free--
      return () => this.give()
    }
    await new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal.removeEventListener('abort', giveUp)
        resolve()
      }
      const giveUp = () => {
        const at = this.waiting.indexOf(grant)
        if (at >= 0) this.waiting.splice(at, 1)
        reject(signal.reason)
      }
      this.waiting.push(grant)
      signal.addEventListener('abort', giveUp, { once: true })
    })
    return () => this.give()
  }

  give(): void {
    const next = this.waiting.shift()
    if (next) next()
    else this.free++
  }
}

class Deadline extends Error {}

/** Orders the ends of requests across connections, whatever the clock does. */
let useSequence = 0

/** The stdio servers' processes still running, and whether they are killed when this one exits. */
const stdioChildren = new Set<ChildProcess>()
let killingOnExit = false

/**
 * Kills `child` if it is still running when this process exits, however it exits. Closing a
 * stdio transport ends the server's input, then sends SIGTERM and SIGKILL seconds later on
 * timers that do not hold the process: a server that ignores the end of its input would
 * otherwise outlive ours.
 */
function killOnExit(child: ChildProcess): void {
  stdioChildren.add(child)
  child.once('exit', () => stdioChildren.delete(child))
  if (killingOnExit) return
  killingOnExit = true
  process.once('exit', () => {
    for (const running of stdioChildren) running.kill('SIGKILL')
  })
}

/**
 * Stdio whose messages of one event-loop turn leave in one write to the pipe: under load, the
 * requests of a turn would otherwise cost a system call each. The SDK's transport keeps its
 * child process in `_process` (internal; the stdio tests exercise this path).
 */
class TurnStdioTransport extends StdioClientTransport {
  private corked = false

  /** The server's process, kept here: the SDK forgets it as soon as closing begins. */
  private process: ChildProcess | undefined

  override async start(): Promise<void> {
    await super.start()
    this.process = (this as unknown as { _process?: ChildProcess })._process
    if (this.process) killOnExit(this.process)
  }

  /**
   * Kills the server's process at once, without the end of input and the seconds of grace
   * `close` gives: for a server that never finished its handshake (it timed out, or the
   * gateway shut down meanwhile), which has no session to wind down.
   */
  kill(): void {
    const child = this.process
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }

  override send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.process?.stdin
    if (stdin && !this.corked) {
      this.corked = true
      stdin.cork()
      setImmediate(() => {
        this.corked = false
        stdin.uncork()
      })
    }
    return super.send(message)
  }
}

/**
 * The open connections of a set of servers, at most `max` of them: when one more opens, the
 * least recently used one with no request in flight is closed. When every one is busy the pool
 * stays over its cap until a request ends.
 */
export class ConnectionPool {
  private readonly open = new Set<McpConnection>()
  private readonly max: number

  constructor(max: number) {
    this.max = max
  }

  /** Connections open now. */
  get size(): number {
    return this.open.size
  }

  holds(connection: McpConnection): boolean {
    return this.open.has(connection)
  }

  opened(connection: McpConnection): void {
    this.open.add(connection)
    this.trim()
  }

  dropped(connection: McpConnection): void {
    this.open.delete(connection)
  }

  /** A request ended: the pool may be trimmed now if it grew past its cap while every one was busy. */
  released(): void {
    if (this.open.size > this.max) this.trim()
  }

  /** Closes every connection of the pool (the app's shutdown). */
  async close(): Promise<void> {
    const all = [...this.open]
    this.open.clear()
    await Promise.all(all.map((connection) => connection.close()))
  }

  private trim(): void {
    while (this.open.size > this.max) {
      let oldest: McpConnection | null = null
      for (const connection of this.open)
        if (connection.idle && (oldest === null || connection.lastUsed < oldest.lastUsed)) oldest = connection
      if (oldest === null) return
      this.open.delete(oldest)
      void oldest.disconnect()
    }
  }
}

function upstream(server: string, message: string, retryAfterMs?: number): ApiError {
  const headers = retryAfterMs
    ? { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) }
    : undefined
  return new ApiError('upstream_error', message, { server }, headers)
}

export class McpConnection {
  readonly server: string
  private readonly target: Target
  private readonly options: ConnectionOptions
  private readonly slots: Slots
  private client: Client | null = null
  private opening: Promise<Client> | null = null
  private failures = 0
  private retryAt = 0
  private closed = false
  private tools: { list: Tool[]; expiresAt: number } | null = null
  private toolsLoading: Promise<Tool[]> | null = null
  /** Bumped when the tool list changes, so a listing started before it is not cached. */
  private toolsGeneration = 0
  /** Requests in flight or waiting for a slot. */
  private inFlight = 0
  /** When the last request ended (a sequence number), for the pool's least-recently-used choice. */
  lastUsed = 0
  /** Aborts the connection being opened (the app's shutdown does not wait for a hung server). */
  private openAbort: AbortController | null = null
  /** Whether the last attempt reached the server: null before the first. */
  private reachable: boolean | null = null

  constructor(server: string, target: Target, options: ConnectionOptions) {
    this.server = server
    this.target = target
    this.options = options
    this.slots = new Slots(options.maxConcurrent)
  }

  /** No request in flight and no connection being opened: the pool may close it. */
  get idle(): boolean {
    return this.inFlight === 0 && this.opening === null
  }

  /** Runs one request under the deadline and a concurrency slot, opening the connection if needed. */
  async run<T>(what: string, request: (client: Client, options: RequestOptions) => Promise<T>): Promise<T> {
    const { timeoutMs } = this.options
    this.inFlight++
    // The usual case — connected, a slot free — needs no timer of its own: the SDK's request
    // timeout is the deadline.
    const client = this.client
    if (client !== null && this.slots.tryTake()) {
      try {
        const result = await request(client, { timeout: timeoutMs })
        this.succeeded()
        return result
      } catch (error) {
        throw this.translate(error, what, false)
      } finally {
        this.slots.give()
        this.ended()
      }
    }
    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(new Deadline()), timeoutMs)
    const started = Date.now()
    let release: (() => void) | undefined
    try {
      release = await this.slots.take(controller.signal)
      const client = await this.connect(controller.signal)
      const remaining = Math.max(1, timeoutMs - (Date.now() - started))
      const result = await request(client, { timeout: remaining, signal: controller.signal })
      this.succeeded()
      return result
    } catch (error) {
      throw this.translate(error, what, controller.signal.aborted)
    } finally {
      clearTimeout(timer)
      release?.()
      this.ended()
    }
  }

  private succeeded(): void {
    this.failures = 0
    this.retryAt = 0
    this.reachable = true
  }

  private ended(): void {
    this.inFlight--
    this.lastUsed = ++useSequence
    this.options.pool?.released()
  }

  /**
   * The server as a listing shows it, waiting at most `waitMs`: its tools when they are known
   * (a stale list is shown while a fresh one is fetched), else `connecting` while the server is
   * being reached, or `unreachable` when the last attempt failed. A hung server never holds a
   * listing longer than `waitMs`.
   */
  async glance(waitMs: number): Promise<Glance> {
    const cached = this.tools
    if (cached && cached.expiresAt > this.options.clock.now())
      return { status: 'available', tools: cached.list }
    if (this.closed) return { status: 'unreachable', tools: [] }
    const listing = this.listTools().then(
      (list) => ({ list }),
      (error: unknown) => ({ error }),
    )
    if (cached) return { status: 'available', tools: cached.list }
    let timer: NodeJS.Timeout | undefined
    const waited = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), waitMs)
    })
    const settled = await Promise.race([listing, waited])
    clearTimeout(timer)
    if (settled === null)
      return { status: this.reachable === false ? 'unreachable' : 'connecting', tools: [] }
    if ('list' in settled) return { status: 'available', tools: settled.list }
    if (settled.error instanceof ApiError || settled.error instanceof McpError)
      // A listing that gave up on a server still starting (past the request's deadline, within
      // the start's own) shows it as connecting, not as failed.
      return { status: this.opening !== null ? 'connecting' : 'unreachable', tools: [] }
    throw settled.error
  }

  /** The server's tools, every page of them, from the cache while it is fresh. */
  async listTools(): Promise<Tool[]> {
    const now = this.options.clock.now()
    if (this.tools && this.tools.expiresAt > now) return this.tools.list
    if (this.toolsLoading) return this.toolsLoading
    const generation = this.toolsGeneration
    this.toolsLoading = this.run('tools/list', async (client, options) => {
      if (!client.getServerCapabilities()?.tools) return []
      const list: Tool[] = []
      let cursor: string | undefined
      for (let page = 0; page < MAX_TOOL_PAGES; page++) {
        const answer = await client.listTools(cursor === undefined ? undefined : { cursor }, options)
        list.push(...answer.tools)
        cursor = answer.nextCursor
        if (!cursor) break
      }
      return list
    })
      .then((list) => {
        if (generation === this.toolsGeneration)
          this.tools = { list, expiresAt: this.options.clock.now() + this.options.toolsTtlMs }
        return list
      })
      .finally(() => {
        this.toolsLoading = null
      })
    return this.toolsLoading
  }

  /** Closes the connection (ending a stdio server's process); later calls are refused. */
  async close(): Promise<void> {
    this.closed = true
    this.options.pool?.dropped(this)
    this.openAbort?.abort(upstream(this.server, `MCP server ${this.server} is shut down.`))
    const client = this.client ?? (await this.opening?.catch(() => null)) ?? null
    this.client = null
    await client?.close().catch(() => {})
  }

  /** Closes the connection to free it (the pool's cap); the next request opens it again. */
  async disconnect(): Promise<void> {
    const client = this.client
    this.client = null
    this.options.pool?.dropped(this)
    await client?.close().catch(() => {})
  }

  private async connect(signal: AbortSignal): Promise<Client> {
    if (this.closed) throw upstream(this.server, `MCP server ${this.server} is shut down.`)
    if (this.client) return this.client
    if (!this.opening) {
      const wait = this.retryAt - this.options.clock.now()
      if (wait > 0)
        throw upstream(
          this.server,
          `MCP server ${this.server} failed and is restarting; retry shortly.`,
          wait,
        )
      this.opening = this.open().finally(() => {
        this.opening = null
      })
    }
    const opening = this.opening
    return new Promise<Client>((resolve, reject) => {
      const giveUp = () => reject(signal.reason)
      if (signal.aborted) return giveUp()
      signal.addEventListener('abort', giveUp, { once: true })
      opening.then(resolve, reject).finally(() => signal.removeEventListener('abort', giveUp))
    })
  }

  private async open(): Promise<Client> {
    const client = new Client(CLIENT_INFO, { capabilities: {} })
    client.onclose = () => {
      if (this.client !== client) return
      this.client = null
      this.options.pool?.dropped(this)
      this.tools = null
      this.toolsGeneration++
      if (!this.closed) this.noteFailure()
    }
    // Transport errors reach the pending calls; nothing else listens for them.
    client.onerror = () => {}
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      this.tools = null
      this.toolsGeneration++
    })
    const abort = new AbortController()
    this.openAbort = abort
    const transport = this.transport()
    try {
      const timeout = Math.max(this.options.timeoutMs, this.options.startTimeoutMs)
      await client.connect(transport, { timeout, signal: abort.signal })
    } catch (error) {
      if (transport instanceof TurnStdioTransport) transport.kill()
      await client.close().catch(() => {})
      if (!this.closed) this.noteFailure()
      throw error
    } finally {
      this.openAbort = null
    }
    if (this.closed) {
      await client.close().catch(() => {})
      throw upstream(this.server, `MCP server ${this.server} is shut down.`)
    }
    this.client = client
    this.options.pool?.opened(this)
    return client
  }

  private transport() {
    const target = this.target
    if (target.transport === 'stdio') {
      return new TurnStdioTransport({
        command: target.command,
        args: target.args,
        env: target.env,
        ...(target.cwd !== null && { cwd: target.cwd }),
        // A server's stderr may hold anything, secrets included: it is not relayed anywhere.
        stderr: 'ignore',
      })
    }
    return new StreamableHTTPClientTransport(new URL(target.url), {
      requestInit: { headers: target.headers, redirect: 'error' },
      ...(target.fetch && { fetch: target.fetch }),
    })
  }

  private noteFailure(): void {
    this.reachable = false
    this.failures++
    const delay =
      this.failures <= 1 ? 0 : Math.min(FIRST_BACKOFF_MS * 2 ** (this.failures - 2), MAX_BACKOFF_MS)
    this.retryAt = this.options.clock.now() + delay
  }

  private translate(error: unknown, what: string, timedOut: boolean): unknown {
    if (error instanceof ApiError) return error
    const name = this.server
    if (
      timedOut ||
      error instanceof Deadline ||
      (error instanceof McpError && error.code === ErrorCode.RequestTimeout)
    )
      return upstream(name, `MCP server ${name} did not answer ${what} within ${this.options.timeoutMs} ms.`)
    if (error instanceof McpError && error.code === ErrorCode.ConnectionClosed)
      return upstream(name, `MCP server ${name} closed the connection during ${what}.`)
    if (error instanceof McpError) return error
    return upstream(name, `MCP server ${name} could not be reached.`)
  }
}
