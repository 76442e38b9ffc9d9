import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, startTestApp, type SignedIn, type TestApp } from './harness/app.js';
import { DIALECTS } from './harness/database.js';

/** Bad input is a 4xx problem+json with a stable code, never a 500, and never a partial write. */
describe.each(DIALECTS)('bad input (%s)', (dialect) => {
  let t: TestApp;
  let admin: SignedIn;
  beforeAll(async () => {
    t = await startTestApp(dialect);
    ({ admin } = await createTenant(t, 'Input Org'));
  });
  afterAll(async () => t?.close());

  const expectProblem = (
    res: Awaited<ReturnType<TestApp['request']>>,
    status: number,
    code: string,
  ) => {
    const problem = res.json();
    expect(res.statusCode).toBe(status);
    expect(String(res.headers['content-type'])).toContain('application/problem+json');
    expect(problem).toMatchObject({
      status,
      code,
      type: expect.stringContaining(code.replace(/_/g, '-')),
    });
    expect(typeof problem.title).toBe('string');
    expect(typeof problem.detail).toBe('string');
    expect(problem.instance).toMatch(/^urn:lpwan:request:/);
    return problem;
  };

  it('malformed JSON → 400 invalid_json', async () => {
    for (const payload of ['{"name": ', '{name: 1}', 'nul', '{"a":1}}']) {
      expectProblem(
        await t.request('POST', '/api/networks', { token: admin.token, payload }),
        400,
        'invalid_json',
      );
    }
    expectProblem(
      await t.request('POST', '/api/sessions', { payload: '{"username":"admin",' }),
      400,
      'invalid_json',
    );
  });

  it('an empty body where JSON is declared → 400', async () => {
    const res = await t.request('POST', '/api/networks', { token: admin.token, payload: '' });
    expect(res.statusCode).toBe(400);
    expect(String(res.headers['content-type'])).toContain('application/problem+json');
  });

  it('wrong types → 400 validation_failed naming the fields (no coercion)', async () => {
    const res = await t.request('POST', '/api/networks', {
      token: admin.token,
      body: { name: 123, protocolId: true, settings: 'clientId=x' },
    });
    const problem = expectProblem(res, 400, 'validation_failed');
    expect(problem.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'name',
      'protocolId',
      'settings',
    ]);
    const arrayBody = await t.request('POST', '/api/organizations', {
      token: admin.token,
      body: [1, 2],
    });
    expect(arrayBody.statusCode).toBe(403); // authorization is checked before the body
    const arrayLogin = await t.request('POST', '/api/sessions', { body: ['admin'] });
    expectProblem(arrayLogin, 400, 'validation_failed');
  });

  it('unknown fields → 400 validation_failed', async () => {
    const res = await t.request('POST', '/api/networks', {
      token: admin.token,
      body: {
        name: 'n',
        protocolId: 'ttn-v2',
        settings: { clientId: 'x', clientSecret: 'y' },
        organizationId: 'other',
      },
    });
    const problem = expectProblem(res, 400, 'validation_failed');
    expect(problem.errors).toEqual([
      { field: 'organizationId', message: 'is not a known property' },
    ]);
    const login = await t.request('POST', '/api/sessions', {
      body: { username: 'admin', password: 'x', remember: true },
    });
    expectProblem(login, 400, 'validation_failed');
  });

  it('unknown query parameters and bad numbers → 400', async () => {
    expectProblem(
      await t.request('GET', '/api/networks?limit=ten', { token: admin.token }),
      400,
      'validation_failed',
    );
    expectProblem(
      await t.request('GET', '/api/networks?offset=-1', { token: admin.token }),
      400,
      'validation_failed',
    );
    expectProblem(
      await t.request('GET', '/api/networks?sort=name', { token: admin.token }),
      400,
      'validation_failed',
    );
    // Past the databases' integers: was a 500.
    expectProblem(
      await t.request('GET', '/api/networks?offset=100000000000000000000', { token: admin.token }),
      400,
      'validation_failed',
    );
  });

  it('oversize bodies → 413 payload_too_large', async () => {
    const huge = JSON.stringify({
      name: 'x'.repeat(1024 * 1024 + 10),
      protocolId: 'ttn-v2',
      settings: {},
    });
    expectProblem(
      await t.request('POST', '/api/networks', { token: admin.token, payload: huge }),
      413,
      'payload_too_large',
    );
    expectProblem(
      await t.request('POST', '/api/sessions', { payload: huge }),
      413,
      'payload_too_large',
    );
  });

  it('other media types → 415 unsupported_media_type', async () => {
    const res = await t.request('POST', '/api/networks', {
      token: admin.token,
      payload: 'name=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expectProblem(res, 415, 'unsupported_media_type');
    // text/plain is a type another site's page may send without asking: not parsed either.
    for (const url of ['/api/networks', '/api/sessions']) {
      expectProblem(
        await t.request('POST', url, {
          token: admin.token,
          payload: '{"name":"x"}',
          headers: { 'content-type': 'text/plain' },
        }),
        415,
        'unsupported_media_type',
      );
    }
  });

  it('too-long strings → 400, and nothing is written', async () => {
    const res = await t.request('POST', '/api/networks', {
      token: admin.token,
      body: {
        name: 'n'.repeat(201),
        protocolId: 'ttn-v2',
        settings: { clientId: 'x', clientSecret: 'y' },
      },
    });
    expectProblem(res, 400, 'validation_failed');
    const list = await t.request('GET', '/api/networks', { token: admin.token });
    expect(list.json().total).toBe(0);
  });

  it('unknown API routes → 404 problem; the 500 handler masks details', async () => {
    expectProblem(await t.request('GET', '/api/nothing-here'), 404, 'not_found');
    expectProblem(await t.request('POST', '/api/nothing-here', { body: {} }), 404, 'not_found');
  });
});
