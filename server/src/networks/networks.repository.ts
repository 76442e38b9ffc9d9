import type { Db } from '../db/database.js';
import { toCount, type Page } from '../db/paging.js';
import type { NetworkRow, NetworkUpdate, NewNetworkRow } from './networks.table.js';

export async function insertNetwork(db: Db, row: NewNetworkRow): Promise<void> {
  await db.insertInto('networks').values(row).execute();
}

/** A network of the given organization; another organization's network is not found. */
export async function findNetwork(
  db: Db,
  organizationId: string,
  id: string,
): Promise<NetworkRow | undefined> {
  return db
    .selectFrom('networks')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/** Unscoped lookup for server-internal work (OAuth callbacks, workers); never for API answers. */
export async function findNetworkById(db: Db, id: string): Promise<NetworkRow | undefined> {
  return db.selectFrom('networks').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listNetworks(
  db: Db,
  organizationId: string,
  page: Page,
): Promise<{ rows: NetworkRow[]; total: number }> {
  const [rows, count] = await Promise.all([
    db
      .selectFrom('networks')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .orderBy('name')
      .orderBy('id')
      .limit(page.limit)
      .offset(page.offset)
      .execute(),
    db
      .selectFrom('networks')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('organization_id', '=', organizationId)
      .executeTakeFirst(),
  ]);
  return { rows, total: toCount(count?.n) };
}

export async function updateNetwork(
  db: Db,
  organizationId: string,
  id: string,
  update: NetworkUpdate,
): Promise<boolean> {
  const result = await db
    .updateTable('networks')
    .set(update)
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Status and linked-account facts, written by the OAuth and sync work. */
export async function updateNetworkStatusById(
  db: Db,
  id: string,
  update: NetworkUpdate,
): Promise<boolean> {
  const result = await db
    .updateTable('networks')
    .set(update)
    .where('id', '=', id)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function deleteNetwork(db: Db, organizationId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('networks')
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}
