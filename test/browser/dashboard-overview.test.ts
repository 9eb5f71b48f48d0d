// The overview (the landing page), the event catalogue and the attempts of a delivery, as a person
// sees them in Debian's Chromium: usage against the plan, the chart of webhook deliveries (and the
// table it falls back to), visitors of the workspace's pixel site, the catalogue's types with
// their example payloads, and a delivery that failed then succeeded on a retry listing both
// attempts. Every screen passes axe-core with no console error (kit.ts).
import { createServer, type Server } from 'node:http'
import type { Browser } from 'playwright-core'
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

const CHROME =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'

describe.skipIf(!chromiumAvailable || !dashboardBuilt)('the overview, the event catalog and attempts', () => {
  let t: TestApp
  let browser: Browser
  let base: string
  let workspace: { id: number }
  let receiver: Server
  let receiverUrl: string
  const answer = { status: 200, body: 'ok' }
  let received = 0
  const owner = 'owner@overview.test'

  beforeAll(async () => {
    ;({ t, base } = await listeningApp({ WEBHOOK_ALLOW_INSECURE_URLS: '1' }))
    workspace = await t.workspace({ name: 'Acme', tier: 'pro' })
    await addPeople(t, [{ email: owner, role: 'owner', workspace: workspace.id, name: 'owner' }])
    receiver = createServer((req, res) => {
      req.resume()
      req.on('end', () => {
        received++
        res.writeHead(answer.status, { 'content-type': 'text/plain' }).end(answer.body)
      })
    })
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
    receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hooks`
    browser = await launchBrowser()
  }, 90_000)

  afterAll(async () => {
    await browser?.close()
    await t?.close()
    receiver?.closeAllConnections()
    await new Promise((resolve) => receiver?.close(resolve))
  })

  const api = (method: 'GET' | 'POST', url: string, payload?: Record<string, unknown>) =>
    t.call(t.masterKey, { method, url, workspace: workspace.id, ...(payload && { payload }) })

  it('lands on the overview: usage, the delivery chart with its table, and the visitors', async () => {
    const endpoint = await api('POST', '/api/v1/webhooks', { url: receiverUrl, events: ['post.created'] })
    expect(endpoint.statusCode).toBe(201)
    for (const title of ['One', 'Two', 'Three']) {
      expect((await api('POST', '/api/v1/posts', { title })).statusCode).toBe(201)
    }
    const id = endpoint.json().data.id
    await expect
      .poll(
        async () => {
          const list = (await api('GET', `/api/v1/webhooks/${id}/deliveries?status=success`)).json()
          return list.meta.total
        },
        { timeout: 15_000 },
      )
      .toBe(3)
    const site = await api('POST', '/api/v1/pixel/sites', { domain: 'overview.example' })
    expect(site.statusCode).toBe(201)
    for (const ip of ['203.0.113.7', '203.0.113.8']) {
      const tracked = await t.app.inject({
        method: 'POST',
        url: '/api/v1/pixel/track',
        remoteAddress: ip,
        headers: { 'content-type': 'application/json', 'user-agent': CHROME },
        payload: JSON.stringify({ event: 'pageview', url: 'https://overview.example/' }),
      })
      expect(tracked.json()).toEqual({ tracked: true })
    }

    const { context, page, errors } = await openPage(browser, { now: t.clock.now() })
    try {
      await signIn(page, base, owner)
      expect(page.url()).toBe(`${base}/dashboard/w/${workspace.id}/overview`)
      await page.getByRole('heading', { name: 'Plan usage' }).waitFor()
      await expect.poll(() => page.getByTestId('used-posts').textContent()).toBe('3')
      await expect
        .poll(() => page.getByTestId('delivery-summary').textContent())
        .toMatch(/^3 deliveries in the last 14 days; 100% of those finished succeeded\./)
      const chart = page.getByRole('figure', { name: /Deliveries per day/ })
      await chart.locator('canvas').first().waitFor()
      await expect
        .poll(() => page.getByTestId('visitor-summary').textContent())
        .toMatch(/^2 visitors and 2 page views/)
      await page.getByRole('figure', { name: /Visitors per day on overview\.example/ }).waitFor()
      await checkPage(page, errors, 'overview')

      // The table the chart falls back to: one row a day, today's with the three successes.
      await chart.getByRole('button', { name: 'Show as table' }).click()
      const table = chart.getByRole('table')
      await table.waitFor()
      expect(await table.getByRole('row').count()).toBe(15) // the heading row and 14 days
      const today = table.getByRole('row').last()
      expect(await today.getByRole('cell').allTextContents()).toEqual(['3', '0', '0'])
      await checkPage(page, errors, 'overview-table')
    } finally {
      await context.close()
    }
    // Dark, on a phone: nothing wider than the screen.
    const phone = await openPage(browser, { width: 375, colorScheme: 'dark', now: t.clock.now() })
    try {
      await signIn(phone.page, base, owner)
      await phone.page.getByRole('figure', { name: /Deliveries per day/ }).waitFor()
      await checkPage(phone.page, phone.errors, 'overview-phone-dark')
      expect(await phone.page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375)
    } finally {
      await phone.context.close()
    }
  }, 120_000)

  it('lists the event catalog with example payloads, and offers its types when adding an endpoint', async () => {
    const { context, page, errors } = await openPage(browser)
    try {
      await signIn(page, base, owner)
      await page.getByRole('link', { name: 'Webhooks' }).click()
      await page.getByRole('heading', { name: 'Webhooks' }).waitFor()
      await page.getByRole('link', { name: 'event catalog' }).click()
      await page.getByRole('heading', { name: 'Event catalog' }).waitFor()
      const created = page.locator('[data-event-type="post.created"]')
      await created.getByText('A post was created').waitFor()
      expect(await created.getByText('posts:read').count()).toBe(1)
      const example = JSON.parse((await created.locator('pre').textContent()) ?? '')
      expect(example).toMatchObject({
        type: 'post.created',
        workspace_id: 1,
        data: { title: 'Hello, world' },
      })
      for (const type of ['api_key.revoked', 'workspace.updated', 'seo.audit.completed', 'webhook.disabled'])
        expect(await page.locator(`[data-event-type="${type}"] pre`).count()).toBe(1)
      await checkPage(page, errors, 'event-catalog')

      await page.getByRole('link', { name: '← Webhooks' }).click()
      await page.getByRole('button', { name: 'Add endpoint' }).click()
      const dialog = page.getByRole('dialog', { name: 'Add a webhook endpoint' })
      await dialog.getByLabel('Add from the catalog').selectOption('post.deleted')
      await dialog.getByRole('button', { name: 'Add event' }).click()
      await dialog.getByLabel('Add from the catalog').selectOption('api_key.*')
      await dialog.getByRole('button', { name: 'Add event' }).click()
      expect(await dialog.getByLabel('Events').inputValue()).toBe('post.deleted, api_key.*')
      await checkPage(page, errors, 'webhooks-create-catalog')
    } finally {
      await context.close()
    }
  }, 60_000)

  it('lists both attempts of a delivery that failed and then succeeded on a retry', async () => {
    const endpoint = await api('POST', '/api/v1/webhooks', { url: receiverUrl, events: ['webhook.test'] })
    const id = endpoint.json().data.id as number
    answer.status = 500
    answer.body = 'boom: receiver not ready'
    const { context, page, errors } = await openPage(browser)
    try {
      await signIn(page, base, owner)
      await page.goto(`${base}/dashboard/w/${workspace.id}/webhooks/${id}`)
      await page.getByRole('heading', { name: receiverUrl }).waitFor()
      await page.getByRole('button', { name: 'Send test event' }).click()
      await expect.poll(() => page.getByTestId('test-result').textContent()).toMatch(/failed: status 500/)
      const row = page.getByRole('row', { name: /webhook\.test/ })
      await row.getByRole('button', { name: /Details of delivery/ }).click()
      const details = page.getByRole('dialog', { name: /Delivery \d+/ })
      await details.getByText('Attempt 1').waitFor()
      answer.status = 200
      answer.body = 'fixed'
      const before = received
      await details.getByRole('button', { name: 'Retry now' }).click()
      await details.getByText('Queued for another attempt.').waitFor()
      await expect.poll(() => received, { timeout: 15_000 }).toBe(before + 1)
      // The open dialog follows the queued delivery until its attempt is recorded.
      const attempts = details.getByTestId('attempts').getByRole('listitem')
      await expect.poll(() => attempts.count(), { timeout: 15_000 }).toBe(2)
      const [newest, oldest] = await attempts.allTextContents()
      expect(newest).toMatch(/^Attempt 2: HTTP 200 in \d+ ms, .+fixed$/)
      expect(oldest).toMatch(/^Attempt 1: HTTP 500 in \d+ ms, .+boom: receiver not ready$/)
      await checkPage(page, errors, 'webhook-delivery-attempts')
    } finally {
      await context.close()
    }
  }, 90_000)
})
