import type { Db } from '../db/database.js';
import { toCount, type Page } from '../db/paging.js';
import type { ApiKeyRow, NewApiKeyRow } from './api-keys.table.js';
import type { UserWithOrganizationRow } from './users.repository.js';

export async function insertApiKey(db: Db, row: NewApiKeyRow): Promise<void> {
  await db.insertInto('api_keys').values(row).execute();
}

/** The unexpired key with this hash, with the user it acts as. */
export async function findApiKeyUser(
  db: Db,
  keyHash: string,
  now: string,
): Promise<
  | (UserWithOrganizationRow & {
      api_key_id: string;
      last_used_at: string | null;
      expires_at: string | null;
    })
  | undefined
> {
  return db
    .selectFrom('api_keys')
    .innerJoin('users', 'users.id', 'api_keys.user_id')
    .innerJoin('organizations', 'organizations.id', 'users.organization_id')
    .select([
      'api_keys.id as api_key_id',
      'api_keys.last_used_at',
      'api_keys.expires_at',
      'users.id',
      'users.username',
      'users.role',
      'users.organization_id',
      'organizations.name as organization_name',
      'organizations.kind as organization_kind',
      'users.created_at',
    ])
    .where('api_keys.key_hash', '=', keyHash)
    .where((eb) =>
      eb.or([eb('api_keys.expires_at', 'is', null), eb('api_keys.expires_at', '>', now)]),
    )
    .executeTakeFirst();
}

export async function touchApiKey(db: Db, id: string, now: string): Promise<void> {
  await db.updateTable('api_keys').set({ last_used_at: now }).where('id', '=', id).execute();
}

export async function findApiKey(
  db: Db,
  userId: string,
  id: string,
): Promise<ApiKeyRow | undefined> {
  return db
    .selectFrom('api_keys')
    .selectAll()
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function listApiKeys(
  db: Db,
  userId: string,
  page: Page,
): Promise<{ rows: ApiKeyRow[]; total: number }> {
  const [rows, count] = await Promise.all([
    db
      .selectFrom('api_keys')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .limit(page.limit)
      .offset(page.offset)
      .execute(),
    db
      .selectFrom('api_keys')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('user_id', '=', userId)
      .executeTakeFirst(),
  ]);
  return { rows, total: toCount(count?.n) };
}

export async function deleteApiKey(db: Db, userId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('api_keys')
    .where('user_id', '=', userId)
    .where('id', '=', id)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}
