import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import {
  createTenant,
  problemOf,
  startTestApp,
  type SignedIn,
  type TestApp,
} from './harness/app.js';
import { DIALECTS } from './harness/database.js';

describe.each(DIALECTS)('API keys (%s)', (dialect) => {
  let t: TestApp;
  let member: SignedIn;
  beforeAll(async () => {
    t = await startTestApp(dialect);
    ({ member } = await createTenant(t, 'Key Org'));
  });
  afterAll(async () => t?.close());

  it('creates a key shown once, usable as a bearer token, listed without the key', async () => {
    const created = await t.request('POST', '/api/api-keys', {
      token: member.token,
      body: { name: 'ci' },
    });
    expect(created.statusCode).toBe(201);
    const { apiKey, key } = created.json();
    expect(key).toMatch(/^lpk_[A-Za-z0-9_-]{43}$/);
    expect(apiKey).toMatchObject({ name: 'ci', expiresAt: null, lastUsedAt: null });

    const me = await t.request('GET', '/api/users/me', { token: key });
    expect(me.statusCode).toBe(200);
    expect(me.json().id).toBe(member.user.id);

    const list = await t.request('GET', '/api/api-keys', { token: member.token });
    expect(list.statusCode).toBe(200);
    expect(list.body).not.toContain(key);
    const listed = list.json().items.find((k: { id: string }) => k.id === apiKey.id);
    expect(listed.lastUsedAt).not.toBeNull();

    // Stored hashed: the key itself is nowhere in the table.
    const rows = await sql<Record<string, unknown>>`select * from api_keys`.execute(t.db);
    expect(JSON.stringify(rows.rows)).not.toContain(key);
  });

  it('a deleted key is refused', async () => {
    const { apiKey, key } = (
      await t.request('POST', '/api/api-keys', { token: member.token, body: { name: 'tmp' } })
    ).json();
    expect(
      (await t.request('DELETE', `/api/api-keys/${apiKey.id}`, { token: member.token })).statusCode,
    ).toBe(204);
    expect(problemOf(await t.request('GET', '/api/users/me', { token: key }))).toMatchObject({
      status: 401,
      code: 'unauthorized',
    });
    expect(
      (await t.request('DELETE', `/api/api-keys/${apiKey.id}`, { token: member.token })).statusCode,
    ).toBe(404);
  });

  it('an expired key is refused; an expiry in the past cannot be set', async () => {
    // Seconds ahead: the key is used just before its expiry (and so remembered by the
    // server's credential cache), then just after, when it must be refused all the same.
    const soon = new Date(Date.now() + 1_500).toISOString();
    const created = await t.request('POST', '/api/api-keys', {
      token: member.token,
      body: { name: 'short', expiresAt: soon },
    });
    expect(created.statusCode).toBe(201);
    const { apiKey, key } = created.json();
    expect(apiKey.expiresAt).toBe(soon);
    expect((await t.request('GET', '/api/users/me', { token: key })).statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, Date.parse(soon) - Date.now() + 50));
    expect((await t.request('GET', '/api/users/me', { token: key })).statusCode).toBe(401);

    const past = await t.request('POST', '/api/api-keys', {
      token: member.token,
      body: { name: 'old', expiresAt: '2001-01-01T00:00:00Z' },
    });
    expect(problemOf(past)).toMatchObject({ status: 400, code: 'validation_failed' });
    expect(problemOf(past).errors?.[0]?.field).toBe('expiresAt');
  });

  it("one user cannot see or delete another user's keys", async () => {
    const root = await t.signIn(t.adminUsername, t.adminPassword);
    const { apiKey } = (
      await t.request('POST', '/api/api-keys', { token: member.token, body: { name: 'mine' } })
    ).json();
    const list = (await t.request('GET', '/api/api-keys', { token: root.token })).json();
    expect(list.items.map((k: { id: string }) => k.id)).not.toContain(apiKey.id);
    expect(
      (await t.request('DELETE', `/api/api-keys/${apiKey.id}`, { token: root.token })).statusCode,
    ).toBe(404);
  });

  it('keys act with the rights of their user (a member key cannot reach admin routes)', async () => {
    const { key } = (
      await t.request('POST', '/api/api-keys', { token: member.token, body: { name: 'm' } })
    ).json();
    expect(problemOf(await t.request('GET', '/api/users', { token: key }))).toMatchObject({
      status: 403,
      code: 'forbidden',
    });
  });
});
