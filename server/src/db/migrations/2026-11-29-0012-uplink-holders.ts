/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen: Kysely<any> */
import type { Kysely } from 'kysely';

/**
 * uplink_holders: the server processes that take uplink subscriptions, each with the time it
 * was last seen. A process counts them to know its fair share of the subscriptions, and hands
 * over what it holds beyond it (uplinks/subscriptions.ts).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('uplink_holders')
    .addColumn('holder', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('seen_at', 'varchar(32)', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('uplink_holders').execute();
}
