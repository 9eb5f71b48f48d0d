// One database API over two engines: PGlite (embedded PostgreSQL in WebAssembly, the
// zero-setup default) and PostgreSQL (DATABASE_URL). Both speak the same SQL, share one
// Drizzle schema and one migration set in drizzle/.
import { fileURLToPath } from 'node:url'
import { PGlite } from '@electric-sql/pglite'
import { type SQL, sql, type TablesRelationalConfig } from 'drizzle-orm'
import { drizzle as drizzlePg, NodePgSession, NodePgTransaction } from 'drizzle-orm/node-postgres'
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator'
import type { PgDatabase, PgDialect, PgQueryResultHKT, PgTransactionConfig } from 'drizzle-orm/pg-core'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator'
import pg from 'pg'
import { lockDataDir } from './data-dir-lock.ts'
import { markPgliteTransactions } from './prepared.ts'

export type Database = PgDatabase<PgQueryResultHKT>
/** A transaction of a Database. */
export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0]
/** Where a query may run: the database, or a transaction in progress. */
export type Executor = Database | Transaction

export interface DatabaseHandle {
  readonly db: Database
  readonly engine: 'pglite' | 'postgres'
  /** Applies pending migrations; safe when several instances start at once. */
  migrate(): Promise<void>
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>
  /**
   * A Database on connections of its own, for background work that must not queue behind
   * requests for the shared pool (the webhook worker): on PostgreSQL a second pool of at most
   * `size` connections, opened on first use and closed with the handle; on PGlite, `db`.
   */
  separate(size: number): Database
  /** Calls `handler` on every NOTIFY on `channel` (committed transactions only); returns the unsubscribe. */
  listen(channel: string, handler: () => void): Promise<() => Promise<void>>
  close(): Promise<void>
}

export type DatabaseOptions =
  | {
      databaseUrl: string
      poolSize?: number
      /** How long a request waits for a new connection before it fails (and answers 503), in ms. */
      connectTimeoutMs?: number
    }
  | { dataDir: string } // a folder, or 'memory://' for a throwaway in-memory database

/** Default of `connectTimeoutMs`: long enough for a busy server, short enough that no request hangs. */
const CONNECT_TIMEOUT_MS = 5000

const MIGRATIONS = fileURLToPath(new URL('../../../drizzle', import.meta.url))
// Any constant works; it only has to be the same in every instance.
const MIGRATION_LOCK_ID = 7_243_810

export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  if ('databaseUrl' in options)
    return openPostgres(
      options.databaseUrl,
      options.poolSize ?? 10,
      options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
    )
  return openPglite(options.dataDir)
}

async function openPglite(dataDir: string): Promise<DatabaseHandle> {
  const inMemory = dataDir.startsWith('memory://')
  const release = inMemory ? () => {} : lockDataDir(dataDir)
  let client: PGlite
  try {
    client = inMemory ? new PGlite() : new PGlite(dataDir)
    await client.waitReady
    markPgliteTransactions(client)
  } catch (error) {
    release()
    throw error
  }
  const db = drizzlePglite(client) as unknown as Database
  return {
    db,
    engine: 'pglite',
    migrate: () => migratePglite(db as never, { migrationsFolder: MIGRATIONS }),
    ping: async () => {
      await client.query('select 1')
    },
    separate: () => db,
    listen: (channel, handler) => client.listen(channel, handler),
    close: async () => {
      try {
        await client.close()
      } finally {
        release()
      }
    },
  }
}

async function openPostgres(
  connectionString: string,
  poolSize: number,
  connectTimeoutMs: number,
): Promise<DatabaseHandle> {
  const openPool = (max: number) => {
    const pool = new pg.Pool({
      connectionString,
      max,
      // Without it, a database that accepts TCP but never answers makes requests wait forever.
      connectionTimeoutMillis: connectTimeoutMs,
      // A connection whose peer vanished without a FIN is found out by the kernel.
      keepAlive: true,
    })
    // A connection that dies (database restart, network cut) must never crash the process: the
    // pool reports idle ones here, and a checked-out one (a transaction in progress) emits
    // 'error' on itself, which nothing else listens to. The query in progress fails either way.
    pool.on('error', () => {})
    pool.on('connect', (client) => client.on('error', () => {}))
    return pool
  }
  const pool = openPool(poolSize)
  const db = drizzlePg(pool) as unknown as Database
  releaseOnFailedBegin(db, pool)
  let side: { pool: pg.Pool; db: Database } | null = null
  return {
    db,
    engine: 'postgres',
    migrate: async () => {
      // A session-level advisory lock serialises concurrent starts: the first applies the
      // migrations, the others wait and then find nothing left to do.
      const client = new pg.Client({ connectionString, connectionTimeoutMillis: connectTimeoutMs })
      client.on('error', () => {}) // a lost connection fails the migration's query instead
      await client.connect()
      try {
        await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_ID])
        await migratePg(drizzlePg(client), { migrationsFolder: MIGRATIONS })
      } finally {
        await client.end()
      }
    },
    ping: async () => {
      await db.execute(sql`select 1`)
    },
    separate: (size) => {
      if (!side) {
        const separate = openPool(size)
        side = { pool: separate, db: drizzlePg(separate) as unknown as Database }
        releaseOnFailedBegin(side.db, separate)
      }
      return side.db
    },
    listen: (channel, handler) => listenPostgres(connectionString, connectTimeoutMs, channel, handler),
    close: async () => {
      await Promise.all([pool.end(), side?.pool.end()])
    },
  }
}

/**
 * drizzle-orm's node-postgres `transaction` (0.45) sends BEGIN before its `try`: when the
 * connection is lost at that moment, its client is never given back to the pool. Each such loss
 * took a connection for good; once all were gone, every query waited for one that never came
 * (503 until a restart, and a shutdown that hung on the pool). This is the same transaction with
 * BEGIN inside: whatever fails, the client goes back (and the pool drops it if it is dead).
 */
function releaseOnFailedBegin(db: Database, pool: pg.Pool): void {
  type Tx = NodePgTransaction<Record<string, unknown>, TablesRelationalConfig> & {
    getTransactionConfigSQL(config: PgTransactionConfig): SQL
  }
  const session = (db as unknown as { session: Record<string, unknown> }).session
  const dialect = session.dialect as PgDialect
  const schema = session.schema as ConstructorParameters<typeof NodePgTransaction>[2]
  const options = session.options as ConstructorParameters<typeof NodePgSession>[3]
  session.transaction = async <T>(transaction: (tx: Tx) => Promise<T>, config?: PgTransactionConfig) => {
    const client = await pool.connect()
    try {
      const inner = new NodePgSession(client, dialect, schema, options)
      const tx = new NodePgTransaction(dialect, inner, schema) as Tx
      await tx.execute(sql`begin${config ? sql` ${tx.getTransactionConfigSQL(config)}` : undefined}`)
      try {
        const result = await transaction(tx)
        await tx.execute(sql`commit`)
        return result
      } catch (error) {
        // The transaction's own error is the one to report, not a failed rollback's.
        await tx.execute(sql`rollback`).catch(() => {})
        throw error
      }
    } finally {
      client.release()
    }
  }
}

/**
 * LISTEN on a connection of its own, reconnecting after a failure (a notification sent while
 * disconnected is lost, so the handler is also called on every reconnect).
 */
async function listenPostgres(
  connectionString: string,
  connectTimeoutMs: number,
  channel: string,
  handler: () => void,
) {
  let client: pg.Client | null = null
  let closed = false
  let retry: NodeJS.Timeout | null = null
  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString, connectionTimeoutMillis: connectTimeoutMs })
    next.on('notification', (message) => {
      if (message.channel === channel) handler()
    })
    const lost = () => {
      if (closed || client !== next) return
      client = null
      retry = setTimeout(() => void connect().catch(lost), 1000)
      retry.unref()
    }
    next.on('error', lost)
    next.on('end', lost)
    client = next
    await next.connect()
    await next.query(`listen "${channel.replace(/"/g, '""')}"`)
    handler()
  }
  await connect()
  return async () => {
    closed = true
    if (retry) clearTimeout(retry)
    await client?.end().catch(() => {})
  }
}

/** True when a database error is a unique-constraint violation (SQLSTATE 23505). */
export function isUniqueViolation(error: unknown): boolean {
  let current: unknown = error
  for (let depth = 0; depth < 4 && current; depth++) {
    if ((current as { code?: string }).code === '23505') return true
    current = (current as { cause?: unknown }).cause
  }
  return false
}

export { isDatabaseUnavailable } from './errors.ts'
