import { Type } from 'typebox'
import { ROLES, TIERS } from '../../platform/auth/index.ts'
import type { ListSpec } from '../../platform/http/list.ts'
import { component } from '../../platform/http/responses.ts'
import { UserRef } from '../users/index.ts'

const Tier = Type.Enum([...TIERS], {
  description: 'Subscription tier: drives rate limits and entitlements',
})

const Settings = Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), {
  maxProperties: 50,
  description: 'Free-form settings such as `timezone` and `locale`',
})

const WorkspaceOut = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  slug: Type.String(),
  tier: Type.String(),
  settings: Type.Record(Type.String(), Type.Unknown()),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
  owner: Type.Optional(Type.Union([UserRef, Type.Null()], { description: 'With `include=owner`' })),
})

export const WORKSPACE_EXAMPLE = {
  id: 1,
  name: 'Acme Corporation',
  slug: 'acme-corp',
  tier: 'pro',
  settings: { timezone: 'UTC', locale: 'en_GB' },
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-15T10:30:00Z',
}

export const Workspace = component('Workspace', WorkspaceOut, {
  description: 'A workspace: the tenant every resource belongs to. `owner` appears with `include=owner`.',
  example: WORKSPACE_EXAMPLE,
})

const Slug = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[a-z0-9]+(?:-[a-z0-9]+)*$',
  description: 'Lowercase letters, digits and single hyphens; unique',
})
const Name = Type.String({ minLength: 1, maxLength: 255, pattern: '\\S' })

export const WorkspaceCreate = Type.Object(
  {
    name: Name,
    slug: Type.Optional(Slug),
    tier: Type.Optional({
      ...Tier,
      description: 'Master key only (default free): the tier drives rate and plan limits',
    }),
    settings: Type.Optional(Settings),
    owner_email: Type.Optional(
      Type.String({
        format: 'email',
        maxLength: 254,
        description: 'Master key only: the user who owns the workspace (created if unknown)',
      }),
    ),
  },
  { additionalProperties: false, examples: [{ name: 'New Workspace', slug: 'new-workspace', tier: 'pro' }] },
)

export const WorkspaceUpdate = Type.Object(
  {
    name: Type.Optional(Name),
    slug: Type.Optional(Slug),
    tier: Type.Optional({ ...Tier, description: 'Master key only: the tier drives rate and plan limits' }),
    settings: Type.Optional(
      Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), {
        maxProperties: 50,
        description: 'Merged into the current settings; a key set to null is removed',
      }),
    ),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    examples: [{ name: 'Updated Name', settings: { timezone: 'Europe/London' } }],
  },
)

export const WorkspaceParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) })

export const workspaceList: ListSpec = {
  sortable: ['id', 'name', 'slug', 'tier', 'created_at', 'updated_at'],
  defaultSort: '-created_at',
  fields: ['name', 'slug', 'tier', 'settings', 'created_at', 'updated_at'],
  includes: ['owner'],
  search: true,
  filters: { tier: Tier },
}

const Role = Type.Enum([...ROLES], { description: 'owner, admin or member' })

export const MEMBER_EXAMPLE = {
  id: 7,
  email: 'ada@example.com',
  name: 'Ada Lovelace',
  role: 'admin',
  created_at: '2026-01-15T10:30:00Z',
}

export const Member = component(
  'Member',
  Type.Object({
    id: Type.Integer({ description: "The user's id" }),
    email: Type.String(),
    name: Type.Union([Type.String(), Type.Null()]),
    role: Role,
    created_at: Type.String({ format: 'date-time', description: 'When the user joined the workspace' }),
  }),
  { description: 'A user and their role in a workspace', example: MEMBER_EXAMPLE },
)

export const MemberParams = Type.Object({
  id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }),
  user_id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }),
})

export const MemberUpdate = Type.Object(
  { role: Role },
  { additionalProperties: false, examples: [{ role: 'admin' }] },
)

export const memberList: ListSpec = {
  sortable: ['created_at', 'email', 'role'],
  defaultSort: 'created_at',
  fields: ['email', 'name', 'role', 'created_at'],
  includes: [],
  search: true,
  filters: { role: Role },
}

export const invitationList: ListSpec = {
  sortable: ['created_at', 'expires_at', 'email', 'role'],
  defaultSort: '-created_at',
  fields: ['workspace_id', 'email', 'role', 'created_at', 'expires_at'],
  includes: [],
  search: true,
  filters: { role: Role },
}

export const INVITATION_EXAMPLE = {
  id: 3,
  workspace_id: 1,
  email: 'grace@example.com',
  role: 'member',
  created_at: '2026-01-15T10:30:00Z',
  expires_at: '2026-01-22T10:30:00Z',
}

export const Invitation = component(
  'Invitation',
  Type.Object({
    id: Type.Integer(),
    workspace_id: Type.Integer(),
    email: Type.String(),
    role: Role,
    created_at: Type.String({ format: 'date-time' }),
    expires_at: Type.String({ format: 'date-time' }),
    token: Type.Optional(
      Type.String({
        description:
          'Shown once, at creation: the invitee accepts with it (POST /api/auth/invitations/accept)',
      }),
    ),
  }),
  { description: 'An invitation to join a workspace', example: INVITATION_EXAMPLE },
)

export const InvitationCreate = Type.Object(
  {
    email: Type.String({ format: 'email', maxLength: 254 }),
    role: Type.Optional(Role),
  },
  { additionalProperties: false, examples: [{ email: 'grace@example.com', role: 'member' }] },
)

export const InvitationParams = Type.Object({
  id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }),
  invitation_id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }),
})
