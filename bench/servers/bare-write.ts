// Baseline of the post create: a bare Fastify route writing a post and its outbox event in one
// transaction — BEGIN; INSERT post … RETURNING; INSERT event; pg_notify; COMMIT — on the same
// engine and schema as core-api, with nothing around it (no auth, no rate limit, no schema
// validation, no entitlement, no ORM). On PostgreSQL the statements are named (prepared once
// per connection) and the pool has core-api's default size (10).
import { randomBytes } from 'node:crypto'
import { PGlite } from '@electric-sql/pglite'
import Fastify from 'fastify'
import pg from 'pg'

const INSERT_POST = `insert into posts (workspace_id, title, body, status, created_at, updated_at)
  values ($1, $2, $3, 'draft', now(), now())
  returning id, workspace_id, author_id, title, body, status, published_at, created_at, updated_at`
const INSERT_EVENT = `insert into webhook_events (id, workspace_id, type, payload, created_at)
  values ($1, $2, 'post.created', $3, now())`
const NOTIFY = `select pg_notify('core_api_webhooks', '')`

type Query = (name: string, text: string, values: unknown[]) => Promise<Array<Record<string, unknown>>>
type Write = (run: (query: Query) => Promise<Record<string, unknown>>) => Promise<Record<string, unknown>>
let write: Write
if (process.env.DATABASE_URL) {
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 })
  write = async (run) => {
    const client = await pool.connect()
    try {
      await client.query('begin')
      const result = await run(
        async (name, text, values) => (await client.query({ name, text, values })).rows,
      )
      await client.query('commit')
      return result
    } catch (error) {
      await client.query('rollback')
      throw error
    } finally {
      client.release()
    }
  }
} else {
  const db = new PGlite(process.env.DATA_DIR!)
  write = (run) =>
    db.transaction((tx) =>
      run(async (_name, text, values) => (await tx.query<Record<string, unknown>>(text, values)).rows),
    )
}

const app = Fastify()
app.get('/health', async () => ({ status: 'ok' }))
app.post<{ Params: { id: string }; Body: { title: string; body?: string } }>(
  '/workspaces/:id/posts',
  async (req, reply) => {
    const workspaceId = Number(req.params.id)
    const post = await write(async (query) => {
      const [row] = await query('bench_post', INSERT_POST, [workspaceId, req.body.title, req.body.body ?? ''])
      const id = `evt_${randomBytes(12).toString('base64url')}`
      const payload = JSON.stringify({ id, type: 'post.created', workspace_id: workspaceId, data: row })
      await query('bench_event', INSERT_EVENT, [id, workspaceId, payload])
      await query('bench_notify', NOTIFY, [])
      return row!
    })
    return reply.code(201).send({ data: post })
  },
)
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
