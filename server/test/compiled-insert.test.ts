/**
 * compileInsert (db/compiled.ts): rows go in whole on both dialects — PostgreSQL's batches of
 * 1,000 and SQLite's row-by-row statement — and SQLite's statement runs only in a transaction.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncTaskRow } from '../src/applications/sync/sync.table.js';
import { insertTasks } from '../src/applications/sync/tasks.repository.js';
import { createDatabase, type Db } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { toCount } from '../src/db/paging.js';
import { createTestDatabase, DIALECTS, type TestDatabase } from './harness/database.js';

function task(index: number): SyncTaskRow {
  const now = '2026-11-28T00:00:00.000Z';
  return {
    id: `task-${index}`,
    organization_id: 'org',
    network_id: 'network',
    kind: 'device',
    application_link_id: 'link',
    device_id: index % 2 === 0 ? `device-${index}` : null,
    remote_application_id: 'app',
    remote_device_id: null,
    state: 'queued',
    attempts: index,
    next_attempt_at: now,
    lease_until: null,
    last_error: index === 7 ? 'it\'s "quoted"' : null,
    created_at: now,
    updated_at: now,
  };
}

describe.each(DIALECTS)('compileInsert (%s)', (dialect) => {
  let database: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    db = createDatabase(database.config);
    await migrateToLatest(db);
    // The tasks' organization and network (foreign keys).
    const now = '2026-11-28T00:00:00.000Z';
    await db
      .insertInto('organizations')
      .values({ id: 'org', name: 'Org', kind: 'tenant', created_at: now, updated_at: now })
      .execute();
    await db
      .insertInto('networks')
      .values({
        id: 'network',
        organization_id: 'org',
        protocol_id: 'ttn-v2',
        name: 'Network',
        settings_json: '{}',
        secrets_json: '{}',
        status: 'authorized',
        created_at: now,
        updated_at: now,
      })
      .execute();
  });

  afterAll(async () => {
    await db.destroy();
    await database.drop();
  });

  it('inserts every row with every value, past one batch', async () => {
    const rows = Array.from({ length: 1_001 }, (_, i) => task(i));
    await db.transaction().execute((trx) => insertTasks(trx, rows));
    const count = await db
      .selectFrom('sync_tasks')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    expect(toCount(count.n)).toBe(1_001);
    for (const index of [0, 7, 1_000]) {
      const stored = await db
        .selectFrom('sync_tasks')
        .selectAll()
        .where('id', '=', `task-${index}`)
        .executeTakeFirstOrThrow();
      expect(stored).toEqual(task(index));
    }
  });

  it('inserts nothing for no rows', async () => {
    await db.transaction().execute((trx) => insertTasks(trx, []));
  });

  it.runIf(dialect === 'sqlite')('refuses to run outside a transaction', async () => {
    await expect(insertTasks(db, [task(2_000)])).rejects.toThrow(/not in a transaction/);
  });
});
