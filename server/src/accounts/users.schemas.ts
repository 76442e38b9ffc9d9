import { Type, type Static } from 'typebox';
import { Timestamp } from '../http/schemas.js';

export const Role = Type.Union([Type.Literal('admin'), Type.Literal('member')]);

export const Username = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[a-z0-9][a-z0-9._-]*$',
  description: 'Lower-case letters, digits, dot, dash, underscore',
});

/** New passwords; sign-in accepts any string so that the policy is not revealed there. */
export const NewPassword = Type.String({ minLength: 8, maxLength: 256 });

export const UserSchema = Type.Object(
  {
    id: Type.String(),
    username: Type.String(),
    role: Role,
    organizationId: Type.String(),
    organizationName: Type.String(),
    isSystemAdmin: Type.Boolean(),
    createdAt: Timestamp,
  },
  { $id: 'User' },
);

export type UserView = Static<typeof UserSchema>;
