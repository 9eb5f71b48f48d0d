// The tracker as a site's visitors run it: Debian's Chromium (through playwright-core) opens a
// single-page app served on loopback that embeds /pixel.js from a real listening core-api,
// navigates within it, sends a custom event and leaves through an outbound link; the stats API
// then shows exactly those page views and events. A bot's browser is not counted, and a
// browser that opted out sends nothing at all.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../src/testing/harness.ts'
import { chromiumAvailable, launchBrowser } from './kit.ts'

// Headless Chromium says "HeadlessChrome", which isbot rightly takes for a bot.
const PERSON =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36'
const BOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'

/** A small single-page app: buttons navigate with the History API; one link leaves the site. */
function appPage(api: string, outbound: string): string {
  return `<!doctype html><html><head><title>Shop</title>
<script defer src="${api}/pixel.js" data-domain="localhost"></script></head>
<body>
<button id="pricing" onclick="history.pushState({}, '', '/pricing')">Pricing</button>
<button id="docs" onclick="history.pushState({}, '', '/docs')">Docs</button>
<button id="signup" onclick="pixel('Signup', { props: { plan: 'pro' } })">Sign up</button>
<a id="out" href="${outbound}">Elsewhere</a>
</body></html>`
}

type Received = { path: string; tracked: boolean; event: string | null; ua: string }

describe.skipIf(!chromiumAvailable)('the pixel in a browser', () => {
  let t: TestApp
  let api: string
  let site: Server
  let siteUrl: string
  let browser: Browser
  let siteId: number
  /** Every request the pixel endpoints answered, as the server saw it. */
  const received: Received[] = []

  beforeAll(async () => {
    t = await buildTestApp({
      setup: (app) => {
        app.addHook('onSend', async (req, _reply, payload) => {
          if (req.routeOptions.url?.startsWith('/api/v1/pixel/') && req.method !== 'OPTIONS') {
            const body = req.body as { event?: string } | undefined
            received.push({
              path: req.routeOptions.url,
              tracked: typeof payload === 'string' && payload.includes('"tracked":true'),
              event: body?.event ?? null,
              ua: String(req.headers['user-agent']),
            })
          }
          return payload
        })
      },
    })
    api = await t.app.listen({ port: 0, host: '127.0.0.1' })
    site = createServer((req, res) => {
      res.setHeader('content-type', 'text/html; charset=utf-8')
      // Leaving the site lands on 127.0.0.1 (another host than localhost): a page without tracker.
      if (req.url === '/elsewhere') return res.end('<!doctype html><title>Elsewhere</title><p>Bye</p>')
      res.end(appPage(api, `http://127.0.0.1:${(site.address() as AddressInfo).port}/elsewhere`))
    })
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve))
    siteUrl = `http://localhost:${(site.address() as AddressInfo).port}`
    const ws = await t.workspace()
    const res = await t.call(t.masterKey, {
      method: 'POST',
      url: '/api/v1/pixel/sites',
      workspace: ws.id,
      payload: { domain: 'localhost', features: { outbound_links: true } },
    })
    expect(res.statusCode).toBe(201)
    siteId = res.json().data.id
    browser = await launchBrowser()
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await new Promise((resolve) => site?.close(resolve))
    await t?.close()
  })

  async function until(check: () => boolean, what: string) {
    const deadline = Date.now() + 15_000
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(received)}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  const trackedBy = (ua: string) => received.filter((r) => r.ua === ua && r.tracked)

  it('counts page views, SPA navigations, custom events and outbound clicks', async () => {
    const context = await browser.newContext({ userAgent: PERSON })
    const page: Page = await context.newPage()
    await page.goto(`${siteUrl}/`, { waitUntil: 'load' })
    await until(() => trackedBy(PERSON).length === 1, 'the first page view')
    await page.click('#pricing')
    await until(() => trackedBy(PERSON).length === 2, 'the /pricing navigation')
    await page.click('#docs')
    await until(() => trackedBy(PERSON).length === 3, 'the /docs navigation')
    await page.goBack() // popstate: back on /pricing
    await until(() => trackedBy(PERSON).length === 4, 'the back navigation')
    await page.click('#signup')
    await until(() => trackedBy(PERSON).length === 5, 'the custom event')
    // The beacon leaves with the page.
    await Promise.all([page.waitForURL(/\/elsewhere$/), page.click('#out')])
    await until(() => trackedBy(PERSON).length === 6, 'the outbound click')
    await context.close()

    const [ws] = (await t.call(t.masterKey, { method: 'GET', url: '/api/v1/workspaces' })).json().data
    const res = await t.call(t.masterKey, {
      method: 'GET',
      url: `/api/v1/pixel/sites/${siteId}/stats`,
      workspace: ws.id,
    })
    expect(res.statusCode).toBe(200)
    const data = res.json().data
    expect(data.totals).toMatchObject({ visitors: 1, pageviews: 4, events: 2, visits: 1, bounce_rate: 0 })
    expect(data.pages).toEqual([
      { page: '/pricing', visitors: 1, pageviews: 2 },
      { page: '/', visitors: 1, pageviews: 1 },
      { page: '/docs', visitors: 1, pageviews: 1 },
    ])
    expect(data.entry_pages).toEqual([{ page: '/', visits: 1 }])
    expect(data.browsers).toEqual([{ browser: 'Chrome', visitors: 1, pageviews: 4 }])
    expect(data.events).toEqual([
      { name: 'Outbound Link: Click', visitors: 1, count: 1 },
      { name: 'Signup', visitors: 1, count: 1 },
    ])
  }, 90_000)

  it("does not count a bot's browser", async () => {
    const context = await browser.newContext({ userAgent: BOT })
    const page = await context.newPage()
    await page.goto(`${siteUrl}/`, { waitUntil: 'load' })
    await until(() => received.some((r) => r.ua === BOT && r.event === 'pageview'), "the bot's page view")
    await context.close()
    expect(received.filter((r) => r.ua === BOT && r.tracked)).toEqual([])
  }, 60_000)

  it('sends nothing from a browser that opted out', async () => {
    const OPTED_OUT = PERSON.replace('Chrome/130', 'Chrome/131')
    const context = await browser.newContext({ userAgent: OPTED_OUT })
    await context.addInitScript({ content: "localStorage.setItem('pixel_ignore', 'true')" })
    const page = await context.newPage()
    const toApi: string[] = []
    page.on('request', (request) => {
      if (request.url().startsWith(api) && !request.url().endsWith('/pixel.js')) toApi.push(request.url())
    })
    await page.goto(`${siteUrl}/`, { waitUntil: 'load' })
    await page.click('#pricing')
    await page.click('#signup')
    // The same steps in a browser that did not opt out take well under this.
    await page.waitForTimeout(1500)
    await context.close()
    expect(toApi).toEqual([])
    expect(received.filter((r) => r.ua === OPTED_OUT)).toEqual([])
  }, 60_000)
})
