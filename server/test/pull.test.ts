/**
 * Pulling (importing) from a linked TTN network (issue 5, part 3), against the simulator:
 * 10,000 devices page by page, idempotence (a second pull creates nothing), matching by remote
 * id and DevEUI (never by name), per-item errors, and the job's progress.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTenant,
  problemOf,
  startTestApp,
  type SignedIn,
  type TestApp,
} from './harness/app.js';
import { DIALECTS } from './harness/database.js';
import { startTtn, TTN_USER, type Ttn } from './harness/ttn.js';
import { aliceAtTtn, eventually, linkedTtnNetwork, type JobView } from './sync.harness.js';

describe.each(DIALECTS)('pulling from TTN (%s)', (dialect) => {
  let t: TestApp;
  let ttn: Ttn;
  let admin: SignedIn;
  let member: SignedIn;
  let other: SignedIn;
  let networkId: string;

  beforeAll(async () => {
    t = await startTestApp(dialect);
    ttn = await startTtn(`${t.config.publicUrl}/oauth/callback`);
    ({ admin, member } = await createTenant(t, 'Acme'));
    ({ admin: other } = await createTenant(t, 'Other'));
    await ttn.control('/applications', {
      owner: TTN_USER.username,
      id: 'big-fleet',
      name: 'Big fleet',
      devices: 10_000,
    });
    await ttn.control('/applications', {
      owner: TTN_USER.username,
      id: 'small-mixed',
      name: 'Big fleet', // same name on purpose: names never match
      devices: [
        {
          dev_id: 'otaa-one',
          description: 'first',
          lorawan_device: {
            app_eui: '70B3D57ED0000000',
            dev_eui: '70B3D57ED0009001',
            app_key: '0000000000000000000000000000000A',
          },
        },
        {
          dev_id: 'abp-one',
          lorawan_device: {
            app_eui: '70B3D57ED0000000',
            dev_eui: '70B3D57ED0009002',
            activation_constraints: 'abp',
            dev_addr: '26019002',
            nwk_s_key: '0000000000000000000000000000000B',
            app_s_key: '0000000000000000000000000000000C',
          },
        },
      ],
    });
    networkId = await linkedTtnNetwork(t, admin, ttn);
    t.app.workers.startAll();
  });
  afterAll(async () => {
    await t?.close();
    await ttn?.close();
  });

  const pull = async () => {
    const res = await t.request('POST', `/api/networks/${networkId}/pull`, { token: admin.token });
    expect(res.statusCode, res.body).toBe(202);
    const { jobId } = res.json() as { jobId: string };
    return eventually(
      async () => {
        const job = (
          await t.request('GET', `/api/jobs/${jobId}`, { token: member.token })
        ).json() as JobView;
        return job.state === 'done' || job.state === 'failed' ? job : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 200 },
    );
  };
  const applications = async () =>
    (
      (await t.request('GET', '/api/applications?limit=200', { token: admin.token })).json() as {
        items: { id: string; name: string; deviceCount: number }[];
      }
    ).items;

  it(
    'imports 10,000 devices page by page, and a second pull creates nothing',
    { timeout: 180_000 },
    async () => {
      const first = await pull();
      expect(first).toMatchObject({
        state: 'done',
        progress: { done: 2, total: 2 },
        counts: {
          applications: { created: 2, matched: 0 },
          devices: { created: 10_002, matched: 0, failed: 0 },
        },
        errorCount: 0,
      });
      const apps = await applications();
      expect(
        apps.map((a) => [a.name, a.deviceCount]).sort((a, b) => Number(a[1]) - Number(b[1])),
      ).toEqual([
        ['Big fleet', 2],
        ['Big fleet', 10_000],
      ]);
      // Read page by page, never all at once.
      const pages = (await ttn.requests()).filter(
        (r) => r.path === '/applications/big-fleet/devices',
      );
      expect(pages.length).toBeGreaterThanOrEqual(10);

      const second = await pull();
      expect(second.counts).toEqual({
        applications: { created: 0, matched: 2 },
        devices: { created: 0, matched: 10_002, failed: 0 },
      });
      expect(await applications()).toHaveLength(2);
      const count = await t.db
        .selectFrom('devices')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      expect(Number(count.n)).toBe(10_002);

      // What was imported: keys sealed and correct, links synced under the remote ids.
      const small = apps.find((a) => a.deviceCount === 2)!;
      const devices = (
        (
          await t.request('GET', `/api/applications/${small.id}/devices`, { token: admin.token })
        ).json() as {
          items: { id: string; name: string; activation: string; devAddr: string | null }[];
        }
      ).items;
      expect(devices.map((d) => [d.name, d.activation, d.devAddr])).toEqual([
        ['abp-one', 'abp', '26019002'],
        ['otaa-one', 'otaa', null],
      ]);
      const keys = await t.request(
        'GET',
        `/api/applications/${small.id}/devices/${devices[0]!.id}/keys`,
        { token: admin.token },
      );
      expect(keys.json()).toEqual({
        appKey: null,
        nwkSKey: '0000000000000000000000000000000B',
        appSKey: '0000000000000000000000000000000C',
      });
      const [link] = (
        (
          await t.request('GET', `/api/applications/${small.id}/links`, { token: admin.token })
        ).json() as {
          items: {
            remoteId: string;
            state: string;
            uplinkKey: { set: boolean };
            devices: { synced: number };
          }[];
        }
      ).items;
      expect(link).toMatchObject({
        remoteId: 'small-mixed',
        state: 'synced',
        uplinkKey: { set: true },
        devices: { synced: 2 },
      });
    },
  );

  it('matches a device by DevEUI, reports the ones it cannot import, and never matches by name', async () => {
    await ttn.control('/applications', {
      owner: TTN_USER.username,
      id: 'third-app',
      name: 'Third',
      devices: [
        {
          dev_id: 'known-by-eui',
          lorawan_device: {
            app_eui: '70B3D57ED0000000',
            dev_eui: '70B3D57ED0009101',
            app_key: '0000000000000000000000000000000D',
          },
        },
        {
          dev_id: 'eui-elsewhere',
          lorawan_device: {
            app_eui: '70B3D57ED0000001',
            dev_eui: '70B3D57ED0009001',
            app_key: '0000000000000000000000000000000E',
          },
        },
      ],
    });
    // A local application named like the remote one: it must not be matched.
    const local = await t.request('POST', '/api/applications', {
      token: admin.token,
      body: { name: 'Third' },
    });
    const localId = (local.json() as { id: string }).id;
    const job = await pull();
    expect(job.counts.applications).toEqual({ created: 1, matched: 2 });
    expect(job.counts.devices).toMatchObject({ created: 1, failed: 1 });
    expect(job.errors).toEqual([
      {
        item: 'device third-app/eui-elsewhere',
        message: 'DevEUI 70B3D57ED0009001 belongs to device "otaa-one" of another application',
      },
    ]);
    const apps = await applications();
    expect(apps.filter((a) => a.name === 'Third')).toHaveLength(2);
    expect(apps.find((a) => a.id === localId)?.deviceCount).toBe(0);
  });

  it("pushes devices a pull brings in to the application's other networks", async () => {
    const small = (await applications()).find(
      (a) => a.deviceCount === 2 && a.name === 'Big fleet',
    )!;
    // Another TTN (one handler refuses the same AppEUI+DevEUI in two applications).
    const other = await startTtn(`${t.config.publicUrl}/oauth/callback`);
    try {
      const second = await linkedTtnNetwork(t, admin, other);
      const linked = await t.request('POST', `/api/applications/${small.id}/links`, {
        token: admin.token,
        body: { networkId: second, remoteId: 'small-copy' },
      });
      expect(linked.statusCode, linked.body).toBe(202);
      const there = await aliceAtTtn(other);
      await eventually(async () =>
        (await there.devices('small-copy'))?.length === 2 ? true : undefined,
      );

      // A device added on the first TTN reaches the second after the next pull.
      const here = await aliceAtTtn(ttn);
      const added = await here.handler('small-mixed', '/devices', 'POST', {
        dev_id: 'late-one',
        lorawan_device: {
          app_eui: '70B3D57ED0000000',
          dev_eui: '70B3D57ED0009003',
          app_key: '0000000000000000000000000000000F',
        },
      });
      expect(added.status).toBe(200);
      const job = await pull();
      expect(job.counts.devices).toMatchObject({ created: 1 });
      const copies = await eventually(async () => {
        const devices = await there.devices('small-copy');
        return devices?.length === 3 ? devices : undefined;
      });
      expect(copies.map((d) => d.lorawan_device.dev_eui)).toContain('70B3D57ED0009003');
    } finally {
      await other.close();
    }
  });

  it('refuses pulls of unknown or foreign networks and answers a running pull instead of starting another', async () => {
    expect(
      problemOf(await t.request('POST', `/api/networks/${networkId}/pull`, { token: other.token })),
    ).toMatchObject({
      status: 404,
    });
    expect(
      problemOf(
        await t.request('POST', `/api/networks/${networkId}/pull`, { token: member.token }),
      ),
    ).toMatchObject({
      status: 403,
    });
    const first = await t.request('POST', `/api/networks/${networkId}/pull`, {
      token: admin.token,
    });
    const second = await t.request('POST', `/api/networks/${networkId}/pull`, {
      token: admin.token,
    });
    const { jobId } = first.json() as { jobId: string };
    expect((second.json() as { jobId: string }).jobId).toBe(jobId);
    expect(
      problemOf(await t.request('GET', `/api/jobs/${jobId}`, { token: other.token })),
    ).toMatchObject({ status: 404 });
    await eventually(async () => {
      const job = (
        await t.request('GET', `/api/jobs/${jobId}`, { token: admin.token })
      ).json() as JobView;
      return job.state === 'done' ? job : undefined;
    });
  });

  it('fails the job with a message when the account cannot be reached', async () => {
    await ttn.control('/faults', { path: '/api/v2/applications', server: 'account', status: 503 });
    try {
      const job = await pull();
      expect(job).toMatchObject({ state: 'failed', message: expect.stringContaining('503') });
    } finally {
      await ttn.control('/faults', undefined, 'DELETE');
    }
  });

  // Last: it leaves the network needing a new sign-in.
  it('fails the job, rather than every application in turn, when the account stops accepting its token', async () => {
    await ttn.control('/faults', {
      path: '/applications/*/devices',
      server: 'handler',
      status: 401,
    });
    try {
      const job = await pull();
      expect(job).toMatchObject({ state: 'failed', message: expect.any(String) });
      // Once for the application it stopped at, not once per application.
      expect(job.errors.length).toBeLessThanOrEqual(1);
    } finally {
      await ttn.control('/faults', undefined, 'DELETE');
    }
  });
});
