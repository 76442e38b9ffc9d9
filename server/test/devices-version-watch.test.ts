/**
 * On PostgreSQL, device lists are checked against devices versions each process knows from
 * LISTEN/NOTIFY (applications/devices-version-watch.ts) instead of reading the version for
 * every request. What must hold: another process's write shows within a notification's time
 * (well under the five seconds a known version is trusted without one), a process reads its own
 * writes at once, a deleted application is gone, and lost notifications fall back to reading
 * the database. The watch itself is checked against real notifications too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import pino from 'pino';
import type { Db } from '../src/db/database.js';
import { PgNotifications } from '../src/db/pg-notifications.js';
import { generateKey } from '../src/crypto/key-ring.js';
import {
  DEVICES_VERSION_CHANNEL,
  DevicesVersionWatch,
} from '../src/applications/devices-version-watch.js';
import { createTenant, startTestApp, type SignedIn, type TestApp } from './harness/app.js';
import { createTestDatabase, type TestDatabase } from './harness/database.js';

/** How long to wait for a notification: well under the 5 s a known version is trusted without one. */
const NOTIFIED = { timeout: 2_000, interval: 20 };

/** The backends listening for devices versions in the test's database. */
async function listenerPids(db: Db, database: TestDatabase): Promise<number[]> {
  const { rows } = await sql<{ pid: number }>`select pid from pg_stat_activity
    where query ilike ${`LISTEN ${DEVICES_VERSION_CHANNEL}%`}
      and datname = ${new URL(database.url!).pathname.slice(1)}`.execute(db);
  return rows.map((r) => r.pid);
}

/** Ends a backend as a lost connection would. */
async function terminate(db: Db, pid: number): Promise<void> {
  await sql`select pg_terminate_backend(${pid})`.execute(db);
}

describe('device lists on PostgreSQL, two server processes', () => {
  let database: TestDatabase;
  let a: TestApp;
  let b: TestApp;
  let atA: SignedIn;
  let atB: SignedIn;
  let applicationId: string;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    const secretKey = generateKey();
    a = await startTestApp('postgres', { database, secretKey });
    b = await startTestApp('postgres', { database, secretKey });
    const { admin } = await createTenant(a, 'Acme');
    atA = admin;
    atB = await b.signIn('acme-admin', 'admin-password-1');
    const app = await a.request('POST', '/api/applications', {
      token: atA.token,
      body: { name: 'Meters' },
    });
    applicationId = (app.json() as { id: string }).id;
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await database?.drop();
  });

  const addDevice = (t: TestApp, token: string, name: string, devEui: string) =>
    t.request('POST', `/api/applications/${applicationId}/devices`, {
      token,
      body: {
        name,
        devEui,
        joinEui: '70B3D57ED0000000',
        appKey: '00112233445566778899AABBCCDDEEFF',
      },
    });
  const names = async (t: TestApp, token: string) => {
    const res = await t.request('GET', `/api/applications/${applicationId}/devices?limit=100`, {
      token,
    });
    if (res.statusCode !== 200) return res.statusCode;
    return (res.json() as { items: { name: string }[] }).items.map((d) => d.name).sort();
  };

  it("shows another process's writes as soon as they are notified", async () => {
    expect((await addDevice(a, atA.token, 'one', '0000000000000001')).statusCode).toBe(201);
    expect(await names(b, atB.token)).toEqual(['one']);
    // B now knows the version and answers from its cache; A's next write moves it.
    expect(await names(b, atB.token)).toEqual(['one']);
    expect((await addDevice(a, atA.token, 'two', '0000000000000002')).statusCode).toBe(201);
    await expect.poll(() => names(b, atB.token), NOTIFIED).toEqual(['one', 'two']);
    // So does a write by any statement that raises the version (the uplinks feature raises it
    // in SQL of its own): the trigger notifies whatever the writer.
    await a.db.transaction().execute(async (trx) => {
      await trx.updateTable('devices').set({ name: 'renamed' }).where('name', '=', 'one').execute();
      await trx
        .updateTable('applications')
        .set((eb) => ({ devices_version: eb('devices_version', '+', 1) }))
        .where('id', '=', applicationId)
        .execute();
    });
    await expect.poll(() => names(b, atB.token), NOTIFIED).toContain('renamed');
  });

  it('reads its own writes at once', async () => {
    for (let i = 0; i < 20; i++) {
      const name = `own-${String(i).padStart(2, '0')}`;
      const devEui = `00000000000001${String(i).padStart(2, '0')}`;
      expect((await addDevice(b, atB.token, name, devEui)).statusCode).toBe(201);
      expect(await names(b, atB.token)).toContain(name);
    }
  });

  it('falls back to the database while the notifications are lost, and listens again', async () => {
    expect(await names(b, atB.token)).toContain('two');
    const listeners = () => listenerPids(a.db, database);
    expect(await listeners()).toHaveLength(2);
    for (const pid of await listeners()) await terminate(a.db, pid);
    expect((await addDevice(a, atA.token, 'while-deaf', '0000000000000003')).statusCode).toBe(201);
    // Nothing known is trusted: the list is read from the database.
    expect(await names(b, atB.token)).toContain('while-deaf');
    // Both listen again (after half a second), and notifications work again.
    await expect.poll(listeners, { timeout: 10_000, interval: 50 }).toHaveLength(2);
    expect(await names(b, atB.token)).toContain('while-deaf');
    expect((await addDevice(a, atA.token, 'heard', '0000000000000004')).statusCode).toBe(201);
    await expect.poll(() => names(b, atB.token), NOTIFIED).toContain('heard');
  });

  it('answers 404 for a deleted application, in the deleting process at once', async () => {
    expect(await names(b, atB.token)).toContain('heard');
    const res = await a.request('DELETE', `/api/applications/${applicationId}`, {
      token: atA.token,
    });
    expect(res.statusCode).toBe(204);
    expect(await names(a, atA.token)).toBe(404);
    await expect.poll(() => names(b, atB.token), NOTIFIED).toBe(404);
  });
});

describe('DevicesVersionWatch', () => {
  let database: TestDatabase;
  let app: TestApp;
  let notifications: PgNotifications;
  let watch: DevicesVersionWatch;
  let clock = 1_000_000;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    app = await startTestApp('postgres', { database });
    notifications = new PgNotifications(database.url!, pino({ level: 'silent' }));
    watch = new DevicesVersionWatch(notifications, () => clock);
    await notifications.start();
  });
  afterAll(async () => {
    await notifications?.stop();
    await app?.close();
    await database?.drop();
  });

  const notify = (payload: string) =>
    app.db
      .selectNoFrom((eb) =>
        eb.fn('pg_notify', [eb.val(DEVICES_VERSION_CHANNEL), eb.val(payload)]).as('sent'),
      )
      .execute();

  it('keeps versions read for their organization, moved up by notifications', async () => {
    watch.remember(watch.beginRead(), 'org-1', 'app-1', 3);
    expect(watch.versionOf('org-1', 'app-1')).toBe(3);
    expect(watch.versionOf('org-2', 'app-1')).toBeUndefined();
    await notify('app-1 5');
    await handled();
    expect(watch.versionOf('org-1', 'app-1')).toBe(5);
    // A late answer of an earlier read does not lower it.
    watch.remember(watch.beginRead(), 'org-1', 'app-1', 4);
    expect(watch.versionOf('org-1', 'app-1')).toBe(5);
  });

  /** Resolves once every notification sent before has been handled (they arrive in order). */
  const handled = async () => {
    const marker = `marker-${clock++}`;
    watch.remember(watch.beginRead(), 'org-1', marker, 1);
    await notify(`${marker} 2`);
    await expect.poll(() => watch.versionOf('org-1', marker), NOTIFIED).toBe(2);
  };

  it('raises a read to a version notified before it was answered', async () => {
    const read = watch.beginRead();
    await notify('app-2 9');
    await handled();
    watch.remember(read, 'org-1', 'app-2', 8);
    expect(watch.versionOf('org-1', 'app-2')).toBe(9);
  });

  it('forgets deleted applications, and trusts nothing for longer than five seconds unconfirmed', async () => {
    watch.remember(watch.beginRead(), 'org-1', 'app-3', 1);
    await notify('app-3 deleted');
    await handled();
    expect(watch.versionOf('org-1', 'app-3')).toBeUndefined();
    watch.remember(watch.beginRead(), 'org-1', 'app-3', 2);
    expect(watch.versionOf('org-1', 'app-3')).toBeUndefined();

    watch.remember(watch.beginRead(), 'org-1', 'app-4', 1);
    clock += 5_001;
    expect(watch.versionOf('org-1', 'app-4')).toBeUndefined();
    watch.remember(watch.beginRead(), 'org-1', 'app-4', 1);
    expect(watch.versionOf('org-1', 'app-4')).toBe(1);
  });

  it('keeps no read begun before its connection was lost', async () => {
    const read = watch.beginRead();
    for (const pid of await listenerPids(app.db, database)) await terminate(app.db, pid);
    await expect.poll(() => watch.beginRead(), NOTIFIED).toBe(-1);
    expect(watch.versionOf('org-1', 'app-1')).toBeUndefined();
    await expect.poll(() => watch.beginRead(), { timeout: 10_000, interval: 50 }).not.toBe(-1);
    watch.remember(read, 'org-1', 'app-5', 1);
    expect(watch.versionOf('org-1', 'app-5')).toBeUndefined();
    watch.remember(watch.beginRead(), 'org-1', 'app-5', 1);
    expect(watch.versionOf('org-1', 'app-5')).toBe(1);
  });
});
