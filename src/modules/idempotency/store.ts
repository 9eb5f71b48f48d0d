// The idempotency records in the database — the same on PGlite and PostgreSQL, and shared by
// every instance: the primary key makes the first claim win, the lock expiry lets a retry take
// over from a request whose process died. Response bodies are sealed (AES-256-GCM): a stored
// response may carry a secret shown once, such as a new API key or webhook signing secret.
import { and, eq, lt, or, sql } from 'drizzle-orm'
import type { Database } from '../../platform/db/index.ts'
import { TurnBatcher } from '../../platform/lib/batcher.ts'
import type { SecretBox } from '../../platform/lib/secret-box.ts'
import { idempotencyRecords } from './tables.ts'

export type StoredResponse = { status: number; headers: Record<string, string>; body: string | null }

/**
 * What a request holds while it runs: the record and the lock expiry its claim wrote. A
 * takeover writes a later expiry, so the expiry identifies the claim: a request whose claim
 * was taken over can no longer complete or release the record.
 */
export type ClaimToken = { scope: string; lockedUntil: number }

export type Claim =
  | { outcome: 'owner'; claim: ClaimToken }
  | { outcome: 'replay'; fingerprint: string; response: StoredResponse }
  | { outcome: 'running'; fingerprint: string }

type ClaimInput = { scope: string; fingerprint: string; now: number; lockMs: number; ttlMs: number }
type Completion = { claim: ClaimToken; response: StoredResponse }

const SEALED = 'v1.'

/**
 * The records of one instance's requests. The two writes every keyed request makes — the claim
 * before the handler, the response after it — are each made for all the requests of one turn of
 * the event loop in one statement (see TurnBatcher): under load that is one INSERT and one
 * UPDATE for a dozen requests instead of a dozen each. Every request still waits until its own
 * row is written.
 */
export class IdempotencyStore {
  private readonly db: Database
  private readonly box: SecretBox
  private readonly inserts: TurnBatcher<ClaimInput, boolean>
  private readonly completions: TurnBatcher<Completion, boolean>

  constructor(db: Database, box: SecretBox) {
    this.db = db
    this.box = box
    this.inserts = new TurnBatcher((inputs) => this.insertClaims(inputs))
    this.completions = new TurnBatcher((items) => this.writeResponses(items))
  }

  async claim(input: ClaimInput, attempt = 0): Promise<Claim> {
    const owner = {
      outcome: 'owner',
      claim: { scope: input.scope, lockedUntil: input.now + input.lockMs },
    } as const
    if (await this.inserts.add(input)) return owner
    const { db } = this
    // Taken: an expired record, or a lock whose request died, may be claimed again.
    const now = new Date(input.now)
    const taken = await db
      .update(idempotencyRecords)
      .set(freshRecord(input))
      .where(
        and(
          eq(idempotencyRecords.scope, input.scope),
          or(
            lt(idempotencyRecords.expiresAt, now),
            and(eq(idempotencyRecords.state, 'running'), lt(idempotencyRecords.lockedUntil, now)),
          ),
        ),
      )
      .returning({ scope: idempotencyRecords.scope })
    if (taken.length > 0) return owner

    const [row] = await db.select().from(idempotencyRecords).where(eq(idempotencyRecords.scope, input.scope))
    if (!row) {
      // Released or purged in between: claim again (a twin that keeps racing is told to wait).
      return attempt < 2
        ? this.claim(input, attempt + 1)
        : { outcome: 'running', fingerprint: input.fingerprint }
    }
    if (row.state === 'running') return { outcome: 'running', fingerprint: row.fingerprint }
    return {
      outcome: 'replay',
      fingerprint: row.fingerprint,
      response: {
        status: row.responseStatus!,
        headers: row.responseHeaders ?? {},
        body: row.responseBody === null ? null : this.open(row.responseBody),
      },
    }
  }

  /**
   * Stores the response of a claimed key, to be replayed until the record expires. False when
   * the claim was lost (its lock expired and another request took the key over): the record
   * is then the other request's, and is left alone.
   */
  complete(claim: ClaimToken, response: StoredResponse): Promise<boolean> {
    return this.completions.add({ claim, response })
  }

  /** Forgets a claim whose response is not to be replayed, so a retry runs again (if still held). */
  async release(claim: ClaimToken): Promise<void> {
    await this.db
      .delete(idempotencyRecords)
      .where(
        and(
          eq(idempotencyRecords.scope, claim.scope),
          eq(idempotencyRecords.state, 'running'),
          eq(idempotencyRecords.lockedUntil, new Date(claim.lockedUntil)),
        ),
      )
  }

  /**
   * Seals the bodies an earlier version stored in clear, a batch at a time (at most
   * `maxBatches`); returns how many it sealed. A body replaced meanwhile is left as it is.
   */
  async sealPlainBodies(batchSize = 500, maxBatches = 200): Promise<number> {
    let sealed = 0
    for (let batch = 0; batch < maxBatches; batch++) {
      const rows = await this.db
        .select({ scope: idempotencyRecords.scope, body: idempotencyRecords.responseBody })
        .from(idempotencyRecords)
        .where(
          sql`${idempotencyRecords.responseBody} is not null and left(${idempotencyRecords.responseBody}, 3) <> ${SEALED}`,
        )
        .limit(batchSize)
      for (const { scope, body } of rows) {
        await this.db
          .update(idempotencyRecords)
          .set({ responseBody: this.box.seal(body!) })
          .where(and(eq(idempotencyRecords.scope, scope), eq(idempotencyRecords.responseBody, body!)))
      }
      sealed += rows.length
      if (rows.length < batchSize) break
    }
    return sealed
  }

  /** A body written by a version that stored them in clear is replayed as it is. */
  private open(body: string): string {
    return body.startsWith(SEALED) ? this.box.open(body) : body
  }

  /** True for each input whose row this INSERT created (the first of twins in one batch). */
  private async insertClaims(inputs: ClaimInput[]): Promise<boolean[]> {
    const first = new Map<string, number>()
    for (const [i, input] of inputs.entries()) if (!first.has(input.scope)) first.set(input.scope, i)
    // In key order: two instances inserting overlapping batches in opposite orders would
    // each wait for the other's uncommitted row (a deadlock).
    const rows = [...first.values()]
      .map((i) => ({ scope: inputs[i]!.scope, ...freshRecord(inputs[i]!) }))
      .sort((a, b) => (a.scope < b.scope ? -1 : a.scope > b.scope ? 1 : 0))
    const inserted = await this.db
      .insert(idempotencyRecords)
      .values(rows)
      .onConflictDoNothing()
      .returning({ scope: idempotencyRecords.scope })
    const created = new Set(inserted.map((row) => row.scope))
    return inputs.map((input, i) => created.has(input.scope) && first.get(input.scope) === i)
  }

  /** Writes the responses whose claims still hold; true for each one written. */
  private async writeResponses(items: Completion[]): Promise<boolean[]> {
    const values = items.map(({ claim, response }, i) => {
      const body = response.body === null ? null : this.box.seal(response.body)
      const lockedUntil = new Date(claim.lockedUntil).toISOString()
      return sql`(${i}::integer, ${claim.scope}, ${lockedUntil}::timestamptz, ${response.status}::integer, ${JSON.stringify(response.headers)}::jsonb, ${body}::text)`
    })
    const result = await this.db.execute(sql`
      update ${idempotencyRecords} as r
      set state = 'done', locked_until = null, response_status = v.status,
          response_headers = v.headers, response_body = v.body
      from (values ${sql.join(values, sql`, `)}) as v(i, scope, locked_until, status, headers, body)
      where r.scope = v.scope and r.state = 'running' and r.locked_until = v.locked_until
      returning v.i`)
    const written = new Set((result as unknown as { rows: Array<{ i: number }> }).rows.map((r) => r.i))
    return items.map((_, i) => written.has(i))
  }
}

function freshRecord(input: ClaimInput) {
  return {
    fingerprint: input.fingerprint,
    state: 'running' as const,
    lockedUntil: new Date(input.now + input.lockMs),
    responseStatus: null,
    responseHeaders: null,
    responseBody: null,
    createdAt: new Date(input.now),
    expiresAt: new Date(input.now + input.ttlMs),
  }
}

export async function purgeExpired(db: Database, now: number): Promise<number> {
  const result = await db.execute(
    sql`delete from ${idempotencyRecords} where ${idempotencyRecords.expiresAt} < ${new Date(now).toISOString()}::timestamptz`,
  )
  return (
    (result as { rowCount?: number; affectedRows?: number }).rowCount ??
    (result as { affectedRows?: number }).affectedRows ??
    0
  )
}
