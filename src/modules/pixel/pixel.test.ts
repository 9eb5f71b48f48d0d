import { and, count, eq, lt } from 'drizzle-orm'
import { beforeEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../platform/config/index.ts'
import { noEvents } from '../../platform/events.ts'
import { MemoryPubSub } from '../../platform/kv/index.ts'
import { SecretBox } from '../../platform/lib/secret-box.ts'
import { buildTestApp, useTestApp } from '../../testing/harness.ts'
import { createPixel } from './index.ts'
import { databaseKnowsZone } from './store.ts'
import { pixelDailyStats, pixelEvents, pixelMonthlyStats, pixelSalts, pixelSites } from './tables.ts'

const t = useTestApp()
const clock = t.clock
beforeEach(() => clock.advance(61_000))

const CHROME =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36'
const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1'
const FIREFOX_WIN = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:131.0) Gecko/20100101 Firefox/131.0'
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'
const DAY = 86_400_000

let domains = 0
/** A workspace, a key in it and a registered site with a fresh domain. */
async function setup(site: Record<string, unknown> = {}) {
  const ws = await t.workspace()
  const { key } = await t.key(ws.id, { scopes: ['*'] })
  domains++
  const domain = `site${domains}.example`
  const res = await t.call(key, { method: 'POST', url: '/api/v1/pixel/sites', payload: { domain, ...site } })
  expect(res.statusCode).toBe(201)
  return { ws, key, domain, site: res.json().data as { id: number } }
}

function track(
  payload: Record<string, unknown> | string,
  options: { ua?: string | null; ip?: string; type?: string } = {},
) {
  const ua = options.ua === undefined ? CHROME : options.ua
  return t.app.inject({
    method: 'POST',
    url: '/api/v1/pixel/track',
    remoteAddress: options.ip ?? '203.0.113.7',
    headers: {
      'content-type': options.type ?? 'application/json',
      ...(ua !== null && { 'user-agent': ua }),
    },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  })
}

async function eventsOf(siteId: number) {
  return t.database.db
    .select()
    .from(pixelEvents)
    .where(eq(pixelEvents.siteId, siteId))
    .orderBy(pixelEvents.id)
}
async function siteCount() {
  const [row] = await t.database.db.select({ n: count() }).from(pixelSites)
  return row!.n
}

/** The module's service on the test database, with the given settings. */
function pixelService(env: Record<string, string>) {
  return createPixel(
    {
      config: loadConfig(env),
      db: t.database.db,
      clock,
      credentials: undefined as never,
      events: noEvents,
      pubsub: new MemoryPubSub(),
    },
    new SecretBox('k'.repeat(32)),
  )
}

/** The hourly purge as the module's timer runs it, with the given settings. */
function purge(env: Record<string, string>) {
  return pixelService(env).purge(2, 1000)
}

describe('pixel sites', () => {
  it('registers a site with the documented shape and defaults, the domain normalised', async () => {
    const ws = await t.workspace()
    const { key } = await t.key(ws.id)
    const at = Date.UTC(2026, 4, 2, 10, 0, 0)
    clock.set(at)
    const res = await t.call(key, {
      method: 'POST',
      url: '/api/v1/pixel/sites',
      payload: { domain: 'WWW.Shape.example', allowed_hostnames: ['*.Shape.example', 'www.blog.example'] },
    })
    expect(res.statusCode).toBe(201)
    expect(res.json()).toEqual({
      message: 'Site created successfully.',
      data: {
        id: expect.any(Number),
        domain: 'shape.example',
        enabled: true,
        sample_rate: 1,
        allowed_hostnames: ['*.shape.example', 'blog.example'],
        features: {
          pageviews: true,
          events: true,
          sessions: true,
          outbound_links: false,
          file_downloads: false,
          respect_dnt: false,
        },
        timezone: 'UTC',
        created_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
        updated_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
      },
    })
    const id = res.json().data.id
    const got = await t.call(key, { method: 'GET', url: `/api/v1/pixel/sites/${id}` })
    expect(got.json()).toEqual({ data: res.json().data })
    const list = await t.call(key, { method: 'GET', url: '/api/v1/pixel/sites?fields=domain' })
    expect(list.json().data).toEqual([{ id, domain: 'shape.example' }])
    expect(list.json().meta.total).toBe(1)
    await t.call(key, { method: 'PATCH', url: `/api/v1/pixel/sites/${id}`, payload: { enabled: false } })
    const enabled = await t.call(key, { method: 'GET', url: '/api/v1/pixel/sites?enabled=true' })
    expect(enabled.json().data).toEqual([])
    const disabled = await t.call(key, { method: 'GET', url: '/api/v1/pixel/sites?enabled=false' })
    expect(disabled.json().data.map((s: { id: number }) => s.id)).toEqual([id])
  })

  it('updates (features merged) and deletes a site with its events', async () => {
    const { key, site, domain } = await setup()
    const res = await t.call(key, {
      method: 'PATCH',
      url: `/api/v1/pixel/sites/${site.id}`,
      payload: { sample_rate: 0.5, features: { outbound_links: true } },
    })
    expect(res.statusCode).toBe(200)
    expect(res.json().message).toBe('Site updated successfully.')
    expect(res.json().data).toMatchObject({
      sample_rate: 0.5,
      features: { pageviews: true, events: true, outbound_links: true, file_downloads: false },
    })
    await t.call(key, { method: 'PATCH', url: `/api/v1/pixel/sites/${site.id}`, payload: { sample_rate: 1 } })
    expect((await track({ event: 'pageview', url: `https://${domain}/` })).json()).toEqual({ tracked: true })
    expect(await eventsOf(site.id)).toHaveLength(1)
    const removed = await t.call(key, { method: 'DELETE', url: `/api/v1/pixel/sites/${site.id}` })
    expect(removed.statusCode).toBe(204)
    expect(removed.body).toBe('')
    expect(await eventsOf(site.id)).toHaveLength(0)
    const gone = await t.call(key, { method: 'GET', url: `/api/v1/pixel/sites/${site.id}` })
    expect(gone.statusCode).toBe(404)
    expect(gone.json()).toMatchObject({ error: 'not_found', message: 'Site not found.' })
  })

  it('answers 409 for a domain registered already, in any workspace, and stores nothing', async () => {
    const { domain } = await setup()
    const other = await t.workspace()
    const { key } = await t.key(other.id)
    const before = await siteCount()
    const res = await t.call(key, {
      method: 'POST',
      url: '/api/v1/pixel/sites',
      payload: { domain: `www.${domain.toUpperCase()}` },
    })
    expect(res.statusCode).toBe(409)
    expect(res.json()).toEqual({
      error: 'conflict',
      message: `The domain "${domain}" is already registered.`,
      errors: { domain: ['The domain has already been registered.'] },
      request_id: expect.any(String),
    })
    expect(await siteCount()).toBe(before)
    // Renaming a site onto a taken domain is a conflict too.
    const mine = await setup()
    const renamed = await t.call(mine.key, {
      method: 'PATCH',
      url: `/api/v1/pixel/sites/${mine.site.id}`,
      payload: { domain },
    })
    expect(renamed.statusCode).toBe(409)
    const kept = await t.call(mine.key, { method: 'GET', url: `/api/v1/pixel/sites/${mine.site.id}` })
    expect(kept.json().data.domain).toBe(mine.domain)
  })

  it('refuses invalid sites with 422 naming the field, storing nothing', async () => {
    const ws = await t.workspace()
    const { key } = await t.key(ws.id)
    const before = await siteCount()
    for (const [payload, field] of [
      [{ domain: 'https://example.com/' }, 'domain'],
      [{ domain: 'ok.example', sample_rate: 1.5 }, 'sample_rate'],
      [{ domain: 'ok.example', features: { telemetry: true } }, 'features'],
      [{ domain: 'ok.example', colour: 'red' }, 'colour'],
      [{}, 'domain'],
      [{ domain: 'ok.example', timezone: 'Mars/Olympus' }, 'timezone'],
      [{ domain: 'ok.example', timezone: '+05:30' }, 'timezone'],
      [{ domain: 'ok.example', timezone: '' }, 'timezone'],
    ] as const) {
      const res = await t.call(key, { method: 'POST', url: '/api/v1/pixel/sites', payload })
      expect(res.statusCode, JSON.stringify(payload)).toBe(422)
      expect(res.json().error).toBe('validation_failed')
      expect(Object.keys(res.json().errors).join(','), JSON.stringify(payload)).toContain(field)
    }
    expect(await siteCount()).toBe(before)
    // A zone the runtime knows is also asked of the database (their zone lists may differ).
    expect(await databaseKnowsZone(t.database.db, 'Asia/Kolkata')).toBe(true)
    expect(await databaseKnowsZone(t.database.db, 'Mars/Olympus')).toBe(false)
  })

  it("never shows or changes another workspace's site", async () => {
    const { site } = await setup()
    const other = await t.workspace()
    const { key } = await t.key(other.id, { scopes: ['*'] })
    for (const [method, payload] of [
      ['GET', undefined],
      ['PATCH', { enabled: false }],
      ['DELETE', undefined],
    ] as const) {
      const res = await t.call(key, { method, url: `/api/v1/pixel/sites/${site.id}`, payload })
      expect(res.statusCode).toBe(404)
    }
    const stats = await t.call(key, { method: 'GET', url: `/api/v1/pixel/sites/${site.id}/stats` })
    expect(stats.statusCode).toBe(404)
    const [row] = await t.database.db.select().from(pixelSites).where(eq(pixelSites.id, site.id))
    expect(row!.enabled).toBe(true)
  })

  it('needs the pixel scopes', async () => {
    const ws = await t.workspace()
    const { key } = await t.key(ws.id, { scopes: ['pixel:read'] })
    const before = await siteCount()
    const res = await t.call(key, {
      method: 'POST',
      url: '/api/v1/pixel/sites',
      payload: { domain: 'x.example' },
    })
    expect(res.statusCode).toBe(403)
    expect(res.json().message).toBe('Insufficient permissions. Required scope: pixel:write')
    expect(await siteCount()).toBe(before)
    const list = await t.call(key, { method: 'GET', url: '/api/v1/pixel/sites' })
    expect(list.statusCode).toBe(200)
  })
})

describe('pixel config', () => {
  it('finds the site from Origin, else Referer, else ?domain=, with CORS open', async () => {
    const { domain } = await setup({ features: { respect_dnt: true } })
    const expected = {
      enabled: true,
      features: {
        pageviews: true,
        events: true,
        sessions: true,
        outbound_links: false,
        file_downloads: false,
        respect_dnt: true,
      },
      sample_rate: 1,
    }
    for (const headers of [
      { origin: `https://www.${domain}:8443` },
      { referer: `http://${domain}/some/page?x=1` },
      { origin: 'null', referer: `https://${domain}/` },
    ]) {
      const res = await t.app.inject({ method: 'GET', url: '/api/v1/pixel/config', headers })
      expect(res.statusCode, JSON.stringify(headers)).toBe(200)
      expect(res.json()).toEqual(expected)
      expect(res.headers['access-control-allow-origin']).toBe('*')
    }
    const byQuery = await t.app.inject({ method: 'GET', url: `/api/v1/pixel/config?domain=${domain}` })
    expect(byQuery.json()).toEqual(expected)
  })

  it('answers 404 for an unknown site, and enabled: false for a disabled one', async () => {
    const unknown = await t.app.inject({
      method: 'GET',
      url: '/api/v1/pixel/config',
      headers: { origin: 'https://nobody.example' },
    })
    expect(unknown.statusCode).toBe(404)
    expect(unknown.json()).toEqual({
      error: 'not_found',
      message: 'Site not found.',
      request_id: expect.any(String),
    })
    expect(unknown.headers['access-control-allow-origin']).toBe('*')
    const { domain } = await setup({ enabled: false })
    const res = await t.app.inject({ method: 'GET', url: `/api/v1/pixel/config?domain=${domain}` })
    expect(res.json().enabled).toBe(false)
    const none = await t.app.inject({ method: 'GET', url: '/api/v1/pixel/config' })
    expect(none.statusCode).toBe(404)
  })

  it('documents both body types of track in the OpenAPI document', async () => {
    const doc = (await t.app.inject('/api/openapi.json')).json()
    const content = doc.paths['/api/v1/pixel/track'].post.requestBody.content
    expect(Object.keys(content).sort()).toEqual(['application/json', 'text/plain'])
    expect(doc.paths['/api/v1/pixel/config'].get.security).toEqual([])
  })

  it('answers CORS preflights of both endpoints', async () => {
    for (const url of ['/api/v1/pixel/track', '/api/v1/pixel/config']) {
      const res = await t.app.inject({
        method: 'OPTIONS',
        url,
        headers: { origin: 'https://a.example', 'access-control-request-method': 'POST' },
      })
      expect(res.statusCode).toBe(204)
      expect(res.headers['access-control-allow-origin']).toBe('*')
      expect(res.headers['access-control-allow-headers']).toBe('Content-Type')
    }
  })

  it('keeps CORS closed on the authenticated pixel routes', async () => {
    const { key } = await setup()
    const res = await t.call(key, { method: 'GET', url: '/api/v1/pixel/sites' })
    expect(res.headers['access-control-allow-origin']).toBeUndefined()
  })
})

describe('pixel track', () => {
  it('stores a page view without IP or user agent, with what they tell', async () => {
    const { domain, site } = await setup()
    const at = Date.UTC(2026, 5, 10, 12, 0, 0)
    clock.set(at)
    const res = await track({
      event: 'pageview',
      url: `https://www.${domain}/pricing/?utm_source=newsletter&utm_campaign=june&email=a@b.example#top`,
      referrer: 'https://www.google.fr/search?q=x',
      properties: { title: 'Pricing' },
    })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ tracked: true })
    expect(res.headers['access-control-allow-origin']).toBe('*')
    const [event] = await eventsOf(site.id)
    expect(event).toEqual({
      id: expect.any(Number),
      siteId: site.id,
      occurredAt: new Date(at),
      name: 'pageview',
      visitorId: expect.any(BigInt),
      hostname: domain,
      pathname: '/pricing/',
      source: 'newsletter',
      referrerHost: 'google.fr',
      utmMedium: null,
      utmCampaign: 'june',
      utmContent: null,
      utmTerm: null,
      device: 'desktop',
      browser: 'Chrome',
      os: 'Linux',
      properties: { title: 'Pricing' },
    })
    // Nothing of the IP, the user agent or the query string is anywhere in the row.
    const text = JSON.stringify(event, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))
    for (const secret of ['203.0.113.7', 'X11', 'Chrome/130', 'a@b.example'])
      expect(text).not.toContain(secret)
  })

  it('counts pages of the allowed hostnames, `*.` entries matching subdomains at any depth', async () => {
    const { site } = await setup({ allowed_hostnames: ['*.shop.example', 'other.example'] })
    // Array-literal characters in a hostname are only characters.
    for (const host of ['a.shop.example', 'b.c.shop.example', 'www.other.example', 'a"b,c}.shop.example']) {
      const res = await track({ event: 'pageview', url: `https://${host}:8080/` })
      expect(res.json(), host).toEqual({ tracked: true })
    }
    for (const host of ['shop.example', 'x.other.example', 'shop.example.evil']) {
      const res = await track({ event: 'pageview', url: `https://${host}/` })
      expect(res.json(), host).toEqual({ tracked: false })
    }
    expect((await eventsOf(site.id)).map((e) => e.hostname)).toEqual([
      'a.shop.example',
      'b.c.shop.example',
      'other.example',
      'a"b,c}.shop.example',
    ])
  })

  it('takes text/plain bodies (sendBeacon), which every other route refuses with 415', async () => {
    const { domain, site, key } = await setup()
    const res = await track(JSON.stringify({ event: 'pageview', url: `https://${domain}/` }), {
      type: 'text/plain;charset=UTF-8',
    })
    expect(res.json()).toEqual({ tracked: true })
    expect(await eventsOf(site.id)).toHaveLength(1)
    const refused = await t.call(key, {
      method: 'POST',
      url: '/api/v1/pixel/sites',
      headers: { 'content-type': 'text/plain' },
      payload: JSON.stringify({ domain: 'plain.example' }),
    })
    expect(refused.statusCode).toBe(415)
    expect(refused.json().error).toBe('unsupported_media_type')
    // A path no route serves with this method is still 404, or 405 when others serve it.
    const plain = { 'content-type': 'text/plain' }
    const nowhere = await t.call(key, {
      method: 'POST',
      url: '/api/v1/nowhere',
      headers: plain,
      payload: '{}',
    })
    expect(nowhere.statusCode).toBe(404)
    const config = await t.call(key, {
      method: 'POST',
      url: '/api/v1/pixel/config',
      headers: plain,
      payload: '{}',
    })
    expect(config.statusCode).toBe(405)
    const [row] = await t.database.db
      .select({ n: count() })
      .from(pixelSites)
      .where(eq(pixelSites.domain, 'plain.example'))
    expect(row!.n).toBe(0)
  })

  it('answers tracked: false and stores nothing for bots, unknown and disabled sites, sampled-out visitors', async () => {
    const { domain, site, key } = await setup()
    const pageview = { event: 'pageview', url: `https://${domain}/` }
    expect((await track(pageview, { ua: GOOGLEBOT })).json()).toEqual({ tracked: false })
    expect((await track(pageview, { ua: null })).json()).toEqual({ tracked: false })
    expect((await track({ event: 'pageview', url: 'https://unknown.example/' })).json()).toEqual({
      tracked: false,
    })
    expect((await track({ event: 'pageview', url: 'not a url' })).json()).toEqual({ tracked: false })
    await t.call(key, {
      method: 'PATCH',
      url: `/api/v1/pixel/sites/${site.id}`,
      payload: { features: { events: false } },
    })
    expect((await track({ event: 'Signup', url: `https://${domain}/` })).json()).toEqual({ tracked: false })
    await t.call(key, { method: 'PATCH', url: `/api/v1/pixel/sites/${site.id}`, payload: { sample_rate: 0 } })
    expect((await track(pageview)).json()).toEqual({ tracked: false })
    await t.call(key, { method: 'PATCH', url: `/api/v1/pixel/sites/${site.id}`, payload: { enabled: false } })
    await t.call(key, { method: 'PATCH', url: `/api/v1/pixel/sites/${site.id}`, payload: { sample_rate: 1 } })
    expect((await track(pageview)).json()).toEqual({ tracked: false })
    expect(await eventsOf(site.id)).toHaveLength(0)
  })

  it('refuses NUL characters in the body, and drops the ones the page URL encodes', async () => {
    const { domain, site } = await setup()
    const refused = await track({ event: 'Sign\u0000up', url: `https://${domain}/` })
    expect(refused.statusCode).toBe(422)
    expect(refused.json().errors).toHaveProperty('event')
    // A NUL (%00) in the path cannot fail the batch it is written with.
    const answers = await Promise.all([
      track({ event: 'pageview', url: `https://${domain}/a%00b?utm_campaign=x%00y` }),
      track({ event: 'pageview', url: `https://${domain}/plain` }),
    ])
    expect(answers.map((r) => r.json())).toEqual([{ tracked: true }, { tracked: true }])
    const events = await eventsOf(site.id)
    expect(events.map((e) => [e.pathname, e.utmCampaign]).sort()).toEqual([
      ['/ab', 'xy'],
      ['/plain', null],
    ])
  })

  it('counts outcomes and batches in /metrics', async () => {
    const { domain } = await setup()
    const metric = async (line: string) => {
      const text = (await t.app.inject('/metrics')).body
      const found = text.split('\n').find((l) => l.startsWith(`${line} `))
      return found === undefined ? 0 : Number(found.split(' ')[1])
    }
    const bots = await metric('core_api_pixel_track_total{outcome="bot"}')
    const tracked = await metric('core_api_pixel_track_total{outcome="tracked"}')
    const batched = await metric('core_api_pixel_batched_events_total')
    await track({ event: 'pageview', url: `https://${domain}/` }, { ua: GOOGLEBOT })
    await track({ event: 'pageview', url: `https://${domain}/` })
    expect(await metric('core_api_pixel_track_total{outcome="bot"}')).toBe(bots + 1)
    expect(await metric('core_api_pixel_track_total{outcome="tracked"}')).toBe(tracked + 1)
    expect(await metric('core_api_pixel_batched_events_total')).toBe(batched + 1)
    expect(await metric('core_api_pixel_batches_total')).toBeGreaterThan(0)
  })

  it('samples by visitor: about the rate, and always the same answer for one visitor', async () => {
    const { domain } = await setup({ sample_rate: 0.5 })
    let kept = 0
    for (let i = 0; i < 200; i++) {
      const first = await track({ event: 'pageview', url: `https://${domain}/` }, { ip: `198.51.100.${i}` })
      const again = await track({ event: 'pageview', url: `https://${domain}/b` }, { ip: `198.51.100.${i}` })
      expect(again.json()).toEqual(first.json())
      if (first.json().tracked) kept++
    }
    expect(kept).toBeGreaterThan(60)
    expect(kept).toBeLessThan(140)
  })

  it('refuses malformed bodies in the error format, storing nothing', async () => {
    const { domain, site } = await setup()
    const broken = await track('{"event": "pageview", ', { type: 'text/plain' })
    expect(broken.statusCode).toBe(400)
    expect(broken.json().error).toBe('invalid_json')
    expect(broken.headers['access-control-allow-origin']).toBe('*')
    const missing = await track({ event: 'pageview' })
    expect(missing.statusCode).toBe(422)
    expect(missing.json().errors).toHaveProperty('url')
    const extra = await track({ event: 'pageview', url: `https://${domain}/`, ip: '1.2.3.4' })
    expect(extra.statusCode).toBe(422)
    const big = await track({
      event: 'pageview',
      url: `https://${domain}/`,
      properties: { x: 'y'.repeat(20_000) },
    })
    expect(big.statusCode).toBe(413)
    const xml = await track('<event/>', { type: 'application/xml' })
    expect(xml.statusCode).toBe(415)
    expect(await eventsOf(site.id)).toHaveLength(0)
  })

  it('gives one visitor id per browser and site for a day, a new one the next day; keeps two salts', async () => {
    const { domain, site } = await setup()
    clock.set(Date.UTC(2026, 6, 1, 9, 0, 0))
    await track({ event: 'pageview', url: `https://${domain}/a` })
    await track({ event: 'pageview', url: `https://${domain}/b` })
    await track({ event: 'pageview', url: `https://${domain}/a` }, { ua: FIREFOX_WIN })
    await track({ event: 'pageview', url: `https://${domain}/a` }, { ip: '192.0.2.1' })
    clock.advance(DAY)
    await track({ event: 'pageview', url: `https://${domain}/a` })
    clock.advance(DAY)
    await track({ event: 'pageview', url: `https://${domain}/a` })
    const ids = (await eventsOf(site.id)).map((e) => e.visitorId)
    expect(ids[0]).toBe(ids[1])
    expect(new Set(ids).size).toBe(5)
    const salts = await t.database.db.select({ day: pixelSalts.day }).from(pixelSalts).orderBy(pixelSalts.day)
    expect(salts.map((s) => s.day)).toEqual(['2026-07-02', '2026-07-03'])
  })

  it('commits concurrent events in groups, answering each once it is stored', async () => {
    const { domain, site } = await setup()
    const answers = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        track({ event: 'pageview', url: `https://${domain}/p${i % 7}` }, { ip: `10.0.${i >> 8}.${i & 255}` }),
      ),
    )
    expect(answers.every((r) => r.json().tracked === true)).toBe(true)
    expect(await eventsOf(site.id)).toHaveLength(300)
  })

  it('has its own per-IP budget (RATE_LIMIT_PIXEL_PER_MINUTE), with CORS on the 429', async () => {
    const app = await buildTestApp({ env: { RATE_LIMIT_PIXEL_PER_MINUTE: '2' } })
    try {
      const send = (ip: string) =>
        app.app.inject({
          method: 'POST',
          url: '/api/v1/pixel/track',
          remoteAddress: ip,
          headers: { 'user-agent': CHROME },
          payload: { event: 'pageview', url: 'https://none.example/' },
        })
      expect((await send('192.0.2.9')).statusCode).toBe(200)
      const second = await send('192.0.2.9')
      expect(second.headers['x-ratelimit-limit']).toBe('2')
      const third = await send('192.0.2.9')
      expect(third.statusCode).toBe(429)
      expect(third.json()).toMatchObject({ error: 'rate_limit_exceeded', policy: 'pixel', limit: 2 })
      expect(third.headers['access-control-allow-origin']).toBe('*')
      expect((await send('192.0.2.10')).statusCode).toBe(200)
    } finally {
      await app.close()
    }
  })
})

describe('pixel retention', () => {
  it('deletes events older than PIXEL_RETENTION_DAYS in batches, and salts older than yesterday', async () => {
    const { domain, site } = await setup()
    const start = Date.UTC(2026, 9, 1, 12, 0, 0)
    clock.set(start)
    for (const path of ['/a', '/b', '/c']) await track({ event: 'pageview', url: `https://${domain}${path}` })
    clock.set(start + 20 * DAY)
    await track({ event: 'pageview', url: `https://${domain}/recent` })
    expect(await purge({})).toBe(0) // kept by default
    expect(await eventsOf(site.id)).toHaveLength(4)
    clock.set(start + 31 * DAY)
    const [before] = await t.database.db.select({ n: count() }).from(pixelEvents)
    // Older events of the other tests' sites go too, two rows a statement.
    expect(await purge({ PIXEL_RETENTION_DAYS: '30' })).toBeGreaterThanOrEqual(3)
    expect((await eventsOf(site.id)).map((e) => e.pathname)).toEqual(['/recent'])
    const old = await t.database.db
      .select({ n: count() })
      .from(pixelEvents)
      .where(lt(pixelEvents.occurredAt, new Date(start + DAY)))
    expect(old[0]!.n).toBe(0)
    const [after] = await t.database.db.select({ n: count() }).from(pixelEvents)
    expect(after!.n).toBeGreaterThan(0)
    expect(after!.n).toBeLessThan(before!.n)
    // Nothing was tracked for eleven days: still, only yesterday's and today's salts may remain.
    const salts = await t.database.db.select({ day: pixelSalts.day }).from(pixelSalts)
    expect(salts.every((s) => s.day >= '2026-10-31')).toBe(true)
  })
})

describe('pixel stats', () => {
  it('reports totals, a series and breakdowns over the last 30 days by default', async () => {
    const { domain, site, key } = await setup()
    const today = Date.UTC(2026, 7, 20, 15, 0, 0)
    clock.set(today - 2 * DAY)
    // Visitor A: a visit of three pages, from Google; then a custom event.
    await track({ event: 'pageview', url: `https://${domain}/`, referrer: 'https://www.google.com/' })
    clock.advance(60_000)
    await track({ event: 'pageview', url: `https://${domain}/pricing`, referrer: `https://${domain}/` })
    clock.advance(120_000)
    await track({ event: 'pageview', url: `https://${domain}/signup` })
    await track({ event: 'Signup', url: `https://${domain}/signup`, properties: { plan: 'pro' } })
    // Visitor B (an iPhone): one page, a bounce, from a campaign.
    await track(
      { event: 'pageview', url: `https://${domain}/pricing?utm_source=mail&utm_campaign=launch` },
      { ua: IPHONE },
    )
    // Today, visitor A again (a new day, so a new visitor id): one page.
    clock.set(today)
    await track({ event: 'pageview', url: `https://${domain}/` })

    const res = await t.call(key, { method: 'GET', url: `/api/v1/pixel/sites/${site.id}/stats` })
    expect(res.statusCode).toBe(200)
    const data = res.json().data
    expect(data).toMatchObject({
      site_id: site.id,
      from: '2026-07-22',
      to: '2026-08-20',
      timezone: 'UTC',
      interval: 'day',
    })
    expect(data.totals).toEqual({
      visitors: 3,
      pageviews: 5,
      events: 1,
      visits: 3,
      bounce_rate: 67,
      visit_duration: 60, // (180 + 0 + 0) / 3
    })
    expect(data.timeseries).toHaveLength(30)
    expect(data.timeseries.at(-1)).toEqual({ date: '2026-08-20', visitors: 1, pageviews: 1 })
    expect(data.timeseries.at(-3)).toEqual({ date: '2026-08-18', visitors: 2, pageviews: 4 })
    expect(data.pages).toEqual([
      { page: '/', visitors: 2, pageviews: 2 },
      { page: '/pricing', visitors: 2, pageviews: 2 },
      { page: '/signup', visitors: 1, pageviews: 1 },
    ])
    expect(data.entry_pages).toEqual([
      { page: '/', visits: 2 },
      { page: '/pricing', visits: 1 },
    ])
    expect(data.exit_pages).toEqual([
      { page: '/', visits: 1 },
      { page: '/pricing', visits: 1 },
      { page: '/signup', visits: 1 },
    ])
    expect(data.sources).toEqual([
      { source: 'Google', visitors: 1, pageviews: 1 },
      { source: 'mail', visitors: 1, pageviews: 1 },
    ])
    expect(data.utm_campaigns).toEqual([{ campaign: 'launch', visitors: 1, pageviews: 1 }])
    expect(data.browsers).toEqual([
      { browser: 'Chrome', visitors: 2, pageviews: 4 },
      { browser: 'Safari', visitors: 1, pageviews: 1 },
    ])
    expect(data.devices).toEqual([
      { device: 'desktop', visitors: 2, pageviews: 4 },
      { device: 'mobile', visitors: 1, pageviews: 1 },
    ])
    expect(data.os.map((o: { os: string }) => o.os)).toEqual(['Linux', 'iOS'])
    expect(data.events).toEqual([{ name: 'Signup', visitors: 1, count: 1 }])

    const filtered = await t.call(key, {
      method: 'GET',
      url: `/api/v1/pixel/sites/${site.id}/stats?event=Signup&from=2026-08-18&to=2026-08-18`,
    })
    expect(filtered.json().data.totals).toMatchObject({ visitors: 1, pageviews: 3, events: 1 })
    const page = await t.call(key, {
      method: 'GET',
      url: `/api/v1/pixel/sites/${site.id}/stats?page=/pricing&interval=hour&from=2026-08-19&to=2026-08-19&timezone=Asia/Tokyo`,
    })
    const pageData = page.json().data
    expect(pageData.totals).toMatchObject({ visitors: 2, pageviews: 2 })
    expect(pageData.timeseries).toHaveLength(24)
    // 15:01 and 15:03 UTC on the 18th are just after midnight of the 19th in Tokyo.
    expect(pageData.timeseries[0]).toEqual({ date: '2026-08-19T00:00', visitors: 2, pageviews: 2 })
    expect(pageData.timeseries.slice(1).every((b: { pageviews: number }) => b.pageviews === 0)).toBe(true)
  })

  it.each([
    ['UTC', '2026-11-04'],
    ['Asia/Kolkata', '2026-11-05'],
    ['America/New_York', '2026-11-04'], // summer time ends on 1 November
  ])(
    'answers whole days of a site in %s from the daily and monthly rollups exactly as from the events',
    async (zone, through) => {
      const { domain, site, key } = await setup({ timezone: zone })
      const day0 = Date.UTC(2026, 10, 3, 22, 0, 0)
      const visits: Array<[number, string, string, string | undefined]> = [
        [-(34 * DAY + 12 * 3_600_000), '/autumn', IPHONE, 'https://www.google.com/'], // 30 September
        [-(33 * DAY + 12 * 3_600_000), '/autumn', CHROME, undefined], // 1 October
        [-(5 * DAY), '/autumn', CHROME, undefined], // 29 October
        [0, '/', CHROME, 'https://www.google.com/'],
        [60_000, '/pricing', CHROME, undefined],
        [30 * 60_000 + 120_000, '/docs', CHROME, undefined], // a new visit after 30 minutes
        [90_000, '/pricing?utm_source=mail&utm_campaign=launch', IPHONE, undefined],
        [3 * 60 * 60_000, '/', FIREFOX_WIN, 'https://news.ycombinator.com/'], // past midnight UTC
        [DAY + 3_600_000, '/docs', IPHONE, undefined],
        [-(3 * DAY + 3 * 3_600_000 + 15 * 60_000), '/late', FIREFOX_WIN, undefined], // 31 October, 18:45 UTC
        // 1 November, 05:30 and 06:30 UTC: both 01:30 in New York (summer time, then winter time).
        [-(2 * DAY + 16 * 3_600_000 + 30 * 60_000), '/dst', IPHONE, undefined],
        [-(2 * DAY + 15 * 3_600_000 + 30 * 60_000), '/dst', IPHONE, undefined],
        // 2 November, 18:25 and 18:35 UTC: one visit, across midnight in Kolkata (two visits there).
        [-(DAY + 3 * 3_600_000 + 35 * 60_000), '/midnight', CHROME, undefined],
        [-(DAY + 3 * 3_600_000 + 25 * 60_000), '/after-midnight', CHROME, undefined],
        [2 * DAY + 3_600_000, '/', CHROME, undefined], // the day the stats ask on: not rolled up
      ]
      for (const [offset, path, ua, referrer] of visits) {
        clock.set(day0 + offset)
        await track({ event: 'pageview', url: `https://${domain}${path}`, referrer }, { ua })
        if (path === '/docs' && ua === CHROME) await track({ event: 'Signup', url: `https://${domain}/docs` })
      }
      const stats = async (query: string) => {
        const res = await t.call(key, { method: 'GET', url: `/api/v1/pixel/sites/${site.id}/stats?${query}` })
        expect(res.statusCode).toBe(200)
        return res.json().data
      }
      // Whole months (September, October) come from the monthly rows, the rest from the days.
      const queries = [
        '',
        'interval=month&from=2026-10-01',
        'from=2026-11-04&to=2026-11-04',
        'limit=2',
        'from=2026-09-01&to=2026-11-04',
        'from=2026-09-30&to=2026-10-31',
        'interval=month&from=2026-09-15',
        'from=2026-10-02&to=2026-10-30',
      ]
      const fromEvents = []
      for (const query of queries) fromEvents.push(await stats(query))
      // The last 30 days of the site's zone.
      expect(fromEvents[0].timezone).toBe(zone)
      expect(fromEvents[0].totals).toMatchObject({ pageviews: 13, events: 1 })
      if (zone === 'UTC') expect(fromEvents[0].totals).toMatchObject({ visitors: 9, visits: 11 })
      if (zone === 'Asia/Kolkata') expect(fromEvents[0].totals.visits).toBe(12)

      // Thirty-six days to roll up: two runs of at most 31, the second completing October.
      await purge({})
      await purge({})
      const [state] = await t.database.db
        .select({ through: pixelSites.rolledThrough })
        .from(pixelSites)
        .where(eq(pixelSites.id, site.id))
      expect(state!.through).toBe(through)
      const [stored] = await t.database.db
        .select({ n: count() })
        .from(pixelDailyStats)
        .where(eq(pixelDailyStats.siteId, site.id))
      expect(stored!.n).toBeGreaterThan(10)
      const months = await t.database.db
        .selectDistinct({ month: pixelMonthlyStats.month })
        .from(pixelMonthlyStats)
        .where(eq(pixelMonthlyStats.siteId, site.id))
      expect(months.map((m) => m.month).sort()).toEqual(['2026-09-01', '2026-10-01', '2026-11-01'])
      for (const [i, query] of queries.entries()) expect(await stats(query), query).toEqual(fromEvents[i])
      // The rollups answer even once the events they count are gone.
      await t.database.db
        .delete(pixelEvents)
        .where(
          and(eq(pixelEvents.siteId, site.id), lt(pixelEvents.occurredAt, new Date(Date.UTC(2026, 10, 5)))),
        )
      expect((await stats('')).totals).toEqual(fromEvents[0].totals)
    },
  )

  it('filters by source whole visits: those whose entry page view came from it', async () => {
    const { domain, site, key } = await setup()
    const start = Date.UTC(2026, 5, 10, 9, 0, 0)
    clock.set(start)
    // Visitor A enters from Google, then views two more pages and sends an event.
    await track({ event: 'pageview', url: `https://${domain}/`, referrer: 'https://www.google.com/' })
    clock.advance(60_000)
    await track({ event: 'pageview', url: `https://${domain}/pricing` })
    clock.advance(60_000)
    await track({ event: 'pageview', url: `https://${domain}/signup` })
    await track({ event: 'Signup', url: `https://${domain}/signup` })
    // Visitor B enters directly; a later page within 30 minutes has a Google referrer.
    clock.set(start + 5 * 60_000)
    await track({ event: 'pageview', url: `https://${domain}/` }, { ua: IPHONE })
    clock.advance(10 * 60_000)
    await track(
      { event: 'pageview', url: `https://${domain}/docs`, referrer: 'https://www.google.com/' },
      { ua: IPHONE },
    )
    // Visitor B again, an hour later: a new visit, entering from Google (one page, a bounce).
    clock.advance(60 * 60_000)
    await track(
      { event: 'pageview', url: `https://${domain}/blog`, referrer: 'https://www.google.com/' },
      { ua: IPHONE },
    )
    const stats = async (query: string) => {
      const res = await t.call(key, {
        method: 'GET',
        url: `/api/v1/pixel/sites/${site.id}/stats?from=2026-06-10&to=2026-06-10&${query}`,
      })
      expect(res.statusCode, query).toBe(200)
      return res.json().data
    }
    const google = await stats('source=Google')
    expect(google.totals).toEqual({
      visitors: 2,
      pageviews: 4,
      events: 1,
      visits: 2,
      bounce_rate: 50,
      visit_duration: 60, // (120 + 0) / 2
    })
    expect(google.pages.map((p: { page: string }) => p.page)).toEqual(['/', '/blog', '/pricing', '/signup'])
    expect(google.entry_pages).toEqual([
      { page: '/', visits: 1 },
      { page: '/blog', visits: 1 },
    ])
    expect(google.events).toEqual([{ name: 'Signup', visitors: 1, count: 1 }])
    // A visit's later page views count for its entry source, whatever their own referrer.
    expect(google.sources).toEqual([{ source: 'Google', visitors: 2, pageviews: 2 }])
    // By hour: A's visit (three page views) at 09:00; B's direct visit, whose second page came
    // from Google, is not there; B's later visit from Google at 10:00.
    const hours = (await stats('source=Google&interval=hour')).timeseries.filter(
      (h: { pageviews: number }) => h.pageviews > 0,
    )
    expect(hours).toEqual([
      { date: '2026-06-10T09:00', visitors: 1, pageviews: 3 },
      { date: '2026-06-10T10:00', visitors: 1, pageviews: 1 },
    ])
    // `page` and `event` narrow the selected visits further.
    const early = await stats('source=Google&page=/pricing')
    expect(early.totals).toMatchObject({ visitors: 1, pageviews: 1 })
    expect((await stats('source=Google&event=Signup')).totals).toMatchObject({
      visitors: 1,
      pageviews: 3,
      visits: 1,
    })
    expect((await stats('source=Nowhere')).totals).toMatchObject({ visitors: 0, pageviews: 0, visits: 0 })
  })

  it("rolls a site's days up again after a change of its zone, or refuses it when the events are gone", async () => {
    const { domain, site, key } = await setup({ timezone: 'Asia/Kolkata' })
    const day0 = Date.UTC(2026, 2, 27, 20, 0, 0)
    for (const [offset, path] of [
      [0, '/'],
      [50 * 60_000, '/a'],
      [DAY + 23 * 3_600_000, '/b'], // 29 March 19:00 UTC: summer time in Paris since the night
      [3 * DAY, '/c'],
    ] as const) {
      clock.set(day0 + offset)
      await track({ event: 'pageview', url: `https://${domain}${path}` })
    }
    const stats = async (query = 'from=2026-03-01&to=2026-03-31') => {
      const res = await t.call(key, { method: 'GET', url: `/api/v1/pixel/sites/${site.id}/stats?${query}` })
      expect(res.statusCode).toBe(200)
      return res.json().data
    }
    const rolled = async () => {
      const [row] = await t.database.db
        .select({ through: pixelSites.rolledThrough, timezone: pixelSites.timezone })
        .from(pixelSites)
        .where(eq(pixelSites.id, site.id))
      const [days] = await t.database.db
        .select({ n: count() })
        .from(pixelDailyStats)
        .where(eq(pixelDailyStats.siteId, site.id))
      return { ...row, days: days!.n }
    }
    await purge({})
    expect(await rolled()).toMatchObject({ through: '2026-03-30', timezone: 'Asia/Kolkata' })
    const kolkata = await stats()
    expect(kolkata.timezone).toBe('Asia/Kolkata')
    expect(kolkata.timeseries.filter((d: { pageviews: number }) => d.pageviews > 0)).toEqual([
      { date: '2026-03-28', visitors: 1, pageviews: 2 }, // 01:30 and 02:20 in Kolkata
      { date: '2026-03-30', visitors: 1, pageviews: 1 },
      { date: '2026-03-31', visitors: 1, pageviews: 1 },
    ])

    // With a retention, rolled-up days older than its cutoff could not be counted again: 409.
    const service = pixelService({ PIXEL_RETENTION_DAYS: '2' })
    const workspace = {
      id: (await t.database.db.select().from(pixelSites).where(eq(pixelSites.id, site.id)))[0]!.workspaceId,
    }
    await expect(
      service.update(workspace as never, site.id, { timezone: 'Europe/Paris' }),
    ).rejects.toMatchObject({ code: 'conflict', message: expect.stringContaining('2026-03-28') })
    expect(await rolled()).toMatchObject({ through: '2026-03-30', timezone: 'Asia/Kolkata' })

    // Without one (the default), the rollups go and the stats read the events until the upkeep
    // has rolled the days up again, in the new zone.
    const res = await t.call(key, {
      method: 'PATCH',
      url: `/api/v1/pixel/sites/${site.id}`,
      payload: { timezone: 'europe/paris' },
    })
    expect(res.statusCode).toBe(200)
    expect(res.json().data.timezone).toBe('Europe/Paris')
    expect(await rolled()).toEqual({ through: null, timezone: 'Europe/Paris', days: 0 })
    const paris = await stats()
    expect(paris.timezone).toBe('Europe/Paris')
    expect(paris.timeseries.filter((d: { pageviews: number }) => d.pageviews > 0)).toEqual([
      { date: '2026-03-27', visitors: 1, pageviews: 2 }, // 21:00 and 21:50 in Paris
      { date: '2026-03-29', visitors: 1, pageviews: 1 },
      { date: '2026-03-30', visitors: 1, pageviews: 1 },
    ])
    await purge({})
    expect(await rolled()).toMatchObject({ through: '2026-03-29', timezone: 'Europe/Paris' })
    expect((await rolled()).days).toBeGreaterThan(0)
    expect(await stats()).toEqual(paris)
    // The same zone again changes nothing.
    await t.call(key, {
      method: 'PATCH',
      url: `/api/v1/pixel/sites/${site.id}`,
      payload: { timezone: 'Europe/Paris' },
    })
    expect(await rolled()).toMatchObject({ through: '2026-03-29' })
    // An unknown zone is refused and changes nothing.
    const bad = await t.call(key, {
      method: 'PATCH',
      url: `/api/v1/pixel/sites/${site.id}`,
      payload: { timezone: 'Europe/Atlantis' },
    })
    expect(bad.statusCode).toBe(422)
    expect(bad.json().errors).toHaveProperty('timezone')
    expect(await rolled()).toMatchObject({ through: '2026-03-29', timezone: 'Europe/Paris' })
  })

  it('refuses bad ranges and time zones with 422', async () => {
    const { site, key } = await setup()
    const cases: Array<[string, string]> = [
      ['timezone=Mars/Olympus', 'timezone'],
      ['timezone=%2B05:30', 'timezone'],
      ['from=2026-02-30', 'from'],
      ['from=0000-01-01', 'from'],
      ['from=2026-03-02&to=2026-03-01', 'from'],
      ['interval=hour&from=2026-01-01&to=2026-03-01', 'interval'],
      ['interval=week', 'interval'],
      ['colour=red', 'colour'],
    ]
    for (const [query, field] of cases) {
      const res = await t.call(key, { method: 'GET', url: `/api/v1/pixel/sites/${site.id}/stats?${query}` })
      expect(res.statusCode, query).toBe(422)
      expect(res.json().errors, query).toHaveProperty(field)
    }
  })
})

describe('the tracker script', () => {
  it('is served at /pixel.js and at a versioned URL, with caching headers', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/pixel.js' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8')
    expect(res.headers['cache-control']).toContain('max-age=3600')
    expect(res.body).toContain('/api/v1/pixel/track')
    expect(res.body.length).toBeLessThan(5_000)
    const versioned = String(res.headers['content-location'] ?? '')
    expect(versioned).toMatch(/^\/pixel\/[0-9a-f]{16}\.js$/)
    const pinned = await t.app.inject({ method: 'GET', url: versioned })
    expect(pinned.body).toBe(res.body)
    expect(pinned.headers['cache-control']).toBe('public, max-age=31536000, immutable')
    const again = await t.app.inject({
      method: 'GET',
      url: '/pixel.js',
      headers: { 'if-none-match': String(res.headers.etag) },
    })
    expect(again.statusCode).toBe(304)
  })
})
