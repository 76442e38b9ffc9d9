/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen: Kysely<any> */
import type { Kysely } from 'kysely';

/**
 * Propagation to linked networks and pull jobs.
 * - sync_tasks: one row per change still to be applied on one network (the push outbox);
 *   claimed by the sync worker through the database, retried with backoff.
 * - jobs / job_errors: pulls from a network, their progress and per-item errors.
 * Link and device ids in sync_tasks carry no foreign key on purpose: a delete must still be
 * propagated after the local rows are gone.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('sync_tasks')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('organization_id', 'varchar(36)', (c) =>
      c.notNull().references('organizations.id').onDelete('cascade'),
    )
    .addColumn('network_id', 'varchar(36)', (c) =>
      c.notNull().references('networks.id').onDelete('cascade'),
    )
    .addColumn('kind', 'varchar(32)', (c) => c.notNull())
    .addColumn('application_link_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('device_id', 'varchar(36)')
    .addColumn('remote_application_id', 'varchar(128)', (c) => c.notNull())
    .addColumn('remote_device_id', 'varchar(128)')
    .addColumn('state', 'varchar(16)', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('lease_until', 'varchar(32)')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('sync_tasks_due_idx')
    .on('sync_tasks')
    .columns(['state', 'next_attempt_at'])
    .execute();
  await db.schema
    .createIndex('sync_tasks_link_idx')
    .on('sync_tasks')
    .columns(['application_link_id', 'kind'])
    .execute();

  await db.schema
    .createTable('jobs')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('organization_id', 'varchar(36)', (c) =>
      c.notNull().references('organizations.id').onDelete('cascade'),
    )
    .addColumn('network_id', 'varchar(36)', (c) =>
      c.notNull().references('networks.id').onDelete('cascade'),
    )
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('state', 'varchar(16)', (c) => c.notNull())
    .addColumn('done', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('total', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('counts_json', 'text', (c) => c.notNull())
    .addColumn('error_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('message', 'text')
    .addColumn('lease_until', 'varchar(32)')
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('started_at', 'varchar(32)')
    .addColumn('finished_at', 'varchar(32)')
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('jobs_state_idx')
    .on('jobs')
    .columns(['state', 'created_at'])
    .execute();

  await db.schema
    .createTable('job_errors')
    .addColumn('job_id', 'varchar(36)', (c) =>
      c.notNull().references('jobs.id').onDelete('cascade'),
    )
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('item', 'varchar(300)', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('job_errors_pk', ['job_id', 'position'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['job_errors', 'jobs', 'sync_tasks']) {
    await db.schema.dropTable(table).execute();
  }
}
