// The interactive reference as a person sees it: /docs from a real listening server, rendered
// by Debian's Chromium through playwright-core. It must show the API's operations under its own
// title, and none of the hosted-service buttons the Scalar bundle offers by default.
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REFERENCE_TITLE } from '../../src/app.ts'
import { buildTestApp, type TestApp } from '../../src/testing/harness.ts'
import { CHROMIUM, CHROMIUM_ARGS, chromiumAvailable } from './kit.ts'

const HOSTED_BUTTONS = ['Ask AI', 'Generate MCP', 'Deploy', 'Share', 'Developer Tools']

describe.skipIf(!chromiumAvailable)('the reference in a browser', () => {
  let t: TestApp
  let browser: BrowserContext
  let base: string
  const profile = mkdtempSync(join(tmpdir(), 'core-api-chromium-'))
  const shots = mkdtempSync(join(tmpdir(), 'core-api-shots-'))

  beforeAll(async () => {
    t = await buildTestApp()
    base = await t.app.listen({ port: 0, host: '127.0.0.1' })
    // A new, empty profile: nothing from earlier runs, nothing left behind.
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 },
      timeout: 30_000,
    })
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await t?.close()
    rmSync(profile, { recursive: true, force: true })
  })

  it('renders the operations under its own title, without hosted-service buttons', async () => {
    const page = await browser.newPage()
    const refused: string[] = []
    page.on('response', (response) => {
      const url = new URL(response.url())
      if (response.status() >= 400 && url.pathname !== '/favicon.ico')
        refused.push(`${response.status()} ${url}`)
    })
    await page.goto(`${base}/`, { waitUntil: 'load', timeout: 30_000 })
    expect(new URL(page.url()).pathname).toBe('/docs/') // / → /docs → /docs/
    await page.getByText('The caller').first().waitFor({ timeout: 30_000 })

    expect(await page.title()).toBe(REFERENCE_TITLE)
    // The groups of the sidebar are the API's tags; opening one shows its operations.
    // biome-ignore lint/performance/useDomNodeTextContent: what a person sees is the point
    const sidebar = await page.locator('body').innerText()
    for (const tag of ['Workspaces', 'API Keys', 'Posts', 'Webhooks', 'Operations'])
      expect(sidebar).toContain(tag)
    await page.getByText('API Keys', { exact: true }).first().click()
    await page.getByText('Rotate an API key').first().waitFor({ timeout: 30_000 })
    // biome-ignore lint/performance/useDomNodeTextContent: what a person sees is the point
    const text = await page.locator('body').innerText()
    for (const operation of ['List API keys', 'Create an API key', 'Revoke an API key', '/api/v1/me'])
      expect(text, operation).toContain(operation)
    expect(text).not.toContain('Document could not be loaded')
    for (const label of HOSTED_BUTTONS) {
      const controls = page.locator('button, a, [role="button"]').filter({ hasText: label })
      expect(await controls.count(), label).toBe(0)
    }
    for (const label of ['Ask AI', 'Generate MCP', 'Developer Tools'])
      expect(text, label).not.toContain(label)
    expect(refused).toEqual([])

    const shot = join(shots, 'reference.png')
    await page.screenshot({ path: shot, fullPage: false })
    console.log(`reference screenshot: ${shot}`)
    expect(existsSync(shot)).toBe(true)
  }, 90_000)
})
