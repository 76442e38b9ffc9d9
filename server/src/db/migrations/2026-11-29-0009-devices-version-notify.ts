/* eslint-disable @typescript-eslint/no-explicit-any -- migrations are frozen: Kysely<any> */
import { PostgresAdapter, sql, type Kysely } from 'kysely';

/**
 * On PostgreSQL, every new `applications.devices_version` and every deleted application is
 * NOTIFYed on `lpwan_devices_version` ("<application id> <version>" or "<application id>
 * deleted"), at commit, whichever statement made it: each server process keeps the versions it
 * has read and moves them with these (applications/devices-version-watch.ts) instead of reading
 * the version for every device list request. SQLite (one process, a local read) needs none.
 */
export async function up(db: Kysely<any>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
  await sql`create function lpwan_notify_devices_version() returns trigger
    language plpgsql as $$
    begin
      if tg_op = 'DELETE' then
        perform pg_notify('lpwan_devices_version', old.id || ' deleted');
        return old;
      end if;
      if new.devices_version is distinct from old.devices_version then
        perform pg_notify('lpwan_devices_version', new.id || ' ' || new.devices_version);
      end if;
      return new;
    end
    $$`.execute(db);
  await sql`create trigger applications_devices_version_notify
    after update of devices_version or delete on applications
    for each row execute function lpwan_notify_devices_version()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
  await sql`drop trigger applications_devices_version_notify on applications`.execute(db);
  await sql`drop function lpwan_notify_devices_version()`.execute(db);
}
