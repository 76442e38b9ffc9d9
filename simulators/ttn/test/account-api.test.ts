import { decodeJwt } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CALLBACK,
  appToken,
  basic,
  bearer,
  call,
  control,
  createUserAndClient,
  json,
  sleep,
  startSim,
  userTokens,
  type Fixture,
  type Sim,
} from './helpers.js';

let sim: Sim;
let f: Fixture;
let access: string;

beforeEach(async () => {
  sim = await startSim();
  f = await createUserAndClient(sim);
  access = (await userTokens(sim, f)).access_token;
});
afterEach(async () => {
  await sim.close();
});

const api = (method: string, path: string, body?: unknown, auth = bearer(access)) =>
  call(method, `${sim.accountUrl}/api/v2${path}`, body, auth);

describe('users/me', () => {
  it('answers the profile for a token with the profile scope, with and without /api/v2', async () => {
    const me = await api('GET', '/users/me');
    expect(me.status).toBe(200);
    expect(await json(me)).toEqual({
      username: 'alice',
      email: 'alice@example.com',
      name: { first: 'Alice', last: 'Example' },
    });
    const bare = await call('GET', `${sim.accountUrl}/users/me`, undefined, bearer(access));
    expect(bare.status).toBe(200);
  });

  it('answers 401 {code, error} without a token or with a bad one', async () => {
    const none = await call('GET', `${sim.accountUrl}/api/v2/users/me`);
    expect(none.status).toBe(401);
    expect(await json(none)).toMatchObject({ code: 401, error: expect.any(String) });
    const bad = await api('GET', '/users/me', undefined, bearer('not.a.token'));
    expect(bad.status).toBe(401);
  });

  it('answers 403 to a token without the profile scope', async () => {
    const tokens = await userTokens(sim, f);
    const narrowed = await call(
      'POST',
      `${sim.accountUrl}/users/token`,
      { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, scope: ['apps'] },
      basic(f.clientId, f.clientSecret),
    );
    const appsOnly = String((await json(narrowed)).access_token);
    const me = await api('GET', '/users/me', undefined, bearer(appsOnly));
    expect(me.status).toBe(403);
    expect((await json(me)).code).toBe(403);
  });
});

describe('applications', () => {
  it('creates, lists, gets, renames and deletes an application', async () => {
    const created = await api('POST', '/applications', { id: 'my-app', name: 'My app' });
    expect(created.status).toBe(201);
    const app = await json(created);
    expect(app).toMatchObject({
      id: 'my-app',
      name: 'My app',
      rights: expect.arrayContaining(['settings', 'devices']),
    });
    expect((app.euis as string[])[0]).toMatch(/^[0-9A-F]{16}$/);
    expect(app.access_keys).toEqual([
      {
        name: 'default key',
        key: expect.stringMatching(/^ttn-account-v2\./),
        rights: ['messages:up:r', 'messages:down:w'],
      },
    ]);

    expect((await api('POST', '/applications', { id: 'my-app', name: 'again' })).status).toBe(409);
    expect((await api('POST', '/applications', { id: 'Bad ID!', name: 'x' })).status).toBe(400);

    const list = (await (await api('GET', '/applications')).json()) as { id: string }[];
    expect(list.map((a) => a.id)).toEqual(['my-app']);

    expect((await api('PATCH', '/applications/my-app', { name: 'Renamed' })).status).toBe(204);
    expect((await json(await api('GET', '/applications/my-app'))).name).toBe('Renamed');

    expect((await api('DELETE', '/applications/my-app')).status).toBe(204);
    const gone = await api('GET', '/applications/my-app');
    expect(gone.status).toBe(404);
    expect(await json(gone)).toMatchObject({ code: 404 });
  });

  it('deletes an application on the account server only: the handler keeps it until its own DELETE', async () => {
    await api('POST', '/applications', {
      id: 'split-app',
      name: 'Split',
      euis: ['70B3D57ED0009999'],
    });
    const handler = (method: string, path: string, body: unknown, auth: string) =>
      call(method, `${sim.handlerUrl}${path}`, body, auth);
    const first = bearer(await appToken(sim, access, 'split-app'));
    expect((await handler('POST', '/applications', { app_id: 'split-app' }, first)).status).toBe(
      200,
    );
    const sensor = {
      dev_id: 'sensor-1',
      lorawan_device: {
        app_eui: '70B3D57ED0009999',
        dev_eui: '0004A30B00FF0001',
        app_key: '0123456789ABCDEF0123456789ABCDEF',
      },
    };
    expect((await handler('POST', '/applications/split-app/devices', sensor, first)).status).toBe(
      200,
    );

    expect((await api('DELETE', '/applications/split-app')).status).toBe(204);
    expect((await api('GET', '/applications/split-app')).status).toBe(404);

    // Created again on the account server, the application is still registered on the handler
    // with its device: only the handler's DELETE /applications/{app_id} unregisters it.
    await api('POST', '/applications', { id: 'split-app', name: 'Split again' });
    const second = bearer(await appToken(sim, access, 'split-app'));
    expect((await handler('POST', '/applications', { app_id: 'split-app' }, second)).status).toBe(
      409,
    );
    const devices = await json(
      await handler('GET', '/applications/split-app/devices', undefined, second),
    );
    expect((devices.devices as { dev_id: string }[]).map((d) => d.dev_id)).toEqual(['sensor-1']);

    expect((await handler('DELETE', '/applications/split-app', undefined, second)).status).toBe(
      200,
    );
    expect((await handler('GET', '/applications/split-app', undefined, second)).status).toBe(404);
    expect((await handler('POST', '/applications', { app_id: 'split-app' }, second)).status).toBe(
      200,
    );
  });

  it('allocates EUIs and manages access keys and lists collaborators', async () => {
    await api('POST', '/applications', { id: 'keys-app', name: 'Keys' });
    const eui = await api('POST', '/applications/keys-app/euis');
    expect(eui.status).toBe(201);
    const { eui: allocated } = await json(eui);
    expect(allocated).toMatch(/^[0-9A-F]{16}$/);
    expect(await (await api('GET', '/applications/keys-app/euis')).json()).toContain(allocated);

    const key = await api('POST', '/applications/keys-app/access-keys', {
      name: 'reader',
      rights: ['messages:up:r'],
    });
    expect(key.status).toBe(201);
    const reader = await json(key);
    expect(reader).toMatchObject({ name: 'reader', rights: ['messages:up:r'] });
    expect(
      (
        await api('POST', '/applications/keys-app/access-keys', {
          name: 'reader',
          rights: ['devices'],
        })
      ).status,
    ).toBe(409);
    expect(
      (await api('POST', '/applications/keys-app/access-keys', { name: 'x', rights: ['fly'] }))
        .status,
    ).toBe(400);

    // A key reads its application, but lacks the settings right to list keys.
    const byKey = await api(
      'GET',
      '/applications/keys-app',
      undefined,
      `Key ${String(reader.key)}`,
    );
    expect(byKey.status).toBe(200);
    expect((await json(byKey)).rights).toEqual(['messages:up:r']);
    expect(
      (
        await api(
          'GET',
          '/applications/keys-app/access-keys',
          undefined,
          `Key ${String(reader.key)}`,
        )
      ).status,
    ).toBe(403);

    expect((await api('DELETE', '/applications/keys-app/access-keys/reader')).status).toBe(204);
    expect(
      (await api('GET', '/applications/keys-app', undefined, `Key ${String(reader.key)}`)).status,
    ).toBe(401);

    const collaborators = await (await api('GET', '/applications/keys-app/collaborators')).json();
    expect(collaborators).toEqual([
      {
        username: 'alice',
        email: 'alice@example.com',
        rights: expect.arrayContaining(['collaborators']),
      },
    ]);
  });

  it("answers 403 for another user's application", async () => {
    await control(sim, '/users', {
      username: 'bob',
      password: 'bob-password',
      email: 'bob@example.com',
    });
    await control(sim, '/applications', { owner: 'bob', id: 'bobs-app', name: 'Bob', devices: 0 });
    expect((await api('GET', '/applications/bobs-app')).status).toBe(403);
    expect((await api('DELETE', '/applications/bobs-app')).status).toBe(403);
    const list = (await (await api('GET', '/applications')).json()) as unknown[];
    expect(list).toEqual([]);
  });

  it('registers clients that need approval before use', async () => {
    const created = await api('POST', '/clients', {
      name: 'my-client',
      description: 'mine',
      uri: CALLBACK,
      grants: ['authorization_code', 'refresh_token'],
      scope: ['profile', 'apps'],
    });
    expect(created.status).toBe(201);
    const client = await json(created);
    expect(client).toMatchObject({ name: 'my-client', accepted: false });
    expect(client.secret).toBeUndefined();
    const approved = await control(sim, '/clients/my-client/approve');
    expect(approved).toMatchObject({ id: 'my-client', accepted: true, secret: expect.any(String) });
  });
});

describe('restrict-token', () => {
  it('issues an app-scoped token only for applications the user has rights on', async () => {
    await api('POST', '/applications', { id: 'app-a', name: 'A' });
    const restricted = await appToken(sim, access, 'app-a');
    const claims = decodeJwt(restricted);
    expect(claims).toMatchObject({
      iss: 'ttn-account-v2',
      scope: ['apps:app-a'],
      interchangeable: false,
      client: 'lpwan-test',
      apps: { 'app-a': expect.arrayContaining(['settings', 'devices', 'messages:up:r']) },
    });
    // The restricted token is not interchangeable any more.
    const again = await call(
      'POST',
      `${sim.accountUrl}/users/restrict-token`,
      { scope: ['apps:app-a'] },
      bearer(restricted),
    );
    expect(again.status).toBe(403);
    // No rights on an application that is not the user's.
    const other = await call(
      'POST',
      `${sim.accountUrl}/users/restrict-token`,
      { scope: ['apps:nobodys'] },
      bearer(access),
    );
    expect(other.status).toBe(403);
    // No scope at all.
    const empty = await call('POST', `${sim.accountUrl}/users/restrict-token`, {}, bearer(access));
    expect(empty.status).toBe(400);
    // The app token reads its application on the account server.
    expect((await api('GET', '/applications/app-a', undefined, bearer(restricted))).status).toBe(
      200,
    );
  });

  it('exchanges an application access key for a token', async () => {
    const app = await json(await api('POST', '/applications', { id: 'app-k', name: 'K' }));
    const key = (app.access_keys as { key: string }[])[0]?.key ?? '';
    const response = await call(
      'POST',
      `${sim.accountUrl}/api/v2/applications/token`,
      { username: 'app-k', password: key, grant_type: 'password' },
      basic(f.clientId, f.clientSecret),
    );
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body.expires_in).toBe(86400);
    expect(decodeJwt(String(body.access_token))).toMatchObject({
      type: 'app',
      sub: 'app-k',
      scope: ['apps:app-k'],
    });
    const wrong = await call(
      'POST',
      `${sim.accountUrl}/api/v2/applications/token`,
      { username: 'app-k', password: 'ttn-account-v2.nope', grant_type: 'password' },
      basic(f.clientId, f.clientSecret),
    );
    expect((await json(wrong)).error).toBe('invalid_grant');
  });
});

describe('expiring and revoking tokens', () => {
  it('expires the user’s access tokens now; a refresh gets a working one', async () => {
    const tokens = await userTokens(sim, f);
    await api('POST', '/applications', { id: 'app-x', name: 'X' }, bearer(tokens.access_token));
    const restricted = await appToken(sim, tokens.access_token, 'app-x');
    const result = await control(sim, '/tokens/expire', { username: 'alice' });
    expect(result.expired).toBeGreaterThanOrEqual(3);
    for (const t of [tokens.access_token, restricted, access]) {
      const me = await api('GET', '/users/me', undefined, bearer(t));
      expect(me.status).toBe(401);
      expect(String((await json(me)).error)).toMatch(/expired/i);
    }
    const refreshed = await call(
      'POST',
      `${sim.accountUrl}/users/token`,
      { grant_type: 'refresh_token', refresh_token: tokens.refresh_token },
      basic(f.clientId, f.clientSecret),
    );
    expect(refreshed.status).toBe(200);
    const fresh = String((await json(refreshed)).access_token);
    expect((await api('GET', '/users/me', undefined, bearer(fresh))).status).toBe(200);
  });

  it('revokes access and refresh tokens', async () => {
    const tokens = await userTokens(sim, f);
    const result = await control(sim, '/tokens/revoke', { username: 'alice' });
    expect(result).toMatchObject({ username: 'alice', refreshTokens: 2 });
    expect((await api('GET', '/users/me', undefined, bearer(tokens.access_token))).status).toBe(
      401,
    );
    const refreshed = await call(
      'POST',
      `${sim.accountUrl}/users/token`,
      { grant_type: 'refresh_token', refresh_token: tokens.refresh_token },
      basic(f.clientId, f.clientSecret),
    );
    expect(refreshed.status).toBe(400);
    expect((await json(refreshed)).error).toBe('invalid_grant');
  });

  it('lets tokens expire by their lifetime', async () => {
    await control(sim, '/settings', { accessTokenLifetimeSeconds: 1 });
    const tokens = await userTokens(sim, f);
    expect((await api('GET', '/users/me', undefined, bearer(tokens.access_token))).status).toBe(
      200,
    );
    await sleep(2100);
    expect((await api('GET', '/users/me', undefined, bearer(tokens.access_token))).status).toBe(
      401,
    );
  });
});
