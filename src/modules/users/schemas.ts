import { Type } from 'typebox'
import { ROLES } from '../../platform/auth/index.ts'

/** A user as other resources embed them (`include=owner`, `include=user`). */
export const UserRef = Type.Object({
  id: Type.Integer(),
  email: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
})

export const UserCreate = Type.Object(
  {
    email: Type.String({ format: 'email', maxLength: 254, description: 'Unique, case-insensitive' }),
    password: Type.String({
      minLength: 10,
      maxLength: 256,
      description: 'At least 10 characters; stored only as an argon2id hash',
    }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    role: Type.Optional(
      Type.Enum([...ROLES], {
        description:
          'Role in the workspace the request acts in (default `member`); only the master key makes an owner',
      }),
    ),
  },
  {
    additionalProperties: false,
    examples: [
      {
        email: 'ada@example.com',
        password: 'correct horse battery staple',
        name: 'Ada Lovelace',
        role: 'member',
      },
    ],
  },
)

export const UserOut = Type.Object({
  id: Type.Integer(),
  email: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  membership: Type.Union(
    [Type.Object({ workspace_id: Type.Integer(), role: Type.Enum([...ROLES]) }), Type.Null()],
    {
      description: 'The membership the request created, if it acted in a workspace',
    },
  ),
})
