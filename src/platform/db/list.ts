// SQL for the list machinery: the common date filters and the sort of a ListQuery, mapped
// onto a table's columns. Each resource's store adds its own filters beside these.
import { asc, type Column, desc, gte, lte, type SQL } from 'drizzle-orm'
import type { ListQuery } from '../http/list.ts'

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
export function orderBy(query: ListQuery, columns: Record<string, Column>): SQL[] {
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
