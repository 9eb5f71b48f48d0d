// Child servers: `node <script>` on a free loopback port, returned once it answers
// GET /health. The process helper shared with the end-to-end tests does the spawning and
// SIGKILLs every child still alive when this process exits, whatever the reason.
import { type ServerProcess, startServer } from '../../src/testing/processes.ts'

export type Child = ServerProcess

/** Starts `node <script>` with `env` (logging off) and waits until it answers. */
function startChild(script: string, env: Record<string, string>): Promise<Child> {
  return startServer({ LOG_LEVEL: 'silent', ...env }, script)
}

/** Runs `use` against a started child, then stops the child, even when `use` throws. */
export async function withChild<T>(
  script: string,
  env: Record<string, string>,
  use: (child: Child) => Promise<T>,
): Promise<T> {
  const child = await startChild(script, env)
  try {
    return await use(child)
  } finally {
    await child.stop()
  }
}
