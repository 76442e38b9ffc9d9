import type { Insertable, Selectable, Updateable } from 'kysely';

export interface UsersTable {
  id: string;
  organization_id: string;
  /** Lower case; unique across the whole server (sign-in is by username only). */
  username: string;
  /** `scrypt$N$r$p$salt$hash`, see accounts/passwords.ts. */
  password_hash: string;
  role: 'admin' | 'member';
  created_at: string;
  updated_at: string;
}

export type UserRow = Selectable<UsersTable>;
export type NewUserRow = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
