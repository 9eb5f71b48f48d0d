// The pixel analytics screen as people use it: Debian's Chromium (playwright-core) opens
// /dashboard on a real server, adds a site from the empty state and reads the snippet to paste;
// page views and a custom event sent to the public track endpoint (as the tracker sends them)
// then show as figures, a chart and breakdowns; the period, interval and a page filter live in
// the URL. A member who may not add sites is told so. On every state axe-core must find no
// serious or critical violation and the console no error; screenshots go outside the repository.
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestApp } from '../../src/testing/harness.ts'
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

const CHROME_LINUX =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36'
const FIREFOX_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0'
const SAFARI_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1'
const DOMAIN = 'shop.example'

describe.skipIf(!chromiumAvailable || !dashboardBuilt)('the pixel screen in a browser', () => {
  let t: TestApp
  let browser: Browser
  let base: string
  let workspace: { id: number }
  let siteId: number
  const owner = 'owner@pixel.test'
  const member = 'member@pixel.test'

  beforeAll(async () => {
    ;({ t, base } = await listeningApp())
    workspace = await t.workspace({ name: 'Shop', tier: 'pro' })
    const beta = await t.workspace({ name: 'Beta', tier: 'pro' })
    await addPeople(t, [
      { email: owner, role: 'owner', workspace: workspace.id, name: 'owner' },
      { email: member, role: 'member', workspace: beta.id, name: 'member' },
    ])
    browser = await launchBrowser()
  }, 90_000)

  afterAll(async () => {
    await browser?.close()
    await t?.close()
  })

  /** One event as the tracker sends it: a text/plain beacon from a visitor's browser on the site. */
  async function track(ip: string, ua: string, event: string, path: string, referrer: string | null = null) {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/pixel/track',
      remoteAddress: ip,
      headers: { 'content-type': 'text/plain', 'user-agent': ua, origin: `https://${DOMAIN}` },
      payload: JSON.stringify({ event, url: `https://${DOMAIN}${path}`, referrer }),
    })
    expect(res.json(), `${event} ${path}`).toEqual({ tracked: true })
  }

  /** expect.poll with room for a loaded machine. */
  const poll = <T>(check: () => T | Promise<T>) => expect.poll(check, { timeout: 10_000 })
  const metric = (page: Page, name: string) => page.locator(`[data-metric="${name}"] dd`)
  /** Waits for a figure to read `value`: the first stats of a page load can take a few seconds. */
  const shows = (page: Page, name: string, value: string) =>
    expect.poll(() => metric(page, name).textContent(), { timeout: 15_000 }).toBe(value)
  const pixelUrl = () => `${base}/dashboard/w/${workspace.id}/pixel`

  it('adds a site from the empty state and shows the snippet to paste', async () => {
    const { context, page, errors } = await openPage(browser, { now: t.clock.now() })
    try {
      await signIn(page, base, owner)
      await page.getByRole('link', { name: 'Pixel analytics' }).click()
      await page.getByRole('heading', { name: 'No sites yet' }).waitFor()
      expect(page.url()).toBe(pixelUrl())
      await checkPage(page, errors, 'pixel-empty')

      await page.getByLabel('Domain', { exact: true }).fill(`www.${DOMAIN.toUpperCase()}`)
      // The browser's zone is offered; the test's days are UTC's, whatever the machine's zone.
      const zone = page.getByLabel('Time zone of the reports')
      expect(await zone.inputValue()).toBe(
        await page.evaluate('Intl.DateTimeFormat().resolvedOptions().timeZone'),
      )
      await zone.fill('Mars/Olympus_Mons')
      await page.getByRole('button', { name: 'Add site' }).click()
      await page.getByText('Must be an IANA time zone').waitFor()
      // The browser reports the refused request; it is the only complaint so far.
      const refused = errors.splice(0)
      expect(refused.length).toBeGreaterThan(0)
      expect(refused.filter((error) => !error.includes('422'))).toEqual([])
      await zone.fill('UTC')
      await page.getByLabel('Clicks on links to other sites').check()
      await page.getByRole('button', { name: 'Add site' }).click()
      await page.getByRole('heading', { name: `${DOMAIN} is registered` }).waitFor()
      // The form is gone: the focus moves to what replaced it.
      expect(await page.evaluate('document.activeElement?.textContent')).toBe(`${DOMAIN} is registered`)
      // The domain as the server stored it (lower-cased, `www.` dropped), in the tag the tracker reads.
      expect(await page.getByTestId('snippet').inputValue()).toBe(
        `<script defer src="${base}/pixel.js" data-domain="${DOMAIN}"></script>`,
      )
      const sites = await t.call(t.masterKey, {
        method: 'GET',
        url: '/api/v1/pixel/sites',
        workspace: workspace.id,
      })
      const [site] = sites.json().data
      expect(site).toMatchObject({ domain: DOMAIN, timezone: 'UTC', features: { outbound_links: true } })
      siteId = site.id
      await poll(() => new URL(page.url()).searchParams.get('site')).toBe(String(siteId))
      await shows(page, 'visitors', '0')
      await checkPage(page, errors, 'pixel-added')
    } finally {
      await context.close()
    }
  }, 90_000)

  it('shows the numbers, changes the interval and filters by a page through the URL', async () => {
    // Three visitors: two pages from Google then a signup; a campaign visit of two pages; a bounce.
    await track('203.0.113.1', CHROME_LINUX, 'pageview', '/', 'https://www.google.com/')
    await track('203.0.113.1', CHROME_LINUX, 'pageview', '/pricing', `https://${DOMAIN}/`)
    await track('203.0.113.1', CHROME_LINUX, 'Signup', '/pricing')
    await track('203.0.113.2', FIREFOX_WINDOWS, 'pageview', '/?utm_source=newsletter&utm_campaign=launch')
    await track('203.0.113.2', FIREFOX_WINDOWS, 'pageview', '/pricing', `https://${DOMAIN}/`)
    await track('203.0.113.3', SAFARI_IPHONE, 'pageview', '/docs')

    const { context, page, errors } = await openPage(browser, { now: t.clock.now() })
    try {
      await signIn(page, base, owner)
      await page.goto(pixelUrl())
      await shows(page, 'visitors', '3')
      expect(await metric(page, 'visits').textContent()).toBe('3')
      expect(await metric(page, 'pageviews').textContent()).toBe('5')
      expect(await metric(page, 'bounce_rate').textContent()).toBe('33%')
      expect(await metric(page, 'visit_duration').textContent()).toBe('0s')
      expect(await metric(page, 'events').textContent()).toBe('1')
      const pages = page.getByRole('region', { name: 'Top pages' })
      const rows = (await pages.getByRole('row').allInnerTexts()).map((row) => row.split(/\s+/).join(' '))
      // Most visitors first; the order of a tie is the server's.
      expect(rows[0]).toBe('Page Visitors Pageviews')
      expect(rows.slice(1, 3).sort()).toEqual(['/ 2 2', '/pricing 2 2'])
      expect(rows.slice(3)).toEqual(['/docs 1 1'])
      const sources = page.getByRole('region', { name: 'Sources' })
      await sources.getByRole('button', { name: 'Google' }).waitFor()
      await sources.getByRole('button', { name: 'newsletter' }).waitFor()
      await page.getByRole('region', { name: 'UTM campaigns' }).getByText('launch').waitFor()
      await page
        .getByRole('region', { name: 'Custom events' })
        .getByRole('button', { name: 'Signup' })
        .waitFor()
      await page.getByRole('region', { name: 'Devices' }).getByText('mobile').waitFor()
      await page.getByRole('region', { name: 'Browsers' }).getByText('Firefox').waitFor()
      await checkPage(page, errors, 'pixel-stats')

      // The chart's figures as a table, for screen readers and on request.
      await page.getByRole('button', { name: 'Show as table' }).click()
      const series = page.getByRole('region', { name: 'Visitors and pageviews table' })
      await poll(() => series.getByRole('row').count()).toBe(31) // heading + 30 days
      await checkPage(page, errors, 'pixel-chart-table')

      // Today, by hour: the period and then the interval go into the URL and the request.
      const byHour = page.waitForRequest(
        (r) => r.url().includes('/stats?') && r.url().includes('interval=hour'),
      )
      await page.getByLabel('Period', { exact: true }).selectOption('today')
      await byHour
      await poll(() => new URL(page.url()).searchParams.get('period')).toBe('today')
      await poll(() => series.getByRole('row').count()).toBe(25) // heading + 24 hours
      expect(await page.getByLabel('Interval', { exact: true }).inputValue()).toBe('hour')
      const byDay = page.waitForRequest(
        (r) => r.url().includes('/stats?') && r.url().includes('interval=day'),
      )
      await page.getByLabel('Interval', { exact: true }).selectOption('day')
      await byDay
      await poll(() => new URL(page.url()).searchParams.get('interval')).toBe('day')
      await poll(() => series.getByRole('row').count()).toBe(2)
      expect(await metric(page, 'visitors').textContent()).toBe('3')
      await checkPage(page, errors, 'pixel-today-by-day')

      // A page row filters the whole screen, as a removable chip kept in the URL.
      const filtered = page.waitForRequest((r) => r.url().includes('page=%2Fpricing'))
      await pages.getByRole('button', { name: '/pricing' }).click()
      await filtered
      await poll(() => new URL(page.url()).searchParams.get('page')).toBe('/pricing')
      await shows(page, 'visitors', '2')
      expect(await metric(page, 'pageviews').textContent()).toBe('2')
      const chips = page.getByRole('list', { name: 'Active filters' })
      const chipTexts = await chips.getByRole('listitem').allInnerTexts()
      expect(chipTexts.map((chip) => chip.split(/\s+/).join(' '))).toEqual(['Page: /pricing ×'])
      await checkPage(page, errors, 'pixel-filtered')

      // The view survives a reload; removing the chip shows every page again.
      await page.reload()
      await shows(page, 'visitors', '2')
      expect(await page.getByLabel('Period', { exact: true }).inputValue()).toBe('today')
      await page.getByRole('button', { name: 'Remove filter Page: /pricing' }).click()
      await poll(() => new URL(page.url()).searchParams.get('page')).toBeNull()
      await shows(page, 'visitors', '3')

      // An event filter: the visitors who signed up.
      await page
        .getByRole('region', { name: 'Custom events' })
        .getByRole('button', { name: 'Signup' })
        .click()
      await poll(() => new URL(page.url()).searchParams.get('event')).toBe('Signup')
      await shows(page, 'visitors', '1')
      await page.getByRole('button', { name: 'Remove filter Event: Signup' }).click()

      // A source and a page together: two chips, cleared at once.
      await sources.getByRole('button', { name: 'newsletter' }).click()
      await poll(() => new URL(page.url()).searchParams.get('source')).toBe('newsletter')
      // The API keeps the visits that came from the source: the campaign visit's two page views.
      await shows(page, 'pageviews', '2')
      expect(await metric(page, 'visitors').textContent()).toBe('1')
      await pages.getByRole('button', { name: '/', exact: true }).click()
      await poll(() => chips.getByRole('listitem').count()).toBe(2)
      await poll(() => new URL(page.url()).searchParams.get('page')).toBe('/')
      await shows(page, 'pageviews', '1')
      await checkPage(page, errors, 'pixel-two-filters')
      await page.getByRole('button', { name: 'Clear filters' }).click()
      await poll(() => new URL(page.url()).search).toBe('?period=today&interval=day')
      await shows(page, 'visitors', '3')
      expect(errors).toEqual([])
    } finally {
      await context.close()
    }
  }, 90_000)

  it('picks between sites and a custom range, in the dark theme', async () => {
    const res = await t.call(t.masterKey, {
      method: 'POST',
      url: '/api/v1/pixel/sites',
      workspace: workspace.id,
      payload: { domain: 'blog.example' },
    })
    expect(res.statusCode).toBe(201)
    const blog = res.json().data.id
    const { context, page, errors } = await openPage(browser, { colorScheme: 'dark', now: t.clock.now() })
    try {
      await signIn(page, base, owner)
      await page.goto(`${pixelUrl()}?site=${siteId}`)
      await shows(page, 'visitors', '3')
      await page.getByLabel('Site', { exact: true }).selectOption({ label: 'blog.example' })
      await poll(() => new URL(page.url()).searchParams.get('site')).toBe(String(blog))
      await shows(page, 'visitors', '0')
      await page.getByRole('region', { name: 'Top pages' }).getByText('Nothing in this period.').waitFor()
      await checkPage(page, errors, 'pixel-dark-other-site')

      // A custom range of the last 60 days: the days' interval, hours not offered.
      await page.getByLabel('Site', { exact: true }).selectOption({ label: DOMAIN })
      await page.getByLabel('Period', { exact: true }).selectOption('custom')
      const today = await page.evaluate(() => {
        const d = new Date()
        return [d.getFullYear(), d.getMonth() + 1, d.getDate()]
          .map((n) => String(n).padStart(2, '0'))
          .join('-')
      })
      const from = new Date(Date.parse(`${today}T00:00:00Z`) - 59 * 86_400_000).toISOString().slice(0, 10)
      await page.getByLabel('From', { exact: true }).fill(from)
      await page.getByLabel('To', { exact: true }).fill(today)
      await page.getByRole('button', { name: 'Apply range' }).click()
      await poll(() => new URL(page.url()).searchParams.get('period')).toBe('custom')
      expect(new URL(page.url()).searchParams.get('from')).toBe(from)
      await shows(page, 'visitors', '3')
      expect(await page.getByRole('option', { name: 'Hours' }).isDisabled()).toBe(true)
      await checkPage(page, errors, 'pixel-dark-custom')
    } finally {
      await context.close()
    }
  }, 90_000)

  it('fits a phone, and tells a member who may not add sites how to get one', async () => {
    const phone = await openPage(browser, { width: 375, now: t.clock.now() })
    try {
      await signIn(phone.page, base, owner)
      await phone.page.goto(`${pixelUrl()}?site=${siteId}&period=today&page=%2Fpricing`)
      await shows(phone.page, 'visitors', '2')
      await checkPage(phone.page, phone.errors, 'pixel-phone')
      expect(await phone.page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390)
    } finally {
      await phone.context.close()
    }

    const { context, page, errors } = await openPage(browser, { now: t.clock.now() })
    try {
      await signIn(page, base, member)
      await page.getByRole('link', { name: 'Pixel analytics' }).click()
      await page.getByRole('heading', { name: 'No sites yet' }).waitFor()
      await page.getByText('Your role cannot add sites').waitFor()
      expect(await page.getByRole('button', { name: 'Add site' }).count()).toBe(0)
      await checkPage(page, errors, 'pixel-member-empty')
    } finally {
      await context.close()
    }
  }, 90_000)
})
