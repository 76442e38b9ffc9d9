import type { Db } from '../db/database.js';
import { toCount, type Page } from '../db/paging.js';
import type {
  NewOrganizationRow,
  OrganizationRow,
  OrganizationUpdate,
} from './organizations.table.js';

export async function insertOrganization(db: Db, row: NewOrganizationRow): Promise<void> {
  await db.insertInto('organizations').values(row).execute();
}

export async function findOrganization(db: Db, id: string): Promise<OrganizationRow | undefined> {
  return db.selectFrom('organizations').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findSystemOrganization(db: Db): Promise<OrganizationRow | undefined> {
  return db
    .selectFrom('organizations')
    .selectAll()
    .where('kind', '=', 'system')
    .orderBy('created_at')
    .executeTakeFirst();
}

export async function listOrganizations(
  db: Db,
  page: Page,
): Promise<{ rows: OrganizationRow[]; total: number }> {
  const [rows, count] = await Promise.all([
    db
      .selectFrom('organizations')
      .selectAll()
      .orderBy('name')
      .orderBy('id')
      .limit(page.limit)
      .offset(page.offset)
      .execute(),
    db
      .selectFrom('organizations')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirst(),
  ]);
  return { rows, total: toCount(count?.n) };
}

export async function updateOrganization(
  db: Db,
  id: string,
  update: OrganizationUpdate,
): Promise<boolean> {
  const result = await db
    .updateTable('organizations')
    .set(update)
    .where('id', '=', id)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function deleteOrganization(db: Db, id: string): Promise<boolean> {
  const result = await db.deleteFrom('organizations').where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
