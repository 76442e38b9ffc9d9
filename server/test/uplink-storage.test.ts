/**
 * The uplink storage: on an SQLite file, the uplink path's SQL runs on a thread with its own
 * connection, while the app's connection keeps writing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nowIso } from '../src/clock.js';
import { createUplinkStorage, type UplinkStorage } from '../src/uplinks/uplink-storage.js';
import { createTenant, startTestApp, type TestApp } from './harness/app.js';
import { createApplicationReportingNowhere, uplinkRows } from './uplinks-fixture.js';

describe('uplink storage on an SQLite file', () => {
  let t: TestApp;
  let storage: UplinkStorage;
  let applicationId: string;

  beforeAll(async () => {
    t = await startTestApp('sqlite');
    storage = createUplinkStorage({ db: t.db, config: t.config.database, log: t.app.log });
    const { admin } = await createTenant(t, 'Acme');
    applicationId = await createApplicationReportingNowhere(t, admin.token, 'Meters');
  });
  afterAll(async () => {
    await storage?.close();
    await t?.close();
  });

  const uplink = () => uplinkRows(applicationId, 1)[0]!;

  it("stores from its thread while the app's connection runs transactions that read, then write", async () => {
    // A transaction that reads, then (after the thread may have committed) writes: with a
    // deferred BEGIN, SQLite refuses its write (SQLITE_BUSY_SNAPSHOT).
    const readThenWrite = () =>
      t.db.transaction().execute(async (trx) => {
        await trx.selectFrom('applications').select('id').execute();
        await new Promise((r) => setTimeout(r, 5));
        await trx
          .updateTable('applications')
          .set({ updated_at: nowIso() })
          .where('id', '=', applicationId)
          .execute();
      });
    // The thread is started (and its first write done) before the race.
    await storage.run('insertUplinks', 'sqlite', [uplink()]);
    const stores = Array.from({ length: 50 }, () =>
      storage.run('insertUplinks', 'sqlite', [uplink(), uplink()]),
    );
    const transactions = Array.from({ length: 50 }, readThenWrite);
    const stored = await Promise.all(stores);
    await Promise.all(transactions);
    expect(stored.flatMap((s) => s.stored)).toHaveLength(100);

    const deliveries = await t.db
      .selectFrom('deliveries')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('application_id', '=', applicationId)
      .executeTakeFirstOrThrow();
    expect(Number(deliveries.n)).toBe(101);
  });

  it("answers a failed call with the database's error, and refuses calls once closed", async () => {
    // An uplink with no document breaks a NOT NULL constraint.
    const broken = { ...uplink(), document: null as unknown as string };
    await expect(storage.run('insertUplinks', 'sqlite', [broken])).rejects.toThrow(/NOT NULL/);
    // The thread goes on answering.
    const ok = await storage.run('insertUplinks', 'sqlite', [uplink()]);
    expect(ok.stored).toHaveLength(1);

    const closing = createUplinkStorage({ db: t.db, config: t.config.database, log: t.app.log });
    expect(await closing.run('findEndpoint', applicationId)).toBeUndefined();
    await closing.close();
    await expect(closing.run('findEndpoint', applicationId)).rejects.toThrow(/closed/);
  });
});
