// The baseline of the resource read: a bare Fastify route doing the same primary-key SELECT
// that GET /api/v1/workspaces/{id} does, on the same engine and data, with no platform around it.
import { PGlite } from '@electric-sql/pglite'
import Fastify from 'fastify'
import pg from 'pg'

const query = 'select id, name, slug, tier, settings, created_at, updated_at from workspaces where id = $1'
type Run = (id: number) => Promise<Record<string, unknown> | undefined>
let run: Run
if (process.env.DATABASE_URL) {
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 })
  run = async (id) => (await pool.query(query, [id])).rows[0]
} else {
  const db = new PGlite(process.env.DATA_DIR!)
  run = async (id) => (await db.query<Record<string, unknown>>(query, [id])).rows[0]
}

const app = Fastify()
app.get('/health', async () => ({ status: 'ok' }))
app.get<{ Params: { id: string } }>('/workspaces/:id', async (req, reply) => {
  const row = await run(Number(req.params.id))
  if (!row) return reply.code(404).send({ error: 'not_found' })
  return { data: row }
})
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
