import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  appToken,
  bearer,
  call,
  control,
  createUserAndClient,
  json,
  startSim,
  userTokens,
  type Sim,
} from './helpers.js';
import { SIM_DECODER } from '../src/seed.js';

let sim: Sim;
let tokenA: string;
let tokenB: string;
let userToken: string;

const device = (devId: string, devEui: string, overrides: Record<string, unknown> = {}) => ({
  app_id: 'app-a',
  dev_id: devId,
  description: `device ${devId}`,
  latitude: 52.1,
  longitude: 4.3,
  altitude: 2,
  attributes: { room: 'lab' },
  lorawan_device: {
    app_id: 'app-a',
    dev_id: devId,
    app_eui: '70B3D57ED0001234',
    dev_eui: devEui,
    app_key: '0123456789ABCDEF0123456789ABCDEF',
    activation_constraints: 'otaa',
    ...overrides,
  },
});

beforeEach(async () => {
  sim = await startSim();
  const f = await createUserAndClient(sim);
  await control(sim, '/applications', { owner: 'alice', id: 'app-a', name: 'A', devices: 0 });
  await control(sim, '/applications', { owner: 'alice', id: 'app-b', name: 'B', devices: 3 });
  userToken = (await userTokens(sim, f)).access_token;
  tokenA = await appToken(sim, userToken, 'app-a');
  tokenB = await appToken(sim, userToken, 'app-b');
});
afterEach(async () => {
  await sim.close();
});

const handler = (method: string, path: string, body?: unknown, auth = bearer(tokenA)) =>
  call(method, `${sim.handlerUrl}${path}`, body, auth);

describe('handler applications', () => {
  it('registers, reads and updates payload settings, and unregisters', async () => {
    // Seeded applications are registered already, with the simulator's decoder unless the
    // seed says otherwise.
    expect((await handler('POST', '/applications', { app_id: 'app-a' })).status).toBe(409);
    const settings = await handler('GET', '/applications/app-a');
    expect(await json(settings)).toEqual({
      app_id: 'app-a',
      payload_format: 'custom',
      decoder: SIM_DECODER,
      converter: '',
      validator: '',
      encoder: '',
    });
    const put = await handler('PUT', '/applications/app-a', {
      app_id: 'app-a',
      payload_format: 'custom',
      decoder: 'function Decoder(b) { return {}; }',
      converter: '',
      validator: '',
      encoder: '',
    });
    expect(put.status).toBe(200);
    expect((await json(await handler('GET', '/applications/app-a'))).decoder).toContain('Decoder');
    expect((await handler('DELETE', '/applications/app-a')).status).toBe(200);
    const gone = await handler('GET', '/applications/app-a');
    expect(gone.status).toBe(404);
    expect(await json(gone)).toMatchObject({
      code: 5,
      error: expect.stringContaining('not registered'),
    });
    expect((await handler('POST', '/applications', { app_id: 'app-a' })).status).toBe(200);
    // Registered through the handler API, an application starts with no payload functions.
    expect(await json(await handler('GET', '/applications/app-a'))).toEqual({
      app_id: 'app-a',
      payload_format: 'custom',
      decoder: '',
      converter: '',
      validator: '',
      encoder: '',
    });
  });
});

describe('handler devices', () => {
  it('creates, gets, lists, updates and deletes a device', async () => {
    expect(
      (await handler('POST', '/applications/app-a/devices', device('sensor-1', '0004A30B001C0530')))
        .status,
    ).toBe(200);
    const got = await json(await handler('GET', '/applications/app-a/devices/sensor-1'));
    expect(got).toMatchObject({
      app_id: 'app-a',
      dev_id: 'sensor-1',
      attributes: { room: 'lab' },
      lorawan_device: {
        app_eui: '70B3D57ED0001234',
        dev_eui: '0004A30B001C0530',
        app_key: '0123456789ABCDEF0123456789ABCDEF',
        f_cnt_up: 0,
        uses32_bit_f_cnt: false,
      },
    });
    const updated = device('sensor-1', '0004A30B001C0530');
    updated.description = 'moved';
    expect((await handler('PUT', '/applications/app-a/devices/sensor-1', updated)).status).toBe(
      200,
    );
    expect(
      (await json(await handler('GET', '/applications/app-a/devices/sensor-1'))).description,
    ).toBe('moved');
    const list = await json(await handler('GET', '/applications/app-a/devices'));
    expect((list.devices as { dev_id: string }[]).map((d) => d.dev_id)).toEqual(['sensor-1']);
    expect((await handler('DELETE', '/applications/app-a/devices/sensor-1')).status).toBe(200);
    expect((await handler('GET', '/applications/app-a/devices/sensor-1')).status).toBe(404);
    expect((await handler('DELETE', '/applications/app-a/devices/sensor-1')).status).toBe(404);
  });

  it.each([
    ['a short DevEUI', device('d1', '0004A30B'), 'dev_eui'],
    [
      'a non-hex AppEUI',
      device('d1', '0004A30B001C0530', { app_eui: 'ZZB3D57ED0001234' }),
      'app_eui',
    ],
    ['a short AppKey', device('d1', '0004A30B001C0530', { app_key: '0123' }), 'app_key'],
    ['OTAA without an AppKey', device('d1', '0004A30B001C0530', { app_key: '' }), 'app_key'],
    [
      'ABP without session keys',
      device('d1', '0004A30B001C0530', { activation_constraints: 'abp', dev_addr: '26011234' }),
      'nwk_s_key',
    ],
    [
      'a bad DevAddr',
      device('d1', '0004A30B001C0530', { activation_constraints: 'abp', dev_addr: 'XYZ' }),
      'dev_addr',
    ],
    ['a bad dev_id', device('Bad Id', '0004A30B001C0530'), 'dev_id'],
    ['no lorawan_device', { dev_id: 'd1' }, 'lorawan_device'],
  ])('refuses %s with 400', async (_name, body, field) => {
    const response = await handler('POST', '/applications/app-a/devices', body);
    expect(response.status).toBe(400);
    const error = await json(response);
    expect(error.code).toBe(3);
    expect(String(error.error)).toContain(field);
  });

  it('refuses a duplicate AppEUI+DevEUI and a duplicate dev_id with 409', async () => {
    await handler('POST', '/applications/app-a/devices', device('first', '0004A30B001C0530'));
    const sameEuis = await handler(
      'POST',
      '/applications/app-a/devices',
      device('second', '0004A30B001C0530'),
    );
    expect(sameEuis.status).toBe(409);
    expect((await json(sameEuis)).code).toBe(6);
    const sameId = await handler(
      'POST',
      '/applications/app-a/devices',
      device('first', '0004A30B001C0531'),
    );
    expect(sameId.status).toBe(409);
  });

  it('enforces rights: a token for app A cannot touch app B', async () => {
    expect(
      (await handler('GET', '/applications/app-b/devices', undefined, bearer(tokenA))).status,
    ).toBe(403);
    expect((await handler('GET', '/applications/app-b', undefined, bearer(tokenA))).status).toBe(
      403,
    );
    const create = await handler(
      'POST',
      '/applications/app-b/devices',
      { ...device('x', '0004A30B001C0599'), app_id: 'app-b' },
      bearer(tokenA),
    );
    expect(create.status).toBe(403);
    expect((await json(create)).code).toBe(7);
    expect(
      (await handler('GET', '/applications/app-b/devices', undefined, bearer(tokenB))).status,
    ).toBe(200);
    // The account token itself is not app-scoped.
    expect(
      (await handler('GET', '/applications/app-a/devices', undefined, bearer(userToken))).status,
    ).toBe(403);
    // No or bad credentials.
    expect((await call('GET', `${sim.handlerUrl}/applications/app-a/devices`)).status).toBe(401);
    expect(
      (await handler('GET', '/applications/app-a/devices', undefined, bearer('x.y.z'))).status,
    ).toBe(401);
  });

  it('accepts an access key with the devices right and refuses one without it', async () => {
    const account = (path: string, body: unknown) =>
      call('POST', `${sim.accountUrl}/api/v2${path}`, body, bearer(userToken));
    const devicesKey = await json(
      await account('/applications/app-a/access-keys', { name: 'devices', rights: ['devices'] }),
    );
    const readerKey = await json(
      await account('/applications/app-a/access-keys', {
        name: 'reader',
        rights: ['messages:up:r'],
      }),
    );
    expect(
      (
        await handler(
          'GET',
          '/applications/app-a/devices',
          undefined,
          `Key ${String(devicesKey.key)}`,
        )
      ).status,
    ).toBe(200);
    const denied = await handler(
      'GET',
      '/applications/app-a/devices',
      undefined,
      `Key ${String(readerKey.key)}`,
    );
    expect(denied.status).toBe(403);
    expect(String((await json(denied)).error)).toContain('devices');
    expect(
      (
        await handler(
          'GET',
          '/applications/app-b/devices',
          undefined,
          `Key ${String(devicesKey.key)}`,
        )
      ).status,
    ).toBe(403);
  });

  it('holds 10,000 devices and pages through them', async () => {
    const seeded = await control(sim, '/applications', {
      owner: 'alice',
      id: 'big-app',
      name: 'Big',
      devices: 10_000,
    });
    expect(seeded.devices).toBe(10_000);
    const token = await appToken(sim, userToken, 'big-app');
    const seen = new Set<string>();
    const euis = new Set<string>();
    const started = Date.now();
    for (let offset = 0; ; offset += 1000) {
      const page = await json(
        await handler(
          'GET',
          `/applications/big-app/devices?limit=1000&offset=${offset}`,
          undefined,
          bearer(token),
        ),
      );
      const devices = page.devices as {
        dev_id: string;
        lorawan_device: { dev_eui: string; app_key: string };
      }[];
      if (devices.length === 0) break;
      for (const d of devices) {
        seen.add(d.dev_id);
        euis.add(d.lorawan_device.dev_eui);
        expect(d.lorawan_device.dev_eui).toMatch(/^[0-9A-F]{16}$/);
        expect(d.lorawan_device.app_key).toMatch(/^[0-9A-F]{32}$/);
      }
    }
    expect(seen.size).toBe(10_000);
    expect(euis.size).toBe(10_000);
    expect(Date.now() - started).toBeLessThan(5000);
    const bad = await handler(
      'GET',
      '/applications/big-app/devices?limit=-1',
      undefined,
      bearer(token),
    );
    expect(bad.status).toBe(400);
  });

  it('limits requests per client when the rate limit is on', async () => {
    await control(sim, '/settings', { handlerRateLimitPerSecond: 5 });
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++)
      statuses.push((await handler('GET', '/applications/app-a')).status);
    expect(statuses).toContain(429);
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(10);
    await control(sim, '/settings', { handlerRateLimitPerSecond: 0 });
    expect((await handler('GET', '/applications/app-a')).status).toBe(200);
  });
});
