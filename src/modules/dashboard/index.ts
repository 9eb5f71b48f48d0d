// Dashboard module: serves the React app built into web/dist (by `npm install`'s `prepare`, see
// docs/dashboard.md) under /dashboard. The app is static and calls the public API with the
// signed-in user's session like any other client, so this module only hands out files:
// - hashed assets (`/dashboard/assets/…`) are immutable and cached for a year, sent
//   precompressed (brotli or gzip, made by the build) when the client accepts it;
// - any other path that names no file is a client route: it gets index.html (SPA fallback),
//   never cached, with a Content-Security-Policy whose style nonce is new on every response
//   (scripts only from this origin, no inline script at all);
// - without a build the server still starts, and /dashboard answers 503 with a page saying so.
import { createHash, randomBytes } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { extname, join, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/** Where the build lands (web/vite.config.ts). */
export const DASHBOARD_DIST = fileURLToPath(new URL('../../../web/dist', import.meta.url))

const NONCE_PLACEHOLDER = '__CSP_NONCE__'
const IMMUTABLE = 'public, max-age=31536000, immutable'
const REVALIDATE = 'public, max-age=3600, must-revalidate'

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
}

type StaticFile = {
  body: Buffer
  type: string
  etag: string
  /** The build's precompressed twins, by content-encoding. */
  encoded: Partial<Record<'br' | 'gzip', Buffer>>
}

/** The policy of index.html: everything from this origin, scripts never inline. */
function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    // Dialogs lock scrolling with a <style> element they create; it carries this nonce.
    `style-src 'self' 'nonce-${nonce}'`,
    "img-src 'self'",
    "font-src 'self'",
    "connect-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ')
}

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dashboard not built</title></head>
<body><h1>The dashboard was not built</h1>
<p>This server has no <code>web/dist</code>. <code>npm install</code> builds it (its
<code>prepare</code> script runs <code>npm run dashboard:build</code>); run that command and
restart the server. The API and its reference at <a href="/docs">/docs</a> work without it.</p>
</body></html>
`

export async function dashboardModule(app: FastifyInstance, options: { root?: string } = {}): Promise<void> {
  const root = resolve(options.root ?? DASHBOARD_DIST)
  const index = await readFile(join(root, 'index.html'), 'utf8').catch(() => null)
  // Static files are answered by no credential and refused by no bucket.
  const config = { unmetered: true }

  if (index === null) {
    app.log.warn({ root }, 'the dashboard is not built: /dashboard answers 503')
    const notBuilt = async (_req: FastifyRequest, reply: FastifyReply) =>
      reply
        .code(503)
        .header('cache-control', 'no-store')
        .header('content-security-policy', "default-src 'none'; frame-ancestors 'none'")
        .header('x-content-type-options', 'nosniff')
        .type('text/html; charset=utf-8')
        .send(NOT_BUILT_PAGE)
    app.get('/dashboard', { schema: { hide: true }, config }, notBuilt)
    app.get('/dashboard/*', { schema: { hide: true }, config }, notBuilt)
    return
  }

  const files = new Map<string, StaticFile | null>()
  /** The file at `relative` under the build, or null: read once, then kept (a build never changes). */
  async function lookup(relative: string): Promise<StaticFile | null> {
    const cached = files.get(relative)
    if (cached !== undefined) return cached
    const path = resolve(root, relative)
    let file: StaticFile | null = null
    if (path.startsWith(root + sep) && (await stat(path).catch(() => null))?.isFile()) {
      const body = await readFile(path)
      const [br, gzip] = await Promise.all([
        readFile(`${path}.br`).catch(() => undefined),
        readFile(`${path}.gz`).catch(() => undefined),
      ])
      file = {
        body,
        type: TYPES[extname(path)] ?? 'application/octet-stream',
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
        encoded: { ...(br && { br }), ...(gzip && { gzip }) },
      }
    }
    // Misses are kept too, but only a bounded number of them (the paths come from clients).
    if (file !== null || files.size < 1000) files.set(relative, file)
    return file
  }

  function sendIndex(reply: FastifyReply) {
    const nonce = randomBytes(18).toString('base64')
    return reply
      .header('cache-control', 'no-cache')
      .header('content-security-policy', contentSecurityPolicy(nonce))
      .header('x-content-type-options', 'nosniff')
      .header('x-frame-options', 'DENY')
      .header('referrer-policy', 'same-origin')
      .header('cross-origin-opener-policy', 'same-origin')
      .type('text/html; charset=utf-8')
      .send(index!.replaceAll(NONCE_PLACEHOLDER, nonce))
  }

  app.get('/dashboard', { schema: { hide: true }, config }, async function dashboardRoot(req, reply) {
    const query = req.url.indexOf('?')
    return reply.redirect(`/dashboard/${query === -1 ? '' : req.url.slice(query)}`, 301)
  })

  app.get<{ Params: { '*': string } }>(
    '/dashboard/*',
    { schema: { hide: true }, config },
    async function dashboardFile(req, reply) {
      const relative = req.params['*']
      if (relative === '' || relative === 'index.html') return sendIndex(reply)
      const unsafe = relative.includes('\0') || relative.includes('\\') || relative.split('/').includes('..')
      const file = unsafe ? null : await lookup(relative)
      if (file === null) {
        // A name with an extension is a file that does not exist; anything else is a client route.
        const last = relative.slice(relative.lastIndexOf('/') + 1)
        if (unsafe || relative.startsWith('assets/') || last.includes('.')) {
          return reply.code(404).header('cache-control', 'no-store').type('text/plain').send('Not found')
        }
        return sendIndex(reply)
      }
      reply
        .header('cache-control', relative.startsWith('assets/') ? IMMUTABLE : REVALIDATE)
        .header('etag', file.etag)
        .header('vary', 'accept-encoding')
        .header('x-content-type-options', 'nosniff')
      if (req.headers['if-none-match'] === file.etag) return reply.code(304).send()
      reply.type(file.type)
      const accepted = String(req.headers['accept-encoding'] ?? '')
      for (const encoding of ['br', 'gzip'] as const) {
        const body = file.encoded[encoding]
        if (body && new RegExp(`\\b${encoding}\\b(?!;\\s*q=0(?:\\.0*)?(?:[,\\s]|$))`).test(accepted)) {
          return reply.header('content-encoding', encoding).send(body)
        }
      }
      return reply.send(file.body)
    },
  )
}
