// A named prepared statement that runs on any executor: the database or whichever transaction
// the call is in. Drizzle's own `.prepare(name)` binds a statement to the executor it was built
// on, so a statement run inside transactions would be built again for each one; and building a
// WITH clause of several parts costs more CPU than the database takes to run it. This builds the
// statement once (its text and parameter list) and prepares it on the executor of each call
// through Drizzle's session, which is internal API (`db._.session.prepareQuery`): the posts
// write-path tests exercise it, so a Drizzle upgrade that changes it fails them.
import type { Query } from 'drizzle-orm'
import type { PreparedQueryConfig } from 'drizzle-orm/pg-core'
import type { Executor } from './index.ts'

/** A row as the driver returns it: column names, timestamps as text. */
export type RawRow = Record<string, unknown>

/**
 * `build` runs once, on the first call's executor; the statement is prepared under `name` (on
 * PostgreSQL, each pooled connection parses and plans it once). Executing it returns the
 * driver's raw rows; placeholders (`sql.placeholder`) take the values given to `execute`.
 */
export function preparedStatement(name: string, build: (db: Executor) => { toSQL(): Query }) {
  let query: Query | undefined
  return (db: Executor) => {
    query ??= build(db).toSQL()
    return db._.session.prepareQuery<PreparedQueryConfig & { execute: { rows: RawRow[] } }>(
      query,
      undefined,
      name,
      false,
    )
  }
}
