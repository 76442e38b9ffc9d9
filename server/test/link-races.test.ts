/**
 * Devices added while their application is being linked: each new device must get a device
 * link under the new application link (or it is never pushed there). On PostgreSQL the two
 * transactions run at once; the application's row is locked by both (lockLinksOfApplication).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, startTestApp, type SignedIn, type TestApp } from './harness/app.js';
import { DIALECTS } from './harness/database.js';
import { startTtn, type Ttn } from './harness/ttn.js';
import { callApi, linkedTtnNetwork } from './sync.harness.js';

describe.each(DIALECTS)('linking while devices are added (%s)', (dialect) => {
  let t: TestApp;
  let ttn: Ttn;
  let admin: SignedIn;
  let networkId: string;

  beforeAll(async () => {
    // No workers: nothing is pushed; what matters is what the link records.
    t = await startTestApp(dialect);
    ttn = await startTtn(`${t.config.publicUrl}/oauth/callback`);
    ({ admin } = await createTenant(t, 'Acme'));
    networkId = await linkedTtnNetwork(t, admin, ttn);
  });
  afterAll(async () => {
    await t?.close();
    await ttn?.close();
  });

  it('gives every device added during a link its device link', async () => {
    for (let round = 0; round < 8; round++) {
      const app = (await callApi(t, admin.token, 'POST', '/api/applications', {
        name: `Race ${round}`,
      })) as { id: string };
      const addDevice = (i: number) =>
        t.request('POST', `/api/applications/${app.id}/devices`, {
          token: admin.token,
          body: {
            name: `device ${i}`,
            devEui: `70B3D57ED0${String(round).padStart(2, '0')}${String(i).padStart(4, '0')}`,
            joinEui: '70B3D57ED0000000',
            appKey: '00112233445566778899AABBCCDDEEFF',
          },
        });
      const answers = await Promise.all([
        t.request('POST', `/api/applications/${app.id}/links`, {
          token: admin.token,
          body: { networkId },
        }),
        ...Array.from({ length: 6 }, (_, i) => addDevice(i)),
      ]);
      expect(answers.map((a) => a.statusCode)).toEqual([202, 201, 201, 201, 201, 201, 201]);
      const devices = await t.db
        .selectFrom('devices')
        .select('id')
        .where('application_id', '=', app.id)
        .execute();
      const linked = await t.db
        .selectFrom('device_links')
        .innerJoin('application_links', 'application_links.id', 'device_links.application_link_id')
        .select('device_links.device_id')
        .where('application_links.application_id', '=', app.id)
        .execute();
      expect(linked.map((l) => l.device_id).sort()).toEqual(devices.map((d) => d.id).sort());
    }
  });
});
