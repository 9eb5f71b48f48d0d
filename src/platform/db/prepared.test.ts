// Named prepared statements behave the same on both engines and on every executor: values of
// every type the write paths use go in and come back as Drizzle's raw rows would (numbers, text,
// JSON parsed, arrays, timestamps as text); an error, wrapped as Drizzle wraps it, inside one fails its transaction and
// leaves the database usable; a rolled-back write leaves nothing.
import { type SQL, sql } from 'drizzle-orm'
import { PgDialect } from 'drizzle-orm/pg-core'
import { describe, expect, it } from 'vitest'
import { useTestApp } from '../../testing/harness.ts'
import { preparedStatement } from './prepared.ts'

const t = useTestApp({ env: { WEBHOOK_WORKER: '0' } })

const dialect = new PgDialect()
const statement = (name: string, text: SQL) =>
  preparedStatement(name, () => ({ toSQL: () => dialect.sqlToQuery(text) }))
const p = (name: string) => sql.placeholder(name)

const roundTrip = statement(
  'test_round_trip',
  sql`select ${p('n')}::integer as n, ${p('text')}::text as text,
    ${p('tags')}::text[] as tags, json_build_object('tags', ${p('tags')}::text[]) as doc,
    ${p('at')}::timestamptz as at, ${p('missing')}::integer as missing, ${p('n')}::integer > 1 as flag`,
)
const divide = statement('test_divide', sql`select 10 / ${p('by')}::integer as q`)
const insertName = statement(
  'test_insert_name',
  sql`insert into prepared_probe (name) values (${p('name')}::text) returning id`,
)

const values = {
  n: 7,
  text: 'quote " and \\ backslash, comma',
  tags: ['a b', 'c,"d"', 'é'],
  at: '2026-01-02T03:04:05.000Z',
  missing: null,
}

describe('prepared statements', () => {
  it('give the same rows inside a transaction and outside one, call after call', async () => {
    const { db } = t.database
    const outside = (await roundTrip(db).execute(values)).rows
    const inside = await db.transaction(async (tx) => [
      (await roundTrip(tx).execute(values)).rows,
      (await roundTrip(tx).execute({ ...values, n: 8 })).rows,
    ])
    expect(outside).toEqual([
      {
        n: 7,
        text: values.text,
        tags: values.tags,
        doc: { tags: values.tags },
        at: expect.stringMatching(/^2026-01-02 03:04:05(\+00)?/),
        missing: null,
        flag: true,
      },
    ])
    expect(inside[0]).toEqual(outside)
    expect(inside[1]?.[0]).toMatchObject({ n: 8, flag: true })
  })

  it('fail their transaction on a database error, and the next transaction goes on', async () => {
    const { db } = t.database
    await expect(db.transaction((tx) => divide(tx).execute({ by: 0 }))).rejects.toMatchObject({
      cause: { message: 'division by zero' },
    })
    const ok = await db.transaction((tx) => divide(tx).execute({ by: 5 }))
    expect(ok.rows).toEqual([{ q: 2 }])
  })

  it('write nothing when their transaction rolls back', async () => {
    const { db } = t.database
    await db.execute(sql`create table if not exists prepared_probe (id serial primary key, name text)`)
    await expect(
      db.transaction(async (tx) => {
        await insertName(tx).execute({ name: 'rolled back' })
        throw new Error('abort')
      }),
    ).rejects.toThrow('abort')
    await db.transaction((tx) => insertName(tx).execute({ name: 'kept' }))
    const { rows } = (await db.execute(sql`select name from prepared_probe order by id`)) as unknown as {
      rows: unknown[]
    }
    expect(rows).toEqual([{ name: 'kept' }])
  })
})
