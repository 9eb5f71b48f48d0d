// The members and OAuth apps screens as people use them, in Debian's Chromium against a real
// server: an owner invites (the link shown once, and it works), sees and revokes pending
// invitations, changes roles (asked to confirm around the owner role, the last owner kept), removes
// a member; a member sees both screens without any action, at phone width; an owner registers an
// OAuth app whose secret, shown once, gets a token at /oauth2/token, rotates it (the old one is
// refused), edits its redirect URIs and deletes it. Every screen passes checkPage (axe, screenshot,
// no console error).
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
  PASSWORD,
  signIn,
} from './kit.ts'

describe.skipIf(!chromiumAvailable || !dashboardBuilt)('members and OAuth apps in the dashboard', () => {
  let t: TestApp
  let browser: Browser
  let base: string
  let workspace: { id: number }
  const owner = 'owner@members.test'
  const member = 'member@members.test'
  const carol = 'carol@members.test'
  const admin = 'admin@members.test'
  const ids: Record<string, number> = {}

  beforeAll(async () => {
    ;({ t, base } = await listeningApp())
    workspace = await t.workspace({ name: 'Acme', tier: 'pro' })
    Object.assign(
      ids,
      await addPeople(t, [
        { email: owner, role: 'owner', workspace: workspace.id },
        { email: member, role: 'member', workspace: workspace.id },
        { email: carol, role: 'member', workspace: workspace.id },
        { email: admin, role: 'admin', workspace: workspace.id },
      ]),
    )
    browser = await launchBrowser()
  }, 90_000)

  afterAll(async () => {
    await browser?.close()
    await t?.close()
  })

  async function roles(): Promise<Record<string, string>> {
    const res = await t.call(t.masterKey, {
      method: 'GET',
      url: `/api/v1/workspaces/${workspace.id}/members?per_page=100`,
    })
    return Object.fromEntries(res.json().data.map((m: { email: string; role: string }) => [m.email, m.role]))
  }

  async function pending(): Promise<string[]> {
    const res = await t.call(t.masterKey, {
      method: 'GET',
      url: `/api/v1/workspaces/${workspace.id}/invitations`,
    })
    return res.json().data.map((i: { email: string }) => i.email)
  }

  async function apps(): Promise<{ id: number; name: string; client_id: string; redirect_uris: string[] }[]> {
    const res = await t.call(t.masterKey, {
      method: 'GET',
      url: '/api/v1/oauth/clients',
      workspace: workspace.id,
    })
    return res.json().data
  }

  /** The status of a client-credentials token request with this secret (and the token, if any). */
  async function token(clientId: string, secret: string): Promise<{ status: number; access_token?: string }> {
    const res = await fetch(`${base}/oauth2/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials&scope=posts%3Aread',
    })
    const body = (await res.json()) as { access_token?: string }
    return { status: res.status, access_token: body.access_token }
  }

  async function open(page: Page, link: string, heading: string) {
    await page.getByRole('link', { name: link, exact: true }).click()
    await page.getByRole('heading', { name: heading, exact: true }).waitFor()
  }

  async function readSecret(page: Page): Promise<string> {
    const box = page.getByTestId('secret')
    await box.waitFor()
    return await box.inputValue()
  }

  async function closeSecret(page: Page, secret: string) {
    await page.getByRole('button', { name: 'I have stored it' }).click()
    await page.getByTestId('secret').waitFor({ state: 'detached' })
    expect(await page.content()).not.toContain(secret)
  }

  it('lets an owner invite, revoke an invitation, change roles and remove a member', async () => {
    const { context, page, errors } = await openPage(browser)
    try {
      await signIn(page, base, owner)
      await open(page, 'Members', 'Members')
      await page.getByRole('row', { name: new RegExp(carol) }).waitFor()
      await page.getByText('No pending invitations.').waitFor()
      // The only owner can be neither demoted nor removed: the page says so before the server has to.
      expect(await page.getByRole('combobox', { name: `Role of ${owner}` }).isDisabled()).toBe(true)
      await checkPage(page, errors, 'members')

      // Invite: the link is shown once, and its token is a real invitation.
      await page.getByRole('button', { name: 'Invite someone' }).click()
      const dialog = page.getByRole('dialog', { name: 'Invite someone' })
      await dialog.getByLabel('Email').fill('dana@members.test')
      await dialog.getByLabel('Role').selectOption('admin')
      await checkPage(page, errors, 'members-invite')
      await dialog.getByRole('button', { name: 'Send invitation' }).click()
      const link = await readSecret(page)
      expect(link).toMatch(new RegExp(`^${base}/dashboard/invitations/accept\\?token=inv_[A-Za-z0-9]{43}$`))
      await checkPage(page, errors, 'members-invitation-link')
      await closeSecret(page, link)
      await page.getByRole('button', { name: 'Invite someone' }).click()
      await dialog.getByLabel('Email').fill('eve@members.test')
      await dialog.getByRole('button', { name: 'Send invitation' }).click()
      await closeSecret(page, await readSecret(page))
      const invitations = page.getByRole('region', { name: 'Pending invitations table' })
      await invitations.getByRole('row', { name: /eve@members\.test/ }).waitFor()
      await invitations.getByRole('row', { name: /dana@members\.test.*admin/ }).waitFor()
      expect((await pending()).sort()).toEqual(['dana@members.test', 'eve@members.test'])

      // Revoke one, after a confirmation.
      await page.getByRole('button', { name: 'Revoke the invitation of eve@members.test' }).click()
      const revoke = page.getByRole('alertdialog', { name: 'Revoke the invitation of eve@members.test?' })
      await revoke.getByRole('button', { name: 'Revoke invitation' }).click()
      // An open dialog hides the page from the accessibility tree: wait for it to close first.
      await revoke.waitFor({ state: 'detached' })
      await invitations.getByRole('row', { name: /eve@members\.test/ }).waitFor({ state: 'detached' })
      expect(await pending()).toEqual(['dana@members.test'])
      const accepted = await t.app.inject({
        method: 'POST',
        url: '/api/auth/invitations/accept',
        payload: { token: new URL(link).searchParams.get('token'), password: PASSWORD },
      })
      expect(accepted.statusCode).toBe(200)
      expect((await roles())['dana@members.test']).toBe('admin')

      // A role between admin and member changes at once.
      await page.getByRole('combobox', { name: `Role of ${carol}` }).selectOption('admin')
      await expect.poll(async () => (await roles())[carol]).toBe('admin')
      // Making an owner asks first: cancelled, nothing changes; confirmed, it does.
      await page.getByRole('combobox', { name: `Role of ${carol}` }).selectOption('owner')
      const confirm = page.getByRole('alertdialog', { name: `Make ${carol} an owner?` })
      await checkPage(page, errors, 'members-confirm-owner')
      await confirm.getByRole('button', { name: 'Cancel' }).click()
      await confirm.waitFor({ state: 'detached' })
      expect(await page.getByRole('combobox', { name: `Role of ${carol}` }).inputValue()).toBe('admin')
      expect((await roles())[carol]).toBe('admin')
      await page.getByRole('combobox', { name: `Role of ${carol}` }).selectOption('owner')
      await confirm.getByRole('button', { name: 'Change role' }).click()
      await confirm.waitFor({ state: 'detached' })
      await expect.poll(async () => (await roles())[carol]).toBe('owner')
      // Two owners: the first may now be changed; unmaking an owner asks too.
      await expect
        .poll(() => page.getByRole('combobox', { name: `Role of ${owner}` }).isDisabled())
        .toBe(false)
      await page.getByRole('combobox', { name: `Role of ${carol}` }).selectOption('member')
      const demote = page.getByRole('alertdialog', { name: `Make ${carol} a member?` })
      await demote.getByRole('button', { name: 'Change role' }).click()
      await demote.waitFor({ state: 'detached' })
      await expect.poll(async () => (await roles())[carol]).toBe('member')

      // Remove, after a confirmation.
      await page.getByRole('button', { name: `Remove ${carol}` }).click()
      const remove = page.getByRole('alertdialog', { name: `Remove ${carol}?` })
      await checkPage(page, errors, 'members-remove')
      await remove.getByRole('button', { name: 'Remove member' }).click()
      await remove.waitFor({ state: 'detached' })
      await page.getByRole('row', { name: new RegExp(carol) }).waitFor({ state: 'detached' })
      expect(Object.keys(await roles()).sort()).toEqual([admin, 'dana@members.test', member, owner].sort())
      await checkPage(page, errors, 'members-after')
    } finally {
      await context.close()
    }
  }, 120_000)

  it('registers an OAuth app whose secret works once shown, rotates it, edits it and deletes it', async () => {
    const { context, page, errors } = await openPage(browser)
    try {
      await signIn(page, base, owner)
      await open(page, 'OAuth apps', 'OAuth apps')
      await page.getByText('No apps yet.').waitFor()
      await checkPage(page, errors, 'oauth-apps-empty')

      await page.getByRole('button', { name: 'Register app' }).click()
      const dialog = page.getByRole('dialog', { name: 'Register an OAuth app' })
      await dialog.getByLabel('Name').fill('Reports')
      await dialog
        .getByLabel('Redirect URIs')
        .fill('https://reports.example/callback\n\nhttp://localhost:8080/cb\n')
      await dialog.getByLabel('Client credentials').check()
      await dialog.getByLabel('Scopes').fill('posts:read, posts:write')
      await checkPage(page, errors, 'oauth-apps-register')
      await dialog.getByRole('button', { name: 'Register app' }).click()
      const secret = await readSecret(page)
      expect(secret).toMatch(/^ocs_/)
      await checkPage(page, errors, 'oauth-apps-secret')
      await closeSecret(page, secret)
      const [app] = await apps()
      expect(app).toMatchObject({
        name: 'Reports',
        redirect_uris: ['https://reports.example/callback', 'http://localhost:8080/cb'],
        grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
        scopes: ['posts:read', 'posts:write'],
        token_endpoint_auth_method: 'client_secret_basic',
      })
      await page.getByRole('row', { name: new RegExp(app!.client_id) }).waitFor()
      // The secret gets a token, and the token reads this workspace's posts.
      const issued = await token(app!.client_id, secret)
      expect(issued.status).toBe(200)
      expect((await t.call(issued.access_token!, { method: 'GET', url: '/api/v1/posts' })).statusCode).toBe(
        200,
      )
      await checkPage(page, errors, 'oauth-apps-list')

      // Rotate, after a confirmation: the new secret is shown once, the old one is refused.
      await page.getByRole('button', { name: 'Rotate secret of Reports' }).click()
      await page
        .getByRole('alertdialog', { name: 'Rotate the secret of “Reports”?' })
        .getByRole('button', { name: 'Rotate secret' })
        .click()
      const rotated = await readSecret(page)
      expect(rotated).toMatch(/^ocs_/)
      expect(rotated).not.toBe(secret)
      await closeSecret(page, rotated)
      expect((await token(app!.client_id, secret)).status).toBe(401)
      expect((await token(app!.client_id, rotated)).status).toBe(200)

      // Edit: a refused redirect URI is explained and nothing changes; a good one is saved.
      await page.getByRole('button', { name: 'Edit Reports' }).click()
      const edit = page.getByRole('dialog', { name: 'Edit “Reports”' })
      expect(await edit.getByLabel('Redirect URIs').inputValue()).toBe(
        'https://reports.example/callback\nhttp://localhost:8080/cb',
      )
      await edit.getByLabel('Redirect URIs').fill('http://reports.example/callback')
      await edit.getByRole('button', { name: 'Save' }).click()
      await edit
        .getByRole('alert')
        .getByText(/must use https/)
        .waitFor()
      errors.length = 0 // the browser logs the 422
      expect((await apps())[0]!.redirect_uris).toHaveLength(2)
      await edit.getByLabel('Name').fill('Reports v2')
      await edit.getByLabel('Redirect URIs').fill('https://reports.example/v2/callback')
      await edit.getByRole('button', { name: 'Save' }).click()
      await edit.waitFor({ state: 'detached' })
      await page.getByRole('row', { name: /Reports v2.*reports\.example\/v2\/callback/ }).waitFor()
      expect((await apps())[0]).toMatchObject({
        name: 'Reports v2',
        redirect_uris: ['https://reports.example/v2/callback'],
      })

      // A public app: no secret to show or rotate.
      await page.getByRole('button', { name: 'Register app' }).click()
      await dialog.getByLabel('Name').fill('Mobile')
      await dialog.getByLabel('Redirect URIs').fill('http://127.0.0.1:7000/cb')
      await dialog.getByLabel('Refresh token').uncheck()
      await dialog.getByLabel('Client type').selectOption('none')
      await dialog.getByRole('button', { name: 'Register app' }).click()
      await dialog.waitFor({ state: 'detached' })
      await page.getByRole('row', { name: /Mobile.*public/ }).waitFor()
      expect(await page.getByTestId('secret').count()).toBe(0)
      expect(await page.getByRole('button', { name: 'Rotate secret of Mobile' }).count()).toBe(0)

      // Delete: cancelled, it stays; confirmed, it and its secret are gone.
      await page.getByRole('button', { name: 'Delete Reports v2' }).click()
      const confirm = page.getByRole('alertdialog', { name: 'Delete “Reports v2”?' })
      await checkPage(page, errors, 'oauth-apps-delete')
      await confirm.getByRole('button', { name: 'Cancel' }).click()
      await confirm.waitFor({ state: 'detached' })
      expect(await apps()).toHaveLength(2)
      await page.getByRole('button', { name: 'Delete Reports v2' }).click()
      await confirm.getByRole('button', { name: 'Delete app' }).click()
      await confirm.waitFor({ state: 'detached' })
      await page.getByRole('row', { name: /Reports v2/ }).waitFor({ state: 'detached' })
      expect((await apps()).map((a) => a.name)).toEqual(['Mobile'])
      expect((await token(app!.client_id, rotated)).status).toBe(401)
      await checkPage(page, errors, 'oauth-apps-after')
    } finally {
      await context.close()
    }
  }, 120_000)

  it('offers an admin invitations and removals, but no roles and no owners', async () => {
    const { context, page, errors } = await openPage(browser)
    try {
      await signIn(page, base, admin)
      await open(page, 'Members', 'Members')
      await page.getByRole('button', { name: `Remove ${member}` }).waitFor()
      expect(await page.getByRole('button', { name: `Remove ${owner}` }).count()).toBe(0)
      expect(await page.getByRole('combobox', { name: /^Role of/ }).count()).toBe(0)
      await page.getByRole('button', { name: 'Invite someone' }).click()
      const role = page.getByRole('dialog', { name: 'Invite someone' }).getByLabel('Role')
      expect(await role.locator('option').allTextContents()).toEqual(['admin', 'member'])
      await checkPage(page, errors, 'members-admin-invite')
    } finally {
      await context.close()
    }
  }, 60_000)

  it('shows a member both screens without actions, at phone width in the dark theme', async () => {
    await t.call(t.masterKey, {
      method: 'POST',
      url: `/api/v1/workspaces/${workspace.id}/invitations`,
      payload: { email: 'pending@members.test' },
    })
    await t.call(t.masterKey, {
      method: 'POST',
      url: '/api/v1/oauth/clients',
      workspace: workspace.id,
      payload: { name: 'Partner', grant_types: ['client_credentials'] },
    })
    const { context, page, errors } = await openPage(browser, { width: 375, colorScheme: 'dark' })
    try {
      await signIn(page, base, member)
      await open(page, 'Members', 'Members')
      await page.getByRole('row', { name: /pending@members\.test/ }).waitFor()
      await page.getByRole('row', { name: new RegExp(owner) }).waitFor()
      expect(await page.getByRole('button', { name: 'Invite someone' }).count()).toBe(0)
      expect(await page.getByRole('combobox', { name: /^Role of/ }).count()).toBe(0)
      expect(await page.getByRole('button', { name: /^(Remove|Revoke) / }).count()).toBe(0)
      // Leaving is theirs to do, on their own row only.
      expect(await page.getByRole('button', { name: 'Leave this workspace' }).count()).toBe(1)
      await checkPage(page, errors, 'members-member-phone')
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375)

      await open(page, 'OAuth apps', 'OAuth apps')
      await page.getByRole('row', { name: /Partner/ }).waitFor()
      expect(await page.getByRole('button', { name: /^(Register app|Edit|Delete|Rotate)/ }).count()).toBe(0)
      await checkPage(page, errors, 'oauth-apps-member-phone')
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375)

      // Leaving: asked first, then the workspace is no longer theirs.
      await open(page, 'Members', 'Members')
      await page.getByRole('button', { name: 'Leave this workspace' }).click()
      await page
        .getByRole('alertdialog', { name: 'Leave this workspace?' })
        .getByRole('button', { name: 'Leave' })
        .click()
      await page.getByRole('heading', { name: 'No workspace yet' }).waitFor()
      expect(Object.keys(await roles())).not.toContain(member)
    } finally {
      await context.close()
    }
  }, 90_000)
})
