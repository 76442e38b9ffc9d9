/**
 * Migration 0008 takes the foreign keys off uplinks and deliveries. On SQLite it builds both
 * tables again: every row and index must come through, and the checks must be gone.
 */
import { Migrator, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Db } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { migrations } from '../src/db/migrations/index.js';
import { createTestDatabase, DIALECTS, type TestDatabase } from './harness/database.js';

const BEFORE = '2026-11-28-0007-pending-deliveries-index';
const NOW = '2026-11-29T00:00:00.000Z';

describe.each(DIALECTS)('migration 0008 (%s)', (dialect) => {
  let database: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    db = createDatabase(database.config);
    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
    const result = await migrator.migrateTo(BEFORE);
    if (result.error !== undefined) throw result.error;

    const stamps = { created_at: NOW, updated_at: NOW };
    await db
      .insertInto('organizations')
      .values({ id: 'org', name: 'Acme', kind: 'tenant', ...stamps })
      .execute();
    await db
      .insertInto('applications')
      .values({ id: 'app', organization_id: 'org', name: 'Meters', ...stamps })
      .execute();
    await db
      .insertInto('devices')
      .values({
        id: 'dev',
        organization_id: 'org',
        application_id: 'app',
        name: 'Sensor',
        dev_eui: '70B3D57ED0000001',
        activation: 'otaa',
        ...stamps,
      })
      .execute();
    for (const [id, status] of [
      ['u1', 'pending'],
      ['u2', 'delivered'],
      ['u3', 'dead'],
    ] as const) {
      await db
        .insertInto('uplinks')
        .values({
          id,
          application_id: 'app',
          device_id: 'dev',
          network_id: 'net',
          received_at: NOW,
          ingested_at: NOW,
          document: `{"id":"${id}"}`,
        })
        .execute();
      await db
        .insertInto('deliveries')
        .values({
          uplink_id: id,
          application_id: 'app',
          status,
          attempts: 1,
          next_attempt_at: NOW,
          last_status: status === 'delivered' ? 200 : 500,
          last_error: status === 'delivered' ? null : 'HTTP 500',
          created_at: NOW,
          delivered_at: status === 'delivered' ? NOW : null,
          updated_at: NOW,
        })
        .execute();
    }
    expect(await migrateToLatest(db)).toContain('2026-11-29-0008-uplinks-without-foreign-keys');
  });
  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  it('keeps every uplink and delivery as it was', async () => {
    const uplinks = await db.selectFrom('uplinks').selectAll().orderBy('id').execute();
    expect(uplinks.map((u) => [u.id, u.device_id, u.document])).toEqual([
      ['u1', 'dev', '{"id":"u1"}'],
      ['u2', 'dev', '{"id":"u2"}'],
      ['u3', 'dev', '{"id":"u3"}'],
    ]);
    const deliveries = await db.selectFrom('deliveries').selectAll().orderBy('uplink_id').execute();
    expect(deliveries.map((d) => [d.uplink_id, d.status, d.last_status, d.delivered_at])).toEqual([
      ['u1', 'pending', 500, null],
      ['u2', 'delivered', 200, NOW],
      ['u3', 'dead', 500, null],
    ]);
  });

  it('leaves no foreign key on either table, and every index', async () => {
    const foreignKeys =
      dialect === 'sqlite'
        ? await sql<{
            table: string;
          }>`select 'uplinks' as "table" from pragma_foreign_key_list('uplinks')
            union all select 'deliveries' from pragma_foreign_key_list('deliveries')`.execute(db)
        : await sql<{ table: string }>`select conrelid::regclass::text as "table" from pg_constraint
            where contype = 'f' and conrelid in ('uplinks'::regclass, 'deliveries'::regclass)`.execute(
            db,
          );
    expect(foreignKeys.rows).toEqual([]);

    const indexes =
      dialect === 'sqlite'
        ? await sql<{ name: string }>`select name from sqlite_master
            where type = 'index' and tbl_name in ('uplinks', 'deliveries') and sql is not null`.execute(
            db,
          )
        : await sql<{ name: string }>`select indexname as name from pg_indexes
            where tablename in ('uplinks', 'deliveries') and indexname not like '%pkey'`.execute(
            db,
          );
    expect(indexes.rows.map((r) => r.name).sort()).toEqual([
      'deliveries_application_idx',
      'deliveries_dead_idx',
      'deliveries_pending_idx',
      'uplinks_application_idx',
      'uplinks_device_idx',
      'uplinks_ingested_idx',
    ]);
  });

  it('lets the device go without touching its uplinks', async () => {
    await db.deleteFrom('devices').where('id', '=', 'dev').execute();
    const uplinks = await db.selectFrom('uplinks').select('device_id').execute();
    expect(uplinks.map((u) => u.device_id)).toEqual(['dev', 'dev', 'dev']);
  });
});
