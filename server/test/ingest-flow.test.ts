/**
 * Ingest's flow control: past a thousand uplinks received and not yet stored, it asks the
 * subscriptions to stop reading (ready() gives a promise), and lets them read again once the
 * queue is down to a batch.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nowIso } from '../src/clock.js';
import { createTenant, startTestApp, type TestApp } from './harness/app.js';

describe('ingest flow control', () => {
  let t: TestApp;
  let applicationId: string;

  beforeAll(async () => {
    t = await startTestApp('sqlite');
    const { admin } = await createTenant(t, 'Acme');
    const res = await t.request('POST', '/api/applications', {
      token: admin.token,
      body: { name: 'Meters' },
    });
    expect(res.statusCode, res.body).toBe(201);
    applicationId = (res.json() as { id: string }).id;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('holds reading back while more than a thousand uplinks wait to be stored', async () => {
    const { ingest } = t.app.uplinks;
    expect(ingest.ready()).toBeUndefined();
    let stored = 0;
    const stores = Array.from({ length: 3_000 }, () =>
      ingest
        .store({
          row: {
            id: randomUUID(),
            application_id: applicationId,
            device_id: null,
            network_id: randomUUID(),
            received_at: nowIso(),
            document: '{"test":true}',
          },
        })
        .then(() => stored++),
    );
    const wait = ingest.ready();
    expect(wait).toBeInstanceOf(Promise);
    // Everyone asking meanwhile waits for the same moment.
    expect(ingest.ready()).toBe(wait);
    await wait;
    // Resumed with at most one batch queued and one being written.
    expect(stored).toBeGreaterThanOrEqual(2_000);
    await Promise.all(stores);
    expect(stored).toBe(3_000);
    expect(ingest.ready()).toBeUndefined();
    const count = await t.db
      .selectFrom('uplinks')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('application_id', '=', applicationId)
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(3_000);
  });
});
