// Shared pieces of the benchmarks: child servers on loopback, and load from autocannon.
// Every run is bounded in time; every child is killed when the suite ends.
import autocannon from 'autocannon'
import { call, type ServerProcess, startServer } from '../src/testing/processes.ts'

export { freePort } from '../src/testing/processes.ts'

export type Child = ServerProcess

/** Starts `node <script>` quietly and waits until it answers `GET /health`. */
export function startChild(script: string, env: Record<string, string>): Promise<Child> {
  return startServer({ ...env, LOG_LEVEL: 'silent' }, script)
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

/** An API call that must succeed; returns the parsed body. */
export async function api(
  base: string,
  key: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await call(base, key, method, path, body, headers)
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body
}
