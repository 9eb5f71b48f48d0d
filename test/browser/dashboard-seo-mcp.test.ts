// The SEO and MCP screens in Debian's Chromium against a real server. SEO: an audit of a page
// served on loopback (insecure URLs allowed, as in the audit tests) is started from the form,
// followed until Lighthouse has finished, and its report opened with its issues filtered by
// severity and type in the URL; the reports are filtered by source. MCP: the gateway's test
// server (an stdio fixture named in MCP_CONFIG) is listed as available with its tools, its input
// schemas shown, and called from the playground — from a generated form and from JSON (refused
// before sending when it is not JSON), a tool that reports an error (`is_error: true`) and one
// that never answers (502 `upstream_error`), each call then in the audit; an HTTP server is
// registered and removed. A member sees neither the audit form, the register button nor the
// playground, at phone width. axe-core, a screenshot and a clean console on every state.
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestApp } from '../../src/testing/harness.ts'
import { freePort } from '../../src/testing/processes.ts'
import { readArguments, readJsonArguments, toolFields } from '../../web/src/tool-form.ts'
import {
  addPeople,
  checkPage,
  chromiumAvailable,
  dashboardBuilt,
  launchBrowser,
  listeningApp,
  openPage,
  signIn,
} from './kit.ts'

// A page Lighthouse finds fault with: an image without alt text, no meta description.
const PAGE = `<!doctype html><html lang="en"><head><title>Audit fixture</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><h1>Products</h1><p>A page with an image without alt text and no meta description.</p>
<img src="/pixel.png" width="40" height="40"></body></html>`
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6300010000000500010d0a2db40000000049454e44ae426082',
  'hex',
)

describe.skipIf(!chromiumAvailable || !dashboardBuilt)('the SEO and MCP screens in a browser', () => {
  let t: TestApp
  let browser: Browser
  let base: string
  let workspace: { id: number }
  let site: Server
  let pageUrl: string
  let dir: string | undefined
  const owner = 'owner@seo-mcp.test'
  const member = 'member@seo-mcp.test'

  beforeAll(async () => {
    site = createServer((req, res) => {
      if (req.url === '/pixel.png') return void res.writeHead(200, { 'content-type': 'image/png' }).end(PNG)
      if (req.url === '/robots.txt')
        return void res.writeHead(200, { 'content-type': 'text/plain' }).end('User-agent: *\nAllow: /\n')
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE)
    })
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve))
    pageUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`

    dir = realpathSync(mkdtempSync(join(tmpdir(), 'core-api-dashboard-mcp-')))
    const mcpConfig = join(dir, 'mcp.json')
    const fixture = fileURLToPath(new URL('../../src/modules/mcp/fixture-server.ts', import.meta.url))
    writeFileSync(
      mcpConfig,
      JSON.stringify({
        mcpServers: {
          fixture: {
            command: process.execPath,
            args: [fixture],
            name: 'Fixture',
            description: 'The gateway test server',
            timeout: 1500,
          },
        },
      }),
    )

    // Loopback pages and servers are reachable only with insecure URLs allowed (tests only).
    ;({ t, base } = await listeningApp({
      WEBHOOK_ALLOW_INSECURE_URLS: '1',
      SEO_AUDIT_POLL_SECONDS: '1',
      // A shared machine can be slow: Lighthouse is given time before the audit is failed.
      SEO_AUDIT_TIMEOUT_SECONDS: '200',
      MCP_CONFIG: mcpConfig,
    }))
    workspace = await t.workspace({ name: 'Acme', tier: 'pro' })
    await addPeople(t, [
      { email: owner, role: 'owner', workspace: workspace.id, name: 'owner' },
      { email: member, role: 'member', workspace: workspace.id, name: 'member' },
    ])
    // A submitted report, beside the one the audit will make.
    const submitted = await t.call(t.masterKey, {
      method: 'POST',
      url: '/api/v1/seo/report',
      workspace: workspace.id,
      payload: {
        url: 'https://shop.example/pricing',
        scores: { performance: 71, accessibility: 93, best_practices: 100, seo: 45 },
        issues: [{ type: 'missing_alt', severity: 'warning', element: 'img.hero' }],
      },
    })
    expect(submitted.statusCode).toBe(201)
    browser = await launchBrowser()
  }, 90_000)

  afterAll(async () => {
    await browser?.close()
    await t?.close()
    site?.closeAllConnections()
    await new Promise((resolve) => site?.close(resolve))
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('starts an audit of a page, follows it to its end and opens its report, filtered by severity and type', async () => {
    const { context, page, errors } = await openPage(browser)
    try {
      await signIn(page, base, owner)
      await page.getByRole('link', { name: 'SEO', exact: true }).click()
      await page.getByRole('heading', { name: 'SEO', exact: true }).waitFor()
      await page.getByRole('link', { name: /https:\/\/shop\.example\/pricing/ }).waitFor()
      await page.getByText('No audits yet.').waitFor()
      await checkPage(page, errors, 'seo')

      // A URL the API refuses: the field's own message is shown, and nothing is queued.
      await page.getByLabel('Page URL', { exact: true }).fill('ftp://files.example/page')
      await page.getByRole('button', { name: 'Start audit' }).click()
      await page.getByText('url: The url field must be an http or https URL.').waitFor()
      errors.length = 0 // the browser logs the 422 it was answered
      await checkPage(page, errors, 'seo-audit-refused')
      await page.getByLabel('Page URL', { exact: true }).fill(pageUrl)
      const started = page.waitForResponse(
        (r) => r.url().endsWith('/api/v1/seo/audits') && r.request().method() === 'POST',
      )
      await page.getByRole('button', { name: 'Start audit' }).click()
      expect((await started).status()).toBe(202)
      await page.getByRole('heading', { name: new RegExp(`^Audit \\d+ of ${pageUrl}`) }).waitFor()
      const status = page.getByTestId('audit-status')
      expect(await status.textContent()).toMatch(/queued|running|succeeded/)
      await checkPage(page, errors, 'seo-audit-pending')
      // The screen asks again until Lighthouse is done (within the audit's own timeout).
      await expect.poll(() => status.textContent(), { timeout: 210_000, interval: 1000 }).toMatch(/succeeded/)
      await checkPage(page, errors, 'seo-audit-succeeded')

      await page.getByRole('link', { name: 'Open the report' }).click()
      await page.getByRole('heading', { name: pageUrl }).waitFor()
      await page.getByText('Lighthouse audit').waitFor()
      for (const key of ['performance', 'accessibility', 'best_practices', 'seo'])
        expect(await page.getByTestId(`score-${key}`).textContent()).toMatch(/^\d{1,3}$/)
      const issues = page.getByRole('region', { name: 'Issues table' })
      await issues
        .getByRole('row', { name: /image-alt/ })
        .first()
        .waitFor()
      await checkPage(page, errors, 'seo-report')

      // Filters of the issues, in the URL: errors only, then one type.
      await page.getByLabel('Severity').selectOption('error')
      await expect.poll(() => new URL(page.url()).searchParams.get('severity')).toBe('error')
      await issues.getByRole('row', { name: /meta-description/ }).waitFor()
      expect(await issues.getByRole('row', { name: / (warning|notice) / }).count()).toBe(0)
      await page.getByLabel('Type').selectOption('image-alt')
      await expect.poll(() => new URL(page.url()).searchParams.get('type')).toBe('image-alt')
      await expect.poll(() => issues.getByRole('row', { name: /meta-description/ }).count()).toBe(0)
      expect(await issues.getByRole('row', { name: /image-alt/ }).count()).toBeGreaterThanOrEqual(1)
      await page.reload()
      await page.getByRole('heading', { name: pageUrl }).waitFor()
      expect(await page.getByLabel('Severity').inputValue()).toBe('error')
      expect(await page.getByLabel('Type').inputValue()).toBe('image-alt')
      await checkPage(page, errors, 'seo-report-filtered')

      // Back on the list: the audit succeeded with its report; the reports filter by source.
      await page.getByRole('link', { name: '← SEO' }).click()
      const audits = page.getByRole('region', { name: 'SEO audits table' })
      await audits
        .getByRole('row', { name: new RegExp(pageUrl) })
        .getByText('succeeded')
        .waitFor()
      const reports = page.getByRole('region', { name: 'SEO reports table' })
      await expect.poll(() => reports.getByRole('row').count()).toBe(3) // the header and two reports
      await page.getByLabel('Source').selectOption('api')
      await expect.poll(() => new URL(page.url()).searchParams.get('source')).toBe('api')
      await expect.poll(() => reports.getByRole('row', { name: new RegExp(pageUrl) }).count()).toBe(0)
      expect(await reports.getByRole('row', { name: /shop\.example/ }).count()).toBe(1)
      await page.getByLabel('Source').selectOption('audit')
      await expect.poll(() => reports.getByRole('row', { name: /shop\.example/ }).count()).toBe(0)
      await page.getByLabel('Sort').selectOption('seo')
      await page.getByLabel('Page URL (exact)').fill('https://nowhere.example/')
      await page.getByRole('button', { name: 'Filter' }).click()
      await page.getByText('No report matches.').waitFor()
      const search = new URL(page.url()).searchParams
      expect([search.get('source'), search.get('sort'), search.get('url')]).toEqual([
        'audit',
        'seo',
        'https://nowhere.example/',
      ])
      await checkPage(page, errors, 'seo-filtered')
    } finally {
      await context.close()
    }
  }, 300_000)

  it('lists the MCP servers, shows a server’s tools and calls them from the playground', async () => {
    const { context, page, errors } = await openPage(browser, { colorScheme: 'dark' })
    try {
      await signIn(page, base, owner)
      await page.getByRole('link', { name: 'MCP', exact: true }).click()
      await page.getByRole('heading', { name: 'MCP servers' }).waitFor()
      const servers = page.getByRole('region', { name: 'MCP servers table' })
      const row = servers.getByRole('row', { name: /Fixture/ })
      // The list asks again while the server is still starting.
      await row.getByText('available').waitFor({ timeout: 20_000 })
      expect(await row.getByRole('cell').allTextContents()).toEqual(
        expect.arrayContaining(['stdio', '5', 'Operator']),
      )
      await checkPage(page, errors, 'mcp-servers')

      await row.getByRole('link', { name: 'Fixture' }).click()
      await page.getByRole('heading', { name: 'Fixture' }).waitFor()
      const echo = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'echo' }) })
      await echo.getByText('Answers its text').waitFor()
      await echo.getByText('Input schema').click()
      await echo.getByText('"What to say"').waitFor()
      await checkPage(page, errors, 'mcp-server')

      // A form from the schema: `text` (a required string) and `times` (an integer).
      const playground = page.locator('form.playground')
      expect(await playground.getByLabel('Tool').inputValue()).toBe('echo')
      await playground.getByLabel(/^text/).fill('hello from the dashboard')
      await playground.getByLabel(/^times/).fill('2')
      const sent = page.waitForRequest((r) => r.url().endsWith('/api/v1/mcp/tools/call'))
      await playground.getByRole('button', { name: 'Call tool' }).click()
      expect((await sent).postDataJSON()).toEqual({
        server: 'fixture',
        tool: 'echo',
        arguments: { text: 'hello from the dashboard', times: 2 },
      })
      await expect
        .poll(() => playground.getByTestId('result-text').textContent())
        .toMatch(/^hello from the dashboard \(pid \d+\)$/)
      expect(await playground.getByTestId('is-error').textContent()).toBe('is_error: false')
      await checkPage(page, errors, 'mcp-call-ok')

      // The arguments as JSON: refused before sending when they are not JSON.
      let calls = 0
      page.on('request', (r) => {
        if (r.url().endsWith('/api/v1/mcp/tools/call')) calls++
      })
      await playground.getByLabel('Write the arguments as JSON').check()
      await playground.getByLabel('Arguments (a JSON object)').fill('{"text": oops}')
      await playground.getByRole('button', { name: 'Call tool' }).click()
      await playground.getByText(/^Not valid JSON/).waitFor()
      expect(calls).toBe(0)
      await checkPage(page, errors, 'mcp-call-invalid-json')
      await playground.getByLabel('Arguments (a JSON object)').fill('{"text": "as JSON"}')
      await playground.getByRole('button', { name: 'Call tool' }).click()
      await expect.poll(() => playground.getByTestId('result-text').textContent()).toMatch(/^as JSON \(pid/)

      // A tool that reports an error: 200, with is_error true, shown as such.
      await playground.getByLabel('Tool').selectOption('fail')
      await expect.poll(() => new URL(page.url()).searchParams.get('tool')).toBe('fail')
      await playground.getByText('This tool takes no arguments.').waitFor()
      await playground.getByRole('button', { name: 'Call tool' }).click()
      await expect.poll(() => playground.getByTestId('is-error').textContent()).toBe('is_error: true')
      await playground.getByText('The tool reported an error.').waitFor()
      expect(await playground.getByTestId('result-text').textContent()).toBe('the tool failed')
      await checkPage(page, errors, 'mcp-call-tool-error')

      // A tool that never answers: the gateway gives up after the server's timeout, 502.
      await playground.getByLabel('Tool').selectOption('hang')
      await playground.getByRole('button', { name: 'Call tool' }).click()
      const failure = playground.getByTestId('call-error')
      await expect.poll(() => failure.textContent(), { timeout: 15_000 }).toMatch(/502 upstream_error/)
      errors.length = 0 // the browser logs the 502 it was answered
      await checkPage(page, errors, 'mcp-call-upstream-error')

      // Every call is in the audit, with its outcome.
      const audit = page.getByRole('region', { name: 'MCP calls table' })
      for (const outcome of ['ok', 'tool_error', 'upstream_error'])
        await audit.getByText(outcome, { exact: true }).first().waitFor()
      expect(await audit.getByRole('row', { name: /echo/ }).count()).toBe(2)
    } finally {
      await context.close()
    }
  }, 90_000)

  it('registers an HTTP server for the workspace and removes it', async () => {
    const { context, page, errors } = await openPage(browser)
    try {
      await signIn(page, base, owner)
      await page.goto(`${base}/dashboard/w/${workspace.id}/mcp`)
      await page.getByRole('button', { name: 'Register server' }).click()
      const dialog = page.getByRole('dialog', { name: 'Register an MCP server' })
      await dialog.getByLabel('Id', { exact: true }).fill('docs')
      // Nothing listens there: the server is registered, and shown unreachable once tried.
      await dialog.getByLabel('URL').fill(`http://127.0.0.1:${await freePort()}/mcp`)
      await dialog.getByLabel('Name (optional)').fill('Docs search')
      await dialog.getByLabel('Headers (optional)').fill('not a header')
      await dialog.getByRole('button', { name: 'Register server' }).click()
      await dialog.getByText(/Each header is a line/).waitFor()
      await dialog.getByLabel('Headers (optional)').fill('Authorization: Bearer very-secret-value')
      await checkPage(page, errors, 'mcp-register')
      await dialog.getByRole('button', { name: 'Register server' }).click()
      await dialog.waitFor({ state: 'detached' })
      const row = page
        .getByRole('region', { name: 'MCP servers table' })
        .getByRole('row', { name: /Docs search/ })
      await row.waitFor()
      expect(await row.getByText('Workspace').count()).toBe(1)
      await row.getByText(/connecting|unreachable/).waitFor()
      const stored = await t.call(t.masterKey, {
        method: 'GET',
        url: '/api/v1/mcp/servers/docs',
        workspace: workspace.id,
      })
      expect(stored.json().data.headers).toEqual(['authorization'])
      await checkPage(page, errors, 'mcp-servers-registered')

      await row.getByRole('button', { name: 'Remove docs' }).click()
      await page.getByRole('alertdialog').getByRole('button', { name: 'Remove server' }).click()
      await page.getByRole('alertdialog').waitFor({ state: 'detached' })
      await expect.poll(() => row.count()).toBe(0)
      const gone = await t.call(t.masterKey, {
        method: 'GET',
        url: '/api/v1/mcp/servers/docs',
        workspace: workspace.id,
      })
      expect(gone.statusCode).toBe(404)
    } finally {
      await context.close()
    }
  }, 60_000)

  it('shows a member the reports and the tools but no audit form, registration or playground, on a phone', async () => {
    const { context, page, errors } = await openPage(browser, { width: 375 })
    try {
      await signIn(page, base, member)
      await page.getByRole('link', { name: 'SEO', exact: true }).click()
      await page.getByRole('heading', { name: 'Reports' }).waitFor()
      await page.getByRole('link', { name: /https:\/\/shop\.example\/pricing/ }).waitFor()
      expect(await page.getByRole('button', { name: 'Start audit' }).count()).toBe(0)
      await checkPage(page, errors, 'seo-member-phone')
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375)

      await page.getByRole('link', { name: 'MCP', exact: true }).click()
      await page.getByRole('heading', { name: 'MCP servers' }).waitFor()
      expect(await page.getByRole('button', { name: 'Register server' }).count()).toBe(0)
      await page.getByRole('link', { name: 'Fixture' }).click()
      await page.getByRole('heading', { name: 'echo' }).waitFor()
      await page.getByText(/Calling tools needs the mcp:write scope/).waitFor()
      expect(await page.getByRole('button', { name: 'Call tool' }).count()).toBe(0)
      expect(await page.getByRole('button', { name: /^Try / }).count()).toBe(0)
      await checkPage(page, errors, 'mcp-server-member-phone')
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375)
    } finally {
      await context.close()
    }
  }, 60_000)
})

// The playground's form, without a browser: which control each property gets, and the arguments
// read back from what the controls hold.
describe("the playground's form from a tool's input schema", () => {
  const schema = {
    type: 'object',
    properties: {
      path: { type: 'string', description: 'Where' },
      depth: { type: 'integer', minimum: 0 },
      ratio: { type: ['number', 'null'] },
      recursive: { type: 'boolean' },
      mode: { enum: ['fast', 'slow', 3] },
      tags: { type: 'array', items: { type: 'string' } },
      either: { anyOf: [{ type: 'string' }, { type: 'number' }] },
    },
    required: ['path', 'depth'],
  }

  it('gives simple types a control each and the rest a JSON box', () => {
    const fields = toolFields(schema)!
    expect(fields.map((f) => [f.name, f.kind, f.required])).toEqual([
      ['path', 'string', true],
      ['depth', 'integer', true],
      ['ratio', 'number', false],
      ['recursive', 'boolean', false],
      ['mode', 'enum', false],
      ['tags', 'json', false],
      ['either', 'json', false],
    ])
    expect(fields[0]!.description).toBe('Where')
    expect(toolFields({ type: 'object' })).toEqual([])
    expect(toolFields({ type: 'array' })).toBeNull()
    expect(toolFields(null)).toBeNull()
  })

  it('reads typed arguments back, leaving empty optional ones out', () => {
    const fields = toolFields(schema)!
    expect(
      readArguments(fields, {
        path: '/tmp',
        depth: '2',
        ratio: '',
        recursive: 'false',
        mode: '2',
        tags: '["a", "b"]',
        either: '',
      }),
    ).toEqual({
      ok: true,
      arguments: { path: '/tmp', depth: 2, recursive: false, mode: 3, tags: ['a', 'b'] },
    })
  })

  it('refuses what cannot be read, field by field, before anything is sent', () => {
    const fields = toolFields(schema)!
    const read = readArguments(fields, { path: 'x', depth: '1.5', ratio: 'abc', tags: '[oops' })
    expect(read.ok).toBe(false)
    if (read.ok) return
    expect(Object.keys(read.errors).sort()).toEqual(['depth', 'ratio', 'tags'])
    expect(read.errors.tags).toMatch(/^Not valid JSON/)
    expect(readArguments(fields, { path: 'x', depth: '' })).toEqual({
      ok: false,
      errors: { depth: 'Required.' },
    })
    expect(readJsonArguments('[1]')).toEqual({
      ok: false,
      errors: { arguments: 'The arguments must be a JSON object.' },
    })
    expect(readJsonArguments('')).toEqual({ ok: true, arguments: {} })
    expect(readJsonArguments('{"a": 1}')).toEqual({ ok: true, arguments: { a: 1 } })
  })
})
