import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CALLBACK,
  authorizeWithForms,
  basic,
  bearer,
  call,
  control,
  createUserAndClient,
  exchangeCode,
  json,
  startSim,
  userTokens,
  type Fixture,
  type Sim,
} from './helpers.js';

let sim: Sim;
let f: Fixture;

beforeEach(async () => {
  sim = await startSim();
  f = await createUserAndClient(sim);
});
afterEach(async () => {
  await sim.close();
});

describe('faults', () => {
  it('answers an injected status on a matching route only, until the faults are cleared', async () => {
    const { access_token: token } = await userTokens(sim, f);
    const fault = await control(sim, '/faults', {
      method: 'GET',
      path: '/api/v2/users/me',
      status: 503,
    });
    expect(fault).toMatchObject({
      id: expect.any(Number),
      method: 'GET',
      path: '/api/v2/users/me',
      status: 503,
      share: 1,
    });
    const me = await call('GET', `${sim.accountUrl}/api/v2/users/me`, undefined, bearer(token));
    expect(me.status).toBe(503);
    expect(await json(me)).toMatchObject({ code: 503 });
    // Other methods, other routes and the control API are not affected.
    expect(
      (await call('GET', `${sim.accountUrl}/api/v2/applications`, undefined, bearer(token))).status,
    ).toBe(200);
    expect((await control(sim, '/faults', undefined, 'GET')).faults).toEqual([
      expect.objectContaining({ hits: 1 }),
    ]);
    await control(sim, '/faults', undefined, 'DELETE');
    expect(
      (await call('GET', `${sim.accountUrl}/api/v2/users/me`, undefined, bearer(token))).status,
    ).toBe(200);
  });

  it('matches patterns on the handler, and share 0 never fires', async () => {
    await control(sim, '/applications', { owner: 'alice', id: 'app-a', name: 'A', devices: 1 });
    await control(sim, '/faults', { path: '/applications/*/devices', status: 500, share: 0 });
    const key = (await control(sim, '/faults', {
      path: '/applications/*/devices/**',
      status: 429,
      server: 'handler',
    })) as { id: number };
    const url = `${sim.handlerUrl}/applications/app-a/devices`;
    expect((await call('GET', url)).status).toBe(401);
    const device = await call('GET', `${url}/device-0001`);
    expect(device.status).toBe(429);
    expect(await json(device)).toMatchObject({ code: 8 });
    await control(sim, `/faults/${key.id}`, undefined, 'DELETE');
    expect((await call('GET', `${url}/device-0001`)).status).toBe(401);
  });

  it('fires on about the given share of requests', async () => {
    await control(sim, '/faults', { path: '/key', status: 500, share: 0.5 });
    let failed = 0;
    for (let i = 0; i < 60; i++)
      if ((await fetch(`${sim.accountUrl}/key`)).status === 500) failed++;
    expect(failed).toBeGreaterThan(10);
    expect(failed).toBeLessThan(50);
  });

  it('adds latency and drops connections', async () => {
    await control(sim, '/faults', { path: '/key', latencyMs: 300 });
    const started = Date.now();
    expect((await fetch(`${sim.accountUrl}/key`)).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    await control(sim, '/faults', undefined, 'DELETE');

    await control(sim, '/faults', { method: 'POST', path: '/users/token', drop: true });
    await expect(
      call(
        'POST',
        `${sim.accountUrl}/users/token`,
        { grant_type: 'refresh_token', refresh_token: 'x' },
        basic(f.clientId, f.clientSecret),
      ),
    ).rejects.toThrow();
  });

  it('refuses invalid faults', async () => {
    const bad = await call('POST', `${sim.accountUrl}/_sim/faults`, { path: '/key', status: 42 });
    expect(bad.status).toBe(400);
    const share = await call('POST', `${sim.accountUrl}/_sim/faults`, { path: '/key', share: 2 });
    expect(share.status).toBe(400);
  });
});

describe('request log', () => {
  it('records method, path, grant type and client id, never secrets, codes or tokens', async () => {
    const location = await authorizeWithForms(
      sim,
      { client_id: f.clientId, redirect_uri: CALLBACK, response_type: 'code', state: 'st' },
      f,
    );
    const code = location.searchParams.get('code') ?? '';
    const tokens = await json(await exchangeCode(sim, f, code));
    await call(
      'POST',
      `${sim.accountUrl}/users/token`,
      { grant_type: 'refresh_token', refresh_token: tokens.refresh_token },
      basic(f.clientId, f.clientSecret),
    );
    const { requests } = (await control(sim, '/requests', undefined, 'GET')) as {
      requests: Record<string, unknown>[];
    };
    const tokenCalls = requests.filter((r) => r.path === '/users/token');
    expect(tokenCalls).toEqual([
      expect.objectContaining({
        server: 'account',
        method: 'POST',
        grantType: 'authorization_code',
        clientId: 'lpwan-test',
        status: 200,
        time: expect.any(String),
      }),
      expect.objectContaining({
        method: 'POST',
        grantType: 'refresh_token',
        clientId: 'lpwan-test',
        status: 200,
      }),
    ]);
    expect(requests.some((r) => r.path === '/users/authorize' && r.method === 'GET')).toBe(true);
    expect(requests.some((r) => String(r.path).startsWith('/_sim'))).toBe(false);
    const text = JSON.stringify(requests);
    for (const secret of [
      f.clientSecret,
      f.password,
      code,
      String(tokens.access_token),
      String(tokens.refresh_token),
    ]) {
      expect(text).not.toContain(secret);
    }
    const filtered = (await control(sim, '/requests?path=/users/token', undefined, 'GET'))
      .requests as unknown[];
    expect(filtered).toHaveLength(2);
  });
});

describe('discovery', () => {
  it('announces the handler with its API and MQTT addresses', async () => {
    const { services } = (await json(await fetch(`${sim.accountUrl}/announcements/handler`))) as {
      services: { id: string; api_address: string; mqtt_address: string }[];
    };
    expect(services).toEqual([
      expect.objectContaining({
        id: 'ttn-handler-sim',
        api_address: sim.handlerUrl,
        mqtt_address: new URL(sim.mqttUrl).host,
      }),
    ]);
    expect((await fetch(`${sim.accountUrl}/announcements/handler/ttn-handler-sim`)).status).toBe(
      200,
    );
    expect((await fetch(`${sim.accountUrl}/announcements/handler/other`)).status).toBe(404);
  });
});

describe('reset and settings', () => {
  it('forgets users, clients and tokens on reset', async () => {
    const { access_token: token } = await userTokens(sim, f);
    await control(sim, '/settings', { accessTokenLifetimeSeconds: 60 });
    await control(sim, '/reset');
    expect(
      (await call('GET', `${sim.accountUrl}/api/v2/users/me`, undefined, bearer(token))).status,
    ).toBe(401);
    expect((await control(sim, '/settings', undefined, 'GET')).accessTokenLifetimeSeconds).toBe(
      3600,
    );
    // The log was cleared too: only the call after the reset is in it.
    expect((await control(sim, '/requests', undefined, 'GET')).requests).toEqual([
      expect.objectContaining({ method: 'GET', path: '/api/v2/users/me', status: 401 }),
    ]);
    // The same user can be created again.
    await createUserAndClient(sim);
  });

  it('refuses unknown or invalid settings and duplicate users', async () => {
    expect((await call('POST', `${sim.accountUrl}/_sim/settings`, { nope: 1 })).status).toBe(400);
    expect(
      (await call('POST', `${sim.accountUrl}/_sim/settings`, { accessTokenLifetimeSeconds: 0 }))
        .status,
    ).toBe(400);
    const dup = await call('POST', `${sim.accountUrl}/_sim/users`, {
      username: 'alice',
      password: 'x',
      email: 'a@b.c',
    });
    expect(dup.status).toBe(409);
    const noOwner = await call('POST', `${sim.accountUrl}/_sim/applications`, {
      owner: 'ghost',
      id: 'x1',
      devices: 1,
    });
    expect(noOwner.status).toBe(404);
    expect(
      (await call('POST', `${sim.accountUrl}/_sim/tokens/expire`, { username: 'ghost' })).status,
    ).toBe(404);
  });
});
