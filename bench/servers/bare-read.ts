// Baseline of the resource read: a bare Fastify route running the primary-key SELECT of
// GET /api/v1/workspaces/{id} on the same engine and data, with nothing around it (no auth,
// no rate limit, no schema, no ORM). On PostgreSQL it names the statement, as core-api does,
// so each pooled connection plans it once; the pool has core-api's default size (10).
import { PGlite } from '@electric-sql/pglite'
import Fastify from 'fastify'
import pg from 'pg'

const text = 'select id, name, slug, tier, settings, created_at, updated_at from workspaces where id = $1'
type Select = (id: number) => Promise<Record<string, unknown> | undefined>
let select: Select
if (process.env.DATABASE_URL) {
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 })
  select = async (id) => (await pool.query({ name: 'workspace_by_id', text, values: [id] })).rows[0]
} else {
  const db = new PGlite(process.env.DATA_DIR!)
  select = async (id) => (await db.query<Record<string, unknown>>(text, [id])).rows[0]
}

const app = Fastify()
app.get('/health', async () => ({ status: 'ok' }))
app.get<{ Params: { id: string } }>('/workspaces/:id', async (req, reply) => {
  const row = await select(Number(req.params.id))
  if (!row) return reply.code(404).send({ error: 'not_found' })
  return { data: row }
})
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
