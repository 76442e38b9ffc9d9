/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen: Kysely<any> */
import type { Kysely } from 'kysely';

/**
 * unlinked_remotes: an application unlinked from a network that kept it there, and which
 * application on the network it was linked to. A pull of that network matches the application
 * on the network to it again instead of importing it as a new one (applications/pull). Gone
 * with the local application or the network, and once anything is linked to that remote id
 * (or the application to that network) again.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('unlinked_remotes')
    .addColumn('network_id', 'varchar(36)', (c) =>
      c.notNull().references('networks.id').onDelete('cascade'),
    )
    .addColumn('remote_id', 'varchar(128)', (c) => c.notNull())
    .addColumn('application_id', 'varchar(36)', (c) =>
      c.notNull().references('applications.id').onDelete('cascade'),
    )
    .addColumn('unlinked_at', 'varchar(32)', (c) => c.notNull())
    .addPrimaryKeyConstraint('unlinked_remotes_pk', ['network_id', 'remote_id'])
    .execute();
  await db.schema
    .createIndex('unlinked_remotes_application_idx')
    .on('unlinked_remotes')
    .columns(['application_id', 'network_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('unlinked_remotes').execute();
}
