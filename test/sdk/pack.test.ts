// What users install: `npm pack` of packages/sdk (its prepack compiles the TypeScript), installed
// offline into a fresh project outside the repository, runs a plain .mjs quick start with the
// machine's own node (no TypeScript tooling there) against a running server, and its .d.ts
// type-check a TypeScript consumer with default strict settings.
import { execFile, execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { useServer } from './server.ts'

const execFileAsync = promisify(execFile)
const ROOT = join(import.meta.dirname, '..', '..')
const npmAvailable = spawnSync('npm', ['--version'], { encoding: 'utf8' }).status === 0
if (!npmAvailable) console.warn('npm is not on PATH: skipping the packed SDK test')

/** The node a user would run: the first on PATH outside node_modules (this machine's own), else this one. */
function userNode(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir.includes('node_modules')) continue
    const candidate = join(dir, process.platform === 'win32' ? 'node.exe' : 'node')
    if (existsSync(candidate)) return candidate
  }
  return process.execPath
}

const QUICK_START = `
import { createServer } from 'node:http'
import { createClient, NotFoundError, verifyWebhook } from '@core-api/sdk'

const baseUrl = process.env.CORE_API_URL
const admin = createClient({ baseUrl, apiKey: process.env.CORE_API_MASTER_KEY })
const { data: workspace } = await admin.workspaces.create({ name: 'Acme' })
const { data: key } = await admin.apiKeys.create(
  { name: 'backend', scopes: ['posts:*', 'webhooks:*'] },
  { workspaceId: workspace.id },
)

const api = createClient({ baseUrl, apiKey: key.key })
for (const title of ['One', 'Two', 'Three']) await api.posts.create({ title, status: 'published' })
const titles = []
for await (const post of api.posts.list({ per_page: 2, sort: 'created_at' })) titles.push(post.title)
const first = await api.posts.list({ per_page: 2 })

let notFound = null
try {
  await api.posts.get(424242)
} catch (error) {
  if (error instanceof NotFoundError) notFound = { code: error.code, requestId: error.requestId }
}

// A receiver that verifies what it is sent, and a test send to it.
let event = null
const receiver = createServer((req, res) => {
  let body = ''
  req.on('data', (chunk) => { body += chunk })
  req.on('end', async () => {
    event = await verifyWebhook(body, req.headers, endpoint.secret)
    res.writeHead(204).end()
  })
})
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve))
const { data: endpoint } = await api.webhooks.create({
  url: 'http://127.0.0.1:' + receiver.address().port + '/hooks',
  events: ['post.*'],
})
const test = await api.webhooks.test(endpoint.id)
receiver.close()

console.log(JSON.stringify({ node: process.version, titles, total: first.meta.total, notFound, test: test.success, event: event?.type }))
`

const CONSUMER = `
import { createClient, type WebhookEvent, ValidationError } from '@core-api/sdk'
const api = createClient({ baseUrl: 'http://localhost:3000', apiKey: 'sk_live_x' })
export async function run(): Promise<string> {
  const { data: post } = await api.posts.create({ title: 'Typed' })
  // @ts-expect-error: a title is a string
  await api.posts.create({ title: 5 })
  // @ts-expect-error: a delivery needs the webhook id and the delivery id
  await api.webhooks.getDelivery(1)
  for await (const item of api.posts.list({ per_page: 10 })) item.title.toUpperCase()
  const page = await api.posts.list()
  const total: number = page.meta.total
  const error = new Error() as unknown
  if (error instanceof ValidationError) Object.keys(error.errors)
  const event = {} as WebhookEvent
  if (event.type === 'post.created') event.data.title.toUpperCase()
  return post.title + total
}
`

describe.skipIf(!npmAvailable)('the packed SDK', () => {
  const server = useServer()

  it('installs offline into a fresh project and runs a plain .mjs quick start under the machine node', {
    timeout: 120_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'core-api-sdk-'))
    try {
      const packed = JSON.parse(
        execFileSync('npm', ['pack', '--workspace', 'packages/sdk', '--pack-destination', dir, '--json'], {
          cwd: ROOT,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      ) as Array<{ filename: string; files: Array<{ path: string }> }>
      const files = packed[0]!.files.map((f) => f.path).sort()
      expect(files).toEqual(
        expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'dist/schema.d.ts', 'package.json']),
      )
      expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]) // no sources to strip

      const project = join(dir, 'app')
      mkdirSync(project)
      writeFileSync(
        join(project, 'package.json'),
        JSON.stringify({ name: 'app', private: true, type: 'module' }),
      )
      execFileSync(
        'npm',
        [
          'install',
          join(dir, packed[0]!.filename),
          '--offline',
          '--no-audit',
          '--no-fund',
          '--ignore-scripts',
        ],
        { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] },
      )
      writeFileSync(join(project, 'quick-start.mjs'), QUICK_START)
      const node = userNode()
      // Asynchronously: the server answering it runs in this process.
      const { stdout: output } = await execFileAsync(node, ['quick-start.mjs'], {
        cwd: project,
        timeout: 30_000,
        env: {
          PATH: process.env.PATH,
          CORE_API_URL: server.baseUrl,
          CORE_API_MASTER_KEY: server.t.masterKey,
        },
      })
      const result = JSON.parse(output.trim())
      expect(result).toEqual({
        node: execFileSync(node, ['--version'], { encoding: 'utf8' }).trim(),
        titles: ['One', 'Two', 'Three'],
        total: 3,
        notFound: { code: 'not_found', requestId: expect.stringMatching(/^req_/) },
        test: true,
        event: 'webhook.test',
      })

      writeFileSync(join(project, 'consumer.ts'), CONSUMER)
      writeFileSync(
        join(project, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            module: 'nodenext',
            moduleResolution: 'nodenext',
            target: 'es2022',
            lib: ['es2022', 'dom'],
            types: [],
            noEmit: true,
          },
          include: ['consumer.ts'],
        }),
      )
      const tsc = spawnSync(
        process.execPath,
        [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project],
        {
          encoding: 'utf8',
        },
      )
      expect(tsc.stdout + tsc.stderr).toBe('')
      expect(tsc.status).toBe(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
