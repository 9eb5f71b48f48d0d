// Idempotency module (seed 004 "Idempotency", seed 002: 5xx never replayed). A POST, PUT,
// PATCH or DELETE with `Idempotency-Key` runs once per workspace, credential and key: the
// first response the handler produced (status < 500) is stored for 24 h and replayed byte
// for byte with `Idempotent-Replayed: true`. The same key with another request is 422; a twin
// arriving while the first runs is 409 with Retry-After. Checked after authentication and rate
// limiting, before validation. Stored bodies are sealed with the secret box: a response may
// carry a secret shown once (a new API key, a webhook signing secret).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../../platform/config/index.ts'
import type { Database } from '../../platform/db/index.ts'
import { ApiError, hookFailure } from '../../platform/http/errors.ts'
import type { Clock } from '../../platform/lib/clock.ts'
import { sha256Hex } from '../../platform/lib/hash.ts'
import type { SecretBox } from '../../platform/lib/secret-box.ts'
import { type ClaimToken, IdempotencyStore, purgeExpired } from './store.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** Set when this request owns an Idempotency-Key and its response must be stored. */
    idempotencyClaim: ClaimToken | null
  }
}

const METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const KEY = /^[\x20-\x7e]{1,255}$/
const REPLAYED_HEADERS = ['content-type', 'location']
const PURGE_EVERY_MS = 10 * 60_000

export type IdempotencyDeps = { config: Config; db: Database; clock: Clock; box: SecretBox }

// The guards (401, 403 of a scope, 429) run in `onRequest` and the claim's own refusals (409 in
// progress, 422 reused) are thrown before a scope is owned: neither ever reaches the store. What
// does is the handler's answer, stored unless it is a server failure, so a retry runs again.
const isStored = (status: number) => status < 500

function credentialOf(req: FastifyRequest): string {
  const p = req.principal!
  if (p.key) return `key:${p.key.id}`
  if (p.user) return `${p.type}:${p.user.id}`
  return p.type
}

async function idempotencyPlugin(app: FastifyInstance, deps: IdempotencyDeps): Promise<void> {
  const { db, clock, config } = deps
  const ttlMs = config.idempotencyTtlHours * 3_600_000
  const lockMs = config.idempotencyLockSeconds * 1000
  const store = new IdempotencyStore(db, deps.box)
  app.decorateRequest('idempotencyClaim', null)

  // Callback-style hooks: a request without the header, nearly every one, costs no promise.
  function claimIdempotencyKey(req: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) {
    if (req.headers['idempotency-key'] === undefined || !req.principal) return done()
    claim(req, reply).then(
      (replayed) => {
        // A replay has been sent: the request goes no further.
        if (!replayed) done()
      },
      (error: unknown) => done(hookFailure(error)),
    )
  }

  /** Claims the key for this request (false), or replays the stored response (true). */
  async function claim(req: FastifyRequest, reply: FastifyReply): Promise<boolean> {
    const header = req.headers['idempotency-key']
    if (!req.principal) return false
    if (typeof header !== 'string' || !KEY.test(header)) {
      throw ApiError.invalid(
        'Idempotency-Key',
        'The Idempotency-Key header must be 1 to 255 printable ASCII characters.',
      )
    }
    const workspace = req.workspace?.id ?? req.principal.workspace?.id ?? 0
    const scope = sha256Hex(`${workspace}\n${credentialOf(req)}\n${header}`)
    const fingerprint = sha256Hex(`${req.method} ${req.url}\n${req.rawBody ?? ''}`)
    const result = await store.claim({ scope, fingerprint, now: clock.now(), lockMs, ttlMs })
    if (result.outcome === 'owner') {
      req.idempotencyClaim = result.claim
      return false
    }
    if (result.fingerprint !== fingerprint) throw new ApiError('idempotency_key_reused')
    if (result.outcome === 'running') {
      throw new ApiError('idempotency_in_progress', undefined, undefined, { 'retry-after': '1' })
    }
    const { status, headers, body } = result.response
    reply.code(status).headers(headers).header('idempotent-replayed', 'true')
    reply.send(body ?? undefined)
    return true
  }

  function storeIdempotentResponse(
    req: FastifyRequest,
    reply: FastifyReply,
    payload: unknown,
    done: (error: Error | null, payload?: unknown) => void,
  ) {
    const claim = req.idempotencyClaim
    if (claim === null) return done(null, payload)
    req.idempotencyClaim = null
    storeResponse(req, reply, claim, payload).then(
      () => done(null, payload),
      (error: unknown) => done(hookFailure(error)),
    )
  }

  /** Stores the answer under the claim (or releases the claim of an answer not to be kept). */
  async function storeResponse(
    req: FastifyRequest,
    reply: FastifyReply,
    claim: ClaimToken,
    payload: unknown,
  ) {
    if (!isStored(reply.statusCode)) return store.release(claim)
    const headers: Record<string, string> = {}
    for (const name of REPLAYED_HEADERS) {
      const value = reply.getHeader(name)
      if (value !== undefined) headers[name] = String(value)
    }
    const body =
      typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : null
    // A request that ran past its lock and was taken over by a retry leaves the record to it.
    if (!(await store.complete(claim, { status: reply.statusCode, headers, body }))) {
      req.log.warn(
        'idempotency claim lost before the response was stored; the record is left to its new owner',
      )
    }
  }

  // Only authenticated POST, PUT, PATCH and DELETE routes carry the hooks: reads pay nothing.
  app.addHook('onRoute', (route) => {
    if (!route.config?.auth || ![route.method].flat().some((m) => METHODS.has(m))) return
    route.preValidation = [...[route.preValidation ?? []].flat(), claimIdempotencyKey] as never
    route.onSend = [...[route.onSend ?? []].flat(), storeIdempotentResponse] as never
  })

  let timer: NodeJS.Timeout | null = null
  app.addHook('onReady', async () => {
    const purge = () =>
      purgeExpired(db, clock.now()).catch((error) => app.log.warn({ err: error }, 'idempotency purge failed'))
    await purge()
    // Records written in clear by an earlier version are sealed once, at start.
    await store
      .sealPlainBodies()
      .catch((error) => app.log.warn({ err: error }, 'sealing stored idempotent responses failed'))
    timer = setInterval(purge, PURGE_EVERY_MS)
    timer.unref()
  })
  app.addHook('onClose', async () => {
    if (timer) clearInterval(timer)
  })
}

/** Registered on the root instance, before the resource modules, so it covers every route. */
export const idempotencyModule = fp(idempotencyPlugin, { name: 'core-api-idempotency' })
