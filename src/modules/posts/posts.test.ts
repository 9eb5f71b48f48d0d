import { eq } from 'drizzle-orm'
import { beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { useTestApp } from '../../testing/harness.ts'
import { apiKeys } from '../api-keys/index.ts'

const t = useTestApp()
const clock = t.clock
// Keys of free workspaces get 60 requests a minute: every test starts with full buckets.
beforeEach(() => clock.advance(61_000))

const ISO_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
const DAY = 86_400_000

type User = { id: number; email: string; name: string | null }

/** A workspace and a key in it (made by the master key, so the key has no user). */
async function setup(keyBody: Record<string, unknown> = {}) {
  const ws = await t.workspace()
  const { key } = await t.key(ws.id, keyBody)
  return { ws, key }
}

let userCounter = 0
/**
 * A workspace owned by a user and a key of that user. The API cannot yet issue a key on a
 * user's behalf (no sessions or OAuth in this build), so the key made by the master key is
 * attributed to the owner in the database before its first use.
 */
async function setupWithUser(keyBody: Record<string, unknown> = {}) {
  userCounter++
  const email = `author${userCounter}@example.com`
  const ws = await t.workspace({ owner_email: email })
  const got = await t.call(t.masterKey, { method: 'GET', url: `/api/v1/workspaces/${ws.id}?include=owner` })
  const user = got.json().data.owner as User
  expect(user).toMatchObject({ id: expect.any(Number), email })
  const { key, id } = await t.key(ws.id, keyBody)
  await t.database.db.update(apiKeys).set({ userId: user.id }).where(eq(apiKeys.id, id))
  const me = await t.call(key, { method: 'GET', url: '/api/v1/me' })
  expect(me.json().data.user).toMatchObject({ id: user.id, email })
  return { ws, key, user }
}

const create = (key: string, payload: Record<string, unknown>) =>
  t.call(key, { method: 'POST', url: '/api/v1/posts', payload })
const get = (key: string, url: string) => t.call(key, { method: 'GET', url })
const titles = (res: { json(): { data: Array<{ title: string }> } }) => res.json().data.map((p) => p.title)

describe('posts: happy paths', () => {
  it('creates a draft post with the exact documented shape', async () => {
    const { key } = await setup()
    const at = Date.UTC(2026, 2, 14, 9, 30, 0)
    clock.set(at)
    const res = await create(key, { title: '  Hello world  ', body: 'First post', tags: ['beta', 'alpha'] })
    expect(res.statusCode).toBe(201)
    const body = res.json()
    expect(body).toEqual({
      message: 'Post created successfully.',
      data: {
        id: expect.any(Number),
        title: 'Hello world',
        body: 'First post',
        status: 'draft',
        author_id: null, // a key made by the master key has no user
        published_at: null,
        tags: [
          { id: expect.any(Number), name: 'alpha' },
          { id: expect.any(Number), name: 'beta' },
        ],
        created_at: iso(at),
        updated_at: iso(at),
      },
    })
    expect(body.data.tags[0].id).not.toBe(body.data.tags[1].id)
  })

  it('defaults body to "" and tags to [], and sets published_at when created published', async () => {
    const { key } = await setup()
    const res = await create(key, { title: 'Minimal' })
    expect(res.statusCode).toBe(201)
    expect(res.json().data).toMatchObject({ body: '', tags: [], status: 'draft', published_at: null })
    expect(res.json().data.created_at).toMatch(ISO_SECONDS)

    const published = await create(key, { title: 'Live', status: 'published' })
    expect(published.statusCode).toBe(201)
    expect(published.json().data.published_at).toBe(iso(clock.now()))
  })

  it('makes the user behind the key the author, and include=owner embeds that user', async () => {
    const { key, user } = await setupWithUser()
    const res = await create(key, { title: 'By a person' })
    expect(res.statusCode).toBe(201)
    expect(res.json().data.author_id).toBe(user.id)

    const got = await get(key, `/api/v1/posts/${res.json().data.id}?include=owner`)
    expect(got.statusCode).toBe(200)
    expect(got.json().data.owner).toEqual({ id: user.id, email: user.email, name: user.name })
    expect(got.json().data).not.toHaveProperty('tags')
  })

  it('gets a post, without relations unless included', async () => {
    const { key } = await setup()
    const created = (await create(key, { title: 'Readable', body: 'Some text', tags: ['x'] })).json().data
    const res = await get(key, `/api/v1/posts/${created.id}`)
    expect(res.statusCode).toBe(200)
    const { tags: _tags, ...withoutTags } = created
    expect(res.json()).toEqual({ data: withoutTags })

    const withBoth = await get(key, `/api/v1/posts/${created.id}?include=owner,tags`)
    expect(withBoth.json().data).toEqual({ ...created, owner: null })
  })

  it('updates fields, moves updated_at, and sets published_at only the first time it is published', async () => {
    const { key } = await setup()
    const t0 = Date.UTC(2026, 3, 1, 8, 0, 0)
    clock.set(t0)
    const created = (await create(key, { title: 'Draft', body: 'v1' })).json().data

    clock.set(t0 + 60_000)
    const renamed = await t.call(key, {
      method: 'PATCH',
      url: `/api/v1/posts/${created.id}`,
      payload: { title: 'Renamed', body: 'v2' },
    })
    expect(renamed.statusCode).toBe(200)
    expect(renamed.json()).toEqual({
      message: 'Post updated successfully.',
      data: {
        ...created,
        title: 'Renamed',
        body: 'v2',
        updated_at: iso(t0 + 60_000),
      },
    })

    clock.set(t0 + 120_000)
    const published = await t.call(key, {
      method: 'PATCH',
      url: `/api/v1/posts/${created.id}`,
      payload: { status: 'published' },
    })
    expect(published.json().data).toMatchObject({ status: 'published', published_at: iso(t0 + 120_000) })

    clock.set(t0 + 180_000)
    const archived = await t.call(key, {
      method: 'PATCH',
      url: `/api/v1/posts/${created.id}`,
      payload: { status: 'archived' },
    })
    expect(archived.json().data).toMatchObject({ status: 'archived', published_at: iso(t0 + 120_000) })

    clock.set(t0 + 240_000)
    const republished = await t.call(key, {
      method: 'PATCH',
      url: `/api/v1/posts/${created.id}`,
      payload: { status: 'published' },
    })
    expect(republished.json().data).toMatchObject({
      status: 'published',
      published_at: iso(t0 + 120_000), // the first publication stays
      updated_at: iso(t0 + 240_000),
      created_at: iso(t0),
    })

    const stored = await get(key, `/api/v1/posts/${created.id}`)
    expect(stored.json().data).toMatchObject({ title: 'Renamed', body: 'v2', status: 'published' })
  })

  it('deletes a post: 204 with no body, then 404', async () => {
    const { key } = await setup({ scopes: ['posts:*'] })
    const created = (await create(key, { title: 'Doomed' })).json().data
    const res = await t.call(key, { method: 'DELETE', url: `/api/v1/posts/${created.id}` })
    expect(res.statusCode).toBe(204)
    expect(res.body).toBe('')
    expect((await get(key, `/api/v1/posts/${created.id}`)).statusCode).toBe(404)
    const again = await t.call(key, { method: 'DELETE', url: `/api/v1/posts/${created.id}` })
    expect(again.statusCode).toBe(404)
    expect((await get(key, '/api/v1/posts')).json().meta.total).toBe(0)
  })

  it('tags: creates, includes, replaces, clears, reuses names case-insensitively and filters by tag', async () => {
    const { key } = await setup()
    const a = (await create(key, { title: 'Tagged A', tags: ['news', 'tech'] })).json().data
    const b = (await create(key, { title: 'Tagged B', tags: ['NEWS'] })).json().data
    const c = (await create(key, { title: 'Untagged' })).json().data

    const newsId = a.tags.find((tag: { name: string }) => tag.name === 'news').id
    expect(b.tags).toEqual([{ id: newsId, name: 'news' }]) // the existing tag, not a second one

    const got = await get(key, `/api/v1/posts/${a.id}?include=tags`)
    expect(got.json().data.tags).toEqual([
      { id: newsId, name: 'news' },
      { id: expect.any(Number), name: 'tech' },
    ])

    const filtered = await get(key, '/api/v1/posts?tag=news&sort=title')
    expect(titles(filtered)).toEqual(['Tagged A', 'Tagged B'])
    expect(titles(await get(key, '/api/v1/posts?tag=Tech'))).toEqual(['Tagged A'])
    expect((await get(key, '/api/v1/posts?tag=nothing')).json().meta.total).toBe(0)

    const replaced = await t.call(key, {
      method: 'PATCH',
      url: `/api/v1/posts/${a.id}`,
      payload: { tags: ['sport'] },
    })
    expect(replaced.statusCode).toBe(200)
    expect(replaced.json().data.tags).toEqual([{ id: expect.any(Number), name: 'sport' }])
    expect(titles(await get(key, '/api/v1/posts?tag=news'))).toEqual(['Tagged B'])
    expect(titles(await get(key, '/api/v1/posts?tag=sport'))).toEqual(['Tagged A'])

    // a PATCH without tags keeps them
    const kept = await t.call(key, { method: 'PATCH', url: `/api/v1/posts/${a.id}`, payload: { body: 'x' } })
    expect(kept.json().data.tags).toEqual([{ id: expect.any(Number), name: 'sport' }])

    const cleared = await t.call(key, {
      method: 'PATCH',
      url: `/api/v1/posts/${a.id}`,
      payload: { tags: [] },
    })
    expect(cleared.json().data.tags).toEqual([])
    expect((await get(key, '/api/v1/posts?tag=sport')).json().meta.total).toBe(0)

    const untagged = await get(key, `/api/v1/posts/${c.id}?include=tags`)
    expect(untagged.json().data.tags).toEqual([])

    // names are trimmed and duplicates (case-insensitive) collapse into one tag
    const d = (await create(key, { title: 'Dupes', tags: [' news ', 'News', 'fresh'] })).json().data
    expect(d.tags).toEqual([
      { id: expect.any(Number), name: 'fresh' },
      { id: newsId, name: 'news' },
    ])
  })

  describe('list: every common parameter', () => {
    let key: string
    let user: User
    const T0 = Date.UTC(2026, 4, 1, 10, 0, 0) // 2026-05-01T10:00:00Z

    beforeAll(async () => {
      const owned = await setupWithUser()
      user = owned.user
      const other = await t.key(owned.ws.id) // same workspace, no user
      key = other.key
      const at = (days: number) => clock.set(T0 + days * DAY)
      at(0)
      const alpha = await create(other.key, {
        title: 'Alpha',
        body: 'An introduction to the database engine',
        tags: ['guide'],
      })
      at(1)
      await create(other.key, {
        title: 'Bravo',
        body: 'Caching strategies for fast APIs',
        status: 'published',
        tags: ['perf'],
      })
      at(2)
      await create(other.key, {
        title: 'Charlie',
        body: 'Fast database indexes explained',
        status: 'published',
        tags: ['guide', 'perf'],
      })
      at(3) // Delta and Echo share a creation time
      await create(other.key, { title: 'Delta', body: 'Old notes', status: 'archived' })
      await create(owned.key, { title: 'Echo', body: 'Written by a person' })
      at(10)
      const patched = await t.call(other.key, {
        method: 'PATCH',
        url: `/api/v1/posts/${alpha.json().data.id}`,
        payload: { body: 'An introduction to the database engine, revised' },
      })
      expect(patched.statusCode).toBe(200)
      clock.advance(61_000)
    })

    it('defaults to newest first with the full envelope', async () => {
      const res = await get(key, '/api/v1/posts')
      expect(res.statusCode).toBe(200)
      const body = res.json()
      expect(titles(res)).toEqual(['Echo', 'Delta', 'Charlie', 'Bravo', 'Alpha']) // id breaks the tie
      expect(body.meta).toEqual({ current_page: 1, from: 1, last_page: 1, per_page: 25, to: 5, total: 5 })
      expect(body.links).toEqual({
        first: 'http://api.test/api/v1/posts?page=1',
        last: 'http://api.test/api/v1/posts?page=1',
        prev: null,
        next: null,
      })
      expect(Object.keys(body.data[0]).sort()).toEqual(
        ['author_id', 'body', 'created_at', 'id', 'published_at', 'status', 'title', 'updated_at'].sort(),
      )
    })

    it('paginates with page and per_page and absolute links', async () => {
      const res = await get(key, '/api/v1/posts?page=2&per_page=2')
      expect(titles(res)).toEqual(['Charlie', 'Bravo'])
      expect(res.json().meta).toEqual({
        current_page: 2,
        from: 3,
        last_page: 3,
        per_page: 2,
        to: 4,
        total: 5,
      })
      expect(res.json().links).toEqual({
        first: 'http://api.test/api/v1/posts?page=1&per_page=2',
        last: 'http://api.test/api/v1/posts?page=3&per_page=2',
        prev: 'http://api.test/api/v1/posts?page=1&per_page=2',
        next: 'http://api.test/api/v1/posts?page=3&per_page=2',
      })

      const last = await get(key, '/api/v1/posts?per_page=2&page=3')
      expect(titles(last)).toEqual(['Alpha'])
      expect(last.json().meta).toMatchObject({ current_page: 3, from: 5, to: 5, last_page: 3 })
      expect(last.json().links.next).toBeNull()

      const beyond = await get(key, '/api/v1/posts?per_page=2&page=9')
      expect(beyond.statusCode).toBe(200)
      expect(beyond.json().data).toEqual([])
      expect(beyond.json().meta).toEqual({
        current_page: 9,
        from: null,
        last_page: 3,
        per_page: 2,
        to: null,
        total: 5,
      })
      expect(beyond.json().links.prev).toBe('http://api.test/api/v1/posts?per_page=2&page=3')
    })

    it('filters by status', async () => {
      expect(titles(await get(key, '/api/v1/posts?status=published'))).toEqual(['Charlie', 'Bravo'])
      expect(titles(await get(key, '/api/v1/posts?status=archived'))).toEqual(['Delta'])
      expect(titles(await get(key, '/api/v1/posts?status=draft'))).toEqual(['Echo', 'Alpha'])
    })

    it('filters by creation and update dates', async () => {
      const q = (params: string) => get(key, `/api/v1/posts?${params}`).then(titles)
      expect(await q('created_after=2026-05-02T12:00:00Z')).toEqual(['Echo', 'Delta', 'Charlie'])
      expect(await q('created_before=2026-05-02T12:00:00Z')).toEqual(['Bravo', 'Alpha'])
      expect(await q('created_after=2026-05-01T12:00:00Z&created_before=2026-05-03T12:00:00Z')).toEqual([
        'Charlie',
        'Bravo',
      ])
      expect(await q('created_after=2026-05-03')).toEqual(['Echo', 'Delta', 'Charlie']) // a date is midnight UTC
      expect(await q('created_after=2026-05-02T12:00:00%2B03:00')).toEqual([
        'Echo',
        'Delta',
        'Charlie',
        'Bravo',
      ])
      expect(await q('updated_after=2026-05-08')).toEqual(['Alpha'])
      expect(await q('updated_before=2026-05-08')).toEqual(['Echo', 'Delta', 'Charlie', 'Bravo'])
      expect(await q('created_after=2026-06-01')).toEqual([])
    })

    it('searches title and body as full text', async () => {
      const q = (search: string) =>
        get(key, `/api/v1/posts?search=${encodeURIComponent(search)}`).then(titles)
      expect(await q('databases')).toEqual(['Charlie', 'Alpha']) // stemmed: database
      expect(await q('caching')).toEqual(['Bravo'])
      expect(await q('fast database')).toEqual(['Charlie']) // every word must match
      expect(await q('fast')).toEqual(['Charlie', 'Bravo'])
      expect(await q('delta')).toEqual(['Delta']) // titles too
      expect(await q('revised')).toEqual(['Alpha']) // the updated body is searched
      expect(await q('kubernetes')).toEqual([])
      // web-search syntax: a quoted phrase, OR, and exclusion
      expect(await q('"database engine"')).toEqual(['Alpha'])
      expect(await q('caching or indexes')).toEqual(['Charlie', 'Bravo'])
      expect(await q('database -fast')).toEqual(['Alpha'])
      // odd input is never an error: stop words only, stray operators, an unclosed quote
      for (const odd of ['the', '!!!', '"unclosed', "o'brien", '& | :*', '-']) {
        const res = await get(key, `/api/v1/posts?search=${encodeURIComponent(odd)}`)
        expect(res.statusCode, odd).toBe(200)
      }
    })

    it('sorts by one or several fields', async () => {
      expect(titles(await get(key, '/api/v1/posts?sort=title'))).toEqual([
        'Alpha',
        'Bravo',
        'Charlie',
        'Delta',
        'Echo',
      ])
      expect(titles(await get(key, '/api/v1/posts?sort=-title'))).toEqual([
        'Echo',
        'Delta',
        'Charlie',
        'Bravo',
        'Alpha',
      ])
      expect(titles(await get(key, '/api/v1/posts?sort=-created_at,title'))).toEqual([
        'Delta',
        'Echo',
        'Charlie',
        'Bravo',
        'Alpha',
      ])
      expect(titles(await get(key, '/api/v1/posts?sort=-updated_at'))).toEqual([
        'Alpha',
        'Echo',
        'Delta',
        'Charlie',
        'Bravo',
      ])
    })

    it('selects fields', async () => {
      const res = await get(key, '/api/v1/posts?fields=title&sort=title')
      expect(res.statusCode).toBe(200)
      const data = res.json().data as Array<Record<string, unknown>>
      expect(data).toHaveLength(5)
      for (const item of data) expect(Object.keys(item).sort()).toEqual(['id', 'title'])
      expect(data[0]).toEqual({ id: expect.any(Number), title: 'Alpha' })

      const two = await get(key, '/api/v1/posts?fields=status,created_at&per_page=1')
      expect(two.json().data).toEqual([
        { id: expect.any(Number), status: 'draft', created_at: '2026-05-04T10:00:00Z' },
      ])
    })

    it('includes owner and tags', async () => {
      const res = await get(key, '/api/v1/posts?include=owner,tags&sort=title')
      const data = res.json().data as Array<Record<string, unknown>>
      expect(
        data.map((p) => [p.title, p.owner, (p.tags as Array<{ name: string }>).map((x) => x.name)]),
      ).toEqual([
        ['Alpha', null, ['guide']],
        ['Bravo', null, ['perf']],
        ['Charlie', null, ['guide', 'perf']],
        ['Delta', null, []],
        ['Echo', { id: user.id, email: user.email, name: user.name }, []],
      ])
      const onlyTags = (await get(key, '/api/v1/posts?include=tags')).json().data[0]
      expect(onlyTags).toHaveProperty('tags')
      expect(onlyTags).not.toHaveProperty('owner')
    })

    it('filters by author_id and tag, combined with the other filters', async () => {
      expect(titles(await get(key, `/api/v1/posts?author_id=${user.id}`))).toEqual(['Echo'])
      expect((await get(key, '/api/v1/posts?author_id=999999')).json().meta.total).toBe(0)
      expect(titles(await get(key, '/api/v1/posts?tag=guide'))).toEqual(['Charlie', 'Alpha'])
      expect(titles(await get(key, '/api/v1/posts?status=published&search=fast&tag=guide'))).toEqual([
        'Charlie',
      ])
      const paged = await get(key, '/api/v1/posts?tag=perf&per_page=1&sort=title')
      expect(titles(paged)).toEqual(['Bravo'])
      expect(paged.json().meta).toMatchObject({ total: 2, last_page: 2 })
      expect(paged.json().links.next).toBe(
        'http://api.test/api/v1/posts?tag=perf&per_page=1&sort=title&page=2',
      )
    })
  })
})

describe('posts: errors', () => {
  it('rejects invalid create bodies with 422 naming the field, and creates nothing', async () => {
    const { key } = await setup()
    const cases: Array<[unknown, string]> = [
      [{}, 'title'],
      [{ title: 'x', author_id: 5 }, 'author_id'],
      [{ title: 'x', published_at: '2026-01-01T00:00:00Z' }, 'published_at'],
      [{ title: '' }, 'title'],
      [{ title: '   ' }, 'title'],
      [{ title: 'x'.repeat(256) }, 'title'],
      [{ title: 42 }, 'title'],
      [{ title: null }, 'title'],
      [{ title: 'x', status: 'deleted' }, 'status'],
      [{ title: 'x', status: 'Published' }, 'status'],
      [{ title: 'x', tags: 'news,tech' }, 'tags'],
      [{ title: 'x', tags: [''] }, 'tags'],
      [{ title: 'x', tags: [42] }, 'tags'],
      [{ title: 'x', tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, 'tags'],
      [{ title: 'x', body: 7 }, 'body'],
    ]
    for (const [payload, field] of cases) {
      const res = await t.call(key, { method: 'POST', url: '/api/v1/posts', payload: payload as object })
      expect(res.statusCode, JSON.stringify(payload)).toBe(422)
      expect(res.json()).toMatchObject({ error: 'validation_failed', message: 'The given data was invalid.' })
      expect(Object.keys(res.json().errors).join(' '), JSON.stringify(payload)).toContain(field)
    }
    expect((await get(key, '/api/v1/posts')).json().meta.total).toBe(0)
  })

  it('accepts a title of exactly 255 characters', async () => {
    const { key } = await setup()
    const res = await create(key, { title: 'x'.repeat(255) })
    expect(res.statusCode).toBe(201)
  })

  it('rejects invalid update bodies with 422 and leaves the post unchanged', async () => {
    const { key } = await setup()
    const post = (await create(key, { title: 'Stable', tags: ['keep'] })).json().data
    const cases: Array<[unknown, string | null]> = [
      [{}, null],
      [{ title: '' }, 'title'],
      [{ title: '  ' }, 'title'],
      [{ status: 'gone' }, 'status'],
      [{ tags: 'keep' }, 'tags'],
      [{ title: 'ok', author_id: 1 }, 'author_id'],
    ]
    for (const [payload, field] of cases) {
      const res = await t.call(key, {
        method: 'PATCH',
        url: `/api/v1/posts/${post.id}`,
        payload: payload as object,
      })
      expect(res.statusCode, JSON.stringify(payload)).toBe(422)
      expect(res.json().error).toBe('validation_failed')
      if (field) expect(Object.keys(res.json().errors).join(' ')).toContain(field)
    }
    const after = await get(key, `/api/v1/posts/${post.id}?include=tags`)
    expect(after.json().data).toEqual(post)
  })

  it('rejects unknown query parameters, sort keys, fields, includes and bad filter values with 422', async () => {
    const { key } = await setup()
    for (const query of [
      'foo=1',
      'sort=body',
      'sort=-author',
      'sort=title,secret',
      'fields=title,secret',
      'fields=workspace_id',
      'include=author',
      'include=owner,comments',
      'status=deleted',
      'per_page=0',
      'per_page=101',
      'page=0',
      'page=abc',
      'created_after=yesterday',
      'created_before=2026-02-31',
      'updated_after=2026-13-01',
      'updated_before=not-a-date',
      'author_id=abc',
      'author_id=0',
      'search=',
    ]) {
      const res = await get(key, `/api/v1/posts?${query}`)
      expect(res.statusCode, query).toBe(422)
      expect(res.json().error, query).toBe('validation_failed')
    }
    const post = (await create(key, { title: 'One' })).json().data
    for (const query of ['include=comments', 'foo=1', 'fields=title']) {
      const res = await get(key, `/api/v1/posts/${post.id}?${query}`)
      expect(res.statusCode, query).toBe(422)
    }
  })

  it('answers 404 for unknown and malformed ids', async () => {
    const { key } = await setup({ scopes: ['posts:*'] })
    for (const id of ['999999', 'abc', '0', '-1', '1.5', '99999999999999']) {
      for (const method of ['GET', 'PATCH', 'DELETE'] as const) {
        const res = await t.call(key, {
          method,
          url: `/api/v1/posts/${id}`,
          ...(method === 'PATCH' && { payload: { title: 'x' } }),
        })
        expect(res.statusCode, `${method} ${id}`).toBe(404)
        expect(res.json().error).toBe('not_found')
      }
    }
  })
})

describe('posts: security', () => {
  it("another workspace's post is 404 for GET, PATCH and DELETE, and stays unchanged", async () => {
    const owner = await setup()
    const intruder = await setup({ scopes: ['posts:*'] })
    const post = (await create(owner.key, { title: 'Private', body: 'secret', tags: ['mine'] })).json().data

    for (const method of ['GET', 'PATCH', 'DELETE'] as const) {
      const res = await t.call(intruder.key, {
        method,
        url: `/api/v1/posts/${post.id}`,
        ...(method === 'PATCH' && { payload: { title: 'hijacked', tags: ['stolen'] } }),
      })
      expect(res.statusCode, method).toBe(404)
      expect(res.json().error).toBe('not_found')
    }
    const list = await get(intruder.key, '/api/v1/posts')
    expect(list.json().meta.total).toBe(0)
    expect((await get(intruder.key, '/api/v1/posts?tag=mine')).json().meta.total).toBe(0)
    expect((await get(intruder.key, '/api/v1/posts?search=secret')).json().meta.total).toBe(0)

    const after = await get(owner.key, `/api/v1/posts/${post.id}?include=tags`)
    expect(after.statusCode).toBe(200)
    expect(after.json().data).toEqual(post)
  })

  it('a posts:read key can read but not write or delete, with 403 naming the scope', async () => {
    const { ws, key: reader } = await setup({ scopes: ['posts:read'] })
    const { key: writer } = await t.key(ws.id, { scopes: ['posts:write'] })
    const post = (await create(writer, { title: 'Existing' })).json().data

    const refused = await create(reader, { title: 'Nope' })
    expect(refused.statusCode).toBe(403)
    expect(refused.json()).toMatchObject({
      error: 'access_denied',
      message: 'Insufficient permissions. Required scope: posts:write',
    })
    const patch = await t.call(reader, {
      method: 'PATCH',
      url: `/api/v1/posts/${post.id}`,
      payload: { title: 'x' },
    })
    expect(patch.statusCode).toBe(403)
    expect(patch.json().message).toBe('Insufficient permissions. Required scope: posts:write')

    const del = await t.call(writer, { method: 'DELETE', url: `/api/v1/posts/${post.id}` })
    expect(del.statusCode).toBe(403) // write does not imply delete
    expect(del.json().message).toBe('Insufficient permissions. Required scope: posts:delete')

    const list = await get(reader, '/api/v1/posts')
    expect(list.statusCode).toBe(200)
    expect(titles(list)).toEqual(['Existing'])
    expect((await get(reader, `/api/v1/posts/${post.id}`)).json().data.title).toBe('Existing')
  })

  it('a key without posts scopes cannot list posts', async () => {
    const { key } = await setup({ scopes: ['webhooks:read'] })
    const res = await get(key, '/api/v1/posts')
    expect(res.statusCode).toBe(403)
    expect(res.json().message).toBe('Insufficient permissions. Required scope: posts:read')
  })

  it('refuses requests without a valid key', async () => {
    expect((await get('sk_live_notarealkey', '/api/v1/posts')).statusCode).toBe(401)
    expect(
      (await t.call(null, { method: 'POST', url: '/api/v1/posts', payload: { title: 'x' } })).statusCode,
    ).toBe(401)
  })
})

describe('posts: concurrent writes never answer 5xx', () => {
  async function post(key: string, payload: Record<string, unknown> = { title: 'Concurrent' }) {
    const res = await t.call(key, { method: 'POST', url: '/api/v1/posts', payload })
    expect(res.statusCode, res.body).toBe(201)
    return res.json().data as { id: number }
  }

  it('a PATCH racing a DELETE of the same post is 200 or 404, never a 500', async () => {
    const { ws, key } = await setup({ scopes: ['posts:*'] })
    const statuses: number[] = []
    for (let round = 0; round < 4; round++) {
      const ids = await Promise.all(Array.from({ length: 6 }, () => post(key).then((p) => p.id)))
      const answers = await Promise.all(
        ids.flatMap((id) => [
          t.call(key, {
            method: 'PATCH',
            url: `/api/v1/posts/${id}`,
            payload: { title: 'Edited', status: 'published', tags: ['race', `r${round}`] },
          }),
          t.call(key, { method: 'DELETE', url: `/api/v1/posts/${id}` }),
        ]),
      )
      for (const [i, res] of answers.entries()) {
        statuses.push(res.statusCode)
        if (i % 2 === 0) expect([200, 404], res.body).toContain(res.statusCode)
        else expect(res.statusCode, res.body).toBe(204)
      }
    }
    expect(statuses.filter((s) => s >= 500)).toEqual([])
    const left = await t.call(key, { method: 'GET', url: '/api/v1/posts', workspace: ws.id })
    expect(left.json().meta.total).toBe(0)
  })

  it('concurrent updates naming the same new tags in opposite orders all succeed', async () => {
    const { key } = await setup({ scopes: ['posts:*'] })
    const ids = await Promise.all(Array.from({ length: 6 }, () => post(key).then((p) => p.id)))
    // Deadlocks need concurrent connections: PostgreSQL (PGlite has one connection).
    for (let round = 0; round < (process.env.DATABASE_URL ? 30 : 2); round++) {
      const names = Array.from({ length: 20 }, (_, i) => `shared-${round}-${String(i).padStart(2, '0')}`)
      const answers = await Promise.all(
        ids.map((id, i) =>
          t.call(key, {
            method: 'PATCH',
            url: `/api/v1/posts/${id}`,
            payload: { tags: i % 2 === 0 ? names : [...names].reverse() },
          }),
        ),
      )
      for (const res of answers) expect(res.statusCode, res.body.slice(0, 300)).toBe(200)
      for (const res of answers) {
        expect(res.json().data.tags.map((tag: { name: string }) => tag.name)).toEqual(names)
      }
    }
  })
})
