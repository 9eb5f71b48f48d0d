// Sessions module (seed 003's Auth group): sign-in with email and password, sign-out, the
// current session — the credential of the dashboard, carried by an HttpOnly cookie.
import type { FastifyInstance } from 'fastify'
import { secureCookies, type WorkspaceResolver } from '../../platform/auth/index.ts'
import type { Deps } from '../../platform/deps.ts'
import { sessionRoutes } from './routes.ts'
import { SessionService } from './service.ts'
import { sessionSettings } from './settings.ts'

const PURGE_EVERY_MS = 60 * 60_000

export function createSessions(
  deps: Deps,
  options: { csrfKey: string; findWorkspace: WorkspaceResolver },
): SessionService {
  return new SessionService(deps, options)
}

export async function sessionsModule(
  app: FastifyInstance,
  service: SessionService,
  deps: Deps,
): Promise<void> {
  const settings = sessionSettings.from(deps.config)
  sessionRoutes(app, service, {
    ownOrigin: new URL(deps.config.publicUrl).origin,
    secureCookies: secureCookies(deps.config.publicUrl),
    maxAgeSeconds: settings.lifetimeHours * 3600,
    signInLimit:
      settings.signInPerMinute > 0
        ? { name: 'sign-in', limit: settings.signInPerMinute, windowMs: 60_000 }
        : undefined,
  })
  // Ended sessions are deleted at start and then every hour, on every instance.
  let timer: NodeJS.Timeout | null = null
  const purge = () => service.purge().catch((error) => app.log.warn({ err: error }, 'session purge failed'))
  app.addHook('onReady', async () => {
    await purge()
    timer = setInterval(purge, PURGE_EVERY_MS)
    timer.unref()
  })
  app.addHook('onClose', async () => {
    if (timer) clearInterval(timer)
  })
}

export type { SessionService }
