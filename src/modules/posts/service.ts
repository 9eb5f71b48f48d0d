// Posts: the resource to copy when adding your own (see docs/adding-a-resource.md). Scoped to
// the workspace, authored by the user behind the credential, counted against the plan's
// `posts` limit inside the creating transaction.
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
  deletePost,
  findPost,
  insertPost,
  listPosts,
  type NewPost,
  type PostRow,
  setTags,
  type TagRef,
  tagsOf,
  updatePost,
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
    const now = new Date(clock.now()).toISOString()
    const status = body.status ?? 'draft'
    const byKey = new Map((body.tags ?? []).map((n) => [n.trim().toLowerCase(), n.trim()]))
    const tagKeys = [...byKey.keys()].sort()
    const post: NewPost = {
      workspaceId: workspace.id,
      authorId: principal.user?.id ?? null,
      title: body.title.trim(),
      body: body.body ?? '',
      status,
      publishedAt: status === 'published' ? now : null,
      now,
      tagKeys,
      tagNames: tagKeys.map((key) => byKey.get(key)!),
      limit: this.entitlements.hardLimit(workspace, 'posts'),
    }
    return db.transaction(async (tx) => {
      // One statement reserves the entitlement and writes the post, its tags and their links.
      let created = await insertPost(tx, post)
      if (!created) {
        // No counter yet, or at the limit: start the counter, or refuse (403).
        await this.entitlements.refused(tx, workspace, 'posts')
        created = await insertPost(tx, post)
        if (!created) await this.entitlements.refused(tx, workspace, 'posts', 1, false)
      }
      const { tags, ...row } = created!
      let data: Record<string, unknown> = { ...this.toOut(row), tags }
      if (tags.length < tagKeys.length) {
        // A tag committed by a concurrent create meanwhile was invisible to the statement.
        await setTags(tx, workspace.id, row.id, post.tagNames)
        data = (await this.present([row], new Set(['tags']), tx))[0]!
      }
      await this.deps.events.emit(tx, { workspaceId: workspace.id, type: 'post.created', data })
      return data
    })
  }

  async update(workspace: PrincipalWorkspace, id: number, body: Static<typeof PostUpdate>) {
    const { db, clock } = this.deps
    const now = new Date(clock.now())
    const row = await db.transaction(async (tx) => {
      // One statement reads and writes the row, and locks it for the rest of the transaction:
      // a post deleted meanwhile is a 404, and a DELETE arriving now waits for this update.
      const changes = {
        ...(body.title !== undefined && { title: body.title.trim() }),
        ...(body.body !== undefined && { body: body.body }),
        ...(body.status !== undefined && { status: body.status }),
      }
      const updated = await updatePost(tx, workspace.id, id, changes, now)
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
      // One statement deletes the post and gives its slot back to the entitlement counter.
      const row = await deletePost(tx, workspace.id, id)
      if (!row) throw ApiError.notFound('Post')
      await this.deps.events.emit(tx, {
        workspaceId: workspace.id,
        type: 'post.deleted',
        data: this.toOut(row),
      })
    })
  }
}
