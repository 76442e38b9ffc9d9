import type { Db } from '../db/database.js';
import type { SystemValueRow } from './system-values.table.js';

export async function findSystemValue(db: Db, name: string): Promise<SystemValueRow | undefined> {
  return db.selectFrom('system_values').selectAll().where('name', '=', name).executeTakeFirst();
}

/** Insert unless present (several instances may start at once). */
export async function insertSystemValueIfAbsent(
  db: Db,
  name: string,
  value: string,
  now: string,
): Promise<void> {
  await db
    .insertInto('system_values')
    .values({ name, value, updated_at: now })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
}

export async function replaceSystemValue(
  db: Db,
  name: string,
  expected: string,
  value: string,
  now: string,
): Promise<void> {
  await db
    .updateTable('system_values')
    .set({ value, updated_at: now })
    .where('name', '=', name)
    .where('value', '=', expected)
    .execute();
}
