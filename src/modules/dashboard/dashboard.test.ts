import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { brotliCompressSync, gunzipSync, gzipSync } from 'node:zlib'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp } from '../../testing/harness.ts'
import { DASHBOARD_DIST, dashboardModule } from './index.ts'

const INDEX = `<!doctype html><html><head><meta property="csp-nonce" nonce="__CSP_NONCE__">
<script type="module" src="/dashboard/assets/app-abc123.js" nonce="__CSP_NONCE__"></script></head>
<body><div id="root"></div></body></html>`
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(2000))})`

async function serve(root: string): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(async (scope) => dashboardModule(scope, { root }))
  await app.ready()
  return app
}

describe('the dashboard files', () => {
  const root = mkdtempSync(join(tmpdir(), 'core-api-dashboard-'))
  const outside = `${root}-secret.txt`
  let app: FastifyInstance

  beforeAll(async () => {
    mkdirSync(join(root, 'assets'))
    writeFileSync(join(root, 'index.html'), INDEX)
    writeFileSync(join(root, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>')
    writeFileSync(join(root, 'assets', 'app-abc123.js'), SCRIPT)
    writeFileSync(join(root, 'assets', 'app-abc123.js.gz'), gzipSync(SCRIPT))
    writeFileSync(join(root, 'assets', 'app-abc123.js.br'), brotliCompressSync(SCRIPT))
    writeFileSync(outside, 'not for clients')
    app = await serve(root)
  })

  afterAll(async () => {
    await app.close()
    rmSync(root, { recursive: true, force: true })
    rmSync(outside, { force: true })
  })

  it('answers index.html, never cached, with a strict policy and a fresh nonce on each response', async () => {
    const first = await app.inject({ url: '/dashboard/' })
    const second = await app.inject({ url: '/dashboard/' })
    expect(first.statusCode).toBe(200)
    expect(first.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(first.headers['cache-control']).toBe('no-cache')
    expect(first.headers['x-frame-options']).toBe('DENY')
    const policy = String(first.headers['content-security-policy'])
    const nonce = /'nonce-([A-Za-z0-9+/=]+)'/.exec(policy)?.[1]
    expect(nonce).toMatch(/^[A-Za-z0-9+/]{24}$/)
    expect(policy).toContain("script-src 'self';")
    expect(policy).toContain("default-src 'none'")
    expect(policy).toContain("frame-ancestors 'none'")
    expect(policy).not.toContain('unsafe-inline')
    expect(policy).not.toContain('unsafe-eval')
    expect(first.body).not.toContain('__CSP_NONCE__')
    expect(first.body).toContain(`nonce="${nonce}"`)
    expect(second.headers['content-security-policy']).not.toBe(policy)
  })

  it('sends every client route index.html (SPA fallback), and /dashboard to /dashboard/', async () => {
    for (const url of ['/dashboard/sign-in', '/dashboard/w/3/keys?status=revoked', '/dashboard/index.html']) {
      const res = await app.inject({ url })
      expect(res.statusCode, url).toBe(200)
      expect(res.body, url).toContain('<div id="root">')
    }
    const root = await app.inject({ url: '/dashboard?x=1' })
    expect(root.statusCode).toBe(301)
    expect(root.headers.location).toBe('/dashboard/?x=1')
  })

  it('serves hashed assets immutable, precompressed when accepted, with an etag', async () => {
    const plain = await app.inject({ url: '/dashboard/assets/app-abc123.js' })
    expect(plain.statusCode).toBe(200)
    expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8')
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable')
    expect(plain.headers['content-encoding']).toBeUndefined()
    expect(plain.body).toBe(SCRIPT)

    const gzip = await app.inject({
      url: '/dashboard/assets/app-abc123.js',
      headers: { 'accept-encoding': 'gzip' },
    })
    expect(gzip.headers['content-encoding']).toBe('gzip')
    expect(gunzipSync(gzip.rawPayload).toString()).toBe(SCRIPT)
    expect(gzip.headers.vary).toBe('accept-encoding')

    const br = await app.inject({
      url: '/dashboard/assets/app-abc123.js',
      headers: { 'accept-encoding': 'gzip, deflate, br' },
    })
    expect(br.headers['content-encoding']).toBe('br')
    const refused = await app.inject({
      url: '/dashboard/assets/app-abc123.js',
      headers: { 'accept-encoding': 'br;q=0, gzip' },
    })
    expect(refused.headers['content-encoding']).toBe('gzip')

    const again = await app.inject({
      url: '/dashboard/assets/app-abc123.js',
      headers: { 'if-none-match': String(plain.headers.etag) },
    })
    expect(again.statusCode).toBe(304)
    expect(again.body).toBe('')

    const icon = await app.inject({ url: '/dashboard/favicon.svg' })
    expect(icon.headers['cache-control']).toBe('public, max-age=3600, must-revalidate')
    expect(icon.headers['content-type']).toBe('image/svg+xml')
  })

  it('answers 404 for a missing file, never index.html', async () => {
    for (const url of ['/dashboard/assets/gone-123.js', '/dashboard/robots.txt', '/dashboard/assets/x']) {
      const res = await app.inject({ url })
      expect(res.statusCode, url).toBe(404)
      expect(res.body, url).not.toContain('<div id="root">')
    }
  })

  it('never reads outside the build', async () => {
    const name = outside.slice(outside.lastIndexOf('/') + 1)
    for (const url of [
      `/dashboard/../${name}`,
      `/dashboard/%2e%2e/${name}`,
      `/dashboard/assets/%2e%2e/%2e%2e/${name}`,
      `/dashboard/..%5c${name}`,
      '/dashboard/%2e%2e%2fetc%2fpasswd',
      '/dashboard/assets/%00.js',
    ]) {
      const res = await app.inject({ url })
      expect(res.body, url).not.toContain('not for clients')
      expect(res.body, url).not.toContain('root:')
      expect([200, 404], url).toContain(res.statusCode)
      if (res.statusCode === 200) expect(res.body, url).toContain('<div id="root">')
    }
  })

  it('starts without a build and says so on /dashboard with 503', async () => {
    const missing = await serve(join(root, 'no-such-build'))
    try {
      for (const url of ['/dashboard', '/dashboard/', '/dashboard/w/1/keys']) {
        const res = await missing.inject({ url })
        expect(res.statusCode, url).toBe(503)
        expect(res.headers['content-type']).toBe('text/html; charset=utf-8')
        expect(res.headers['cache-control']).toBe('no-store')
        expect(res.body).toContain('The dashboard was not built')
        expect(res.body).toContain('npm run dashboard:build')
      }
    } finally {
      await missing.close()
    }
  })
})

describe('the dashboard as built by npm install', () => {
  const built = existsSync(join(DASHBOARD_DIST, 'index.html'))

  it('is built (npm install runs `npm run dashboard:build`)', () => {
    expect(built, `${DASHBOARD_DIST} is missing: run npm run dashboard:build`).toBe(true)
  })

  it.skipIf(!built)('loads its shell in under 200 KB of compressed JavaScript', () => {
    const index = readFileSync(join(DASHBOARD_DIST, 'index.html'), 'utf8')
    // The first load: the entry script and the chunks it preloads (screens are loaded on demand).
    const initial = [
      ...index.matchAll(/<(?:script|link)[^>]+(?:src|href)="\/dashboard\/(assets\/[^"]+\.js)"/g),
    ].map((match) => match[1]!)
    expect(initial.length).toBeGreaterThan(0)
    const bytes = initial.reduce(
      (sum, file) => sum + gzipSync(readFileSync(join(DASHBOARD_DIST, file)), { level: 9 }).length,
      0,
    )
    expect(bytes).toBeLessThan(200 * 1024)
    // Screens are separate chunks, not part of that first load.
    const chunks = readFileSync(join(DASHBOARD_DIST, initial[0]!), 'utf8')
    expect(chunks).toMatch(/api-keys-[\w-]+\.js/)
    expect(initial.some((file) => file.includes('api-keys'))).toBe(false)
  })

  it.skipIf(!built)(
    'is served by the application under /dashboard, unmetered and unauthenticated',
    async () => {
      const t = await buildTestApp({ env: { RATE_LIMIT_IP_PER_HOUR: '1' } })
      try {
        for (let i = 0; i < 3; i++) {
          const res = await t.app.inject({ url: '/dashboard/w/1/keys' })
          expect(res.statusCode).toBe(200)
          expect(res.body).toContain('<div id="root">')
        }
        // The same budget refuses a metered route (the pixel's script) once it is spent.
        const metered = [await t.app.inject({ url: '/pixel.js' }), await t.app.inject({ url: '/pixel.js' })]
        expect(metered.map((res) => res.statusCode)).toEqual([200, 429])
        const spec = (await t.app.inject({ url: '/api/openapi.json' })).json() as { paths: object }
        expect(Object.keys(spec.paths).some((path) => path.startsWith('/dashboard'))).toBe(false)
      } finally {
        await t.close()
      }
    },
    // A whole application of its own is built (the suite's shared one has no per-IP budget).
    90_000,
  )
})
