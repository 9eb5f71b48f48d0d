// Posts: the resource to copy when adding your own (see docs/adding-a-resource.md). Scoped to
// the workspace, authored by the user behind the credential, counted against the plan's
// `posts` limit inside the creating transaction.
import { and, eq, sql } from 'drizzle-orm'
import type { Static } from 'typebox'
import type { Principal, PrincipalWorkspace } from '../../platform/auth/index.ts'
import type { Executor } from '../../platform/db/index.ts'
import type { Deps } from '../../platform/deps.ts'
import { ApiError } from '../../platform/http/errors.ts'
import { type ListQuery, type Page, selectFields, toPage } from '../../platform/http/list.ts'
import { isoSeconds } from '../../platform/lib/clock.ts'
import type { EntitlementService } from '../entitlements/index.ts'
import { usersById } from '../users/index.ts'
import type { PostCreate, PostUpdate } from './schemas.ts'
import {
  findPost,
  listPosts,
  type PostRow,
  postColumns,
  posts,
  setTags,
  type TagRef,
  tagsOf,
} from './store.ts'

type Includes = ReadonlySet<string>

export class PostService {
  private readonly deps: Deps
  private readonly entitlements: EntitlementService

  constructor(deps: Deps, entitlements: EntitlementService) {
    this.deps = deps
    this.entitlements = entitlements
  }

  private toOut(row: PostRow) {
    return {
      id: row.id,
      title: row.title,
      body: row.body,
      status: row.status,
      author_id: row.authorId,
      published_at: isoSeconds(row.publishedAt),
      created_at: isoSeconds(row.createdAt)!,
      updated_at: isoSeconds(row.updatedAt)!,
    }
  }

  /** Output objects with the requested relations embedded. */
  private async present(
    rows: PostRow[],
    include: Includes,
    db: Executor = this.deps.db,
  ): Promise<Array<Record<string, unknown>>> {
    const owners = include.has('owner')
      ? await usersById(
          db,
          rows.map((r) => r.authorId),
        )
      : null
    const tagMap: Map<number, TagRef[]> | null = include.has('tags')
      ? await tagsOf(
          db,
          rows.map((r) => r.id),
        )
      : null
    return rows.map((row) => {
      const out: Record<string, unknown> = this.toOut(row)
      if (owners) out.owner = row.authorId === null ? null : (owners.get(row.authorId) ?? null)
      if (tagMap) out.tags = tagMap.get(row.id) ?? []
      return out
    })
  }

  async list(
    workspace: PrincipalWorkspace,
    query: ListQuery,
    url: URL,
  ): Promise<Page<Record<string, unknown>>> {
    const { rows, total } = await listPosts(this.deps.db, workspace.id, query)
    const items = (await this.present(rows, query.include)).map((item) => selectFields(item, query.fields))
    return toPage(items, total, query, url)
  }

  async get(workspace: PrincipalWorkspace, id: number, include: Includes) {
    const row = await findPost(this.deps.db, workspace.id, id)
    if (!row) throw ApiError.notFound('Post')
    return (await this.present([row], include))[0]!
  }

  async create(principal: Principal, workspace: PrincipalWorkspace, body: Static<typeof PostCreate>) {
    const { db, clock } = this.deps
    const now = new Date(clock.now())
    const status = body.status ?? 'draft'
    const row = await db.transaction(async (tx) => {
      await this.entitlements.reserve(tx, workspace, 'posts')
      const [created] = await tx
        .insert(posts)
        .values({
          workspaceId: workspace.id,
          authorId: principal.user?.id ?? null,
          title: body.title.trim(),
          body: body.body ?? '',
          status,
          publishedAt: status === 'published' ? now : null,
          createdAt: now,
          updatedAt: now,
        })
        .returning(postColumns)
      if (body.tags) await setTags(tx, workspace.id, created!.id, body.tags)
      const data = await this.present([created!], new Set(['tags']), tx)
      await this.deps.events.emit(tx, { workspaceId: workspace.id, type: 'post.created', data: data[0]! })
      return data[0]!
    })
    return row
  }

  async update(workspace: PrincipalWorkspace, id: number, body: Static<typeof PostUpdate>) {
    const { db, clock } = this.deps
    const now = new Date(clock.now())
    const row = await db.transaction(async (tx) => {
      // One statement reads and writes the row, and locks it for the rest of the transaction:
      // a post deleted meanwhile is a 404, and a DELETE arriving now waits for this update.
      const [updated] = await tx
        .update(posts)
        .set({
          ...(body.title !== undefined && { title: body.title.trim() }),
          ...(body.body !== undefined && { body: body.body }),
          ...(body.status !== undefined && { status: body.status }),
          ...(body.status === 'published' && {
            publishedAt: sql`coalesce(${posts.publishedAt}, ${now.toISOString()}::timestamptz)`,
          }),
          updatedAt: now,
        })
        .where(and(eq(posts.id, id), eq(posts.workspaceId, workspace.id)))
        .returning(postColumns)
      if (!updated) throw ApiError.notFound('Post')
      if (body.tags) await setTags(tx, workspace.id, id, body.tags)
      const data = await this.present([updated], new Set(['tags']), tx)
      await this.deps.events.emit(tx, { workspaceId: workspace.id, type: 'post.updated', data: data[0]! })
      return data[0]!
    })
    return row
  }

  async remove(workspace: PrincipalWorkspace, id: number): Promise<void> {
    await this.deps.db.transaction(async (tx) => {
      const [row] = await tx
        .delete(posts)
        .where(and(eq(posts.id, id), eq(posts.workspaceId, workspace.id)))
        .returning(postColumns)
      if (!row) throw ApiError.notFound('Post')
      await this.deps.events.emit(tx, {
        workspaceId: workspace.id,
        type: 'post.deleted',
        data: this.toOut(row),
      })
    })
  }
}
