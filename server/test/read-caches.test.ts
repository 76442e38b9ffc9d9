/**
 * The per-process read caches (device list answers, checked credentials) never show one
 * process's stale view of another's writes beyond what is documented: two apps share one
 * database here, as two server processes behind a load balancer would. A device list shows
 * another process's write at once on SQLite, and on PostgreSQL once the notification of it has
 * arrived (milliseconds; polled here for at most two seconds, well under the five a version is
 * trusted without one).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { insertUplinks } from '../src/uplinks/uplinks.repository.js';
import { createTenant, startTestApp, type SignedIn, type TestApp } from './harness/app.js';
import { DIALECTS } from './harness/database.js';

interface DeviceList {
  items: { id: string; name: string; devEui: string; lastSeenAt: string | null }[];
  total: number;
}

/** How long another process may take to show a device write (see above). */
const NOTIFIED = { timeout: 2_000, interval: 20 };

describe.each(DIALECTS)('read caches across processes (%s)', (dialect) => {
  let one: TestApp;
  let two: TestApp;
  let admin: SignedIn;

  beforeAll(async () => {
    one = await startTestApp(dialect);
    two = await startTestApp(dialect, { database: one.database, secretKey: one.secretKey });
    ({ admin } = await createTenant(one, 'Acme'));
  });
  afterAll(async () => {
    await two?.close();
    await one?.close();
  });

  it('a device list read in one process shows every change made through the other', async () => {
    const app = await one.request('POST', '/api/applications', {
      token: admin.token,
      body: { name: 'Meters' },
    });
    expect(app.statusCode, app.body).toBe(201);
    const appId = (app.json() as { id: string }).id;
    const list = async (query = 'limit=100') => {
      const res = await two.request('GET', `/api/applications/${appId}/devices?${query}`, {
        token: admin.token,
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      return res.json() as DeviceList;
    };
    const names = async (query?: string) => (await list(query)).items.map((d) => d.name);

    expect(await list()).toEqual({ items: [], total: 0, limit: 100, offset: 0 });

    const created = await one.request('POST', `/api/applications/${appId}/devices`, {
      token: admin.token,
      body: {
        name: 'meter-b',
        devEui: '70B3D57ED0000001',
        joinEui: '70B3D57ED0000000',
        appKey: '00112233445566778899AABBCCDDEEFF',
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    const deviceId = (created.json() as { id: string }).id;
    await expect.poll(() => names(), NOTIFIED).toEqual(['meter-b']);
    expect(await names()).toEqual(['meter-b']); // answered again, the same

    const imported = await one.request('POST', `/api/applications/${appId}/devices/import`, {
      token: admin.token,
      headers: { 'content-type': 'text/csv' },
      payload:
        'name,DevEUI,AppEUI,AppKey\nmeter-a,70B3D57ED0000002,70B3D57ED0000000,' +
        '00112233445566778899AABBCCDDEEFF\n',
    });
    expect(imported.statusCode, imported.body).toBeLessThan(300);
    await expect.poll(() => names(), NOTIFIED).toEqual(['meter-a', 'meter-b']);
    expect(await names('limit=1&offset=1')).toEqual(['meter-b']);
    expect(await names('search=meter-a')).toEqual(['meter-a']);

    const renamed = await one.request('PATCH', `/api/applications/${appId}/devices/${deviceId}`, {
      token: admin.token,
      body: { name: 'meter-c' },
    });
    expect(renamed.statusCode, renamed.body).toBe(200);
    await expect.poll(() => names(), NOTIFIED).toEqual(['meter-a', 'meter-c']);
    expect(await names('limit=1&offset=1')).toEqual(['meter-c']);

    // A stored uplink moves the device's last-seen time: the list shows it.
    const seenAt = new Date().toISOString();
    await insertUplinks(one.db, dialect, [
      {
        id: randomUUID(),
        application_id: appId,
        device_id: deviceId,
        network_id: randomUUID(),
        received_at: seenAt,
        ingested_at: seenAt,
        document: '{}',
      },
    ]);
    await expect
      .poll(async () => (await list()).items.find((d) => d.id === deviceId)?.lastSeenAt, NOTIFIED)
      .toBe(seenAt);

    const deleted = await one.request('DELETE', `/api/applications/${appId}/devices/${deviceId}`, {
      token: admin.token,
    });
    expect(deleted.statusCode, deleted.body).toBe(204);
    await expect
      .poll(() => list(), NOTIFIED)
      .toMatchObject({ items: [{ name: 'meter-a' }], total: 1 });
  });

  it('an ended session is refused at once where it ended, and within a second elsewhere', async () => {
    const session = await one.signIn('acme-member', 'member-password-1');
    const me = (t: TestApp) => t.request('GET', '/api/users/me', { token: session.token });
    expect((await me(one)).statusCode).toBe(200);
    expect((await me(two)).statusCode).toBe(200); // now remembered by the second process

    const signedOut = await one.request('DELETE', '/api/sessions', { token: session.token });
    expect(signedOut.statusCode).toBe(204);
    expect((await me(one)).statusCode).toBe(401);

    await new Promise((r) => setTimeout(r, two.config.authCacheMs + 50));
    expect((await me(two)).statusCode).toBe(401);
  });

  it('a changed role holds at once in the process that changed it', async () => {
    const root = await one.signIn(one.adminUsername, one.adminPassword);
    const member = await one.signIn('acme-member', 'member-password-1');
    const me = await one.request('GET', '/api/users/me', { token: member.token });
    const user = me.json() as { id: string; role: string };
    expect(user.role).toBe('member');

    const promoted = await one.request('PATCH', `/api/users/${user.id}`, {
      token: root.token,
      body: { role: 'admin' },
    });
    expect(promoted.statusCode, promoted.body).toBe(200);
    const after = await one.request('GET', '/api/users/me', { token: member.token });
    expect((after.json() as { role: string }).role).toBe('admin');
  });
});
