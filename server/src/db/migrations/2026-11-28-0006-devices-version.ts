/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen: Kysely<any> */
import type { Kysely } from 'kysely';

/**
 * applications.devices_version: a counter that every write to an application's devices raises
 * in the same transaction. The device list answers are cached per process and checked against
 * it, so a list read by one process reflects a write made by any other.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('applications')
    .addColumn('devices_version', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('applications').dropColumn('devices_version').execute();
}
