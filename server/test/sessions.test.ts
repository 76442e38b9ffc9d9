import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, problemOf, startTestApp, type TestApp } from './harness/app.js';
import { DIALECTS } from './harness/database.js';

describe.each(DIALECTS)('sessions (%s)', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(dialect);
  });
  afterAll(async () => t?.close());

  it('signs in with the right password: 201, token, user and an HttpOnly cookie', async () => {
    const res = await t.request('POST', '/api/sessions', {
      body: { username: 'admin', password: t.adminPassword },
    });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body.token).toMatch(/^lps_[A-Za-z0-9_-]{43}$/);
    expect(body.user).toMatchObject({
      username: 'admin',
      role: 'admin',
      organizationName: 'System',
      isSystemAdmin: true,
    });
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toContain(`lpwan_session=${body.token}`);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Lax');
    expect(cookie).toContain('Path=/');
    expect(cookie).not.toContain('Secure'); // PUBLIC_URL is http here
  });

  it('refuses a wrong password and an unknown user alike (401 invalid_credentials)', async () => {
    const wrong = await t.request('POST', '/api/sessions', {
      body: { username: 'admin', password: 'nope-nope' },
    });
    expect(problemOf(wrong)).toMatchObject({ status: 401, code: 'invalid_credentials' });
    expect(problemOf(wrong).contentType).toContain('application/problem+json');
    const unknown = await t.request('POST', '/api/sessions', {
      body: { username: 'ghost', password: 'nope-nope' },
    });
    expect(problemOf(unknown)).toMatchObject({ status: 401, code: 'invalid_credentials' });
  });

  it('knows the user by bearer token and by cookie', async () => {
    const s = await t.signIn('admin', t.adminPassword);
    const byBearer = await t.request('GET', '/api/users/me', { token: s.token });
    expect(byBearer.statusCode).toBe(200);
    expect(byBearer.json()).toEqual(s.user);
    const byCookie = await t.request('GET', '/api/users/me', { cookie: s.cookie });
    expect(byCookie.statusCode).toBe(200);
    expect(byCookie.json().id).toBe(s.user.id);
  });

  it('refuses requests without credentials or with a made-up token (401)', async () => {
    expect(problemOf(await t.request('GET', '/api/users/me'))).toMatchObject({
      status: 401,
      code: 'unauthorized',
    });
    const fake = await t.request('GET', '/api/users/me', { token: 'lps_' + 'A'.repeat(43) });
    expect(problemOf(fake)).toMatchObject({ status: 401, code: 'unauthorized' });
    const garbage = await t.request('GET', '/api/users/me', {
      headers: { authorization: 'Basic abc' },
    });
    expect(problemOf(garbage)).toMatchObject({ status: 401, code: 'unauthorized' });
  });

  it('signing out ends the session for real: the token is refused afterwards (bearer)', async () => {
    const s = await t.signIn('admin', t.adminPassword);
    const out = await t.request('DELETE', '/api/sessions', { token: s.token });
    expect(out.statusCode).toBe(204);
    expect(String(out.headers['set-cookie'])).toMatch(/lpwan_session=;.*Max-Age=0/);
    const after = await t.request('GET', '/api/users/me', { token: s.token });
    expect(problemOf(after)).toMatchObject({ status: 401, code: 'unauthorized' });
    const viaCookie = await t.request('GET', '/api/users/me', { cookie: s.cookie });
    expect(viaCookie.statusCode).toBe(401);
  });

  it('signing out by cookie ends that session; other sessions live on', async () => {
    const a = await t.signIn('admin', t.adminPassword);
    const b = await t.signIn('admin', t.adminPassword);
    expect((await t.request('DELETE', '/api/sessions', { cookie: a.cookie })).statusCode).toBe(204);
    expect((await t.request('GET', '/api/users/me', { cookie: a.cookie })).statusCode).toBe(401);
    expect((await t.request('GET', '/api/users/me', { token: b.token })).statusCode).toBe(200);
  });

  it('signing out without a session still answers 204', async () => {
    expect((await t.request('DELETE', '/api/sessions')).statusCode).toBe(204);
  });

  it('users change their own password with the current one; other sessions end', async () => {
    const { member } = await createTenant(t, 'Password Org');
    const other = await t.signIn('password-org-member', 'member-password-1');
    const wrong = await t.request('PUT', '/api/users/me/password', {
      token: member.token,
      body: { currentPassword: 'not-it-at-all', newPassword: 'brand-new-password' },
    });
    expect(problemOf(wrong)).toMatchObject({ status: 400, code: 'validation_failed' });
    expect(problemOf(wrong).errors).toEqual([
      { field: 'currentPassword', message: 'is not correct' },
    ]);
    const short = await t.request('PUT', '/api/users/me/password', {
      token: member.token,
      body: { currentPassword: 'member-password-1', newPassword: 'short' },
    });
    expect(problemOf(short).errors?.[0]?.field).toBe('newPassword');

    const changed = await t.request('PUT', '/api/users/me/password', {
      token: member.token,
      body: { currentPassword: 'member-password-1', newPassword: 'brand-new-password' },
    });
    expect(changed.statusCode).toBe(204);
    expect((await t.request('GET', '/api/users/me', { token: member.token })).statusCode).toBe(200);
    expect((await t.request('GET', '/api/users/me', { token: other.token })).statusCode).toBe(401);
    await t.signIn('password-org-member', 'brand-new-password');
    const old = await t.request('POST', '/api/sessions', {
      body: { username: 'password-org-member', password: 'member-password-1' },
    });
    expect(problemOf(old)).toMatchObject({ status: 401, code: 'invalid_credentials' });
  });

  it('validates the sign-in body', async () => {
    const res = await t.request('POST', '/api/sessions', { body: { username: 'admin' } });
    expect(problemOf(res)).toMatchObject({ status: 400, code: 'validation_failed' });
    expect(problemOf(res).errors).toContainEqual({ field: 'password', message: 'is required' });
  });
});

describe.each(DIALECTS)('sign-in rate limit (%s)', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(dialect, { env: { LOGIN_RATE_LIMIT: '3' } });
  });
  afterAll(async () => t?.close());

  it('answers 429 rate_limited after too many attempts', async () => {
    const attempt = () =>
      t.request('POST', '/api/sessions', { body: { username: 'admin', password: 'wrong-pass' } });
    for (let i = 0; i < 3; i++) expect((await attempt()).statusCode).toBe(401);
    const limited = await attempt();
    expect(problemOf(limited)).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(problemOf(limited).contentType).toContain('application/problem+json');
    expect(limited.headers['retry-after']).toBeDefined();
  });
});
