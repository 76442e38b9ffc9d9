/**
 * Prometheus metrics at GET /metrics: for the bearer of METRICS_TOKEN only, counting uplinks
 * stored and deliveries by outcome as they happen (simulator → server → loopback endpoint), and
 * reading the deployment's backlog from the database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, problemOf, startTestApp, type TestApp } from './harness/app.js';
import { DIALECTS } from './harness/database.js';
import { createTtnNetwork, startTtn, TTN_USER, type Ttn } from './harness/ttn.js';
import {
  deliveryStatus,
  linkApplication,
  startEndpoint,
  waitFor,
  type Endpoint,
} from './uplinks-fixture.js';

const TOKEN = 'metrics-token-for-the-test';

/** The value of the sample `name` (with its labels, as printed) in a Prometheus text answer. */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe.each(DIALECTS)('metrics (%s)', (dialect) => {
  let t: TestApp;
  let ttn: Ttn;
  let endpoint: Endpoint;

  beforeAll(async () => {
    t = await startTestApp(dialect, { config: { metricsToken: TOKEN } });
    ttn = await startTtn(`${t.config.publicUrl}/oauth/callback`);
    endpoint = await startEndpoint();
    t.app.workers.startAll();
  });
  afterAll(async () => {
    await t?.close();
    await ttn?.close();
    await endpoint?.close();
  });

  const scrape = async () => {
    const res = await t.request('GET', '/metrics', {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain; version=0.0.4');
    return res.body;
  };

  it('is only for the bearer of METRICS_TOKEN', async () => {
    const anonymous = await t.request('GET', '/metrics');
    expect(anonymous.statusCode).toBe(401);
    expect((anonymous.json() as { detail: string }).detail).toContain('METRICS_TOKEN');
    expect(anonymous.body).not.toContain('lpwan_');
    const wrong = await t.request('GET', '/metrics', {
      headers: { authorization: `Bearer ${TOKEN}x` },
    });
    expect(wrong.statusCode).toBe(401);
  });

  it('counts uplinks stored and deliveries made, and reads the backlog', async () => {
    const { admin, organizationId } = await createTenant(t, 'Acme');
    const networkId = await createTtnNetwork(t, admin, ttn);
    const before = await scrape();
    expect(sample(before, 'lpwan_uplinks_stored_total')).toBe(0);
    expect(sample(before, 'lpwan_deliveries_undelivered{status="pending"}')).toBe(0);
    // prom-client's own figures of the process are there too.
    expect(before).toContain('process_cpu_seconds_total');
    expect(before).toContain('nodejs_eventloop_lag_seconds');

    const app = await linkApplication(
      { db: t.db, secretBox: t.secretBox, ttn },
      {
        owner: TTN_USER.username,
        organizationId,
        networkId,
        remoteId: 'acme-metrics',
        devices: 3,
        reportingUrl: endpoint.url,
      },
    );
    await waitFor(
      async () =>
        (await deliveryStatus(t, admin.token, app.applicationId)).subscriptions[0]?.state ===
        'subscribed',
      10_000,
      'subscription',
    );
    expect(sample(await scrape(), 'lpwan_uplink_subscriptions')).toBe(1);

    // 20 refused, then 30 accepted: the refused ones wait in the backlog meanwhile.
    endpoint.respond = () => 503;
    await ttn.control('/uplinks', { appId: 'acme-metrics', count: 20, perSecond: 200 });
    await waitFor(
      async () => {
        const text = await scrape();
        return (
          sample(text, 'lpwan_deliveries_undelivered{status="pending"}') === 20 &&
          (sample(text, 'lpwan_deliveries_total{outcome="failed"}') ?? 0) > 0
        );
      },
      10_000,
      'a backlog of 20, and failed attempts',
    );
    expect(sample(await scrape(), 'lpwan_uplinks_stored_total')).toBe(20);

    endpoint.respond = () => 200;
    await ttn.control('/uplinks', { appId: 'acme-metrics', count: 30, perSecond: 200 });
    await waitFor(
      async () => {
        const text = await scrape();
        return (
          sample(text, 'lpwan_deliveries_total{outcome="delivered"}') === 50 &&
          sample(text, 'lpwan_deliveries_undelivered{status="pending"}') === 0
        );
      },
      15_000,
      'all 50 delivered',
    );
    const after = await scrape();
    expect(sample(after, 'lpwan_uplinks_stored_total')).toBe(50);
    expect(sample(after, 'lpwan_deliveries_undelivered{status="dead"}')).toBe(0);
    expect(sample(after, 'lpwan_sync_tasks{state="failed"}')).toBe(0);
  });
});

describe('metrics without METRICS_TOKEN', () => {
  it('are off, and say how to turn them on', async () => {
    const t = await startTestApp('sqlite');
    try {
      const res = await t.request('GET', '/metrics');
      expect(res.statusCode).toBe(404);
      expect(problemOf(res).code).toBe('not_found');
      expect((res.json() as { detail: string }).detail).toContain('set METRICS_TOKEN');
    } finally {
      await t.close();
    }
  });
});
