import { defineSettings, integer } from '../../platform/config/index.ts'

export const workspaceSettings = defineSettings('workspaces', {
  invitationHours: {
    env: 'INVITATION_EXPIRY_HOURS',
    default: 168,
    parse: integer(1, 8760),
    doc: 'how long an invitation to a workspace can be accepted',
  },
})
