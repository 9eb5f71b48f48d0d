// The dashboard's build: a static app under /dashboard/ with hashed assets, served by core-api
// (src/modules/dashboard). The SDK is compiled from its TypeScript source, so the dashboard
// always calls the operations of the server it ships with.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'
import react from '@vitejs/plugin-react'
import { defineConfig, type Plugin } from 'vite'

const OUT = fileURLToPath(new URL('dist', import.meta.url))

/** Writes `.br` and `.gz` twins of every text file, so the server sends them without compressing. */
function precompress(): Plugin {
  return {
    name: 'core-api-precompress',
    apply: 'build',
    closeBundle() {
      for (const entry of readdirSync(OUT, { recursive: true, withFileTypes: true })) {
        if (!entry.isFile() || !/\.(?:js|css|html|svg|json)$/.test(entry.name)) continue
        const path = join(entry.parentPath, entry.name)
        const body = readFileSync(path)
        if (body.length < 1024) continue
        writeFileSync(`${path}.gz`, gzipSync(body, { level: 9 }))
        writeFileSync(
          `${path}.br`,
          brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }),
        )
      }
    },
  }
}

export default defineConfig({
  base: '/dashboard/',
  plugins: [react(), precompress()],
  resolve: {
    alias: { '@core-api/sdk': fileURLToPath(new URL('../packages/sdk/src/index.ts', import.meta.url)) },
  },
  // The server puts a fresh nonce in place of this on every response (the page's style-src).
  html: { cspNonce: '__CSP_NONCE__' },
  build: {
    outDir: OUT,
    emptyOutDir: true,
    target: 'es2022',
    // Nothing inlined as a data: URL: the page's CSP allows files from 'self' only.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
})
