// Queries on posts and their tags. Every query names the workspace.
import { and, count, eq, inArray, type SQL, sql } from 'drizzle-orm'
import type { Database, Executor } from '../../platform/db/index.ts'
import { dateFilters, orderBy } from '../../platform/db/list.ts'
import type { ListQuery } from '../../platform/http/list.ts'
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
  const [rows, [total]] = await Promise.all([
    db
      .select(columns)
      .from(posts)
      .where(where)
      .orderBy(...orderBy(query, sortColumns))
      .limit(query.perPage)
      .offset(query.offset),
    db.select({ n: count() }).from(posts).where(where),
  ])
  return { rows, total: total?.n ?? 0 }
}

export async function findPost(db: Executor, workspaceId: number, id: number): Promise<PostRow | null> {
  const [row] = await db
    .select(columns)
    .from(posts)
    .where(and(eq(posts.id, id), eq(posts.workspaceId, workspaceId)))
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

export { columns as postColumns, posts }
