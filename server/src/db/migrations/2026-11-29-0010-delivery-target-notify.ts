/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen: Kysely<any> */
import { PostgresAdapter, sql, type Kysely } from 'kysely';

/**
 * On PostgreSQL, a changed reporting URL or reporting secret of an application is NOTIFYed on
 * `lpwan_delivery_target` (the application id) at commit: every server process then reads them
 * again before its next delivery (uplinks/delivery.ts), instead of within its 2 s cache.
 */
export async function up(db: Kysely<any>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
  await sql`create function lpwan_notify_delivery_target() returns trigger
    language plpgsql as $$
    begin
      perform pg_notify('lpwan_delivery_target', new.id);
      return new;
    end
    $$`.execute(db);
  await sql`create trigger applications_delivery_target_notify
    after update of reporting_url, reporting_secret_sealed on applications
    for each row
    when (old.reporting_url is distinct from new.reporting_url
      or old.reporting_secret_sealed is distinct from new.reporting_secret_sealed)
    execute function lpwan_notify_delivery_target()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
  await sql`drop trigger applications_delivery_target_notify on applications`.execute(db);
  await sql`drop function lpwan_notify_delivery_target()`.execute(db);
}
