// SQL for the list machinery: the common date filters and the sort of a ListQuery, mapped
// onto a table's columns, and the page-plus-total query. Each resource's store adds its own
// filters beside these.
import { asc, type Column, count, desc, gte, lte, type SQL } from 'drizzle-orm'
import type { PgSelect, PgTable } from 'drizzle-orm/pg-core'
import type { ListQuery } from '../http/list.ts'
import type { Database } from './index.ts'

export type ListColumns = { createdAt: Column; updatedAt?: Column }

/** Conditions of the created_/updated_ after/before filters. */
export function dateFilters(query: ListQuery, columns: ListColumns): SQL[] {
  const out: SQL[] = []
  if (query.createdAfter) out.push(gte(columns.createdAt, query.createdAfter))
  if (query.createdBefore) out.push(lte(columns.createdAt, query.createdBefore))
  if (columns.updatedAt) {
    if (query.updatedAfter) out.push(gte(columns.updatedAt, query.updatedAfter))
    if (query.updatedBefore) out.push(lte(columns.updatedAt, query.updatedBefore))
  }
  return out
}

/** ORDER BY of the query's sort (API field names → columns), with `id` breaking ties. */
function orderBy(query: ListQuery, columns: Record<string, Column>): SQL[] {
  const out = query.sort.map((key) => {
    const column = columns[key.field]
    if (!column) throw new Error(`sort field ${key.field} has no column`)
    return key.descending ? desc(column) : asc(column)
  })
  const last = query.sort.at(-1)
  out.push(last?.descending ? desc(columns.id!) : asc(columns.id!))
  return out
}

/** A LIKE pattern matching `term` literally anywhere. */
export function containsPattern(term: string): string {
  return `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
}

/**
 * One page of a list — the rows of `select` (`db.select(…).from(table).$dynamic()`) matching
 * `where`, in the query's sort — and the total of the rows of `from` matching `where`, both
 * queried at once.
 */
export async function paginate<S extends PgSelect>(
  db: Database,
  select: S,
  list: { from: PgTable; where: SQL | undefined; query: ListQuery; sort: Record<string, Column> },
): Promise<{ rows: Awaited<S>; total: number }> {
  const { from, where, query, sort } = list
  const [rows, [total]] = await Promise.all([
    select
      .where(where)
      .orderBy(...orderBy(query, sort))
      .limit(query.perPage)
      .offset(query.offset),
    db.select({ n: count() }).from(from).where(where),
  ])
  return { rows: rows as Awaited<S>, total: total?.n ?? 0 }
}
