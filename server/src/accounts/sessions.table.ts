import type { Insertable, Selectable } from 'kysely';

/** Sign-in sessions. Only the SHA-256 of the token is stored; deleting the row ends the session. */
export interface SessionsTable {
  id: string;
  user_id: string;
  token_hash: string;
  created_at: string;
  expires_at: string;
}

export type SessionRow = Selectable<SessionsTable>;
export type NewSessionRow = Insertable<SessionsTable>;
