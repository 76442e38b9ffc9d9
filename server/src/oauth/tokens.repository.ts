/** SQL for a network's account tokens (oauth_tokens). */
import type { Transaction } from 'kysely';
import type { Db } from '../db/database.js';
import type { Database } from '../db/schema.js';
import type { OAuthTokensRow } from './oauth.table.js';

type Executor = Db | Transaction<Database>;

export async function findTokens(
  db: Executor,
  networkId: string,
): Promise<OAuthTokensRow | undefined> {
  return db
    .selectFrom('oauth_tokens')
    .selectAll()
    .where('network_id', '=', networkId)
    .executeTakeFirst();
}

/**
 * Reads the token row and, on PostgreSQL, locks it until the transaction ends, so processes
 * sharing the database refresh one at a time. SQLite serialises writers itself and is run by
 * one process; there a version check on write does the same job.
 */
export async function findTokensForUpdate(
  trx: Transaction<Database>,
  networkId: string,
  dialect: 'sqlite' | 'postgres',
): Promise<OAuthTokensRow | undefined> {
  const query = trx.selectFrom('oauth_tokens').selectAll().where('network_id', '=', networkId);
  return (dialect === 'postgres' ? query.forUpdate() : query).executeTakeFirst();
}

export interface SealedTokens {
  access_token_sealed: string;
  refresh_token_sealed: string;
  expires_at: string | null;
  refresh_after: string | null;
  updated_at: string;
}

/** Inserts or replaces the tokens of a network, growing the version. */
export async function saveTokens(
  db: Executor,
  networkId: string,
  tokens: SealedTokens,
): Promise<number> {
  const existing = await findTokens(db, networkId);
  if (existing === undefined) {
    await db
      .insertInto('oauth_tokens')
      .values({ network_id: networkId, ...tokens, version: 1 })
      .execute();
    return 1;
  }
  const version = existing.version + 1;
  await db
    .updateTable('oauth_tokens')
    .set({ ...tokens, version })
    .where('network_id', '=', networkId)
    .execute();
  return version;
}

/**
 * Replaces the tokens only if they are still at `expectedVersion`; false when somebody else
 * replaced them first (their pair wins: ours was refreshed from a token they rotated away).
 */
export async function replaceTokensIfVersion(
  db: Executor,
  networkId: string,
  expectedVersion: number,
  tokens: SealedTokens,
): Promise<boolean> {
  const result = await db
    .updateTable('oauth_tokens')
    .set({ ...tokens, version: expectedVersion + 1 })
    .where('network_id', '=', networkId)
    .where('version', '=', expectedVersion)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function deleteTokens(db: Executor, networkId: string): Promise<void> {
  await db.deleteFrom('oauth_tokens').where('network_id', '=', networkId).execute();
}
