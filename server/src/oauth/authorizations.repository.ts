/** SQL for pending authorization starts (oauth_authorizations). */
import type { Db } from '../db/database.js';
import type { NewOAuthAuthorizationRow, OAuthAuthorizationRow } from './oauth.table.js';

export async function insertAuthorization(db: Db, row: NewOAuthAuthorizationRow): Promise<void> {
  await db.insertInto('oauth_authorizations').values(row).execute();
}

/**
 * Marks the start with this state hash used and returns it, in one statement, so two callbacks
 * racing with the same state cannot both proceed. Returns undefined when it is unknown or was
 * already used (`findAuthorizationByStateHash` tells which).
 */
export async function consumeAuthorization(
  db: Db,
  stateHash: string,
  now: string,
): Promise<OAuthAuthorizationRow | undefined> {
  return db
    .updateTable('oauth_authorizations')
    .set({ used_at: now })
    .where('state_hash', '=', stateHash)
    .where('used_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

export async function findAuthorizationByStateHash(
  db: Db,
  stateHash: string,
): Promise<OAuthAuthorizationRow | undefined> {
  return db
    .selectFrom('oauth_authorizations')
    .selectAll()
    .where('state_hash', '=', stateHash)
    .executeTakeFirst();
}

/** Starts expire after ten minutes; rows a day past that are of no use, not even for messages. */
export async function deleteAuthorizationsExpiredBefore(db: Db, before: string): Promise<void> {
  await db.deleteFrom('oauth_authorizations').where('expires_at', '<', before).execute();
}
