import { createPublicKey } from 'node:crypto';
import { decodeJwt, importSPKI, jwtVerify } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CALLBACK,
  authorizeWithForms,
  basic,
  call,
  control,
  createUserAndClient,
  exchangeCode,
  json,
  sleep,
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

const params = (extra: Record<string, string> = {}) => ({
  client_id: f.clientId,
  redirect_uri: CALLBACK,
  response_type: 'code',
  state: 'xyz-state',
  ...extra,
});

const token = (body: unknown, auth = basic(f.clientId, f.clientSecret)) =>
  call('POST', `${sim.accountUrl}/users/token`, body, auth);

describe('authorize', () => {
  it('logs in, asks for consent once, and redirects with a code and the state', async () => {
    const location = await authorizeWithForms(
      sim,
      params({
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
      }),
      f,
    );
    expect(`${location.origin}${location.pathname}`).toBe(CALLBACK);
    expect(location.searchParams.get('state')).toBe('xyz-state');
    const code = location.searchParams.get('code');
    expect(code).toMatch(/^[A-Za-z0-9_-]{20,}$/);

    const response = await exchangeCode(sim, f, code ?? '');
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body.token_type).toBe('bearer');
    expect(body.expires_in).toBe(3600);
    expect(typeof body.refresh_token).toBe('string');

    // The access token is an RS256 JWT with TTN's claims, signed by the key at GET /key.
    const key = await json(await fetch(`${sim.accountUrl}/key`));
    expect(key.algorithm).toBe('RS256');
    expect(createPublicKey(String(key.key)).asymmetricKeyType).toBe('rsa');
    const { payload, protectedHeader } = await jwtVerify(
      String(body.access_token),
      await importSPKI(String(key.key), 'RS256'),
      { issuer: 'ttn-account-v2' },
    );
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload).toMatchObject({
      sub: 'alice',
      type: 'user',
      client: 'lpwan-test',
      scope: ['profile', 'apps', 'components', 'gateways'],
      interchangeable: true,
      username: 'alice',
      email: 'alice@example.com',
      name: { first: 'Alice', last: 'Example' },
      valid: true,
      apps: {},
    });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(3600);
  });

  it('skips the consent page the second time', async () => {
    await authorizeWithForms(sim, params(), f);
    // A fresh login session: the consent is remembered for the user and client.
    const query = new URLSearchParams(params({ state: 'again' })).toString();
    const login = await fetch(`${sim.accountUrl}/users/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        ...params({ state: 'again' }),
        username: f.username,
        password: f.password,
      }).toString(),
    });
    const cookie = (login.headers.getSetCookie()[0] ?? '').split(';')[0] ?? '';
    const again = await fetch(`${sim.accountUrl}/users/authorize?${query}`, {
      redirect: 'manual',
      headers: { cookie },
    });
    expect(again.status).toBe(302);
    const location = new URL(again.headers.get('location') ?? '');
    expect(location.searchParams.get('state')).toBe('again');
    expect(location.searchParams.get('code')).toBeTruthy();
  });

  it('redirects with access_denied when the user denies', async () => {
    const location = await authorizeWithForms(sim, params(), f, 'deny');
    expect(location.searchParams.get('error')).toBe('access_denied');
    expect(location.searchParams.get('error_description')).toBeTruthy();
    expect(location.searchParams.get('state')).toBe('xyz-state');
    expect(location.searchParams.has('code')).toBe(false);
  });

  it('shows the login page again after a wrong password', async () => {
    const response = await fetch(`${sim.accountUrl}/users/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...params(), username: 'alice', password: 'wrong' }).toString(),
    });
    expect(response.status).toBe(200);
    expect(response.headers.getSetCookie()).toEqual([]);
    const html = await response.text();
    expect(html).toContain('Invalid username or password');
    expect(html).toContain('<label for="password">Password</label>');
  });

  it.each([
    ['an unregistered redirect URI', { redirect_uri: 'http://evil.example/cb' }, 'not registered'],
    ['an unknown client', { client_id: 'nobody' }, 'not known'],
  ])('shows an error page and does not redirect for %s', async (_name, extra, message) => {
    const query = new URLSearchParams(params(extra)).toString();
    const response = await fetch(`${sim.accountUrl}/users/authorize?${query}`, {
      redirect: 'manual',
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    expect(await response.text()).toContain(message);
  });

  it('shows an error page for a client that is not approved yet', async () => {
    await control(sim, '/clients/request', {
      id: 'pending-client',
      redirectUris: [CALLBACK],
      grants: ['authorization_code'],
      scope: ['profile'],
    });
    const query = new URLSearchParams(params({ client_id: 'pending-client' })).toString();
    const response = await fetch(`${sim.accountUrl}/users/authorize?${query}`, {
      redirect: 'manual',
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    expect(await response.text()).toContain('not been approved');
  });

  it('redirects with unsupported_response_type for response_type=token', async () => {
    const query = new URLSearchParams(params({ response_type: 'token' })).toString();
    const response = await fetch(`${sim.accountUrl}/users/authorize?${query}`, {
      redirect: 'manual',
    });
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get('location') ?? '');
    expect(location.searchParams.get('error')).toBe('unsupported_response_type');
    expect(location.searchParams.get('state')).toBe('xyz-state');
  });
});

describe('token endpoint', () => {
  const codeFor = async () =>
    (await authorizeWithForms(sim, params(), f)).searchParams.get('code') ?? '';

  it('accepts a form-encoded body', async () => {
    const code = await codeFor();
    const response = await fetch(`${sim.accountUrl}/users/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic(f.clientId, f.clientSecret),
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: CALLBACK,
      }).toString(),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(decodeJwt(String((await json(response)).access_token)).client).toBe('lpwan-test');
  });

  it('refuses a code the second time', async () => {
    const code = await codeFor();
    expect((await exchangeCode(sim, f, code)).status).toBe(200);
    const again = await exchangeCode(sim, f, code);
    expect(again.status).toBe(400);
    expect((await json(again)).error).toBe('invalid_grant');
  });

  it('refuses an expired code', async () => {
    await control(sim, '/settings', { codeLifetimeSeconds: 1 });
    const code = await codeFor();
    await sleep(1100);
    const response = await exchangeCode(sim, f, code);
    expect(response.status).toBe(400);
    expect(await json(response)).toMatchObject({
      error: 'invalid_grant',
      error_description: expect.stringContaining('expired'),
    });
  });

  it('refuses a redirect_uri that differs from the authorize request', async () => {
    const code = await codeFor();
    const response = await exchangeCode(sim, f, code, 'http://localhost:3000/other');
    expect(response.status).toBe(400);
    expect((await json(response)).error).toBe('invalid_grant');
  });

  it('answers invalid_client 401 for a wrong secret or no client authentication', async () => {
    const code = await codeFor();
    const wrong = await token(
      { grant_type: 'authorization_code', code, redirect_uri: CALLBACK },
      basic(f.clientId, 'not-the-secret'),
    );
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic/);
    expect((await json(wrong)).error).toBe('invalid_client');
    const none = await call('POST', `${sim.accountUrl}/users/token`, {
      grant_type: 'authorization_code',
      code,
    });
    expect(none.status).toBe(401);
    expect((await json(none)).error).toBe('invalid_client');
    // The code was not spent by the failed attempts.
    expect((await exchangeCode(sim, f, code)).status).toBe(200);
  });

  it('compares Basic client credentials as they are, and answers a malformed header 401 invalid_client', async () => {
    const code = await codeFor();
    const body = { grant_type: 'authorization_code', code, redirect_uri: CALLBACK };
    // A client whose id and secret hold %-sequences and a lone %: taken as they are.
    await control(sim, '/clients', {
      id: 'pct%41-client',
      secret: 'se%2Fcret%',
      name: 'Percent',
      redirectUris: [CALLBACK],
      grants: ['password'],
      scope: ['profile'],
    });
    await control(sim, '/clients', {
      id: 'pctA-client',
      secret: 'se/cret%',
      name: 'Decoded twin',
      redirectUris: [CALLBACK],
      grants: ['password'],
      scope: ['profile'],
    });
    const password = { grant_type: 'password', username: f.username, password: f.password };
    const raw = await token(password, basic('pct%41-client', 'se%2Fcret%'));
    expect(raw.status).toBe(200);
    expect(decodeJwt(String((await json(raw)).access_token)).client).toBe('pct%41-client');
    // Percent-decoding is not applied: the decoded form is another client's id, and the
    // percent-encoded form of a secret is not the secret.
    const decoded = await token(password, basic('pct%41-client', 'se/cret%'));
    expect(decoded.status).toBe(401);
    expect(await json(decoded)).toMatchObject({ error: 'invalid_client' });
    const encoded = await token(password, basic('pctA-client', 'se%2Fcret%25'));
    expect(encoded.status).toBe(401);

    // A lone % was a URIError (500) when credentials were percent-decoded.
    for (const header of [
      basic('lone%', 'secret'),
      basic(f.clientId, `${f.clientSecret}%`),
      basic('%E0%A4%A', f.clientSecret),
      'Basic %%%',
      'Basic !!not base64!!',
      `Basic ${Buffer.from('no-colon').toString('base64')}`,
      'Basic ',
      `Bearer ${Buffer.from(`${f.clientId}:${f.clientSecret}`).toString('base64')}`,
    ]) {
      const answer = await token(body, header);
      expect(answer.status, header).toBe(401);
      expect(answer.headers.get('www-authenticate')).toMatch(/^Basic/);
      expect(await json(answer)).toMatchObject({ error: 'invalid_client' });
    }
    for (const header of [basic('lone%', 'secret'), 'Basic %%%']) {
      const answer = await call(
        'POST',
        `${sim.accountUrl}/api/v2/applications/token`,
        { grant_type: 'password', username: 'x', password: 'y' },
        header,
      );
      expect(answer.status, header).toBe(401);
      expect((await json(answer)).error).toBe('invalid_client');
    }
    // The request log carries the raw client id (and never the secret).
    const logged = (await control(sim, '/requests?path=/users/token', undefined, 'GET'))
      .requests as { clientId?: string }[];
    expect(logged.map((r) => r.clientId)).toContain('lone%');
    // None of the failed attempts spent the code.
    expect((await exchangeCode(sim, f, code)).status).toBe(200);
  });

  it('rotates refresh tokens and refuses the old one', async () => {
    const first = await userTokens(sim, f);
    const refreshed = await token({
      grant_type: 'refresh_token',
      refresh_token: first.refresh_token,
    });
    expect(refreshed.status).toBe(200);
    const second = await json(refreshed);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.access_token).not.toBe(first.access_token);
    const old = await token({ grant_type: 'refresh_token', refresh_token: first.refresh_token });
    expect(old.status).toBe(400);
    expect((await json(old)).error).toBe('invalid_grant');
    const next = await token({ grant_type: 'refresh_token', refresh_token: second.refresh_token });
    expect(next.status).toBe(200);
  });

  it('refuses the password grant to a client without it, and allows it to one with it', async () => {
    const refused = await token({
      grant_type: 'password',
      username: f.username,
      password: f.password,
    });
    expect(refused.status).toBe(400);
    expect((await json(refused)).error).toBe('unauthorized_client');

    await control(sim, '/clients', {
      id: 'cli-client',
      secret: 'cli-secret',
      redirectUris: [CALLBACK],
      grants: ['password', 'refresh_token'],
      scope: ['profile', 'apps'],
    });
    const auth = basic('cli-client', 'cli-secret');
    const ok = await token(
      { grant_type: 'password', username: f.username, password: f.password },
      auth,
    );
    expect(ok.status).toBe(200);
    expect(decodeJwt(String((await json(ok)).access_token)).scope).toEqual(['profile', 'apps']);
    const bad = await token(
      { grant_type: 'password', username: f.username, password: 'nope' },
      auth,
    );
    expect(bad.status).toBe(400);
    expect((await json(bad)).error).toBe('invalid_grant');
  });

  it('narrows the scope on request and refuses a scope the client lacks', async () => {
    const first = await userTokens(sim, f);
    const narrowed = await token({
      grant_type: 'refresh_token',
      refresh_token: first.refresh_token,
      scope: ['profile'],
    });
    expect(narrowed.status).toBe(200);
    const body = await json(narrowed);
    expect(decodeJwt(String(body.access_token)).scope).toEqual(['profile']);
    const wider = await token({
      grant_type: 'refresh_token',
      refresh_token: String(body.refresh_token),
      scope: ['apps'],
    });
    expect(wider.status).toBe(400);
    expect((await json(wider)).error).toBe('invalid_scope');
  });

  it('answers unsupported_grant_type and invalid_request', async () => {
    const unsupported = await token({ grant_type: 'client_credentials' });
    expect(unsupported.status).toBe(400);
    expect((await json(unsupported)).error).toBe('unsupported_grant_type');
    const missing = await token({ grant_type: 'authorization_code' });
    expect(missing.status).toBe(400);
    expect((await json(missing)).error).toBe('invalid_request');
    const noGrant = await token({});
    expect((await json(noGrant)).error).toBe('invalid_request');
  });

  it('answers invalid_request to a body it cannot read', async () => {
    const response = await fetch(`${sim.accountUrl}/users/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: basic(f.clientId, f.clientSecret),
      },
      body: '{"grant_type": ',
    });
    expect(response.status).toBe(400);
    expect((await json(response)).error).toBe('invalid_request');
  });

  it('honours the access token lifetime setting', async () => {
    await control(sim, '/settings', { accessTokenLifetimeSeconds: 120 });
    const tokens = await userTokens(sim, f);
    expect(tokens.expires_in).toBe(120);
    const claims = decodeJwt(tokens.access_token);
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(120);
  });
});
