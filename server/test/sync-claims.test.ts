/**
 * Claiming sync tasks when several server processes share the database: the tasks of one
 * application link run one at a time (a claim leaves out every link with a task running
 * anywhere), and a worker acts on a task only while it holds the lease it was given.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueNewTasks } from '../src/applications/sync/enqueue.js';
import type { SyncTaskRow } from '../src/applications/sync/sync.table.js';
import {
  claimDueTasks,
  deleteTask,
  renewTask,
  rescheduleTask,
} from '../src/applications/sync/tasks.repository.js';
import { createTenant, startTestApp, type TestApp } from './harness/app.js';
import { DIALECTS } from './harness/database.js';
import { startTtn, type Ttn } from './harness/ttn.js';
import { appWithDevices, callApi, linkedTtnNetwork, linksOf } from './sync.harness.js';

describe.each(DIALECTS)('claiming sync tasks (%s)', (dialect) => {
  let t: TestApp;
  let ttn: Ttn;
  /** Link id → its application's id and devices. */
  const linked = new Map<string, { appId: string; deviceIds: string[] }>();
  let organizationId: string;
  let networkId: string;

  beforeAll(async () => {
    // No workers run: the tests claim as the workers of two processes would.
    t = await startTestApp(dialect);
    ttn = await startTtn(`${t.config.publicUrl}/oauth/callback`);
    const tenant = await createTenant(t, 'Acme');
    organizationId = tenant.organizationId;
    networkId = await linkedTtnNetwork(t, tenant.admin, ttn);
    for (const [name, prefix] of [
      ['North', '70B3D57ED00071'],
      ['South', '70B3D57ED00072'],
    ] as const) {
      const app = await appWithDevices(t, tenant.admin.token, name, 2, prefix, [
        '00112233445566778899AABBCCDDEE01',
        '00112233445566778899AABBCCDDEE02',
      ]);
      await callApi(t, tenant.admin.token, 'POST', `/api/applications/${app.id}/links`, {
        networkId,
      });
      const [link] = await linksOf(t, tenant.admin.token, app.id);
      linked.set(link!.id, { appId: app.id, deviceIds: app.devices.map((d) => d.id) });
    }
    // Each link has its application task; add its device tasks, as its first push would.
    for (const [linkId, { deviceIds }] of linked) {
      await t.db.transaction().execute((trx) =>
        queueNewTasks(
          trx,
          'device',
          deviceIds.map((deviceId, i) => ({
            organizationId,
            networkId,
            applicationLinkId: linkId,
            remoteApplicationId: `remote-${linkId}`,
            deviceId,
            remoteDeviceId: `device-${i}`,
          })),
          new Date(Date.now() - 1000).toISOString(),
        ),
      );
    }
  });
  afterAll(async () => {
    await t?.close();
    await ttn?.close();
  });

  const at = (ms: number) => new Date(Date.now() + ms).toISOString();
  const claim = (limit: number, now = at(0), leaseMs = 60_000) =>
    claimDueTasks(t.db, dialect, now, new Date(Date.parse(now) + leaseMs).toISOString(), limit);
  const linksIn = (tasks: SyncTaskRow[]) => new Set(tasks.map((task) => task.application_link_id));

  it('gives the tasks of one application to one worker at a time, and only to the holder', async () => {
    // Process A takes one task; process B, asking for all, gets none of that task's link.
    const [first] = await claim(1);
    expect(first).toBeDefined();
    const other = await claim(10);
    expect(other.length).toBe(3);
    expect(linksIn(other)).toEqual(
      new Set([...linked.keys()].filter((id) => id !== first!.application_link_id)),
    );
    expect(await claim(10)).toEqual([]);

    // A worker whose lease was taken over neither finishes nor reschedules the task.
    const stale = { id: first!.id, lease_until: at(-1) };
    await deleteTask(t.db, stale);
    expect(await renewTask(t.db, stale, at(60_000))).toBeUndefined();
    const rescheduled = await rescheduleTask(t.db, stale, {
      state: 'queued',
      nextAttemptAt: at(0),
      lastError: 'x',
      now: at(0),
    });
    expect(rescheduled).toBe(false);
    const row = await t.db
      .selectFrom('sync_tasks')
      .select('lease_until')
      .where('id', '=', first!.id)
      .executeTakeFirst();
    expect(row).toEqual({ lease_until: first!.lease_until });

    // Its holder finishes it: the link's next tasks may be claimed (by anyone), in order.
    await deleteTask(t.db, first!);
    const next = await claim(10);
    expect(next.length).toBe(2);
    expect(linksIn(next)).toEqual(new Set([first!.application_link_id]));
  });

  it('makes the tasks of a worker that died claimable once their leases run out', async () => {
    // Everything is held now; a minute later (the leases given above) it is free again.
    expect(await claim(10)).toEqual([]);
    const later = await claim(10, at(120_000));
    expect(later.length).toBe(5);
    expect(linksIn(later)).toEqual(new Set(linked.keys()));
  });
});
