import { count } from 'drizzle-orm'
import { beforeEach, describe, expect, it } from 'vitest'
import { useTestApp } from '../../testing/harness.ts'
import { claimAudits, failAbandoned } from './store.ts'
import { seoAudits, seoIssues, seoReports } from './tables.ts'
import { ABANDONED } from './worker.ts'

// No worker: audits stay queued, so what the API stores can be checked exactly.
const t = useTestApp({ env: { WEBHOOK_WORKER: '0' } })
const clock = t.clock
beforeEach(() => clock.advance(61_000))

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
const PAGE = 'https://example.com/page'

async function setup(keyBody: Record<string, unknown> = {}) {
  const ws = await t.workspace()
  const { key } = await t.key(ws.id, keyBody)
  return { ws, key }
}

const submit = (key: string, payload: object) =>
  t.call(key, { method: 'POST', url: '/api/v1/seo/report', payload })
const get = (key: string, url: string) => t.call(key, { method: 'GET', url })

async function stored() {
  const { db } = t.database
  const [reports] = await db.select({ n: count() }).from(seoReports)
  const [issues] = await db.select({ n: count() }).from(seoIssues)
  const [audits] = await db.select({ n: count() }).from(seoAudits)
  return { reports: reports!.n, issues: issues!.n, audits: audits!.n }
}

describe('seo reports: happy paths', () => {
  it('stores a report as seed 004 sends it and answers the exact shape', async () => {
    const { ws, key } = await setup()
    const at = Date.UTC(2026, 0, 15, 10, 30, 0)
    clock.set(at)
    const res = await submit(key, {
      url: PAGE,
      scores: { performance: 85, accessibility: 92, best_practices: 88, seo: 95 },
      issues: [{ type: 'missing_alt', severity: 'warning', element: 'img.hero-image' }],
    })
    expect(res.statusCode, res.body).toBe(201)
    const body = res.json()
    const issue = {
      id: expect.any(Number),
      report_id: body.data.id,
      url: PAGE,
      issue_type: 'missing_alt',
      severity: 'warning',
      details: { message: null, element: 'img.hero-image' },
      created_at: iso(at),
    }
    expect(body).toEqual({
      message: 'SEO report submitted successfully.',
      data: {
        id: expect.any(Number),
        url: PAGE,
        scores: { performance: 85, accessibility: 92, best_practices: 88, seo: 95 },
        source: 'api',
        issue_count: 1,
        created_at: iso(at),
        issues: [issue],
        changes: { previous_report_id: null, appeared: [], fixed: [] },
      },
    })
    expect(res.headers.location).toBe(`http://api.test/api/v1/seo/reports/${body.data.id}`)

    expect((await get(key, `/api/v1/seo/reports/${body.data.id}`)).json()).toEqual({ data: body.data })
    const issues = await get(key, `/api/v1/seo/issues/${ws.id}`)
    expect(issues.statusCode).toBe(200)
    expect(issues.json()).toEqual({
      data: [body.data.issues[0]],
      meta: { current_page: 1, from: 1, last_page: 1, per_page: 25, to: 1, total: 1 },
      links: {
        first: `http://api.test/api/v1/seo/issues/${ws.id}?page=1`,
        last: `http://api.test/api/v1/seo/issues/${ws.id}?page=1`,
        prev: null,
        next: null,
      },
    })
  })

  it('keeps scores not given as null, an issue on another page under its own url, and normalises URLs', async () => {
    const { key } = await setup()
    const res = await submit(key, {
      url: 'HTTPS://Example.com',
      scores: { seo: 0 },
      issues: [
        { type: 'broken-link', severity: 'error', message: 'Dead link', url: 'https://example.com/other' },
      ],
    })
    expect(res.statusCode).toBe(201)
    expect(res.json().data).toMatchObject({
      url: 'https://example.com/',
      scores: { performance: null, accessibility: null, best_practices: null, seo: 0 },
      issues: [{ url: 'https://example.com/other', details: { message: 'Dead link', element: null } }],
    })
  })

  it('shows which issues appeared and which were fixed since the previous report of the URL, and the trend', async () => {
    const { key } = await setup()
    const t0 = Date.UTC(2026, 1, 1)
    clock.set(t0)
    const first = (
      await submit(key, {
        url: PAGE,
        scores: { performance: 50, seo: 70 },
        issues: [
          { type: 'image-alt', severity: 'error', element: 'img.a' },
          { type: 'meta-description', severity: 'error' },
        ],
      })
    ).json().data
    await submit(key, { url: 'https://example.com/elsewhere', scores: { seo: 10 } })
    clock.set(t0 + 86_400_000)
    const second = (
      await submit(key, {
        url: PAGE,
        scores: { performance: 60, seo: 90 },
        issues: [
          { type: 'image-alt', severity: 'error', element: 'img.a' },
          { type: 'image-alt', severity: 'error', element: 'img.b' },
        ],
      })
    ).json().data
    const changes = {
      previous_report_id: first.id,
      appeared: [{ issue_type: 'image-alt', url: PAGE, element: 'img.b' }],
      fixed: [{ issue_type: 'meta-description', url: PAGE, element: null }],
    }
    expect(second.changes).toEqual(changes)
    expect((await get(key, `/api/v1/seo/reports/${second.id}`)).json().data.changes).toEqual(changes)

    const trend = await get(key, `/api/v1/seo/trends?url=${encodeURIComponent(PAGE)}`)
    expect(trend.statusCode).toBe(200)
    expect(trend.json()).toEqual({
      data: {
        url: PAGE,
        points: [
          {
            report_id: first.id,
            created_at: iso(t0),
            scores: { performance: 50, accessibility: null, best_practices: null, seo: 70 },
            issue_count: 2,
            appeared: 0,
            fixed: 0,
          },
          {
            report_id: second.id,
            created_at: iso(t0 + 86_400_000),
            scores: { performance: 60, accessibility: null, best_practices: null, seo: 90 },
            issue_count: 2,
            appeared: 1,
            fixed: 1,
          },
        ],
      },
    })
    // With limit=1, the one point still counts its changes against the report before it.
    const latest = await get(key, `/api/v1/seo/trends?url=${encodeURIComponent(PAGE)}&limit=1`)
    expect(latest.json().data.points).toEqual([
      expect.objectContaining({ report_id: second.id, appeared: 1, fixed: 1 }),
    ])
    const none = await get(key, `/api/v1/seo/trends?url=${encodeURIComponent('https://example.com/never')}`)
    expect(none.json()).toEqual({ data: { url: 'https://example.com/never', points: [] } })
  })

  it('filters issues by severity, type, url and report, and sorts and pages them', async () => {
    const { ws, key } = await setup()
    const a = (
      await submit(key, {
        url: PAGE,
        scores: { seo: 50 },
        issues: [
          { type: 'image-alt', severity: 'error', element: 'img' },
          { type: 'meta-description', severity: 'warning' },
          { type: 'font-size', severity: 'notice', url: 'https://example.com/b' },
        ],
      })
    ).json().data
    const b = (
      await submit(key, {
        url: 'https://example.com/b',
        scores: { seo: 60 },
        issues: [{ type: 'image-alt', severity: 'error' }],
      })
    ).json().data
    const list = (query: string) => get(key, `/api/v1/seo/issues/${ws.id}${query}`)
    const types = async (query: string) => {
      const res = await list(query)
      expect(res.statusCode, res.body).toBe(200)
      return res
        .json()
        .data.map((i: { issue_type: string; report_id: number }) => `${i.issue_type}@${i.report_id}`)
    }
    expect(await types('?severity=error&sort=id')).toEqual([`image-alt@${a.id}`, `image-alt@${b.id}`])
    expect(await types('?type=meta-description')).toEqual([`meta-description@${a.id}`])
    expect(await types(`?url=${encodeURIComponent('https://example.com/b')}&sort=id`)).toEqual([
      `font-size@${a.id}`,
      `image-alt@${b.id}`,
    ])
    expect(await types(`?report_id=${b.id}`)).toEqual([`image-alt@${b.id}`])
    expect(await types('?severity=notice&type=image-alt')).toEqual([])
    expect(await types('?sort=issue_type,-id')).toEqual([
      `font-size@${a.id}`,
      `image-alt@${b.id}`,
      `image-alt@${a.id}`,
      `meta-description@${a.id}`,
    ])
    const paged = await list('?per_page=2&page=2&sort=id')
    expect(paged.json().meta).toEqual({
      current_page: 2,
      from: 3,
      last_page: 2,
      per_page: 2,
      to: 4,
      total: 4,
    })
    const narrowed = await list('?fields=severity&per_page=1')
    expect(Object.keys(narrowed.json().data[0]).sort()).toEqual(['id', 'severity'])
  })

  it('lists reports without their issues, filtered by url and source', async () => {
    const { key } = await setup()
    const a = (
      await submit(key, { url: PAGE, scores: { seo: 50 }, issues: [{ type: 'x', severity: 'notice' }] })
    ).json().data
    const b = (await submit(key, { url: 'https://example.com/b', scores: { seo: 60 } })).json().data
    const all = await get(key, '/api/v1/seo/reports?sort=id')
    expect(all.statusCode).toBe(200)
    expect(all.json().data).toEqual([
      { id: a.id, url: PAGE, scores: a.scores, source: 'api', issue_count: 1, created_at: a.created_at },
      {
        id: b.id,
        url: 'https://example.com/b',
        scores: b.scores,
        source: 'api',
        issue_count: 0,
        created_at: b.created_at,
      },
    ])
    const byUrl = await get(key, `/api/v1/seo/reports?url=${encodeURIComponent(PAGE)}`)
    expect(byUrl.json().data.map((r: { id: number }) => r.id)).toEqual([a.id])
    expect((await get(key, '/api/v1/seo/reports?source=audit')).json().meta.total).toBe(0)
    const bySeo = await get(key, '/api/v1/seo/reports?sort=-seo')
    expect(bySeo.json().data.map((r: { id: number }) => r.id)).toEqual([b.id, a.id])
  })

  it('lets the master key read the issues of any workspace named in the path', async () => {
    const { ws, key } = await setup()
    await submit(key, { url: PAGE, scores: { seo: 1 }, issues: [{ type: 'x', severity: 'notice' }] })
    const res = await get(t.masterKey, `/api/v1/seo/issues/${ws.id}`)
    expect(res.statusCode).toBe(200)
    expect(res.json().meta.total).toBe(1)
    const missing = await get(t.masterKey, '/api/v1/seo/issues/2000000000')
    expect(missing.statusCode).toBe(404)
    expect(missing.json()).toMatchObject({ error: 'not_found' })
  })

  it('announces seo.report.created to subscribed webhooks', async () => {
    const { key } = await setup({ scopes: ['seo:*', 'webhooks:*'] })
    const hook = await t.call(key, {
      method: 'POST',
      url: '/api/v1/webhooks',
      payload: { url: 'https://hooks.invalid/receive', events: ['seo.*'] },
    })
    expect(hook.statusCode, hook.body).toBe(201)
    const report = (await submit(key, { url: PAGE, scores: { seo: 1 } })).json().data
    const audit = await t.call(key, { method: 'POST', url: '/api/v1/seo/audits', payload: { url: PAGE } })
    expect(audit.statusCode).toBe(202)
    const deliveries = await get(key, `/api/v1/webhooks/${hook.json().data.id}/deliveries`)
    expect(deliveries.json().data.map((d: { event_type: string }) => d.event_type)).toEqual([
      'seo.report.created',
    ])
    expect(report.id).toEqual(expect.any(Number))
  })
})

describe('seo audits: the queue as the API shows it', () => {
  it('queues an audit (202) and shows it, in the list too', async () => {
    const { key } = await setup()
    const at = Date.UTC(2026, 2, 1, 12, 0, 0)
    clock.set(at)
    const res = await t.call(key, { method: 'POST', url: '/api/v1/seo/audits', payload: { url: PAGE } })
    expect(res.statusCode, res.body).toBe(202)
    const data = {
      id: expect.any(Number),
      url: PAGE,
      status: 'queued',
      report_id: null,
      error: null,
      attempts: 0,
      created_at: iso(at),
      started_at: null,
      finished_at: null,
      updated_at: iso(at),
    }
    expect(res.json()).toEqual({ message: 'SEO audit queued.', data })
    const id = res.json().data.id
    expect(res.headers.location).toBe(`http://api.test/api/v1/seo/audits/${id}`)
    expect((await get(key, `/api/v1/seo/audits/${id}`)).json()).toEqual({ data: res.json().data })
    const list = await get(key, '/api/v1/seo/audits?status=queued')
    expect(list.json().data).toEqual([res.json().data])
    expect((await get(key, '/api/v1/seo/audits?status=failed')).json().meta.total).toBe(0)
  })
})

describe('seo: errors, and nothing stored after a refusal', () => {
  const refusals: Array<[string, object, string]> = [
    ['an unknown score key', { url: PAGE, scores: { seo: 90, pwa: 10 } }, 'scores'],
    ['a score above 100', { url: PAGE, scores: { seo: 101 } }, 'scores.seo'],
    ['a fractional score', { url: PAGE, scores: { seo: 85.5 } }, 'scores.seo'],
    ['no score', { url: PAGE, scores: {} }, 'scores'],
    ['no url', { scores: { seo: 1 } }, 'url'],
    ['a relative url', { url: '/page', scores: { seo: 1 } }, 'url'],
    ['a non-http url', { url: 'ftp://example.com/', scores: { seo: 1 } }, 'url'],
    [
      'an unknown severity',
      { url: PAGE, scores: { seo: 1 }, issues: [{ type: 'x', severity: 'fatal' }] },
      'issues.0.severity',
    ],
    [
      'an issue without type',
      { url: PAGE, scores: { seo: 1 }, issues: [{ severity: 'error' }] },
      'issues.0.type',
    ],
    [
      'an unknown issue field',
      { url: PAGE, scores: { seo: 1 }, issues: [{ type: 'x', severity: 'error', fix: 'y' }] },
      'issues.0',
    ],
    [
      'a bad issue url',
      { url: PAGE, scores: { seo: 1 }, issues: [{ type: 'x', severity: 'error', url: 'nope' }] },
      'issues.0.url',
    ],
  ]
  for (const [what, payload, field] of refusals) {
    it(`refuses ${what} with 422`, async () => {
      const { key } = await setup()
      const before = await stored()
      const res = await submit(key, payload)
      expect(res.statusCode, res.body).toBe(422)
      expect(res.json()).toMatchObject({ error: 'validation_failed' })
      expect(
        Object.keys(res.json().errors).some((k) => k.startsWith(field)),
        JSON.stringify(res.json().errors),
      ).toBe(true)
      expect(await stored()).toEqual(before)
    })
  }

  it('refuses audits of URLs that are not https and public', async () => {
    const { key } = await setup()
    const before = await stored()
    for (const url of [
      'http://example.com/',
      'https://127.0.0.1/',
      'https://10.1.2.3/',
      'https://[::1]/',
      'https://localhost:8080/',
      'https://user:pass@example.com/',
      'notaurl',
    ]) {
      const res = await t.call(key, { method: 'POST', url: '/api/v1/seo/audits', payload: { url } })
      expect(res.statusCode, url).toBe(422)
      expect(res.json().errors.url, url).toEqual([expect.any(String)])
    }
    expect(await stored()).toEqual(before)
  })

  it('refuses bad list parameters', async () => {
    const { ws, key } = await setup()
    for (const query of ['?severity=fatal', '?sort=severity', '?color=red', '?report_id=0']) {
      const res = await get(key, `/api/v1/seo/issues/${ws.id}${query}`)
      expect(res.statusCode, query).toBe(422)
    }
    expect((await get(key, '/api/v1/seo/trends')).statusCode).toBe(422)
    expect((await get(key, '/api/v1/seo/trends?url=x')).statusCode).toBe(422)
    expect((await get(key, `/api/v1/seo/trends?url=${PAGE}&limit=0`)).statusCode).toBe(422)
  })
})

describe('seo: security', () => {
  it('needs seo:write to submit, and stores nothing without it', async () => {
    const { key } = await setup({ scopes: ['seo:read'] })
    const before = await stored()
    const res = await submit(key, { url: PAGE, scores: { seo: 1 } })
    expect(res.statusCode).toBe(403)
    expect(res.json()).toMatchObject({
      error: 'access_denied',
      message: 'Insufficient permissions. Required scope: seo:write',
    })
    const audit = await t.call(key, { method: 'POST', url: '/api/v1/seo/audits', payload: { url: PAGE } })
    expect(audit.statusCode).toBe(403)
    expect(await stored()).toEqual(before)
  })

  it("answers 404 for another workspace's issues, reports and audits", async () => {
    const mine = await setup()
    const theirs = await setup()
    const report = (
      await submit(theirs.key, {
        url: PAGE,
        scores: { seo: 1 },
        issues: [{ type: 'secret', severity: 'error' }],
      })
    ).json().data
    const audit = (
      await t.call(theirs.key, { method: 'POST', url: '/api/v1/seo/audits', payload: { url: PAGE } })
    ).json().data
    for (const url of [
      `/api/v1/seo/issues/${theirs.ws.id}`,
      '/api/v1/seo/issues/2000000000',
      `/api/v1/seo/reports/${report.id}`,
      `/api/v1/seo/audits/${audit.id}`,
    ]) {
      const res = await get(mine.key, url)
      expect(res.statusCode, url).toBe(404)
      expect(res.json().error).toBe('not_found')
    }
    // Lists and trends show only the caller's own.
    expect((await get(mine.key, '/api/v1/seo/reports')).json().meta.total).toBe(0)
    expect((await get(mine.key, '/api/v1/seo/audits')).json().meta.total).toBe(0)
    expect((await get(mine.key, `/api/v1/seo/issues/${mine.ws.id}`)).json().meta.total).toBe(0)
    expect(
      (await get(mine.key, `/api/v1/seo/trends?url=${encodeURIComponent(PAGE)}`)).json().data.points,
    ).toEqual([])
    // A new report of the same URL in my workspace does not see theirs as its previous one.
    const own = (await submit(mine.key, { url: PAGE, scores: { seo: 2 } })).json().data
    expect(own.changes).toEqual({ previous_report_id: null, appeared: [], fixed: [] })
  })
})

describe('seo audits: claiming', () => {
  it('claims oldest first, at most perWorkspace per workspace, and takes a job back once its lease ran out', async () => {
    const a = await setup()
    const b = await setup()
    const queue = async (key: string) =>
      (await t.call(key, { method: 'POST', url: '/api/v1/seo/audits', payload: { url: PAGE } })).json().data
        .id as number
    const a1 = await queue(a.key)
    const a2 = await queue(a.key)
    const b1 = await queue(b.key)
    const { db } = t.database
    const claim = (now: number, token: string) =>
      db.transaction((tx) =>
        claimAudits(tx, {
          now: new Date(now),
          lockedUntil: new Date(now + 60_000),
          limit: 10,
          perWorkspace: 1,
          token,
        }),
      )
    const ours = (rows: Array<{ id: number }>) =>
      rows.map((r) => r.id).filter((id) => [a1, a2, b1].includes(id))
    const now = clock.now()
    const first = await claim(now, 'first')
    expect(ours(first)).toEqual([a1, b1])
    expect(first.find((r) => r.id === a1)).toMatchObject({
      status: 'running',
      attempts: 1,
      claimToken: 'first',
    })
    expect(ours(await claim(now + 1000, 'second'))).toEqual([]) // a2 waits for a1's slot
    // a1's holder died: once its lease ran out, a1 (not a2) is run again, a second time.
    const again = await claim(now + 61_000, 'third')
    expect(ours(again)).toEqual([a1, b1])
    expect(again.find((r) => r.id === a1)).toMatchObject({ attempts: 2, claimToken: 'third' })
    // Out of runs: failed, and the workspace's slot goes to a2.
    const later = new Date(now + 130_000)
    const abandoned = await db.transaction((tx) => failAbandoned(tx, later, ABANDONED))
    expect(ours(abandoned)).toEqual([a1, b1])
    expect(ours(await claim(later.getTime(), 'fourth'))).toEqual([a2])
    const shown = (await get(a.key, `/api/v1/seo/audits/${a1}`)).json().data
    expect(shown).toMatchObject({ status: 'failed', attempts: 2, error: ABANDONED, report_id: null })
  })
})
