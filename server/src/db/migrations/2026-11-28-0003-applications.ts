/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen: Kysely<any> */
import type { Kysely } from 'kysely';

/** Applications and devices, and their links to the networks they are pushed to / pulled from. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('applications')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('organization_id', 'varchar(36)', (c) =>
      c.notNull().references('organizations.id').onDelete('cascade'),
    )
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('reporting_url', 'text')
    .addColumn('reporting_secret_sealed', 'text')
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('applications_organization_idx')
    .on('applications')
    .columns(['organization_id', 'name'])
    .execute();

  await db.schema
    .createTable('devices')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('organization_id', 'varchar(36)', (c) =>
      c.notNull().references('organizations.id').onDelete('cascade'),
    )
    .addColumn('application_id', 'varchar(36)', (c) =>
      c.notNull().references('applications.id').onDelete('cascade'),
    )
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('dev_eui', 'varchar(16)', (c) => c.notNull())
    .addColumn('activation', 'varchar(8)', (c) => c.notNull())
    .addColumn('join_eui', 'varchar(16)')
    .addColumn('app_key_sealed', 'text')
    .addColumn('dev_addr', 'varchar(8)')
    .addColumn('nwk_s_key_sealed', 'text')
    .addColumn('app_s_key_sealed', 'text')
    .addColumn('last_seen_at', 'varchar(32)')
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .addUniqueConstraint('devices_organization_dev_eui_unique', ['organization_id', 'dev_eui'])
    .execute();
  await db.schema
    .createIndex('devices_application_idx')
    .on('devices')
    .columns(['application_id', 'name'])
    .execute();

  await db.schema
    .createTable('application_links')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('application_id', 'varchar(36)', (c) =>
      c.notNull().references('applications.id').onDelete('cascade'),
    )
    .addColumn('network_id', 'varchar(36)', (c) =>
      c.notNull().references('networks.id').onDelete('cascade'),
    )
    .addColumn('remote_id', 'varchar(128)', (c) => c.notNull())
    .addColumn('state', 'varchar(16)', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addColumn('last_attempt_at', 'varchar(32)')
    .addColumn('synced_at', 'varchar(32)')
    .addColumn('access_key_sealed', 'text')
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .addUniqueConstraint('application_links_app_network_unique', ['application_id', 'network_id'])
    .addUniqueConstraint('application_links_network_remote_unique', ['network_id', 'remote_id'])
    .execute();

  await db.schema
    .createTable('device_links')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('device_id', 'varchar(36)', (c) =>
      c.notNull().references('devices.id').onDelete('cascade'),
    )
    .addColumn('application_link_id', 'varchar(36)', (c) =>
      c.notNull().references('application_links.id').onDelete('cascade'),
    )
    .addColumn('remote_id', 'varchar(128)', (c) => c.notNull())
    .addColumn('state', 'varchar(16)', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addColumn('last_attempt_at', 'varchar(32)')
    .addColumn('synced_at', 'varchar(32)')
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .addUniqueConstraint('device_links_device_link_unique', ['device_id', 'application_link_id'])
    .addUniqueConstraint('device_links_link_remote_unique', ['application_link_id', 'remote_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['device_links', 'application_links', 'devices', 'applications']) {
    await db.schema.dropTable(table).execute();
  }
}
