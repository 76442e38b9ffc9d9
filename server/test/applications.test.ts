/**
 * Applications and devices managed locally (issue 5, part 1): CRUD, paging and search,
 * validation naming the field, keys sealed at rest and shown to admins only, tenant isolation,
 * CSV import with per-line errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTenant,
  problemOf,
  startTestApp,
  type SignedIn,
  type TestApp,
} from './harness/app.js';
import { DIALECTS } from './harness/database.js';

const OTAA = {
  name: 'Sensor 1',
  devEui: '70B3D57ED0000001',
  joinEui: '70B3D57ED0000000',
  appKey: '00112233445566778899AABBCCDDEEFF',
};

describe.each(DIALECTS)('applications and devices (%s)', (dialect) => {
  let t: TestApp;
  let admin: SignedIn;
  let member: SignedIn;
  let other: SignedIn;

  beforeAll(async () => {
    t = await startTestApp(dialect);
    ({ admin, member } = await createTenant(t, 'Acme'));
    ({ admin: other } = await createTenant(t, 'Other'));
  });
  afterAll(async () => {
    await t?.close();
  });

  const createApp = async (name = 'Weather', who = admin) => {
    const res = await t.request('POST', '/api/applications', { token: who.token, body: { name } });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: string; name: string };
  };

  it('creates, lists, renames and deletes applications; members read only', async () => {
    const created = await createApp('Parking');
    const bad = await t.request('POST', '/api/applications', {
      token: admin.token,
      body: { name: 'X', reportingUrl: 'ftp://example.com' },
    });
    expect(problemOf(bad)).toMatchObject({ status: 400, errors: [{ field: 'reportingUrl' }] });
    // Credentials in the URL would be shown to every member.
    const withPassword = await t.request('PATCH', `/api/applications/${created.id}`, {
      token: admin.token,
      body: { reportingUrl: 'https://user:secret@vendor.example.com/uplinks' },
    });
    expect(problemOf(withPassword)).toMatchObject({
      status: 400,
      errors: [
        {
          field: 'reportingUrl',
          message: 'must not contain a user name or password (deliveries are signed instead)',
        },
      ],
    });
    const list = await t.request('GET', '/api/applications?limit=1', { token: member.token });
    expect(list.json()).toMatchObject({ total: expect.any(Number), limit: 1, offset: 0 });
    expect((list.json() as { items: unknown[] }).items).toHaveLength(1);
    expect(
      problemOf(
        await t.request('POST', '/api/applications', { token: member.token, body: { name: 'No' } }),
      ),
    ).toMatchObject({ status: 403 });
    const renamed = await t.request('PATCH', `/api/applications/${created.id}`, {
      token: admin.token,
      body: { name: 'Parking lots', reportingUrl: 'https://vendor.example.com/uplinks' },
    });
    expect(renamed.json()).toMatchObject({
      name: 'Parking lots',
      reportingUrl: 'https://vendor.example.com/uplinks',
    });
    expect(
      (await t.request('DELETE', `/api/applications/${created.id}`, { token: admin.token }))
        .statusCode,
    ).toBe(204);
    expect(
      problemOf(await t.request('GET', `/api/applications/${created.id}`, { token: admin.token })),
    ).toMatchObject({
      status: 404,
    });
  });

  it("answers 404 for another organization's application and devices", async () => {
    const app = await createApp('Private');
    const device = await t.request('POST', `/api/applications/${app.id}/devices`, {
      token: admin.token,
      body: { ...OTAA, devEui: '70B3D57ED00000AA' },
    });
    const deviceId = (device.json() as { id: string }).id;
    for (const url of [
      `/api/applications/${app.id}`,
      `/api/applications/${app.id}/devices`,
      `/api/applications/${app.id}/devices/${deviceId}`,
      `/api/applications/${app.id}/links`,
    ]) {
      expect(problemOf(await t.request('GET', url, { token: other.token })), url).toMatchObject({
        status: 404,
        code: 'not_found',
      });
    }
    expect(
      problemOf(await t.request('DELETE', `/api/applications/${app.id}`, { token: other.token })),
    ).toMatchObject({ status: 404 });
    // The same DevEUI is fine in another organization.
    const otherApp = await createApp('Theirs', other);
    const theirs = await t.request('POST', `/api/applications/${otherApp.id}/devices`, {
      token: other.token,
      body: { ...OTAA, devEui: '70B3D57ED00000AA' },
    });
    expect(theirs.statusCode, theirs.body).toBe(201);
  });

  it('validates devices with a 400 naming the field', async () => {
    const app = await createApp();
    const post = (body: unknown) =>
      t.request('POST', `/api/applications/${app.id}/devices`, { token: admin.token, body });
    expect(problemOf(await post({ ...OTAA, devEui: '70B3D57ED000001' }))).toMatchObject({
      status: 400,
      code: 'validation_failed',
      errors: [{ field: 'devEui', message: 'must be 16 hexadecimal digits' }],
    });
    expect(problemOf(await post({ ...OTAA, devEui: 'not-hex-at-all!!' })).errors?.[0]?.field).toBe(
      'devEui',
    );
    expect(problemOf(await post({ ...OTAA, appKey: 'ABC' })).errors).toEqual([
      { field: 'appKey', message: 'must be 32 hexadecimal digits' },
    ]);
    expect(
      problemOf(await post({ name: 'n', devEui: OTAA.devEui, activation: 'abp' })).errors?.map(
        (e) => e.field,
      ),
    ).toEqual(['devAddr', 'nwkSKey', 'appSKey']);
    expect(problemOf(await post({ ...OTAA, joinEui: undefined })).errors?.[0]?.field).toBe(
      'joinEui',
    );
    expect(problemOf(await post({ ...OTAA, activation: 'OTAA' })).errors).toEqual([
      { field: 'activation', message: 'must be one of: "otaa", "abp"' },
    ]);
    // A field of the other activation is checked too; a well-formed one is dropped.
    expect(problemOf(await post({ ...OTAA, devAddr: 'garbage', nwkSKey: 'xyz' })).errors).toEqual([
      { field: 'devAddr', message: 'must be 8 hexadecimal digits' },
      { field: 'nwkSKey', message: 'must be 32 hexadecimal digits' },
    ]);
    const dropped = await post({ ...OTAA, devEui: '70B3D57ED0000009', devAddr: '26011234' });
    expect(dropped.json()).toMatchObject({ activation: 'otaa', devAddr: null });
    // Separators and lower case are accepted and normalized.
    const ok = await post({ ...OTAA, devEui: '70:b3:d5:7e:d0:00:00:01' });
    expect(ok.json()).toMatchObject({ devEui: '70B3D57ED0000001', activation: 'otaa' });
    expect(problemOf(await post(OTAA))).toMatchObject({ status: 409, code: 'dev_eui_taken' });
  });

  it('seals keys at rest and shows them to organization admins on request only', async () => {
    const app = await createApp();
    const res = await t.request('POST', `/api/applications/${app.id}/devices`, {
      token: admin.token,
      body: {
        name: 'ABP one',
        devEui: '70B3D57ED0000002',
        activation: 'abp',
        devAddr: '26011234',
        nwkSKey: 'AAAABBBBCCCCDDDDEEEEFFFF00001111',
        appSKey: '11112222333344445555666677778888',
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.body).not.toContain('AAAABBBB');
    const id = (res.json() as { id: string }).id;
    const detail = await t.request('GET', `/api/applications/${app.id}/devices/${id}`, {
      token: member.token,
    });
    expect(detail.json()).toMatchObject({ devAddr: '26011234', links: [] });
    expect(detail.body).not.toContain('AAAABBBB');
    const row = await t.db
      .selectFrom('devices')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain('AAAABBBB');
    const keysUrl = `/api/applications/${app.id}/devices/${id}/keys`;
    expect(problemOf(await t.request('GET', keysUrl, { token: member.token }))).toMatchObject({
      status: 403,
    });
    const keys = await t.request('GET', keysUrl, { token: admin.token });
    expect(keys.json()).toEqual({
      appKey: null,
      nwkSKey: 'AAAABBBBCCCCDDDDEEEEFFFF00001111',
      appSKey: '11112222333344445555666677778888',
    });
    // A patch merges; switching to OTAA needs the OTAA fields.
    const patch = (body: unknown) =>
      t.request('PATCH', `/api/applications/${app.id}/devices/${id}`, { token: admin.token, body });
    expect(problemOf(await patch({ activation: 'otaa' })).errors?.map((e) => e.field)).toEqual([
      'joinEui',
      'appKey',
    ]);
    expect((await patch({ name: 'ABP renamed' })).json()).toMatchObject({
      name: 'ABP renamed',
      devAddr: '26011234',
    });
  });

  it('pages and searches devices by name or DevEUI', async () => {
    const app = await createApp('Many');
    for (let i = 0; i < 12; i++) {
      const res = await t.request('POST', `/api/applications/${app.id}/devices`, {
        token: admin.token,
        body: {
          ...OTAA,
          name: `meter-${String(i).padStart(2, '0')}`,
          devEui: `A0000000000000${String(i).padStart(2, '0')}`,
        },
      });
      expect(res.statusCode, res.body).toBe(201);
    }
    const page = await t.request('GET', `/api/applications/${app.id}/devices?limit=5&offset=10`, {
      token: member.token,
    });
    expect(page.json()).toMatchObject({ total: 12, limit: 5, offset: 10 });
    expect((page.json() as { items: { name: string }[] }).items.map((d) => d.name)).toEqual([
      'meter-10',
      'meter-11',
    ]);
    const byName = await t.request('GET', `/api/applications/${app.id}/devices?search=METER-0`, {
      token: member.token,
    });
    expect((byName.json() as { total: number }).total).toBe(10);
    const byEui = await t.request(
      'GET',
      `/api/applications/${app.id}/devices?search=a00000000000000`,
      { token: member.token },
    );
    expect((byEui.json() as { items: { devEui: string }[] }).items.map((d) => d.devEui)).toEqual([
      'A000000000000000',
      'A000000000000001',
      'A000000000000002',
      'A000000000000003',
      'A000000000000004',
      'A000000000000005',
      'A000000000000006',
      'A000000000000007',
      'A000000000000008',
      'A000000000000009',
    ]);
    const app2 = await t.request('GET', `/api/applications/${app.id}`, { token: member.token });
    expect(app2.json()).toMatchObject({ deviceCount: 12 });

    // % and _ in the search text are matched as they are, on both databases.
    for (const [name, devEui] of [
      ['pump_1', 'A0000000000000F1'],
      ['pumpx1', 'A0000000000000F2'],
      ['100% valve', 'A0000000000000F3'],
    ]) {
      const res = await t.request('POST', `/api/applications/${app.id}/devices`, {
        token: admin.token,
        body: { ...OTAA, name, devEui },
      });
      expect(res.statusCode, res.body).toBe(201);
    }
    const names = async (search: string) =>
      (
        (
          await t.request(
            'GET',
            `/api/applications/${app.id}/devices?search=${encodeURIComponent(search)}`,
            { token: member.token },
          )
        ).json() as { items: { name: string }[] }
      ).items.map((d) => d.name);
    expect(await names('p_1')).toEqual(['pump_1']);
    expect(await names('0%')).toEqual(['100% valve']);
    // A DevEUI is found as people write it, with separators.
    expect(await names('00:00:f')).toEqual(['100% valve', 'pump_1', 'pumpx1']);
  });

  it('links once per network, and only to networks of the same organization', async () => {
    const network = await t.request('POST', '/api/networks', {
      token: admin.token,
      body: {
        name: 'TTN (never contacted)',
        protocolId: 'ttn-v2',
        settings: {
          clientId: 'client',
          clientSecret: 'client-secret',
          accountServerUrl: 'http://127.0.0.1:9',
          handlerUrl: 'http://127.0.0.1:9',
          mqttUrl: 'mqtt://127.0.0.1:9',
        },
      },
    });
    expect(network.statusCode, network.body).toBe(201);
    const networkId = (network.json() as { id: string }).id;
    const app = await createApp('Linked');
    const link = (body: unknown, who = admin, appId = app.id) =>
      t.request('POST', `/api/applications/${appId}/links`, { token: who.token, body });
    const first = await link({ networkId, remoteId: 'linked-app' });
    expect(first.statusCode, first.body).toBe(202);
    expect(first.json()).toMatchObject({
      state: 'pending',
      remoteId: 'linked-app',
      uplinkKey: { set: false },
    });
    expect(problemOf(await link({ networkId }))).toMatchObject({
      status: 409,
      code: 'link_exists',
    });
    expect(
      problemOf(
        await link({ networkId, remoteId: 'Not Valid!' }, admin, (await createApp('Other')).id),
      ),
    ).toMatchObject({
      status: 400,
      errors: [{ field: 'remoteId' }],
    });
    expect(problemOf(await link({ networkId }, member))).toMatchObject({ status: 403 });
    const theirs = await createApp('Theirs too', other);
    expect(problemOf(await link({ networkId }, other, theirs.id))).toMatchObject({ status: 404 });
    const linkId = (first.json() as { id: string }).id;
    expect(
      problemOf(
        await t.request('POST', `/api/applications/${app.id}/links/${linkId}/retry`, {
          token: other.token,
        }),
      ),
    ).toMatchObject({ status: 404 });
    expect(
      problemOf(await t.request('POST', `/api/networks/${networkId}/pull`, { token: other.token })),
    ).toMatchObject({ status: 404 });
    // An action without fields takes none: a field sent to it is a mistake worth saying.
    const withField = await t.request('POST', `/api/applications/${app.id}/links/${linkId}/retry`, {
      token: admin.token,
      body: { force: true },
    });
    expect(problemOf(withField)).toMatchObject({
      status: 400,
      errors: [{ field: '(body)', message: 'must be empty: this request takes no body' }],
    });
    const empty = await t.request('POST', `/api/applications/${app.id}/links/${linkId}/retry`, {
      token: admin.token,
      body: {},
    });
    expect(empty.statusCode, empty.body).toBe(202);
  });

  it('imports good CSV rows and reports each bad row with its line number', async () => {
    const app = await createApp('Imported');
    const csv = [
      'Name,DevEUI,AppEUI,AppKey,DevAddr,NwkSKey,AppSKey',
      'one,70B3D57ED0001001,70B3D57ED0000000,00112233445566778899AABBCCDDEEFF,,,',
      'two,70B3D57ED000100,70B3D57ED0000000,00112233445566778899AABBCCDDEEFF,,,',
      'three,70B3D57ED0001003,,,26011235,AAAABBBBCCCCDDDDEEEEFFFF00001111,11112222333344445555666677778888',
      'four,70B3D57ED0001001,70B3D57ED0000000,00112233445566778899AABBCCDDEEFF,,,',
      '',
    ].join('\n');
    const res = await t.request('POST', `/api/applications/${app.id}/devices/import`, {
      token: admin.token,
      payload: csv,
      headers: { 'content-type': 'text/csv' },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      total: 4,
      created: 2,
      failed: 2,
      ignoredColumns: [],
      errors: [
        { line: 3, field: 'devEui', message: 'must be 16 hexadecimal digits' },
        { line: 5, field: 'devEui', message: 'repeats the DevEUI of line 2' },
      ],
    });
    const devices = await t.request('GET', `/api/applications/${app.id}/devices`, {
      token: admin.token,
    });
    expect(
      (devices.json() as { items: { name: string; activation: string }[] }).items,
    ).toMatchObject([
      { name: 'one', activation: 'otaa' },
      { name: 'three', activation: 'abp' },
    ]);
    const again = await t.request(
      'POST',
      `/api/applications/${app.id}/devices/import?lineOffset=100`,
      {
        token: admin.token,
        payload:
          'name,dev_eui,join_eui,app_key,Location\none,70B3D57ED0001001,70B3D57ED0000000,00112233445566778899AABBCCDDEEFF,Dock 4\n',
        headers: { 'content-type': 'text/csv' },
      },
    );
    expect(again.json()).toMatchObject({
      created: 0,
      ignoredColumns: ['Location'],
      errors: [
        { line: 102, field: 'devEui', message: 'is used by another device of your organization' },
      ],
    });
    const noHeader = await t.request('POST', `/api/applications/${app.id}/devices/import`, {
      token: admin.token,
      payload: 'foo,bar\n1,2\n',
      headers: { 'content-type': 'text/csv' },
    });
    expect(problemOf(noHeader)).toMatchObject({ status: 400, code: 'validation_failed' });
  });

  it('reads CSV as people write it: quotes inside values, unreadable rows reported alone, semicolons', async () => {
    const app = await createApp('Hand-written');
    const post = (payload: string) =>
      t.request('POST', `/api/applications/${app.id}/devices/import`, {
        token: admin.token,
        payload,
        headers: { 'content-type': 'text/csv' },
      });
    const key = '00112233445566778899AABBCCDDEEFF';
    const res = await post(
      [
        'name,DevEUI,AppEUI,AppKey',
        `Tank 5" sensor,70B3D57ED0003001,70B3D57ED0000000,${key}`,
        `"closed"early,70B3D57ED0003002,70B3D57ED0000000,${key}`,
        `after,70B3D57ED0003003,70B3D57ED0000000,${key}`,
        `"never closed,70B3D57ED0003004,70B3D57ED0000000,${key}`,
        `lost,70B3D57ED0003005,70B3D57ED0000000,${key}`,
        '',
      ].join('\r\n'),
    );
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      total: 4,
      created: 2,
      failed: 2,
      ignoredColumns: [],
      errors: [
        {
          line: 3,
          field: null,
          message:
            'has text after the closing quote of a quoted value (write a quote inside one as "")',
        },
        {
          line: 5,
          field: null,
          message:
            'opens a quoted value that is never closed: this line and every line after it could not be read',
        },
      ],
    });
    const names = (
      (
        await t.request('GET', `/api/applications/${app.id}/devices`, { token: admin.token })
      ).json() as { items: { name: string }[] }
    ).items.map((d) => d.name);
    expect(names.sort()).toEqual(['Tank 5" sensor', 'after']);

    // A spreadsheet's semicolons; a value with a comma in it stays whole.
    const semicolons = await post(
      `Name;DevEUI;AppEUI;AppKey;Description\nsemi;70B3D57ED0003006;70B3D57ED0000000;${key};north, by the gate\n`,
    );
    expect(semicolons.json()).toMatchObject({ created: 1, failed: 0 });
    // A file of mostly unreadable rows is read up to the 100th, and says where it stopped.
    const broken = ['name,DevEUI'];
    for (let i = 0; i < 150; i++) broken.push(`"x"y${i},70B3D57ED004${String(i).padStart(4, '0')}`);
    const tooMany = (await post(broken.join('\n'))).json() as {
      created: number;
      errors: { line: number; message: string }[];
    };
    expect(tooMany.created).toBe(0);
    expect(tooMany.errors).toHaveLength(101);
    expect(tooMany.errors[100]).toEqual({
      line: 102,
      field: null,
      message: 'and the lines after it were not read: more than 100 rows could not be read as CSV',
    });
    // A header that cannot be read is the file's problem.
    expect(problemOf(await post('"name,DevEUI\none,70B3D57ED0003007\n'))).toMatchObject({
      status: 400,
      errors: [{ field: '(body)', message: expect.stringMatching(/^line 1, the header, opens/) }],
    });
  });

  it('imports CSV files past the 1 MiB of JSON bodies, up to 4 MiB', async () => {
    const app = await createApp('Big import');
    const row = (i: number) =>
      `big-${i},70B3D57ED1${i.toString(16).toUpperCase().padStart(6, '0')},70B3D57ED0000000,00112233445566778899AABBCCDDEEFF,${'d'.repeat(1000)}`;
    const csv = (rows: number) =>
      [
        'name,DevEUI,AppEUI,AppKey,description',
        ...Array.from({ length: rows }, (_, i) => row(i)),
      ].join('\n');
    const big = await t.request('POST', `/api/applications/${app.id}/devices/import`, {
      token: admin.token,
      payload: csv(1200),
      headers: { 'content-type': 'text/csv' },
    });
    expect(big.statusCode, big.body).toBe(200);
    expect(big.json()).toMatchObject({ total: 1200, created: 1200, failed: 0 });
    const tooBig = await t.request('POST', `/api/applications/${app.id}/devices/import`, {
      token: admin.token,
      payload: csv(4200),
      headers: { 'content-type': 'text/csv' },
    });
    expect(problemOf(tooBig)).toMatchObject({ status: 413, code: 'payload_too_large' });
  });
});
