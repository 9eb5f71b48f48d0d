// In-process cache of resolved credentials, keyed by the SHA-256 of the secret. Entries are
// dropped when any instance announces a change (revoke, rotate, workspace update or delete,
// an OAuth client's new scopes)
// and, as a safety net, after `ttlMs`. A load that overlaps an announcement is not cached, so
// a revoke can never be undone by a slow lookup that read the row just before it.
//
// Unknown secrets are remembered too (apart, and fewer), so a client retrying in a loop with a
// revoked or mistyped key costs one lookup per TTL instead of one per request. That is safe
// without any announcement: a secret is random and first known to anyone when the row that
// holds its hash is written, so no secret is looked up before it exists — an unknown secret
// only ever becomes known by being created anew, which gives a new secret.

import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import type { PubSub } from '../kv/index.ts'
import type { Clock } from '../lib/clock.ts'
import type { Principal, PrincipalWorkspace } from './principal.ts'

const CHANNEL = 'credentials'
const MAX_ENTRIES = 50_000
const MAX_MISSES = 10_000
/** Longest a change waits for its broadcast to come back (Redis down: it goes on without). */
const ECHO_WAIT_MS = 200

type Entry<T> = { value: T; loadedAt: number }

export class CredentialCache {
  private readonly principals = new Map<string, Entry<Principal>>()
  /** Hashes that matched no credential, with when they were looked up. */
  private readonly misses = new Map<string, number>()
  private readonly workspaces = new Map<number, Entry<PrincipalWorkspace>>()
  private readonly inflight = new Map<string, Promise<Principal | null>>()
  private generation = 0
  private sent = 0
  private readonly echoes = new Map<string, () => void>()

  private readonly pubsub: PubSub
  private readonly clock: Clock
  private readonly ttlMs: number

  constructor(pubsub: PubSub, clock: Clock, ttlMs: number) {
    this.pubsub = pubsub
    this.clock = clock
    this.ttlMs = ttlMs
  }

  async start(): Promise<void> {
    await this.pubsub.subscribe(CHANNEL, (message) => this.apply(message))
    // Messages sent while the connection was down are lost: forget everything.
    this.pubsub.onReconnect(() => this.apply('all'))
  }

  /** The cached principal for `hash`, loading it once however many requests ask at once. */
  async principal(hash: string, load: () => Promise<Principal | null>): Promise<Principal | null> {
    // An announcement from another instance may already be waiting on the pub/sub socket,
    // read in the same event-loop turn as this request: let it be applied first, so a
    // revocation made before this request was sent is never missed.
    if (this.pubsub.distributed) await yieldToEventLoop()
    const known = this.known(hash)
    if (known !== undefined) return known
    const pending = this.inflight.get(hash)
    if (pending) return pending
    const generation = this.generation
    const promise = load()
      .then((principal) => {
        if (generation === this.generation && this.ttlMs > 0) {
          if (principal) this.store(this.principals, hash, principal)
          else this.remember(hash)
        }
        return principal
      })
      .finally(() => this.inflight.delete(hash))
    this.inflight.set(hash, promise)
    return promise
  }

  /**
   * The cached answer for `hash` when it may be given without waiting, else undefined (then
   * `principal` must be awaited). With several instances there is no such answer: every lookup
   * first lets a revocation already on the pub/sub socket be applied (see `principal`).
   */
  cachedPrincipal(hash: string): Principal | null | undefined {
    return this.pubsub.distributed ? undefined : this.known(hash)
  }

  /** A fresh entry for `hash`: the principal, null for a remembered miss, undefined for none. */
  private known(hash: string): Principal | null | undefined {
    const hit = this.principals.get(hash)
    if (hit && this.clock.now() - hit.loadedAt < this.ttlMs) return hit.value
    const missedAt = this.misses.get(hash)
    if (missedAt !== undefined && this.clock.now() - missedAt < this.ttlMs) return null
    return undefined
  }

  async workspace(
    id: number,
    load: () => Promise<PrincipalWorkspace | null>,
  ): Promise<PrincipalWorkspace | null> {
    const hit = this.workspaces.get(id)
    if (hit && this.clock.now() - hit.loadedAt < this.ttlMs) return hit.value
    const generation = this.generation
    const workspace = await load()
    if (workspace && generation === this.generation && this.ttlMs > 0) {
      this.store(this.workspaces, id, workspace)
    }
    return workspace
  }

  /** Tells every instance (this one included) that a key changed. */
  invalidateKey(keyId: number): Promise<void> {
    return this.announce(`key:${keyId}`)
  }

  /** Tells every instance that one credential (by the hash of its secret) ended: a sign-out. */
  invalidateCredential(hash: string): Promise<void> {
    return this.announce(`credential:${hash}`)
  }

  /** Tells every instance that a user's credentials changed (password, memberships). */
  invalidateUser(userId: number): Promise<void> {
    return this.announce(`user:${userId}`)
  }

  /** Tells every instance that a workspace changed (tier, name, deletion). */
  invalidateWorkspace(workspaceId: number): Promise<void> {
    return this.announce(`workspace:${workspaceId}`)
  }

  /** Tells every instance that an OAuth client changed (its scopes): its tokens are reloaded. */
  invalidateClient(clientId: string): Promise<void> {
    return this.announce(`client:${clientId}`)
  }

  /**
   * Applies the change here at once, broadcasts it, and waits (briefly) until the broadcast
   * comes back to this instance: Redis has then handed it to every instance, so the request
   * that made the change answers only once the others have been told.
   */
  private async announce(message: string): Promise<void> {
    this.apply(message) // at once here, whatever happens to the broadcast
    const nonce = `${process.pid}.${++this.sent}`
    const echoed = new Promise<void>((resolve) => {
      this.echoes.set(nonce, resolve)
      setTimeout(resolve, ECHO_WAIT_MS).unref()
    })
    await this.pubsub.publish(CHANNEL, `${message}:${nonce}`)
    await echoed
    this.echoes.delete(nonce)
  }

  private store<K, T>(map: Map<K, Entry<T>>, key: K, value: T): void {
    if (map.size >= MAX_ENTRIES) {
      const oldest = map.keys().next().value
      if (oldest !== undefined) map.delete(oldest)
    }
    map.set(key, { value, loadedAt: this.clock.now() })
  }

  private remember(hash: string): void {
    if (this.misses.size >= MAX_MISSES) {
      const oldest = this.misses.keys().next().value
      if (oldest !== undefined) this.misses.delete(oldest)
    }
    this.misses.set(hash, this.clock.now())
  }

  private apply(message: string): void {
    const [, , nonce] = message.split(':')
    if (nonce) this.echoes.get(nonce)?.()
    this.generation++
    this.inflight.clear() // later callers must not join a load that may predate the change
    const [kind, raw] = message.split(':')
    const id = Number(raw)
    if (kind === 'credential') {
      this.principals.delete(raw ?? '')
    } else if (kind === 'user') {
      for (const [hash, entry] of this.principals)
        if (entry.value.user?.id === id) this.principals.delete(hash)
    } else if (kind === 'client') {
      for (const [hash, entry] of this.principals)
        if (entry.value.client === raw) this.principals.delete(hash)
    } else if (kind === 'key') {
      for (const [hash, entry] of this.principals)
        if (entry.value.key?.id === id) this.principals.delete(hash)
    } else if (kind === 'workspace') {
      this.workspaces.delete(id)
      for (const [hash, entry] of this.principals) {
        if (entry.value.workspace?.id === id) this.principals.delete(hash)
      }
    } else {
      this.principals.clear()
      this.misses.clear()
      this.workspaces.clear()
    }
  }
}
