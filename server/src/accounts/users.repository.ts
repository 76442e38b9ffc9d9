import type { Db } from '../db/database.js';
import { toCount, type Page } from '../db/paging.js';
import type { NewUserRow, UserRow, UserUpdate } from './users.table.js';

/** A user with the organization facts every answer needs. */
export interface UserWithOrganizationRow {
  id: string;
  username: string;
  role: 'admin' | 'member';
  organization_id: string;
  organization_name: string;
  organization_kind: 'system' | 'tenant';
  created_at: string;
}

function selectUsersWithOrganization(db: Db) {
  return db
    .selectFrom('users')
    .innerJoin('organizations', 'organizations.id', 'users.organization_id')
    .select([
      'users.id',
      'users.username',
      'users.role',
      'users.organization_id',
      'organizations.name as organization_name',
      'organizations.kind as organization_kind',
      'users.created_at',
    ]);
}

export async function insertUser(db: Db, row: NewUserRow): Promise<void> {
  await db.insertInto('users').values(row).execute();
}

export async function findUserWithOrganization(
  db: Db,
  id: string,
): Promise<UserWithOrganizationRow | undefined> {
  return selectUsersWithOrganization(db).where('users.id', '=', id).executeTakeFirst();
}

export async function findUserPasswordHash(db: Db, id: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('users')
    .select('password_hash')
    .where('id', '=', id)
    .executeTakeFirst();
  return row?.password_hash;
}

export async function findUserByUsername(db: Db, username: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
}

export async function listUsersWithOrganization(
  db: Db,
  filter: { organizationId?: string },
  page: Page,
): Promise<{ rows: UserWithOrganizationRow[]; total: number }> {
  let rows = selectUsersWithOrganization(db);
  let count = db.selectFrom('users').select((eb) => eb.fn.countAll().as('n'));
  if (filter.organizationId !== undefined) {
    rows = rows.where('users.organization_id', '=', filter.organizationId);
    count = count.where('users.organization_id', '=', filter.organizationId);
  }
  const [items, total] = await Promise.all([
    rows.orderBy('users.username').limit(page.limit).offset(page.offset).execute(),
    count.executeTakeFirst(),
  ]);
  return { rows: items, total: toCount(total?.n) };
}

export async function countUsers(db: Db): Promise<number> {
  const row = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirst();
  return toCount(row?.n);
}

export async function updateUser(db: Db, id: string, update: UserUpdate): Promise<boolean> {
  const result = await db.updateTable('users').set(update).where('id', '=', id).executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function deleteUser(db: Db, id: string): Promise<boolean> {
  const result = await db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
