/**
 * Pushing applications and devices to a linked TTN network (issue 5, part 2), against the
 * simulator: creation with the same EUIs and keys, edits and deletes propagated, a handler
 * that fails for a while, adoption of objects that exist already (409), the access key for
 * uplinks, and the state visible per link.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, startTestApp, type SignedIn, type TestApp } from './harness/app.js';
import { DIALECTS } from './harness/database.js';
import { startTtn, TTN_USER, type Ttn } from './harness/ttn.js';
import {
  aliceAtTtn,
  appWithDevices as createAppWithDevices,
  callApi,
  eventually,
  linkedTtnNetwork,
  linksOf,
  whenSynced as waitUntilSynced,
  type LinkView as Link,
} from './sync.harness.js';
import { accessKeyAad } from '../src/applications/device-fields.js';

const KEYS = [
  '00112233445566778899AABBCCDDEEF0',
  '00112233445566778899AABBCCDDEEF1',
  '00112233445566778899AABBCCDDEEF2',
];

describe.each(DIALECTS)('pushing to TTN (%s)', (dialect) => {
  let t: TestApp;
  let ttn: Ttn;
  let admin: SignedIn;
  let member: SignedIn;
  let networkId: string;
  let alice: Awaited<ReturnType<typeof aliceAtTtn>>;

  beforeAll(async () => {
    t = await startTestApp(dialect);
    ttn = await startTtn(`${t.config.publicUrl}/oauth/callback`);
    ({ admin, member } = await createTenant(t, 'Acme'));
    networkId = await linkedTtnNetwork(t, admin, ttn);
    alice = await aliceAtTtn(ttn);
    t.app.workers.startAll();
  });
  afterAll(async () => {
    await t?.close();
    await ttn?.close();
  });
  afterEach(async () => {
    await ttn.control('/faults', undefined, 'DELETE');
  });

  const api = (method: string, url: string, body?: unknown) =>
    callApi(t, admin.token, method, url, body);
  const appWithDevices = (name: string, count: number, euiPrefix: string) =>
    createAppWithDevices(t, admin.token, name, count, euiPrefix, KEYS);
  const links = (appId: string) => linksOf(t, admin.token, appId);
  const whenSynced = (appId: string, devices: number) =>
    waitUntilSynced(t, admin.token, appId, devices);

  it('creates the application, its access key and its devices on TTN with the same EUIs and keys', async () => {
    const app = await appWithDevices('Weather stations', 3, '70B3D57ED00010');
    const linked = (await api('POST', `/api/applications/${app.id}/links`, {
      networkId,
    })) as unknown as Link;
    expect(linked).toMatchObject({
      state: 'pending',
      remoteId: expect.stringMatching(/^weather-stations-[0-9a-f]{8}$/),
    });
    const link = await whenSynced(app.id, 3);
    expect(link).toMatchObject({ lastError: null, uplinkKey: { set: true }, nextAttemptAt: null });

    const remote = await alice.account(`/applications/${link.remoteId}`);
    expect(remote).toMatchObject({
      status: 200,
      body: { id: link.remoteId, name: 'Weather stations' },
    });
    const devices = (await alice.devices(link.remoteId)) ?? [];
    expect(
      devices.map((d) => [
        d.lorawan_device.dev_eui,
        d.lorawan_device.app_eui,
        d.lorawan_device.app_key,
      ]),
    ).toEqual([
      ['70B3D57ED0001000', '70B3D57ED0000000', KEYS[0]],
      ['70B3D57ED0001001', '70B3D57ED0000000', KEYS[1]],
      ['70B3D57ED0001002', '70B3D57ED0000000', KEYS[2]],
    ]);

    // The uplink access key exists on TTN with the rights uplinks need, sealed under the link id.
    const keys = (await alice.account(`/applications/${link.remoteId}/access-keys`)).body as {
      name: string;
      key: string;
      rights: string[];
    }[];
    const ours = keys.find((k) => k.name === 'lpwan-server');
    expect(ours?.rights).toEqual(['messages:up:r', 'messages:down:w']);
    const row = await t.db
      .selectFrom('application_links')
      .selectAll()
      .where('id', '=', link.id)
      .executeTakeFirstOrThrow();
    expect(t.secretBox.open(row.access_key_sealed!, accessKeyAad(link.id))).toBe(ours?.key);

    // Handler calls used app-scoped tokens; nothing secret reached the log.
    const requests = await ttn.requests();
    expect(requests.some((r) => r.path === '/users/restrict-token')).toBe(true);
    for (const secret of [...KEYS, ours!.key]) expect(t.logs.join('\n')).not.toContain(secret);
  });

  it('propagates edits and deletes of devices and the application', async () => {
    const app = await appWithDevices('Parking', 2, '70B3D57ED00020');
    await api('POST', `/api/applications/${app.id}/links`, { networkId });
    const link = await whenSynced(app.id, 2);

    // Device edit: a new AppKey and description reach the handler, frame counters stay.
    const [first, second] = app.devices;
    await api('PATCH', `/api/applications/${app.id}/devices/${first!.id}`, {
      appKey: 'FFEEDDCCBBAA99887766554433221100',
      description: 'north gate',
    });
    await eventually(async () => {
      const device = (await alice.devices(link.remoteId))?.find(
        (d) => d.lorawan_device.dev_eui === first!.devEui,
      );
      return device?.lorawan_device.app_key === 'FFEEDDCCBBAA99887766554433221100' &&
        device.description === 'north gate'
        ? device
        : undefined;
    });
    // A new device follows; a deleted one goes.
    const late = await api('POST', `/api/applications/${app.id}/devices`, {
      name: 'late',
      devEui: '70B3D57ED0002099',
      activation: 'abp',
      devAddr: '26012345',
      nwkSKey: 'AAAABBBBCCCCDDDDEEEEFFFF00001111',
      appSKey: '11112222333344445555666677778888',
    });
    await api('DELETE', `/api/applications/${app.id}/devices/${second!.id}`);
    const euis = await eventually(async () => {
      const list = (await alice.devices(link.remoteId))
        ?.map((d) => d.lorawan_device.dev_eui)
        .sort();
      return list?.length === 2 && list.includes('70B3D57ED0002099') ? list : undefined;
    });
    expect(euis).toEqual([first!.devEui, '70B3D57ED0002099']);
    // The ABP device without a JoinEUI got the application's own EUI on TTN.
    const abp = (await alice.devices(link.remoteId))!.find(
      (d) => d.lorawan_device.dev_eui === '70B3D57ED0002099',
    )!;
    const appEuis = (
      (await alice.account(`/applications/${link.remoteId}`)).body as { euis: string[] }
    ).euis;
    expect(abp.lorawan_device).toMatchObject({
      activation_constraints: 'abp',
      dev_addr: '26012345',
      app_eui: appEuis[0],
    });
    // Turned into an OTAA device, its ABP address and session keys stop working there.
    await api('PATCH', `/api/applications/${app.id}/devices/${late!.id as string}`, {
      activation: 'otaa',
      joinEui: appEuis[0],
      appKey: KEYS[0],
    });
    const otaa = await eventually(async () => {
      const device = (await alice.devices(link.remoteId))?.find(
        (d) => d.lorawan_device.dev_eui === '70B3D57ED0002099',
      );
      return device?.lorawan_device.activation_constraints === 'otaa' ? device : undefined;
    });
    expect(otaa.lorawan_device).toMatchObject({
      app_key: KEYS[0],
      dev_addr: '',
      nwk_s_key: '',
      app_s_key: '',
    });

    // Renaming the application renames it on TTN; deleting it deletes it there.
    await api('PATCH', `/api/applications/${app.id}`, { name: 'Parking lots' });
    await eventually(async () => {
      const res = await alice.account(`/applications/${link.remoteId}`);
      return (res.body as { name?: string }).name === 'Parking lots' ? res : undefined;
    });
    await api('DELETE', `/api/applications/${app.id}`);
    await eventually(async () =>
      (await alice.account(`/applications/${link.remoteId}`)).status === 404 ? true : undefined,
    );
    expect(await t.db.selectFrom('sync_tasks').selectAll().execute()).toEqual([]);
  });

  it('gives a device the DevEUI another device had a free id on the network (that one keeps its id)', async () => {
    const app = await appWithDevices('Renamed EUIs', 1, '70B3D57ED00025');
    await api('POST', `/api/applications/${app.id}/links`, { networkId });
    const link = await whenSynced(app.id, 1);
    const [moved] = app.devices;
    // The device's DevEUI changes; on TTN it keeps its id, which is its old DevEUI.
    await api('PATCH', `/api/applications/${app.id}/devices/${moved!.id}`, {
      devEui: '70B3D57ED0002599',
    });
    // A new device takes the old DevEUI: it is accepted and gets the id with a suffix there.
    const taker = (await api('POST', `/api/applications/${app.id}/devices`, {
      name: 'taker',
      devEui: moved!.devEui,
      joinEui: '70B3D57ED0000000',
      appKey: KEYS[1],
    })) as { id: string };
    await whenSynced(app.id, 2);
    const detail = (await api('GET', `/api/applications/${app.id}/devices/${taker.id}`)) as {
      links: { remoteId: string }[];
    };
    const oldId = moved!.devEui.toLowerCase();
    expect(detail.links.map((l) => l.remoteId)).toEqual([`${oldId}-2`]);
    const onTtn = (await alice.devices(link.remoteId))!
      .map((d) => [d.dev_id, d.lorawan_device.dev_eui])
      .sort();
    expect(onTtn).toEqual([
      [oldId, '70B3D57ED0002599'],
      [`${oldId}-2`, moved!.devEui],
    ]);
  });

  it('keeps an edit while the handler answers 503 and applies it once it recovers', async () => {
    const app = await appWithDevices('Flaky', 1, '70B3D57ED00030');
    await api('POST', `/api/applications/${app.id}/links`, { networkId });
    const link = await whenSynced(app.id, 1);

    await ttn.control('/faults', {
      path: '/applications/*/devices/**',
      server: 'handler',
      status: 503,
    });
    const device = app.devices[0]!;
    await api('PATCH', `/api/applications/${app.id}/devices/${device.id}`, {
      appKey: 'ABABABABABABABABABABABABABABABAB',
    });
    // The failure is visible on the link and on the device, with a next attempt scheduled.
    const failing = await eventually(async () => {
      const [l] = await links(app.id);
      return l?.devices.error === 1 ? l : undefined;
    });
    expect(failing.nextAttemptAt).not.toBeNull();
    const detail = (await api('GET', `/api/applications/${app.id}/devices/${device.id}`)) as {
      links: { state: string; lastError: string }[];
    };
    expect(detail.links[0]).toMatchObject({
      state: 'error',
      lastError: expect.stringContaining('503'),
    });

    await ttn.control('/faults', undefined, 'DELETE');
    await eventually(async () => {
      const d = (await alice.devices(link.remoteId))?.[0];
      return d?.lorawan_device.app_key === 'ABABABABABABABABABABABABABABABAB' ? d : undefined;
    });
    await whenSynced(app.id, 1);
  });

  it('parks an edit the network refuses as invalid (400) until a retry, instead of retrying it', async () => {
    const app = await appWithDevices('Refused', 1, '70B3D57ED00035');
    await api('POST', `/api/applications/${app.id}/links`, { networkId });
    const link = await whenSynced(app.id, 1);

    const fault = (await ttn.control('/faults', {
      path: '/applications/*/devices/**',
      server: 'handler',
      status: 400,
    })) as { id: number };
    const device = app.devices[0]!;
    await api('PATCH', `/api/applications/${app.id}/devices/${device.id}`, {
      appKey: 'CDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCD',
    });
    const parked = await eventually(async () => {
      const [l] = await links(app.id);
      return l?.devices.error === 1 ? l : undefined;
    });
    // No next attempt: sending it again unchanged would be refused again.
    expect(parked.nextAttemptAt).toBeNull();
    const tasks = await t.db
      .selectFrom('sync_tasks')
      .select(['state', 'attempts'])
      .where('device_id', '=', device.id)
      .execute();
    expect(tasks).toEqual([{ state: 'failed', attempts: 1 }]);
    // In a long list, the refused device is found by its state.
    const total = async (query: string) =>
      ((await api('GET', `/api/applications/${app.id}/devices${query}`)) as { total: number })
        .total;
    expect(await total('')).toBe(1);
    expect(await total('?syncState=error')).toBe(1);
    expect(await total('?syncState=pending')).toBe(0);
    const hits = async () =>
      (
        (await ttn.control('/faults', undefined, 'GET')) as {
          faults: { id: number; hits: number }[];
        }
      ).faults.find((f) => f.id === fault.id)!.hits;
    const before = await hits();
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // past the first backoff (~1 s)
    expect(await hits()).toBe(before);

    await ttn.control('/faults', undefined, 'DELETE');
    await api('POST', `/api/applications/${app.id}/links/${link.id}/retry`);
    await eventually(async () => {
      const d = (await alice.devices(link.remoteId))?.[0];
      return d?.lorawan_device.app_key === 'CDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCD' ? d : undefined;
    });
    await whenSynced(app.id, 1);
  });

  it('shows a deletion the network refuses on the network, and retries it on request', async () => {
    const app = await appWithDevices('Refused deletion', 1, '70B3D57ED00036');
    await api('POST', `/api/applications/${app.id}/links`, { networkId });
    const link = await whenSynced(app.id, 1);
    await ttn.control('/faults', {
      method: 'DELETE',
      path: `/applications/${link.remoteId}`,
      server: 'handler',
      status: 400,
    });
    // Deleted here: the application and its link are gone, the deletion there is refused.
    await api('DELETE', `/api/applications/${app.id}`);
    const deletions = `/api/networks/${networkId}/deletions`;
    const refused = await eventually(async () => {
      const page = (await callApi(t, member.token, 'GET', deletions)) as {
        items: { state: string }[];
      };
      return page.items[0]?.state === 'error' ? page : undefined;
    });
    expect(refused).toMatchObject({
      total: 1,
      items: [
        {
          kind: 'application',
          remoteApplicationId: link.remoteId,
          remoteDeviceId: null,
          state: 'error',
          attempts: 1,
          lastError: expect.stringContaining('400'),
          nextAttemptAt: null,
        },
      ],
    });
    const other = await createTenant(t, 'Globex');
    expect((await t.request('GET', deletions, { token: other.admin.token })).statusCode).toBe(404);
    const asMember = await t.request('POST', `${deletions}/retry`, { token: member.token });
    expect(asMember.statusCode).toBe(403);

    await ttn.control('/faults', undefined, 'DELETE');
    expect(await api('POST', `${deletions}/retry`)).toEqual({ retried: 1 });
    await eventually(async () =>
      (await alice.account(`/applications/${link.remoteId}`)).status === 404 ? true : undefined,
    );
    expect(await api('GET', deletions)).toMatchObject({ items: [], total: 0 });
  });

  it('retries at once on request, and recovers from a rate limit', async () => {
    const app = await appWithDevices('Limited', 1, '70B3D57ED00040');
    await ttn.control('/faults', {
      method: 'POST',
      path: '/api/v2/applications',
      server: 'account',
      status: 429,
    });
    await api('POST', `/api/applications/${app.id}/links`, { networkId });
    const failed = await eventually(async () => {
      const [l] = await links(app.id);
      return l?.state === 'error' ? l : undefined;
    });
    expect(failed.lastError).toContain('429');
    await ttn.control('/faults', undefined, 'DELETE');
    const retried = (await api(
      'POST',
      `/api/applications/${app.id}/links/${failed.id}/retry`,
    )) as unknown as Link;
    expect(retried.nextAttemptAt).not.toBeNull();
    await whenSynced(app.id, 1);
  });

  it("keeps to TTN's handler rate limit: waits instead of failing every task", async () => {
    await ttn.control('/requests', undefined, 'DELETE');
    await ttn.control('/settings', { handlerRateLimitPerSecond: 5 });
    let remoteId: string;
    try {
      const app = await appWithDevices('Rate limited', 15, '70B3D57ED00070');
      await api('POST', `/api/applications/${app.id}/links`, { networkId });
      // Paced, not failing: no device shows an error on the way.
      const errorsSeen = new Set<number>();
      const deadline = Date.now() + 20_000;
      for (;;) {
        if (Date.now() > deadline) throw new Error('not synced in 20 s');
        const [link] = await links(app.id);
        errorsSeen.add(link?.devices.error ?? 0);
        if (link?.state === 'synced' && link.devices.synced === 15) {
          remoteId = link.remoteId;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect([...errorsSeen]).toEqual([0]);
      // Each refusal held back the rest of its round: far fewer 429s than devices.
      const limited = (await ttn.requests()).filter((r) => r.status === 429);
      expect(limited.length).toBeLessThan(8);
    } finally {
      await ttn.control('/settings', { handlerRateLimitPerSecond: 0 });
    }
    expect((await alice.devices(remoteId))?.length).toBe(15);
  });

  it.runIf(dialect === 'postgres')(
    'runs each task once when several server processes share the database',
    async () => {
      // A second server on the same database, with the same key: both run the sync worker.
      const twin = await startTestApp(dialect, { database: t.database, secretKey: t.secretKey });
      twin.app.workers.startAll();
      try {
        await ttn.control('/requests', undefined, 'DELETE');
        const app = await appWithDevices('Shared', 12, '70B3D57ED00060');
        await api('POST', `/api/applications/${app.id}/links`, { networkId });
        const link = await whenSynced(app.id, 12);
        const requests = await ttn.requests();
        const creates = requests.filter(
          (r) => r.method === 'POST' && r.path === `/applications/${link.remoteId}/devices`,
        );
        expect(creates).toHaveLength(12);
        expect(creates.every((r) => r.status === 200)).toBe(true);
        expect(
          requests.filter((r) => r.method === 'POST' && r.path === '/api/v2/applications'),
        ).toHaveLength(1);
      } finally {
        await twin.close();
      }
    },
  );

  it('adopts an application and a device that exist on TTN already (409) instead of duplicating them', async () => {
    await ttn.control('/applications', {
      owner: TTN_USER.username,
      id: 'acme-existing',
      name: 'Existing at TTN',
      devices: [
        {
          dev_id: '70b3d57ed0005000',
          description: 'made at TTN',
          lorawan_device: {
            app_eui: '70B3D57ED0000000',
            dev_eui: '70B3D57ED0005000',
            app_key: '0000000000000000000000000000000A',
          },
        },
      ],
    });
    const app = await appWithDevices('Adopted', 2, '70B3D57ED00050');
    await api('POST', `/api/applications/${app.id}/links`, {
      networkId,
      remoteId: 'acme-existing',
    });
    const link = await whenSynced(app.id, 2);
    expect(link).toMatchObject({ remoteId: 'acme-existing', uplinkKey: { set: true } });
    const apps = (await alice.account('/applications')).body as { id: string; name: string }[];
    expect(apps.filter((a) => a.id === 'acme-existing')).toEqual([
      expect.objectContaining({ name: 'Adopted' }),
    ]);
    const devices = (await alice.devices('acme-existing'))!;
    expect(devices.map((d) => [d.dev_id, d.lorawan_device.app_key])).toEqual([
      ['70b3d57ed0005000', KEYS[0]],
      ['70b3d57ed0005001', KEYS[1]],
    ]);
    const conflicts = (await ttn.requests()).filter((r) => r.status === 409);
    expect(conflicts.map((r) => r.path)).toEqual(
      expect.arrayContaining(['/api/v2/applications', '/applications/acme-existing/devices']),
    );
  });

  it('refuses to adopt an id taken by an application the account cannot use', async () => {
    await ttn.control('/users', {
      username: 'mallory',
      password: 'mallory-password',
      email: 'm@example.com',
    });
    await ttn.control('/applications', {
      owner: 'mallory',
      id: 'not-yours',
      name: 'Mallory',
      devices: 0,
    });
    const app = await appWithDevices('Clash', 0, '');
    await api('POST', `/api/applications/${app.id}/links`, { networkId, remoteId: 'not-yours' });
    const link = await eventually(async () => {
      const [l] = await links(app.id);
      return l?.state === 'error' ? l : undefined;
    });
    expect(link.lastError).toContain('not-yours is taken');
    const task = await t.db
      .selectFrom('sync_tasks')
      .selectAll()
      .where('application_link_id', '=', link.id)
      .executeTakeFirstOrThrow();
    expect(task.state).toBe('failed');

    // Deleting the application here leaves the other owner's application alone, and ends.
    await api('DELETE', `/api/applications/${app.id}`);
    await eventually(async () =>
      (await t.db.selectFrom('sync_tasks').selectAll().execute()).length === 0 ? true : undefined,
    );
    const requests = await ttn.requests();
    expect(
      requests.filter((r) => r.method === 'DELETE' && r.path === '/api/v2/applications/not-yours'),
    ).toEqual([expect.objectContaining({ status: 403 })]);
  });
});
