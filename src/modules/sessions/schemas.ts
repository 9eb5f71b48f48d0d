import { Type } from 'typebox'
import { ROLES } from '../../platform/auth/index.ts'
import { UserRef } from '../users/index.ts'

export const SignIn = Type.Object(
  {
    email: Type.String({ minLength: 3, maxLength: 254 }),
    password: Type.String({ minLength: 1, maxLength: 256 }),
  },
  {
    additionalProperties: false,
    examples: [{ email: 'ada@example.com', password: 'correct horse battery staple' }],
  },
)

export const SessionOut = Type.Object({
  user: UserRef,
  workspace: Type.Union(
    [
      Type.Object({
        id: Type.Integer(),
        name: Type.String(),
        slug: Type.String(),
        tier: Type.String(),
        role: Type.Optional(Type.Enum([...ROLES])),
      }),
      Type.Null(),
    ],
    { description: 'The workspace the session acts in without X-Workspace-ID (the first one joined)' },
  ),
  expires_at: Type.String({ format: 'date-time', description: 'The absolute end of the session' }),
  idle_expires_at: Type.String({
    format: 'date-time',
    description: 'When it ends if no request comes first',
  }),
  csrf_token: Type.String({ description: 'Send as X-CSRF-Token with every cookie-authenticated write' }),
})

export const PasswordChange = Type.Object(
  {
    current_password: Type.String({ minLength: 1, maxLength: 256 }),
    new_password: Type.String({
      minLength: 10,
      maxLength: 256,
      description: 'At least 10 characters; stored only as an argon2id hash',
    }),
  },
  {
    additionalProperties: false,
    examples: [
      { current_password: 'correct horse battery staple', new_password: 'a new and longer passphrase' },
    ],
  },
)

export const InvitationAccept = Type.Object(
  {
    token: Type.String({ minLength: 10, maxLength: 100, description: 'The invitation token (`inv_…`)' }),
    password: Type.String({
      minLength: 10,
      maxLength: 256,
      description: "A new account's password, or the existing account's own",
    }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'For a new account' })),
  },
  {
    additionalProperties: false,
    examples: [
      {
        token: 'inv_Jq3S0bW2m9Yc4tRfL1xZ7pHn8vJd6uGe5aQwE0iOy2s',
        password: 'correct horse battery staple',
        name: 'Grace Hopper',
      },
    ],
  },
)
