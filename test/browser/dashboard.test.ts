// The dashboard as people use it: Debian's Chromium (playwright-core) opens /dashboard on a real
// server, signs in with a user's email and password, creates an API key and sees its secret once,
// rotates and revokes it, filters the table through the URL, watches usage move after posts are
// created, and checks that a member without rights sees no actions. On every screen axe-core
// (injected into the page) must find no serious or critical violation, the console must stay free
// of errors (CSP refusals included), and a screenshot is saved outside the repository.
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
  PASSWORD,
  signIn,
} from './kit.ts'

describe.skipIf(!chromiumAvailable || !dashboardBuilt)('the dashboard in a browser', () => {
  let t: TestApp
  let browser: Browser
  let base: string
  let workspace: { id: number }
  let other: { id: number }
  // A loopback receiver for webhooks: answers `answer.status`, and records what it was sent.
  let receiver: Server
  let receiverUrl: string
  const answer = { status: 500, body: 'boom: receiver not ready' }
  const received: { headers: Record<string, unknown>; body: string }[] = []
  const owner = 'owner@dashboard.test'
  const member = 'member@dashboard.test'

  beforeAll(async () => {
    ;({ t, base } = await listeningApp({ WEBHOOK_ALLOW_INSECURE_URLS: '1' }))
    // Pro: a plan with limits, and a per-minute budget the whole run stays within.
    workspace = await t.workspace({ name: 'Acme', tier: 'pro' })
    await addPeople(t, [
      { email: owner, role: 'owner', workspace: workspace.id, name: 'owner' },
      { email: member, role: 'member', workspace: workspace.id, name: 'member' },
    ])
    other = await t.workspace({ name: 'Beta', owner_email: owner })
    receiver = createServer(async (req, res) => {
      const chunks: Buffer[] = []
      for await (const chunk of req) chunks.push(chunk as Buffer)
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString() })
      res.writeHead(answer.status, { 'content-type': 'text/plain' }).end(answer.body)
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

  async function keyWorks(key: string): Promise<number> {
    return (await t.call(key, { method: 'GET', url: '/api/v1/me' })).statusCode
  }

  it('signs in, creates a key shown once, rotates it and revokes it', async () => {
    const { context, page, errors } = await openPage(browser)
    try {
      await page.goto(`${base}/dashboard/`)
      await page.getByRole('heading', { name: 'Sign in to core-api' }).waitFor()
      await checkPage(page, errors, 'sign-in')

      // A wrong password: the server's message, and still on the sign-in page.
      await page.getByLabel('Email').fill(owner)
      await page.getByLabel('Password').fill('wrong password')
      const refused = page.waitForResponse((r) => r.url().endsWith('/api/auth/sign-in'))
      await page.getByRole('button', { name: 'Sign in' }).click()
      expect((await refused).status()).toBe(401)
      await page.getByRole('alert').waitFor()
      errors.length = 0 // the browser logs the 401 it was shown

      await signIn(page, base, owner)
      expect(page.url()).toBe(`${base}/dashboard/w/${workspace.id}/overview`)
      await page.getByRole('link', { name: 'API keys' }).click()
      await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor()
      await checkPage(page, errors, 'api-keys-empty')

      // Create: name, chosen scopes, an expiry; the secret is shown once.
      await page.getByRole('button', { name: 'Create key' }).click()
      const dialog = page.getByRole('dialog', { name: 'Create an API key' })
      await dialog.getByLabel('Name').fill('ci deploy')
      await dialog.getByLabel('Choose scopes').check()
      await dialog.getByLabel('posts:read').check()
      await dialog.getByLabel('posts:write').check()
      await dialog.getByLabel('Expires').selectOption('30')
      await checkPage(page, errors, 'api-keys-create')
      const creating = page.waitForRequest(
        (r) => r.url().endsWith('/api/v1/api-keys') && r.method() === 'POST',
      )
      await dialog.getByRole('button', { name: 'Create key' }).click()
      const request = await creating
      expect(request.headers()['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/)
      expect(request.headers()['x-csrf-token']).toBeTruthy()
      const secretBox = page.getByTestId('secret')
      await secretBox.waitFor()
      const secret = await secretBox.inputValue()
      expect(secret).toMatch(/^sk_(live|test)_/)
      await checkPage(page, errors, 'api-keys-secret')
      expect(await keyWorks(secret)).toBe(200)
      const stored = (await t.call(secret, { method: 'GET', url: '/api/v1/me' })).json().data
      expect(stored.scopes).toEqual(['posts:read', 'posts:write'])
      await page.getByRole('button', { name: 'I have stored it' }).click()
      await page.getByTestId('secret').waitFor({ state: 'detached' })
      expect(await page.content()).not.toContain(secret)
      const row = page.getByRole('row', { name: /ci deploy/ })
      await expect.poll(() => row.count()).toBe(1)
      await expect.poll(() => row.getByText('active').count()).toBe(1)
      await checkPage(page, errors, 'api-keys-list')

      // Rotate with no grace period: the new secret works, the old one stops at once.
      await page.getByRole('button', { name: 'Rotate ci deploy' }).click()
      const rotate = page.getByRole('dialog', { name: /Rotate/ })
      await rotate.getByLabel('Grace period for the old key').selectOption('0')
      await checkPage(page, errors, 'api-keys-rotate')
      await rotate.getByRole('button', { name: 'Rotate key' }).click()
      await page.getByTestId('secret').waitFor()
      const rotated = await page.getByTestId('secret').inputValue()
      expect(rotated).not.toBe(secret)
      expect(await keyWorks(rotated)).toBe(200)
      expect(await keyWorks(secret)).toBe(401)
      await page.getByRole('button', { name: 'I have stored it' }).click()

      // Revoke, after a confirmation: the key is refused from then on.
      await page.getByRole('button', { name: 'Revoke ci deploy' }).first().click()
      const confirm = page.getByRole('alertdialog')
      await checkPage(page, errors, 'api-keys-revoke')
      await confirm.getByRole('button', { name: 'Cancel' }).click()
      expect(await keyWorks(rotated)).toBe(200)
      await page.getByRole('button', { name: 'Revoke ci deploy' }).first().click()
      await page.getByRole('alertdialog').getByRole('button', { name: 'Revoke key' }).click()
      await page.getByRole('alertdialog').waitFor({ state: 'detached' })
      await expect.poll(() => keyWorks(rotated)).toBe(401)

      // The filters live in the URL, and survive a reload.
      await page.getByLabel('Status').selectOption('revoked')
      await expect.poll(() => new URL(page.url()).searchParams.get('status')).toBe('revoked')
      await page.getByLabel('Search').fill('deploy')
      await page.getByRole('button', { name: 'Search' }).click()
      await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBe('deploy')
      await page.reload()
      await page.getByRole('heading', { name: 'API keys' }).waitFor()
      expect(await page.getByLabel('Status').inputValue()).toBe('revoked')
      await expect.poll(() => page.getByRole('row', { name: /ci deploy/ }).count()).toBe(2)
      await page.getByLabel('Search').fill('nothing-like-this')
      await page.getByRole('button', { name: 'Search' }).click()
      await page.getByText('No key matches.').waitFor()
      await checkPage(page, errors, 'api-keys-filtered')
    } finally {
      await context.close()
    }
  }, 120_000)

  it('adds a webhook endpoint, sends a test that fails, sees the delivery and retries it', async () => {
    const { context, page, errors } = await openPage(browser)
    try {
      await signIn(page, base, owner)
      await page.getByRole('link', { name: 'Webhooks' }).click()
      await page.getByRole('heading', { name: 'Webhooks' }).waitFor()
      await page.getByRole('button', { name: 'Add endpoint' }).click()
      const dialog = page.getByRole('dialog', { name: 'Add a webhook endpoint' })
      await dialog.getByLabel('URL').fill(receiverUrl)
      await dialog.getByLabel('Events').fill('post.*, api_key.created')
      await dialog.getByLabel('Description (optional)').fill('orders service')
      await checkPage(page, errors, 'webhooks-create')
      await dialog.getByRole('button', { name: 'Add endpoint' }).click()
      const secret = await page.getByTestId('secret').inputValue()
      expect(secret).toMatch(/^whsec_/)
      await page.getByRole('button', { name: 'I have stored it' }).click()
      await page.getByRole('link', { name: receiverUrl }).waitFor()
      await checkPage(page, errors, 'webhooks-list')

      // The endpoint: a test event to a receiver answering 500 is a failed delivery.
      await page.getByRole('link', { name: receiverUrl }).click()
      await page.getByRole('heading', { name: receiverUrl }).waitFor()
      expect(await page.getByText('post.*, api_key.created').count()).toBe(1)
      await page.getByRole('button', { name: 'Send test event' }).click()
      await expect.poll(() => page.getByTestId('test-result').textContent()).toMatch(/failed: status 500/)
      expect(received).toHaveLength(1)
      expect(received[0]!.headers['webhook-signature']).toMatch(/^v1,/)
      expect(JSON.parse(received[0]!.body).type).toBe('webhook.test')
      const row = page.getByRole('row', { name: /webhook\.test/ })
      await expect.poll(() => row.getByText('failed').count()).toBe(1)
      await checkPage(page, errors, 'webhook-endpoint')

      // Filters in the URL.
      await page.getByLabel('Delivery status').selectOption('success')
      await expect.poll(() => new URL(page.url()).searchParams.get('status')).toBe('success')
      await page.getByText('No deliveries match.').waitFor()
      await page.getByLabel('Delivery status').selectOption('failed')
      await page.getByLabel('Event type').fill('webhook.test')
      await page.getByRole('button', { name: 'Filter' }).click()
      await expect.poll(() => new URL(page.url()).searchParams.get('event_type')).toBe('webhook.test')
      await expect.poll(() => row.count()).toBe(1)

      // The delivery's last attempt, then a retry once the receiver is fixed.
      await row.getByRole('button', { name: /Details of delivery/ }).click()
      const details = page.getByRole('dialog', { name: /Delivery \d+/ })
      await details.getByText('boom: receiver not ready').waitFor()
      expect(await details.getByText('500', { exact: true }).count()).toBe(1)
      await checkPage(page, errors, 'webhook-delivery')
      answer.status = 200
      answer.body = 'ok'
      await details.getByRole('button', { name: 'Retry now' }).click()
      await details.getByText('Queued for another attempt.').waitFor()
      await expect.poll(() => received.length, { timeout: 15_000 }).toBe(2)
      expect(JSON.parse(received[1]!.body).id).toBe(JSON.parse(received[0]!.body).id)
      await details.getByRole('button', { name: 'Close' }).click()
      await page.getByLabel('Delivery status').selectOption('success')
      await expect
        .poll(
          async () => {
            await page.reload()
            await page.getByRole('heading', { name: 'Deliveries' }).waitFor()
            return page.getByRole('row', { name: /webhook\.test/ }).count()
          },
          { timeout: 15_000 },
        )
        .toBe(1)

      // Disable, then enable again.
      await page.getByRole('button', { name: 'Disable' }).click()
      await page.getByText('disabled', { exact: false }).first().waitFor()
      await page.getByRole('button', { name: 'Enable' }).click()
      await page.getByText('enabled', { exact: true }).waitFor()
      await checkPage(page, errors, 'webhook-endpoint-after-retry')

      // Edit the events; rotate the signing secret (the new one shown once).
      await page.getByRole('button', { name: 'Edit' }).click()
      const edit = page.getByRole('dialog', { name: 'Edit the endpoint' })
      await edit.getByLabel('Events').fill('post.created')
      await edit.getByRole('button', { name: 'Save' }).click()
      await edit.waitFor({ state: 'detached' })
      await page.getByText('post.created', { exact: true }).waitFor()
      await page.getByRole('button', { name: 'Rotate secret' }).click()
      await page.getByRole('alertdialog').getByRole('button', { name: 'Rotate secret' }).click()
      const rotated = await page.getByTestId('secret').inputValue()
      expect(rotated).toMatch(/^whsec_/)
      expect(rotated).not.toBe(secret)
      await page.getByRole('button', { name: 'I have stored it' }).click()
    } finally {
      await context.close()
    }
  }, 120_000)

  it('refuses a cookie-authenticated write without the CSRF token, and stores nothing', async () => {
    const { context, page } = await openPage(browser)
    try {
      await signIn(page, base, owner)
      const before = (
        await t.call(t.masterKey, { method: 'GET', url: '/api/v1/api-keys', workspace: workspace.id })
      ).json().meta.total
      const status = await page.evaluate(async (id) => {
        const res = await fetch('/api/v1/api-keys', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-workspace-id': String(id) },
          body: JSON.stringify({ name: 'forged' }),
        })
        return res.status
      }, workspace.id)
      expect(status).toBe(403)
      const after = (
        await t.call(t.masterKey, { method: 'GET', url: '/api/v1/api-keys', workspace: workspace.id })
      ).json().meta.total
      expect(after).toBe(before)
    } finally {
      await context.close()
    }
  }, 60_000)

  it('shows usage against the plan, moving after posts are created; switches workspace', async () => {
    const { context, page, errors } = await openPage(browser, { colorScheme: 'dark' })
    try {
      await signIn(page, base, owner)
      await page.getByRole('link', { name: 'Usage and plan' }).click()
      await page.getByRole('heading', { name: 'Usage and plan' }).waitFor()
      const used = page.getByTestId('used-posts')
      await used.waitFor()
      const before = Number(await used.textContent())
      await page.getByText('0 of 1,000', { exact: false }).first().waitFor()
      // Where to raise the limits: the plans file's upgrade_url.
      expect(await page.getByRole('link', { name: 'Upgrade the plan' }).getAttribute('href')).toBe(
        'https://example.com/upgrade',
      )
      await checkPage(page, errors, 'usage-dark')

      const { key } = await t.key(workspace.id, { scopes: ['posts:write'] })
      for (const title of ['One', 'Two', 'Three']) {
        const res = await t.call(key, { method: 'POST', url: '/api/v1/posts', payload: { title } })
        expect(res.statusCode).toBe(201)
      }
      await page.reload()
      await expect
        .poll(async () => Number(await page.getByTestId('used-posts').textContent()))
        .toBe(before + 3)
      expect(await page.getByRole('meter', { name: 'Posts' }).getAttribute('value')).toBe(String(before + 3))

      // The switcher keeps the screen and changes the workspace in the URL.
      await page.getByLabel('Workspace').selectOption(String(other.id))
      await expect.poll(() => page.url()).toBe(`${base}/dashboard/w/${other.id}/usage`)
      await expect.poll(() => page.locator('strong.tier').textContent()).toBe('enterprise')
      await checkPage(page, errors, 'usage-other-workspace')

      await page.getByLabel('Theme').selectOption('light')
      expect(await page.evaluate('document.documentElement.dataset.theme')).toBe('light')
      await page.getByRole('button', { name: 'Sign out' }).click()
      await page.getByRole('heading', { name: 'Sign in to core-api' }).waitFor()
      const session = await page.evaluate(async () => (await fetch('/api/auth/session')).status)
      expect(session).toBe(401)
      errors.length = 0 // that 401 is logged by the browser
    } finally {
      await context.close()
    }
  }, 90_000)

  it('shows a member only their own keys and no webhook actions, on a phone-sized screen', async () => {
    const { context, page, errors } = await openPage(browser, { width: 390 })
    try {
      await t.key(workspace.id, { name: 'owned by the team' })
      await signIn(page, base, member)
      await page.getByRole('link', { name: 'API keys' }).click()
      // A member manages the keys they make, and sees no one else's.
      await page.getByRole('button', { name: 'Create key' }).waitFor()
      expect(await page.getByRole('row', { name: /owned by the team/ }).count()).toBe(0)
      expect(await page.getByRole('button', { name: /^(Rotate|Revoke) / }).count()).toBe(0)
      await checkPage(page, errors, 'api-keys-member-phone')
      await page.getByRole('link', { name: 'Webhooks' }).click()
      await page.getByRole('heading', { name: 'Webhooks' }).waitFor()
      expect(await page.getByRole('button', { name: 'Add endpoint' }).count()).toBe(0)
      await checkPage(page, errors, 'webhooks-member-phone')
      // Nothing wider than the phone: wide tables scroll inside their own region.
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390)
      // A link to the API reference is on every screen.
      expect(await page.getByRole('link', { name: 'API reference' }).getAttribute('href')).toBe('/docs')
    } finally {
      await context.close()
    }
  }, 60_000)

  it('sends a person whose session ended to sign in, and back to the screen afterwards', async () => {
    const { context, page, errors } = await openPage(browser)
    try {
      await signIn(page, base, owner)
      await page.waitForLoadState('networkidle') // the overview has fetched its figures
      await context.clearCookies() // as if the session had expired
      await page.getByRole('link', { name: 'Usage and plan' }).click()
      await page.getByRole('heading', { name: 'Sign in to core-api' }).waitFor()
      errors.length = 0 // the browser logs the 401 that ended it
      await page.getByLabel('Email').fill(owner)
      await page.getByLabel('Password').fill(PASSWORD)
      await page.getByRole('button', { name: 'Sign in' }).click()
      await page.getByRole('heading', { name: 'Usage and plan' }).waitFor()
      expect(page.url()).toBe(`${base}/dashboard/w/${workspace.id}/usage`)
      expect(errors).toEqual([])
    } finally {
      await context.close()
    }
  }, 60_000)

  it('accepts an invitation: a new person chooses a password and lands in the workspace', async () => {
    const invited = await t.call(t.masterKey, {
      method: 'POST',
      url: `/api/v1/workspaces/${workspace.id}/invitations`,
      payload: { email: 'new@dashboard.test', role: 'member' },
    })
    expect(invited.statusCode).toBe(201)
    const { token } = invited.json().data
    const { context, page, errors } = await openPage(browser)
    try {
      await page.goto(`${base}/dashboard/invitations/accept?token=wrong`)
      await page.getByRole('heading', { name: 'Join a workspace' }).waitFor()
      await checkPage(page, errors, 'accept-invitation')
      await page.getByLabel('Password').fill(PASSWORD)
      await page.getByRole('button', { name: 'Accept the invitation' }).click()
      await page.getByRole('alert').waitFor() // an unknown token is 404, said on the page
      errors.length = 0 // the browser logs that 404

      await page.goto(`${base}/dashboard/invitations/accept?token=${encodeURIComponent(token)}`)
      await page.getByLabel('Your name (optional)').fill('Newcomer')
      await page.getByLabel('Password').fill(PASSWORD)
      await page.getByRole('button', { name: 'Accept the invitation' }).click()
      await page.getByRole('heading', { name: 'Overview' }).waitFor()
      expect(page.url()).toBe(`${base}/dashboard/w/${workspace.id}/overview`)
      await page.getByRole('link', { name: 'API keys' }).click()
      await page.getByRole('button', { name: 'Create key' }).waitFor() // a member makes their own keys
      await page.getByText('new@dashboard.test').waitFor()
      expect(errors).toEqual([])
    } finally {
      await context.close()
    }
  }, 60_000)

  it('sends a signed-out visitor of a deep link to sign in, and back there afterwards', async () => {
    const { context, page, errors } = await openPage(browser)
    try {
      await page.goto(`${base}/dashboard/w/${workspace.id}/usage`)
      await page.getByRole('heading', { name: 'Sign in to core-api' }).waitFor()
      await page.getByLabel('Email').fill(owner)
      await page.getByLabel('Password').fill(PASSWORD)
      await page.getByRole('button', { name: 'Sign in' }).click()
      await page.getByRole('heading', { name: 'Usage and plan' }).waitFor()
      expect(page.url()).toBe(`${base}/dashboard/w/${workspace.id}/usage`)
      expect(errors).toEqual([])
    } finally {
      await context.close()
    }
  }, 60_000)
})
