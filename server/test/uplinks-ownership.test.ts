/**
 * Uplinks and deliveries have no foreign keys (migration 0008): what cascaded before is done by
 * the deletions themselves. An application's or organization's uplinks and deliveries go with
 * it, a deleted device's uplinks stay with no device, and the retention purges take the
 * deliveries along with their uplinks.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  insertUplinks,
  markDelivered,
  markFailed,
  purgeDeadLetters,
  purgeDelivered,
} from '../src/uplinks/uplinks.repository.js';
import { createTenant, startTestApp, type SignedIn, type TestApp } from './harness/app.js';
import { DIALECTS } from './harness/database.js';
import { createApplicationReportingNowhere, uplinkRows } from './uplinks-fixture.js';

describe.each(DIALECTS)('what goes with deleted owners (%s)', (dialect) => {
  let t: TestApp;
  let root: SignedIn;

  beforeAll(async () => {
    t = await startTestApp(dialect);
    root = await t.signIn(t.adminUsername, t.adminPassword);
  });
  afterAll(async () => {
    await t?.close();
  });

  const createApplication = (admin: SignedIn): Promise<string> =>
    createApplicationReportingNowhere(t, admin.token, `App ${randomUUID()}`);

  const createDevice = async (admin: SignedIn, applicationId: string): Promise<string> => {
    const res = await t.request('POST', `/api/applications/${applicationId}/devices`, {
      token: admin.token,
      body: {
        name: 'Sensor',
        devEui: randomUUID().replaceAll('-', '').slice(0, 16).toUpperCase(),
        joinEui: '70B3D57ED0000000',
        appKey: '00112233445566778899AABBCCDDEEFF',
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    return (res.json() as { id: string }).id;
  };

  /** Stores `n` uplinks of the application (each gets a pending delivery); returns their ids. */
  const store = async (
    applicationId: string,
    n: number,
    options: { deviceId?: string; ingestedAt?: string } = {},
  ): Promise<string[]> => {
    const rows = uplinkRows(applicationId, n, {
      deviceId: options.deviceId,
      at: options.ingestedAt,
    });
    await insertUplinks(t.db, dialect, rows);
    return rows.map((r) => r.id);
  };

  const counts = async (applicationId: string) => {
    const uplinks = await t.db
      .selectFrom('uplinks')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('application_id', '=', applicationId)
      .executeTakeFirstOrThrow();
    const deliveries = await t.db
      .selectFrom('deliveries')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('application_id', '=', applicationId)
      .executeTakeFirstOrThrow();
    return { uplinks: Number(uplinks.n), deliveries: Number(deliveries.n) };
  };

  it("deleting an application deletes its uplinks and deliveries, and no other application's", async () => {
    const { admin } = await createTenant(t, `Acme ${dialect} apps`);
    const doomed = await createApplication(admin);
    const kept = await createApplication(admin);
    await store(doomed, 3);
    await store(kept, 2);
    expect(await counts(doomed)).toEqual({ uplinks: 3, deliveries: 3 });

    const res = await t.request('DELETE', `/api/applications/${doomed}`, { token: admin.token });
    expect(res.statusCode, res.body).toBe(204);
    expect(await counts(doomed)).toEqual({ uplinks: 0, deliveries: 0 });
    expect(await counts(kept)).toEqual({ uplinks: 2, deliveries: 2 });
  });

  it('deleting a device keeps its uplinks, with no device', async () => {
    const { admin } = await createTenant(t, `Acme ${dialect} devices`);
    const applicationId = await createApplication(admin);
    const deviceId = await createDevice(admin, applicationId);
    const ids = await store(applicationId, 2, { deviceId });

    const res = await t.request(
      'DELETE',
      `/api/applications/${applicationId}/devices/${deviceId}`,
      {
        token: admin.token,
      },
    );
    expect(res.statusCode, res.body).toBe(204);
    const rows = await t.db
      .selectFrom('uplinks')
      .select(['id', 'device_id'])
      .where('id', 'in', ids)
      .execute();
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => r.device_id)).toEqual([null, null]);
  });

  it('deleting an organization deletes the uplinks and deliveries of its applications', async () => {
    const doomed = await createTenant(t, `Doomed ${dialect}`);
    const kept = await createTenant(t, `Kept ${dialect}`);
    const doomedApps = [
      await createApplication(doomed.admin),
      await createApplication(doomed.admin),
    ];
    const keptApp = await createApplication(kept.admin);
    for (const app of doomedApps) await store(app, 2);
    await store(keptApp, 1);

    const res = await t.request('DELETE', `/api/organizations/${doomed.organizationId}`, {
      token: root.token,
    });
    expect(res.statusCode, res.body).toBe(204);
    for (const app of doomedApps) expect(await counts(app)).toEqual({ uplinks: 0, deliveries: 0 });
    expect(await counts(keptApp)).toEqual({ uplinks: 1, deliveries: 1 });
  });

  it('purges take the deliveries along, and leave pending ones', async () => {
    const { admin } = await createTenant(t, `Acme ${dialect} purges`);
    const applicationId = await createApplication(admin);
    const old = new Date(Date.now() - 3_600_000).toISOString();
    const [delivered, dead, pending] = [
      await store(applicationId, 3, { ingestedAt: old }),
      await store(applicationId, 2, { ingestedAt: old }),
      await store(applicationId, 1, { ingestedAt: old }),
    ];
    await markDelivered(
      t.db,
      dialect,
      delivered!.map((uplinkId) => ({ uplinkId, status: 200 })),
      old,
    );
    await markFailed(
      t.db,
      dialect,
      dead!,
      { status: 'dead', nextAttemptAt: old, lastStatus: 500, lastError: 'HTTP 500' },
      old,
    );

    const cutoff = new Date().toISOString();
    expect(await purgeDelivered(t.db, cutoff, 100)).toBe(3);
    expect(await counts(applicationId)).toEqual({ uplinks: 3, deliveries: 3 });
    expect(await purgeDeadLetters(t.db, cutoff, 100)).toBe(2);
    expect(await counts(applicationId)).toEqual({ uplinks: 1, deliveries: 1 });
    const left = await t.db
      .selectFrom('deliveries')
      .select('uplink_id')
      .where('application_id', '=', applicationId)
      .execute();
    expect(left.map((r) => r.uplink_id)).toEqual(pending);
  });
});
