/**
 * Delivery under failure (issue 6): an endpoint that is down for a while gets everything once
 * it is back, without being hammered meanwhile; an endpoint that fails or hangs does not slow
 * another application's; deliveries failing past the retry period become dead letters, which
 * can be redelivered; delivered uplinks are purged after the retention time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, startTestApp, type SignedIn, type TestApp } from './harness/app.js';
import { DIALECTS } from './harness/database.js';
import { createTtnNetwork, startTtn, TTN_USER, type Ttn } from './harness/ttn.js';
import { purgeDeadLetters, purgeDelivered } from '../src/uplinks/uplinks.repository.js';
import {
  linkApplication,
  startEndpoint,
  waitFor,
  type Endpoint,
  type LinkedApp,
  deliveryStatus,
} from './uplinks-fixture.js';

describe.each(DIALECTS)('delivery (%s)', (dialect) => {
  let t: TestApp;
  let ttn: Ttn;
  let admin: SignedIn;
  let organizationId: string;
  let networkId: string;
  const endpoints: Endpoint[] = [];

  beforeAll(async () => {
    t = await startTestApp(dialect, {
      config: {
        uplinks: {
          retryPeriodMs: 24 * 3_600_000,
          deliveryTimeoutMs: 3_000,
          backoffMaxMs: 400,
          retentionMs: 7 * 86_400_000,
          deadLetterRetentionMs: 30 * 86_400_000,
          leaseMs: 3_000,
          // A small hold: floods in these tests also go through deliveries held without their
          // documents (read back) and through claims.
          heldDocuments: 16,
        },
      },
    });
    ttn = await startTtn(`${t.config.publicUrl}/oauth/callback`);
    ({ admin, organizationId } = await createTenant(t, 'Acme'));
    networkId = await createTtnNetwork(t, admin, ttn);
    t.app.workers.startAll();
  });
  afterAll(async () => {
    await t?.close();
    await ttn?.close();
    await Promise.all(endpoints.map((e) => e.close()));
  });

  /** A TTN application linked to a fresh endpoint, subscribed. */
  const setUp = async (remoteId: string): Promise<{ app: LinkedApp; endpoint: Endpoint }> => {
    const endpoint = await startEndpoint();
    endpoints.push(endpoint);
    const app = await linkApplication(
      { db: t.db, secretBox: t.secretBox, ttn },
      {
        owner: TTN_USER.username,
        organizationId,
        networkId,
        remoteId,
        devices: 5,
        reportingUrl: endpoint.url,
      },
    );
    await waitFor(
      async () => (await status(app.applicationId)).subscriptions[0]?.state === 'subscribed',
      10_000,
      'subscription',
    );
    return { app, endpoint };
  };
  const status = (applicationId: string) => deliveryStatus(t, admin.token, applicationId);
  const uniqueKeys = (endpoint: Endpoint) =>
    new Set(endpoint.received.map((r) => r.headers['idempotency-key']));

  it('delivers everything once an endpoint that was down comes back, probing it meanwhile', async () => {
    const { app, endpoint } = await setUp('acme-down');
    endpoint.respond = () => 503;
    await ttn.control('/uplinks', { appId: 'acme-down', count: 200, perSecond: 400 });
    await waitFor(
      async () => (await status(app.applicationId)).backlog === 200,
      10_000,
      'a backlog of 200',
    );
    await new Promise((r) => setTimeout(r, 2_000));
    const down = await status(app.applicationId);
    expect(down.endpoint).toMatchObject({ state: 'failing', lastSuccessAt: null });
    expect(down.endpoint.lastError).toContain('503');
    expect(down.endpoint.consecutiveFailures).toBeGreaterThan(1);
    // Backed off as a whole: a few probes, not 200 failing deliveries again and again.
    const refusedWhileDown = endpoint.refused.length;
    expect(refusedWhileDown).toBeLessThan(100);
    expect(endpoint.received).toHaveLength(0);

    endpoint.respond = () => 200;
    await waitFor(() => uniqueKeys(endpoint).size === 200, 15_000, 'all 200 delivered');
    await waitFor(
      async () => (await status(app.applicationId)).backlog === 0,
      5_000,
      'an empty backlog',
    );
    const up = await status(app.applicationId);
    expect(up).toMatchObject({
      delivered: 200,
      deadLetters: 0,
      endpoint: { state: 'ok', consecutiveFailures: 0, retryAt: null },
    });
  });

  it('delivers a flood far past its hold once each: documents read back, the rest claimed', async () => {
    const { app, endpoint } = await setUp('acme-flood');
    // A slow endpoint: the flood outruns it, fills the 8 documents and 32 claims this
    // application may hold, and the rest waits in the database unclaimed.
    endpoint.respond = () => ({ status: 200, delayMs: 5 });
    await ttn.control('/uplinks', { appId: 'acme-flood', count: 600, perSecond: 3_000 });
    await waitFor(() => endpoint.received.length >= 600, 20_000, 'all 600 delivered');
    await waitFor(
      async () => (await status(app.applicationId)).delivered === 600,
      5_000,
      '600 recorded as delivered',
    );
    expect(uniqueKeys(endpoint).size).toBe(600);
    // Once each: a delivery held without its document is not claimed or read back twice.
    expect(endpoint.received).toHaveLength(600);
    expect(await status(app.applicationId)).toMatchObject({ backlog: 0, deadLetters: 0 });
  });

  it("keeps delivering to one application while another's endpoint fails or hangs", async () => {
    const good = await setUp('acme-good');
    const failing = await setUp('acme-failing');
    const hanging = await setUp('acme-hanging');
    failing.endpoint.respond = () => 500;
    // Answers after the delivery time-out: every request to it times out.
    hanging.endpoint.respond = () => ({ status: 200, delayMs: 4_000 });

    const started = Date.now();
    await Promise.all(
      ['acme-good', 'acme-failing', 'acme-hanging'].map((appId) =>
        ttn.control('/uplinks', { appId, count: 300, perSecond: 150 }),
      ),
    );
    await waitFor(
      () => uniqueKeys(good.endpoint).size === 300,
      10_000,
      "the good application's 300 uplinks",
    );
    const elapsed = Date.now() - started;
    // The traffic itself takes two seconds. Waiting behind the others would add their 3 s
    // time-outs (or a failing endpoint's backoff) to the good application's deliveries.
    expect(elapsed).toBeLessThan(3_500);
    const latencies = good.endpoint.received
      .map((r) => r.at - Date.parse((JSON.parse(r.body) as { receivedAt: string }).receivedAt))
      .sort((a, b) => a - b);
    expect(latencies[Math.floor(latencies.length * 0.99)]).toBeLessThan(1_500);

    // The failing application's last uplinks may still be on their way in.
    await waitFor(
      async () => (await status(failing.app.applicationId)).backlog === 300,
      5_000,
      'a backlog of 300',
    );
    expect((await status(failing.app.applicationId)).endpoint.state).toBe('failing');
    await waitFor(
      async () => (await status(hanging.app.applicationId)).endpoint.lastError !== null,
      5_000,
      'a time-out',
    );
    expect((await status(hanging.app.applicationId)).endpoint.lastError).toMatch(
      /did not answer within 3 s/,
    );
    failing.endpoint.respond = () => 200;
    hanging.endpoint.respond = () => 200;
  });

  it("keeps delivering to others while one application's reporting secret cannot be opened", async () => {
    const good = await setUp('acme-fine');
    const broken = await setUp('acme-unkeyed');
    // Sealed with a key this server does not have (a key ring changed without it).
    await t.db
      .updateTable('applications')
      .set({ reporting_secret_sealed: 'v1.gone.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAA' })
      .where('id', '=', broken.app.applicationId)
      .execute();
    await Promise.all(
      ['acme-fine', 'acme-unkeyed'].map((appId) =>
        ttn.control('/uplinks', { appId, count: 50, perSecond: 200 }),
      ),
    );
    await waitFor(() => uniqueKeys(good.endpoint).size === 50, 10_000, 'the 50 good ones');
    await waitFor(
      async () => (await status(broken.app.applicationId)).endpoint.lastError !== null,
      5_000,
      'the broken application to fail',
    );
    const failed = await status(broken.app.applicationId);
    expect(failed.endpoint.lastError).toContain('The reporting secret cannot be used');
    expect(failed.endpoint.lastError).toContain('key id gone');
    expect(broken.endpoint.received).toHaveLength(0);
  });

  it('dead-letters deliveries that fail past the retry period, and redelivers them on request', async () => {
    const { app, endpoint } = await setUp('acme-dead');
    endpoint.respond = () => 500;
    await ttn.control('/uplinks', { appId: 'acme-dead', count: 20, perSecond: 200 });
    await waitFor(
      async () => (await status(app.applicationId)).backlog === 20,
      10_000,
      'a backlog of 20',
    );
    // As if they had been failing for more than the retry period (24 hours).
    await t.db
      .updateTable('deliveries')
      .set({ created_at: new Date(Date.now() - 25 * 3_600_000).toISOString() })
      .where('application_id', '=', app.applicationId)
      .execute();
    await waitFor(
      async () => (await status(app.applicationId)).deadLetters === 20,
      10_000,
      '20 dead letters',
    );
    expect(await status(app.applicationId)).toMatchObject({ backlog: 0, deadLetters: 20 });
    const list = await t.request('GET', `/api/applications/${app.applicationId}/uplinks?limit=1`, {
      token: admin.token,
    });
    expect(
      (list.json() as { items: { delivery: { status: string; lastError: string } }[] }).items[0]!
        .delivery,
    ).toMatchObject({
      status: 'dead',
      lastError: expect.stringContaining('500') as string,
    });

    endpoint.respond = () => 200;
    const res = await t.request(
      'POST',
      `/api/applications/${app.applicationId}/delivery/redeliver`,
      { token: admin.token },
    );
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ requeued: 20 });
    await waitFor(() => uniqueKeys(endpoint).size === 20, 10_000, 'the 20 redelivered');
    await waitFor(
      async () => (await status(app.applicationId)).delivered === 20,
      5_000,
      '20 delivered',
    );
  });

  it('purges delivered uplinks after the retention time, keeping pending ones, and dead letters after theirs', async () => {
    const { app, endpoint } = await setUp('acme-retention');
    await ttn.control('/uplinks', { appId: 'acme-retention', count: 10, perSecond: 200 });
    await waitFor(
      async () => (await status(app.applicationId)).delivered === 10,
      10_000,
      '10 delivered',
    );
    endpoint.respond = () => 500;
    await ttn.control('/uplinks', { appId: 'acme-retention', count: 5, perSecond: 200 });
    await waitFor(
      async () => (await status(app.applicationId)).backlog === 5,
      10_000,
      'a backlog of 5',
    );
    await t.db
      .updateTable('uplinks')
      .set({ ingested_at: new Date(Date.now() - 8 * 86_400_000).toISOString() })
      .where('application_id', '=', app.applicationId)
      .execute();
    const cutoff = new Date(Date.now() - t.config.uplinks.retentionMs).toISOString();
    expect(await purgeDelivered(t.db, cutoff, 1_000)).toBeGreaterThanOrEqual(10);
    expect(await status(app.applicationId)).toMatchObject({ delivered: 0, backlog: 5 });

    await t.db
      .updateTable('deliveries')
      .set({ status: 'dead', updated_at: new Date(Date.now() - 31 * 86_400_000).toISOString() })
      .where('application_id', '=', app.applicationId)
      .where('status', '=', 'pending')
      .execute();
    const deadCutoff = new Date(Date.now() - t.config.uplinks.deadLetterRetentionMs).toISOString();
    expect(await purgeDeadLetters(t.db, deadCutoff, 1_000)).toBe(5);
    expect(await status(app.applicationId)).toMatchObject({ backlog: 0, deadLetters: 0 });
    endpoint.respond = () => 200;
  });
});
