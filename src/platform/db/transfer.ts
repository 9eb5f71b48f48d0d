// `core-api db export` / `db import`: a logical copy of every table, to move from the embedded
// database to PostgreSQL (or between PostgreSQL servers). The file is JSON lines — a header,
// then one `{"table", "row"}` line per row — written in foreign-key order from one consistent
// snapshot. Import fills a new, migrated database in one transaction: ids are kept, identity
// sequences continue after them, and a database that already holds data is refused.
import { once } from 'node:events'
import { createReadStream, createWriteStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { sql } from 'drizzle-orm'
import type { Database, Executor } from './index.ts'

export const EXPORT_FORMAT = 'core-api-export'
const EXPORT_VERSION = 1
const BATCH = 500

type Header = {
  format: typeof EXPORT_FORMAT
  version: number
  /** Migrations applied to the source; the target must have the same. */
  migrations: number
  exported_at: string
  /** Row count of each table, in the order the rows follow. */
  tables: Record<string, number>
}

type TableInfo = { name: string; columns: string[]; identity: string[]; primaryKey: string[] }

export class TransferError extends Error {
  override name = 'TransferError'
}

async function rows<T>(db: Executor, query: ReturnType<typeof sql>): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows: T[] }
  return result.rows
}

const ident = (name: string) => sql.raw(`"${name.replaceAll('"', '""')}"`)
const list = (names: string[]) => sql.raw(names.map((n) => `"${n.replaceAll('"', '""')}"`).join(', '))

async function migrationCount(db: Executor): Promise<number> {
  const [row] = await rows<{ n: number }>(
    db,
    sql`select count(*)::int as n from drizzle.__drizzle_migrations`,
  )
  return row?.n ?? 0
}

/** The application's tables (schema `public`), parents before children. */
async function tables(db: Executor): Promise<TableInfo[]> {
  const columns = await rows<{ table: string; column: string; identity: string }>(
    db,
    sql`select table_name as table, column_name as column, is_identity as identity
        from information_schema.columns
        where table_schema = 'public' and is_generated = 'NEVER'
        order by table_name, ordinal_position`,
  )
  const keys = await rows<{ table: string; column: string }>(
    db,
    sql`select c.relname as table, a.attname as column
        from pg_index i
        join pg_class c on c.oid = i.indrelid
        join pg_namespace n on n.oid = c.relnamespace and n.nspname = 'public'
        join lateral unnest(i.indkey) with ordinality as k(attnum, position) on true
        join pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum
        where i.indisprimary
        order by c.relname, k.position`,
  )
  const edges = await rows<{ child: string; parent: string }>(
    db,
    sql`select c.relname as child, p.relname as parent
        from pg_constraint f
        join pg_class c on c.oid = f.conrelid
        join pg_class p on p.oid = f.confrelid
        join pg_namespace n on n.oid = c.relnamespace and n.nspname = 'public'
        where f.contype = 'f' and f.conrelid <> f.confrelid`,
  )
  const byName = new Map<string, TableInfo>()
  for (const { table, column, identity } of columns) {
    let info = byName.get(table)
    if (!info) {
      info = { name: table, columns: [], identity: [], primaryKey: [] }
      byName.set(table, info)
    }
    info.columns.push(column)
    if (identity === 'YES') info.identity.push(column)
  }
  for (const { table, column } of keys) byName.get(table)?.primaryKey.push(column)

  // Parents first (Kahn's algorithm, alphabetical among equals so the order is stable).
  const parents = new Map<string, Set<string>>([...byName.keys()].map((t) => [t, new Set<string>()]))
  for (const { child, parent } of edges) if (byName.has(parent)) parents.get(child)?.add(parent)
  const ordered: TableInfo[] = []
  while (parents.size > 0) {
    const ready = [...parents].filter(([, p]) => p.size === 0).map(([t]) => t)
    if (ready.length === 0)
      throw new TransferError(`circular foreign keys among: ${[...parents.keys()].join(', ')}`)
    for (const table of ready.sort()) {
      ordered.push(byName.get(table)!)
      parents.delete(table)
      for (const p of parents.values()) p.delete(table)
    }
  }
  return ordered
}

/** Writes every table of `db` to `file` (mode 0600: it holds key hashes and encrypted secrets). */
export async function exportDatabase(db: Database, file: string): Promise<Header> {
  const out = createWriteStream(file, { mode: 0o600 })
  const failed = new Promise<never>((_, reject) => out.once('error', reject))
  const write = async (line: string) => {
    if (!out.write(`${line}\n`)) await Promise.race([once(out, 'drain'), failed])
  }
  try {
    // One snapshot: rows written while the export runs are either all in it or all not.
    const header = await db.transaction(
      async (tx) => {
        const all = await tables(tx)
        const counts: Record<string, number> = {}
        for (const table of all) {
          const [row] = await rows<{ n: number }>(
            tx,
            sql`select count(*)::int as n from ${ident(table.name)}`,
          )
          counts[table.name] = row?.n ?? 0
        }
        const header: Header = {
          format: EXPORT_FORMAT,
          version: EXPORT_VERSION,
          migrations: await migrationCount(tx),
          exported_at: new Date().toISOString(),
          tables: counts,
        }
        await write(JSON.stringify(header))
        for (const table of all) {
          const order = table.primaryKey.length > 0 ? table.primaryKey : table.columns
          for (let offset = 0; offset < counts[table.name]!; offset += BATCH) {
            const batch = await rows<{ line: string }>(
              tx,
              sql`select row_to_json(r)::text as line from (
                    select ${list(table.columns)} from ${ident(table.name)}
                    order by ${list(order)} limit ${BATCH} offset ${offset}) r`,
            )
            for (const { line } of batch) await write(`{"table":${JSON.stringify(table.name)},"row":${line}}`)
          }
        }
        return header
      },
      { isolationLevel: 'repeatable read', accessMode: 'read only' },
    )
    out.end()
    await Promise.race([once(out, 'finish'), failed])
    return header
  } catch (error) {
    out.destroy()
    throw error
  }
}

/** Loads an export into `db`, which must be migrated to the same level and hold no data. */
export async function importDatabase(db: Database, file: string): Promise<Header> {
  let header: Header | null = null
  let lineNumber = 0
  await db.transaction(async (tx) => {
    const known = new Map((await tables(tx)).map((t) => [t.name, t]))
    const written = new Map<string, number>()
    let pending = null as { table: TableInfo; rows: unknown[] } | null
    const flush = async () => {
      if (!pending || pending.rows.length === 0) return
      const { table, rows: batch } = pending
      const columns = list(table.columns)
      await tx.execute(sql`insert into ${ident(table.name)} (${columns})
        ${table.identity.length > 0 ? sql`overriding system value` : sql``}
        select ${columns} from json_populate_recordset(null::${ident(table.name)}, ${JSON.stringify(batch)}::json)`)
      written.set(table.name, (written.get(table.name) ?? 0) + batch.length)
      pending = { table, rows: [] }
    }

    // Opened here, where the lines are read: lines read before a reader listens would be lost.
    const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY })
    for await (const line of lines) {
      lineNumber++
      if (line.trim() === '') continue
      let parsed: unknown
      try {
        parsed = JSON.parse(line)
      } catch {
        throw new TransferError(`line ${lineNumber} is not JSON`)
      }
      if (header === null) {
        header = checkHeader(parsed)
        const target = await migrationCount(tx)
        if (target !== header.migrations) {
          throw new TransferError(
            `the export has ${header.migrations} migrations applied and this database ${target}: ` +
              'export and import with the same version of core-api',
          )
        }
        for (const table of known.values()) {
          const [row] = await rows<{ n: number }>(
            tx,
            sql`select count(*)::int as n from ${ident(table.name)}`,
          )
          if ((row?.n ?? 0) > 0) {
            throw new TransferError(
              `the target database is not empty (${table.name} has ${row!.n} rows): import into a new database`,
            )
          }
        }
        continue
      }
      const { table: name, row } = parsed as { table?: unknown; row?: unknown }
      const table = typeof name === 'string' ? known.get(name) : undefined
      if (!table || typeof row !== 'object' || row === null)
        throw new TransferError(`line ${lineNumber}: unknown table or malformed row`)
      if (pending?.table !== table) {
        await flush()
        pending = { table, rows: [] }
      }
      pending.rows.push(row)
      if (pending.rows.length >= BATCH) await flush()
    }
    if (header === null) throw new TransferError('the file is empty')
    await flush()
    const expected = (header as Header).tables
    for (const [name, count] of Object.entries(expected)) {
      if ((written.get(name) ?? 0) !== count)
        throw new TransferError(
          `${name}: the header announces ${count} rows, the file holds ${written.get(name) ?? 0}`,
        )
    }
    // New rows continue after the imported ids.
    for (const table of known.values()) {
      for (const column of table.identity) {
        await tx.execute(sql`select setval(
          pg_get_serial_sequence(${`"${table.name}"`}, ${column}),
          coalesce((select max(${ident(column)}) from ${ident(table.name)}), 1),
          (select count(*) > 0 from ${ident(table.name)}))`)
      }
    }
  })
  return header!
}

function checkHeader(value: unknown): Header {
  const header = value as Partial<Header> | null
  if (
    header?.format !== EXPORT_FORMAT ||
    header.version !== EXPORT_VERSION ||
    typeof header.migrations !== 'number' ||
    typeof header.tables !== 'object' ||
    header.tables === null
  ) {
    throw new TransferError(`not a ${EXPORT_FORMAT} file of version ${EXPORT_VERSION}`)
  }
  return header as Header
}
