// How many statements a post's writes send to the database, counted by a logger on the real
// driver (PGlite, or PostgreSQL when DATABASE_URL is set). BEGIN and COMMIT are left out: PGlite
// issues them itself. The figures are the contract of the write path: the entitlement, the row,
// its tags and their links are one statement; the outbox event is what the event sink writes.
import { sql } from 'drizzle-orm'
import { beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { useTestApp } from '../../testing/harness.ts'

const t = useTestApp({ env: { WEBHOOK_WORKER: '0' } }) // no worker polling meanwhile
let statements: string[] = []
beforeAll(() => {
  // Drizzle's sessions (and the transactions they open) log every statement they send.
  const session = (
    t.database.db as unknown as { session: { logger: unknown; options: { logger?: unknown } } }
  ).session
  const logger = { logQuery: (query: string) => statements.push(query) }
  session.logger = logger
  session.options.logger = logger
})
beforeEach(() => t.clock.advance(61_000))

/** The statements `run` sends, without BEGIN and COMMIT. */
async function counted(run: () => Promise<unknown>): Promise<string[]> {
  statements = []
  await run()
  return statements.filter((s) => !/^(begin|commit)\b/i.test(s.trim()))
}

const createPost = (key: string, payload: Record<string, unknown>) =>
  t.call(key, { method: 'POST', url: '/api/v1/posts', payload })

describe('posts: statements per write', () => {
  for (const tier of ['free', 'enterprise']) {
    it(`a create on the ${tier} plan is one statement plus the outbox event's, with or without tags`, async () => {
      const ws = await t.workspace({ tier })
      const { key } = await t.key(ws.id)
      // the first create of a limited workspace may set up its counter
      expect((await createPost(key, { title: 'first' })).statusCode).toBe(201)
      for (const payload of [{ title: 'plain' }, { title: 'tagged', tags: ['b', 'a', 'new-tag'] }]) {
        let status = 0
        const sent = await counted(async () => {
          status = (await createPost(key, payload)).statusCode
        })
        expect(status).toBe(201)
        // 1 for the post (entitlement, row, tags, links) + 1 for the event (event, deliveries, NOTIFY)
        expect(sent, sent.join('\n---\n')).toHaveLength(2)
        expect(
          sent.some((s) => /count\(/i.test(s)),
          'no COUNT on a create',
        ).toBe(false)
      }
    })
  }

  it('post 10,000 of a workspace costs the statements post 1 does', async () => {
    const empty = await t.workspace({ tier: 'agency' }) // 10,000 posts
    const full = await t.workspace({ tier: 'agency' })
    await t.database.db.execute(
      sql`insert into posts (workspace_id, title) select ${full.id}, 'old ' || g from generate_series(1, 9998) g`,
    )
    const [a, b] = [(await t.key(empty.id)).key, (await t.key(full.id)).key]
    expect((await createPost(a, { title: 'first' })).statusCode).toBe(201)
    expect((await createPost(b, { title: 'post 9,999' })).statusCode).toBe(201) // starts its counter
    const first = await counted(() => createPost(a, { title: 'second' }))
    let status = 0
    const last = await counted(async () => {
      status = (await createPost(b, { title: 'post 10,000' })).statusCode
    })
    expect(status).toBe(201)
    expect(last).toEqual(first)
    const refused = await createPost(b, { title: 'post 10,001' })
    expect(refused.statusCode).toBe(403)
    expect(refused.json()).toMatchObject({ limit: 10000, current_usage: 10000 })
  })

  it('a delete is one statement plus the outbox event', async () => {
    const ws = await t.workspace({ tier: 'free' })
    const { key } = await t.key(ws.id, { scopes: ['posts:*'] })
    const id = (await createPost(key, { title: 'to delete', tags: ['x'] })).json().data.id
    let status = 0
    const sent = await counted(async () => {
      status = (await t.call(key, { method: 'DELETE', url: `/api/v1/posts/${id}` })).statusCode
    })
    expect(status).toBe(204)
    expect(sent, sent.join('\n---\n')).toHaveLength(2)
  })
})
