/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen: Kysely<any> */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('oauth_authorizations')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('state_hash', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('network_id', 'varchar(36)', (c) =>
      c.notNull().references('networks.id').onDelete('cascade'),
    )
    .addColumn('user_id', 'varchar(36)', (c) =>
      c.notNull().references('users.id').onDelete('cascade'),
    )
    .addColumn('code_verifier_sealed', 'text', (c) => c.notNull())
    .addColumn('redirect_uri', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('used_at', 'varchar(32)')
    .execute();
  await db.schema
    .createIndex('oauth_authorizations_network_idx')
    .on('oauth_authorizations')
    .column('network_id')
    .execute();

  await db.schema
    .createTable('oauth_tokens')
    .addColumn('network_id', 'varchar(36)', (c) =>
      c.primaryKey().references('networks.id').onDelete('cascade'),
    )
    .addColumn('access_token_sealed', 'text', (c) => c.notNull())
    .addColumn('refresh_token_sealed', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(32)')
    .addColumn('refresh_after', 'varchar(32)')
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('oauth_tokens').execute();
  await db.schema.dropTable('oauth_authorizations').execute();
}
