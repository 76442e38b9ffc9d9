/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen: Kysely<any> */
import { sql, type Kysely } from 'kysely';

/**
 * The index of due deliveries covers pending ones only. Marking a delivery delivered (every
 * uplink, once) then removes one index entry instead of moving it within an index of every
 * delivery ever stored; claims ask for `status = 'pending'` literally, so they use it. Dead
 * letters, purged by age, get an index of their own.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('deliveries_due_idx').execute();
  await db.schema
    .createIndex('deliveries_pending_idx')
    .on('deliveries')
    .column('next_attempt_at')
    .where(sql.ref('status'), '=', 'pending')
    .execute();
  await db.schema
    .createIndex('deliveries_dead_idx')
    .on('deliveries')
    .column('updated_at')
    .where(sql.ref('status'), '=', 'dead')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('deliveries_dead_idx').execute();
  await db.schema.dropIndex('deliveries_pending_idx').execute();
  await db.schema
    .createIndex('deliveries_due_idx')
    .on('deliveries')
    .columns(['status', 'next_attempt_at'])
    .execute();
}
