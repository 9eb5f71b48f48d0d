// Real server processes for end-to-end tests and benchmarks: `node <script>` (core-api's
// src/main.ts unless told otherwise) with its own environment, on a free loopback port, stopped
// with SIGTERM, then SIGKILL. Every child is killed if the parent exits first.
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url))
const CLI = fileURLToPath(new URL('../../bin/core-api.js', import.meta.url))
const execFileAsync = promisify(execFile)
const children = new Set<ChildProcess>()
/** A child gets PostgreSQL or Redis only when the test passes them (test databases of its own). */
const UNSHARED = { DATABASE_URL: '', REDIS_URL: '' }
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

/**
 * The pids of the running processes whose command line holds `marker`: a test passes a marker
 * of its own to the processes it starts (a fixture ignores it) to find them, and only them.
 */
export function processesMatching(marker: string): string[] {
  try {
    return execFileSync('pgrep', ['-f', marker], { encoding: 'utf8' }).trim().split('\n').filter(Boolean)
  } catch {
    return [] // pgrep exits 1 when nothing matches
  }
}

export type ServerProcess = {
  url: string
  port: number
  child: ChildProcess
  output: () => string
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

export async function startServer(env: Record<string, string>, script = MAIN): Promise<ServerProcess> {
  const port = await freePort()
  let output = ''
  const child = spawn(process.execPath, [script], {
    // The databases are only those the test names: never the environment's shared ones.
    env: { ...process.env, ...UNSHARED, LOG_LEVEL: 'warn', ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout!.on('data', (chunk) => {
    output += chunk
  })
  child.stderr!.on('data', (chunk) => {
    output += chunk
  })
  children.add(child)
  child.once('exit', () => children.delete(child))
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}: ${output}`)
    try {
      if ((await fetch(`${url}/health`)).ok) break
    } catch {}
    if (Date.now() > deadline) throw new Error(`server did not start: ${output}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return {
    url,
    port,
    child,
    output: () => output,
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode)
        child.once('exit', (code) => resolve(code))
        child.kill(signal)
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref()
      }),
  }
}

export async function call(
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
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null }
}

/** A workspace of the given tier and a key with every scope in it, made as the master key. */
export async function createTenant(base: string, master: string, tier = 'enterprise') {
  const workspace = await call(base, master, 'POST', '/api/v1/workspaces', {
    name: `Tenant ${tier} ${Date.now()}`,
    tier,
  })
  if (workspace.status !== 201)
    throw new Error(`workspace: ${workspace.status} ${JSON.stringify(workspace.body)}`)
  const id = workspace.body.data.id as number
  const key = await call(
    base,
    master,
    'POST',
    '/api/v1/api-keys',
    { name: 'tenant', scopes: ['*'] },
    { 'x-workspace-id': String(id) },
  )
  if (key.status !== 201) throw new Error(`key: ${key.status} ${JSON.stringify(key.body)}`)
  return { workspace: id, key: key.body.data.key as string, keyId: key.body.data.id as number }
}

/** Runs `core-api <args>` to its end, with `env` over this environment and logs silent by default. */
export async function runCli(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
  /** Written to the command's standard input, which is then closed (empty when not given). */
  input = '',
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const pending = execFileAsync(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...UNSHARED, LOG_LEVEL: 'silent', ...env },
      timeout: timeoutMs,
    })
    pending.child.stdin?.end(input)
    const { stdout, stderr } = await pending
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}
