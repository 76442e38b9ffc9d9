import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './harness/temp.js';
import { problemOf, startTestApp, type TestApp } from './harness/app.js';
import { DIALECTS } from './harness/database.js';

describe.each(DIALECTS)('health (%s)', (dialect) => {
  it('answers ok while the database answers, 503 problem when it does not; other failures are masked 500s', async () => {
    const t = await startTestApp(dialect);
    const ok = await t.request('GET', '/api/health');
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ status: 'ok', database: 'ok' });

    const admin = await t.signIn(t.adminUsername, t.adminPassword);
    await t.db.destroy();
    const down = await t.request('GET', '/api/health');
    expect(problemOf(down)).toMatchObject({ status: 503, code: 'database_unavailable' });

    const failing = await t.request('GET', '/api/networks', { token: admin.token });
    expect(problemOf(failing)).toMatchObject({ status: 500, code: 'internal_error' });
    expect(failing.json().detail).toBe('Something went wrong on the server.');
    expect(failing.body).not.toMatch(/driver|destroyed|sqlite|pool/i);

    await t.app.close();
    await t.database.drop();
  });
});

describe('OpenAPI', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp('sqlite');
  });
  afterAll(async () => t?.close());

  it('serves OpenAPI 3.1 at /api/openapi.json with every route and the shared schemas', async () => {
    const res = await t.request('GET', '/api/openapi.json');
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\.1/);
    for (const p of [
      '/api/sessions',
      '/api/users/me',
      '/api/users',
      '/api/users/{id}',
      '/api/organizations',
      '/api/api-keys',
      '/api/network-protocols',
      '/api/network-protocols/{id}/fields',
      '/api/networks',
      '/api/networks/{id}',
      '/api/health',
    ]) {
      expect(doc.paths, p).toHaveProperty([p]);
    }
    expect(doc.components.schemas).toHaveProperty('Problem');
    expect(doc.components.schemas).toHaveProperty('Network');
    expect(doc.components.securitySchemes).toHaveProperty('bearerToken');
    const create = doc.paths['/api/networks'].post;
    expect(Object.keys(create.responses)).toEqual(
      expect.arrayContaining(['201', '400', '401', '403', '409']),
    );
    expect(create.responses['400'].content).toHaveProperty(['application/problem+json']);
  });

  it('documents the problems every route can answer (500; with a body also 400, 413, 415)', async () => {
    const doc = (await t.request('GET', '/api/openapi.json')).json();
    const gaps: string[] = [];
    for (const [path, operations] of Object.entries<
      Record<string, { requestBody?: unknown; responses?: object }>
    >(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const codes = Object.keys(operation.responses ?? {});
        const expected = operation.requestBody ? ['400', '413', '415', '500'] : ['500'];
        for (const code of expected)
          if (!codes.includes(code)) gaps.push(`${method} ${path} ${code}`);
        if (!codes.some((c) => c.startsWith('2'))) gaps.push(`${method} ${path} 2xx`);
      }
    }
    expect(gaps).toEqual([]);
  });

  it('serves the browsable docs at /api/docs', async () => {
    const res = await t.request('GET', '/api/docs/');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
  });
});

describe('portal serving', () => {
  it('serves the built portal with a single-page fallback; /api stays JSON', async () => {
    const dir = tempDir('lpwan-test-portal-');
    mkdirSync(path.join(dir, 'assets'));
    writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>LPWAN portal</title>');
    writeFileSync(path.join(dir, 'assets', 'app-1234.js'), 'console.log(1)');
    const t = await startTestApp('sqlite', { env: { PORTAL_DIR: dir } });
    try {
      const index = await t.request('GET', '/');
      expect(index.statusCode).toBe(200);
      expect(index.body).toContain('LPWAN portal');
      expect(index.headers['cache-control']).toBe('no-cache');

      const asset = await t.request('GET', '/assets/app-1234.js');
      expect(asset.statusCode).toBe(200);
      expect(asset.headers['cache-control']).toContain('immutable');

      const deepLink = await t.request('GET', '/networks/123?tab=settings');
      expect(deepLink.statusCode).toBe(200);
      expect(deepLink.body).toContain('LPWAN portal');

      const api = await t.request('GET', '/api/unknown');
      expect(problemOf(api)).toMatchObject({ status: 404, code: 'not_found' });
      expect((await t.request('POST', '/networks')).statusCode).toBe(404);

      // Every answer, the portal's, the API's and its errors, has the security headers and
      // the request id.
      const refused = await t.request('GET', '/api/users/me');
      expect(refused.statusCode).toBe(401);
      for (const res of [index, asset, api, refused, await t.request('GET', '/api/health')]) {
        expect(res.headers).toMatchObject({
          'x-content-type-options': 'nosniff',
          'referrer-policy': 'no-referrer',
          'x-frame-options': 'DENY',
          'x-request-id': expect.stringMatching(/.+/),
        });
      }
    } finally {
      await t.close();
    }
  });

  it('says how to build the portal when it is not built', async () => {
    const empty = tempDir('lpwan-test-portal-');
    const t = await startTestApp('sqlite', { env: { PORTAL_DIR: empty } });
    try {
      const res = await t.request('GET', '/');
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toContain('text/plain');
      expect(res.body).toContain('npm run build');
      expect((await t.request('GET', '/api/health')).statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });
});
