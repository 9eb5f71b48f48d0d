// A core-api on loopback for the SDK's suites: a real clock (webhook timestamps are checked
// against the receiver's), insecure webhook URLs allowed (receivers are on 127.0.0.1), and the
// base URL a client is given.
import { beforeAll } from 'vitest'
import { systemClock } from '../../src/platform/lib/clock.ts'
import { useTestApp } from '../../src/testing/harness.ts'

export function useServer(env: Record<string, string> = {}) {
  const t = useTestApp({
    clock: systemClock,
    env: { WEBHOOK_ALLOW_INSECURE_URLS: '1', WEBHOOK_POLL_MS: '20', ...env },
  })
  const server = { t, baseUrl: '' }
  beforeAll(async () => {
    server.baseUrl = await t.app.listen({ port: 0, host: '127.0.0.1' })
  })
  return server // the listener closes with the app, after the suite
}

/** Waits (bounded) until `check` holds. */
export async function until(check: () => boolean | Promise<boolean>, label: string, ms = 15_000) {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
