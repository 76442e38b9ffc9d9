/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen: Kysely<any> */
import { sql, type Kysely } from 'kysely';

/**
 * Pull jobs that are taken up again, and one pull per network:
 * - `lease_token`: the run holding the job's lease (a new one at every claim); a run writes only
 *   while the job still carries its token, so a run whose lease was taken over stops;
 * - `cursor_json`: where the run stands (the remote application and device offset), written with
 *   each step, so a run taken up again goes on from there;
 * - at most one queued or running pull per network (a partial unique index). Networks that already
 *   have several keep their oldest one; the others end `failed`.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('jobs').addColumn('lease_token', 'varchar(36)').execute();
  await db.schema.alterTable('jobs').addColumn('cursor_json', 'text').execute();
  const now = new Date().toISOString();
  await sql`update jobs set state = 'failed',
      message = 'Another pull of this network was already queued or running.',
      lease_until = null, finished_at = ${now}, updated_at = ${now}
    where state in ('queued', 'running') and exists (
      select 1 from jobs older
      where older.network_id = jobs.network_id
        and older.state in ('queued', 'running')
        and (older.created_at < jobs.created_at
          or (older.created_at = jobs.created_at and older.id < jobs.id)))`.execute(db);
  await db.schema
    .createIndex('jobs_active_network_idx')
    .unique()
    .on('jobs')
    .column('network_id')
    .where(sql<boolean>`state in ('queued', 'running')`)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('jobs_active_network_idx').execute();
  await db.schema.alterTable('jobs').dropColumn('cursor_json').execute();
  await db.schema.alterTable('jobs').dropColumn('lease_token').execute();
}
