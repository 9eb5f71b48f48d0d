// Queries on posts and their tags. Every query names the workspace.

import { and, count, eq, inArray, type SQL, sql } from 'drizzle-orm'
import type { Database, Executor } from '../../platform/db/index.ts'
import { dateFilters, paginate } from '../../platform/db/list.ts'
import { preparedStatement, type RawRow } from '../../platform/db/prepared.ts'
import type { ListQuery } from '../../platform/http/list.ts'
import { counterSteps, releaseStep } from '../entitlements/index.ts'
import { posts, postTags, tags } from './tables.ts'

export type PostRow = Omit<typeof posts.$inferSelect, 'search'>
export type TagRef = { id: number; name: string }

const columns = {
  id: posts.id,
  workspaceId: posts.workspaceId,
  authorId: posts.authorId,
  title: posts.title,
  body: posts.body,
  status: posts.status,
  publishedAt: posts.publishedAt,
  createdAt: posts.createdAt,
  updatedAt: posts.updatedAt,
}

const sortColumns = {
  id: posts.id,
  title: posts.title,
  status: posts.status,
  created_at: posts.createdAt,
  updated_at: posts.updatedAt,
  published_at: posts.publishedAt,
}

export async function listPosts(db: Database, workspaceId: number, query: ListQuery) {
  const conditions: Array<SQL | undefined> = [
    eq(posts.workspaceId, workspaceId),
    ...dateFilters(query, posts),
  ]
  if (query.status) conditions.push(eq(posts.status, query.status as PostRow['status']))
  if (query.search) conditions.push(sql`${posts.search} @@ websearch_to_tsquery('english', ${query.search})`)
  if (typeof query.filters.author_id === 'number')
    conditions.push(eq(posts.authorId, query.filters.author_id))
  if (typeof query.filters.tag === 'string') {
    conditions.push(
      inArray(
        posts.id,
        db
          .select({ id: postTags.postId })
          .from(postTags)
          .innerJoin(tags, eq(tags.id, postTags.tagId))
          .where(
            and(
              eq(tags.workspaceId, workspaceId),
              eq(sql`lower(${tags.name})`, query.filters.tag.toLowerCase()),
            ),
          ),
      ),
    )
  }
  const where = and(...conditions)
  return paginate(db, db.select(columns).from(posts).$dynamic(), {
    from: posts,
    where,
    query,
    sort: sortColumns,
  })
}

export async function findPost(db: Executor, workspaceId: number, id: number): Promise<PostRow | null> {
  const [row] = await db
    .select(columns)
    .from(posts)
    .where(and(eq(posts.id, id), eq(posts.workspaceId, workspaceId)))
  return row ?? null
}

/**
 * Changes a post of the workspace and returns it, locked until the transaction ends; null when
 * there is none. Publishing sets `published_at` the first time only.
 */
export async function updatePost(
  tx: Executor,
  workspaceId: number,
  id: number,
  changes: Partial<Pick<PostRow, 'title' | 'body' | 'status'>>,
  now: Date,
): Promise<PostRow | null> {
  const [row] = await tx
    .update(posts)
    .set({
      ...changes,
      ...(changes.status === 'published' && {
        publishedAt: sql`coalesce(${posts.publishedAt}, ${now.toISOString()}::timestamptz)`,
      }),
      updatedAt: now,
    })
    .where(and(eq(posts.id, id), eq(posts.workspaceId, workspaceId)))
    .returning(columns)
  return row ?? null
}

export async function countPosts(db: Executor, workspaceId: number): Promise<number> {
  const [row] = await db.select({ n: count() }).from(posts).where(eq(posts.workspaceId, workspaceId))
  return row?.n ?? 0
}

export async function tagsOf(db: Executor, postIds: number[]): Promise<Map<number, TagRef[]>> {
  const out = new Map<number, TagRef[]>(postIds.map((id) => [id, []]))
  if (postIds.length === 0) return out
  const rows = await db
    .select({ postId: postTags.postId, id: tags.id, name: tags.name })
    .from(postTags)
    .innerJoin(tags, eq(tags.id, postTags.tagId))
    .where(inArray(postTags.postId, postIds))
    .orderBy(tags.name)
  for (const { postId, ...tag } of rows) out.get(postId)?.push(tag)
  return out
}

/**
 * Replaces a post's tags with these names, creating unknown names in the workspace. Rows are
 * written in one order (names by their lower case, links by tag id): two transactions naming
 * the same new tags in different orders would otherwise each wait for a row the other holds.
 */
export async function setTags(
  db: Executor,
  workspaceId: number,
  postId: number,
  names: string[],
): Promise<void> {
  const byKey = new Map(names.map((n) => [n.trim().toLowerCase(), n.trim()]))
  const keys = [...byKey.keys()].sort()
  await db.delete(postTags).where(eq(postTags.postId, postId))
  if (keys.length === 0) return
  await db
    .insert(tags)
    .values(keys.map((key) => ({ workspaceId, name: byKey.get(key)! })))
    .onConflictDoNothing()
  const found = await db
    .select({ id: tags.id })
    .from(tags)
    .where(and(eq(tags.workspaceId, workspaceId), inArray(sql`lower(${tags.name})`, keys)))
    .orderBy(tags.id)
  await db.insert(postTags).values(found.map((t) => ({ postId, tagId: t.id })))
}

export type NewPost = {
  workspaceId: number
  authorId: number | null
  title: string
  body: string
  status: PostRow['status']
  publishedAt: string | null
  now: string
  /** Tag names, trimmed, one per lower-case name, in the order of their lower-case names. */
  tagNames: string[]
  tagKeys: string[]
  /** The workspace's hard limit of posts; null when none is enforced. */
  limit: number | null
}

/** The post columns of a WITH part that returns them. */
function fieldsOf(part: Record<keyof typeof columns, unknown>) {
  return Object.fromEntries(
    Object.keys(columns).map((k) => [k, part[k as keyof typeof columns]]),
  ) as typeof columns
}

const p = <K extends keyof NewPost>(name: K) => sql.placeholder(name)

/**
 * Creates a post in one statement: the entitlement counter, the row, unknown tags and the
 * links, returning the row with its tags (sorted by name). No row when the counter did not
 * admit the post. Unknown tags are written in the order of their lower-case names, as
 * `setTags` does, so concurrent creates cannot deadlock on them.
 */
function buildCreate(db: Executor) {
  const { reserved, untracked, admitted } = counterSteps(db, {
    workspaceId: p('workspaceId'),
    feature: 'posts',
    quantity: 1,
    limit: p('limit'),
  })
  const created = db.$with('created', columns).as(
    sql`insert into ${posts} (workspace_id, author_id, title, body, status, published_at, created_at, updated_at)
      select ${p('workspaceId')}::integer, ${p('authorId')}::integer, ${p('title')}::text, ${p('body')}::text,
        ${p('status')}::text, ${p('publishedAt')}::timestamptz, ${p('now')}::timestamptz, ${p('now')}::timestamptz
      where ${admitted}
      returning id, workspace_id, author_id, title, body, status, published_at, created_at, updated_at`,
  )
  const named = db.$with('named', { key: sql<string>`key`, name: sql<string>`name` }).as(
    sql`select key, name from unnest(${p('tagKeys')}::text[], ${p('tagNames')}::text[]) as n(key, name)
      where exists (select 1 from ${created})`,
  )
  const added = db.$with('added', { id: tags.id, name: tags.name }).as(
    sql`insert into ${tags} (workspace_id, name)
      select ${p('workspaceId')}::integer, name from ${named} order by key
      on conflict do nothing
      returning id, name`,
  )
  const found = db.$with('found', { id: tags.id, name: tags.name }).as(
    sql`select id, name from ${added}
      union all
      select id, name from ${tags}
      where workspace_id = ${p('workspaceId')}::integer and lower(name) in (select key from ${named})`,
  )
  const linked = db.$with('linked', { tagId: postTags.tagId }).as(
    sql`insert into ${postTags} (post_id, tag_id) select ${created}.id, ${found}.id from ${created}, ${found}
      returning tag_id`,
  )
  return db
    .with(reserved, untracked, created, named, added, found, linked)
    .select({
      ...fieldsOf(created),
      tags: sql<
        TagRef[]
      >`(select coalesce(json_agg(json_build_object('id', id, 'name', name) order by name), '[]'::json) from ${found})`.as(
        'tags',
      ),
    })
    .from(created)
}

/**
 * Writes a new post; null when the entitlement counter did not admit it (see
 * EntitlementService.refused). `tags` holds the tags linked, which may be fewer than named when
 * a tag was created by a concurrent transaction that committed while this statement ran (it
 * cannot see that row): the caller then links them with `setTags`.
 */
export async function insertPost(
  db: Executor,
  post: NewPost,
): Promise<(PostRow & { tags: TagRef[] }) | null> {
  const [row] = (await statements.create(db).execute(post)).rows
  return row ? { ...toPostRow(row), tags: row.tags as TagRef[] } : null
}

function buildDelete(db: Executor) {
  const workspaceId = sql.placeholder('workspaceId')
  const removed = db.$with('removed', columns).as(
    sql`delete from ${posts} where id = ${sql.placeholder('id')}::integer and workspace_id = ${workspaceId}::integer
      returning id, workspace_id, author_id, title, body, status, published_at, created_at, updated_at`,
  )
  const released = releaseStep(db, { workspaceId, feature: 'posts', removed })
  return db.with(removed, released).select(fieldsOf(removed)).from(removed)
}

// The write path's two statements are built once and prepared on the executor of each call
// (each create and delete runs in a transaction of its own); rows come raw, `toPostRow` maps them.
const statements = {
  create: preparedStatement('create_post', buildCreate),
  remove: preparedStatement('delete_post', buildDelete),
}

/** A post row as the driver returns it (column names, timestamps as text) to a PostRow. */
function toPostRow(raw: RawRow): PostRow {
  const row: Record<string, unknown> = {}
  for (const [key, column] of Object.entries(columns)) {
    const value = raw[column.name]
    row[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value as never)
  }
  return row as PostRow
}

/** Deletes a post and gives its slot back to the workspace's counter, in one statement. */
export async function deletePost(db: Executor, workspaceId: number, id: number): Promise<PostRow | null> {
  const [row] = (await statements.remove(db).execute({ workspaceId, id })).rows
  return row ? toPostRow(row) : null
}
