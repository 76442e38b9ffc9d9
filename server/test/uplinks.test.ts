/**
 * Uplinks end to end (issue 6): the simulator's traffic over MQTT → stored → delivered to a
 * loopback endpoint, signed, in the published format; delivery status, recent uplinks, the live
 * view, device last-seen, a refused key, and downlinks reaching the simulator.
 */
import { createHmac } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessKeyAad } from '../src/applications/device-fields.js';
import { ACCESS_CHECK_MS } from '../src/uplinks/live.js';
import {
  createTenant,
  problemOf,
  startTestApp,
  type SignedIn,
  type TestApp,
} from './harness/app.js';
import { DIALECTS } from './harness/database.js';
import { createTtnNetwork, startTtn, TTN_USER, type Ttn } from './harness/ttn.js';
import {
  documentValidator,
  linkApplication,
  startEndpoint,
  waitFor,
  type Endpoint,
  type LinkedApp,
  deliveryStatus,
} from './uplinks-fixture.js';

const UPLINKS_CONFIG = {
  retryPeriodMs: 24 * 3_600_000,
  // Long enough that a busy test machine does not turn slow answers into retries.
  deliveryTimeoutMs: 10_000,
  backoffMaxMs: 1_000,
  retentionMs: 7 * 86_400_000,
  deadLetterRetentionMs: 30 * 86_400_000,
  leaseMs: 3_000,
  heldDocuments: 65_536,
};

describe.each(DIALECTS)('uplinks (%s)', (dialect) => {
  let t: TestApp;
  let ttn: Ttn;
  let admin: SignedIn;
  let member: SignedIn;
  let organizationId: string;
  let networkId: string;
  let endpoint: Endpoint;
  let weather: LinkedApp;
  let secret: string;

  beforeAll(async () => {
    t = await startTestApp(dialect, { config: { uplinks: UPLINKS_CONFIG } });
    ttn = await startTtn(`${t.config.publicUrl}/oauth/callback`);
    ({ admin, member, organizationId } = await createTenant(t, 'Acme'));
    networkId = await createTtnNetwork(t, admin, ttn);
    endpoint = await startEndpoint();
    weather = await linkApplication(
      { db: t.db, secretBox: t.secretBox, ttn },
      {
        owner: TTN_USER.username,
        organizationId,
        networkId,
        remoteId: 'acme-weather',
        devices: 10,
        reportingUrl: endpoint.url,
      },
    );
    const res = await t.request(
      'POST',
      `/api/applications/${weather.applicationId}/reporting-secret`,
      {
        token: admin.token,
      },
    );
    expect(res.statusCode, res.body).toBe(201);
    secret = (res.json() as { secret: string }).secret;
    t.app.workers.startAll();
    await waitFor(
      async () => (await status(weather.applicationId)).subscriptions[0]?.state === 'subscribed',
      10_000,
      'subscription',
    );
  });
  afterAll(async () => {
    await t?.close();
    await ttn?.close();
    await endpoint?.close();
  });

  const status = (applicationId: string) => deliveryStatus(t, member.token, applicationId);

  it('delivers 1,000 uplinks once each: signed, with idempotency keys, in the published format', async () => {
    const validate = documentValidator();
    await ttn.control('/uplinks', { appId: 'acme-weather', count: 1000, perSecond: 1000 });
    await waitFor(() => endpoint.received.length >= 1000, 30_000, '1,000 deliveries');
    await new Promise((r) => setTimeout(r, 300));
    // Nothing failed, so nothing was sent twice.
    const retried = await t.db
      .selectFrom('deliveries')
      .select(['attempts', 'last_error'])
      .where('attempts', '>', 1)
      .execute();
    expect(retried).toEqual([]);
    expect(endpoint.received).toHaveLength(1000);

    const ids = new Set<string>();
    const counters = new Set<string>();
    for (const { headers, body } of endpoint.received) {
      const expected = createHmac('sha256', secret).update(body).digest('hex');
      expect(headers['x-lpwan-signature']).toBe(expected);
      expect(headers['content-type']).toBe('application/json');
      const doc = JSON.parse(body) as {
        id: string;
        receivedAt: string;
        version: number;
        application: { id: string; remoteId: string };
        network: { id: string; protocol: string };
        device: { id: string; remoteId: string; devEui: string };
        fCnt: number;
        payload: string;
        decoded: { temperature: number; humidity: number };
        radio: { gateways: { rssi: number }[] };
      };
      validate(doc);
      expect(headers['idempotency-key']).toBe(doc.id);
      // Ids start with the message's own time (48 bits of milliseconds): stored in time order.
      const millis = Date.parse(doc.receivedAt).toString(16).padStart(12, '0');
      expect(doc.id.replace('-', '').slice(0, 12)).toBe(millis);
      expect(doc.version).toBe(1);
      expect(doc.application).toEqual({ id: weather.applicationId, remoteId: 'acme-weather' });
      expect(doc.network).toEqual({ id: networkId, protocol: 'ttn-v2' });
      expect(doc.device.id).toBe(weather.devices.get(doc.device.remoteId));
      expect(Buffer.from(doc.payload, 'base64')).toHaveLength(3);
      expect(doc.decoded.humidity).toBe(Buffer.from(doc.payload, 'base64')[2]);
      expect(doc.radio.gateways.length).toBeGreaterThan(0);
      ids.add(doc.id);
      counters.add(`${doc.device.remoteId}/${doc.fCnt}`);
    }
    expect(ids.size).toBe(1000);
    expect(counters.size).toBe(1000);

    await waitFor(
      async () => (await status(weather.applicationId)).delivered === 1000,
      5_000,
      'recorded deliveries',
    );
    const s = await status(weather.applicationId);
    expect(s).toMatchObject({ backlog: 0, deadLetters: 0, delivered: 1000, secretSet: true });
    expect(s.endpoint.state).toBe('ok');
    expect(s.subscriptions).toEqual([
      expect.objectContaining({ networkId, state: 'subscribed', lastError: null }),
    ]);
  });

  it('publishes the JSON Schema of the document', async () => {
    const res = await t.request('GET', '/api/uplink-schema');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: 'UplinkDocument',
    });
  });

  it('lists recent uplinks of the application and of a device, and when the device was last seen', async () => {
    const res = await t.request(
      'GET',
      `/api/applications/${weather.applicationId}/uplinks?limit=5`,
      { token: member.token },
    );
    expect(res.statusCode, res.body).toBe(200);
    const page = res.json() as {
      total: number;
      items: { id: string; document: { id: string }; delivery: { status: string } }[];
    };
    expect(page.total).toBe(1000);
    expect(page.items).toHaveLength(5);
    expect(page.items[0]!.document.id).toBe(page.items[0]!.id);
    expect(page.items[0]!.delivery.status).toBe('delivered');

    const deviceId = weather.devices.get('device-0003')!;
    const dev = await t.request('GET', `/api/devices/${deviceId}/uplinks?limit=200`, {
      token: member.token,
    });
    expect(dev.statusCode, dev.body).toBe(200);
    const devPage = dev.json() as {
      total: number;
      lastSeenAt: string | null;
      items: { document: { device: { id: string } } }[];
    };
    expect(devPage.total).toBe(100);
    expect(devPage.items.every((i) => i.document.device.id === deviceId)).toBe(true);
    expect(devPage.lastSeenAt).not.toBeNull();
  });

  it('signs the next deliveries with a new reporting secret at once', async () => {
    // The worker has just used the old secret, so it holds it; setting a new one replaces it.
    const before = endpoint.received.length;
    const res = await t.request(
      'POST',
      `/api/applications/${weather.applicationId}/reporting-secret`,
      { token: admin.token },
    );
    expect(res.statusCode, res.body).toBe(201);
    const rotated = (res.json() as { secret: string }).secret;
    expect(rotated).not.toBe(secret);
    secret = rotated;
    await ttn.control('/uplinks', { appId: 'acme-weather', count: 5, perSecond: 100 });
    await waitFor(() => endpoint.received.length >= before + 5, 10_000, '5 more deliveries');
    for (const { headers, body } of endpoint.received.slice(before)) {
      expect(headers['x-lpwan-signature']).toBe(
        createHmac('sha256', secret).update(body).digest('hex'),
      );
    }
  });

  it("keeps another organization's uplinks out of reach", async () => {
    const other = await createTenant(t, 'Other');
    for (const url of [
      `/api/applications/${weather.applicationId}/uplinks`,
      `/api/applications/${weather.applicationId}/delivery`,
      `/api/devices/${weather.devices.get('device-0001')!}/uplinks`,
    ]) {
      const res = await t.request('GET', url, { token: other.admin.token });
      expect(problemOf(res)).toMatchObject({ status: 404, code: 'not_found' });
    }
    const secretRes = await t.request(
      'POST',
      `/api/applications/${weather.applicationId}/reporting-secret`,
      {
        token: member.token,
      },
    );
    expect(problemOf(secretRes)).toMatchObject({ status: 403, code: 'forbidden' });
  });

  /** The app's address over real HTTP (the live view is a stream), listening from the first call. */
  const listening = async () =>
    t.app.server.listening
      ? `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`
      : t.app.listen({ host: '127.0.0.1', port: 0 });

  it('streams new uplinks to a live view (Server-Sent Events)', async () => {
    const address = await listening();
    const controller = new AbortController();
    const res = await fetch(`${address}/api/applications/${weather.applicationId}/uplinks/live`, {
      headers: { authorization: `Bearer ${member.token}` },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    const events = () => text.split('\n\n').filter((e) => e.includes('event: uplink'));
    const timer = setTimeout(() => controller.abort(), 10_000);
    try {
      // The stream says it is live before anything new is sent.
      while (!text.includes(': live'))
        text += new TextDecoder().decode((await reader.read()).value);
      await ttn.control('/uplinks', {
        appId: 'acme-weather',
        count: 3,
        perSecond: 100,
        devId: 'device-0007',
      });
      while (events().length < 3) text += new TextDecoder().decode((await reader.read()).value);
    } finally {
      clearTimeout(timer);
      await reader.cancel();
      controller.abort();
    }
    const docs = events().map(
      (e) =>
        JSON.parse(/^data: (.*)$/m.exec(e)![1]!) as { id: string; device: { remoteId: string } },
    );
    expect(docs.map((d) => d.device.remoteId)).toEqual([
      'device-0007',
      'device-0007',
      'device-0007',
    ]);
    expect(events()[0]).toContain(`id: ${docs[0]!.id}`);
  });

  it('ends a live view once its credential no longer holds', async () => {
    const address = await listening();
    const created = await t.request('POST', '/api/api-keys', {
      token: member.token,
      body: { name: 'wall screen' },
    });
    const { apiKey, key } = created.json() as { apiKey: { id: string }; key: string };
    const res = await fetch(`${address}/api/applications/${weather.applicationId}/uplinks/live`, {
      headers: { authorization: `Bearer ${key}` },
      signal: AbortSignal.timeout(20_000),
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes(': live')) text += new TextDecoder().decode((await reader.read()).value);

    const revoked = await t.request('DELETE', `/api/api-keys/${apiKey.id}`, {
      token: member.token,
    });
    expect(revoked.statusCode).toBe(204);
    // Within one access check (5 s) the server ends the stream.
    const started = Date.now();
    for (;;) {
      const { done } = await reader.read();
      if (done) break;
    }
    expect(Date.now() - started).toBeLessThan(ACCESS_CHECK_MS + 2_000);
    const again = await fetch(`${address}/api/applications/${weather.applicationId}/uplinks/live`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(again.status).toBe(401);
  });

  it('test-sends a signed document marked as a test, and reports a failing endpoint', async () => {
    const res = await t.request(
      'POST',
      `/api/applications/${weather.applicationId}/delivery/test`,
      { token: admin.token },
    );
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ delivered: true, status: 200, error: null });
    const { messageId } = res.json() as { messageId: string };
    const got = endpoint.received.find((r) => r.headers['idempotency-key'] === messageId)!;
    expect(JSON.parse(got.body)).toMatchObject({ test: true, id: messageId });
    documentValidator()(JSON.parse(got.body));
    expect(got.headers['x-lpwan-signature']).toBe(
      createHmac('sha256', secret).update(got.body).digest('hex'),
    );

    endpoint.respond = () => 503;
    try {
      const failed = await t.request(
        'POST',
        `/api/applications/${weather.applicationId}/delivery/test`,
        { token: admin.token },
      );
      expect(failed.json()).toMatchObject({ delivered: false, status: 503 });
      expect((failed.json() as { error: string }).error).toContain('503');
    } finally {
      endpoint.respond = () => 200;
    }

    // Nothing listening: the error names the reason.
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as net.AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const setUrl = (reportingUrl: string) =>
      t.request('PATCH', `/api/applications/${weather.applicationId}`, {
        token: admin.token,
        body: { reportingUrl },
      });
    expect((await setUrl(`http://127.0.0.1:${port}/uplinks`)).statusCode).toBe(200);
    try {
      const unreachable = await t.request(
        'POST',
        `/api/applications/${weather.applicationId}/delivery/test`,
        { token: admin.token },
      );
      expect(unreachable.json()).toMatchObject({
        delivered: false,
        status: null,
        error: 'The reporting URL cannot be reached (ECONNREFUSED)',
      });
    } finally {
      expect((await setUrl(endpoint.url)).statusCode).toBe(200);
    }
  });

  it('sends a downlink to the device on TTN', async () => {
    const deviceId = weather.devices.get('device-0002')!;
    const res = await t.request('POST', `/api/devices/${deviceId}/downlinks`, {
      token: admin.token,
      body: { fPort: 10, payload: 'AQID', confirmed: true },
    });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toMatchObject({ deviceId, networkId, fPort: 10, confirmed: true });
    const sim = (await ttn.control(
      '/downlinks?appId=acme-weather&devId=device-0002',
      undefined,
      'GET',
    )) as {
      downlinks: { topic: string; payload: unknown }[];
    };
    expect(sim.downlinks).toEqual([
      expect.objectContaining({
        topic: 'acme-weather/devices/device-0002/down',
        payload: { port: 10, confirmed: true, payload_raw: 'AQID', schedule: 'replace' },
      }),
    ]);

    const bad = await t.request('POST', `/api/devices/${deviceId}/downlinks`, {
      token: admin.token,
      body: { fPort: 0, payload: 'not base64!' },
    });
    expect(problemOf(bad)).toMatchObject({ status: 400, code: 'validation_failed' });
  });

  it('drops a message that is not TTN JSON with a warning, and stores the next ones', async () => {
    const before = endpoint.received.length;
    const topic = 'acme-weather/devices/device-0001/up';
    await ttn.control('/mqtt/messages', { topic, payload: 'not json at all' });
    await ttn.control('/uplinks', { appId: 'acme-weather', count: 2, perSecond: 100 });
    await waitFor(() => endpoint.received.length >= before + 2, 10_000, 'the next 2 uplinks');
    const dropped = t.logs.filter((line) => line.includes('uplink message dropped'));
    expect(dropped).toHaveLength(1);
    expect(JSON.parse(dropped[0]!)).toMatchObject({
      level: 40,
      topic,
      reason: 'the message is not a JSON object',
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(endpoint.received).toHaveLength(before + 2);
  });

  it('records a refused access key as the link error, and subscribes once the key is replaced', async () => {
    const broken = await linkApplication(
      { db: t.db, secretBox: t.secretBox, ttn },
      {
        owner: TTN_USER.username,
        organizationId,
        networkId,
        remoteId: 'acme-broken',
        devices: 1,
        reportingUrl: endpoint.url,
      },
    );
    await t.db
      .updateTable('application_links')
      .set({
        access_key_sealed: t.secretBox.seal('ttn-account-v2.revoked', accessKeyAad(broken.linkId)),
      })
      .where('id', '=', broken.linkId)
      .execute();
    const linkError = async () =>
      (
        await t.db
          .selectFrom('application_links')
          .select('last_error')
          .where('id', '=', broken.linkId)
          .executeTakeFirstOrThrow()
      ).last_error;
    await waitFor(async () => (await linkError()) !== null, 10_000, 'the link error');
    expect(await linkError()).toMatch(/refused the access key/);
    expect((await status(broken.applicationId)).subscriptions[0]).toMatchObject({
      state: 'refused',
    });

    // A new key (as a push would store it) replaces the subscription at once.
    await t.db
      .updateTable('application_links')
      .set({ access_key_sealed: t.secretBox.seal(broken.accessKey, accessKeyAad(broken.linkId)) })
      .where('id', '=', broken.linkId)
      .execute();
    await waitFor(async () => (await linkError()) === null, 10_000, 'the link error to clear');
    await waitFor(
      async () => (await status(broken.applicationId)).subscriptions[0]?.state === 'subscribed',
      10_000,
      'subscribed',
    );
  });

  it("subscribes again at the network's new MQTT address when its settings change", async () => {
    const before = (await status(weather.applicationId)).subscriptions[0]!;
    expect(before.state).toBe('subscribed');
    // The same broker, its address written anew: the stored settings change.
    const moved = await t.request('PATCH', `/api/networks/${networkId}`, {
      token: admin.token,
      body: { settings: { mqttUrl: `${ttn.sim.mqttUrl}/` } },
    });
    expect(moved.statusCode, moved.body).toBe(200);
    await waitFor(
      async () => {
        const now = (await status(weather.applicationId)).subscriptions[0];
        return now?.state === 'subscribed' && now.since !== before.since;
      },
      10_000,
      'a new subscription',
    );
    const already = endpoint.received.length;
    await ttn.control('/uplinks', { appId: 'acme-weather', count: 5, perSecond: 50 });
    await waitFor(() => endpoint.received.length === already + 5, 10_000, '5 more deliveries');
  });
});
