// The visitor id, as Plausible makes it: a keyed hash of the client's IP, its user agent and
// the site, under a salt of the UTC day. The same browser on the same site is one visitor for
// the day, and nothing stored identifies it: the IP and the user agent are never written, and
// a salt older than yesterday's is deleted, after which no one can recompute an old id from an
// IP and a user agent. The salts live in the database (sealed) so every instance hashes alike.
import { createHmac, createSecretKey, type KeyObject, randomBytes } from 'node:crypto'
import type { Database } from '../../platform/db/index.ts'
import type { Clock } from '../../platform/lib/clock.ts'
import type { SecretBox } from '../../platform/lib/secret-box.ts'
import { deleteSaltsBefore, ensureSalt } from './store.ts'

const DAY_MS = 86_400_000

function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10)
}

export class VisitorIds {
  private readonly db: Database
  private readonly clock: Clock
  private readonly box: SecretBox
  /** The salts in memory, as HMAC keys made once (not per event): today's and yesterday's at most. */
  private readonly salts = new Map<string, Promise<KeyObject>>()
  /** The UTC day last computed and the span of clock time it covers. */
  private day = { name: '', from: 0, to: 0 }

  constructor(db: Database, clock: Clock, box: SecretBox) {
    this.db = db
    this.clock = clock
    this.box = box
  }

  /** The visitor id (a signed 64-bit integer) of this IP and user agent on this site, today. */
  async of(ip: string, userAgent: string, siteId: number): Promise<bigint> {
    const salt = await this.saltOf(this.today())
    const digest = createHmac('sha256', salt).update(`${ip}\n${userAgent}\n${siteId}`).digest()
    return digest.readBigInt64BE(0)
  }

  /** Destroys the salts older than yesterday's, even on a day nothing was tracked. */
  async forgetOldSalts(): Promise<void> {
    const yesterday = utcDay(this.clock.now() - DAY_MS)
    await deleteSaltsBefore(this.db, yesterday)
    for (const known of this.salts.keys()) if (known < yesterday) this.salts.delete(known)
  }

  /** Today's date (UTC), formatted once per day rather than per event. */
  private today(): string {
    const now = this.clock.now()
    if (now < this.day.from || now >= this.day.to) {
      const from = now - (now % DAY_MS)
      this.day = { name: utcDay(now), from, to: from + DAY_MS }
    }
    return this.day.name
  }

  private saltOf(day: string): Promise<KeyObject> {
    let salt = this.salts.get(day)
    if (!salt) {
      salt = this.load(day)
      this.salts.set(day, salt)
      // A failed load is retried by the next request.
      salt.catch(() => this.salts.delete(day))
    }
    return salt
  }

  /** Today's salt: the one another instance made, or a new one; the days before yesterday go. */
  private async load(day: string): Promise<KeyObject> {
    const sealed = await ensureSalt(this.db, day, this.box.seal(randomBytes(32).toString('base64')))
    const yesterday = utcDay(Date.parse(`${day}T00:00:00Z`) - DAY_MS)
    await deleteSaltsBefore(this.db, yesterday)
    for (const known of this.salts.keys()) if (known < yesterday) this.salts.delete(known)
    return createSecretKey(Buffer.from(this.box.open(sealed), 'base64'))
  }
}
