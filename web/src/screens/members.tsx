// The workspace's people: its members with their roles, and the invitations still pending. An
// owner changes roles (asked to confirm whenever an owner is made or unmade); owners and admins
// invite, revoke invitations and remove members (an admin not an owner); anyone may leave. The
// actions follow GET /api/v1/me in this workspace (its role and scopes); the server still
// decides, and keeps the last owner (409).
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useNavigate, useParams } from '@tanstack/react-router'
import { type FormEvent, useId, useState } from 'react'
import { api, describeError } from '../api.ts'
import { ConfirmDialog, FormActions, FormDialog, SecretDialog } from '../dialogs.tsx'
import { formatDate, fromNow } from '../format.ts'
import { accessQuery, can, sessionQuery } from '../session.ts'
import { DataTable, ErrorText, Pager } from '../ui.tsx'

type Member = Awaited<ReturnType<typeof api.workspaces.listMembers>>['data'][number]
type Invitation = Awaited<ReturnType<typeof api.workspaces.listInvitations>>['data'][number]
type Role = Member['role']
type RoleChange = { member: Member; role: Role }

const PER_PAGE = 25
const ROLES: readonly Role[] = ['owner', 'admin', 'member']
const ROLE_HINTS: Record<Role, string> = {
  owner: 'everything, including roles and deleting the workspace',
  admin: 'everything but roles and deleting the workspace',
  member: 'reads everything, writes posts, manages their own keys',
}

export function Members() {
  const { workspaceId } = useParams({ from: '/w/$workspaceId' })
  const navigate = useNavigate()
  const queryClient = useQueryClient()
  const me = useQuery(sessionQuery).data?.user
  const access = useQuery(accessQuery(workspaceId)).data
  const isOwner = access?.role === 'owner'
  const canInvite = can(access, 'users:write')
  const canRemove = can(access, 'users:delete')
  const [page, setPage] = useState(1)
  const members = useQuery({
    queryKey: ['members', workspaceId, page],
    queryFn: async () => await api.workspaces.listMembers(workspaceId, { page, per_page: PER_PAGE }),
    placeholderData: keepPreviousData,
  })
  // How many owners there are: the last one can be neither demoted nor removed.
  const owners = useQuery({
    queryKey: ['members', workspaceId, 'owners'],
    queryFn: async () =>
      (await api.workspaces.listMembers(workspaceId, { role: 'owner', per_page: 1, fields: 'id' })).meta
        .total,
  })
  const lastOwner = (member: Member) => member.role === 'owner' && owners.data === 1
  const [inviting, setInviting] = useState(false)
  const [secret, setSecret] = useState<{ label: string; value: string } | null>(null)
  const [confirming, setConfirming] = useState<RoleChange | null>(null)
  const [removing, setRemoving] = useState<Member | null>(null)
  const [announcement, setAnnouncement] = useState('')

  const refresh = async (self: boolean) => {
    await queryClient.invalidateQueries({ queryKey: ['members', workspaceId] })
    // A person whose own role changed may now do more or less here.
    if (self) await queryClient.invalidateQueries({ queryKey: ['access', workspaceId] })
  }
  const changeRole = useMutation({
    mutationFn: ({ member, role }: RoleChange) =>
      api.workspaces.updateMember(workspaceId, member.id, { role }),
    onSuccess: async ({ data }) => {
      setConfirming(null)
      setAnnouncement(`${data.email} is now ${article(data.role)} ${data.role}.`)
      await refresh(data.id === me?.id)
    },
  })
  const remove = useMutation({
    mutationFn: (member: Member) => api.workspaces.deleteMember(workspaceId, member.id),
    onSuccess: async (_result, member) => {
      setRemoving(null)
      if (member.id === me?.id) {
        // Left: go where the session now lands (another workspace, or none), then forget this one.
        await queryClient.fetchQuery({ ...sessionQuery, staleTime: 0 })
        await navigate({ to: '/' })
        queryClient.removeQueries({ predicate: (query) => query.queryKey[1] === workspaceId })
        await queryClient.invalidateQueries({ queryKey: ['workspaces'] })
        return
      }
      setAnnouncement(`${member.email} was removed.`)
      await refresh(false)
    },
  })

  function pickRole(member: Member, role: Role) {
    if (role === member.role) return
    changeRole.reset()
    // Making or unmaking an owner hands over (or takes back) the whole workspace: ask first.
    if (role === 'owner' || member.role === 'owner') setConfirming({ member, role })
    else changeRole.mutate({ member, role })
  }

  const meta = members.data?.meta
  const showActions = isOwner || canRemove || me !== undefined
  return (
    <section aria-labelledby="members-title">
      <div className="screen-head">
        <h1 id="members-title">Members</h1>
        {canInvite && (
          <button type="button" onClick={() => setInviting(true)}>
            Invite someone
          </button>
        )}
      </div>
      <p className="hint">
        Owners may do everything, admins everything but change roles and delete the workspace, members read
        everything, write posts and manage their own keys. A change applies at the person's next request.
      </p>
      <p className="visually-hidden" aria-live="polite">
        {announcement}
      </p>
      {!confirming && <ErrorText error={changeRole.error} />}
      {members.isError ? (
        <ErrorText error={members.error} />
      ) : (
        <DataTable label="Members table" caption="Members of this workspace" busy={members.isFetching}>
          <thead>
            <tr>
              <th scope="col">Member</th>
              <th scope="col">Role</th>
              <th scope="col">Joined</th>
              {showActions && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {members.data?.data.map((member) => {
              const self = member.id === me?.id
              const removable =
                self || (canRemove && (member.role !== 'owner' || isOwner) && !lastOwner(member))
              return (
                <tr key={member.id}>
                  <th scope="row">
                    {member.name ? (
                      <>
                        {member.name} <span className="hint">{member.email}</span>
                      </>
                    ) : (
                      member.email
                    )}
                    {self && <span className="hint"> (you)</span>}
                  </th>
                  <td>
                    {isOwner ? (
                      <RoleSelect
                        member={member}
                        disabled={changeRole.isPending}
                        locked={lastOwner(member)}
                        onPick={(role) => pickRole(member, role)}
                      />
                    ) : (
                      <span className="tier">{member.role}</span>
                    )}
                  </td>
                  <td title={formatDate(member.created_at)}>{fromNow(member.created_at)}</td>
                  {showActions && (
                    <td>
                      {removable && (
                        <button
                          type="button"
                          className="danger"
                          disabled={self && lastOwner(member)}
                          aria-label={self ? 'Leave this workspace' : `Remove ${member.email}`}
                          onClick={() => {
                            remove.reset()
                            setRemoving(member)
                          }}
                        >
                          {self ? 'Leave' : 'Remove'}
                        </button>
                      )}
                    </td>
                  )}
                </tr>
              )
            })}
          </tbody>
        </DataTable>
      )}
      {owners.data === 1 && isOwner && (
        <p className="hint">
          A workspace keeps at least one owner: make someone else owner before demoting or removing the last
          one.
        </p>
      )}
      <Pager label="Pages of members" unit="members" meta={meta} onPage={setPage} />
      <Invitations workspaceId={workspaceId} canRevoke={canRemove} />
      <InviteDialog
        open={inviting}
        workspaceId={workspaceId}
        roles={isOwner ? ROLES : ROLES.filter((role) => role !== 'owner')}
        onClose={() => setInviting(false)}
        onInvited={(invitation) => {
          setInviting(false)
          setAnnouncement(`${invitation.email} was invited.`)
          if (invitation.token) {
            const link = new URL('/dashboard/invitations/accept', window.location.origin)
            link.searchParams.set('token', invitation.token)
            setSecret({ label: `Invitation link for ${invitation.email}`, value: link.href })
          }
        }}
      />
      <SecretDialog secret={secret} onClose={() => setSecret(null)} />
      <ConfirmDialog
        open={confirming !== null}
        onOpenChange={(open) => {
          if (!open) {
            changeRole.reset()
            setConfirming(null)
          }
        }}
        title={
          confirming?.role === 'owner'
            ? `Make ${confirming.member.email} an owner?`
            : `Make ${confirming?.member.email ?? ''} ${article(confirming?.role ?? 'member')} ${confirming?.role ?? ''}?`
        }
        description={
          confirming?.role === 'owner'
            ? 'An owner may do everything in this workspace: change roles, remove other owners and delete it.'
            : confirming?.member.id === me?.id
              ? 'You will no longer be an owner: only another owner can give the role back.'
              : 'They will no longer be an owner of this workspace.'
        }
        confirm="Change role"
        pending={changeRole.isPending}
        error={changeRole.isError ? describeError(changeRole.error) : null}
        onConfirm={() => confirming && changeRole.mutate(confirming)}
      />
      <ConfirmDialog
        open={removing !== null}
        onOpenChange={(open) => {
          if (!open) {
            remove.reset()
            setRemoving(null)
          }
        }}
        title={removing?.id === me?.id ? 'Leave this workspace?' : `Remove ${removing?.email ?? ''}?`}
        description={
          removing?.id === me?.id
            ? 'You lose access at once; an owner or admin must invite you to come back.'
            : 'They lose access to this workspace at their next request. The keys they made stay until revoked.'
        }
        confirm={removing?.id === me?.id ? 'Leave' : 'Remove member'}
        pending={remove.isPending}
        error={remove.isError ? describeError(remove.error) : null}
        onConfirm={() => removing && remove.mutate(removing)}
      />
    </section>
  )
}

function article(role: string): string {
  return role === 'admin' || role === 'owner' ? 'an' : 'a'
}

function RoleSelect(props: {
  member: Member
  disabled: boolean
  locked: boolean
  onPick: (role: Role) => void
}) {
  const { member } = props
  return (
    <select
      aria-label={`Role of ${member.email}`}
      value={member.role}
      disabled={props.disabled || props.locked}
      title={props.locked ? 'The last owner: make someone else owner first' : undefined}
      onChange={(event) => {
        const role = ROLES.find((r) => r === event.target.value)
        if (role) props.onPick(role)
      }}
    >
      {ROLES.map((role) => (
        <option key={role} value={role}>
          {role}
        </option>
      ))}
    </select>
  )
}

function Invitations({ workspaceId, canRevoke }: { workspaceId: number; canRevoke: boolean }) {
  const queryClient = useQueryClient()
  const [page, setPage] = useState(1)
  const invitations = useQuery({
    queryKey: ['invitations', workspaceId, page],
    queryFn: async () =>
      await api.workspaces.listInvitations(workspaceId, { page, per_page: PER_PAGE, sort: '-created_at' }),
    placeholderData: keepPreviousData,
  })
  const [revoking, setRevoking] = useState<Invitation | null>(null)
  const revoke = useMutation({
    mutationFn: (invitation: Invitation) => api.workspaces.deleteInvitation(workspaceId, invitation.id),
    onSuccess: async () => {
      setRevoking(null)
      await queryClient.invalidateQueries({ queryKey: ['invitations', workspaceId] })
    },
  })
  const meta = invitations.data?.meta
  return (
    <section aria-labelledby="invitations-title" className="subsection">
      <h2 id="invitations-title">Pending invitations</h2>
      {invitations.isError ? (
        <ErrorText error={invitations.error} />
      ) : (
        <DataTable
          label="Pending invitations table"
          caption="Invitations neither accepted nor expired"
          busy={invitations.isFetching}
        >
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Invited</th>
              <th scope="col">Expires</th>
              {canRevoke && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {invitations.data?.data.length === 0 && (
              <tr>
                <td colSpan={canRevoke ? 5 : 4}>No pending invitations.</td>
              </tr>
            )}
            {invitations.data?.data.map((invitation) => (
              <tr key={invitation.id}>
                <th scope="row">{invitation.email}</th>
                <td className="tier">{invitation.role}</td>
                <td title={formatDate(invitation.created_at)}>{fromNow(invitation.created_at)}</td>
                <td title={formatDate(invitation.expires_at)}>{fromNow(invitation.expires_at)}</td>
                {canRevoke && (
                  <td>
                    <button
                      type="button"
                      className="danger"
                      aria-label={`Revoke the invitation of ${invitation.email}`}
                      onClick={() => {
                        revoke.reset()
                        setRevoking(invitation)
                      }}
                    >
                      Revoke
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </DataTable>
      )}
      <Pager label="Pages of invitations" unit="invitations" meta={meta} onPage={setPage} />
      <ConfirmDialog
        open={revoking !== null}
        onOpenChange={(open) => {
          if (!open) {
            revoke.reset()
            setRevoking(null)
          }
        }}
        title={`Revoke the invitation of ${revoking?.email ?? ''}?`}
        description="Its link stops working at once. You can invite them again later."
        confirm="Revoke invitation"
        pending={revoke.isPending}
        error={revoke.isError ? describeError(revoke.error) : null}
        onConfirm={() => revoking && revoke.mutate(revoking)}
      />
    </section>
  )
}

function InviteDialog(props: {
  open: boolean
  workspaceId: number
  roles: readonly Role[]
  onClose: () => void
  onInvited: (invitation: Invitation) => void
}) {
  const queryClient = useQueryClient()
  const emailId = useId()
  const roleId = useId()
  const roleHint = useId()
  const [role, setRole] = useState<Role>('member')
  const invite = useMutation({
    mutationFn: (body: { email: string; role: Role }) =>
      api.workspaces.createInvitation(props.workspaceId, body),
    onSuccess: async ({ data }) => {
      await queryClient.invalidateQueries({ queryKey: ['invitations', props.workspaceId] })
      props.onInvited(data)
    },
  })
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const form = new FormData(event.currentTarget)
    invite.mutate({ email: String(form.get('email')).trim(), role })
  }
  return (
    <FormDialog
      open={props.open}
      onOpenChange={(open) => {
        if (!open) {
          invite.reset()
          setRole('member')
          props.onClose()
        }
      }}
      title="Invite someone"
      description="They join with the role you choose when they accept. The invitation link is shown once; it is also emailed when the server sends mail."
    >
      <form className="stack" onSubmit={submit}>
        <label htmlFor={emailId}>Email</label>
        <input id={emailId} name="email" type="email" required maxLength={254} autoComplete="off" />
        <label htmlFor={roleId}>Role</label>
        <select
          id={roleId}
          value={role}
          aria-describedby={roleHint}
          onChange={(event) => setRole(props.roles.find((r) => r === event.target.value) ?? 'member')}
        >
          {props.roles.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
        <p id={roleHint} className="hint">
          {ROLE_HINTS[role]}
        </p>
        <ErrorText error={invite.error} />
        <FormActions pending={invite.isPending} label="Send invitation" pendingLabel="Inviting…" />
      </form>
    </FormDialog>
  )
}
