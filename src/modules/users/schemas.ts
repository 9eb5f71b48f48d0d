import { Type } from 'typebox'

/** A user as other resources embed them (`include=owner`, `include=user`). */
export const UserRef = Type.Object({
  id: Type.Integer(),
  email: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
})
