// Shared pieces of the benchmarks: child servers on loopback, and load from autocannon.
// Every run is bounded in time; every child is killed when the suite ends.
import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import autocannon from 'autocannon'

const children = new Set<ChildProcess>()
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL')
})

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

export type Child = { port: number; url: string; stop(): Promise<void> }

/** Starts `node <script>` with `env` and waits until `GET <readyPath>` answers. */
export async function startChild(
  script: string,
  env: Record<string, string>,
  readyPath = '/health',
): Promise<Child> {
  const port = await freePort()
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  children.add(child)
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}`)
    try {
      if ((await fetch(url + readyPath)).ok) break
    } catch {}
    if (Date.now() > deadline) throw new Error(`${script} did not start`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return {
    port,
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref()
      }).finally(() => children.delete(child)),
  }
}

export type Load = { rps: number; p99: number; errors: number; non2xx: number }

export type LoadOptions = {
  url: string
  method?: 'GET' | 'POST'
  headers?: Record<string, string>
  body?: string
  /** Adds per-request headers (such as a unique Idempotency-Key). */
  perRequest?: () => Record<string, string>
  seconds?: number
  connections?: number
}

/** Loads one URL for `seconds` after a one-second warm-up; returns requests/s and p99 (ms). */
export async function load(options: LoadOptions): Promise<Load> {
  const run = (seconds: number) =>
    autocannon({
      url: options.url,
      method: options.method ?? 'GET',
      headers: options.headers,
      body: options.body,
      connections: options.connections ?? 32,
      duration: seconds,
      ...(options.perRequest && {
        requests: [
          {
            setupRequest: (req: autocannon.Request) => ({
              ...req,
              headers: { ...req.headers, ...options.perRequest!() },
            }),
          },
        ],
      }),
    })
  await run(1)
  const result = await run(options.seconds ?? 5)
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  }
}

export async function api(
  base: string,
  key: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await fetch(base + path, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`)
  return text ? JSON.parse(text) : null
}
