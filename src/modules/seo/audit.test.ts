// Audits end to end: real Lighthouse in Debian's headless Chromium against pages served on
// loopback, the SSRF refusal of a host that resolves to a private address, the timeout that
// kills the process tree, an audit whose server is killed, and a job whose holder died (lease
// run out) run again once, then failed. No audit leaves a browser or a profile folder behind.
import { spawn } from 'node:child_process'
import { lookup } from 'node:dns/promises'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { eq } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isBlockedAddress } from '../../platform/net/ssrf.ts'
import { type TestApp, useTestApp } from '../../testing/harness.ts'
import { processesMatching } from '../../testing/processes.ts'
import { LighthouseRunner } from './runner.ts'
import { seoAudits, seoReports } from './tables.ts'
import { ABANDONED } from './worker.ts'

const CHROMIUM = '/usr/bin/chromium'
const hasChromium = existsSync(CHROMIUM)
if (!hasChromium) console.warn(`SEO audit tests skipped: ${CHROMIUM} is missing`)

const PAGE = `<!doctype html><html lang="en"><head><title>Audit fixture</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><h1>Products</h1><p>A page with an image without alt text and no meta description.</p>
<img src="/pixel.png" width="40" height="40"></body></html>`
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6300010000000500010d0a2db40000000049454e44ae426082',
  'hex',
)

let server: http.Server
let base: string
beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/hang') return // never answers
    if (req.url === '/pixel.png') return void res.writeHead(200, { 'content-type': 'image/png' }).end(PNG)
    if (req.url === '/robots.txt')
      return void res.writeHead(200, { 'content-type': 'text/plain' }).end('User-agent: *\nAllow: /\n')
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => {
  server.closeAllConnections()
  server.close()
})

async function settled(t: TestApp, key: string, id: number, timeoutMs = 150_000) {
  const until = Date.now() + timeoutMs
  for (;;) {
    const res = await t.call(key, { method: 'GET', url: `/api/v1/seo/audits/${id}` })
    const data = res.json().data
    if (data.status === 'succeeded' || data.status === 'failed') return data
    if (Date.now() > until) throw new Error(`audit ${id} still ${data.status}`)
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}

/**
 * This file's own temporary folder: every audit it runs makes its folder there, so the checks
 * below see this file's browsers and folders only, never another run's on the same machine.
 */
const systemTemp = tmpdir()
const ownTemp = mkdtempSync(join(systemTemp, 'core-api-seo-test-'))
process.env.TMPDIR = ownTemp
afterAll(() => rmSync(ownTemp, { recursive: true, force: true }))

/** Chromium processes this file's audits started (their profiles are in its folder). */
const auditBrowsers = () => processesMatching(`user-data-dir=${ownTemp}`)

describe.skipIf(!hasChromium)('seo audits with Lighthouse (insecure URLs allowed, for loopback)', () => {
  const t = useTestApp({ env: { WEBHOOK_ALLOW_INSECURE_URLS: '1', SEO_AUDIT_POLL_SECONDS: '1' } })

  it('audits a page and stores its scores and failed audits (image-alt, meta-description) as a report', async () => {
    const ws = await t.workspace()
    const { key } = await t.key(ws.id)
    const queued = await t.call(key, {
      method: 'POST',
      url: '/api/v1/seo/audits',
      payload: { url: `${base}/` },
    })
    expect(queued.statusCode, queued.body).toBe(202)
    const audit = await settled(t, key, queued.json().data.id)
    expect(audit, JSON.stringify(audit)).toMatchObject({ status: 'succeeded', error: null, attempts: 1 })
    expect(audit.report_id).toEqual(expect.any(Number))

    const report = (
      await t.call(key, { method: 'GET', url: `/api/v1/seo/reports/${audit.report_id}` })
    ).json().data
    expect(report).toMatchObject({ url: `${base}/`, source: 'audit' })
    for (const score of Object.values(report.scores)) expect(score).toEqual(expect.any(Number))
    const byType = new Map(report.issues.map((i: { issue_type: string }) => [i.issue_type, i]))
    expect(byType.get('image-alt')).toMatchObject({
      severity: 'error',
      url: `${base}/`,
      details: { element: expect.stringContaining('img'), message: expect.any(String) },
    })
    expect(byType.get('meta-description')).toMatchObject({ severity: 'error', details: { element: null } })
    expect(report.issue_count).toBe(report.issues.length)
    const filtered = await t.call(key, { method: 'GET', url: `/api/v1/seo/issues/${ws.id}?type=image-alt` })
    expect(filtered.json().meta.total).toBeGreaterThanOrEqual(1)
    expect(auditBrowsers()).toEqual([])
    expect(readdirSync(ownTemp)).toEqual([]) // the audit's folder is gone
  }, 180_000)

  it('runs again, once, an audit whose holder died (its lease ran out), then fails the next such one', async () => {
    const ws = await t.workspace()
    const { key } = await t.key(ws.id)
    const { db } = t.database
    const past = new Date(t.clock.now() - 1000)
    // What a worker killed mid-run leaves behind: running, one run counted, a lease run out.
    const [dead] = await db
      .insert(seoAudits)
      .values({
        workspaceId: ws.id,
        url: `${base}/`,
        status: 'running',
        attempts: 1,
        lockedUntil: past,
        claimToken: 'dead',
      })
      .returning()
    const retried = await settled(t, key, dead!.id)
    expect(retried, JSON.stringify(retried)).toMatchObject({ status: 'succeeded', attempts: 2 })

    const [twice] = await db
      .insert(seoAudits)
      .values({
        workspaceId: ws.id,
        url: `${base}/`,
        status: 'running',
        attempts: 2,
        lockedUntil: past,
        claimToken: 'dead',
      })
      .returning()
    const failed = await settled(t, key, twice!.id)
    expect(failed).toMatchObject({ status: 'failed', attempts: 2, report_id: null, error: ABANDONED })
    const reports = await db.select().from(seoReports).where(eq(seoReports.workspaceId, ws.id))
    expect(reports).toHaveLength(1) // the retried run's only
  }, 180_000)

  it('kills the whole process tree when an audit outlives its timeout, and removes its folder', async () => {
    const runner = new LighthouseRunner({ chromiumPath: CHROMIUM, timeoutMs: 6000, allowInsecure: true })
    const started = Date.now()
    const result = await runner.run(`${base}/hang`)
    expect(result).toEqual({ ok: false, error: 'The audit did not finish within 6 seconds.' })
    expect(Date.now() - started).toBeLessThan(15_000)
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(auditBrowsers()).toEqual([])
    expect(readdirSync(ownTemp)).toEqual([])
  }, 30_000)

  it('audits when the temporary directory is too deep for Chromium to start in', async () => {
    // Chromium does not start with a TMPDIR of 63 characters or more: the audit's folder then
    // goes to /tmp.
    const deep = join(ownTemp, 'd'.repeat(48))
    mkdirSync(deep)
    process.env.TMPDIR = deep
    try {
      const runner = new LighthouseRunner({ chromiumPath: CHROMIUM, timeoutMs: 120_000, allowInsecure: true })
      const result = await runner.run(`${base}/`)
      expect(result, JSON.stringify(result)).toMatchObject({ ok: true })
      expect(readdirSync(deep)).toEqual([])
    } finally {
      process.env.TMPDIR = ownTemp
      rmSync(deep, { recursive: true, force: true })
    }
  }, 180_000)

  it('ends an audit whose server is gone: Chromium killed, its folder removed', async () => {
    // A server process running an audit of a page that never answers, killed mid-audit. Its
    // temporary folder is this test's own, so its Chromium is found by that path (made beside
    // the file's folder, not in it: the audit's folder would be too deep for Chromium there).
    const dir = mkdtempSync(join(systemTemp, 'core-api-seo-lost-'))
    const script =
      `import { LighthouseRunner } from ${JSON.stringify(new URL('./runner.ts', import.meta.url).href)}\n` +
      `await new LighthouseRunner({ chromiumPath: ${JSON.stringify(CHROMIUM)}, timeoutMs: 60000, allowInsecure: true })` +
      `.run(${JSON.stringify(`${base}/hang`)}).then((r) => console.log(JSON.stringify(r)))`
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, TMPDIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    parent.stdout.on('data', (chunk) => (output += chunk))
    parent.stderr.on('data', (chunk) => (output += chunk))
    const browsers = () => {
      if (parent.exitCode !== null)
        throw new Error(`the audit's process ended (${parent.exitCode}): ${output}`)
      return processesMatching(`user-data-dir=${dir}`)
    }
    try {
      // A new process loading Lighthouse, then Chromium: slow when the machine is busy (a full
      // test run took more than 20 s once).
      await expect.poll(browsers, { timeout: 45_000, interval: 200 }).not.toEqual([])
      expect(readdirSync(dir)).toHaveLength(1) // the audit's profile
    } finally {
      parent.kill('SIGKILL')
    }
    await expect.poll(browsers, { timeout: 10_000, interval: 200 }).toEqual([])
    await expect.poll(() => readdirSync(dir), { timeout: 15_000, interval: 200 }).toEqual([])
    rmSync(dir, { recursive: true, force: true })
  }, 90_000)
})

describe('seo audits without insecure URLs', () => {
  const t = useTestApp({ env: { SEO_AUDIT_POLL_SECONDS: '1', SEO_CHROMIUM_PATH: '/nonexistent/chromium' } })

  it('fails an audit whose host resolves to a private address, before any browser starts', async () => {
    const name = hostname()
    const address = await lookup(name)
      .then((a) => a.address)
      .catch(() => null)
    if (address === null || !isBlockedAddress(address)) {
      console.warn(`skipped: this machine's name (${name}) does not resolve to a private address`)
      return
    }
    const ws = await t.workspace()
    const { key } = await t.key(ws.id)
    const queued = await t.call(key, {
      method: 'POST',
      url: '/api/v1/seo/audits',
      payload: { url: `https://${name}/` },
    })
    expect(queued.statusCode, queued.body).toBe(202)
    const audit = await settled(t, key, queued.json().data.id, 30_000)
    expect(audit).toMatchObject({
      status: 'failed',
      report_id: null,
      error: `The URL is not allowed: ${name}: destination not allowed.`,
    })
    const reports = await t.database.db.select().from(seoReports).where(eq(seoReports.workspaceId, ws.id))
    expect(reports).toEqual([])
  }, 60_000)

  it('fails an audit with a clear error when Chromium is missing', async () => {
    const runner = new LighthouseRunner({
      chromiumPath: '/nonexistent/chromium',
      timeoutMs: 10_000,
      allowInsecure: true,
    })
    expect(await runner.run(`${base}/`)).toEqual({
      ok: false,
      error: 'Chromium was not found at /nonexistent/chromium: install it or set SEO_CHROMIUM_PATH.',
    })
  })
})
