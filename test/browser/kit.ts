// What every browser test shares: Debian's Chromium (driven by playwright-core) launched quiet and
// offline, a page that records its console errors, and the check run on each dashboard screen —
// axe-core finds no serious or critical violation, a screenshot is saved outside the repository,
// and the console stayed free of errors (CSP refusals included).
import { existsSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import axe from 'axe-core'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import { expect } from 'vitest'
import { DASHBOARD_DIST } from '../../src/modules/dashboard/index.ts'
import { buildTestApp, type TestApp } from '../../src/testing/harness.ts'
import { freePort } from '../../src/testing/processes.ts'

export const CHROMIUM = '/usr/bin/chromium'
/** Whether Debian's Chromium is installed; without it the browser tests are skipped, saying so. */
export const chromiumAvailable = existsSync(CHROMIUM)
if (!chromiumAvailable)
  console.warn(`Browser tests skipped: ${CHROMIUM} is absent (apt-get install -y chromium).`)
/** Whether the dashboard has been built (npm install builds it). */
export const dashboardBuilt = existsSync(join(DASHBOARD_DIST, 'index.html'))

/** The launch flags of a quiet, offline, throwaway browser. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 })
}

/** The password of the people the dashboard tests sign in as. */
export const PASSWORD = 'correct horse battery staple'
const SHOTS = join(tmpdir(), 'core-api-dashboard-screenshots')

type Violation = { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }

/** A fresh browser profile whose page records every console error and uncaught exception. */
export async function openPage(
  browser: Browser,
  options: {
    width?: number
    colorScheme?: 'light' | 'dark'
    /**
     * The page's clock, fixed at this instant (epoch ms) as the test server's is: a screen that
     * works out "today" then agrees with the server, even on a run that crosses midnight.
     * Timers still fire but the time stands still, so a screen that waits for a moment to pass
     * (a pending retry's refresh) needs the real clock.
     */
    now?: number
  } = {},
): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1280, height: 900 },
    colorScheme: options.colorScheme ?? 'light',
  })
  if (options.now !== undefined) await context.clock.setFixedTime(options.now)
  const page = await context.newPage()
  const errors: string[] = []
  page.on('console', (message) => {
    if (message.type() !== 'error') return
    const url = message.location().url
    // Asking for the session while signed out is answered 401: that is how the app learns it.
    if (url.endsWith('/api/auth/session') && message.text().includes('401')) return
    errors.push(`${message.text()} (${url})`)
  })
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`))
  return { context, page, errors }
}

/** axe-core on the page as it is now, a screenshot named `name`, and no console error so far. */
export async function checkPage(page: Page, errors: string[], name: string): Promise<void> {
  await page.evaluate(axe.source)
  const violations = (await page.evaluate(
    "axe.run(document, { resultTypes: ['violations'] }).then((result) => result.violations)",
  )) as Violation[]
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
  expect(
    serious.map((v) => `${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
    name,
  ).toEqual([])
  mkdirSync(SHOTS, { recursive: true })
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true })
  expect(errors, name).toEqual([])
}

/** Signs in on the dashboard at `base` and waits for the first screen (the overview). */
export async function signIn(page: Page, base: string, email: string): Promise<void> {
  await page.goto(`${base}/dashboard/`)
  await page.getByRole('heading', { name: 'Sign in to core-api' }).waitFor()
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('heading', { name: 'Overview' }).waitFor()
}

/**
 * core-api listening on a free loopback port for a browser: PUBLIC_URL is that address (the
 * session cookie's writes must come from its origin), and sign-in is unmetered, since every
 * sign-in of a run comes from one address on a clock that does not move (the per-address budget
 * has tests of its own in the sessions module).
 */
export async function listeningApp(env: Record<string, string> = {}): Promise<{ t: TestApp; base: string }> {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const t = await buildTestApp({ env: { PUBLIC_URL: base, SIGN_IN_PER_MINUTE: '0', ...env } })
  await t.app.listen({ port, host: '127.0.0.1' })
  return { t, base }
}

/** A person to sign in as: their email, role and workspace (and a display name, if any). */
type Person = { email: string; role: 'owner' | 'admin' | 'member'; workspace: number; name?: string }

/** Creates each person with PASSWORD; answers their user ids by email. */
export async function addPeople(t: TestApp, people: Person[]): Promise<Record<string, number>> {
  const ids: Record<string, number> = {}
  for (const { email, role, workspace, name } of people) {
    const res = await t.call(t.masterKey, {
      method: 'POST',
      url: '/api/v1/users',
      workspace,
      payload: { email, password: PASSWORD, role, ...(name !== undefined && { name }) },
    })
    expect(res.statusCode, email).toBe(201)
    ids[email] = res.json().data.id
  }
  return ids
}
