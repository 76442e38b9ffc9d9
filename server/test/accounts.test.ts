import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTenant,
  problemOf,
  startTestApp,
  type SignedIn,
  type TestApp,
} from './harness/app.js';
import { DIALECTS } from './harness/database.js';

describe.each(DIALECTS)('organizations and users (%s)', (dialect) => {
  let t: TestApp;
  let root: SignedIn;
  let acme: Awaited<ReturnType<typeof createTenant>>;
  let globex: Awaited<ReturnType<typeof createTenant>>;

  beforeAll(async () => {
    t = await startTestApp(dialect);
    root = await t.signIn(t.adminUsername, t.adminPassword);
    acme = await createTenant(t, 'Acme');
    globex = await createTenant(t, 'Globex');
  });
  afterAll(async () => t?.close());

  it('system admins manage organizations', async () => {
    const created = await t.request('POST', '/api/organizations', {
      token: root.token,
      body: { name: 'Initech' },
    });
    expect(created.statusCode).toBe(201);
    const org = created.json();
    expect(org).toMatchObject({ name: 'Initech', isSystem: false });

    const list = await t.request('GET', '/api/organizations?limit=10', { token: root.token });
    expect(list.json().total).toBe(4); // System, Acme, Globex, Initech
    expect(list.json().items.map((o: { name: string }) => o.name)).toContain('Initech');

    const renamed = await t.request('PATCH', `/api/organizations/${org.id}`, {
      token: root.token,
      body: { name: 'Initrode' },
    });
    expect(renamed.json().name).toBe('Initrode');
    const dup = await t.request('POST', '/api/organizations', {
      token: root.token,
      body: { name: 'Acme' },
    });
    expect(problemOf(dup)).toMatchObject({ status: 409, code: 'name_taken' });

    expect(
      (await t.request('DELETE', `/api/organizations/${org.id}`, { token: root.token })).statusCode,
    ).toBe(204);
    expect(
      (await t.request('GET', `/api/organizations/${org.id}`, { token: root.token })).statusCode,
    ).toBe(404);
  });

  it('the system organization cannot be deleted', async () => {
    const res = await t.request('DELETE', `/api/organizations/${root.user.organizationId}`, {
      token: root.token,
    });
    expect(problemOf(res)).toMatchObject({ status: 409, code: 'system_organization' });
  });

  it('members get 403 on admin routes', async () => {
    const token = acme.member.token;
    for (const [method, url, body] of [
      ['GET', '/api/users', undefined],
      ['POST', '/api/users', { username: 'x1', password: 'password-1', role: 'member' }],
      ['GET', `/api/users/${acme.admin.user.id}`, undefined],
      ['DELETE', `/api/users/${acme.admin.user.id}`, undefined],
      ['GET', '/api/organizations', undefined],
      ['POST', '/api/organizations', { name: 'Nope' }],
      ['POST', '/api/networks', { name: 'n', protocolId: 'ttn-v2', settings: {} }],
    ] as const) {
      const res = await t.request(method, url, { token, body });
      expect(problemOf(res), `${method} ${url}`).toMatchObject({ status: 403, code: 'forbidden' });
    }
  });

  it('organization admins get 403 on organization routes', async () => {
    const res = await t.request('GET', '/api/organizations', { token: acme.admin.token });
    expect(problemOf(res)).toMatchObject({ status: 403, code: 'forbidden' });
  });

  it('organization admins manage users of their own organization only', async () => {
    const created = await t.request('POST', '/api/users', {
      token: acme.admin.token,
      body: { username: 'acme-bob', password: 'bob-password', role: 'member' },
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({
      organizationId: acme.organizationId,
      organizationName: 'Acme',
      role: 'member',
      isSystemAdmin: false,
    });

    const list = (await t.request('GET', '/api/users', { token: acme.admin.token })).json();
    expect(
      list.items.every((u: { organizationId: string }) => u.organizationId === acme.organizationId),
    ).toBe(true);
    expect(list.total).toBe(3);

    // Another organization's user is a 404, naming another organization a 403.
    const other = await t.request('GET', `/api/users/${globex.member.user.id}`, {
      token: acme.admin.token,
    });
    expect(problemOf(other)).toMatchObject({ status: 404, code: 'not_found' });
    const patchOther = await t.request('PATCH', `/api/users/${globex.member.user.id}`, {
      token: acme.admin.token,
      body: { role: 'admin' },
    });
    expect(patchOther.statusCode).toBe(404);
    const intoOther = await t.request('POST', '/api/users', {
      token: acme.admin.token,
      body: {
        username: 'acme-eve',
        password: 'eve-password',
        role: 'admin',
        organizationId: globex.organizationId,
      },
    });
    expect(problemOf(intoOther)).toMatchObject({ status: 403, code: 'forbidden' });
  });

  it('usernames are unique; admins cannot delete themselves or change their own role', async () => {
    const dup = await t.request('POST', '/api/users', {
      token: acme.admin.token,
      body: { username: 'globex-member', password: 'password-1', role: 'member' },
    });
    expect(problemOf(dup)).toMatchObject({ status: 409, code: 'username_taken' });
    const self = await t.request('DELETE', `/api/users/${acme.admin.user.id}`, {
      token: acme.admin.token,
    });
    expect(problemOf(self)).toMatchObject({ status: 409, code: 'cannot_delete_self' });
    const demote = await t.request('PATCH', `/api/users/${acme.admin.user.id}`, {
      token: acme.admin.token,
      body: { role: 'member' },
    });
    expect(problemOf(demote)).toMatchObject({ status: 409, code: 'cannot_change_own_role' });
  });

  it('a new password ends the other sessions of that user', async () => {
    await t.request('POST', '/api/users', {
      token: acme.admin.token,
      body: { username: 'acme-carol', password: 'carol-password', role: 'member' },
    });
    const carol = await t.signIn('acme-carol', 'carol-password');
    const users = (
      await t.request('GET', '/api/users?limit=200', { token: acme.admin.token })
    ).json();
    const id = users.items.find((u: { username: string }) => u.username === 'acme-carol').id;
    const res = await t.request('PATCH', `/api/users/${id}`, {
      token: acme.admin.token,
      body: { password: 'carol-new-password' },
    });
    expect(res.statusCode).toBe(200);
    expect((await t.request('GET', '/api/users/me', { token: carol.token })).statusCode).toBe(401);
    await t.signIn('acme-carol', 'carol-new-password');
  });

  it('deleting a user ends their sessions', async () => {
    await t.request('POST', '/api/users', {
      token: acme.admin.token,
      body: { username: 'acme-dave', password: 'dave-password', role: 'member' },
    });
    const dave = await t.signIn('acme-dave', 'dave-password');
    const del = await t.request('DELETE', `/api/users/${dave.user.id}`, {
      token: acme.admin.token,
    });
    expect(del.statusCode).toBe(204);
    expect((await t.request('GET', '/api/users/me', { token: dave.token })).statusCode).toBe(401);
  });

  it('system admins may list and create users in any organization', async () => {
    const list = await t.request('GET', `/api/users?organizationId=${globex.organizationId}`, {
      token: root.token,
    });
    expect(
      list
        .json()
        .items.map((u: { username: string }) => u.username)
        .sort(),
    ).toEqual(['globex-admin', 'globex-member']);
  });

  it('checks user input', async () => {
    const bad = await t.request('POST', '/api/users', {
      token: acme.admin.token,
      body: { username: 'Has Spaces', password: 'short', role: 'owner' },
    });
    const problem = problemOf(bad);
    expect(problem).toMatchObject({ status: 400, code: 'validation_failed' });
    const fields = problem.errors!.map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['username', 'password', 'role']));
  });
});
