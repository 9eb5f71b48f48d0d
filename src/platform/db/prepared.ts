// A named prepared statement that runs on any executor: the database or whichever transaction
// the call is in. Drizzle's own `.prepare(name)` binds a statement to the executor it was built
// on, so a statement run inside transactions would be built again for each one; and building a
// WITH clause of several parts costs more CPU than the database takes to run it. This builds the
// statement once (its text and parameter list) and prepares it on the executor of each call
// through Drizzle's session, which is internal API (`db._.session.prepareQuery`): the posts
// write-path tests exercise it, so a Drizzle upgrade that changes it fails them.
//
// On PostgreSQL, node-postgres prepares a named statement once per pooled connection. PGlite's
// query API has no named statements: every call parses, analyses and plans the text again, in
// several round trips into WebAssembly — for the create-post statement, three quarters of its
// cost. So inside a PGlite transaction the statement is prepared once per database with the
// wire protocol's Parse, and each call is one Bind / Describe / Execute / Sync exchange. Outside
// a transaction (the webhook worker's claim) Drizzle's path is kept: PGlite's transaction lock,
// which every other query takes, is held only by a transaction.
import {
  type PGlite,
  type Transaction as PgliteTransaction,
  parse,
  protocol,
  types,
} from '@electric-sql/pglite'
import { DrizzleQueryError, fillPlaceholders, type Logger, type Query } from 'drizzle-orm'
import type { PreparedQueryConfig } from 'drizzle-orm/pg-core'
import type { Executor } from './index.ts'

/** A row as the driver returns it: column names, timestamps as text. */
export type RawRow = Record<string, unknown>

type Statement = { execute(values?: Record<string, unknown>): Promise<{ rows: RawRow[] }> }

/**
 * `build` runs once, on the first call's executor; the statement is prepared under `name` (on
 * PostgreSQL, each pooled connection parses and plans it once; on PGlite, the database does).
 * Executing it returns the driver's raw rows; placeholders (`sql.placeholder`) take the values
 * given to `execute`.
 */
export function preparedStatement(name: string, build: (db: Executor) => { toSQL(): Query }) {
  let query: Query | undefined
  return (db: Executor): Statement => {
    query ??= build(db).toSQL()
    const session = db._.session as unknown as { client?: unknown; logger?: Logger }
    const owner = (session.client as { [PGLITE]?: PGlite } | undefined)?.[PGLITE]
    if (owner) return pgliteStatement(owner, session.client as PgliteTransaction, name, query, session.logger)
    return db._.session.prepareQuery<PreparedQueryConfig & { execute: { rows: RawRow[] } }>(
      query,
      undefined,
      name,
      false,
    )
  }
}

const PGLITE = Symbol('pglite')

/** Marks each transaction PGlite opens with its database, so statements run in it can be prepared. */
export function markPgliteTransactions(client: PGlite): void {
  const transaction = client.transaction.bind(client)
  client.transaction = (callback) => transaction((tx) => callback(Object.assign(tx, { [PGLITE]: client })))
}

/** Results as Drizzle reads them from PGlite: dates and intervals as the text PostgreSQL sent. */
const KEEP_TEXT = Object.fromEntries(
  [types.TIMESTAMP, types.TIMESTAMPTZ, types.INTERVAL, types.DATE, 1231, 1115, 1185, 1187, 1182].map(
    (oid) => [oid, (value: string) => value],
  ),
)

/** Per database: each statement's parameter types, once it has been prepared there. */
const prepared = new WeakMap<PGlite, Map<string, Promise<number[]>>>()

function pgliteStatement(
  pglite: PGlite,
  tx: PgliteTransaction,
  name: string,
  query: Query,
  logger: Logger | undefined,
): Statement {
  return {
    async execute(values = {}) {
      if (tx.closed) throw new Error('Transaction is closed')
      const params = fillPlaceholders(query.params, values)
      logger?.logQuery(query.sql, params)
      const paramTypes = await prepare(pglite, name, query.sql)
      const { messages } = await pglite
        .runExclusive(() =>
          pglite.execProtocol(
            concat(
              protocol.serialize.bind({
                statement: name,
                values: params.map((v, i) => serialize(pglite, v, paramTypes[i])),
              }),
              protocol.serialize.describe({ type: 'P' }),
              protocol.serialize.execute({}),
              protocol.serialize.sync(),
            ),
            { syncToFs: false }, // the transaction's COMMIT writes to disk
          ),
        )
        .catch((error: unknown) => {
          throw new DrizzleQueryError(query.sql, params, error as Error) // as Drizzle's own path does
        })
      const [result] = parse.parseResults(messages, pglite.parsers, { parsers: KEEP_TEXT })
      return { rows: (result?.rows ?? []) as RawRow[] }
    },
  }
}

function prepare(pglite: PGlite, name: string, text: string): Promise<number[]> {
  let statements = prepared.get(pglite)
  if (!statements) {
    statements = new Map()
    prepared.set(pglite, statements)
  }
  let paramTypes = statements.get(name)
  if (!paramTypes) {
    paramTypes = pglite
      .runExclusive(() =>
        pglite.execProtocol(
          concat(
            protocol.serialize.parse({ name, text, types: [] }),
            protocol.serialize.describe({ type: 'S', name }),
            protocol.serialize.sync(),
          ),
          { syncToFs: false },
        ),
      )
      .then(({ messages }) => parse.parseDescribeStatementResults(messages))
    const known = statements
    paramTypes.catch(() => known.delete(name)) // a failed prepare is tried again
    statements.set(name, paramTypes)
  }
  return paramTypes
}

function serialize(pglite: PGlite, value: unknown, oid: number | undefined): string | null {
  if (value === null || value === undefined) return null
  const serializer = oid === undefined ? undefined : pglite.serializers[oid]
  return serializer ? serializer(value) : String(value)
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((size, part) => size + part.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}
