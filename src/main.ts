// `npm start` / `core-api serve`: read the config, start the server, stop gracefully.
import { resolve } from 'node:path'
import { ConfigError, loadConfig } from './platform/config/index.ts'
import { DataDirInUseError } from './platform/db/data-dir-lock.ts'
import { flushLogs, flushLogsSync } from './platform/logging.ts'
import { createServer } from './server.ts'

/**
 * Starts core-api. `http: false` (`core-api worker`) runs only the background work — webhook
 * deliveries and SEO audits — for deployments that scale it apart from the HTTP servers.
 */
export async function serve(options: { http: boolean } = { http: true }): Promise<void> {
  const env = options.http ? process.env : { ...process.env, WEBHOOK_WORKER: '1' }
  const config = loadConfig(env)
  const app = await createServer(config)
  if (app.generatedMasterKey) {
    // Printed once, straight to the terminal (never through the logger): only its hash is kept.
    process.stdout.write(
      '\n  No CORE_API_MASTER_KEY was set, so one was generated. It is shown only this once:\n\n' +
        `    ${app.generatedMasterKey}\n\n` +
        '  Keep it secret; set CORE_API_MASTER_KEY to choose your own.\n\n',
    )
  }
  let closing = false
  // Log lines are buffered and written asynchronously: every exit writes them out first, so
  // the access line of every answered request reaches the log.
  const exit = (code: number) => {
    flushLogsSync()
    process.exit(code)
  }
  const shutdown = async (signal: string) => {
    if (closing) return
    closing = true
    app.log.info({ signal }, 'shutting down: finishing in-flight requests')
    const force = setTimeout(() => exit(1), 15_000)
    force.unref()
    try {
      await app.close()
      await flushLogs()
      exit(0)
    } catch (error) {
      app.log.error({ err: error }, 'shutdown failed')
      exit(1)
    }
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
  // A crash (an uncaught exception, or a rejection nobody handled) is logged, redacted like
  // every line, and the buffered lines are written before the process ends.
  process.on('uncaughtException', function logCrashAndExit(error) {
    app.log.fatal({ err: error }, 'crashed: uncaught exception')
    exit(1)
  })
  if (options.http) {
    const address = await app.listen({ port: config.port, host: config.host })
    const storage = config.databaseUrl
      ? 'PostgreSQL'
      : config.dataDir.startsWith('memory://')
        ? 'memory (lost at exit)'
        : resolve(config.dataDir)
    app.log.info(
      { address, reference: `${address}/docs`, data: storage },
      `core-api is serving on ${address}; API reference at ${address}/docs; data in ${storage}`,
    )
  } else {
    await app.ready()
    app.log.info('worker started: delivering webhooks and running SEO audits')
  }
}

/** Prints a start-up failure the operator can act on, then exits. */
export function exitWithError(error: unknown): never {
  if (error instanceof ConfigError || error instanceof DataDirInUseError) {
    process.stderr.write(`core-api: ${error.message}\n`)
  } else {
    process.stderr.write(`core-api: ${(error as Error)?.stack ?? String(error)}\n`)
  }
  flushLogsSync()
  process.exit(1)
}

if (import.meta.main) serve().catch(exitWithError)
