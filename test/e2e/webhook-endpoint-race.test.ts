// An event written while one of its endpoints is being deleted: the writer (here, creating a
// post) must not fail on the vanished endpoint. Only PostgreSQL runs the two at once; on the
// embedded database the requests are serialised and the test passes trivially.
import { beforeAll, expect, it } from 'vitest'
import { useTestApp } from '../../src/testing/harness.ts'

const t = useTestApp({ env: { WEBHOOK_ALLOW_INSECURE_URLS: '1', WEBHOOK_WORKER: '0' } })
let key: string
beforeAll(async () => {
  key = (await t.key((await t.workspace()).id, { scopes: ['*'] })).key
})

it('creates posts while their endpoints are deleted without a 5xx', async () => {
  const statuses: number[] = []
  for (let round = 0; round < 20; round++) {
    const hooks = await Promise.all(
      [1, 2, 3].map(async (n) => {
        const res = await t.call(key, {
          method: 'POST',
          url: '/api/v1/webhooks',
          payload: { url: `http://127.0.0.1:9/race/${round}/${n}`, events: ['post.*'] },
        })
        return res.json().data.id as number
      }),
    )
    const results = await Promise.all([
      ...hooks.map((id) => t.call(key, { method: 'DELETE', url: `/api/v1/webhooks/${id}` })),
      ...[1, 2, 3, 4].map(() =>
        t.call(key, { method: 'POST', url: '/api/v1/posts', payload: { title: 'race' } }),
      ),
    ])
    statuses.push(...results.map((r) => r.statusCode))
  }
  expect(statuses.filter((s) => s >= 500)).toEqual([])
  expect(new Set(statuses)).toEqual(new Set([201, 204]))
}, 120_000)

it('answers a test send whose endpoint is deleted meanwhile with 404, not a 5xx', async () => {
  const statuses: number[] = []
  for (let round = 0; round < 20; round++) {
    const res = await t.call(key, {
      method: 'POST',
      url: '/api/v1/webhooks',
      payload: { url: `http://127.0.0.1:9/test-race/${round}`, events: ['post.*'] },
    })
    const id = res.json().data.id as number
    const results = await Promise.all([
      t.call(key, { method: 'POST', url: `/api/v1/webhooks/${id}/test` }),
      t.call(key, { method: 'DELETE', url: `/api/v1/webhooks/${id}` }),
      t.call(key, { method: 'POST', url: `/api/v1/webhooks/${id}/test` }),
    ])
    statuses.push(...results.map((r) => r.statusCode))
  }
  expect(statuses.filter((s) => s >= 500)).toEqual([])
  // A test send answers 200 (a failed delivery to the closed port is still a 200) or 404.
  expect([...new Set(statuses)].every((s) => [200, 204, 404].includes(s))).toBe(true)
}, 120_000)
