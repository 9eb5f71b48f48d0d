// The SDK in a browser: Debian's Chromium loads the compiled package as ES modules from a page
// whose origin also serves the API (the API sends no CORS headers, so a page calls it from its
// own origin), and the page creates a workspace, a key and posts, pages through them, meets an
// error class, and verifies a webhook signed by the standardwebhooks package, with nothing but
// the browser's fetch and WebCrypto.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join, normalize } from 'node:path'
import type { Browser } from 'playwright-core'
import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../src/testing/harness.ts'
import { chromiumAvailable, launchBrowser } from './kit.ts'

const ROOT = join(import.meta.dirname, '..', '..')

/** Runs in the page (plain JavaScript, kept out of the test runner's transform). */
const IN_PAGE = `async ({ baseUrl, masterKey, secret, body, headers }) => {
  const sdk = await import(baseUrl + '/sdk/index.js')
  const admin = sdk.createClient({ baseUrl, apiKey: masterKey })
  const { data: workspace } = await admin.workspaces.create({ name: 'Browser Co' })
  const { data: key } = await admin.apiKeys.create({ name: 'page' }, { workspaceId: workspace.id })
  const api = sdk.createClient({ baseUrl, apiKey: key.key })
  for (const title of ['A', 'B', 'C']) await api.posts.create({ title })
  const titles = []
  for await (const post of api.posts.list({ per_page: 2, sort: 'title' })) titles.push(post.title)
  let notFound = false
  try {
    await api.posts.get(99999)
  } catch (error) {
    notFound = error instanceof sdk.NotFoundError && error.requestId.startsWith('req_')
  }
  const event = await sdk.verifyWebhook(body, new Headers(headers), secret)
  let tampered = ''
  try {
    await sdk.verifyWebhook(body.replace('Hi', 'Ho'), headers, secret)
  } catch (error) {
    tampered = error.name
  }
  return { titles, notFound, event: event.type, tampered }
}`

describe.skipIf(!chromiumAvailable)('the SDK in a browser', () => {
  let t: TestApp
  let browser: Browser
  let site: Server
  let origin = ''
  const dist = mkdtempSync(join(tmpdir(), 'core-api-sdk-browser-'))

  beforeAll(async () => {
    // The package as `npm pack` compiles it.
    execFileSync(process.execPath, [
      join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      join(ROOT, 'packages', 'sdk', 'tsconfig.build.json'),
      '--outDir',
      dist,
    ])
    t = await buildTestApp()
    const api = await t.app.listen({ port: 0, host: '127.0.0.1' })
    // One origin: the page and the SDK's files, and the API behind it.
    site = createServer(async (req, res) => {
      const url = req.url ?? '/'
      if (url === '/') {
        res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>SDK</title>')
      } else if (url.startsWith('/sdk/')) {
        const file = normalize(join(dist, url.slice('/sdk/'.length)))
        if (!file.startsWith(dist) || !existsSync(file)) return res.writeHead(404).end()
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(file))
      } else {
        const chunks: Buffer[] = []
        for await (const chunk of req) chunks.push(chunk as Buffer)
        const headers: Record<string, string> = {}
        for (const [name, value] of Object.entries(req.headers)) {
          if (typeof value === 'string' && !['host', 'connection', 'content-length'].includes(name)) {
            headers[name] = value
          }
        }
        const upstream = await fetch(api + url, {
          method: req.method,
          headers,
          body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
        })
        const out: Record<string, string> = {}
        upstream.headers.forEach((value, name) => {
          if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(name)) {
            out[name] = value
          }
        })
        res.writeHead(upstream.status, out).end(await upstream.text())
      }
    })
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve))
    origin = `http://127.0.0.1:${(site.address() as { port: number }).port}`
    browser = await launchBrowser()
  }, 90_000)

  afterAll(async () => {
    await browser?.close()
    site?.closeAllConnections()
    await new Promise((resolve) => site?.close(resolve))
    await t?.close()
    rmSync(dist, { recursive: true, force: true })
  })

  it('creates, pages through and verifies with the browser fetch and WebCrypto', async () => {
    const secret = `whsec_${Buffer.alloc(32, 5).toString('base64')}`
    const body = JSON.stringify({
      id: 'evt_b',
      type: 'post.created',
      timestamp: '2026-01-01T00:00:00Z',
      workspace_id: 1,
      data: { id: 1, title: 'Hi' },
    })
    const now = new Date()
    const headers = {
      'webhook-id': 'evt_b',
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign('evt_b', now, body),
    }
    const page = await browser.newPage()
    try {
      await page.goto(`${origin}/`)
      const args = { baseUrl: origin, masterKey: t.masterKey, secret, body, headers }
      const result = await page.evaluate(`(${IN_PAGE})(${JSON.stringify(args)})`)
      expect(result).toEqual({
        titles: ['A', 'B', 'C'],
        notFound: true,
        event: 'post.created',
        tampered: 'WebhookVerificationError',
      })
    } finally {
      await page.close()
    }
  })
})
