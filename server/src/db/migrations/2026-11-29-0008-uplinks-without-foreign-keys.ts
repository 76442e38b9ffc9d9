/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen: Kysely<any> */
import { PostgresAdapter, sql, type Kysely } from 'kysely';

/**
 * Uplinks and deliveries lose their foreign keys. They are written hundreds of times a second,
 * and on PostgreSQL the four checks (application and device of an uplink, uplink and
 * application of a delivery) were more than half of the cost of storing a batch. What they did
 * is now done by the code that deletes: an application's or organization's uplinks and
 * deliveries go with it, a deleted device's uplinks keep no device, a purged uplink takes its
 * delivery along (uplinks.repository.ts).
 *
 * PostgreSQL drops the constraints. SQLite cannot: both tables are built again without them,
 * their rows copied, in one transaction.
 */
export async function up(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`alter table deliveries
      drop constraint deliveries_uplink_id_fkey,
      drop constraint deliveries_application_id_fkey`.execute(db);
    await sql`alter table uplinks
      drop constraint uplinks_application_id_fkey,
      drop constraint uplinks_device_id_fkey`.execute(db);
    return;
  }
  await db.transaction().execute(async (trx) => {
    await trx.schema
      .createTable('uplinks_rebuilt')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('application_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('device_id', 'varchar(36)')
      .addColumn('network_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('received_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('ingested_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('document', 'text', (c) => c.notNull())
      .execute();
    await trx.schema
      .createTable('deliveries_rebuilt')
      .addColumn('uplink_id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('application_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('next_attempt_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('last_status', 'integer')
      .addColumn('last_error', 'text')
      .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('delivered_at', 'varchar(32)')
      .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
      .execute();
    await sql`insert into uplinks_rebuilt select id, application_id, device_id, network_id,
      received_at, ingested_at, document from uplinks`.execute(trx);
    await sql`insert into deliveries_rebuilt select uplink_id, application_id, status, attempts,
      next_attempt_at, last_status, last_error, created_at, delivered_at, updated_at
      from deliveries`.execute(trx);
    // Deliveries first: dropping uplinks while deliveries referenced them would delete those.
    await trx.schema.dropTable('deliveries').execute();
    await trx.schema.dropTable('uplinks').execute();
    await trx.schema.alterTable('uplinks_rebuilt').renameTo('uplinks').execute();
    await trx.schema.alterTable('deliveries_rebuilt').renameTo('deliveries').execute();
    await createIndexes(trx);
  });
}

/** The indexes of migrations 0005 and 0007, which went with the old tables. */
async function createIndexes(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex('uplinks_application_idx')
    .on('uplinks')
    .columns(['application_id', 'ingested_at'])
    .execute();
  await db.schema
    .createIndex('uplinks_device_idx')
    .on('uplinks')
    .columns(['device_id', 'ingested_at'])
    .execute();
  await db.schema.createIndex('uplinks_ingested_idx').on('uplinks').column('ingested_at').execute();
  await db.schema
    .createIndex('deliveries_application_idx')
    .on('deliveries')
    .columns(['application_id', 'status'])
    .execute();
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

/**
 * PostgreSQL: puts the constraints back, after removing the rows whose parent is gone. SQLite
 * would need the tables built again: it cannot go back.
 */
export async function down(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`delete from deliveries d where not exists
      (select 1 from uplinks u where u.id = d.uplink_id)`.execute(db);
    await sql`delete from uplinks u where not exists
      (select 1 from applications a where a.id = u.application_id)`.execute(db);
    await sql`update uplinks u set device_id = null where device_id is not null and not exists
      (select 1 from devices v where v.id = u.device_id)`.execute(db);
    await sql`alter table uplinks
      add constraint uplinks_application_id_fkey foreign key (application_id)
        references applications (id) on delete cascade,
      add constraint uplinks_device_id_fkey foreign key (device_id)
        references devices (id) on delete set null`.execute(db);
    await sql`alter table deliveries
      add constraint deliveries_uplink_id_fkey foreign key (uplink_id)
        references uplinks (id) on delete cascade,
      add constraint deliveries_application_id_fkey foreign key (application_id)
        references applications (id) on delete cascade`.execute(db);
    return;
  }
  throw new Error('migration 0008 cannot be undone on SQLite: restore a backup instead');
}
