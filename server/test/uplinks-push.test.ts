/**
 * Uplinks of an application made through the applications API and pushed to TTN (issues 5 and
 * 6 together): the push's access key is what the subscription uses, the pushed devices are
 * what the documents name, and a downlink goes to the pushed device.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, startTestApp, type SignedIn, type TestApp } from './harness/app.js';
import { DIALECTS } from './harness/database.js';
import { startTtn, type Ttn } from './harness/ttn.js';
import { eventually, linkedTtnNetwork } from './sync.harness.js';
import { documentValidator, startEndpoint, waitFor, type Endpoint } from './uplinks-fixture.js';

describe.each(DIALECTS)('uplinks of a pushed application (%s)', (dialect) => {
  let t: TestApp;
  let ttn: Ttn;
  let admin: SignedIn;
  let networkId: string;
  let endpoint: Endpoint;

  beforeAll(async () => {
    t = await startTestApp(dialect);
    ttn = await startTtn(`${t.config.publicUrl}/oauth/callback`);
    ({ admin } = await createTenant(t, 'Acme'));
    networkId = await linkedTtnNetwork(t, admin, ttn);
    endpoint = await startEndpoint();
    t.app.workers.startAll();
  });
  afterAll(async () => {
    await t?.close();
    await ttn?.close();
    await endpoint?.close();
  });

  const api = async <T>(method: string, url: string, body?: unknown): Promise<T> => {
    const res = await t.request(method, url, {
      token: admin.token,
      ...(body !== undefined ? { body } : {}),
    });
    if (res.statusCode >= 400) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
    return res.json() as T;
  };

  it('delivers the uplinks of the pushed devices, and sends them downlinks', async () => {
    const app = await api<{ id: string }>('POST', '/api/applications', {
      name: 'Greenhouse',
      reportingUrl: endpoint.url,
    });
    const devices: { id: string; devEui: string }[] = [];
    for (let i = 0; i < 3; i++) {
      devices.push(
        await api('POST', `/api/applications/${app.id}/devices`, {
          name: `sensor ${i}`,
          devEui: `70B3D57ED00020${i}0`,
          joinEui: '70B3D57ED0000000',
          appKey: `00112233445566778899AABBCCDDEEF${i}`,
        }),
      );
    }
    await api('POST', `/api/applications/${app.id}/links`, { networkId });
    const link = await eventually(async () => {
      const [l] = (
        await api<{ items: { state: string; remoteId: string; devices: { synced: number } }[] }>(
          'GET',
          `/api/applications/${app.id}/links`,
        )
      ).items;
      return l?.state === 'synced' && l.devices.synced === 3 ? l : undefined;
    });
    const { secret } = await api<{ secret: string }>(
      'POST',
      `/api/applications/${app.id}/reporting-secret`,
    );
    await waitFor(
      async () =>
        (
          await api<{ subscriptions: { state: string }[] }>(
            'GET',
            `/api/applications/${app.id}/delivery`,
          )
        ).subscriptions[0]?.state === 'subscribed',
      15_000,
      'the subscription',
    );

    await ttn.control('/uplinks', { appId: link.remoteId, count: 30, perSecond: 100 });
    await waitFor(() => endpoint.received.length >= 30, 15_000, '30 deliveries');
    const validate = documentValidator();
    const byEui = new Map(devices.map((d) => [d.devEui, d.id]));
    for (const { headers, body } of endpoint.received) {
      expect(headers['x-lpwan-signature']).toBe(
        createHmac('sha256', secret).update(body).digest('hex'),
      );
      const doc = JSON.parse(body) as {
        application: { id: string; remoteId: string };
        device: { id: string; devEui: string };
      };
      validate(doc);
      expect(doc.application).toEqual({ id: app.id, remoteId: link.remoteId });
      expect(doc.device.id).toBe(byEui.get(doc.device.devEui));
    }
    expect(
      new Set(
        endpoint.received.map((r) => (JSON.parse(r.body) as { device: { id: string } }).device.id),
      ).size,
    ).toBe(3);

    const res = await t.request('POST', `/api/devices/${devices[1]!.id}/downlinks`, {
      token: admin.token,
      body: { fPort: 2, payload: 'AAE=' },
    });
    expect(res.statusCode, res.body).toBe(202);
    const sim = (await ttn.control(`/downlinks?appId=${link.remoteId}`, undefined, 'GET')) as {
      downlinks: { topic: string; payload: { port: number; payload_raw: string } }[];
    };
    expect(sim.downlinks).toHaveLength(1);
    expect(sim.downlinks[0]!.payload).toMatchObject({
      port: 2,
      payload_raw: 'AAE=',
      confirmed: false,
    });
    expect(sim.downlinks[0]!.topic).toMatch(new RegExp(`^${link.remoteId}/devices/[^/]+/down$`));
  });
});
