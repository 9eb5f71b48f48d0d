// Workspaces: the tenants. Creating one makes the calling user (or `owner_email`, for the
// master key) its owner; the slug is derived from the name when not given and is unique.
import type { Static } from 'typebox'
import type { Principal, Scope } from '../../platform/auth/index.ts'
import { isUniqueViolation } from '../../platform/db/index.ts'
import type { Deps } from '../../platform/deps.ts'
import { ApiError } from '../../platform/http/errors.ts'
import { type ListQuery, type Page, selectFields, toPage } from '../../platform/http/list.ts'
import { isoSeconds } from '../../platform/lib/clock.ts'
import { randomBase62 } from '../../platform/lib/random.ts'
import { findOrCreateUser } from '../users/index.ts'
import { roleGrants } from './roles.ts'
import type { WorkspaceCreate, WorkspaceUpdate } from './schemas.ts'
import {
  deleteWorkspace,
  findVisibleWorkspace,
  insertWorkspace,
  listWorkspaces,
  lockWorkspace,
  type Owner,
  ownersOf,
  roleOf,
  updateWorkspace,
  type WorkspaceRow,
} from './store.ts'

const MAX_SETTINGS_BYTES = 16_384

export type WorkspaceOut = {
  id: number
  name: string
  slug: string
  tier: string
  settings: Record<string, unknown>
  created_at: string
  updated_at: string
  owner?: Owner | null
}

function toOut(row: WorkspaceRow, owner?: Owner | null): WorkspaceOut {
  const out: WorkspaceOut = {
    id: row.id,
    name: row.name,
    slug: row.slug,
    tier: row.tier,
    settings: row.settings,
    created_at: isoSeconds(row.createdAt)!,
    updated_at: isoSeconds(row.updatedAt)!,
  }
  if (owner !== undefined) out.owner = owner
  return out
}

/** `Acme Corp.` → `acme-corp` (letters beyond ASCII lose their accents). */
function slugify(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/, '')
  return slug || 'workspace'
}

/**
 * The tier decides rate limits and plan limits, so only the platform operator (the master key)
 * may choose one; otherwise any key could lift its own workspace's limits.
 */
function requireOperator(principal: Principal): void {
  if (principal.type !== 'master_key') {
    throw new ApiError(
      'access_denied',
      'Only the platform operator (master key) can choose a workspace tier.',
    )
  }
}

function checkSettingsSize(settings: Record<string, unknown>): void {
  if (JSON.stringify(settings).length > MAX_SETTINGS_BYTES) {
    throw ApiError.invalid(
      'settings',
      `The settings field must not be larger than ${MAX_SETTINGS_BYTES} bytes.`,
    )
  }
}

export class WorkspaceService {
  private readonly deps: Deps

  constructor(deps: Deps) {
    this.deps = deps
  }

  async list(principal: Principal, query: ListQuery, url: URL): Promise<Page<Partial<WorkspaceOut>>> {
    const { db } = this.deps
    const { rows, total } = await listWorkspaces(db, principal, query)
    const owners = query.include.has('owner')
      ? await ownersOf(
          db,
          rows.map((r) => r.id),
        )
      : null
    const items = rows.map((row) =>
      selectFields(toOut(row, owners ? (owners.get(row.id) ?? null) : undefined), query.fields),
    )
    return toPage(items, total, query, url)
  }

  async get(principal: Principal, id: number, include: ReadonlySet<string>): Promise<WorkspaceOut> {
    const row = await findVisibleWorkspace(this.deps.db, principal, id)
    if (!row) throw ApiError.notFound('Workspace')
    const owner = include.has('owner') ? ((await ownersOf(this.deps.db, [id])).get(id) ?? null) : undefined
    return toOut(row, owner)
  }

  async create(principal: Principal, body: Static<typeof WorkspaceCreate>): Promise<WorkspaceOut> {
    const { db } = this.deps
    if (body.tier !== undefined && body.tier !== 'free') requireOperator(principal)
    if (body.owner_email !== undefined && principal.type !== 'master_key') {
      throw ApiError.invalid(
        'owner_email',
        'Only the master key may name an owner; the workspace is owned by the caller.',
      )
    }
    if (body.settings) checkSettingsSize(body.settings)
    const owner = body.owner_email ? await findOrCreateUser(db, body.owner_email) : principal.user
    const base = body.slug ?? slugify(body.name)
    for (let attempt = 0; attempt < 5; attempt++) {
      const slug = attempt === 0 ? base : `${base}-${randomBase62(6).toLowerCase()}`
      try {
        const fields = {
          name: body.name.trim(),
          slug,
          tier: body.tier ?? 'free',
          settings: body.settings ?? {},
        }
        const row = await db.transaction((tx) => insertWorkspace(tx, fields, owner?.id ?? null))
        return toOut(row)
      } catch (error) {
        if (!isUniqueViolation(error)) throw error
        if (body.slug !== undefined) {
          throw new ApiError('conflict', `The slug "${body.slug}" is already taken.`, {
            errors: { slug: ['The slug has already been taken.'] },
          })
        }
      }
    }
    throw new ApiError('conflict', 'Could not find a free slug; pass one explicitly.')
  }

  async update(
    principal: Principal,
    id: number,
    body: Static<typeof WorkspaceUpdate>,
  ): Promise<WorkspaceOut> {
    const { db, credentials, clock } = this.deps
    if (!(await findVisibleWorkspace(db, principal, id))) throw ApiError.notFound('Workspace')
    await this.requireRole(principal, id, 'workspaces:write')
    let row: WorkspaceRow
    try {
      row = await db.transaction(async (tx) => {
        // Settings are merged into the row as it is now: concurrent updates take turns on its
        // lock, so none loses the keys another one set.
        const current = await lockWorkspace(tx, id)
        if (!current) throw ApiError.notFound('Workspace')
        if (body.tier !== undefined && body.tier !== current.tier) requireOperator(principal)
        let settings = current.settings
        if (body.settings) {
          settings = { ...current.settings }
          for (const [key, value] of Object.entries(body.settings)) {
            if (value === null) delete settings[key]
            else settings[key] = value
          }
          checkSettingsSize(settings)
        }
        const changes = {
          ...(body.name !== undefined && { name: body.name.trim() }),
          ...(body.slug !== undefined && { slug: body.slug }),
          ...(body.tier !== undefined && { tier: body.tier }),
          settings,
        }
        const updated = await updateWorkspace(tx, id, changes, new Date(clock.now()))
        if (!updated) throw ApiError.notFound('Workspace')
        await this.deps.events.emit(tx, {
          workspaceId: id,
          type: 'workspace.updated',
          data: { ...toOut(updated) },
        })
        return updated
      })
    } catch (error) {
      if (!isUniqueViolation(error)) throw error
      throw new ApiError('conflict', `The slug "${body.slug}" is already taken.`, {
        errors: { slug: ['The slug has already been taken.'] },
      })
    }
    await credentials.invalidateWorkspace(id) // cached principals carry the name and tier
    return toOut(row)
  }

  async remove(principal: Principal, id: number): Promise<void> {
    const { db, credentials } = this.deps
    const current = await findVisibleWorkspace(db, principal, id)
    if (!current) throw ApiError.notFound('Workspace')
    await this.requireRole(principal, id, 'workspaces:delete')
    // Keys and memberships go with it; every instance forgets its keys.
    await deleteWorkspace(db, id)
    await credentials.invalidateWorkspace(id)
  }

  /**
   * A user-level credential changes a workspace only as far as its user's role there allows
   * (these routes take the workspace from the path, so the auth platform has not resolved it).
   */
  private async requireRole(principal: Principal, id: number, scope: Scope): Promise<void> {
    if (principal.type === 'master_key' || principal.workspace || !principal.user) return
    const role = await roleOf(this.deps.db, principal.user.id, id)
    if (role === null || !roleGrants(role).has(scope))
      throw new ApiError(
        'access_denied',
        `Insufficient permissions. Required scope: ${scope} (not granted to the ${role ?? 'non-member'} role in this workspace)`,
      )
  }
}
