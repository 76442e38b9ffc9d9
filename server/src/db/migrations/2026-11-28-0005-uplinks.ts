/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen: Kysely<any> */
import type { Kysely } from 'kysely';

/**
 * Uplinks and their delivery.
 * - uplinks: each received uplink as its normalized document (the exact bytes that are POSTed),
 *   keyed by a message id derived from the network's message, so a message received twice
 *   (MQTT redelivery, two subscribers for a moment) is stored once.
 * - deliveries: the outbox, one row per uplink of an application with a reporting URL.
 * - delivery_endpoints: per application, the health of its reporting URL (backoff shared by
 *   all its deliveries, last success, last error).
 * - uplink_leases: which server process holds the MQTT subscription of an application link.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('uplinks')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('application_id', 'varchar(36)', (c) =>
      c.notNull().references('applications.id').onDelete('cascade'),
    )
    .addColumn('device_id', 'varchar(36)', (c) => c.references('devices.id').onDelete('set null'))
    .addColumn('network_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('received_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('ingested_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('document', 'text', (c) => c.notNull())
    .execute();
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
    .createTable('deliveries')
    .addColumn('uplink_id', 'varchar(36)', (c) =>
      c.primaryKey().references('uplinks.id').onDelete('cascade'),
    )
    .addColumn('application_id', 'varchar(36)', (c) =>
      c.notNull().references('applications.id').onDelete('cascade'),
    )
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('last_status', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('delivered_at', 'varchar(32)')
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('deliveries_due_idx')
    .on('deliveries')
    .columns(['status', 'next_attempt_at'])
    .execute();
  await db.schema
    .createIndex('deliveries_application_idx')
    .on('deliveries')
    .columns(['application_id', 'status'])
    .execute();

  await db.schema
    .createTable('delivery_endpoints')
    .addColumn('application_id', 'varchar(36)', (c) =>
      c.primaryKey().references('applications.id').onDelete('cascade'),
    )
    .addColumn('consecutive_failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('blocked_until', 'varchar(32)')
    .addColumn('last_success_at', 'varchar(32)')
    .addColumn('last_error', 'text')
    .addColumn('last_error_at', 'varchar(32)')
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('uplink_leases')
    .addColumn('application_link_id', 'varchar(36)', (c) =>
      c.primaryKey().references('application_links.id').onDelete('cascade'),
    )
    .addColumn('holder', 'varchar(64)', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('state', 'varchar(16)', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addColumn('since', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['uplink_leases', 'delivery_endpoints', 'deliveries', 'uplinks']) {
    await db.schema.dropTable(table).execute();
  }
}
