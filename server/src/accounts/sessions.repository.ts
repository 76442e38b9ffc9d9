import { compileOnce } from '../db/compiled.js';
import type { Db } from '../db/database.js';
import type { NewSessionRow } from './sessions.table.js';
import type { UserWithOrganizationRow } from './users.repository.js';

export async function insertSession(db: Db, row: NewSessionRow): Promise<void> {
  await db.insertInto('sessions').values(row).execute();
}

/** Runs on every request signed in with a session: compiled once. */
const sessionUserQuery = compileOnce(['tokenHash', 'now'], (db, v) =>
  db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .innerJoin('organizations', 'organizations.id', 'users.organization_id')
    .select([
      'sessions.id as session_id',
      'sessions.expires_at',
      'users.id',
      'users.username',
      'users.role',
      'users.organization_id',
      'organizations.name as organization_name',
      'organizations.kind as organization_kind',
      'users.created_at',
    ])
    .where('sessions.token_hash', '=', v.tokenHash)
    .where('sessions.expires_at', '>', v.now),
);

/** The live session with this token hash, with its user; undefined if unknown or expired. */
export async function findSessionUser(
  db: Db,
  tokenHash: string,
  now: string,
): Promise<(UserWithOrganizationRow & { session_id: string; expires_at: string }) | undefined> {
  const [row] = await sessionUserQuery(db, { tokenHash, now });
  return row;
}

export async function deleteSessionByTokenHash(db: Db, tokenHash: string): Promise<void> {
  await db.deleteFrom('sessions').where('token_hash', '=', tokenHash).execute();
}

export async function deleteExpiredSessions(db: Db, now: string): Promise<void> {
  await db.deleteFrom('sessions').where('expires_at', '<=', now).execute();
}

/** End every session of a user but one (after a password change). */
export async function deleteOtherSessions(
  db: Db,
  userId: string,
  keepSessionId?: string,
): Promise<void> {
  let query = db.deleteFrom('sessions').where('user_id', '=', userId);
  if (keepSessionId !== undefined) query = query.where('id', '!=', keepSessionId);
  await query.execute();
}
