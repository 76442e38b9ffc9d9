// Uplinks in the portal (issue 6), against the TTN simulator and a reporting endpoint this test
// runs on 127.0.0.1: uplinks published by the simulator appear in the application's live view
// without a reload and are counted as delivered; the test send reports the endpoint's answer
// and is signed with the secret shown once; dead letters are redelivered; a downlink sent from
// the device page reaches the simulator.
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  apiSignIn,
  linkTtnNetworkInPortal,
  REPO_ROOT,
  screenshot,
  startStack,
  type ApiSession,
  type Stack,
} from '../harness/index.js';
import { startEndpoint, type Endpoint } from '../../server/test/uplinks-fixture.js';

async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Delivered uplinks (not test sends) the endpoint accepted. */
const deliveredUplinks = (endpoint: Endpoint) =>
  endpoint.received.filter((r) => !r.body.includes('"test":true'));

let stack: Stack;
let page: Page;
let api: ApiSession;
let endpoint: Endpoint;
let dbDir: string;
let dbFile: string;
let applicationId: string;
let deviceId: string;
/** The application's and the device's ids on TTN. */
let remoteAppId: string;
let remoteDeviceId: string;

beforeAll(async () => {
  endpoint = await startEndpoint();
  // The server's database is ours to reach (see the dead-letter test); its backoff is kept
  // short so that retries happen within the test.
  dbDir = await mkdtemp(path.join(tmpdir(), 'lpwan-e2e-uplinks-'));
  dbFile = path.join(dbDir, 'lpwan.db');
  stack = await startStack({
    serverEnv: () => ({ DATABASE_URL: `sqlite:${dbFile}`, DELIVERY_BACKOFF_MAX_SECONDS: '1' }),
  });
  page = await stack.newPage();

  // A linked TTN network, made the way an owner makes it.
  await linkTtnNetworkInPortal(page, stack.sim, stack.server, 'TTN Europe');

  // An application reporting to the endpoint, with one device, pushed to that network (set up
  // through the API: the applications pages have their own test).
  api = await apiSignIn(stack.server);
  const networks = await api.request<{ items: { id: string; name: string }[] }>(
    'GET',
    '/api/networks',
  );
  const network = networks.body.items.find((n) => n.name === 'TTN Europe')!;
  const app = await api.request<{ id: string }>('POST', '/api/applications', {
    name: 'Weather stations',
    reportingUrl: endpoint.url,
  });
  expect(app.status).toBe(201);
  applicationId = app.body.id;
  const device = await api.request<{ id: string }>(
    'POST',
    `/api/applications/${applicationId}/devices`,
    {
      name: 'Roof sensor',
      devEui: '70B3D57ED0006001',
      joinEui: '70B3D57ED0000000',
      appKey: '00112233445566778899AABBCCDDEEFF',
    },
  );
  expect(device.status).toBe(201);
  deviceId = device.body.id;
  const link = await api.request('POST', `/api/applications/${applicationId}/links`, {
    networkId: network.id,
  });
  expect(link.status).toBe(202);
  await waitFor(async () => {
    const d = await api.request<{
      links: { state: string; remoteApplicationId: string; remoteId: string }[];
    }>('GET', `/api/applications/${applicationId}/devices/${deviceId}`);
    const l = d.body.links[0];
    if (l?.state !== 'synced') return false;
    remoteAppId = l.remoteApplicationId;
    remoteDeviceId = l.remoteId;
    return true;
  }, 'the application and the device on TTN');
  // The server subscribes to the application's uplinks.
  await waitFor(async () => {
    const s = await api.request<{ subscriptions: { state: string }[] }>(
      'GET',
      `/api/applications/${applicationId}/delivery`,
    );
    return s.body.subscriptions.some((x) => x.state === 'subscribed');
  }, 'the MQTT subscription');
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await endpoint?.close();
  if (dbDir) await rm(dbDir, { recursive: true, force: true });
});

/** The delivery card's count of one kind ("delivered", "backlog", "dead"). */
function count(kind: 'delivered' | 'backlog' | 'dead') {
  return page.getByRole('list', { name: 'Deliveries' }).locator(`[data-count="${kind}"] strong`);
}

async function publish(n: number) {
  await stack.sim.control('POST', '/uplinks', { appId: remoteAppId, count: n, perSecond: 20 });
}

describe('uplinks', () => {
  test('uplinks appear live without a reload and are counted as delivered', async () => {
    await page.goto(`/applications/${applicationId}`);
    const uplinks = page.getByRole('region', { name: 'Uplinks and delivery' });
    await uplinks.getByText('No uplinks yet.', { exact: false }).waitFor();
    await uplinks.getByRole('status').filter({ hasText: 'Live' }).waitFor();
    await page.getByRole('list', { name: 'Subscriptions' }).getByText('Subscribed').waitFor();
    const deviceRow = page
      .getByRole('table', { name: 'Device list' })
      .getByRole('row')
      .filter({ hasText: 'Roof sensor' });
    expect(await deviceRow.locator('td').last().textContent()).toBe('—');
    // A mark in the page's memory: a reload would lose it.
    await page.evaluate(
      () => ((globalThis as unknown as { notReloaded: boolean }).notReloaded = true),
    );

    await publish(5);
    const rows = page.getByRole('table', { name: 'Uplinks' }).locator('tbody tr');
    await waitFor(async () => (await rows.count()) === 5, 'five uplinks in the live view');
    await waitFor(
      async () => (await count('delivered').textContent()) === '5',
      '5 delivered in the delivery status',
    );
    await waitFor(
      async () => (await rows.getByText('Delivered', { exact: true }).count()) === 5,
      'every row delivered',
    );
    expect(
      await page.evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded),
    ).toBe(true);
    // The device's "Last seen" kept up with its uplinks, also without a reload.
    expect(await deviceRow.locator('td').last().textContent()).not.toBe('—');
    expect(await count('backlog').textContent()).toBe('0');
    expect(await count('dead').textContent()).toBe('0');
    await page.getByText('5 uplinks kept.').waitFor();
    // The rows show the device and what it sent; the endpoint got the same five documents.
    await rows.first().getByRole('link', { name: 'Roof sensor' }).waitFor();
    expect(deliveredUplinks(endpoint)).toHaveLength(5);
    const first = JSON.parse(deliveredUplinks(endpoint)[0]!.body) as {
      id: string;
      device: { id: string };
    };
    expect(first.device.id).toBe(deviceId);
    expect(await page.locator(`tr[data-uplink="${first.id}"]`).count()).toBe(1);
    await screenshot(page, 'uplinks-live');
  });

  test('the reporting secret is shown once and signs the test uplink, whose answer is shown', async () => {
    await page.goto(`/applications/${applicationId}`);
    const delivery = page
      .getByRole('region', { name: 'Uplinks and delivery' })
      .getByLabel('Delivery');
    await delivery.getByText('Not signed: no reporting secret is set').waitFor();
    await delivery.getByRole('button', { name: 'Set reporting secret' }).click();
    const shown = page.getByLabel('New reporting secret');
    await shown.getByText('Store this secret now.').waitFor();
    const secret = (await shown.getByTestId('reporting-secret').textContent())!;
    expect(secret.length).toBeGreaterThanOrEqual(32);
    await delivery.getByText('Signed (X-LPWAN-Signature)').waitFor();
    await screenshot(page, 'reporting-secret');

    const before = endpoint.received.length;
    await delivery.getByRole('button', { name: 'Send test uplink' }).click();
    const result = page.getByRole('status', { name: 'Test result' });
    await result.getByText('Test uplink delivered.').waitFor();
    expect(await result.textContent()).toContain('The endpoint answered 200');
    const sent = endpoint.received.slice(before).find((r) => r.body.includes('"test":true'))!;
    expect(sent.headers['x-lpwan-signature']).toBe(
      createHmac('sha256', secret).update(sent.body).digest('hex'),
    );
    expect(await result.textContent()).toContain(sent.headers['idempotency-key']);

    // Once stored, it is gone from the page for good.
    await shown.getByRole('button', { name: 'I have stored it' }).click();
    await page.getByTestId('reporting-secret').waitFor({ state: 'detached' });
    await page.reload();
    await delivery.getByRole('button', { name: 'Rotate reporting secret' }).waitFor();
    expect(await page.getByTestId('reporting-secret').count()).toBe(0);

    // An endpoint that fails says so.
    endpoint.respond = () => 503;
    try {
      await delivery.getByRole('button', { name: 'Send test uplink' }).click();
      await result.getByText('Test uplink not delivered.').waitFor();
      expect(await result.textContent()).toContain('The reporting URL answered 503');
      await screenshot(page, 'test-send-failed');
    } finally {
      endpoint.respond = () => 200;
    }
  });

  test('dead letters are counted and redelivered', async () => {
    await page.goto(`/applications/${applicationId}`);
    await count('delivered').filter({ hasText: '5' }).waitFor();
    endpoint.respond = () => 500;
    const deliveredBefore = deliveredUplinks(endpoint).length;
    await publish(3);
    await waitFor(async () => (await count('backlog').textContent()) === '3', '3 in the backlog');
    const delivery = page.getByLabel('Delivery', { exact: true });
    await delivery.getByText('Failing', { exact: true }).waitFor();
    await delivery
      .getByText('The reporting URL answered 500: failing on purpose')
      .first()
      .waitFor();

    // A delivery becomes a dead letter when it still fails after the retry period (at least an
    // hour, DELIVERY_RETRY_HOURS). Rather than wait, the test makes these deliveries a day old
    // in the server's database; their next failed attempt dead-letters them.
    const Database = createRequire(path.join(REPO_ROOT, 'server', 'package.json'))(
      'better-sqlite3',
    ) as typeof BetterSqlite3;
    const db = new Database(dbFile);
    try {
      db.pragma('busy_timeout = 5000');
      const dayAgo = new Date(Date.now() - 86_400_000).toISOString();
      const aged = db
        .prepare(
          "UPDATE deliveries SET created_at = ? WHERE application_id = ? AND status = 'pending'",
        )
        .run(dayAgo, applicationId);
      expect(aged.changes).toBe(3);
    } finally {
      db.close();
    }
    await waitFor(async () => (await count('dead').textContent()) === '3', '3 dead letters');
    expect(await count('backlog').textContent()).toBe('0');
    const rows = page.getByRole('table', { name: 'Uplinks' }).locator('tbody tr');
    await waitFor(
      async () => (await rows.getByText('Dead letter', { exact: true }).count()) === 3,
      'three rows dead-lettered',
    );
    await screenshot(page, 'dead-letters');

    endpoint.respond = () => 200;
    await delivery.getByRole('button', { name: 'Redeliver dead letters' }).click();
    await delivery.getByText('3 dead letters are queued for delivery again.').waitFor();
    await waitFor(async () => (await count('dead').textContent()) === '0', 'no dead letters');
    await waitFor(async () => (await count('delivered').textContent()) === '8', '8 delivered');
    expect(deliveredUplinks(endpoint).length - deliveredBefore).toBe(3);
    // The uplinks' delivery column follows without a reload.
    await waitFor(
      async () => (await rows.getByText('Delivered', { exact: true }).count()) === 8,
      'every row delivered again',
    );
    await delivery.getByText('Delivering', { exact: true }).waitFor();
    expect(
      await delivery.getByRole('button', { name: 'Redeliver dead letters' }).isDisabled(),
    ).toBe(true);
  });

  test('the device page shows last seen and its uplinks, and sends a downlink', async () => {
    await stack.sim.control('DELETE', '/downlinks');
    await page.goto(`/applications/${applicationId}`);
    await page
      .getByRole('table', { name: 'Uplinks' })
      .getByRole('link', { name: 'Roof sensor' })
      .first()
      .click();
    await page.getByRole('heading', { name: 'Roof sensor' }).waitFor();
    const card = page.getByLabel('Uplinks', { exact: true });
    expect(await card.getByTestId('last-seen').textContent()).not.toBe('Never');
    await card.getByText('8 uplinks kept.').waitFor();
    expect(await card.getByRole('table', { name: 'Uplinks' }).locator('tbody tr').count()).toBe(8);
    // The signal column is there too (the device column is not: it is this device).
    expect(
      await card.getByRole('table', { name: 'Uplinks' }).locator('thead th').allTextContents(),
    ).toEqual(['Received', 'fPort', 'fCnt', 'Payload (hex)', 'Decoded', 'Signal', 'Delivery']);

    const form = page.getByRole('form', { name: 'Send a downlink' });
    await form.getByLabel('fPort').fill('2');
    await form.getByLabel('Payload', { exact: true }).fill('01 0A zz');
    await form.getByRole('button', { name: 'Send downlink' }).click();
    await form.getByText('Hex may only hold 0–9 and A–F.').waitFor();
    await screenshot(page, 'downlink-invalid');

    await form.getByLabel('Payload', { exact: true }).fill('01 0A FF');
    await form.getByLabel('Confirmed (the device acknowledges it)').check();
    await form.getByRole('button', { name: 'Send downlink' }).click();
    await form.getByRole('status').getByText('Downlink queued', { exact: false }).waitFor();
    await screenshot(page, 'device-uplinks');

    let downlinks: { appId: string; devId: string; payload: Record<string, unknown> }[] = [];
    await waitFor(async () => {
      const answer = (await stack.sim.control(
        'GET',
        `/downlinks?appId=${encodeURIComponent(remoteAppId)}&devId=${encodeURIComponent(remoteDeviceId)}`,
      )) as { downlinks: typeof downlinks };
      downlinks = answer.downlinks;
      return downlinks.length > 0;
    }, 'the downlink at the simulator');
    expect(downlinks).toHaveLength(1);
    expect(downlinks[0]!.payload).toMatchObject({
      port: 2,
      confirmed: true,
      payload_raw: Buffer.from([0x01, 0x0a, 0xff]).toString('base64'),
    });

    // Base64 goes to the API as it is.
    await form.getByLabel('Payload format').selectOption({ label: 'Base64' });
    await form.getByLabel('Payload', { exact: true }).fill(randomBytes(4).toString('base64'));
    await form.getByRole('button', { name: 'Send downlink' }).click();
    await form.getByRole('status').getByText('4 bytes, confirmed', { exact: false }).waitFor();
  });
});
