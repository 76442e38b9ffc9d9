/**
 * Linking a TTN v2 account (issue: create a TTN network by signing into a Things account):
 * the authorization-code flow against the TTN simulator, its failures, tokens given directly,
 * and the token vault (refresh ahead of expiry, on 401, once under concurrency, revocation).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createTenant,
  problemOf,
  startTestApp,
  type SignedIn,
  type TestApp,
} from './harness/app.js';
import { readConfig } from '../src/config.js';
import { DIALECTS } from './harness/database.js';
import {
  createTtnNetwork,
  signInAtTtn,
  startTtn,
  TTN_CLIENT,
  TTN_USER,
  type Ttn,
} from './harness/ttn.js';

describe.each(DIALECTS)('linking a TTN account (%s)', (dialect) => {
  let t: TestApp;
  let ttn: Ttn;
  let admin: SignedIn;
  let member: SignedIn;

  beforeAll(async () => {
    t = await startTestApp(dialect);
    ttn = await startTtn(`${t.config.publicUrl}/oauth/callback`);
    ({ admin, member } = await createTenant(t, 'Acme'));
    await ttn.control('/applications', {
      owner: TTN_USER.username,
      id: 'acme-sensors',
      name: 'Acme sensors',
      devices: 3,
    });
  });
  afterAll(async () => {
    await t?.close();
    await ttn?.close();
  });
  beforeEach(async () => {
    await ttn.control('/requests', undefined, 'DELETE');
  });
  afterEach(async () => {
    await ttn.control('/faults', undefined, 'DELETE');
  });

  const start = async (networkId: string, who = admin) => {
    const res = await t.request('POST', `/api/networks/${networkId}/authorization`, {
      token: who.token,
    });
    expect(res.statusCode, res.body).toBe(200);
    return (res.json() as { authorizeUrl: string }).authorizeUrl;
  };
  const callback = (query: URLSearchParams, who = admin) =>
    t.request('POST', '/api/oauth/callback', {
      token: who.token,
      body: Object.fromEntries(query.entries()),
    });
  /** The whole designed flow: start, sign in at TTN, come back. */
  const link = async (networkId: string) => {
    const res = await callback(await signInAtTtn(await start(networkId)));
    expect(res.statusCode, res.body).toBe(200);
    return res;
  };
  const network = async (id: string) =>
    (await t.request('GET', `/api/networks/${id}`, { token: admin.token })).json() as {
      status: string;
      statusMessage: string | null;
      linkedAccount: { username: string; email: string } | null;
      tokenExpiresAt: string | null;
    };
  const remoteApps = (id: string, who = admin) =>
    t.request('GET', `/api/networks/${id}/remote-applications`, { token: who.token });

  it('sends the owner to TTN with client id, server-side redirect URI, state and PKCE', async () => {
    const id = await createTtnNetwork(t, admin, ttn);
    const url = new URL(await start(id));
    expect(url.origin + url.pathname).toBe(`${ttn.sim.accountUrl}/users/authorize`);
    expect(url.searchParams.get('client_id')).toBe(TTN_CLIENT.id);
    expect(url.searchParams.get('redirect_uri')).toBe(`${t.config.publicUrl}/oauth/callback`);
    expect(url.searchParams.get('response_type')).toBe('code');
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // 256 bits of state, base64url
    expect(url.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('state')).not.toBe(
      new URL(await start(id)).searchParams.get('state'),
    );
    const protocol = await t.request('GET', '/api/network-protocols/ttn-v2', {
      token: admin.token,
    });
    expect(protocol.json()).toMatchObject({
      authorization: { callbackUrl: `${t.config.publicUrl}/oauth/callback` },
    });
  });

  it('links the account: code exchanged by the server, tokens stored encrypted, network authorized', async () => {
    const id = await createTtnNetwork(t, admin, ttn);
    expect((await network(id)).status).toBe('pending_authorization');
    const res = await link(id);
    const body = res.json() as { network: { id: string; status: string; linkedAccount: unknown } };
    expect(body.network).toMatchObject({
      id,
      status: 'authorized',
      linkedAccount: { username: TTN_USER.username, email: TTN_USER.email },
    });
    const after = await network(id);
    expect(Date.parse(after.tokenExpiresAt ?? '')).toBeGreaterThan(Date.now() + 50 * 60_000);

    const requests = await ttn.requests();
    const exchange = requests.filter((r) => r.path === '/users/token');
    expect(exchange.map((r) => r.grantType)).toEqual(['authorization_code']);

    // Tokens never answered, never logged, never stored in plain text.
    const row = await t.db
      .selectFrom('oauth_tokens')
      .selectAll()
      .where('network_id', '=', id)
      .executeTakeFirstOrThrow();
    const access = t.secretBox.open(row.access_token_sealed, `oauth_tokens:${id}:access_token`);
    const refresh = t.secretBox.open(row.refresh_token_sealed, `oauth_tokens:${id}:refresh_token`);
    expect(access.split('.')).toHaveLength(3); // a JWT
    for (const secret of [access, refresh, TTN_CLIENT.secret]) {
      expect(res.body).not.toContain(secret);
      expect(t.logs.join('\n')).not.toContain(secret);
      expect(row.access_token_sealed + row.refresh_token_sealed).not.toContain(secret);
    }

    // The link works: the account's applications, live.
    const apps = await remoteApps(id, member);
    expect(apps.statusCode, apps.body).toBe(200);
    expect((apps.json() as { items: { id: string }[] }).items.map((a) => a.id)).toContain(
      'acme-sensors',
    );
  });

  it('refuses a replayed state, a forged state and a state started by another user', async () => {
    const id = await createTtnNetwork(t, admin, ttn);
    const query = await signInAtTtn(await start(id));
    expect((await callback(query)).statusCode).toBe(200);
    const replay = await callback(query);
    expect(problemOf(replay)).toMatchObject({ status: 400, code: 'oauth_state_invalid' });

    const forged = new URLSearchParams({ state: 'A'.repeat(43), code: query.get('code') ?? 'x' });
    expect(problemOf(await callback(forged))).toMatchObject({
      status: 400,
      code: 'oauth_state_invalid',
    });

    const other = await createTenant(t, `Other ${dialect}`);
    const stolen = await signInAtTtn(await start(id));
    expect(problemOf(await callback(stolen, other.admin))).toMatchObject({
      code: 'oauth_state_invalid',
    });
    // …and the thief's attempt did not spend it: the owner can still finish.
    expect((await callback(stolen)).statusCode).toBe(200);
  });

  it('refuses a state older than ten minutes', async () => {
    const id = await createTtnNetwork(t, admin, ttn);
    const query = await signInAtTtn(await start(id));
    await t.db
      .updateTable('oauth_authorizations')
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .where('network_id', '=', id)
      .execute();
    const res = await callback(query);
    expect(problemOf(res)).toMatchObject({ status: 400, code: 'oauth_state_invalid' });
    expect(res.json()).toMatchObject({ networkId: id });
    expect((await ttn.requests()).some((r) => r.path === '/users/token')).toBe(false);
  });

  it('reports a denial at TTN, leaving the network pending', async () => {
    const id = await createTtnNetwork(t, admin, ttn);
    await ttn.control('/reset-consents', undefined).catch(() => undefined);
    const url = await start(id);
    // A fresh TTN user, so that the consent page is shown.
    await ttn.control('/users', {
      username: 'bob',
      password: 'bob-ttn-password',
      email: 'bob@example.com',
    });
    const query = await signInAtTtn(url, 'deny', { username: 'bob', password: 'bob-ttn-password' });
    expect(query.get('error')).toBe('access_denied');
    const res = await callback(query);
    expect(problemOf(res)).toMatchObject({ status: 400, code: 'oauth_access_denied' });
    expect(res.json()).toMatchObject({ networkId: id });
    expect((await network(id)).status).toBe('pending_authorization');
  });

  it('reports a wrong client secret and marks the network in error', async () => {
    const id = await createTtnNetwork(t, admin, ttn, { clientSecret: 'not-the-secret' });
    const res = await callback(await signInAtTtn(await start(id)));
    expect(problemOf(res)).toMatchObject({ status: 400, code: 'oauth_invalid_client' });
    expect(res.body).not.toContain('not-the-secret');
    const after = await network(id);
    expect(after.status).toBe('error');
    expect(after.statusMessage).toMatch(/client id or client secret/);
  });

  it('reports a code that was already used', async () => {
    const id = await createTtnNetwork(t, admin, ttn);
    const first = await signInAtTtn(await start(id));
    expect((await callback(first)).statusCode).toBe(200);
    const second = new URL(await start(id)).searchParams.get('state')!;
    const res = await callback(new URLSearchParams({ state: second, code: first.get('code')! }));
    expect(problemOf(res)).toMatchObject({ status: 400, code: 'oauth_invalid_grant' });
    // A failed re-authorization leaves a working link alone.
    expect((await network(id)).status).toBe('authorized');
  });

  it('reports an account server that fails or cannot be reached', async () => {
    const id = await createTtnNetwork(t, admin, ttn);
    const query = await signInAtTtn(await start(id));
    await ttn.control('/faults', { method: 'POST', path: '/users/token', status: 503, share: 1 });
    const res = await callback(query);
    expect(problemOf(res)).toMatchObject({ status: 502, code: 'network_unreachable' });
    expect((await network(id)).status).toBe('error');

    const gone = await createTtnNetwork(t, admin, ttn, { accountServerUrl: 'http://127.0.0.1:9' });
    const started = await t.request('POST', `/api/networks/${gone}/authorization`, {
      token: admin.token,
    });
    const state = new URL(
      (started.json() as { authorizeUrl: string }).authorizeUrl,
    ).searchParams.get('state')!;
    const unreachable = await callback(new URLSearchParams({ state, code: 'some-code' }));
    expect(problemOf(unreachable)).toMatchObject({ status: 502, code: 'network_unreachable' });
  });

  it('lets only organization admins start, and hides other tenants’ networks', async () => {
    const id = await createTtnNetwork(t, admin, ttn);
    const asMember = await t.request('POST', `/api/networks/${id}/authorization`, {
      token: member.token,
    });
    expect(problemOf(asMember)).toMatchObject({ status: 403 });
    const other = await createTenant(t, `Stranger ${dialect}`);
    const asStranger = await t.request('POST', `/api/networks/${id}/authorization`, {
      token: other.admin.token,
    });
    expect(problemOf(asStranger)).toMatchObject({ status: 404, code: 'not_found' });
    expect(problemOf(await remoteApps(id, other.admin))).toMatchObject({ status: 404 });
  });

  it('refreshes once after TTN expires the access token', async () => {
    const id = await createTtnNetwork(t, admin, ttn);
    await link(id);
    await ttn.control('/tokens/expire', { username: TTN_USER.username });
    await ttn.control('/requests', undefined, 'DELETE');
    expect((await remoteApps(id)).statusCode).toBe(200);
    expect(await ttn.grants('refresh_token')).toBe(1);
    expect((await remoteApps(id)).statusCode).toBe(200);
    expect(await ttn.grants('refresh_token')).toBe(1);
  });

  it('sends one refresh for 100 concurrent calls on an expired token', async () => {
    const id = await createTtnNetwork(t, admin, ttn);
    await link(id);
    await ttn.control('/tokens/expire', { username: TTN_USER.username });
    await ttn.control('/requests', undefined, 'DELETE');
    const answers = await Promise.all(Array.from({ length: 100 }, () => remoteApps(id)));
    expect(answers.map((a) => a.statusCode)).toEqual(Array(100).fill(200));
    expect(await ttn.grants('refresh_token')).toBe(1);
    // The rotated pair is stored, and neither it nor the old one reached an answer or the log.
    const row = await t.db
      .selectFrom('oauth_tokens')
      .selectAll()
      .where('network_id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row.version).toBe(2);
    const access = t.secretBox.open(row.access_token_sealed, `oauth_tokens:${id}:access_token`);
    const refresh = t.secretBox.open(row.refresh_token_sealed, `oauth_tokens:${id}:refresh_token`);
    for (const secret of [access, refresh]) {
      expect(t.logs.join('\n')).not.toContain(secret);
      expect(answers.some((a) => a.body.includes(secret))).toBe(false);
    }
  });

  it('refreshes ahead of expiry, at 80% of the lifetime', async () => {
    const id = await createTtnNetwork(t, admin, ttn);
    await link(id);
    await t.db
      .updateTable('oauth_tokens')
      .set({ refresh_after: new Date(Date.now() - 1000).toISOString() })
      .where('network_id', '=', id)
      .execute();
    await ttn.control('/requests', undefined, 'DELETE');
    expect((await remoteApps(id)).statusCode).toBe(200);
    const requests = await ttn.requests();
    expect(requests.filter((r) => r.grantType === 'refresh_token')).toHaveLength(1);
    // No call was refused first: the refresh came before the call.
    expect(requests.some((r) => r.status === 401)).toBe(false);
  });

  it('asks for re-authorization when TTN revokes the refresh token, and re-authorizing restores it', async () => {
    const id = await createTtnNetwork(t, admin, ttn);
    await link(id);
    await ttn.control('/tokens/revoke', { username: TTN_USER.username });
    const res = await remoteApps(id);
    expect(problemOf(res)).toMatchObject({ status: 409, code: 'network_reauthorization_required' });
    const after = await network(id);
    expect(after.status).toBe('reauthorization_required');
    expect(after.statusMessage).toMatch(/Re-authorize/);

    await link(id);
    expect((await network(id)).status).toBe('authorized');
    expect((await remoteApps(id)).statusCode).toBe(200);
  });

  it('keeps working across a restart of the server', async () => {
    const id = await createTtnNetwork(t, admin, ttn);
    await link(id);
    const again = await startTestApp(dialect, { database: t.database, secretKey: t.secretKey });
    try {
      const who = await again.signIn('acme-admin', 'admin-password-1');
      const res = await again.request('GET', `/api/networks/${id}/remote-applications`, {
        token: who.token,
      });
      expect(res.statusCode, res.body).toBe(200);
    } finally {
      await again.close();
    }
  });

  it('stores tokens given directly only after TTN accepts them, and never echoes them', async () => {
    const id = await createTtnNetwork(t, admin, ttn);
    const bogus = await t.request('PUT', `/api/networks/${id}/tokens`, {
      token: admin.token,
      body: { access_token: 'not-a-token', refresh_token: 'nope' },
    });
    expect(problemOf(bogus)).toMatchObject({ status: 400, code: 'tokens_rejected' });
    expect(
      await t.db.selectFrom('oauth_tokens').selectAll().where('network_id', '=', id).execute(),
    ).toEqual([]);

    // A pair obtained outside LPWAN Server (e.g. with ttnctl): the test does the exchange itself.
    const query = await signInAtTtn(await start(id));
    const exchange = await fetch(`${ttn.sim.accountUrl}/users/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${TTN_CLIENT.id}:${TTN_CLIENT.secret}`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        grant_type: 'authorization_code',
        code: query.get('code'),
        redirect_uri: `${t.config.publicUrl}/oauth/callback`,
      }),
    });
    const pair = (await exchange.json()) as {
      access_token: string;
      refresh_token: string;
      expires_in: number;
    };
    const res = await t.request('PUT', `/api/networks/${id}/tokens`, {
      token: admin.token,
      body: {
        access_token: pair.access_token,
        refresh_token: pair.refresh_token,
        expires_in: pair.expires_in,
      },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'authorized',
      linkedAccount: { username: TTN_USER.username },
    });
    expect(res.body).not.toContain(pair.access_token);
    expect(res.body).not.toContain(pair.refresh_token);
    expect((await remoteApps(id)).statusCode).toBe(200);
  });

  it('lists remote devices through app-scoped tokens, restricted once per application', async () => {
    const id = await createTtnNetwork(t, admin, ttn);
    await link(id);
    await ttn.control('/requests', undefined, 'DELETE');
    const url = `/api/networks/${id}/remote-applications/acme-sensors/devices?limit=2`;
    const page1 = await t.request('GET', url, { token: admin.token });
    expect(page1.statusCode, page1.body).toBe(200);
    expect((page1.json() as { items: unknown[] }).items).toHaveLength(2);
    const page2 = await t.request('GET', `${url}&offset=2`, { token: admin.token });
    expect((page2.json() as { items: { devEui: string }[] }).items).toHaveLength(1);
    const restricts = (await ttn.requests()).filter((r) => r.path === '/users/restrict-token');
    expect(restricts).toHaveLength(1);
  });

  it('wipes the tokens when the network is deleted', async () => {
    const id = await createTtnNetwork(t, admin, ttn);
    await link(id);
    const res = await t.request('DELETE', `/api/networks/${id}`, { token: admin.token });
    expect(res.statusCode).toBe(204);
    expect(
      await t.db.selectFrom('oauth_tokens').selectAll().where('network_id', '=', id).execute(),
    ).toEqual([]);
    expect(
      await t.db
        .selectFrom('oauth_authorizations')
        .selectAll()
        .where('network_id', '=', id)
        .execute(),
    ).toEqual([]);
  });

  it('moving a network to other addresses drops its tokens and wants the client secret again', async () => {
    const id = await createTtnNetwork(t, admin, ttn);
    await link(id);
    const patch = (settings: Record<string, string>) =>
      t.request('PATCH', `/api/networks/${id}`, { token: admin.token, body: { settings } });

    // The stored secret would be sent to the new token endpoint: it must be entered again.
    const elsewhere = 'https://account.example.net';
    const refused = await patch({ accountServerUrl: elsewhere });
    expect(problemOf(refused).errors).toEqual([
      {
        field: 'settings.clientSecret',
        message: 'must be entered again when settings.accountServerUrl changes (it is sent there)',
      },
    ]);
    expect((await network(id)).status).toBe('authorized');

    // The same address written differently is no move.
    const same = await patch({ accountServerUrl: `${ttn.sim.accountUrl.toUpperCase()}/` });
    expect(same.statusCode, same.body).toBe(200);
    expect((await network(id)).status).toBe('authorized');

    // Another handler: the account's tokens are not sent there; the owner signs in again.
    const moved = await patch({ handlerUrl: 'http://127.0.0.1:9' });
    expect(moved.statusCode, moved.body).toBe(200);
    expect(await network(id)).toMatchObject({
      status: 'pending_authorization',
      statusMessage: 'Sign in again: settings.handlerUrl changed.',
      linkedAccount: null,
      tokenExpiresAt: null,
    });
    expect(
      await t.db.selectFrom('oauth_tokens').selectAll().where('network_id', '=', id).execute(),
    ).toEqual([]);
    expect(problemOf(await remoteApps(id))).toMatchObject({ status: 409 });

    await patch({ handlerUrl: ttn.sim.handlerUrl });
    await link(id);
    expect((await network(id)).status).toBe('authorized');
    expect((await remoteApps(id)).statusCode).toBe(200);
  });
});

describe('two server processes on one PostgreSQL', () => {
  let first: TestApp;
  let second: TestApp;
  let ttn: Ttn;

  beforeAll(async () => {
    first = await startTestApp('postgres');
    second = await startTestApp('postgres', {
      database: first.database,
      secretKey: first.secretKey,
    });
    ttn = await startTtn(`${first.config.publicUrl}/oauth/callback`);
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
    await ttn?.close();
  });

  it('send one refresh when both find the token expired at once', async () => {
    const { admin } = await createTenant(first, 'Twin');
    const id = await createTtnNetwork(first, admin, ttn);
    const started = await first.request('POST', `/api/networks/${id}/authorization`, {
      token: admin.token,
    });
    const query = await signInAtTtn((started.json() as { authorizeUrl: string }).authorizeUrl);
    const linked = await first.request('POST', '/api/oauth/callback', {
      token: admin.token,
      body: Object.fromEntries(query.entries()),
    });
    expect(linked.statusCode, linked.body).toBe(200);

    await ttn.control('/tokens/expire', { username: TTN_USER.username });
    await ttn.control('/requests', undefined, 'DELETE');
    const url = `/api/networks/${id}/remote-applications`;
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? first : second).request('GET', url, { token: admin.token }),
      ),
    );
    expect(answers.map((a) => a.statusCode)).toEqual(Array(20).fill(200));
    expect(await ttn.grants('refresh_token')).toBe(1);
  });
});

describe.each(DIALECTS)('a deployment-wide TTN client (%s)', (dialect) => {
  let t: TestApp;
  let ttn: Ttn;
  let admin: SignedIn;

  beforeAll(async () => {
    // The operator's client is registered at the simulator's account server.
    ttn = await startTtn(`${readConfig({ PORT: '3000' }).publicUrl}/oauth/callback`);
    t = await startTestApp(dialect, {
      env: {
        TTN_CLIENT_ID: TTN_CLIENT.id,
        TTN_CLIENT_SECRET: TTN_CLIENT.secret,
        TTN_ACCOUNT_SERVER_URL: ttn.sim.accountUrl,
      },
    });
    ({ admin } = await createTenant(t, 'Operator'));
  });
  afterAll(async () => {
    await t?.close();
    await ttn?.close();
  });

  it('makes the client fields optional and names the server client', async () => {
    const protocol = await t.request('GET', '/api/network-protocols/ttn-v2', {
      token: admin.token,
    });
    expect(protocol.json()).toMatchObject({
      authorization: { serverClient: { clientId: TTN_CLIENT.id, baseUrl: ttn.sim.accountUrl } },
    });
    expect(protocol.body).not.toContain(TTN_CLIENT.secret);
    const fields = await t.request('GET', '/api/network-protocols/ttn-v2/fields', {
      token: admin.token,
    });
    const byName = Object.fromEntries(
      (fields.json() as { fields: { name: string; required: boolean }[] }).fields.map((f) => [
        f.name,
        f,
      ]),
    );
    expect(byName.clientId?.required).toBe(false);
    expect(byName.clientSecret?.required).toBe(false);
  });

  it('links a network that brings no client of its own with the server client', async () => {
    const id = await createTtnNetwork(t, admin, ttn, { clientId: '', clientSecret: '' });
    const started = await t.request('POST', `/api/networks/${id}/authorization`, {
      token: admin.token,
    });
    const authorizeUrl = (started.json() as { authorizeUrl: string }).authorizeUrl;
    expect(new URL(authorizeUrl).searchParams.get('client_id')).toBe(TTN_CLIENT.id);
    const res = await t.request('POST', '/api/oauth/callback', {
      token: admin.token,
      body: Object.fromEntries((await signInAtTtn(authorizeUrl)).entries()),
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ network: { status: 'authorized' } });
  });

  it('is never sent anywhere but where it is registered', async () => {
    const elsewhere = { accountServerUrl: 'https://account.example.net' };
    const refused = await t.request('POST', '/api/networks', {
      token: admin.token,
      body: { name: 'Elsewhere', protocolId: 'ttn-v2', settings: elsewhere },
    });
    const needsClient = {
      field: 'settings.clientId',
      message: `is required: this server's client (${TTN_CLIENT.id}) signs in at ${ttn.sim.accountUrl} only, not at settings.accountServerUrl`,
    };
    expect(problemOf(refused)).toMatchObject({ status: 400, errors: [needsClient] });

    // Nor by moving a network that uses it.
    const id = await createTtnNetwork(t, admin, ttn, { clientId: '', clientSecret: '' });
    const moved = await t.request('PATCH', `/api/networks/${id}`, {
      token: admin.token,
      body: { settings: elsewhere },
    });
    expect(problemOf(moved)).toMatchObject({ status: 400, errors: [needsClient] });

    // A network stored at another address before this rule cannot start a sign-in with it.
    const row = await t.db
      .selectFrom('networks')
      .select('settings_json')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    const stored = { ...(JSON.parse(row.settings_json) as object), ...elsewhere };
    await t.db
      .updateTable('networks')
      .set({ settings_json: JSON.stringify(stored) })
      .where('id', '=', id)
      .execute();
    const started = await t.request('POST', `/api/networks/${id}/authorization`, {
      token: admin.token,
    });
    expect(problemOf(started)).toMatchObject({ status: 409, code: 'oauth_client_missing' });
    expect(JSON.stringify(await ttn.requests())).not.toContain('account.example.net');
  });

  it('wants a client id and secret together', async () => {
    const res = await t.request('POST', '/api/networks', {
      token: admin.token,
      body: {
        name: 'Half a client',
        protocolId: 'ttn-v2',
        settings: { clientId: 'mine', accountServerUrl: ttn.sim.accountUrl },
      },
    });
    expect(problemOf(res)).toMatchObject({
      status: 400,
      code: 'validation_failed',
      errors: [
        { field: 'settings.clientSecret', message: 'is required when settings.clientId is set' },
      ],
    });
  });
});
