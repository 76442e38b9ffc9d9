/**
 * A reporting URL or secret changed through the API is used at once, well within the 2 s that
 * the delivery worker keeps what it read: by the process that changed it (it reads them again
 * before it answers; SQLite here, one app), and on PostgreSQL by another process that is
 * delivering (told by a notification, migration 0010; two apps share one database, only the
 * second delivers).
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { generateKey } from '../src/crypto/key-ring.js';
import { createTenant, startTestApp, type SignedIn, type TestApp } from './harness/app.js';
import { createTestDatabase, type TestDatabase } from './harness/database.js';
import { createTtnNetwork, startTtn, TTN_USER, type Ttn } from './harness/ttn.js';
import {
  deliveryStatus,
  linkApplication,
  startEndpoint,
  waitFor,
  type Endpoint,
  type LinkedApp,
} from './uplinks-fixture.js';

const setups = [
  {
    name: 'changed through the delivering process (sqlite)',
    dialect: 'sqlite',
    // The answer comes once the change is read: the next uplink may follow at once.
    settleMs: 0,
  },
  {
    name: 'changed in another process (postgres)',
    dialect: 'postgres',
    // The notification arrives after the answer, within milliseconds.
    settleMs: 200,
  },
] as const;

describe.each(setups)('delivery targets $name', ({ dialect, settleMs }) => {
  let database: TestDatabase;
  let editing: TestApp;
  let delivering: TestApp;
  let ttn: Ttn;
  let admin: SignedIn;
  let first: Endpoint;
  let second: Endpoint;
  let linked: LinkedApp;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    const secretKey = generateKey();
    const uplinks = { ...readConfig({ PORT: '3000' }).uplinks, leaseMs: 3_000 };
    editing = await startTestApp(dialect, { database, secretKey, config: { uplinks } });
    delivering =
      dialect === 'postgres'
        ? await startTestApp(dialect, { database, secretKey, config: { uplinks } })
        : editing;
    ttn = await startTtn(`${editing.config.publicUrl}/oauth/callback`);
    let organizationId: string;
    ({ admin, organizationId } = await createTenant(editing, 'Acme'));
    const networkId = await createTtnNetwork(editing, admin, ttn);
    first = await startEndpoint();
    second = await startEndpoint();
    linked = await linkApplication(
      { db: editing.db, secretBox: editing.secretBox, ttn },
      {
        owner: TTN_USER.username,
        organizationId,
        networkId,
        remoteId: 'acme-meters',
        devices: 2,
        reportingUrl: first.url,
      },
    );
    delivering.app.workers.startAll();
    await waitFor(
      async () =>
        (await deliveryStatus(editing, admin.token, linked.applicationId)).subscriptions[0]
          ?.state === 'subscribed',
      10_000,
      'the subscription',
    );
  });
  afterAll(async () => {
    if (delivering !== editing) await delivering?.close();
    await editing?.close();
    await database?.drop();
    await ttn?.close();
    await first?.close();
    await second?.close();
  });

  const publish = (count: number) =>
    ttn.control('/uplinks', { appId: 'acme-meters', count, perSecond: 100 });
  const settle = () => new Promise((resolve) => setTimeout(resolve, settleMs));

  it('delivers to a new reporting URL, signed with a new secret, at once', async () => {
    await publish(1);
    await waitFor(() => first.received.length === 1, 10_000, 'the first delivery');

    // Well within the 2 s that the delivering process keeps what it read.
    const moved = await editing.request('PATCH', `/api/applications/${linked.applicationId}`, {
      token: admin.token,
      body: { reportingUrl: second.url },
    });
    expect(moved.statusCode, moved.body).toBe(200);
    await settle();
    await publish(1);
    await waitFor(() => second.received.length === 1, 10_000, 'a delivery to the new URL');
    expect(first.received).toHaveLength(1);
    expect(second.received[0]!.headers['x-lpwan-signature']).toBeUndefined();

    const rotated = await editing.request(
      'POST',
      `/api/applications/${linked.applicationId}/reporting-secret`,
      { token: admin.token },
    );
    expect(rotated.statusCode, rotated.body).toBe(201);
    const { secret } = rotated.json() as { secret: string };
    await settle();
    await publish(1);
    await waitFor(() => second.received.length === 2, 10_000, 'a signed delivery');
    const { body, headers } = second.received[1]!;
    expect(headers['x-lpwan-signature']).toBe(
      createHmac('sha256', secret).update(body).digest('hex'),
    );
  });
});
