// The idempotency records in the database — the same on PGlite and PostgreSQL, and shared by
// every instance: the primary key makes the first claim win, the lock expiry lets a retry take
// over from a request whose process died.
import { and, eq, lt, or, sql } from 'drizzle-orm'
import type { Database } from '../../platform/db/index.ts'
import { TurnBatcher } from '../../platform/lib/batcher.ts'
import { idempotencyRecords } from './tables.ts'

export type StoredResponse = { status: number; headers: Record<string, string>; body: string | null }

export type Claim =
  | { outcome: 'owner' }
  | { outcome: 'replay'; fingerprint: string; response: StoredResponse }
  | { outcome: 'running'; fingerprint: string }

type ClaimInput = { scope: string; fingerprint: string; now: number; lockMs: number; ttlMs: number }
type Completion = { scope: string; response: StoredResponse }

/**
 * The records of one instance's requests. The two writes every keyed request makes — the claim
 * before the handler, the response after it — are each made for all the requests of one turn of
 * the event loop in one statement (see TurnBatcher): under load that is one INSERT and one
 * UPDATE for a dozen requests instead of a dozen each. Every request still waits until its own
 * row is written.
 */
export class IdempotencyStore {
  private readonly db: Database
  private readonly inserts: TurnBatcher<ClaimInput, boolean>
  private readonly completions: TurnBatcher<Completion, null>

  constructor(db: Database) {
    this.db = db
    this.inserts = new TurnBatcher((inputs) => this.insertClaims(inputs))
    this.completions = new TurnBatcher((items) => this.writeResponses(items))
  }

  async claim(input: ClaimInput, attempt = 0): Promise<Claim> {
    if (await this.inserts.add(input)) return { outcome: 'owner' }
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
    if (taken.length > 0) return { outcome: 'owner' }

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
      response: { status: row.responseStatus!, headers: row.responseHeaders ?? {}, body: row.responseBody },
    }
  }

  /** Stores the response of a claimed key, to be replayed until the record expires. */
  async complete(scope: string, response: StoredResponse): Promise<void> {
    await this.completions.add({ scope, response })
  }

  /** Forgets a claim whose response is not to be replayed, so a retry runs again. */
  async release(scope: string): Promise<void> {
    await this.db.delete(idempotencyRecords).where(eq(idempotencyRecords.scope, scope))
  }

  /** True for each input whose row this INSERT created (the first of twins in one batch). */
  private async insertClaims(inputs: ClaimInput[]): Promise<boolean[]> {
    const first = new Map<string, number>()
    for (const [i, input] of inputs.entries()) if (!first.has(input.scope)) first.set(input.scope, i)
    const rows = [...first.values()].map((i) => ({ scope: inputs[i]!.scope, ...freshRecord(inputs[i]!) }))
    const inserted = await this.db
      .insert(idempotencyRecords)
      .values(rows)
      .onConflictDoNothing()
      .returning({ scope: idempotencyRecords.scope })
    const created = new Set(inserted.map((row) => row.scope))
    return inputs.map((input, i) => created.has(input.scope) && first.get(input.scope) === i)
  }

  private async writeResponses(items: Completion[]): Promise<null[]> {
    const values = items.map(
      ({ scope, response }) =>
        sql`(${scope}, ${response.status}::integer, ${JSON.stringify(response.headers)}::jsonb, ${response.body}::text)`,
    )
    await this.db.execute(sql`
      update ${idempotencyRecords} as r
      set state = 'done', locked_until = null, response_status = v.status,
          response_headers = v.headers, response_body = v.body
      from (values ${sql.join(values, sql`, `)}) as v(scope, status, headers, body)
      where r.scope = v.scope`)
    return items.map(() => null)
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
