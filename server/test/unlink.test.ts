/**
 * Unlinking an application from one network, against the simulator: by default the application
 * stays on TTN as it is while LPWAN Server stops pushing to it and stops its uplink
 * subscription; with `deleteOnNetwork` it is deleted there. Linking again waits for such a
 * deletion, and only organization admins of the application's organization may unlink.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import {
  createTenant,
  problemOf,
  startTestApp,
  type SignedIn,
  type TestApp,
} from './harness/app.js';
import { DIALECTS } from './harness/database.js';
import { startTtn, type Ttn } from './harness/ttn.js';
import {
  aliceAtTtn,
  appWithDevices,
  callApi,
  eventually,
  linkedTtnNetwork,
  type JobView,
  linksOf,
  whenSynced as waitUntilSynced,
} from './sync.harness.js';

describe.each(DIALECTS)('unlinking an application from a network (%s)', (dialect) => {
  let t: TestApp;
  let ttn: Ttn;
  let admin: SignedIn;
  let member: SignedIn;
  let networkId: string;
  let alice: Awaited<ReturnType<typeof aliceAtTtn>>;

  beforeAll(async () => {
    // Subscription rounds every second, so that one stopping shows quickly.
    const uplinks = { ...readConfig({ PORT: '3000' }).uplinks, leaseMs: 3_000 };
    t = await startTestApp(dialect, { config: { uplinks } });
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

  const api = (method: string, url: string, body?: unknown) =>
    callApi(t, admin.token, method, url, body);
  const links = (appId: string) => linksOf(t, admin.token, appId);
  const whenSynced = (appId: string, devices: number) =>
    waitUntilSynced(t, admin.token, appId, devices);
  /** An application with `count` OTAA devices, linked to the network and synced there. */
  const linkedApp = async (name: string, count: number, euiPrefix: string) => {
    const app = await appWithDevices(t, admin.token, name, count, euiPrefix, [
      '00112233445566778899AABBCCDDEEFF',
    ]);
    await api('POST', `/api/applications/${app.id}/links`, { networkId });
    return { ...app, link: await whenSynced(app.id, count) };
  };
  const tasksOf = (linkId: string) =>
    t.db.selectFrom('sync_tasks').selectAll().where('application_link_id', '=', linkId).execute();
  const subscribed = () => t.app.uplinks.subscriptions.linkIds;
  /** The applications remembered as unlinked from `remoteId` on the network, keeping it there. */
  const unlinkedRemotes = async (remoteId: string) =>
    (
      await t.db
        .selectFrom('unlinked_remotes')
        .select('application_id')
        .where('network_id', '=', networkId)
        .where('remote_id', '=', remoteId)
        .execute()
    ).map((r) => r.application_id);
  const pulled = async (): Promise<JobView> => {
    const { jobId } = (await api('POST', `/api/networks/${networkId}/pull`)) as { jobId: string };
    return eventually(async () => {
      const job = (await api('GET', `/api/jobs/${jobId}`)) as unknown as JobView;
      return job.state === 'done' ? job : undefined;
    });
  };
  const named = async (name: string) =>
    (
      (await api('GET', '/api/applications?limit=200')) as { items: { name: string }[] }
    ).items.filter((a) => a.name === name);

  it('keeps the application on TTN, and stops pushing to it and receiving its uplinks', async () => {
    const app = await linkedApp('Greenhouse', 2, '70B3D57ED00A10');
    await eventually(async () => (subscribed().includes(app.link.id) ? true : undefined));

    const res = await t.request('DELETE', `/api/applications/${app.id}/links/${app.link.id}`, {
      token: admin.token,
    });
    expect(res.statusCode, res.body).toBe(204);
    expect(await links(app.id)).toEqual([]);
    const deviceLinks = await t.db
      .selectFrom('device_links')
      .select('id')
      .where('application_link_id', '=', app.link.id)
      .execute();
    expect(deviceLinks).toEqual([]);
    await eventually(async () => (subscribed().includes(app.link.id) ? undefined : true));
    const lease = await t.db
      .selectFrom('uplink_leases')
      .select('holder')
      .where('application_link_id', '=', app.link.id)
      .executeTakeFirst();
    expect(lease).toBeUndefined();

    // Local edits no longer go to that network.
    await api('PATCH', `/api/applications/${app.id}/devices/${app.devices[0]!.id}`, {
      appKey: 'ABABABABABABABABABABABABABABABAB',
    });
    await api('PATCH', `/api/applications/${app.id}`, { name: 'Greenhouse renamed' });
    expect(await tasksOf(app.link.id)).toEqual([]);

    // On TTN the application and its devices are as they were.
    expect(await alice.account(`/applications/${app.link.remoteId}`)).toMatchObject({
      status: 200,
      body: { name: 'Greenhouse' },
    });
    const remoteDevices = (await alice.devices(app.link.remoteId)) ?? [];
    expect(remoteDevices.map((d) => d.lorawan_device.app_key)).toEqual([
      '00112233445566778899AABBCCDDEEFF',
      '00112233445566778899AABBCCDDEEFF',
    ]);
    // The local application and its devices stay.
    const devices = (await api('GET', `/api/applications/${app.id}/devices`)) as { total: number };
    expect(devices.total).toBe(2);
    expect(await unlinkedRemotes(app.link.remoteId)).toEqual([app.id]);

    // Linked again with the same id, the application on TTN is adopted and brought up to date.
    await api('POST', `/api/applications/${app.id}/links`, {
      networkId,
      remoteId: app.link.remoteId,
    });
    await whenSynced(app.id, 2);
    expect(await unlinkedRemotes(app.link.remoteId)).toEqual([]);
    expect(await alice.account(`/applications/${app.link.remoteId}`)).toMatchObject({
      body: { name: 'Greenhouse renamed' },
    });
    await eventually(async () => {
      const keys = (await alice.devices(app.link.remoteId))?.map((d) => d.lorawan_device.app_key);
      return keys?.includes('ABABABABABABABABABABABABABABABAB') ? keys : undefined;
    });
  });

  it('links a pull to the application it was unlinked from, instead of importing a copy', async () => {
    const app = await linkedApp('Barn', 2, '70B3D57ED00A50');
    await api('DELETE', `/api/applications/${app.id}/links/${app.link.id}`);
    await api('PATCH', `/api/applications/${app.id}`, { name: 'Barn (local)' });
    // Added while unlinked: TTN does not have it.
    await api('POST', `/api/applications/${app.id}/devices`, {
      name: 'barn-new',
      devEui: '70B3D57ED00A5099',
      activation: 'otaa',
      joinEui: '0000000000000000',
      appKey: '00112233445566778899AABBCCDDEEFF',
    });

    const job = await pulled();
    expect(job.errors.filter((e) => e.message.includes('70B3D57ED00A50'))).toEqual([]);
    // No copy: the one application with those devices is linked to it again, devices and all.
    expect(await named('Barn')).toEqual([]);
    expect(await named('Barn (local)')).toHaveLength(1);
    // The two matched, and the one added here pushed there, as linking would.
    const link = await whenSynced(app.id, 3);
    expect(link).toMatchObject({ remoteId: app.link.remoteId, state: 'synced' });
    expect(link.devices).toEqual({ synced: 3, pending: 0, error: 0 });
    expect((await alice.devices(app.link.remoteId))?.map((d) => d.lorawan_device.dev_eui)).toEqual(
      expect.arrayContaining(['70B3D57ED00A5099']),
    );
    expect(await unlinkedRemotes(app.link.remoteId)).toEqual([]);
    // And it is linked as any other: a local edit goes to TTN again.
    await api('PATCH', `/api/applications/${app.id}/devices/${app.devices[0]!.id}`, {
      appKey: 'CDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCD',
    });
    await eventually(async () => {
      const keys = (await alice.devices(app.link.remoteId))?.map((d) => d.lorawan_device.app_key);
      return keys?.includes('CDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCD') ? keys : undefined;
    });

    // Unlinked and its local application deleted, there is nothing to match: imported anew.
    await api('DELETE', `/api/applications/${app.id}/links/${link.id}`);
    await api('DELETE', `/api/applications/${app.id}`);
    expect(await unlinkedRemotes(app.link.remoteId)).toEqual([]);
    await pulled();
    expect(await named('Barn (local)')).toEqual([]);
    expect(await named('Barn')).toHaveLength(1);
  });

  it('deletes the application and its devices on TTN when asked to', async () => {
    const app = await linkedApp('Orchard', 2, '70B3D57ED00A20');
    const res = await t.request(
      'DELETE',
      `/api/applications/${app.id}/links/${app.link.id}?deleteOnNetwork=true`,
      { token: admin.token },
    );
    expect(res.statusCode).toBe(204);
    expect(await links(app.id)).toEqual([]);
    await eventually(async () => {
      const remote = await alice.account(`/applications/${app.link.remoteId}`);
      return remote.status === 404 ? remote : undefined;
    });
    expect(await alice.devices(app.link.remoteId)).toBeUndefined();
    const devices = (await api('GET', `/api/applications/${app.id}/devices`)) as { total: number };
    expect(devices.total).toBe(2);
  });

  it('refuses to link again while the deletion on the network is still waiting', async () => {
    const app = await linkedApp('Vineyard', 1, '70B3D57ED00A30');
    await ttn.control('/faults', {
      method: 'DELETE',
      path: '/applications/*',
      server: 'handler',
      status: 503,
    });
    try {
      await api('DELETE', `/api/applications/${app.id}/links/${app.link.id}?deleteOnNetwork=true`);
      const again = await t.request('POST', `/api/applications/${app.id}/links`, {
        token: admin.token,
        body: { networkId, remoteId: app.link.remoteId },
      });
      expect(again.statusCode).toBe(409);
      expect(problemOf(again).code).toBe('remote_deletion_pending');
      // Nor does a pull import it meanwhile: the waiting delete would remove it there.
      const { jobId } = (await api('POST', `/api/networks/${networkId}/pull`)) as { jobId: string };
      const job = await eventually(async () => {
        const j = (await api('GET', `/api/jobs/${jobId}`)) as {
          state: string;
          errors: { item: string; message: string }[];
        };
        return j.state === 'done' ? j : undefined;
      });
      expect(job.errors).toContainEqual({
        item: `application ${app.link.remoteId}`,
        message: expect.stringContaining('its deletion on this network'),
      });
      const named = (
        (await api('GET', '/api/applications?limit=200')) as { items: { name: string }[] }
      ).items.filter((a) => a.name === 'Vineyard');
      expect(named).toHaveLength(1);
    } finally {
      await ttn.control('/faults', undefined, 'DELETE');
    }
    await eventually(async () => {
      const remote = await alice.account(`/applications/${app.link.remoteId}`);
      return remote.status === 404 ? remote : undefined;
    });
    // Once it is gone, linking with that id creates the application there again.
    await api('POST', `/api/applications/${app.id}/links`, {
      networkId,
      remoteId: app.link.remoteId,
    });
    await whenSynced(app.id, 1);
  });

  it('refuses to link an id whose deletion the network refused, until it is cancelled', async () => {
    const app = await linkedApp('Paddock', 1, '70B3D57ED00A40');
    await ttn.control('/faults', {
      method: 'DELETE',
      path: `/applications/${app.link.remoteId}`,
      server: 'handler',
      status: 400,
    });
    try {
      await api('DELETE', `/api/applications/${app.id}/links/${app.link.id}?deleteOnNetwork=true`);
      const deletions = `/api/networks/${networkId}/deletions`;
      const refused = await eventually(async () => {
        const page = (await api('GET', deletions)) as { items: { id: string; state: string }[] };
        return page.items.find((d) => d.state === 'error');
      });
      // Refused is not done: linking that id again would let a retry delete the new link's
      // application there.
      const again = () =>
        t.request('POST', `/api/applications/${app.id}/links`, {
          token: admin.token,
          body: { networkId, remoteId: app.link.remoteId },
        });
      expect(problemOf(await again()).code).toBe('remote_deletion_pending');
      // Cancelled, the application stays on the network, and may be linked again.
      const asMember = await t.request('DELETE', `${deletions}/${refused.id}`, {
        token: member.token,
      });
      expect(asMember.statusCode).toBe(403);
      await api('DELETE', `${deletions}/${refused.id}`);
      expect(
        problemOf(await t.request('DELETE', `${deletions}/${refused.id}`, { token: admin.token }))
          .status,
      ).toBe(404);
      expect((await again()).statusCode).toBe(202);
      await whenSynced(app.id, 1);
      expect((await alice.account(`/applications/${app.link.remoteId}`)).status).toBe(200);
    } finally {
      await ttn.control('/faults', undefined, 'DELETE');
    }
  });

  it('updates a deleted device taken over by a new one with its DevEUI, instead of deleting it late', async () => {
    const app = await linkedApp('Kennel', 1, '70B3D57ED00A60');
    const [old] = (
      (await api('GET', `/api/applications/${app.id}/devices`)) as {
        items: { id: string; devEui: string }[];
      }
    ).items;
    await ttn.control('/faults', {
      method: 'DELETE',
      path: `/applications/${app.link.remoteId}/devices/**`,
      server: 'handler',
      status: 503,
    });
    try {
      await api('DELETE', `/api/applications/${app.id}/devices/${old!.id}`);
      await eventually(async () => {
        const page = (await api('GET', `/api/networks/${networkId}/deletions`)) as {
          items: { remoteDeviceId: string | null; attempts: number }[];
        };
        return page.items.some((d) => d.remoteDeviceId !== null && d.attempts > 0)
          ? true
          : undefined;
      });
      // A pull meanwhile leaves the device out: imported, it would be deleted there later.
      const job = await pulled();
      expect(job.errors).toContainEqual({
        item: `device ${app.link.remoteId}/${old!.devEui.toLowerCase()}`,
        message: 'Not imported: deleted here; its deletion on this network is still to be done.',
      });
      expect(
        ((await api('GET', `/api/applications/${app.id}/devices`)) as { total: number }).total,
      ).toBe(0);
    } finally {
      await ttn.control('/faults', undefined, 'DELETE');
    }
    // The network is back; a new device takes the DevEUI at once, before the deletion's next try.
    await api('POST', `/api/applications/${app.id}/devices`, {
      name: 'new kennel sensor',
      devEui: old!.devEui,
      joinEui: '70B3D57ED0000000',
      appKey: '0123456789ABCDEF0123456789ABCDEF',
    });
    await whenSynced(app.id, 1);
    expect(await api('GET', `/api/networks/${networkId}/deletions`)).toMatchObject({ total: 0 });
    const [onTtn] = (await alice.devices(app.link.remoteId))!;
    expect(onTtn).toMatchObject({
      dev_id: old!.devEui.toLowerCase(),
      lorawan_device: { app_key: '0123456789ABCDEF0123456789ABCDEF' },
    });
  });

  it("lists a network's linked applications, for its organization only", async () => {
    const app = await linkedApp('Silo', 0, '');
    const onNetwork = async (token = admin.token) =>
      t.request('GET', `/api/networks/${networkId}/links`, { token });
    const listed = (await onNetwork()).json() as { items: Record<string, unknown>[] };
    expect(listed.items).toContainEqual({
      id: app.link.id,
      applicationId: app.id,
      applicationName: 'Silo',
      remoteId: app.link.remoteId,
      state: 'synced',
    });
    // Members read it; another organization does not see the network at all.
    expect((await onNetwork(member.token)).statusCode).toBe(200);
    const other = await createTenant(t, 'Elsewhere');
    expect(problemOf(await onNetwork(other.admin.token))).toMatchObject({ status: 404 });

    await api('DELETE', `/api/applications/${app.id}/links/${app.link.id}`);
    const after = (await onNetwork()).json() as { items: { id: string }[] };
    expect(after.items.map((l) => l.id)).not.toContain(app.link.id);
  });

  it('is for organization admins of the application, with a clear error otherwise', async () => {
    const app = await linkedApp('Barn', 0, '');
    const url = `/api/applications/${app.id}/links/${app.link.id}`;

    const byMember = await t.request('DELETE', url, { token: member.token });
    expect(byMember.statusCode).toBe(403);

    const other = await createTenant(t, 'Other');
    const byOtherAdmin = await t.request('DELETE', url, { token: other.admin.token });
    expect(problemOf(byOtherAdmin)).toMatchObject({ status: 404 });

    const unknown = await t.request(
      'DELETE',
      `/api/applications/${app.id}/links/00000000-0000-4000-8000-000000000000`,
      { token: admin.token },
    );
    expect(problemOf(unknown)).toMatchObject({ status: 404 });

    const badFlag = await t.request('DELETE', `${url}?deleteOnNetwork=maybe`, {
      token: admin.token,
    });
    expect(problemOf(badFlag)).toMatchObject({ status: 400 });

    // None of these touched the link.
    expect((await links(app.id)).map((l) => l.id)).toEqual([app.link.id]);
  });
});
