// Baseline of the auth path: a Fastify hello-world, about the fastest a Node HTTP service
// answers a JSON request. Started as a child process like core-api, so both pay the same costs.
import Fastify from 'fastify'

const app = Fastify()
app.get('/health', async () => ({ status: 'ok' }))
app.get('/hello', async () => ({ hello: 'world' }))
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
