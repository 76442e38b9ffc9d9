import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNetworkSettings } from '../src/networks/networks.service.js';
import { createTenant, problemOf, startTestApp, type TestApp } from './harness/app.js';
import { DIALECTS } from './harness/database.js';

const CLIENT_SECRET = 'ttn-client-secret-4f1c9e7a2b';
const NEW_SECRET = 'rotated-client-secret-8d2e6a1f';

describe.each(DIALECTS)('networks (%s)', (dialect) => {
  let t: TestApp;
  let acme: Awaited<ReturnType<typeof createTenant>>;
  let globex: Awaited<ReturnType<typeof createTenant>>;
  /** Every answer body seen in this suite: no secret may appear in any of them. */
  const answers: string[] = [];
  const call = async (...args: Parameters<TestApp['request']>): Promise<LightMyRequestResponse> => {
    const res = await t.request(...args);
    answers.push(res.body, JSON.stringify(res.headers));
    return res;
  };
  const create = (token: string, name: string, settings: Record<string, string>) =>
    call('POST', '/api/networks', { token, body: { name, protocolId: 'ttn-v2', settings } });

  beforeAll(async () => {
    t = await startTestApp(dialect);
    acme = await createTenant(t, 'Acme');
    globex = await createTenant(t, 'Globex');
  });
  afterAll(async () => t?.close());

  it('creates a ttn-v2 network: 201, defaults applied, secret shown as {set: true}, pending authorization', async () => {
    const res = await create(acme.admin.token, 'TTN EU', {
      clientId: 'lpwan-test',
      clientSecret: CLIENT_SECRET,
    });
    expect(res.statusCode).toBe(201);
    const network = res.json();
    expect(network).toMatchObject({
      name: 'TTN EU',
      protocolId: 'ttn-v2',
      organizationId: acme.organizationId,
      settings: {
        clientId: 'lpwan-test',
        clientSecret: { set: true },
        accountServerUrl: 'https://account.thethingsnetwork.org',
        handlerUrl: 'http://eu.thethings.network:8084',
        mqttUrl: 'mqtt://eu.thethings.network:1883',
      },
      status: 'pending_authorization',
      statusMessage: null,
      linkedAccount: null,
      tokenExpiresAt: null,
    });
    expect(network.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(network.createdAt).toBe(network.updatedAt);
  });

  it('a missing required field is a 400 that names it', async () => {
    const noId = await create(acme.admin.token, 'No id', { clientSecret: CLIENT_SECRET });
    expect(problemOf(noId)).toMatchObject({ status: 400, code: 'validation_failed' });
    expect(problemOf(noId).errors).toEqual([
      { field: 'settings.clientId', message: 'is required' },
    ]);

    const noSecret = await create(acme.admin.token, 'No secret', {
      clientId: 'x',
      clientSecret: '  ',
    });
    expect(problemOf(noSecret).errors).toEqual([
      { field: 'settings.clientSecret', message: 'is required' },
    ]);

    const noSettings = await call('POST', '/api/networks', {
      token: acme.admin.token,
      body: { name: 'n', protocolId: 'ttn-v2' },
    });
    expect(problemOf(noSettings).errors).toContainEqual({
      field: 'settings',
      message: 'is required',
    });
  });

  it('unknown settings, bad URLs and unknown protocols are 400', async () => {
    const unknown = await create(acme.admin.token, 'u', {
      clientId: 'x',
      clientSecret: CLIENT_SECRET,
      region: 'eu',
    });
    expect(problemOf(unknown).errors?.map((e) => e.field)).toEqual(['settings.region']);

    const badUrl = await create(acme.admin.token, 'u', {
      clientId: 'x',
      clientSecret: CLIENT_SECRET,
      accountServerUrl: 'not a url',
      mqttUrl: 'http://wrong.scheme',
    });
    expect(
      problemOf(badUrl)
        .errors?.map((e) => e.field)
        .sort(),
    ).toEqual(['settings.accountServerUrl', 'settings.mqttUrl']);

    const wrongType = await call('POST', '/api/networks', {
      token: acme.admin.token,
      body: {
        name: 'n',
        protocolId: 'ttn-v2',
        settings: { clientId: 42, clientSecret: CLIENT_SECRET },
      },
    });
    expect(problemOf(wrongType).errors).toContainEqual(
      expect.objectContaining({ field: 'settings.clientId' }),
    );

    const protocol = await call('POST', '/api/networks', {
      token: acme.admin.token,
      body: { name: 'n', protocolId: 'carrier-pigeon', settings: {} },
    });
    expect(problemOf(protocol)).toMatchObject({ status: 400, code: 'validation_failed' });
    expect(problemOf(protocol).errors?.[0]?.field).toBe('protocolId');
  });

  it('overrides of the handler and MQTT addresses are kept (the simulator runs on localhost)', async () => {
    const res = await create(acme.admin.token, 'Simulator', {
      clientId: 'sim',
      clientSecret: CLIENT_SECRET,
      accountServerUrl: 'http://127.0.0.1:4100',
      handlerUrl: 'http://127.0.0.1:4101',
      mqttUrl: 'mqtt://127.0.0.1:4102',
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().settings).toMatchObject({
      accountServerUrl: 'http://127.0.0.1:4100',
      handlerUrl: 'http://127.0.0.1:4101',
      mqttUrl: 'mqtt://127.0.0.1:4102',
    });
  });

  it('names are unique within an organization (409), not across', async () => {
    const dup = await create(acme.admin.token, 'TTN EU', {
      clientId: 'x',
      clientSecret: CLIENT_SECRET,
    });
    expect(problemOf(dup)).toMatchObject({ status: 409, code: 'name_taken' });
    const elsewhere = await create(globex.admin.token, 'TTN EU', {
      clientId: 'g',
      clientSecret: CLIENT_SECRET,
    });
    expect(elsewhere.statusCode).toBe(201);
  });

  it('lists with paging; members may read', async () => {
    for (const name of ['Page A', 'Page B', 'Page C']) {
      expect(
        (await create(acme.admin.token, name, { clientId: 'p', clientSecret: CLIENT_SECRET }))
          .statusCode,
      ).toBe(201);
    }
    const all = (await call('GET', '/api/networks', { token: acme.member.token })).json();
    expect(all.limit).toBe(50);
    expect(all.offset).toBe(0);
    expect(all.total).toBe(5);
    expect(
      all.items.every((n: { organizationId: string }) => n.organizationId === acme.organizationId),
    ).toBe(true);

    const page = (
      await call('GET', '/api/networks?limit=2&offset=2', { token: acme.member.token })
    ).json();
    expect(page.items.map((n: { name: string }) => n.name)).toEqual(['Page C', 'Simulator']);
    expect(page.total).toBe(5);

    const tooMany = await call('GET', '/api/networks?limit=201', { token: acme.member.token });
    expect(problemOf(tooMany)).toMatchObject({ status: 400, code: 'validation_failed' });
    expect(problemOf(tooMany).errors?.[0]?.field).toBe('limit');
    // Numbers are read as written: no rounding, no booleans or hexadecimal taken for numbers.
    for (const query of ['limit=1.5', 'limit=true', 'limit=0x10', 'limit=1e1', 'offset=0.5']) {
      const res = await call('GET', `/api/networks?${query}`, { token: acme.member.token });
      expect(problemOf(res).errors, query).toEqual([
        { field: query.split('=')[0], message: 'must be an integer' },
      ]);
    }
  });

  it("another organization's network is a 404 for every verb; members cannot change networks (403)", async () => {
    const own = (await call('GET', '/api/networks', { token: acme.admin.token })).json().items[0];
    for (const who of [globex.admin, globex.member]) {
      expect(
        problemOf(await call('GET', `/api/networks/${own.id}`, { token: who.token })),
      ).toMatchObject({ status: 404, code: 'not_found' });
    }
    const patch = await call('PATCH', `/api/networks/${own.id}`, {
      token: globex.admin.token,
      body: { name: 'mine now' },
    });
    expect(problemOf(patch)).toMatchObject({ status: 404, code: 'not_found' });
    const del = await call('DELETE', `/api/networks/${own.id}`, { token: globex.admin.token });
    expect(problemOf(del)).toMatchObject({ status: 404, code: 'not_found' });
    expect(
      (await call('GET', `/api/networks/${own.id}`, { token: acme.member.token })).statusCode,
    ).toBe(200);

    const memberPatch = await call('PATCH', `/api/networks/${own.id}`, {
      token: acme.member.token,
      body: { name: 'x' },
    });
    expect(problemOf(memberPatch)).toMatchObject({ status: 403, code: 'forbidden' });
    const memberDelete = await call('DELETE', `/api/networks/${own.id}`, {
      token: acme.member.token,
    });
    expect(problemOf(memberDelete)).toMatchObject({ status: 403, code: 'forbidden' });
    expect(
      (await call('GET', '/api/networks/does-not-exist', { token: acme.admin.token })).statusCode,
    ).toBe(404);
  });

  it('PATCH merges settings: a secret left out keeps its value, a new one replaces it', async () => {
    const network = (
      await create(acme.admin.token, 'Patchable', { clientId: 'one', clientSecret: CLIENT_SECRET })
    ).json();

    const renamed = await call('PATCH', `/api/networks/${network.id}`, {
      token: acme.admin.token,
      body: { name: 'Patched', settings: { clientId: 'two', handlerUrl: 'http://127.0.0.1:9999' } },
    });
    expect(renamed.statusCode).toBe(200);
    expect(renamed.json()).toMatchObject({
      name: 'Patched',
      settings: {
        clientId: 'two',
        clientSecret: { set: true },
        handlerUrl: 'http://127.0.0.1:9999',
      },
    });
    expect((await readNetworkSettings(t, network.id))?.settings.clientSecret).toBe(CLIENT_SECRET);

    // An empty optional setting returns to its default.
    const reset = await call('PATCH', `/api/networks/${network.id}`, {
      token: acme.admin.token,
      body: { settings: { handlerUrl: '' } },
    });
    expect(reset.json().settings.handlerUrl).toBe('http://eu.thethings.network:8084');

    const rotated = await call('PATCH', `/api/networks/${network.id}`, {
      token: acme.admin.token,
      body: { settings: { clientSecret: NEW_SECRET } },
    });
    expect(rotated.json().settings.clientSecret).toEqual({ set: true });
    expect((await readNetworkSettings(t, network.id))?.settings.clientSecret).toBe(NEW_SECRET);

    const cleared = await call('PATCH', `/api/networks/${network.id}`, {
      token: acme.admin.token,
      body: { settings: { clientId: '' } },
    });
    expect(problemOf(cleared).errors).toEqual([
      { field: 'settings.clientId', message: 'is required' },
    ]);
    const unknown = await call('PATCH', `/api/networks/${network.id}`, {
      token: acme.admin.token,
      body: { status: 'authorized' },
    });
    expect(problemOf(unknown).errors).toEqual([
      { field: 'status', message: 'is not a known property' },
    ]);
  });

  it('deletes a network (204, then 404)', async () => {
    const network = (
      await create(acme.admin.token, 'Doomed', { clientId: 'd', clientSecret: CLIENT_SECRET })
    ).json();
    expect(
      (await call('DELETE', `/api/networks/${network.id}`, { token: acme.admin.token })).statusCode,
    ).toBe(204);
    expect(
      (await call('GET', `/api/networks/${network.id}`, { token: acme.admin.token })).statusCode,
    ).toBe(404);
  });

  it('the secret never appears in any API answer', () => {
    expect(answers.length).toBeGreaterThan(20);
    for (const body of answers) {
      expect(body).not.toContain(CLIENT_SECRET);
      expect(body).not.toContain(NEW_SECRET);
    }
  });

  it('the secret is not stored in plain text', async () => {
    const rows = await sql<Record<string, unknown>>`select * from networks`.execute(t.db);
    expect(rows.rows.length).toBeGreaterThan(0);
    const dump = JSON.stringify(rows.rows);
    expect(dump).not.toContain(CLIENT_SECRET);
    expect(dump).not.toContain(NEW_SECRET);
    expect(dump).toContain('"secrets_json"');

    if (t.database.file) {
      // Every byte of the SQLite file and its write-ahead log.
      const dir = path.dirname(t.database.file);
      const all = Buffer.concat(readdirSync(dir).map((name) => readFileSync(path.join(dir, name))));
      expect(all.includes(Buffer.from(CLIENT_SECRET))).toBe(false);
      expect(all.includes(Buffer.from(NEW_SECRET))).toBe(false);
      expect(all.includes(Buffer.from('lpwan-test'))).toBe(true); // non-secret settings are there in clear
      // Also after moving the write-ahead log into the main file.
      await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(t.db);
      const main = readFileSync(t.database.file);
      expect(main.includes(Buffer.from(CLIENT_SECRET))).toBe(false);
      expect(main.includes(Buffer.from('lpwan-test'))).toBe(true);
    }
  });

  it('a ciphertext moved to another network does not decrypt', async () => {
    const a = (
      await create(acme.admin.token, 'Move A', { clientId: 'a', clientSecret: CLIENT_SECRET })
    ).json();
    const b = (
      await create(acme.admin.token, 'Move B', { clientId: 'b', clientSecret: NEW_SECRET })
    ).json();
    const rowA = await t.db
      .selectFrom('networks')
      .select('secrets_json')
      .where('id', '=', a.id)
      .executeTakeFirstOrThrow();
    await t.db
      .updateTable('networks')
      .set({ secrets_json: rowA.secrets_json })
      .where('id', '=', b.id)
      .execute();
    await expect(readNetworkSettings(t, b.id)).rejects.toMatchObject({
      code: 'secret_undecryptable',
    });
  });
});
