// The ceiling of POST /api/v1/pixel/track on this machine: a bare Fastify route taking the same
// `text/plain` JSON body and answering `{"tracked": true}`, writing nothing. Whatever a durable
// track adds (the site, the visitor id, the group commit and the database's own work) comes on
// top of what this costs. Started as a child process like core-api.
import Fastify from 'fastify'

const app = Fastify()
app.addContentTypeParser('text/plain', { parseAs: 'string' }, (_req, body, done) => {
  try {
    done(null, JSON.parse(body as string))
  } catch (error) {
    done(error as Error)
  }
})
app.get('/health', async () => ({ status: 'ok' }))
app.post('/track', async (req) => ({ tracked: typeof (req.body as { url?: unknown })?.url === 'string' }))
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
